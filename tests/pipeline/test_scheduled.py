"""The scheduled-hunt shape (hunt_days, baseline_days) and the alert budget (max_alerts_per_day)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from msticnb_iforest import AnomalousLogonUsers, ParameterError
from msticnb_iforest.errors import InputDataError
from msticnb_iforest.frontends.cli import main
from msticnb_iforest.model import ALERT_BUDGET, fit_score
from msticnb_iforest.pipeline import hunt
from msticnb_iforest.windows import query_start, scheduled_window

from ..conftest import DEMO_CSV

FAST = ["-shap", "-plot_outliers", "-plot_trends", "-account_links", "-plot_population"]
FIRST = pd.Timestamp("2024-05-01")
USERS = [f"user{i:02d}" for i in range(12)]


def _table(days: int = 21, spikes: dict | None = None) -> pd.DataFrame:
    """Ordinary account-days from 2024-05-01, with (user, day) -> failed logons spikes."""
    rng = np.random.default_rng(3)
    rows = [
        {
            "Date": FIRST + pd.Timedelta(days=day),
            "DstDomain": "CONTOSO",
            "DstUser": user,
            "SuccessfulLogons": int(rng.integers(20, 30)),
            "FailedLogons": int(rng.integers(0, 2)),
            "ComputersSuccessfulAccess": int(rng.integers(1, 3)),
            "SrcIpSuccessfulAccess": 1,
        }
        for day in range(days)
        for user in USERS
    ]
    table = pd.DataFrame(rows)
    for (user, day), failed in (spikes or {}).items():
        at = (table["DstUser"] == user) & (table["Date"] == FIRST + pd.Timedelta(days=day))
        table.loc[at, ["FailedLogons", "SrcIpSuccessfulAccess"]] = [failed, 40]
    return table


def _hunt(table: pd.DataFrame, **kwargs) -> object:
    return hunt(table, shap=False, random_state=0, **kwargs)


# -- the model: fit on the training rows, threshold from their scores ---------------


def test_fit_score_learns_from_the_training_rows_only():
    rng = np.random.default_rng(0)
    rows = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    train = np.arange(300) < 200
    found = fit_score(rows, n_estimators=50, contamination=0.05, train=train)
    assert found.model.max_samples_ == 200  # 256 would be drawn from all 300 rows
    assert found.is_outlier[train].sum() == 10  # 5 % of the training rows, exactly
    whole = fit_score(rows, n_estimators=50, contamination=0.05)
    assert whole.model.max_samples_ == 256
    alike = fit_score(rows.iloc[:200], n_estimators=50, contamination=0.05)
    np.testing.assert_allclose(found.score[:200], alike.score)
    with pytest.raises(ParameterError, match="No training rows"):
        fit_score(rows, train=np.zeros(300, dtype=bool))


def test_fit_rows_sample_is_drawn_among_the_training_rows():
    rows = pd.DataFrame({"a": np.arange(400, dtype=float)})
    train = np.arange(400) >= 300
    found = fit_score(rows, n_estimators=5, fit_rows=50, train=train)
    assert found.model.max_samples_ == 50


# -- the windows ------------------------------------------------------------------------


def test_window_days_and_query_start():
    window = scheduled_window(pd.Timestamp("2024-05-21 10:00", tz="UTC"), 1, 20)
    assert window.end == pd.Timestamp("2024-05-22")
    assert window.hunt_start == pd.Timestamp("2024-05-21")
    assert window.start == pd.Timestamp("2024-05-01")
    assert scheduled_window("2024-05-22", 1, 20) == window  # a midnight ends the day before
    assert query_start(None, "2024-05-22", 1, 20) == pd.Timestamp("2024-05-01", tz="UTC")
    assert query_start("2024-04-01", "2024-05-22", 1, 20) == pd.Timestamp("2024-05-01", tz="UTC")


def test_only_hunt_days_are_reported_and_the_forest_learns_from_the_baseline():
    # alice's spike lies in the baseline, bob's (alike) on the hunted day
    table = _table(spikes={("user01", 5): 400, ("user02", 20): 400})
    before = table.copy()
    found = _hunt(table, hunt_days=1, baseline_days=20)
    pd.testing.assert_frame_equal(table, before)  # the caller's frame is untouched
    days = found.user_days
    assert (days["window"] == "hunt").sum() == len(USERS)
    assert set(days.loc[days["window"] == "hunt", "Date"]) == {FIRST + pd.Timedelta(days=20)}
    assert set(found.outliers["window"]) == {"hunt"}
    assert "user02" in set(found.outliers["DstUser"])
    spike = days[(days["DstUser"] == "user01") & (days["Date"] == FIRST + pd.Timedelta(days=5))]
    assert spike["score"].iloc[0] > 0  # beyond the threshold, yet not reported
    assert not spike["is_outlier"].iloc[0] and spike["suppressed"].iloc[0] == ""
    assert found.model.max_samples_ == 20 * len(USERS)  # the baseline's rows only
    assert found.parameters["hunt_days"] == 1 and found.parameters["baseline_days"] == 20
    assert any("Scheduled hunt: baseline 2024-05-01 to 2024-05-20" in n for n in found.notes)
    # the whole-window hunt reports the baseline spike too
    whole = _hunt(table)
    assert "window" not in whole.user_days.columns
    assert "user01" in set(whole.outliers["DstUser"])


def test_threshold_is_the_baseline_quantile():
    found = _hunt(
        _table(), hunt_days=3, baseline_days=18, contamination=0.1, feature_set="baseline"
    )
    base = found.user_days[found.user_days["window"] == "baseline"]
    assert (base["score"] > 0).sum() == round(0.1 * len(base))


def test_end_picks_the_hunted_days_and_earlier_days_are_dropped():
    table = _table()
    found = _hunt(table, hunt_days=2, baseline_days=5, end=pd.Timestamp("2024-05-15 12:00"))
    days = found.user_days.groupby("window")["Date"].agg(["min", "max"])
    assert days.loc["hunt", "min"] == pd.Timestamp("2024-05-14")
    assert days.loc["hunt", "max"] == pd.Timestamp("2024-05-15")
    assert days.loc["baseline", "min"] == pd.Timestamp("2024-05-09")
    assert found.dropped_rows["out_of_range"] == len(table) - 7 * len(USERS)
    # without an end, the data's last day is the last hunted one
    last = _hunt(table, hunt_days=2, baseline_days=5)
    assert last.user_days["Date"].max() == pd.Timestamp("2024-05-21")
    assert last.user_days["Date"].min() == pd.Timestamp("2024-05-15")


def test_shorter_window_or_data_is_noted_and_used():
    table = _table()
    found = _hunt(table, hunt_days=1, baseline_days=30, start=pd.Timestamp("2024-05-11"))
    shorter = "10 of baseline_days=30 days, as the window given starts on 2024-05-11"
    assert any(shorter in n for n in found.notes)
    assert found.user_days["Date"].min() == pd.Timestamp("2024-05-11")
    data = _hunt(table, hunt_days=1, baseline_days=30)
    assert any(
        "20 of baseline_days=30 days, as the data starts on 2024-05-01" in n for n in data.notes
    )
    full = _hunt(table, hunt_days=1, baseline_days=20)
    assert not any("shorter than asked" in n for n in full.notes)


def test_no_baseline_is_a_clear_error():
    with pytest.raises(InputDataError, match="No account-days in the baseline"):
        _hunt(_table(days=1), hunt_days=1, baseline_days=5)


def test_a_hunt_account_without_baseline_days_is_new():
    table = _table(spikes={("user03", 4): 300})  # a baseline as wide as the new account's day
    last = table["Date"].max()
    ordinary = table[table["Date"] == last - pd.Timedelta(days=1)].head(1)
    spiked = table[table["Date"] == last].head(1).assign(FailedLogons=300, SrcIpSuccessfulAccess=30)
    stranger = pd.concat([ordinary, spiked]).assign(DstUser="stranger")
    rows = pd.concat([table, stranger], ignore_index=True)
    found = _hunt(rows, hunt_days=2, baseline_days=19, min_history_days=1)
    assert any("New accounts" in n and "CONTOSO\\stranger" in n for n in found.notes)
    assert "stranger" in set(found.outliers["DstUser"])
    row = found.outliers.index[found.outliers["DstUser"] == "stranger"][0]
    assert found.explanations.loc[row, "reason"].startswith("New account (no day in the baseline)")
    others = found.explanations.drop(index=row)["reason"]
    assert not others.str.startswith("New account").any()


def test_default_is_the_whole_window_unchanged():
    table = _table(spikes={("user01", 5): 400})
    plain = _hunt(table)
    same = _hunt(table, hunt_days=None, max_alerts_per_day=None)
    pd.testing.assert_frame_equal(plain.user_days, same.user_days)
    assert plain.suppressed_outliers == same.suppressed_outliers == {}


# -- the alert budget -------------------------------------------------------------------


def test_alert_budget_keeps_the_top_per_day_and_counts_the_rest():
    table = _table()
    plain = _hunt(table, contamination=0.2)
    capped = _hunt(table, contamination=0.2, max_alerts_per_day=2)
    per_day = plain.outliers.groupby("Date").size()
    left_out = int((per_day - 2).clip(lower=0).sum())
    assert left_out > 0
    assert capped.outliers.groupby("Date").size().max() <= 2
    assert capped.suppressed_outliers == {ALERT_BUDGET: left_out}
    held = capped.user_days[capped.user_days["suppressed"] == ALERT_BUDGET]
    assert len(held) == left_out and not held["is_outlier"].any()
    for day, kept in capped.outliers.groupby("Date"):
        dropped = held[held["Date"] == day]
        if len(dropped):
            assert kept["score"].min() >= dropped["score"].max()
    assert len(capped.outliers) + left_out == len(plain.outliers)
    assert any(n.startswith("Alert budget (max_alerts_per_day=2)") for n in capped.notes)
    pd.testing.assert_series_equal(capped.user_days["score"], plain.user_days["score"])


def test_alert_budget_in_a_scheduled_hunt():
    found = _hunt(_table(), hunt_days=2, baseline_days=19, contamination=0.3, max_alerts_per_day=1)
    assert found.outliers.groupby("Date").size().max() == 1
    held = found.user_days[found.user_days["suppressed"] == ALERT_BUDGET]
    assert set(held["window"]) <= {"hunt"}


# -- parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("hunt_days", 0),
        ("hunt_days", 367),
        ("hunt_days", "1"),
        ("hunt_days", True),
        ("baseline_days", 0),
        ("baseline_days", 91),
        ("baseline_days", None),
        ("max_alerts_per_day", 0),
        ("max_alerts_per_day", 2.5),
    ],
)
def test_bad_values_name_the_parameter(name, value):
    with pytest.raises(ParameterError, match=f"^{name} must be"):
        hunt(_table(days=2), **{name: value})


def test_cli_flags(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["run", str(DEMO_CSV), "--out", str(out), "--no-shap", "--max-plots", "0", "-q"]
    args += ["--hunt-days", "2", "--baseline-days", "10", "--max-alerts-per-day", "1"]
    assert main(args) == 0, capsys.readouterr().err
    run = json.loads((out / "run.json").read_text())
    assert run["parameters"]["hunt_days"] == 2
    assert run["parameters"]["baseline_days"] == 10
    assert run["parameters"]["max_alerts_per_day"] == 1
    user_days = pd.read_csv(out / "user_days.csv")
    assert set(user_days["window"]) == {"baseline", "hunt"}
    for flag, value in (("--hunt-days", "0"), ("--baseline-days", "91")):
        assert main(["run", str(DEMO_CSV), "--out", str(out), flag, value]) == 2
        assert f"argument {flag}: must be an integer" in capsys.readouterr().err
    assert main(["run", str(DEMO_CSV), "--out", str(out), "--max-alerts-per-day", "0"]) == 2


def test_notebooklet_run(nb_local):
    table = _table(spikes={("user01", 5): 400, ("user02", 20): 400})
    res = AnomalousLogonUsers().run(
        data=table, options=FAST, hunt_days=1, baseline_days=20, max_alerts_per_day=3
    )
    assert set(res.outliers["window"]) == {"hunt"} and "user02" in set(res.outliers["DstUser"])
    assert res.parameters["max_alerts_per_day"] == 3
    with pytest.raises(ParameterError, match="baseline_days"):
        AnomalousLogonUsers().run(data=table, options=FAST, hunt_days=1, baseline_days=0)
    doc = AnomalousLogonUsers.run.__doc__
    assert all(name in doc for name in ("hunt_days", "baseline_days", "max_alerts_per_day"))


def test_notebooklet_queries_the_baseline_and_hunt_days(nb_local, demo_table):
    from datetime import datetime

    from msticpy.common.timespan import TimeSpan

    from msticnb_iforest.sources.query import default_timespan

    from ..frontends.test_notebooklet import _FakeProvider

    def queried(**kwargs):
        fake = _FakeProvider(demo_table)
        nblt = AnomalousLogonUsers()
        nblt.query_provider = fake
        res = nblt.run(feature_set="seed", options=FAST, split_query_by="1D", **kwargs)
        call = [kw for args, kw in fake.calls if "print" not in args][0]
        return res, call

    long = TimeSpan(start=datetime(2022, 8, 1), end=datetime(2022, 9, 27))
    res, call = queried(timespan=long, hunt_days=2, baseline_days=10)
    assert pd.Timestamp(call["start"]) == pd.Timestamp("2022-09-15", tz="UTC")
    assert call["split_query_by"] == "1D"
    assert res.query.startswith("KQL SecurityEvent 2022-09-15..2022-09-27")
    assert not any("shorter than asked" in n for n in res.notes)
    short = TimeSpan(start=datetime(2022, 9, 20), end=datetime(2022, 9, 27))
    res, call = queried(timespan=short, hunt_days=2, baseline_days=10)
    assert pd.Timestamp(call["start"]) == pd.Timestamp("2022-09-20", tz="UTC")
    assert any("5 of baseline_days=10" in n for n in res.notes)
    _, call = queried(hunt_days=1, baseline_days=40)
    assert pd.Timestamp(call["start"]) == pd.Timestamp(default_timespan(days=41)[0])


def test_notebook_window_spans_the_scheduled_days():
    from msticnb_iforest.frontends.timespans import hunt_window

    span = hunt_window(None, "2024-05-31", 31)
    assert pd.Timestamp(span.end) - pd.Timestamp(span.start) == pd.Timedelta(days=31)
    plain = hunt_window(None, "2024-05-31")
    assert pd.Timestamp(plain.end) - pd.Timestamp(plain.start) == pd.Timedelta(days=21)

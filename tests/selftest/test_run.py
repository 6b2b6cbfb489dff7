"""The self-test: hunting a planted copy (`selftest.run`), its files, CLI and notebooklet."""

from __future__ import annotations

import functools

import pandas as pd
import pytest
from matplotlib.figure import Figure

from msticnb_iforest.errors import InputDataError, ParameterError
from msticnb_iforest.frontends.cli import main
from msticnb_iforest.selftest import run as selftest_run
from msticnb_iforest.selftest.kinds import KINDS, LOUD_KINDS
from msticnb_iforest.selftest.output import SELFTEST_FILES, write_self_test
from msticnb_iforest.selftest.run import self_test, self_test_figure
from msticnb_iforest.sources.demo import generate_demo

from ..conftest import DEMO_CSV, REAL_EVENTS_CSV


@pytest.fixture(scope="module")
def demo_events() -> pd.DataFrame:
    """A small demo company with its own attacks."""
    return generate_demo(n_users=80, n_days=14, seed=3).events


@pytest.fixture(scope="module")
def high(demo_events):
    return self_test(demo_events, intensities=["high"], n_jobs=1)


def test_every_kind_is_reported_with_a_rank(high):
    table = high.table
    assert table["kind"].tolist() == list(KINDS)
    assert table["rank"].notna().all() and (table["rank"] >= 1).all()
    assert (table["rank"] <= table["n_scored"]).all()
    assert table["note"].eq("").all() and high.notes == []
    caught = table["caught"].to_numpy()
    # caught means the attack's best day is above the threshold
    assert (table.loc[caught, "rank"] <= table.loc[caught, "threshold_rank"]).all()
    assert (table.loc[caught, "score"] > 0).all() and (table.loc[~caught, "score"] <= 0).all()
    assert set(high.summary.columns) == {"kind", "caught_at", "rank_high"}
    assert high.parameters["together"] is False and high.timings["hunt"] > 0


def test_loud_kinds_at_high_intensity_are_caught_in_a_quiet_company():
    quiet = generate_demo(n_users=80, n_days=14, seed=3, attacks=[]).events
    found = self_test(quiet, kinds=LOUD_KINDS, intensities=["low", "high"], n_jobs=1)
    high = found.table[found.table["intensity"] == "high"]
    assert high["caught"].all(), high
    assert (high["rank"] <= 3).all()
    ranks = found.table.pivot(index="kind", columns="intensity", values="rank")
    assert (ranks["high"] <= ranks["low"]).all()  # more activity is never less anomalous


def test_scheduled_hunt_plants_on_the_hunted_days(demo_events):
    found = self_test(
        demo_events, kinds=["brute_force"], intensities=["medium", "high"],
        hunt_days=2, baseline_days=12, n_jobs=1,
    )  # fmt: skip
    last = pd.Timestamp(demo_events["TimeGenerated"].max()).tz_convert(None).normalize()
    assert found.table["day"].between(last - pd.Timedelta(days=1), last).all()
    assert found.table.set_index("intensity").at["high", "caught"]
    assert (found.table["n_scored"] < 2 * 100).all()  # only the two hunted days are ranked
    assert found.parameters["hunt_days"] == 2


def test_real_rows(tmp_path):
    found = self_test(REAL_EVENTS_CSV, n_jobs=1)
    planted = found.table[found.table["id"].notna()]
    assert set(planted["kind"]) >= {"brute_force"} and planted["rank"].notna().all()
    skipped = found.table[found.table["id"].isna()]
    assert skipped["note"].str.startswith("not planted: ").all()
    assert any("Kerberos" in note for note in found.notes)


def test_together_is_one_hunt(demo_events):
    calls = []
    found = self_test(
        demo_events, kinds=["brute_force", "lateral_movement"], intensities=["high"],
        together=True, progress=calls.append, n_jobs=1,
    )  # fmt: skip
    assert len(calls) == 1 and len(found.table) == 2 and found.table["rank"].notna().all()


def test_bad_options_and_inputs(demo_events, demo_table):
    with pytest.raises(ParameterError, match="contamination"):
        self_test(demo_events, kinds="brute_force", contamnation=0.01)
    with pytest.raises(ParameterError):
        self_test(demo_events, kinds="brute_force", contamination=2.0)
    with pytest.raises(InputDataError, match="raw logon events"):
        self_test(demo_table)
    with pytest.raises(InputDataError, match="raw logon events"):
        self_test(DEMO_CSV)


def test_figure_and_files(high, tmp_path):
    assert isinstance(self_test_figure(high.table), Figure)
    (tmp_path / "keep.txt").write_text("mine")
    paths = write_self_test(high, tmp_path)
    assert sorted(p.name for p in paths.values()) == sorted(SELFTEST_FILES)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*SELFTEST_FILES, "keep.txt"])
    table = pd.read_csv(tmp_path / "selftest.csv")
    assert table["kind"].tolist() == list(KINDS) and table["caught"].dtype == bool
    assert (tmp_path / "selftest.png").read_bytes()[:4] == b"\x89PNG"
    assert "Self-test" in (tmp_path / "selftest.html").read_text()


def test_cli_selftest_end_to_end(tmp_path, capsys):
    events = generate_demo(n_users=60, n_days=14, seed=2).events
    source = tmp_path / "events.csv"
    events.to_csv(source, index=False)
    out = tmp_path / "out"
    argv = ["selftest", str(source), "--out", str(out), "--kinds", "brute_force,password_spray",
            "--intensities", "high", "--n-jobs", "1"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "brute_force" in printed and "Self-test: " in printed
    assert sorted(p.name for p in out.iterdir()) == sorted(SELFTEST_FILES)
    table = pd.read_csv(out / "selftest.csv")
    assert table["kind"].tolist() == ["brute_force", "password_spray"]
    assert table["rank"].notna().all()


def test_cli_selftest_refuses_a_summary_table(tmp_path, capsys):
    assert main(["selftest", str(DEMO_CSV), "--out", str(tmp_path / "o")]) == 2
    error = capsys.readouterr().err
    assert "needs raw logon events" in error and len(error.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
    assert main(["selftest", str(DEMO_CSV), "--out", "o", "--kinds", "nope"]) == 2
    assert "attack kinds" in capsys.readouterr().err


@pytest.fixture
def quick_self_test(monkeypatch):
    """The notebooklet's self-test, with one kind to keep the test short."""
    quick = functools.partial(self_test, kinds=["brute_force"], intensities=["high"])
    monkeypatch.setattr(selftest_run, "self_test", quick)


def test_notebooklet_self_test_keeps_the_real_results_clean(nb_local, quick_self_test):
    from msticnb_iforest.frontends.anomalous_logon_users import AnomalousLogonUsers

    events = generate_demo(n_users=60, n_days=14, seed=2).events
    options = ["-plot_outliers", "-plot_trends", "-plot_population", "-shap"]
    plain = AnomalousLogonUsers().run(data=events, options=options, n_jobs=1)
    tested = AnomalousLogonUsers().run(data=events, options=options, n_jobs=1, self_test=True)
    assert plain.self_test is None and plain.self_test_figure is None
    pd.testing.assert_frame_equal(tested.user_days, plain.user_days)
    pd.testing.assert_frame_equal(tested.outliers, plain.outliers)
    assert "Planted" not in tested.user_days.columns
    victim = tested.self_test["account"].iloc[0].split("\\")[1]
    assert tested.self_test["caught"].all()
    day = tested.self_test["day"].iloc[0]
    real = tested.user_days[
        (tested.user_days["DstUser"] == victim) & (tested.user_days["Date"] == day)
    ]
    assert real["FailedLogons"].sum() < 300  # the planted failures are not in the real table
    assert isinstance(tested.self_test_figure, Figure)
    assert "summary" in tested.self_test.attrs
    # the option form, and summary rows: a note instead of a self-test
    by_option = AnomalousLogonUsers().run(data=events, options=[*options, "+self_test"], n_jobs=1)
    assert by_option.self_test is not None
    table = generate_demo(n_users=60, n_days=14, seed=2)
    from msticnb_iforest.summarize import user_day_summary

    summary = AnomalousLogonUsers().run(
        data=user_day_summary(table.events), feature_set="seed", options=options, self_test=True
    )
    assert summary.self_test is None
    assert any("needs raw logon events" in note for note in summary.notes)

"""A scheduled hunt with memory: new, recurring and seen across runs; analyst verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msticnb_iforest import AnomalousLogonUsers
from msticnb_iforest.errors import ParameterError, StateError
from msticnb_iforest.pipeline import hunt
from msticnb_iforest.sources.demo import generate_demo
from msticnb_iforest.state import StateStore
from msticnb_iforest.state.step import ANALYST_VERDICT

DAY = pd.Timedelta(days=1)


@pytest.fixture(scope="module")
def demo():
    return generate_demo(60, 14, seed=3)


def _daily(demo, end, **kwargs):
    """Hunt the last two days up to `end` (midday), against the ten before them."""
    return hunt(
        demo.events,
        hunt_days=2,
        baseline_days=10,
        shap=False,
        contamination=0.05,
        end=end + pd.Timedelta(hours=12),
        **kwargs,
    )


def _last(demo) -> pd.Timestamp:
    return demo.end - 2 * DAY  # a day the demo has, with one more after it


def test_without_state_every_outlier_is_new_and_has_ids(demo, tmp_path):
    found = _daily(demo, _last(demo))
    assert len(found.outliers) > 1
    assert found.outliers["finding"].str.fullmatch(r"[0-9a-f]{12}").all()
    assert found.outliers["evidence"].str.fullmatch(r"[0-9a-f]{12}").all()
    assert set(found.outliers["status"]) == {"new"} and set(found.outliers["verdict"]) == {""}
    assert found.status_counts == {"new": len(found.outliers), "recurring": 0, "seen": 0}
    assert found.incident_status_counts["new"] == len(found.incidents)
    assert set(found.incidents["status"]) == {"new"}
    assert found.state_path is None and found.run_id is None
    assert found.verdict_suppressed.empty and ANALYST_VERDICT not in found.suppressed_outliers
    with pytest.raises(StateError, match="without a state store"):
        found.set_verdict(incident=1, verdict="benign")
    assert list(tmp_path.iterdir()) == []  # nothing written anywhere


def test_second_run_marks_seen_recurring_and_new(demo, tmp_path):
    path = tmp_path / "state.sqlite"
    first = _daily(demo, _last(demo), state=path)
    second = _daily(demo, _last(demo) + DAY, state=str(path))
    assert (first.run_id, second.run_id) == (1, 2)
    assert first.state_path == str(path) and set(first.outliers["status"]) == {"new"}
    before_days, before_evidence = set(first.outliers["finding"]), set(first.outliers["evidence"])
    expected = np.where(
        second.outliers["finding"].isin(before_days),
        "seen",
        np.where(second.outliers["evidence"].isin(before_evidence), "recurring", "new"),
    )
    assert second.outliers["status"].tolist() == expected.tolist()
    counts = second.status_counts
    assert counts["seen"] >= 1 and counts["new"] >= 1
    assert sum(counts.values()) == len(second.outliers)
    # the day the two runs share: the first run's account-days reported again are "seen"
    shared = second.outliers[second.outliers["Date"] == _last(demo).normalize().tz_localize(None)]
    assert set(shared["status"]) <= {"seen", "new"} and (shared["status"] == "seen").any()
    for _, incident in second.incidents.iterrows():
        members = second.outliers[second.outliers["incident"] == incident["incident"]]["status"]
        want = (
            "new"
            if (members == "new").any()
            else "seen"
            if (members == "seen").all()
            else "recurring"
        )
        assert incident["status"] == want
    with StateStore(path, create=False) as store:
        runs = store.runs()
        assert runs["outliers"].tolist() == [len(first.outliers), len(second.outliers)]
        assert runs["seen"].tolist() == [0, counts["seen"]]
        assert len(store.findings(run_id=2)) == len(second.outliers)
        assert len(store.incidents(2)) == len(second.incidents)


def test_benign_verdict_on_an_incident_hides_its_members_next_time(demo, tmp_path):
    path = tmp_path / "state.sqlite"
    first = _daily(demo, _last(demo), state=path)
    preview = _daily(demo, _last(demo) + DAY)  # what the next run will report, unremembered
    again = first.outliers[first.outliers["finding"].isin(preview.outliers["finding"])]
    number = int(again["incident"].iloc[0])
    members = first.outliers.loc[first.outliers["incident"] == number, "finding"]
    written = first.set_verdict(incident=number, verdict="benign", note="patch night", scope="day")
    assert sorted(written["finding"]) == sorted(members)
    assert set(written["verdict"]) == {"benign"} and set(written["note"]) == {"patch night"}
    second = _daily(demo, _last(demo) + DAY, state=path)
    hidden = set(members) & set(preview.outliers["finding"])
    assert hidden and not hidden & set(second.outliers["finding"])
    assert len(second.outliers) == len(preview.outliers) - len(hidden)
    assert second.suppressed_outliers[ANALYST_VERDICT] == len(hidden)
    assert set(second.verdict_suppressed["finding"]) == hidden
    assert list(second.verdict_suppressed.columns) == [
        "finding",
        "account",
        "day",
        "verdict_id",
        "scope",
        "note",
    ]
    assert set(second.verdict_suppressed["note"]) == {"patch night"}
    days = second.user_days
    assert (days["suppressed"] == ANALYST_VERDICT).sum() == len(hidden)
    assert not days.loc[days["suppressed"] == ANALYST_VERDICT, "is_outlier"].any()
    assert any("Analyst verdicts: " in note for note in second.notes)
    with pytest.raises(ParameterError, match="Unknown finding"):
        second.set_verdict(finding="000000000000", verdict="benign")
    with pytest.raises(ParameterError, match="not an incident"):
        second.set_verdict(incident=999, verdict="benign")
    with pytest.raises(ParameterError, match="scope"):
        second.set_verdict(incident=1, verdict="benign", scope="forever")


FIRST = pd.Timestamp("2024-05-01")


def _table() -> pd.DataFrame:
    """Twelve quiet accounts over 21 days, with spikes on days 19 and 20 and named new hosts."""
    rng = np.random.default_rng(3)
    rows = [
        {
            "Date": FIRST + pd.Timedelta(days=day),
            "DstDomain": "CONTOSO",
            "DstUser": f"user{user:02d}",
            "SuccessfulLogons": int(rng.integers(20, 30)),
            "FailedLogons": int(rng.integers(0, 2)),
            "ComputersSuccessfulAccess": int(rng.integers(1, 3)),
            "SrcIpSuccessfulAccess": 1,
            "NewSrcHosts": "",
        }
        for day in range(21)
        for user in range(12)
    ]
    table = pd.DataFrame(rows)
    spikes = {  # (user, day): (failed logons, new source hosts)
        ("user02", 19): (400, "ws-a"),
        ("user02", 20): (400, "ws-b"),  # another new host
        ("user03", 19): (30, "ws-c"),
        ("user03", 20): (300, "ws-c"),  # the same host, more failures
        ("user04", 19): (900, ""),
        ("user04", 20): (900, ""),
        ("user10", 19): (400, ""),
        ("user10", 20): (400, ""),  # the same evidence on the next day
    }
    for (user, day), (failed, hosts) in spikes.items():
        at = (table["DstUser"] == user) & (table["Date"] == FIRST + pd.Timedelta(days=day))
        table.loc[at, ["FailedLogons", "SrcIpSuccessfulAccess", "NewSrcHosts"]] = [
            failed,
            40,
            hosts,
        ]
    return table


def _hunt_day(table, day, path):
    end = FIRST + pd.Timedelta(days=day, hours=12)
    return hunt(
        table,
        feature_set="seed",
        hunt_days=1,
        baseline_days=15,
        contamination=0.05,
        shap=False,
        random_state=0,
        end=end,
        state=path,
    )


def _row(found, user):
    return found.outliers[found.outliers["DstUser"] == user]


def test_account_verdict_hides_known_hosts_only_and_evidence_recurs(tmp_path):
    table, path = _table(), tmp_path / "state.sqlite"
    first = _hunt_day(table, 19, path)
    assert {"user02", "user03", "user10"} <= set(first.outliers["DstUser"])
    for user in ("user02", "user03"):
        first.set_verdict(
            finding=_row(first, user)["finding"].iloc[0], verdict="benign", scope="account"
        )
    first.set_verdict(finding=_row(first, "user10")["finding"].tolist(), verdict="malicious")
    second = _hunt_day(table, 20, path)
    reported = set(second.outliers["DstUser"])
    assert "user02" in reported  # a new host the verdict never saw
    assert _row(second, "user02")["status"].iloc[0] == "new"
    assert "user03" not in reported  # only ws-c, which the verdict covered
    assert second.verdict_suppressed["account"].tolist() == ["CONTOSO\\user03"]
    assert second.verdict_suppressed["scope"].tolist() == ["account"]
    user10 = _row(second, "user10").iloc[0]
    assert user10["status"] == "recurring" and user10["verdict"] == "malicious"
    assert (second.outliers.loc[second.outliers["DstUser"] != "user10", "verdict"] == "").all()
    with StateStore(path, create=False) as store:
        assert (
            store.findings(run_id=2).set_index("account")["status"]["CONTOSO\\user10"]
            == "recurring"
        )


def test_notebooklet_run_takes_state_and_records_verdicts(nb_local, demo_table, tmp_path):
    path = tmp_path / "nb.sqlite"
    options = ["-shap", "-plot_outliers", "-plot_trends", "-account_links", "-plot_population"]
    res = AnomalousLogonUsers().run(
        data=demo_table, feature_set="seed", options=options, state=path
    )
    assert res.state_path == str(path) and res.run_id == 1
    assert res.status_counts == {"new": len(res.outliers), "recurring": 0, "seen": 0}
    written = res.set_verdict(
        finding=res.outliers["finding"].iloc[0], verdict="malicious", note="x"
    )
    assert written["verdict"].tolist() == ["malicious"]
    again = AnomalousLogonUsers().run(
        data=demo_table, feature_set="seed", options=options, state=path
    )
    assert again.run_id == 2 and set(again.outliers["status"]) == {"seen"}
    assert again.outliers["verdict"].iloc[0] == "malicious"


def test_what_a_verdict_hides_takes_no_place_of_the_alert_budget(demo, tmp_path):
    path = tmp_path / "state.sqlite"
    first = _daily(demo, _last(demo), state=path, max_alerts_per_day=2)
    day = first.outliers["Date"].value_counts().idxmax()
    shown = first.outliers[first.outliers["Date"] == day]
    assert len(shown) == 2 and first.suppressed_outliers.get("alert budget", 0) >= 1
    top = shown.index[0]
    first.set_verdict(finding=first.outliers.loc[top, "finding"], verdict="benign", scope="day")

    again = _daily(demo, _last(demo), state=path, max_alerts_per_day=2)
    # the covered outlier is held back before the cap: the day still shows two others
    assert (again.outliers["Date"] == day).sum() == 2
    assert first.outliers.loc[top, "finding"] not in set(again.outliers["finding"])
    assert again.suppressed_outliers[ANALYST_VERDICT] == 1
    assert again.user_days.loc[top, "suppressed"] == ANALYST_VERDICT
    budget = first.suppressed_outliers["alert budget"]
    assert again.suppressed_outliers.get("alert budget", 0) == budget - 1

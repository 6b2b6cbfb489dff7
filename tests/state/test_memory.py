"""Finding and evidence ids, new/recurring/seen, and what a verdict covers."""

from __future__ import annotations

import pandas as pd
import pytest

from msticnb_iforest.state import covered, fingerprints, mark, status_counts


def _days(**columns) -> pd.DataFrame:
    base = {
        "Date": pd.to_datetime(["2024-05-01", "2024-05-02", "2024-05-02"]),
        "DstDomain": ["CONTOSO", "contoso", "CONTOSO"],
        "DstUser": ["Alice", "alice", "bob"],
        "FailedLogons": [0, 5, 150],
    }
    return pd.DataFrame(base | columns, index=[7, 3, 11])


def test_ids_are_stable_hex_and_name_the_account_day():
    rows = _days()
    before = rows.copy()
    prints = fingerprints(rows)
    pd.testing.assert_frame_equal(rows, before)  # the caller's frame is untouched
    assert list(prints.index) == [7, 3, 11]
    assert prints["finding"].str.fullmatch(r"[0-9a-f]{12}").all()
    assert prints["account_key"].tolist() == ["contoso\\alice", "contoso\\alice", "contoso\\bob"]
    assert prints["day"].tolist() == ["2024-05-01", "2024-05-02", "2024-05-02"]
    assert prints["finding"].nunique() == 3
    again = fingerprints(rows.iloc[::-1])
    assert again.loc[[7, 3, 11], "finding"].tolist() == prints["finding"].tolist()
    # a UTC-aware date is the same day; AccountKey wins over the written names
    aware = rows.assign(Date=rows["Date"].dt.tz_localize("UTC"))
    assert fingerprints(aware)["finding"].tolist() == prints["finding"].tolist()
    keyed = fingerprints(rows.assign(AccountKey=["k\\1", "k\\1", "k\\2"]))
    assert keyed["account_key"].tolist() == ["k\\1", "k\\1", "k\\2"]


def test_hostile_names_get_distinct_ids_and_are_stored(tmp_path):
    from msticnb_iforest.state import StateStore

    rows = _days(DstUser=["a\x00b", "a\ud800", "a\ud801"], NewSrcHosts=["w\ud800", "", "x\ny"])
    prints = fingerprints(rows)
    assert prints["finding"].nunique() == 3
    findings = prints.assign(score=0.5, status="new", verdict="", incident=1)
    findings = findings.assign(is_incident_member=0, reason="")
    run = {"started": "s", "finished": "f", "version": "v", "parameters": {}, "user_days": 3}
    run |= {"outliers": 3, "incidents": 0, "new": 3, "recurring": 0, "seen": 0}
    with StateStore(tmp_path / "s.sqlite") as store:
        store.write_run(run | {"verdict_suppressed": 0}, findings, pd.DataFrame())
        stored = store.findings()
        assert sorted(stored["finding"]) == sorted(prints["finding"])
        assert "\ufffd" in "".join(stored["account"])  # the broken text, replaced


def test_evidence_is_the_account_named_items_and_failure_bucket():
    rows = _days(NewSrcHosts=["", "WS-2, ws-1", ""], FailedSrcIp=[None, None, "203.0.113.9"])
    prints = fingerprints(rows)
    assert prints["items"].tolist() == [
        (),
        ("src_host:ws-1", "src_host:ws-2"),
        ("failed_src_ip:203.0.113.9",),
    ]
    # the same names in another order or case, on another day, are the same evidence
    moved = rows.assign(NewSrcHosts=["", "ws-1,WS-2", ""], Date=rows["Date"] + pd.Timedelta("3D"))
    assert fingerprints(moved)["evidence"].tolist() == prints["evidence"].tolist()
    # another bucket of failed logons is other evidence; within a bucket it is not
    assert fingerprints(rows.assign(FailedLogons=[0, 9, 101]))["evidence"].equals(
        prints["evidence"]
    )
    assert (
        fingerprints(rows.assign(FailedLogons=[1, 10, 99]))["evidence"] != prints["evidence"]
    ).all()


def test_counts_stand_in_for_names_and_name_nothing():
    counted = fingerprints(_days(NovelSrcHost=[0, 2, 0], NovelSrcIp=[0, 0, 1]))
    assert counted["items"].tolist() == [(), ("?src_host:2",), ("?src_ip:1",)]
    plain = fingerprints(_days())
    # no new item at all: the same evidence whether counts, names or neither are given
    named = fingerprints(_days(NewSrcHosts=["", "", ""], NewSrcIps=["", "", ""]))
    assert counted["evidence"].iloc[0] == plain["evidence"].iloc[0] == named["evidence"].iloc[0]
    assert counted["evidence"].iloc[1] != plain["evidence"].iloc[1]


def test_mark_seen_recurring_new_and_incidents():
    now = pd.DataFrame(
        {
            "finding": ["a", "b", "c", "d"],
            "evidence": ["x", "y", "z", "w"],
            "incident": [1, 1, 2, 3],
        }
    )
    before = pd.DataFrame({"finding": ["a", "d", "q"], "evidence": ["x", "w", "y"]})
    incidents = pd.DataFrame({"incident": [3, 1, 2]})
    ours, theirs = mark(now, incidents, before)
    assert ours.tolist() == ["seen", "recurring", "new", "seen"]
    assert theirs.tolist() == ["seen", "recurring", "new"]
    assert status_counts(ours) == {"new": 1, "recurring": 1, "seen": 2}
    fresh, _ = mark(now, incidents, None)
    assert set(fresh) == {"new"}


def _verdicts(*rows) -> pd.DataFrame:
    names = ["id", "verdict", "scope", "account_key", "finding", "evidence", "items", "note"]
    return pd.DataFrame([dict(zip(names, row, strict=True)) for row in rows], columns=names)


@pytest.fixture
def prints() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "finding": ["f1", "f2", "f3", "f4"],
            "evidence": ["e1", "e1", "e3", "e4"],
            "account_key": ["c\\a", "c\\a", "c\\a", "c\\b"],
            "items": [("src_host:ws1",), ("src_host:ws1",), ("src_host:ws9",), ("?src_ip:2",)],
        },
        index=[10, 20, 30, 40],
    )


def test_day_and_evidence_scopes(prints):
    day = covered(
        prints, _verdicts((1, "benign", "day", "c\\a", "f1", "e1", ("src_host:ws1",), "x"))
    )
    assert day["hidden"].tolist() == [True, False, False, False]
    assert day.loc[10, "verdict_id"] == 1 and day.loc[10, "scope"] == "day"
    said = _verdicts((2, "benign", "evidence", "c\\a", "f0", "e1", ("src_host:ws1",), "job"))
    assert covered(prints, said)["hidden"].tolist() == [True, True, False, False]
    # the same day, showing a name the verdict never saw, is not hidden
    grown = prints.assign(evidence=["e9", "e1", "e3", "e4"], items=[("src_host:ws2",)] * 4)
    assert not covered(grown, _verdicts((1, "benign", "day", "c\\a", "f1", "e1", (), "")))[
        "hidden"
    ].any()


def test_account_scope_never_hides_a_new_named_item(prints):
    said = _verdicts(
        (3, "benign", "account", "c\\a", "f0", "e0", ("src_host:ws1",), "admin"),
        (4, "benign", "account", "c\\b", "f5", "e5", ("src_ip:10.0.0.1",), "admin"),
    )
    found = covered(prints, said)
    assert found["hidden"].tolist() == [True, True, False, False]  # ws9 new; b's unnamed ip
    widened = pd.concat(
        [said, _verdicts((5, "benign", "account", "c\\a", "f6", "e6", ("src_host:ws9",), ""))]
    )
    assert covered(prints, widened)["hidden"].tolist() == [True, True, True, False]


def test_malicious_flags_and_wins_over_benign(prints):
    said = _verdicts(
        (1, "benign", "account", "c\\a", "f0", "e0", ("src_host:ws1", "src_host:ws9"), ""),
        (2, "malicious", "day", "c\\a", "f2", "e1", (), "stolen"),
    )
    found = covered(prints, said)
    assert found["malicious"].tolist() == [False, True, False, False]
    assert found["hidden"].tolist() == [True, False, True, False]
    nothing = covered(prints, _verdicts())
    assert not nothing["hidden"].any() and not nothing["malicious"].any()

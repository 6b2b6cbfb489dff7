"""The state store's file: creation, schema versions, refusals, one transaction per run."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from msticnb_iforest.errors import StateError
from msticnb_iforest.state import SCHEMA_VERSION, StateStore
from msticnb_iforest.state.store import MIGRATIONS

TABLES = {"runs", "findings", "incidents", "verdicts"}


def _run(**counts) -> dict:
    base = {"started": "2024-05-02T06:00:00Z", "finished": "2024-05-02T06:01:00Z"}
    base |= {"version": "test", "parameters": {"hunt_days": 1}, "data_start": "2024-04-01"}
    base |= {"data_end": "2024-05-01", "hunt_start": "2024-05-01", "user_days": 10}
    base |= {"outliers": 1, "incidents": 1, "new": 1, "recurring": 0, "seen": 0}
    return base | {"verdict_suppressed": 0} | counts


def _findings(n: int = 1, prefix: str = "f") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "finding": [f"{prefix}{i:011d}" for i in range(n)],
            "evidence": [f"e{i:011d}" for i in range(n)],
            "account_key": "contoso\\alice",
            "account": "CONTOSO\\alice",
            "day": "2024-05-01",
            "score": 0.1,
            "status": "new",
            "verdict": "",
            "items": [("src_host:ws-1",)] * n,
            "incident": 1,
            "is_incident_member": 0,
            "reason": "many failed logons",
        }
    )


def _incidents(members: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {"number": [1], "kind": ["single"], "lead": ["alice"], "status": ["new"]}
    ).assign(score=0.1, members=[members])


def _tables(path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_nothing_exists_until_a_store_is_opened_and_then_it_has_its_schema(tmp_path):
    path = tmp_path / "state.sqlite"
    assert not path.exists()
    with StateStore(path) as store:
        assert store.version == SCHEMA_VERSION == len(MIGRATIONS)
        assert store.runs().empty and store.verdicts().empty
    assert _tables(path) >= TABLES
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_run_survives_reopening(tmp_path):
    path = tmp_path / "state.sqlite"
    with StateStore(path) as store:
        first = store.write_run(_run(), _findings(3), _incidents(["f00000000000"]))
    with StateStore(path, create=False) as store:
        assert store.latest_run() == first == 1
        assert store.runs()["parameters"].tolist() == ['{"hunt_days": 1}']
        found = store.findings(run_id=first)
        assert len(found) == 3 and found["items"].iloc[0] == ("src_host:ws-1",)
        assert store.incidents(first)["members"].tolist() == [["f00000000000"]]
        assert set(store.history()["finding"]) == set(_findings(3)["finding"])


def test_a_version_0_file_is_migrated(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # a SQLite file no store has touched: user_version 0
        db.execute("CREATE TABLE notes (text TEXT)")
        db.execute("INSERT INTO notes VALUES ('kept')")
    with StateStore(path) as store:
        assert store.version == SCHEMA_VERSION
    assert TABLES | {"notes"} <= _tables(path)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT text FROM notes").fetchall() == [("kept",)]


def test_a_failed_migration_leaves_the_file_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "old.sqlite"
    sqlite3.connect(path).close()
    broken = ((*MIGRATIONS[0], "CREATE TABLE runs (x)"),)  # the last step fails
    monkeypatch.setattr("msticnb_iforest.state.store.MIGRATIONS", broken)
    with pytest.raises(StateError, match="not a usable SQLite database"):
        StateStore(path)
    assert not (_tables(path) & TABLES)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 0


def test_a_newer_store_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StateError, match=r"newer version of msticnb-iforest") as err:
        StateStore(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    "content", [b"not a database at all, just text\n" * 20, b"SQLite format 3\x00" + b"\xff" * 4000]
)
def test_a_file_that_is_not_a_store_is_refused_with_its_path(tmp_path, content):
    path = tmp_path / "notes.sqlite"
    path.write_bytes(content)
    with pytest.raises(StateError, match="not a usable SQLite database") as err:
        StateStore(path)
    assert str(path) in str(err.value)
    assert path.read_bytes() == content  # left untouched


def test_missing_store_and_folder_are_refused(tmp_path):
    with pytest.raises(StateError, match="no such file"):
        StateStore(tmp_path / "missing.sqlite", create=False)
    assert not (tmp_path / "missing.sqlite").exists()
    with pytest.raises(StateError, match="is a folder"):
        StateStore(tmp_path)


def test_a_run_that_fails_midway_writes_nothing(tmp_path):
    path = tmp_path / "state.sqlite"
    with StateStore(path) as store:
        store.write_run(_run(), _findings(2), _incidents([]))
        duplicate = pd.concat([_findings(2, "g"), _findings(1, "g")])  # same key twice
        with pytest.raises(sqlite3.IntegrityError):
            store.write_run(_run(), duplicate, _incidents([]))
        assert len(store.runs()) == 1 and len(store.findings()) == 2
        assert store.integrity() == "ok"


def test_prune_keeps_the_latest_runs_and_verdicts_unless_asked(tmp_path):
    with StateStore(tmp_path / "state.sqlite") as store:
        for day in range(1, 5):
            started = f"2024-05-0{day}T06:00:00Z"
            store.write_run(_run(started=started), _findings(2, f"{day}"), _incidents([]))
        rows = store.findings(run_id=1).assign(verdict="benign", scope="day", note="", analyst="")
        store.add_verdicts(rows.drop(columns=["status", "score"]))
        rows = store.findings(run_id=3).assign(verdict="benign", scope="day", note="", analyst="")
        store.add_verdicts(rows.drop(columns=["status", "score"]))
        assert store.prune(keep_runs=3) == {"runs": 1, "findings": 2, "incidents": 1, "verdicts": 0}
        assert store.runs()["id"].tolist() == [2, 3, 4] and len(store.verdicts()) == 4
        dropped = store.prune(before="2024-05-04T00:00:00Z", verdicts=True)
        assert dropped == {"runs": 2, "findings": 4, "incidents": 2, "verdicts": 2}
        assert store.runs()["id"].tolist() == [4]
        assert store.verdicts()["run_id"].tolist() == [1, 1]  # run 1 was pruned without them
        with pytest.raises(StateError):
            store.prune()


def test_a_later_verdict_on_a_finding_replaces_the_earlier(tmp_path):
    with StateStore(tmp_path / "state.sqlite") as store:
        store.write_run(_run(), _findings(1), _incidents([]))
        rows = store.findings().drop(columns=["status", "score"])
        first = store.add_verdicts(rows.assign(verdict="benign", scope="day", note="a", analyst=""))
        second = store.add_verdicts(
            rows.assign(verdict="malicious", scope="day", note="b", analyst="")
        )
        assert first["id"].tolist() == [1] and second["id"].tolist() == [2]
        active = store.verdicts()
        assert active["verdict"].tolist() == ["malicious"]
        assert store.verdicts(active_only=False)["active"].tolist() == [0, 1]
        exported = store.export()
        assert (
            len(exported["verdicts"]) == 2 and exported["runs"][0]["parameters"]["hunt_days"] == 1
        )

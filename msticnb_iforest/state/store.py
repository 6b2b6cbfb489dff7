"""
The state store: one SQLite file holding a scheduled hunt's runs, findings and verdicts.

`StateStore` keeps four tables: ``runs`` (when, which version, with which
parameters, over which days, how many of each), ``findings`` (the reported
account-days of each run with their ids, status and named evidence),
``incidents`` (each run's incidents with their status and member findings)
and ``verdicts`` (an analyst's benign or malicious verdicts and what each
covers). The file is in WAL mode, so readers never block the writer, and
waits up to `BUSY_TIMEOUT_MS` for another process's write instead of
failing. Each run is written in one transaction: a run killed midway leaves
the store as it was.

The schema's version is SQLite's ``user_version``; `MIGRATIONS` are applied
in order, in one transaction, to bring an older file up to date. A file from
a newer version of this package, or a file that is not a SQLite database, is
refused with a `StateError` naming the path.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import StateError

__all__ = [
    "BUSY_TIMEOUT_MS",
    "MIGRATIONS",
    "PAUSE_ENV",
    "SCHEMA_VERSION",
    "StateStore",
    "utc_now",
]

#: How long a write waits for another process's write to finish.
BUSY_TIMEOUT_MS = 60_000

#: Test-only: when set, a run's write creates this file after its first rows and
#: then waits, so that a test can kill the process inside the transaction.
PAUSE_ENV = "MSTICNB_IFOREST_STATE_PAUSE_FILE"

_RUNS = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started TEXT NOT NULL,
    finished TEXT NOT NULL,
    version TEXT NOT NULL,
    parameters TEXT NOT NULL,
    data_start TEXT,
    data_end TEXT,
    hunt_start TEXT,
    user_days INTEGER NOT NULL,
    outliers INTEGER NOT NULL,
    incidents INTEGER NOT NULL,
    new INTEGER NOT NULL,
    recurring INTEGER NOT NULL,
    seen INTEGER NOT NULL,
    verdict_suppressed INTEGER NOT NULL
)"""

_FINDINGS = """
CREATE TABLE findings (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    finding TEXT NOT NULL,
    evidence TEXT NOT NULL,
    account_key TEXT NOT NULL,
    account TEXT NOT NULL,
    day TEXT NOT NULL,
    score REAL,
    status TEXT NOT NULL,
    verdict TEXT NOT NULL,
    items TEXT NOT NULL,
    incident INTEGER,
    is_incident_member INTEGER NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (run_id, finding)
)"""

_INCIDENTS = """
CREATE TABLE incidents (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    kind TEXT NOT NULL,
    lead TEXT NOT NULL,
    status TEXT NOT NULL,
    score REAL,
    members TEXT NOT NULL,
    PRIMARY KEY (run_id, number)
)"""

_VERDICTS = """
CREATE TABLE verdicts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('benign', 'malicious')),
    scope TEXT NOT NULL CHECK (scope IN ('day', 'evidence', 'account')),
    account_key TEXT NOT NULL,
    account TEXT NOT NULL,
    day TEXT NOT NULL,
    finding TEXT NOT NULL,
    evidence TEXT NOT NULL,
    items TEXT NOT NULL,
    note TEXT NOT NULL,
    analyst TEXT NOT NULL,
    run_id INTEGER,
    active INTEGER NOT NULL DEFAULT 1
)"""

#: Schema steps, applied in order: step i brings ``user_version`` i to i + 1.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        _RUNS,
        _FINDINGS,
        _INCIDENTS,
        _VERDICTS,
        "CREATE INDEX findings_finding ON findings(finding)",
        "CREATE INDEX findings_evidence ON findings(evidence)",
        "CREATE INDEX verdicts_account ON verdicts(account_key, active)",
    ),
)

#: The schema version this package writes.
SCHEMA_VERSION = len(MIGRATIONS)

_FINDING_COLUMNS = [
    "run_id",
    "finding",
    "evidence",
    "account_key",
    "account",
    "day",
    "score",
    "status",
    "verdict",
    "items",
    "incident",
    "is_incident_member",
    "reason",
]
_INCIDENT_COLUMNS = ["run_id", "number", "kind", "lead", "status", "score", "members"]
_VERDICT_COLUMNS = [
    "created",
    "verdict",
    "scope",
    "account_key",
    "account",
    "day",
    "finding",
    "evidence",
    "items",
    "note",
    "analyst",
    "run_id",
]
_RUN_COLUMNS = [
    "started",
    "finished",
    "version",
    "parameters",
    "data_start",
    "data_end",
    "hunt_start",
    "user_days",
    "outliers",
    "incidents",
    "new",
    "recurring",
    "seen",
    "verdict_suppressed",
]


def utc_now() -> str:
    """
    Return the current UTC time as ISO text, to the second.

    Examples
    --------
    >>> len(utc_now())
    20

    """
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class StateStore:
    """
    A scheduled hunt's memory in one SQLite file (see the module's text).

    Parameters
    ----------
    path : str or os.PathLike
        The file; created (with its schema) when missing, unless `create`
        is False.
    create : bool, default=True
        Whether a missing file may be created.

    Raises
    ------
    StateError
        If the file is missing (and `create` is False), is not a SQLite
        database, is damaged, or holds a newer schema than this package's.

    Examples
    --------
    >>> with StateStore("hunt-state.sqlite") as store:  # doctest: +SKIP
    ...     print(store.runs())

    """

    def __init__(self, path: str | os.PathLike, *, create: bool = True):
        self.path = Path(path)
        if self.path.is_dir():
            raise StateError(f"State store {self.path}: is a folder, not a file.")
        if not create and not self.path.exists():
            raise StateError(f"State store {self.path}: no such file.")
        try:
            self._db = sqlite3.connect(
                self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1e3
            )
        except sqlite3.Error as err:
            raise StateError(f"State store {self.path}: cannot be opened ({err}).") from None
        try:
            self._prepare()
        except sqlite3.DatabaseError as err:
            self._db.close()
            raise StateError(
                f"State store {self.path}: not a usable SQLite database ({err}); "
                "give another path or move this file away."
            ) from None
        except StateError:
            self._db.close()
            raise

    # -- opening ------------------------------------------------------------------------

    def _prepare(self) -> None:
        """Set WAL mode and the busy timeout, check the file and bring its schema up to date."""
        db = self._db
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA foreign_keys = ON")
        found = db.execute("PRAGMA user_version").fetchone()[0]
        self._refuse_newer(found)
        db.execute("PRAGMA journal_mode = WAL").fetchone()
        if found < SCHEMA_VERSION:
            self._migrate()
        if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise StateError(f"State store {self.path}: the database is damaged (quick_check).")

    def _refuse_newer(self, found: int) -> None:
        if found > SCHEMA_VERSION:
            raise StateError(
                f"State store {self.path}: schema version {found} was written by a newer "
                f"version of msticnb-iforest (this one reads up to {SCHEMA_VERSION}); "
                "upgrade the package or use another store."
            )

    def _migrate(self) -> None:
        """Apply the missing `MIGRATIONS` steps in one transaction."""
        with self.transaction() as db:
            found = db.execute("PRAGMA user_version").fetchone()[0]  # another process may have
            self._refuse_newer(found)
            for steps in MIGRATIONS[found:]:
                for statement in steps:
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @property
    def version(self) -> int:
        """The schema version of the file."""
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the write lock (``BEGIN IMMEDIATE``) for the block; commit, or roll back."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- writing ------------------------------------------------------------------------

    def write_run(
        self, run: dict[str, Any], findings: pd.DataFrame, incidents: pd.DataFrame
    ) -> int:
        """
        Record one run, its findings and its incidents in one transaction; return the run's id.

        Parameters
        ----------
        run : dict
            The ``runs`` columns but ``id`` (``parameters`` may be a dict).
        findings, incidents : pd.DataFrame
            Rows of the ``findings`` and ``incidents`` tables without
            ``run_id``; ``items`` and ``members`` may be sequences.

        """
        values = dict(run, parameters=_json(run.get("parameters", {})))
        pause = os.environ.get(PAUSE_ENV)
        with self.transaction() as db:
            cursor = db.execute(
                f"INSERT INTO runs ({', '.join(_RUN_COLUMNS)}) VALUES "
                f"({', '.join('?' * len(_RUN_COLUMNS))})",
                [values.get(name) for name in _RUN_COLUMNS],
            )
            run_id = int(cursor.lastrowid)
            rows = _rows(findings.assign(run_id=run_id), _FINDING_COLUMNS, ("items",))
            head = 1 if pause else len(rows)
            _insert(db, "findings", _FINDING_COLUMNS, rows[:head])
            if pause:
                _pause(Path(pause))
            _insert(db, "findings", _FINDING_COLUMNS, rows[head:])
            members = _rows(incidents.assign(run_id=run_id), _INCIDENT_COLUMNS, ("members",))
            _insert(db, "incidents", _INCIDENT_COLUMNS, members)
        return run_id

    def add_verdicts(self, verdicts: pd.DataFrame) -> pd.DataFrame:
        """
        Record verdict rows in one transaction; return them with their ``id`` and ``created``.

        An earlier active verdict on one of the same findings is made inactive:
        the latest verdict on a finding is the one that counts.
        """
        created = utc_now()
        rows = _rows(verdicts.assign(created=created), _VERDICT_COLUMNS, ("items",))
        ids = []
        with self.transaction() as db:
            findings = sorted(set(verdicts["finding"]))
            db.executemany(
                "UPDATE verdicts SET active = 0 WHERE active = 1 AND finding = ?",
                [(finding,) for finding in findings],
            )
            for row in rows:
                cursor = db.execute(
                    f"INSERT INTO verdicts ({', '.join(_VERDICT_COLUMNS)}) VALUES "
                    f"({', '.join('?' * len(_VERDICT_COLUMNS))})",
                    row,
                )
                ids.append(int(cursor.lastrowid))
        written = self.verdicts(active_only=False)
        return written[written["id"].isin(ids)].reset_index(drop=True)

    def prune(
        self, *, keep_runs: int | None = None, before: str | None = None, verdicts: bool = False
    ) -> dict[str, int]:
        """
        Drop old runs with their findings and incidents; with `verdicts`, their verdicts too.

        Parameters
        ----------
        keep_runs : int, optional
            Keep only the latest this many runs.
        before : str, optional
            Drop the runs started before this UTC time (ISO text, as `utc_now`).
        verdicts : bool, default=False
            Also drop the verdicts given on findings of the dropped runs
            (otherwise they keep hiding what they cover in later runs).

        Returns
        -------
        dict
            How many runs, findings, incidents and verdicts were dropped.

        """
        if (keep_runs is None) == (before is None):
            raise StateError("Prune by keep_runs or by before, one of the two.")
        if keep_runs is not None:
            where, args = "id NOT IN (SELECT id FROM runs ORDER BY id DESC LIMIT ?)", (keep_runs,)
        else:
            where, args = "started < ?", (before,)
        old = f"SELECT id FROM runs WHERE {where}"
        with self.transaction() as db:
            counts = {
                table: db.execute(f"DELETE FROM {table} WHERE run_id IN ({old})", args).rowcount
                for table in ("findings", "incidents")
            }
            counts["verdicts"] = (
                db.execute(f"DELETE FROM verdicts WHERE run_id IN ({old})", args).rowcount
                if verdicts
                else 0
            )
            counts["runs"] = db.execute(f"DELETE FROM runs WHERE {where}", args).rowcount
        return {name: counts[name] for name in ("runs", "findings", "incidents", "verdicts")}

    # -- reading ------------------------------------------------------------------------

    def _frame(self, sql: str, args: Sequence[Any] = ()) -> pd.DataFrame:
        cursor = self._db.execute(sql, tuple(args))
        names = [item[0] for item in cursor.description]
        return pd.DataFrame(cursor.fetchall(), columns=names)

    def runs(self) -> pd.DataFrame:
        """Return every run, oldest first."""
        return self._frame("SELECT * FROM runs ORDER BY id")

    def latest_run(self) -> int | None:
        """Return the id of the latest run, or None when there is none."""
        row = self._db.execute("SELECT MAX(id) FROM runs").fetchone()
        return None if row[0] is None else int(row[0])

    def findings(
        self, run_id: int | None = None, finding: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """
        Return findings (``items`` as tuples), of one run and/or with the given ids.

        With `finding` and no `run_id`, each id's row of the latest run holding it.
        """
        sql, args = "SELECT * FROM findings WHERE 1", []
        if run_id is not None:
            sql, args = sql + " AND run_id = ?", [run_id]
        if finding is not None:
            sql += f" AND finding IN ({', '.join('?' * len(finding))})"
            args += list(finding)
        rows = self._frame(sql + " ORDER BY run_id DESC, score DESC", args)
        if finding is not None and run_id is None:
            rows = rows.drop_duplicates("finding")
        rows["items"] = [tuple(json.loads(text)) for text in rows["items"]]
        return rows.reset_index(drop=True)

    def history(self, before_run: int | None = None) -> pd.DataFrame:
        """Return the ``finding`` and ``evidence`` ids reported by earlier runs (distinct)."""
        sql, args = "SELECT DISTINCT finding, evidence FROM findings", []
        if before_run is not None:
            sql, args = sql + " WHERE run_id < ?", [before_run]
        return self._frame(sql, args)

    def incidents(self, run_id: int | None = None) -> pd.DataFrame:
        """Return the incidents of one run (every run's when None); ``members`` as lists."""
        sql, args = "SELECT * FROM incidents", []
        if run_id is not None:
            sql, args = sql + " WHERE run_id = ?", [run_id]
        rows = self._frame(sql + " ORDER BY run_id, number", args)
        rows["members"] = [json.loads(text) for text in rows["members"]]
        return rows

    def verdicts(self, active_only: bool = True) -> pd.DataFrame:
        """Return the verdicts (the active ones by default), oldest first; ``items`` as tuples."""
        sql = "SELECT * FROM verdicts" + (" WHERE active = 1" if active_only else "")
        rows = self._frame(sql + " ORDER BY id")
        rows["items"] = [tuple(json.loads(text)) for text in rows["items"]]
        return rows

    def export(self) -> dict[str, list[dict[str, Any]]]:
        """Return every table as lists of records (JSON-ready)."""
        runs = self.runs()
        runs["parameters"] = [json.loads(text) for text in runs["parameters"]]
        tables = {
            "runs": runs,
            "findings": self.findings(),
            "incidents": self.incidents(),
            "verdicts": self.verdicts(active_only=False),
        }
        for frame in tables.values():
            for name in ("items",):
                if name in frame.columns:
                    frame[name] = frame[name].map(list)
        return {name: json.loads(frame.to_json(orient="records")) for name, frame in tables.items()}

    def integrity(self) -> str:
        """Return SQLite's ``integrity_check`` answer ("ok" when sound)."""
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _rows(frame: pd.DataFrame, columns: Sequence[str], as_json: Sequence[str]) -> list[list]:
    """Return `frame`'s `columns` as lists of plain Python values (sequences as JSON text)."""
    out = frame.reindex(columns=list(columns)).astype(object)
    out = out.where(out.notna(), None)
    for name in as_json:
        out[name] = [_json(list(value)) for value in out[name]]
    return [[_plain(value) for value in row] for row in out.itertuples(index=False)]


def _plain(value: Any) -> Any:
    """Return a value sqlite3 can bind: numpy scalars as Python ones, lone surrogates replaced."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        return value
    return value.item() if hasattr(value, "item") else value


def _insert(db: sqlite3.Connection, table: str, columns: Sequence[str], rows: list) -> None:
    if rows:
        db.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            rows,
        )


def _pause(signal_file: Path) -> None:
    """Test-only (`PAUSE_ENV`): say the write is under way, then wait to be killed."""
    signal_file.write_text(str(os.getpid()))
    time.sleep(600)

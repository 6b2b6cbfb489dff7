"""
The state step of a hunt: hold back what verdicts cover, mark the rest, write the run.

`pipeline.hunt` calls `open_memory` before any work (a bad store fails
fast), `hold_back` right after the outliers are selected (so that the
outliers a benign verdict covers are neither explained nor grouped) and
`remember` once the incidents are grouped. Without a state path the same
calls still give every outlier its ``finding`` and ``evidence`` ids and mark
everything "new", so that readers of a hunt need no special case.
`record_verdict` is the hunt's (and the notebooklet result's) ``set_verdict``.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._version import VERSION
from ..errors import ParameterError, StateError
from .fingerprints import fingerprints
from .memory import covered, mark, status_counts
from .store import StateStore, utc_now

__all__ = [
    "ANALYST_VERDICT",
    "SCOPES",
    "VERDICTS",
    "Memory",
    "empty_verdict_suppressed",
    "hold_back",
    "open_memory",
    "record_verdict",
    "remember",
    "verdict_reasons",
    "verdict_rows",
]

#: Why an outlier a benign verdict covers is not reported (``suppressed``).
ANALYST_VERDICT = "analyst verdict"
#: The verdicts and scopes an analyst may give.
VERDICTS = ("benign", "malicious")
SCOPES = ("day", "evidence", "account")

_HELD_COLUMNS = ("finding", "account", "day", "verdict_id", "scope", "note")


@dataclass
class Memory:
    """A hunt's link to its state store (`open_memory`), and what the state step found."""

    path: str | None = None
    verdicts: pd.DataFrame = field(default_factory=pd.DataFrame)
    started: str = field(default_factory=utc_now)
    malicious: pd.Series | None = None
    held: pd.DataFrame | None = None


def empty_verdict_suppressed() -> pd.DataFrame:
    """
    Return an empty ``verdict_suppressed`` table (its columns, no rows).

    Examples
    --------
    >>> list(empty_verdict_suppressed().columns)
    ['finding', 'account', 'day', 'verdict_id', 'scope', 'note']

    """
    return pd.DataFrame({name: pd.Series(dtype=object) for name in _HELD_COLUMNS})


def open_memory(path: str | os.PathLike | None) -> Memory:
    """
    Open (creating when missing) the store at `path` and read its active verdicts.

    The store is closed again at once: nothing is held open while the hunt
    works. None: a hunt without memory.

    Raises
    ------
    StateError
        If the file is not a usable store (see `StateStore`).

    Examples
    --------
    >>> open_memory(None).path is None
    True

    """
    if path is None:
        return Memory()
    with StateStore(path) as store:
        return Memory(path=str(path), verdicts=store.verdicts())


def verdict_reasons(
    table: pd.DataFrame,
    flagged: np.ndarray,
    reasons: pd.Series,
    memory: Memory,
    candidates: np.ndarray | None = None,
) -> pd.Series:
    """
    Add "analyst verdict" to the reasons of the flagged rows a benign verdict covers.

    Called between scoring and selection, so that `model.select_outliers`
    holds these rows back like any other suppressed row: they are counted
    in its ``suppressed`` counts and never take a place of the alert budget
    (``max_alerts_per_day``). `memory.held` lists them (`verdict_suppressed`).

    Parameters
    ----------
    table : pd.DataFrame
        The scored account-days (not modified).
    flagged : np.ndarray of bool
        The model's outliers.
    reasons : pd.Series
        The feature set's suppression reasons, aligned to `table` (not
        modified; a changed copy is returned when a verdict covers a row).
    memory : Memory
        The hunt's memory, with its active verdicts.
    candidates : np.ndarray of bool, optional
        The rows that may be reported at all (a scheduled hunt's hunt days);
        None: every row.

    Returns
    -------
    pd.Series

    Examples
    --------
    >>> reasons = verdict_reasons(table, scores.is_outlier, reasons, memory)  # doctest: +SKIP

    """
    memory.held = empty_verdict_suppressed()
    if memory.verdicts is None or memory.verdicts.empty:
        return reasons
    open_rows = np.asarray(flagged, dtype=bool) & (reasons.to_numpy() == "")
    if candidates is not None:
        open_rows &= np.asarray(candidates, dtype=bool)
    if not open_rows.any():
        return reasons
    prints = fingerprints(table[open_rows])
    cover = covered(prints, memory.verdicts)
    hidden = cover["hidden"].to_numpy(dtype=bool)
    if not hidden.any():
        return reasons
    labels = prints.index[hidden]
    memory.held = prints.loc[labels, ["finding", "account", "day"]].assign(
        verdict_id=cover.loc[labels, "verdict_id"].astype("int64"),
        scope=cover.loc[labels, "scope"],
        note=cover.loc[labels, "note"],
    )
    marked = reasons.copy()
    marked.loc[labels] = ANALYST_VERDICT
    return marked


def hold_back(picked: Any, memory: Memory) -> None:
    """
    Give the selected outliers their ids and say what the verdicts held back.

    `picked` is the hunt's `model.Selection`, changed in place: its
    ``outliers`` get ``finding`` and ``evidence``; `memory` learns which
    carry an earlier malicious verdict; a note says how many outliers a
    benign verdict held back (`verdict_reasons` marked them before the
    selection, so they are already counted in ``suppressed``).

    Examples
    --------
    >>> hold_back(selection, open_memory("state.sqlite"))  # doctest: +SKIP

    """
    prints = fingerprints(picked.outliers)
    picked.outliers = picked.outliers.assign(finding=prints["finding"], evidence=prints["evidence"])
    memory.malicious = covered(prints, memory.verdicts)["malicious"]
    if memory.held is None:
        memory.held = empty_verdict_suppressed()
    if len(memory.held):
        picked.notes.append(
            f"Analyst verdicts: {len(memory.held):,} outlier(s) covered by a benign verdict are "
            "not reported (listed in verdict_suppressed; user_days has them with suppressed "
            f"'{ANALYST_VERDICT}')."
        )


def remember(hunted: Any, memory: Memory) -> Any:
    """
    Mark each outlier and incident new, recurring or seen; write the run when there is a store.

    `hunted` (a `pipeline.Hunt`) gets its ``status`` and ``verdict`` columns,
    ``status_counts``, ``incident_status_counts``, ``verdict_suppressed``,
    ``state_path`` and ``run_id``; it is returned.

    Examples
    --------
    >>> found = remember(found, memory)  # doctest: +SKIP

    """
    outliers = hunted.outliers
    if "finding" not in outliers.columns:  # a hunt with nothing to select from
        prints = fingerprints(outliers) if "Date" in outliers.columns else None
        outliers = outliers.assign(
            finding=pd.Series(dtype=object) if prints is None else prints["finding"],
            evidence=pd.Series(dtype=object) if prints is None else prints["evidence"],
        )
    store = None if memory.path is None else StateStore(memory.path)
    try:
        history = None if store is None else store.history()
        status, incident_status = mark(outliers, hunted.incidents, history)
        flagged = memory.malicious if memory.malicious is not None else pd.Series(dtype=bool)
        flagged = flagged.reindex(outliers.index, fill_value=False).to_numpy(dtype=bool)
        hunted.outliers = outliers.assign(
            status=status, verdict=np.where(flagged, "malicious", "").astype(object)
        )
        hunted.incidents = hunted.incidents.assign(status=incident_status)
        hunted.status_counts = status_counts(status)
        hunted.incident_status_counts = status_counts(incident_status)
        hunted.verdict_suppressed = (
            memory.held if memory.held is not None else empty_verdict_suppressed()
        )
        hunted.state_path = memory.path
        if store is not None:
            hunted.run_id = store.write_run(*_run_rows(hunted, memory))
    finally:
        if store is not None:
            store.close()
    return hunted


def _run_rows(hunted: Any, memory: Memory) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """Return the run's ``runs`` record and its ``findings`` and ``incidents`` rows."""
    outliers, incidents, days = hunted.outliers, hunted.incidents, hunted.user_days
    dates = days["Date"] if "Date" in days.columns else pd.Series(dtype="datetime64[ns]")
    hunt_dates = dates[days["window"] == "hunt"] if "window" in days.columns else dates
    counts = hunted.status_counts
    run = {
        "started": memory.started,
        "finished": utc_now(),
        "version": VERSION,
        "parameters": hunted.parameters,
        "data_start": _day(dates.min()),
        "data_end": _day(dates.max()),
        "hunt_start": _day(hunt_dates.min()),
        "user_days": len(days),
        "outliers": len(outliers),
        "incidents": len(incidents),
        **counts,
        "verdict_suppressed": len(hunted.verdict_suppressed),
    }
    prints = fingerprints(outliers) if len(outliers) else None
    sizes = incidents.set_index("incident")["n_outliers"] if len(incidents) else pd.Series()
    number = outliers["incident"] if "incident" in outliers.columns else pd.Series(dtype=int)
    reasons = hunted.explanations.get("reason", pd.Series(dtype=object))
    findings = pd.DataFrame(
        {
            "finding": outliers["finding"],
            "evidence": outliers["evidence"],
            "account_key": None if prints is None else prints["account_key"],
            "account": None if prints is None else prints["account"],
            "day": None if prints is None else prints["day"],
            "score": outliers.get("score"),
            "status": outliers["status"],
            "verdict": outliers["verdict"],
            "items": None if prints is None else prints["items"],
            "incident": number,
            "is_incident_member": number.map(sizes).fillna(1).gt(1).astype(int),
            "reason": reasons.reindex(outliers.index).fillna("").astype(str),
        },
        index=outliers.index,
    )
    members = outliers.groupby("incident")["finding"].agg(list) if len(outliers) else pd.Series()
    incident_rows = pd.DataFrame(
        {
            "number": incidents["incident"],
            "kind": incidents["kind"],
            "lead": incidents["lead"],
            "status": incidents["status"],
            "score": incidents["score"],
            "members": [members.get(n, []) for n in incidents["incident"]],
        }
    )
    return run, findings, incident_rows


def _day(value: Any) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def _analyst(analyst: str | None) -> str:
    if analyst is not None:
        return str(analyst)
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in this environment
        return ""


def verdict_rows(
    store: StateStore,
    findings: Iterable[str],
    *,
    verdict: str,
    scope: str = "evidence",
    note: str = "",
    analyst: str | None = None,
    run_id: int | None = None,
) -> pd.DataFrame:
    """
    Record a verdict on findings already in `store`; return the verdict rows written.

    Each finding id is looked up in run `run_id` when given, else in the
    latest run that reported it.

    Raises
    ------
    ParameterError
        For a verdict or scope not allowed, no finding, or an id the store
        does not hold.

    Examples
    --------
    >>> with StateStore("state.sqlite") as store:  # doctest: +SKIP
    ...     verdict_rows(store, ["3f2a9c0d1b7e"], verdict="benign", note="backup job")

    """
    if verdict not in VERDICTS:
        raise ParameterError(f"verdict must be one of {', '.join(VERDICTS)}, got {verdict!r}.")
    if scope not in SCOPES:
        raise ParameterError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}.")
    ids = [findings] if isinstance(findings, str) else list(dict.fromkeys(findings))
    if not ids or not all(isinstance(one, str) and one for one in ids):
        raise ParameterError("Give at least one finding id (12 hex digits).")
    known = store.findings(run_id=run_id, finding=ids)
    if run_id is not None and len(known) < len(ids):
        known = pd.concat([known, store.findings(finding=ids)]).drop_duplicates("finding")
    missing = [one for one in ids if one not in set(known["finding"])]
    if missing:
        raise ParameterError(
            f"Unknown finding id(s) in {store.path}: {', '.join(missing[:5])}"
            + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            + "."
        )
    rows = known.set_index("finding").loc[ids].reset_index()
    written = rows[["account_key", "account", "day", "finding", "evidence", "items", "run_id"]]
    return store.add_verdicts(
        written.assign(verdict=verdict, scope=scope, note=str(note), analyst=_analyst(analyst))
    )


def record_verdict(
    holder: Any,
    *,
    finding: str | Iterable[str] | None = None,
    incident: int | None = None,
    verdict: str,
    note: str = "",
    scope: str = "evidence",
    analyst: str | None = None,
) -> pd.DataFrame:
    """
    Record an analyst's verdict on outliers of a finished hunt (``Hunt.set_verdict``).

    Parameters
    ----------
    holder : Hunt or AnomalousLogonUsersResult
        A hunt run with a state path (``state_path``, ``run_id``,
        ``outliers`` and ``incidents``).
    finding : str or list of str, optional
        Finding id(s) (the ``finding`` column).
    incident : int, optional
        An incident number of this hunt: all its member outliers.
    verdict : {"benign", "malicious"}
    note : str, default=""
    scope : {"day", "evidence", "account"}, default="evidence"
        What a benign verdict hides in later runs (see `memory`).
    analyst : str, optional
        Who says so; by default the user name of the session.

    Returns
    -------
    pd.DataFrame
        The verdict rows written (one per finding).

    Raises
    ------
    StateError
        If the hunt ran without a state path.
    ParameterError
        For a bad verdict, scope, finding id or incident number.

    Examples
    --------
    >>> found.set_verdict(incident=1, verdict="benign", note="pen test")  # doctest: +SKIP

    """
    if getattr(holder, "state_path", None) is None:
        raise StateError(
            "This hunt ran without a state store: run it with state=PATH (--state on the "
            "command line) to record verdicts."
        )
    if (finding is None) == (incident is None):
        raise ParameterError("Give either finding (one id or a list) or incident, not both.")
    if incident is not None:
        numbers = set(holder.incidents["incident"].tolist()) if len(holder.incidents) else set()
        if incident not in numbers:
            raise ParameterError(
                f"Incident {incident!r} is not an incident of this hunt "
                f"(it has {len(numbers)}: 1 to {len(numbers)})."
            )
        rows = holder.outliers[holder.outliers["incident"] == incident]
        finding = rows["finding"].tolist()
    with StateStore(holder.state_path, create=False) as store:
        return verdict_rows(
            store,
            finding,
            verdict=verdict,
            scope=scope,
            note=note,
            analyst=analyst,
            run_id=holder.run_id,
        )

"""
What a scheduled hunt remembers, as the report, the files and the console show it.

A hunt run with a state store marks each reported outlier and incident
``new``, ``recurring`` or ``seen``, and hides the outliers an analyst called
benign. This module is the one place that reads those marks from a result,
so that results made before hunts had them (or by hand) keep working: a
missing ``status`` counts as ``new`` (what a hunt without state says of
every outlier), a missing ``verdict`` as "", missing counts are computed
from the tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "STATUSES",
    "incident_marks",
    "VERDICT_REASON",
    "StatusSummary",
    "has_status",
    "listed",
    "new_first",
    "status_summary",
    "statuses",
]

#: The statuses of a reported outlier or incident, in the order they are listed.
STATUSES = ("new", "recurring", "seen")

#: The ``suppressed_outliers`` reason of outliers hidden by an analyst's benign verdict.
VERDICT_REASON = "analyst verdict"


def has_status(frame: Any) -> bool:
    """
    Tell whether a table carries the hunt's ``status`` column.

    Examples
    --------
    >>> has_status(pd.DataFrame({"status": ["new"]})), has_status(pd.DataFrame())
    (True, False)

    """
    return isinstance(frame, pd.DataFrame) and "status" in frame.columns


def statuses(frame: pd.DataFrame | None) -> pd.Series:
    """
    Return the status of each row of an outlier or incident table.

    Parameters
    ----------
    frame : pd.DataFrame or None
        ``result.outliers`` or ``result.incidents``.

    Returns
    -------
    pd.Series
        One of `STATUSES` per row, indexed like `frame`; a missing column,
        an empty or an unknown value reads as "new". Empty for None.

    Examples
    --------
    >>> statuses(pd.DataFrame({"status": ["seen", None, "odd"]})).tolist()
    ['seen', 'new', 'new']
    >>> statuses(pd.DataFrame({"score": [0.1]})).tolist()
    ['new']

    """
    if frame is None:
        return pd.Series([], dtype=object)
    if "status" not in frame.columns:
        return pd.Series("new", index=frame.index, dtype=object)
    values = frame["status"].astype(object)
    return values.where(values.isin(STATUSES), "new")


def _counted(values: pd.Series) -> dict[str, int]:
    counts = values.value_counts()
    return {name: int(counts.get(name, 0)) for name in STATUSES}


def _given_counts(value: Any) -> dict[str, int] | None:
    """Return a result's own status counts as plain ints (None if it has none)."""
    if not isinstance(value, dict):
        return None
    return {name: int(value.get(name, 0) or 0) for name in STATUSES}


@dataclass(frozen=True)
class StatusSummary:
    """
    The status counts of a run, over every reported outlier and incident.

    Attributes
    ----------
    outliers : dict
        {"new", "recurring", "seen"} to the number of reported outliers.
    incidents : dict or None
        The same over the incidents; None for a result without incidents.
    hidden : int
        Outliers not reported because of an analyst's benign verdict.
    state_path : str or None
        The state store the hunt used; None when it kept no memory.
    run_id : int or None
        The store's number of this run.

    """

    outliers: dict[str, int]
    incidents: dict[str, int] | None
    hidden: int
    state_path: str | None
    run_id: int | None

    @property
    def new_incidents(self) -> int:
        """Return the number of new incidents (new outliers for a result without incidents)."""
        return (self.incidents or self.outliers)["new"]

    def line(self, what: str = "outlier") -> str:
        """
        Say the counts in one line, e.g. "3 new, 2 recurring, 5 seen; 4 hidden by analyst verdicts".

        Parameters
        ----------
        what : {"outlier", "incident"}
            Whose counts: the outliers' (with the hidden ones) or the incidents'.

        Examples
        --------
        >>> summary = StatusSummary({"new": 3, "recurring": 2, "seen": 5}, None, 4, "s", 1)
        >>> summary.line()
        '3 new, 2 recurring, 5 seen; 4 hidden by analyst verdicts'

        """
        counts = self.outliers if what == "outlier" else self.incidents or {}
        text = ", ".join(f"{int(counts.get(name, 0)):,} {name}" for name in STATUSES)
        if what == "outlier" and self.hidden:
            text += f"; {self.hidden:,} hidden by analyst verdicts"
        return text

    def record(self) -> dict[str, Any]:
        """Return the run.json entries: status counts, incident status counts, state path, run."""
        return {
            "status_counts": dict(self.outliers),
            "incident_status_counts": None if self.incidents is None else dict(self.incidents),
            "verdict_hidden": self.hidden,
            "state_path": self.state_path,
            "state_run_id": self.run_id,
        }


def status_summary(result: Any) -> StatusSummary:
    """
    Read the status counts of a finished hunt.

    The result's own ``status_counts`` and ``incident_status_counts`` are
    used when it has them, else they are counted from the ``status``
    columns of its tables (see `statuses`).

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        A finished hunt, with or without state.

    Returns
    -------
    StatusSummary

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> found = SimpleNamespace(outliers=pd.DataFrame({"status": ["new", "seen"]}))
    >>> status_summary(found).line()
    '1 new, 0 recurring, 1 seen'

    """
    outliers = getattr(result, "outliers", None)
    incidents = getattr(result, "incidents", None)
    counts = _given_counts(getattr(result, "status_counts", None))
    if counts is None:
        counts = _counted(statuses(outliers))
    by_incident = _given_counts(getattr(result, "incident_status_counts", None))
    if by_incident is None and isinstance(incidents, pd.DataFrame):
        by_incident = _counted(statuses(incidents))
    held = getattr(result, "suppressed_outliers", None) or {}
    state = getattr(result, "state_path", None)
    run_id = getattr(result, "run_id", None)
    return StatusSummary(
        outliers=counts,
        incidents=by_incident,
        hidden=int(held.get(VERDICT_REASON, 0) or 0),
        state_path=None if state is None else str(state),
        run_id=None if run_id is None else int(run_id),
    )


def new_first(frame: pd.DataFrame, only_new: bool = False) -> pd.DataFrame:
    """
    Order a table new → recurring → seen, keeping its order within each status.

    Parameters
    ----------
    frame : pd.DataFrame
        Outliers or incidents; not modified.
    only_new : bool, default=False
        Keep only the new rows.

    Returns
    -------
    pd.DataFrame
        The rows of `frame` (same index labels) in the new order.

    Examples
    --------
    >>> table = pd.DataFrame({"status": ["seen", "new", "recurring", "new"]})
    >>> new_first(table).index.tolist()
    [1, 3, 2, 0]
    >>> new_first(table, only_new=True).index.tolist()
    [1, 3]

    """
    rank = statuses(frame).map({name: pos for pos, name in enumerate(STATUSES)})
    order = np.argsort(rank.to_numpy(dtype=int), kind="stable")
    ordered = frame.iloc[order]
    if only_new:
        ordered = ordered[statuses(ordered) == "new"]
    return ordered


def incident_marks(incidents: pd.DataFrame, outliers: pd.DataFrame | None) -> pd.DataFrame:
    """
    Return each incident's member findings and whether one is known malicious.

    Parameters
    ----------
    incidents : pd.DataFrame
        ``result.incidents`` (``members``: the member outliers' row labels
        joined by ", ").
    outliers : pd.DataFrame or None
        ``result.outliers``, with ``finding`` and ``verdict`` when the hunt
        gave them.

    Returns
    -------
    pd.DataFrame
        Indexed like `incidents`: ``finding`` (the members' findings, joined
        by " ", in member order) when the outliers have findings, and
        ``verdict`` ("malicious" when a member carries it, else "") when
        they have verdicts; no columns when they have neither.

    Examples
    --------
    >>> found = pd.DataFrame({"finding": ["aa", "bb"], "verdict": ["", "malicious"]}, index=[4, 9])
    >>> incidents = pd.DataFrame({"members": ["4, 9", "4"]})
    >>> incident_marks(incidents, found).to_dict("list")
    {'finding': ['aa bb', 'aa'], 'verdict': ['malicious', '']}

    """
    marks = pd.DataFrame(index=incidents.index)
    have = [name for name in ("finding", "verdict") if outliers is not None and name in outliers]
    if not have or "members" not in incidents.columns:
        return marks
    labels = incidents["members"].fillna("").astype(str).str.split(", ").explode()
    labels = labels[labels != ""]
    by_label = outliers[have].set_axis(outliers.index.map(str))
    by_label = by_label[~by_label.index.duplicated()]
    member = by_label.reindex(labels.to_numpy()).set_axis(labels.index)
    if "finding" in have:
        ids = member["finding"].dropna().astype(str)
        joined = ids.groupby(level=0, sort=False).agg(" ".join)
        marks["finding"] = joined.reindex(incidents.index).fillna("")
    if "verdict" in have:
        bad = (member["verdict"].astype(object) == "malicious").groupby(level=0).any()
        malicious = bad.reindex(incidents.index, fill_value=False).astype(bool)
        marks["verdict"] = np.where(malicious, "malicious", "")
    return marks


class _Listed:
    """A result whose ``outliers`` and ``incidents`` are those listed; all else is the result's."""

    def __init__(self, result: Any, outliers: pd.DataFrame, incidents: Any):
        self._result = result
        self.outliers = outliers
        self.incidents = incidents

    def __getattr__(self, name: str) -> Any:
        return getattr(self._result, name)


def listed(result: Any, only_new: bool = False, ordered: bool = True) -> Any:
    """
    Return `result` as the report and the files list it: new first, or only the new.

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        A finished hunt; not modified.
    only_new : bool, default=False
        List only the new outliers and incidents.
    ordered : bool, default=True
        Order the outliers and incidents new → recurring → seen (`new_first`);
        False keeps their order (only filtering with `only_new`).

    Returns
    -------
    object
        `result` itself when nothing changes, else a view of it whose
        ``outliers`` and ``incidents`` are the listed rows; every other
        attribute is the result's. Count with `status_summary` on `result`,
        not on the view.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> found = SimpleNamespace(outliers=pd.DataFrame({"status": ["seen", "new"]}))
    >>> listed(found).outliers.index.tolist(), listed(found, only_new=True).outliers.index.tolist()
    ([1, 0], [1])

    """
    outliers = getattr(result, "outliers", None)
    incidents = getattr(result, "incidents", None)
    marked = has_status(outliers) or has_status(incidents)
    if not only_new and not (ordered and marked):
        return result

    def _pick(frame: Any) -> Any:
        if not isinstance(frame, pd.DataFrame):
            return frame
        if ordered:
            return new_first(frame, only_new)
        return frame[statuses(frame) == "new"] if only_new else frame

    return _Listed(result, _pick(outliers), _pick(incidents))

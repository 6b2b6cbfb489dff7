"""
The one way into a hunt: whatever came in, a checked per-account-day table.

A source hands over what it found: rows of a per-account-day table (from a
query or a saved file), raw logon events, or files of raw logon events
(`sources.readers.EventFiles`), which the columnar engine summarizes where
they are (`summarize.columnar.engine_summary`). `prepare` decides which it is,
summarizes raw events into the table the feature set needs, keeps the days
in the hunt's window, and validates and types the table, each exactly
once. Every stage after it takes the prepared table as it is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputDataError
from ..schema import (
    RAW_REQUIRED_COLUMNS,
    REQUIRED_SUMMARY_COLUMNS,
    collect_input_notes,
    is_raw_events,
    is_summary_table,
    prepare_summary,
    rows_in_window,
)
from ..sources.readers.scan import EventFiles
from ..wording import counts_text
from .account_days import NAME_COLUMNS, account_day_summary
from .columnar import engine_summary
from .user_days import user_day_summary

__all__ = ["SUMMARIZERS", "Prepared", "empty_note", "name_text", "prepare"]

#: How raw events become each table a feature set can ask for, by query name.
SUMMARIZERS: dict[str, Callable[..., Any]] = {
    "user_day_summary": user_day_summary,
    "account_day_summary": account_day_summary,
}


@dataclass
class Prepared:
    """
    A per-account-day table ready for features, with what preparing it cost.

    Attributes
    ----------
    table : pd.DataFrame
        The validated, typed table (the hunt's own copy; a caller's frame
        is never modified), rows of days outside the window removed.
    dropped : dict
        Input rows removed, by reason (raw events filtered out, rows
        without a ``Date``, days outside the window).
    notes : list of str
        What reading the values assumed (e.g. a day/month order), and,
        when no row is left, why (`empty_note`).
    timings : dict
        Seconds spent summarizing raw events (``summarize``, only for raw
        input) and checking the table (``prepare``).
    inputs : list of dict
        The files summarized (path, rows, format of each), when the input
        was `EventFiles`; empty otherwise.

    """

    table: pd.DataFrame
    dropped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)


def prepare(
    data: pd.DataFrame | EventFiles,
    table: str = "user_day_summary",
    *,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    memory_limit: int | str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Prepared:
    """
    Turn a per-account-day table or raw logon events into a prepared table.

    Parameters
    ----------
    data : pd.DataFrame or EventFiles
        Rows of the ``user_day_summary`` or ``account_day_summary`` query,
        raw SecurityEvent logon rows (not modified), or files of raw logon
        events (`sources.readers.scan_tables`), summarized by the columnar
        engine from the files themselves.
    table : str, default="user_day_summary"
        The table raw events are summarized into (a key of `SUMMARIZERS`;
        a feature set's ``query_name``). A table given as such is used
        with the columns it has.
    start, end : pd.Timestamp, optional
        The hunt's window (UTC). Raw events outside it are dropped by the
        summarizer; table rows whose ``Date`` is before the day of `start`
        or after `end` are dropped here. Either may be None (no bound).
    memory_limit : int or str, optional
        The columnar engine's memory limit for `EventFiles` (bytes or a
        size such as ``"4G"``; default 2 GiB): past it, the engine spills to
        a temporary folder.
    progress : callable, optional
        Told which files are read and how many events are summarized
        (`EventFiles` only).

    Returns
    -------
    Prepared

    Raises
    ------
    InputDataError
        If `data` is neither shape (the message lists the missing columns)
        or its values are not usable (the message names the column).

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({
    ...     "Date": ["2024-05-01", "2024-05-02"], "DstDomain": "CONTOSO",
    ...     "DstUser": "alice", "SuccessfulLogons": [3, 4], "FailedLogons": 0,
    ...     "ComputersSuccessfulAccess": 1, "SrcIpSuccessfulAccess": 1})
    >>> found = prepare(rows, start=pd.Timestamp("2024-05-02", tz="UTC"))
    >>> len(found.table), found.dropped
    (1, {'out_of_range': 1})

    """
    if not isinstance(data, (pd.DataFrame, EventFiles)):
        raise InputDataError(f"Expected a pandas DataFrame, got {type(data).__name__}.")
    timings: dict[str, float] = {}
    inputs: list[dict[str, Any]] = []
    begin = time.perf_counter()
    with collect_input_notes() as notes:
        if isinstance(data, pd.DataFrame) and is_summary_table(data):
            prepared, dropped = prepare_summary(data, return_dropped=True)
            prepared, outside = rows_in_window(name_text(prepared), start, end)
            dropped = {**dropped, **outside}
        else:
            if isinstance(data, EventFiles):
                summary, dropped, inputs = engine_summary(
                    data, table, start=start, end=end, memory_limit=memory_limit, progress=progress
                )
            elif is_raw_events(data) or data.shape == (0, 0):  # (0, 0): a query found nothing
                summary, dropped = SUMMARIZERS[table](
                    data, start=start, end=end, return_dropped=True
                )
            else:
                raise _neither(data)
            timings["summarize"] = round(time.perf_counter() - begin, 4)
            begin = time.perf_counter()
            prepared, no_date = prepare_summary(summary, return_dropped=True, copy=False)
            dropped = {**dropped, **no_date}
    timings["prepare"] = round(time.perf_counter() - begin, 4)
    notes = list(notes)
    if prepared.empty:
        notes.append(empty_note(dropped))
    return Prepared(prepared, dict(dropped), notes, timings, inputs)


def name_text(table: pd.DataFrame) -> pd.DataFrame:
    """
    Make the optional name columns (`NAME_COLUMNS`) of a summary table text, in place.

    A table read back from a file may hold them as numbers (a lone name
    of digits) or with missing values (NaN for an empty name): numbers
    become their text (whole numbers without ``.0``), missing values "".
    Absent columns stay absent; the table is returned.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"NewSrcHosts": ["laptop1,laptop2", float("nan")],
    ...                       "NewComputers": [1234.0, float("nan")]})
    >>> name_text(table).to_dict("list")
    {'NewSrcHosts': ['laptop1,laptop2', ''], 'NewComputers': ['1234', '']}

    """
    for col in NAME_COLUMNS:
        if col not in table.columns:
            continue
        values = table[col]
        if values.dtype == object and pd.api.types.infer_dtype(values, skipna=False) == "string":
            continue
        codes, uniques = pd.factorize(values, use_na_sentinel=True)  # once per distinct value
        words = [_name_word(value) for value in np.asarray(uniques, dtype=object)]
        table[col] = np.array([*words, ""], dtype=object)[codes]
    return table


def _name_word(value: object) -> str:
    """Return one name value as text (numbers read from a file without ``.0``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _neither(data: pd.DataFrame) -> InputDataError:
    """Say which columns a frame lacks to be either a summary table or raw events."""
    have = set(map(str, data.columns))
    lacks_summary = ", ".join(c for c in REQUIRED_SUMMARY_COLUMNS if c not in have)
    lacks_raw = ", ".join(c for c in RAW_REQUIRED_COLUMNS if c not in have)
    return InputDataError(
        f"Input is neither a per-user-day summary (missing: {lacks_summary}) "
        f"nor raw logon events (missing: {lacks_raw})."
    )


def empty_note(dropped: dict[str, int]) -> str:
    """
    Say why a hunt has no user-days to score.

    Examples
    --------
    >>> empty_note({"no_date": 2, "out_of_range": 0})
    'No user-days to score: all 2 input row(s) were dropped (no Date 2).'

    """
    lost = sum(int(n) for n in dropped.values())
    if lost:
        reasons = counts_text(dropped)
        return f"No user-days to score: all {lost:,} input row(s) were dropped ({reasons})."
    return "No user-days to score: the input has no rows."

"""
Filter raw logon events and decode their columns to integer codes.

:func:`select_network_logons` applies the filters of the
``AnomalousLogons.network_logon_events`` query to raw ``SecurityEvent`` rows
and returns the kept row positions with the columns the filters needed
already decoded (a :class:`Selection`). Both local summaries
(`msticnb_iforest.summarize.user_days` and `msticnb_iforest.summarize.account_days`) start
from it and decode further columns on the kept rows with
:func:`decode_rows` and :func:`text_codes` (from
`msticnb_iforest.summarize.decode`, which reads every column's values).

How the query's semantics are reproduced
----------------------------------------
* ``=~``, ``startswith`` and ``endswith`` ignore case; ``==`` does not, so a
  ``LogonTypeName`` of ``"3 - network"`` is not a network logon.
* ``EventID`` and ``LogonType`` may be numbers or text (``" 4624 "``); a value
  that is not a number matches no comparison.
* KQL strings are never null: a missing value in a text column decodes to the
  empty string, the same code as a real ``""``; other non-text values decode
  to their text (a text column read as numbers: ``123.0`` is ``"123"``).
* ``TimeGenerated`` may be datetimes (naive ones are UTC) or text: ISO 8601
  with or without a zone, or portal exports such as
  ``"9/19/2022, 11:29:46.297 PM"``; numeric dates are read in one day/month
  order for the whole column (`schema.numeric_dates_month_first`). Rows
  whose time cannot be read are dropped (``no_time``).
* Column names may carry a BOM, surrounding spaces or a portal export
  suffix such as `` [UTC]``.

Everything is vectorized: a text column is factorized once and further work
runs on its distinct values.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputDataError, ParameterError
from ..schema import NETWORK_LOGON, RAW_REQUIRED_COLUMNS, clean_name, is_raw_events, utc
from .decode import (
    _NAT,
    TextCodes,
    _equals_text,
    _numbers,
    _take,
    _times_ns,
    decode_rows,
    text_codes,
)

__all__ = [
    "DROP_REASONS",
    "FAILURE_EVENT_ID",
    "NETWORK_LOGON",
    "RAW_REQUIRED_COLUMNS",
    "SUCCESS_EVENT_ID",
    "Selection",
    "TextCodes",
    "decode_rows",
    "is_raw_events",
    "select_network_logons",
    "text_codes",
]


#: Reasons a row is dropped, in the order they are tested (a row is counted
#: under the first reason that applies).
DROP_REASONS = (
    "not_4624_4625",
    "not_network_logon",
    "system_or_anonymous",
    "machine_account",
    "no_time",
    "out_of_range",
)

#: ``EventID`` of a successful and of a failed logon.
SUCCESS_EVENT_ID, FAILURE_EVENT_ID = 4624, 4625


# --------------------------------------------------------------------------
# Selection (filters)
# --------------------------------------------------------------------------
@dataclass
class Selection:
    """
    Rows kept by the network-logon filters and the columns decoded for them.

    Attributes
    ----------
    lookup : dict[str, Hashable]
        Cleaned column name (e.g. ``"TimeGenerated"`` for
        ``"TimeGenerated [UTC]"``) to the input frame's column label.
    rows : np.ndarray
        Positions of the kept rows in the input, in input order.
    time_ns : np.ndarray
        ``TimeGenerated`` of the kept rows as int64 UTC nanoseconds.
    success : np.ndarray
        True where the kept row is a successful logon (event 4624).
    logon_type : np.ndarray
        ``LogonType`` of the kept rows as float64 (NaN where not a number).
    domain, user : TextCodes
        ``TargetDomainName`` and ``TargetUserName`` of the kept rows.
    dropped : dict[str, int]
        Number of dropped rows for each reason in :data:`DROP_REASONS`.

    """

    lookup: dict[str, Hashable]
    rows: np.ndarray
    time_ns: np.ndarray
    success: np.ndarray
    logon_type: np.ndarray
    domain: TextCodes
    user: TextCodes
    dropped: dict[str, int]


def select_network_logons(events: pd.DataFrame, start: Any, end: Any) -> Selection | None:
    """
    Apply the filters of the ``AnomalousLogons.network_logon_events`` query.

    Keeps event 4624 or 4625 with ``LogonTypeName == "3 - Network"``, drops
    system/anonymous/window-manager/virtual-machine successes and machine
    accounts (user ending in ``$``), rows whose time cannot be read, and,
    when bounds are given, rows outside ``start <= TimeGenerated <= end``.

    Parameters
    ----------
    events : pd.DataFrame
        Raw ``SecurityEvent`` rows with the columns in
        :data:`RAW_REQUIRED_COLUMNS`. Not modified.
    start, end : datetime-like or None
        Inclusive time bounds; naive values are taken as UTC.

    Returns
    -------
    Selection or None
        The kept rows and their decoded filter columns; None when `events`
        has no rows and no columns (what a query that found nothing returns).

    Raises
    ------
    InputDataError
        If `events` is not a DataFrame, has duplicate or missing required
        columns, or no network logon row has a readable ``TimeGenerated``.
    ParameterError
        If `start` or `end` is not a time, or `start` is after `end`.

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({
    ...     "TimeGenerated": ["2024-05-01 10:00", "2024-05-01 11:30", "2024-05-02 09:00"],
    ...     "EventID": [4624, 4625, 4624], "LogonType": 3, "LogonTypeName": "3 - Network",
    ...     "TargetUserName": "bob", "TargetDomainName": "CONTOSO", "Computer": "web01",
    ...     "IpAddress": ["10.0.0.5", "10.0.0.6", "10.0.0.5"], "WorkstationName": "LAPTOP1",
    ...     "AuthenticationPackageName": "NTLM",
    ... })
    >>> selection = select_network_logons(events, None, "2024-05-01 23:59")
    >>> selection.rows, selection.success
    (array([0, 1]), array([ True, False]))
    >>> selection.dropped["out_of_range"]
    1

    """
    if not isinstance(events, pd.DataFrame):
        raise InputDataError(f"Expected a pandas DataFrame of events, got {type(events).__name__}.")
    start_ns = _bound(start, "start")
    end_ns = _bound(end, "end")
    if start_ns is not None and end_ns is not None and start_ns > end_ns:
        raise ParameterError(f"start ({start}) is after end ({end}).")
    if events.shape == (0, 0):
        return None
    lookup = _column_lookup(events)
    missing = [name for name in RAW_REQUIRED_COLUMNS if name not in lookup]
    if missing:
        raise InputDataError(
            "Input is not a table of raw logon events; missing column(s): " + ", ".join(missing)
        )

    def column(name: str) -> pd.Series:
        return events[lookup[name]]

    dropped = dict.fromkeys(DROP_REASONS, 0)
    event_id = decode_rows(_numbers, column("EventID"))
    is_success = event_id == SUCCESS_EVENT_ID
    rows = np.flatnonzero(is_success | (event_id == FAILURE_EVENT_ID))
    del event_id
    dropped["not_4624_4625"] = len(events) - len(rows)

    network = decode_rows(_is_network_logon, column("LogonTypeName"), rows)
    dropped["not_network_logon"] = int((~network).sum())
    rows = rows[network]

    success = is_success[rows]
    del is_success
    domain = decode_rows(text_codes, column("TargetDomainName"), rows)
    user = decode_rows(text_codes, column("TargetUserName"), rows)
    logon_type = decode_rows(_numbers, column("LogonType"), rows)

    upper_domain = np.array([label.upper() for label in domain.labels], dtype=object)
    nt_authority = (upper_domain == "NT AUTHORITY")[domain.codes]
    anonymous = (upper_domain == "ANONYMOUS LOGON")[domain.codes]
    system = (upper_domain == "SYSTEM")[domain.codes]
    window_manager = (upper_domain == "WINDOW MANAGER")[domain.codes]
    virtual_machine = (upper_domain == "NT VIRTUAL MACHINE")[domain.codes]
    dwm_user = np.array([label.upper().startswith("DWM-") for label in user.labels], dtype=bool)
    machine_user = np.array([label.endswith("$") for label in user.labels], dtype=bool)

    excluded = success & (
        ((logon_type == 3) & (nt_authority | anonymous))
        | ((logon_type == 5) & (nt_authority | system))
        | ((logon_type == 2) & window_manager & dwm_user[user.codes])
        | virtual_machine
    )
    dropped["system_or_anonymous"] = int(excluded.sum())
    keep = ~excluded
    machine = keep & machine_user[user.codes]
    dropped["machine_account"] = int(machine.sum())
    keep &= ~machine_user[user.codes]

    time_ns = decode_rows(_times_ns, column("TimeGenerated"), rows[keep])
    readable = time_ns != _NAT
    if len(time_ns) and not readable.any():
        sample = _take(column("TimeGenerated"), rows[keep][:3]).tolist()
        raise InputDataError(
            "Column 'TimeGenerated' has no readable date/time values among the "
            f"{len(time_ns)} network logon row(s), e.g. {sample!r}."
        )
    dropped["no_time"] = int((~readable).sum())
    in_range = readable.copy()
    if start_ns is not None:
        in_range &= time_ns >= start_ns
    if end_ns is not None:
        in_range &= time_ns <= end_ns
    dropped["out_of_range"] = int(readable.sum() - in_range.sum())

    final = np.flatnonzero(keep)[in_range]
    return Selection(
        lookup=lookup,
        rows=rows[final],
        time_ns=time_ns[in_range],
        success=success[final],
        logon_type=logon_type[final],
        domain=TextCodes(domain.codes[final], domain.labels),
        user=TextCodes(user.codes[final], user.labels),
        dropped={key: int(value) for key, value in dropped.items()},
    )


def _column_lookup(events: pd.DataFrame) -> dict[str, Hashable]:
    """Map cleaned column names to the frame's labels; reject duplicates."""
    lookup: dict[str, Hashable] = {}
    for label in events.columns:
        name = clean_name(label)
        if name in lookup:
            raise InputDataError(f"Duplicate column name in input: {name!r}.")
        lookup[name] = label
    return lookup


def _bound(value: Any, name: str) -> int | None:
    """Convert a start/end bound to UTC nanoseconds."""
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ParameterError(f"{name} must be a date/time, got {value!r}.") from exc
    if stamp is pd.NaT:
        raise ParameterError(f"{name} must be a date/time, got {value!r}.")
    stamp = utc(stamp)
    try:
        return int(stamp.as_unit("ns").value)
    except (OverflowError, ValueError) as exc:
        raise ParameterError(f"{name} is out of the supported time range: {value!r}.") from exc


def _is_network_logon(values: pd.Series) -> np.ndarray:
    """Test ``LogonTypeName == "3 - Network"`` (case-sensitive)."""
    return _equals_text(values, NETWORK_LOGON)

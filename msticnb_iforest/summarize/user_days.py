"""
Per-user-day summaries of raw Windows logon events, computed locally.

:func:`user_day_summary` turns raw ``SecurityEvent`` rows (as exported from
Microsoft Sentinel / Log Analytics or returned by msticpy) into the same
table the ``AnomalousLogons.user_day_summary`` query returns, so files of
raw events can be hunted without a workspace. :func:`filter_network_logons`
applies only the filters, like ``AnomalousLogons.network_logon_events``.
The filters live in `msticnb_iforest.summarize.events`, the reading of
columns (numbers given as text, missing text, time formats) in
`msticnb_iforest.summarize.decode`.

How the query's aggregation is reproduced
-----------------------------------------
* KQL strings are never null: a missing value in a text column is the empty
  string, both as a group key and as a counted value. ``dcount``/``dcountif``
  ignore only null values (per the Kusto documentation of the two functions),
  and the string type has no null, so ``""`` counts as one distinct value. An
  absent ``AccountDomain`` column is therefore a constant ``""`` and
  ``ComputerDomainsSuccessfulAccess`` is 1 on every day with a success.
* Distinct counts here are exact; Kusto's ``dcount`` is a HyperLogLog
  estimate (exact below about a thousand distinct values per group at the
  default accuracy), so very large counts may differ slightly from a query.
* ``Date`` is the UTC day of ``TimeGenerated`` as ``yyyy-MM-dd`` text and
  ``ActiveMilliseconds`` follows ``datetime_diff("millisecond", max, min)``,
  which counts millisecond boundaries crossed (both ends truncated to whole
  milliseconds before subtracting).

Everything is vectorized: text columns are turned into integer codes once,
groups get one integer key, and distinct counts come from unique
(group, value) pairs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..intkeys import dense_codes, distinct_per_group, sorted_codes
from ..schema import EVENT_COLUMNS, NETWORK_LOGON, SUMMARY_COLUMNS
from .decode import TextCodes, decode_rows, text_codes
from .events import (
    DROP_REASONS,
    FAILURE_EVENT_ID,
    RAW_REQUIRED_COLUMNS,
    SUCCESS_EVENT_ID,
    Selection,
    is_raw_events,
    select_network_logons,
)

__all__ = [
    "DROP_REASONS",
    "RAW_REQUIRED_COLUMNS",
    "filter_network_logons",
    "is_raw_events",
    "user_day_summary",
]

_NS_PER_DAY = 86_400 * 10**9
_NS_PER_MS = 10**6


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------
def filter_network_logons(
    events: pd.DataFrame, *, start: Any = None, end: Any = None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """
    Keep the network logon events the per-user-day summary counts.

    Applies the filters of the ``AnomalousLogons.network_logon_events``
    query: event 4624 or 4625, ``LogonTypeName == "3 - Network"``, no
    system/anonymous/window-manager/virtual-machine successes, no machine
    accounts (user ending in ``$``), and optionally ``start <= TimeGenerated
    <= end``. Rows whose time cannot be read are dropped too.

    Parameters
    ----------
    events : pd.DataFrame
        Raw ``SecurityEvent`` rows with the columns in
        :data:`RAW_REQUIRED_COLUMNS` (``AccountDomain`` optional). Column
        names may carry a portal export suffix such as `` [UTC]``.
    start, end : datetime-like, optional
        Inclusive time bounds; naive values are taken as UTC.

    Returns
    -------
    tuple[pd.DataFrame, dict[str, int]]
        The kept rows in input order with a fresh index and normalized
        columns: ``TimeGenerated`` as UTC datetimes, ``EventID`` as int64,
        ``LogonType`` as nullable Int64, text columns as str with ``""``
        for missing values, ``AccountDomain`` always present; and the number
        of dropped rows for each reason in :data:`DROP_REASONS`.

    Raises
    ------
    InputDataError
        If `events` is not a DataFrame, lacks required columns, or no kept
        row has a readable ``TimeGenerated``.
    ParameterError
        If `start` or `end` is not a time, or `start` is after `end`.

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({
    ...     "TimeGenerated": ["2024-05-01 10:00", "2024-05-01 11:30", "2024-05-02 09:00"],
    ...     "EventID": [4624, 4625, 4624], "LogonType": 3, "LogonTypeName": "3 - Network",
    ...     "TargetUserName": ["bob", "bob", "web01$"], "TargetDomainName": "CONTOSO",
    ...     "Computer": "web01",
    ...     "IpAddress": ["10.0.0.5", "10.0.0.6", "10.0.0.5"], "WorkstationName": "LAPTOP1",
    ...     "AuthenticationPackageName": "NTLM",
    ... })
    >>> kept, dropped = filter_network_logons(events)
    >>> kept[["TimeGenerated", "EventID", "TargetUserName"]]
                  TimeGenerated  EventID TargetUserName
    0 2024-05-01 10:00:00+00:00     4624            bob
    1 2024-05-01 11:30:00+00:00     4625            bob
    >>> dropped["machine_account"]
    1

    """
    selection = select_network_logons(events, start, end)
    if selection is None:
        return _empty_events(), dict.fromkeys(DROP_REASONS, 0)
    rows = selection.rows
    out: dict[str, Any] = {}
    for name in EVENT_COLUMNS:
        if name == "TimeGenerated":
            out[name] = utc_series(selection.time_ns)
        elif name == "EventID":
            ids = np.where(selection.success, SUCCESS_EVENT_ID, FAILURE_EVENT_ID)
            out[name] = ids.astype(np.int64)
        elif name == "LogonType":
            out[name] = _nullable_ints(selection.logon_type)
        elif name == "LogonTypeName":
            out[name] = np.full(len(rows), NETWORK_LOGON, dtype=object)
        elif name == "TargetUserName":
            out[name] = selection.user.labels[selection.user.codes]
        elif name == "TargetDomainName":
            out[name] = selection.domain.labels[selection.domain.codes]
        elif name in selection.lookup:
            text = decode_rows(text_codes, events[selection.lookup[name]], rows)
            out[name] = text.labels[text.codes]
        elif name == "AccountDomain":
            out[name] = np.full(len(rows), "", dtype=object)
    return pd.DataFrame(out, copy=False), selection.dropped


def user_day_summary(
    events: pd.DataFrame,
    *,
    start: Any = None,
    end: Any = None,
    return_dropped: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, dict[str, int]]:
    """
    Summarize raw logon events per account per day, like the KQL query.

    The result has exactly the columns of ``AnomalousLogons.user_day_summary``
    (:data:`msticnb_iforest.schema.SUMMARY_COLUMNS`, same order), one row per
    (Date, DstDomain, DstUser, LogonTypeName), sorted by those keys. See the
    module docstring for how KQL semantics (case rules, empty strings,
    ``dcount``, ``datetime_diff``) are reproduced. The input is not modified.

    Parameters
    ----------
    events : pd.DataFrame
        Raw ``SecurityEvent`` rows (see :func:`filter_network_logons`).
        ``TimeGenerated`` may be datetimes (naive ones are UTC) or text:
        ISO 8601 with or without a zone, ``"2024-01-05 10:00:00"`` or
        portal exports such as ``"9/19/2022, 11:29:46.297 PM"``.
    start, end : datetime-like, optional
        Inclusive bounds on ``TimeGenerated``; naive values are UTC.
    return_dropped : bool, optional
        Also return the number of dropped rows per reason.

    Returns
    -------
    pd.DataFrame or tuple[pd.DataFrame, dict[str, int]]
        The summary: ``Date`` as ``"yyyy-MM-dd"`` text, key columns as str,
        counts and ``ActiveMilliseconds`` as int64, ``MAX_TimeGenerated`` and
        ``MIN_TimeGenerated`` as UTC datetimes. Empty (with these columns
        and dtypes) when nothing passes the filters.

    Raises
    ------
    InputDataError
        If `events` is not a DataFrame, lacks required columns (named in the
        message), or no candidate row has a readable ``TimeGenerated``.
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
    >>> columns = ["Date", "DstUser", "SuccessfulLogons", "FailedLogons", "DistinctSrcIp"]
    >>> user_day_summary(events)[columns]
             Date DstUser  SuccessfulLogons  FailedLogons  DistinctSrcIp
    0  2024-05-01     bob                 1             1              2
    1  2024-05-02     bob                 1             0              1

    """
    selection = select_network_logons(events, start, end)
    if selection is None or len(selection.rows) == 0:
        dropped = selection.dropped if selection is not None else dict.fromkeys(DROP_REASONS, 0)
        return (empty_summary(), dropped) if return_dropped else empty_summary()
    summary = _summarize(events, selection)
    return (summary, selection.dropped) if return_dropped else summary


# --------------------------------------------------------------------------
# Output columns
# --------------------------------------------------------------------------
def _nullable_ints(values: np.ndarray) -> pd.array:
    """Float values as nullable Int64 when they are whole numbers."""
    finite = values[~np.isnan(values)]
    if np.all(finite == np.floor(finite)):
        return pd.array(values, dtype="Float64").astype("Int64")
    return pd.array(values, dtype="Float64")


def utc_series(time_ns: np.ndarray) -> pd.DatetimeIndex:
    """Return int64 nanoseconds since the epoch as tz-aware UTC datetimes (both summarizers)."""
    return pd.DatetimeIndex(time_ns.view("datetime64[ns]")).tz_localize("UTC")


# --------------------------------------------------------------------------
# Aggregation
# --------------------------------------------------------------------------
def _summarize(events: pd.DataFrame, selection: Selection) -> pd.DataFrame:
    """Aggregate the selected rows into the per-user-day table."""
    lookup, rows = selection.lookup, selection.rows
    time_ns, success = selection.time_ns, selection.success

    # Codes in sorted label order, so integer order is the output order.
    domain_codes, domain_labels = sorted_codes(selection.domain.codes, selection.domain.labels)
    user_codes, user_labels = sorted_codes(selection.user.codes, selection.user.labels)
    day = np.floor_divide(time_ns, _NS_PER_DAY)
    day_codes, days = dense_codes(day - day.min())
    days = days + day.min()

    account_key = domain_codes * len(user_labels) + user_codes
    account_codes, accounts = dense_codes(account_key)
    group_key = day_codes * len(accounts) + account_codes
    group, keys = dense_codes(group_key)
    del day, day_codes, account_key, account_codes, group_key  # free row-sized arrays
    n_groups = len(keys)
    group_account = accounts[keys % len(accounts)]

    attempted = np.bincount(group, minlength=n_groups)
    successful = np.bincount(group[success], minlength=n_groups)
    latest = np.full(n_groups, np.iinfo(np.int64).min, dtype=np.int64)
    earliest = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
    np.maximum.at(latest, group, time_ns)
    np.minimum.at(earliest, group, time_ns)

    def distinct(name: str) -> tuple[np.ndarray, np.ndarray]:
        if name not in lookup:  # absent AccountDomain: the constant ""
            text = TextCodes(np.zeros(len(rows), dtype=np.int64), np.array([""], dtype=object))
        else:
            text = decode_rows(text_codes, events[lookup[name]], rows)
        every, ok, _ = distinct_per_group(group, n_groups, text.codes, len(text.labels), success)
        return every, ok

    names = [
        "Computer",
        "IpAddress",
        "WorkstationName",
        "AuthenticationPackageName",
        "AccountDomain",
    ]
    counted = {name: distinct(name) for name in names}
    computers, computers_ok = counted["Computer"]
    src_ips, src_ips_ok = counted["IpAddress"]
    src_hosts, src_hosts_ok = counted["WorkstationName"]
    packages = counted["AuthenticationPackageName"][0]
    account_domains_ok = counted["AccountDomain"][1]

    day_text = np.datetime_as_string(days.astype("datetime64[D]")).astype(object)
    columns = {
        "Date": day_text[keys // len(accounts)],
        "DstDomain": domain_labels[group_account // len(user_labels)],
        "DstUser": user_labels[group_account % len(user_labels)],
        "LogonTypeName": np.full(n_groups, NETWORK_LOGON, dtype=object),
        "AttemptedLogons": attempted.astype(np.int64),
        "MAX_TimeGenerated": utc_series(latest),
        "MIN_TimeGenerated": utc_series(earliest),
        "SuccessfulLogons": successful.astype(np.int64),
        "FailedLogons": (attempted - successful).astype(np.int64),
        # TargetDomainName is the DstDomain key, so it has one value per group.
        "ComputerDomainsAccessed": np.ones(n_groups, dtype=np.int64),
        "DistinctAuthenticationPackage": packages,
        "ComputersAccessed": computers,
        "DistinctSrcIp": src_ips,
        "DistinctSrcHostName": src_hosts,
        "ComputersSuccessfulAccess": computers_ok,
        "ComputerDomainsSuccessfulAccess": account_domains_ok,
        "SrcIpSuccessfulAccess": src_ips_ok,
        "SrcHostNameSuccessfulAccess": src_hosts_ok,
        "ActiveMilliseconds": np.floor_divide(latest, _NS_PER_MS)
        - np.floor_divide(earliest, _NS_PER_MS),
    }
    return pd.DataFrame(columns, copy=False)


# --------------------------------------------------------------------------
# Empty results
# --------------------------------------------------------------------------
_TIME_COLUMNS = ("MAX_TimeGenerated", "MIN_TimeGenerated")
_TEXT_COLUMNS = ("Date", "DstDomain", "DstUser", "LogonTypeName")


def _with_dtypes(summary: pd.DataFrame) -> pd.DataFrame:
    """Give the summary its fixed column order and dtypes."""
    summary = summary[SUMMARY_COLUMNS]
    dtypes: dict[str, Any] = {}
    for name in SUMMARY_COLUMNS:
        if name in _TEXT_COLUMNS:
            dtypes[name] = object
        elif name in _TIME_COLUMNS:
            dtypes[name] = pd.DatetimeTZDtype("ns", "UTC")
        else:
            dtypes[name] = np.int64
    return summary.astype(dtypes)


def empty_summary() -> pd.DataFrame:
    """Return a user-day summary with no rows, with its columns and dtypes (both summarizers)."""
    empty = {name: pd.Series([], dtype=object) for name in SUMMARY_COLUMNS}
    return _with_dtypes(pd.DataFrame(empty))


def _empty_events() -> pd.DataFrame:
    """Return a filtered-events frame with no rows."""
    frame = pd.DataFrame({name: pd.Series([], dtype=object) for name in EVENT_COLUMNS[:11]})
    frame["TimeGenerated"] = pd.Series([], dtype=pd.DatetimeTZDtype("ns", "UTC"))
    frame["EventID"] = frame["EventID"].astype(np.int64)
    frame["LogonType"] = frame["LogonType"].astype("Int64")
    return frame

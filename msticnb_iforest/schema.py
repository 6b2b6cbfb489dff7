"""Column names of the per-user-day table and its validation.

The per-user-day table is what the ``AnomalousLogons.user_day_summary`` query
returns: one row per (Date, DstDomain, DstUser, LogonTypeName) with counts of
logons and distinct counts of the hosts, addresses and domains involved.
"""

from __future__ import annotations

import decimal
import numbers
import re

import numpy as np
import pandas as pd

from .dates import (  # the time vocabulary, re-exported: every stage reads it from here
    MISSING_WORDS,
    _example,
    add_input_note,
    collect_input_notes,
    numeric_dates_month_first,
    parse_dates,
    utc,
    utc_naive,
)
from .errors import InputDataError

__all__ = [
    "MISSING_WORDS",
    "add_input_note",
    "collect_input_notes",
    "numeric_dates_month_first",
    "parse_dates",
    "utc",
    "utc_naive",
    "ACCOUNT_KEYS",
    "COUNT_COLUMNS",
    "EVENT_COLUMNS",
    "EVTX_COLUMNS",
    "MAX_COUNT",
    "MISSING_WORDS",
    "RAW_REQUIRED_COLUMNS",
    "SUMMARY_COLUMNS",
    "is_raw_events",
    "is_summary_table",
    "prepare_summary",
]

#: Largest count accepted: 2**53, the largest whole number float64 (in which
#: counts are computed) holds exactly, and far above any real day's logons.
MAX_COUNT = 2**53

#: Text that means a missing value in a count or date column (compared
#: trimmed and lower-cased): a missing count is taken as 0, a missing date

#: Columns that identify an account.
ACCOUNT_KEYS = ["DstDomain", "DstUser"]

#: Count columns of the summary, in query order.
COUNT_COLUMNS = [
    "AttemptedLogons",
    "SuccessfulLogons",
    "FailedLogons",
    "ComputerDomainsAccessed",
    "DistinctAuthenticationPackage",
    "ComputersAccessed",
    "DistinctSrcIp",
    "DistinctSrcHostName",
    "ComputersSuccessfulAccess",
    "ComputerDomainsSuccessfulAccess",
    "SrcIpSuccessfulAccess",
    "SrcHostNameSuccessfulAccess",
]

#: Every column of the ``user_day_summary`` query, in query order.
SUMMARY_COLUMNS = [
    "Date",
    "DstDomain",
    "DstUser",
    "LogonTypeName",
    "AttemptedLogons",
    "MAX_TimeGenerated",
    "MIN_TimeGenerated",
    "SuccessfulLogons",
    "FailedLogons",
    "ComputerDomainsAccessed",
    "DistinctAuthenticationPackage",
    "ComputersAccessed",
    "DistinctSrcIp",
    "DistinctSrcHostName",
    "ComputersSuccessfulAccess",
    "ComputerDomainsSuccessfulAccess",
    "SrcIpSuccessfulAccess",
    "SrcHostNameSuccessfulAccess",
    "ActiveMilliseconds",
]

#: Columns of a raw logon event row, in the order the
#: ``network_logon_events`` query projects them.
EVENT_COLUMNS = [
    "TimeGenerated",
    "EventID",
    "Computer",
    "TargetUserName",
    "TargetDomainName",
    "LogonType",
    "LogonTypeName",
    "IpAddress",
    "WorkstationName",
    "AuthenticationPackageName",
    "AccountDomain",
    "LogonProcessName",
    "Status",
    "SubStatus",
]

#: Columns of the raw logon rows read from a Windows event log (``.evtx``):
#: those of `EVENT_COLUMNS` that an event record carries (``AccountDomain`` is
#: Sentinel's, not an ``EventData`` field), then ``TargetUserSid`` and ``IpPort``.
EVTX_COLUMNS = [name for name in EVENT_COLUMNS if name != "AccountDomain"] + [
    "TargetUserSid",
    "IpPort",
]

#: Columns a table must have to be treated as a per-user-day summary.
REQUIRED_SUMMARY_COLUMNS = [
    "Date",
    "DstDomain",
    "DstUser",
    "SuccessfulLogons",
    "FailedLogons",
    "ComputersSuccessfulAccess",
    "SrcIpSuccessfulAccess",
]

#: Columns a table of raw logon events must have.
RAW_REQUIRED_COLUMNS = [
    "TimeGenerated",
    "EventID",
    "TargetUserName",
    "TargetDomainName",
    "LogonType",
    "LogonTypeName",
    "Computer",
    "IpAddress",
    "WorkstationName",
    "AuthenticationPackageName",
]

#: Why input rows are dropped before scoring, by the key counted in
#: ``dropped_rows``, in the words a report or a message uses.
DROP_REASON_TEXT = {
    "not_4624_4625": "not a logon event (4624 or 4625)",
    "not_network_logon": "not a network logon (type 3)",
    "system_or_anonymous": "system, anonymous, window-manager or VM account",
    "machine_account": "machine account (name ends in $)",
    "no_time": "TimeGenerated missing or unreadable",
    "out_of_range": "outside the time window",
    "no_date": "no Date",
}


def counts_text(counts: dict[str, int]) -> str:
    """
    Say a count per reason in words, leaving out zeros.

    Examples
    --------
    >>> counts_text({"machine_account": 3, "no_time": 0, "allow-listed account": 1})
    'machine account (name ends in $) 3, allow-listed account 1'

    """
    return ", ".join(
        f"{DROP_REASON_TEXT.get(str(why), why)} {int(n):,}" for why, n in counts.items() if n
    )


#: The one logon type hunted, spelled as SecurityEvent's ``LogonTypeName``.
NETWORK_LOGON = "3 - Network"

#: What the Log Analytics portal appends to the names of exported time columns.
EXPORT_SUFFIX = re.compile(r"\s*\[(UTC|Local Time)\]$")


def _clean_name(name: object) -> str:
    """Strip a BOM, spaces and an export time-zone suffix from a column name."""
    text = str(name).replace("\ufeff", "").strip()
    return EXPORT_SUFFIX.sub("", text)


def is_summary_table(data: pd.DataFrame) -> bool:
    """Return True if `data` has the columns of a per-user-day summary."""
    names = {_clean_name(col) for col in data.columns}
    return set(REQUIRED_SUMMARY_COLUMNS) <= names


def is_raw_events(data: pd.DataFrame) -> bool:
    """Return True if `data` is a DataFrame with every column of `RAW_REQUIRED_COLUMNS`."""
    if not isinstance(data, pd.DataFrame):
        return False
    return set(RAW_REQUIRED_COLUMNS) <= {_clean_name(col) for col in data.columns}


def _coerce_counts(table: pd.DataFrame) -> None:
    """Make count columns float64 in place; reject values that are not counts."""
    for col in COUNT_COLUMNS:
        if col not in table.columns:
            table[col] = np.nan
            continue
        raw = table[col]
        if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
            values = raw.to_numpy(dtype="float64", na_value=np.nan)
        else:
            values = _count_values(col, raw)
        _check_counts(col, values)
        table[col] = values


# Text of a decimal number (what a count column may hold as text).
_NUMBER_TEXT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NOT_A_NUMBER = object()


def _count_values(col: str, raw: pd.Series) -> np.ndarray:
    """
    Read a column of counts given as text or objects, one distinct value at a time.

    Numbers and number text become float64 (too large for a float: inf);
    missing values and the text in `MISSING_WORDS` become NaN.
    """
    try:
        codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    except TypeError:  # unhashable values (lists, dicts) are not counts
        bad = next(v for v in raw if isinstance(v, (list, dict, set)))
        raise InputDataError(
            f"Column '{col}' must hold counts; it has values that are not numbers, "
            f"e.g. {_example(bad)}."
        ) from None
    numbers = [_count_number(value) for value in np.asarray(uniques, dtype=object)]
    unreadable = np.array([value is _NOT_A_NUMBER for value in numbers], dtype=bool)
    if unreadable.any():
        rows = unreadable[codes] & (codes >= 0)
        first = raw.iloc[int(np.argmax(rows))]
        raise InputDataError(
            f"Column '{col}' must hold counts; {int(rows.sum())} value(s) "
            f"are not numbers, e.g. {_example(first)}."
        )
    return np.append(np.array(numbers, dtype=np.float64), np.nan)[codes]


def _count_number(value: object) -> object:
    """One count value as a float (NaN if missing, inf if too large), else `_NOT_A_NUMBER`."""
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in MISSING_WORDS:
            return np.nan
        if text.lower() in ("inf", "+inf", "infinity", "+infinity"):
            return np.inf
        if text.lower() in ("-inf", "-infinity"):
            return -np.inf
        if not _NUMBER_TEXT.fullmatch(text):
            return _NOT_A_NUMBER
        return float(text)  # float() of digits never overflows: inf when too large
    if isinstance(value, (bool, np.bool_, numbers.Real, np.number, decimal.Decimal)):
        try:
            return float(value)
        except OverflowError:  # an int beyond float64
            return np.inf if value > 0 else -np.inf
    if value is pd.NA or value is pd.NaT or value is None:
        return np.nan
    return _NOT_A_NUMBER


def _check_counts(col: str, values: np.ndarray) -> None:
    """Raise if `values` has negative, too large, infinite or fractional counts (NaN is fine)."""
    with np.errstate(invalid="ignore"):
        if (values < 0).any():
            raise InputDataError(f"Column '{col}' must hold counts; it has negative values.")
        large = values > MAX_COUNT
        if large.any():
            raise InputDataError(
                f"Column '{col}' must hold counts of at most {MAX_COUNT:,} (2**53); it has "
                f"{int(large.sum())} larger or infinite value(s), e.g. {values[large][0]:g}."
            )
        fractional = values != np.floor(values)
        if fractional[~np.isnan(values)].any():
            example = values[fractional & ~np.isnan(values)][0]
            raise InputDataError(
                f"Column '{col}' must hold whole-number counts; it has fractional values, "
                f"e.g. {example:g}."
            )


def _account_text(values: pd.Series) -> pd.Series:
    """Return account names as Python strings, missing values as ""."""
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=False) == "string":
        return values
    return values.astype("string").fillna("").astype(object)


def _deep_copy(data: pd.DataFrame, names: pd.Index) -> pd.DataFrame:
    """
    Copy a frame column by column, with new column names and a fresh RangeIndex.

    ``DataFrame.copy`` first merges a frame assembled column by column (as
    query results are) into one block per dtype, which costs several times
    the copy itself on a million rows; copying each column costs about the
    same as ``DataFrame.copy`` for any other frame, so it is used for all.
    """
    index = pd.RangeIndex(len(data))
    columns = {}
    for pos, name in enumerate(names):
        column = data.iloc[:, pos].copy(deep=True)
        column.index = index
        columns[name] = column
    return pd.DataFrame(columns, copy=False)


def prepare_summary(
    data: pd.DataFrame, *, return_dropped: bool = False
) -> pd.DataFrame | tuple[pd.DataFrame, dict[str, int]]:
    """
    Validate a per-user-day table and return a cleaned copy.

    Column names are cleaned (export suffixes such as `` [UTC]`` removed),
    count columns become float64 (missing values stay NaN), ``Date`` becomes
    a day timestamp and account names become strings. Row order and
    duplicate keys are kept. The input frame is not modified.

    Parameters
    ----------
    data : pd.DataFrame
        Rows as returned by the ``user_day_summary`` query.
    return_dropped : bool, default=False
        Drop rows with an empty ``Date`` and also return their count as
        ``{"no_date": n}`` (empty dict when none). Without it an empty
        ``Date`` is an error.

    Returns
    -------
    pd.DataFrame or tuple of (pd.DataFrame, dict)
        A new frame with a fresh RangeIndex (and the dropped-row counts).

    Raises
    ------
    InputDataError
        If required columns are missing, values cannot be read (a date or
        count that is not one, a negative, fractional or infinite count),
        or ``Date`` is empty (in any row, or with `return_dropped` in every
        row of a non-empty table).

    """
    if not isinstance(data, pd.DataFrame):
        raise InputDataError(f"Expected a pandas DataFrame, got {type(data).__name__}.")
    names = pd.Index([_clean_name(col) for col in data.columns])
    if names.duplicated().any():
        dupes = sorted(set(names[names.duplicated()]))
        raise InputDataError(f"Duplicate column names in input: {dupes}.")
    missing = [col for col in REQUIRED_SUMMARY_COLUMNS if col not in names]
    if missing:
        raise InputDataError(
            "Input is not a per-user-day logon summary; missing column(s): " + ", ".join(missing)
        )
    # One deep copy, then columns are replaced in place on the copy.
    table = _deep_copy(data, names)
    table["Date"] = parse_dates(table["Date"], "Date")
    no_date = table["Date"].isna().to_numpy()
    dropped: dict[str, int] = {}
    if no_date.any():
        n_empty = int(no_date.sum())
        if not return_dropped or no_date.all():
            raise InputDataError(f"Column 'Date' is empty in {n_empty} of {len(table)} row(s).")
        table = table[~no_date].reset_index(drop=True)
        dropped["no_date"] = n_empty
    for col in ACCOUNT_KEYS:
        table[col] = _account_text(table[col])
    if "LogonTypeName" not in table.columns:
        table["LogonTypeName"] = NETWORK_LOGON
    _coerce_counts(table)
    return (table, dropped) if return_dropped else table


def _in_window(table: pd.DataFrame, start: object, end: object) -> tuple[pd.DataFrame, dict]:
    """Keep a prepared table's days from the day of `start` to `end`; count the others."""
    if start is None and end is None:
        return table, {}
    days, keep = table["Date"], pd.Series(True, index=table.index)
    if start is not None:
        keep &= days >= utc_naive(pd.Timestamp(start)).normalize()
    if end is not None:
        keep &= days <= utc_naive(pd.Timestamp(end))
    outside = int((~keep).sum())
    return (table[keep.to_numpy()], {"out_of_range": outside}) if outside else (table, {})

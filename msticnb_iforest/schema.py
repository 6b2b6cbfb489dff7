"""Column names of the per-user-day table and its validation.

The per-user-day table is what the ``AnomalousLogons.user_day_summary`` query
returns: one row per (Date, DstDomain, DstUser, LogonTypeName) with counts of
logons and distinct counts of the hosts, addresses and domains involved.
"""

from __future__ import annotations

import decimal
import numbers
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
import pandas as pd

from .errors import InputDataError

__all__ = [
    "rows_in_window",
    "clean_name",
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
#: drops its row (``no_date``).
MISSING_WORDS = frozenset({"", "nan", "null", "none", "na", "n/a", "<na>"})

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

#: The one logon type hunted, spelled as SecurityEvent's ``LogonTypeName``.
NETWORK_LOGON = "3 - Network"

#: What the Log Analytics portal appends to the names of exported time columns.
EXPORT_SUFFIX = re.compile(r"\s*\[(UTC|Local Time)\]$")


def utc(stamp: pd.Timestamp) -> pd.Timestamp:
    """
    Return a time as UTC-aware: a naive time is taken to be UTC already.

    Examples
    --------
    >>> utc(pd.Timestamp("2024-05-01 10:00"))
    Timestamp('2024-05-01 10:00:00+0000', tz='UTC')
    >>> utc(pd.Timestamp("2024-05-01 12:00+02:00"))
    Timestamp('2024-05-01 10:00:00+0000', tz='UTC')

    """
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def utc_naive(stamp: pd.Timestamp) -> pd.Timestamp:
    """
    Return a time as naive UTC wall time (how ``Date`` columns are compared).

    Examples
    --------
    >>> utc_naive(pd.Timestamp("2024-05-01 12:00+02:00"))
    Timestamp('2024-05-01 10:00:00')

    """
    return stamp if stamp.tzinfo is None else stamp.tz_convert("UTC").tz_localize(None)


# Notes that reading values produces (e.g. an assumed day/month order), for
# the caller that opened `collect_input_notes`; None when nobody listens.
_INPUT_NOTES: ContextVar[list[str] | None] = ContextVar("input_notes", default=None)


@contextmanager
def collect_input_notes() -> Iterator[list[str]]:
    """
    Collect the notes that parsing input values adds inside the block.

    Yields
    ------
    list of str
        Filled, in order and without repeats, while the block runs (see
        `add_input_note`); the caller passes them on to its result.

    """
    notes: list[str] = []
    token = _INPUT_NOTES.set(notes)
    try:
        yield notes
    finally:
        _INPUT_NOTES.reset(token)


def add_input_note(text: str) -> None:
    """Add a note for the innermost `collect_input_notes` block (if any)."""
    notes = _INPUT_NOTES.get()
    if notes is not None and text not in notes:
        notes.append(text)


def _example(value: object, width: int = 60) -> str:
    """Return a short repr of a value for an error message."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def clean_name(name: object) -> str:
    """Strip a BOM, spaces and an export time-zone suffix from a column name."""
    text = str(name).replace("\ufeff", "").strip()
    return EXPORT_SUFFIX.sub("", text)


def is_summary_table(data: pd.DataFrame) -> bool:
    """Return True if `data` has the columns of a per-user-day summary."""
    names = {clean_name(col) for col in data.columns}
    return set(REQUIRED_SUMMARY_COLUMNS) <= names


def is_raw_events(data: pd.DataFrame) -> bool:
    """Return True if `data` is a DataFrame with every column of `RAW_REQUIRED_COLUMNS`."""
    if not isinstance(data, pd.DataFrame):
        return False
    return set(RAW_REQUIRED_COLUMNS) <= {clean_name(col) for col in data.columns}


def parse_dates(values: pd.Series, name: str = "Date") -> pd.Series:
    """
    Parse a column of dates or times to UTC-naive day timestamps.

    Each distinct value is parsed once, so this is fast on long columns
    with few distinct days. Naive times are taken as UTC; aware ones are
    converted to UTC. Missing values (and the text in `MISSING_WORDS`) stay
    NaT. Numbers are not dates (their unit would be a guess). Numeric dates
    with the year last (``3/4/2024``, ``03.04.2024``, ``3-4-2024``) are read
    in one day/month order for the whole column (see
    `numeric_dates_month_first`).

    Raises
    ------
    InputDataError
        If a non-empty value cannot be read as a date, lies outside the
        range pandas can hold (years 1677 to 2262), or the column mixes
        day-first and month-first dates.

    """
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        try:
            return parsed.dt.normalize().astype("datetime64[ns]")
        except pd.errors.OutOfBoundsDatetime:
            outside = parsed[(parsed < _MIN_DAY) | (parsed > _MAX_DAY)]
            raise InputDataError(_out_of_range_message(name, list(outside))) from None
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:  # unhashable values (lists, dicts) are not dates
        bad = next(v for v in values if isinstance(v, (list, dict, set)))
        raise InputDataError(
            f"Column '{name}' has value(s) that are not dates, e.g. {_example(bad)}."
        ) from None
    days = _parse_unique_times(pd.Series(uniques, dtype=object), name)
    result = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ns]")
    valid = codes >= 0
    result[valid] = days.to_numpy()[codes[valid]]
    return pd.Series(result, index=values.index, name=values.name).dt.normalize()


# The days a datetime64[ns] column can hold.
_MIN_DAY = pd.Timestamp.min.ceil("D")
_MAX_DAY = pd.Timestamp.max.floor("D")


def _out_of_range_message(name: str, values: list) -> str:
    examples = ", ".join(repr(str(v)) for v in values[:3])
    return (
        f"Column '{name}' has {len(values)} date(s) outside the supported range "
        f"{_MIN_DAY:%Y-%m-%d} to {_MAX_DAY:%Y-%m-%d}, e.g. {examples}."
    )


# A numeric date with the year last (3/4/2024, 03.04.24, 3-4-2024), then
# optionally a time: groups first field, separator, second field, year, rest.
_NUMERIC_DATE = r"^\s*(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?![\d/.-])(.*)$"


def numeric_dates_month_first(values: Sequence[object], name: str) -> list[object]:
    """
    Rewrite numeric dates so that they read month first, one order per column.

    Whether ``03/04/2024`` is 4 March or 3 April is decided once for the
    whole column, from all its distinct values: day first if any value's
    first field is above 12, month first if any value's second field is.
    When neither says, month first is assumed (the Sentinel portal exports
    ``M/D/YYYY``) and a note says so (see `collect_input_notes`). ISO 8601
    and other values are returned unchanged.

    Parameters
    ----------
    values : sequence
        Distinct values of one column (non-strings are returned as they are).
    name : str
        The column's name, for the note and error message.

    Returns
    -------
    list
        `values` with day-first dates rewritten as ``M/D/Y`` (same time
        part), so that any parser reading month first reads them right.

    Raises
    ------
    InputDataError
        If the column has both day-first and month-first dates.

    """
    values = list(values)
    text = pd.Series([v if isinstance(v, str) else "" for v in values], dtype=object)
    parts = text.str.extract(_NUMERIC_DATE)
    dated = parts[0].notna().to_numpy()
    if not dated.any():
        return values
    first = pd.to_numeric(parts[0]).to_numpy()
    second = pd.to_numeric(parts[2]).to_numpy()
    day_first = dated & (first > 12) & (second <= 12)
    month_first = dated & (second > 12) & (first <= 12)
    if day_first.any() and month_first.any():
        day_example = values[int(np.argmax(day_first))]
        month_example = values[int(np.argmax(month_first))]
        raise InputDataError(
            f"Column '{name}' mixes day-first and month-first dates, e.g. "
            f"{_example(day_example)} and {_example(month_example)}; export the column in "
            "one order, or as ISO 8601 (YYYY-MM-DD)."
        )
    if not day_first.any():
        ambiguous = dated & (first <= 12) & (second <= 12) & (first != second)
        if not month_first.any() and ambiguous.any():
            example = values[int(np.argmax(ambiguous))]
            add_input_note(
                f"Column '{name}': no date in it says whether it is day/month or month/day "
                f"(no field above 12, e.g. {_example(example)}); read as month/day (M/D/YYYY, "
                "as the Sentinel portal exports). Export dates as YYYY-MM-DD to be sure."
            )
        return values
    for pos in np.flatnonzero(dated):
        row = parts.iloc[pos]
        values[pos] = f"{row[2]}/{row[0]}/{row[3]}{row[4]}"
    return values


def _parse_unique_times(uniques: pd.Series, name: str) -> pd.Series:
    """Parse distinct date/time values (strings or datetimes)."""
    out = []
    bad = []
    outside = []
    readable = numeric_dates_month_first(uniques, name)
    for value, text in zip(uniques, readable, strict=True):
        stamp = _to_utc_naive(text)
        if stamp is None:
            bad.append(value)
        elif stamp is not pd.NaT:
            # Only the day is kept, so a time late on the last day still fits.
            stamp = stamp.floor("D")
            if not _MIN_DAY <= stamp <= _MAX_DAY:
                outside.append(value)
        out.append(stamp if stamp is not None else pd.NaT)
    if bad:
        examples = ", ".join(_example(v) for v in bad[:3])
        raise InputDataError(
            f"Column '{name}' has {len(bad)} value(s) that are not dates, e.g. {examples}."
        )
    if outside:
        raise InputDataError(_out_of_range_message(name, outside))
    return pd.Series(pd.to_datetime(out), dtype="datetime64[ns]")


def _to_utc_naive(value: object) -> pd.Timestamp | None:
    """Convert one value to a naive UTC timestamp, or None if unreadable."""
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in MISSING_WORDS:
            return pd.NaT
        # Portal exports write "9/19/2022, 11:29:46.297 PM".
        text = text.replace(", ", " ", 1) if re.match(r"^\d+/\d+/\d+,", text) else text
        try:
            stamp = pd.Timestamp(text)
        except (ValueError, OverflowError):
            return None
    elif isinstance(value, (bool, int, float, np.number)):
        return None  # a number is not a date: its unit would be a guess
    else:
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, TypeError, OverflowError):
            return None
    if stamp is pd.NaT:
        return pd.NaT
    return utc_naive(stamp)


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


def _deep_copy(data: pd.DataFrame, names: pd.Index, deep: bool = True) -> pd.DataFrame:
    """
    Copy a frame column by column (`deep`), with new column names and a fresh RangeIndex.

    ``DataFrame.copy`` first merges a frame assembled column by column (as
    query results are) into one block per dtype, which costs several times
    the copy itself on a million rows; copying each column costs about the
    same as ``DataFrame.copy`` for any other frame, so it is used for all.
    """
    index = pd.RangeIndex(len(data))
    columns = {}
    for pos, name in enumerate(names):
        column = data.iloc[:, pos].copy(deep=deep)
        column.index = index
        columns[name] = column
    return pd.DataFrame(columns, copy=False)


def prepare_summary(
    data: pd.DataFrame, *, return_dropped: bool = False, copy: bool = True
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
    copy : bool, default=True
        Copy `data` first. False only for a table nobody else holds (a
        summary just computed): its columns are taken, not copied.

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
    names = pd.Index([clean_name(col) for col in data.columns])
    if names.duplicated().any():
        dupes = sorted(set(names[names.duplicated()]))
        raise InputDataError(f"Duplicate column names in input: {dupes}.")
    missing = [col for col in REQUIRED_SUMMARY_COLUMNS if col not in names]
    if missing:
        raise InputDataError(
            "Input is not a per-user-day logon summary; missing column(s): " + ", ".join(missing)
        )
    # One deep copy (unless the table is ours), then columns are replaced in place.
    table = _deep_copy(data, names, deep=copy)
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


def rows_in_window(table: pd.DataFrame, start: object, end: object) -> tuple[pd.DataFrame, dict]:
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

"""
Filter raw logon events and decode their columns to integer codes.

:func:`select_network_logons` applies the filters of the
``AnomalousLogons.network_logon_events`` query to raw ``SecurityEvent`` rows
and returns the kept row positions with the columns the filters needed
already decoded (a :class:`Selection`). Both local summaries
(`msticnb_iforest.summarize.user_days` and `msticnb_iforest.summarize.account_days`) start
from it and decode further columns on the kept rows with
:func:`decode_rows` and :func:`text_codes`.

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

import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputDataError, ParameterError
from ..schema import EXPORT_SUFFIX, numeric_dates_month_first, utc

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

#: The ``LogonTypeName`` of a network logon (compared case-sensitively).
NETWORK_LOGON = "3 - Network"
#: ``EventID`` of a successful and of a failed logon.
SUCCESS_EVENT_ID, FAILURE_EVENT_ID = 4624, 4625
_NAT = np.iinfo(np.int64).min


# ISO 8601 forms pyarrow reads, with and without a zone designator.
_ISO_ZONED = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)$"
_ISO_NAIVE = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?$"
_LOOKS_LIKE_DATE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
_PORTAL_COMMA = re.compile(r"^(\d+/\d+/\d+),\s*")


def is_raw_events(data: pd.DataFrame) -> bool:
    """
    Tell whether `data` is a table of raw logon events.

    Parameters
    ----------
    data : pd.DataFrame
        Any object; only a DataFrame can qualify.

    Returns
    -------
    bool
        True if `data` is a DataFrame with every column of
        :data:`RAW_REQUIRED_COLUMNS` (names compared after removing a BOM,
        surrounding spaces and a portal export suffix such as `` [UTC]``).

    """
    if not isinstance(data, pd.DataFrame):
        return False
    names = {_clean_name(col) for col in data.columns}
    return set(RAW_REQUIRED_COLUMNS) <= names


# --------------------------------------------------------------------------
# Selection (filters)
# --------------------------------------------------------------------------
@dataclass
class TextCodes:
    """
    A text column as integer codes and the distinct strings they index.

    Attributes
    ----------
    codes : np.ndarray
        One integer per row; ``labels[codes]`` is the column's text.
    labels : np.ndarray
        The distinct strings (object array), each once; missing values are
        the label ``""``.

    """

    codes: np.ndarray
    labels: np.ndarray


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


def _clean_name(name: object) -> str:
    """Strip a BOM, spaces and a portal time-zone suffix from a column name."""
    return EXPORT_SUFFIX.sub("", str(name).replace("\ufeff", "").strip())


def _column_lookup(events: pd.DataFrame) -> dict[str, Hashable]:
    """Map cleaned column names to the frame's labels; reject duplicates."""
    lookup: dict[str, Hashable] = {}
    for label in events.columns:
        name = _clean_name(label)
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


# --------------------------------------------------------------------------
# Column decoding
# --------------------------------------------------------------------------
def decode_rows(
    decode: Callable[..., Any], values: pd.Series, rows: np.ndarray | None = None
) -> Any:
    """
    Apply a column decoder to `values` at positions `rows`.

    Arrow-backed and categorical columns are decoded whole and then indexed
    when most rows are wanted (cheaper than copying their strings); other
    columns are subset first. Object columns given to :func:`text_codes`
    are factorized at `rows` directly.

    Parameters
    ----------
    decode : callable
        A decoder taking a Series and returning one value per row: an array
        or a :class:`TextCodes` (e.g. :func:`text_codes`).
    values : pd.Series
        The column to decode. Not modified.
    rows : np.ndarray, optional
        Integer positions to decode (e.g. :attr:`Selection.rows`); None
        decodes every row.

    Returns
    -------
    np.ndarray or TextCodes
        What `decode` returns, for the rows at `rows` in that order.

    Raises
    ------
    InputDataError
        If the column holds values that cannot be counted or compared, such
        as lists or mappings (the message names the column).

    """
    try:
        return _decode_rows(decode, values, rows)
    except TypeError as err:  # Python's own message for a list, dict or set in a cell
        if "unhashable" not in str(err):
            raise
        raise InputDataError(
            f"Column {values.name!r} must hold text, numbers or times; it holds lists or "
            f"mappings ({err})."
        ) from None


def _decode_rows(decode: Callable[..., Any], values: pd.Series, rows: np.ndarray | None) -> Any:
    if rows is None or len(rows) == len(values):
        return decode(values)
    if decode is text_codes and _is_object(values.dtype):
        return text_codes(values, rows)
    whole = isinstance(values.dtype, pd.CategoricalDtype) or _is_arrow_text(values.dtype)
    if whole and len(rows) >= len(values) // 4:
        decoded = decode(values)
        if isinstance(decoded, TextCodes):
            return TextCodes(decoded.codes[rows], decoded.labels)
        return decoded[rows]
    return decode(_take(values, rows))


def _take(values: pd.Series, rows: np.ndarray) -> pd.Series:
    """Return `values` at positions `rows` (no copy when all rows are taken)."""
    if len(rows) == len(values):
        return values
    if isinstance(values.dtype, np.dtype):
        return pd.Series(values.to_numpy()[rows], copy=False)
    return pd.Series(values.array.take(rows), copy=False)


def _is_arrow_text(dtype: object) -> bool:
    """Tell whether `dtype` is a pyarrow-backed string dtype."""
    if isinstance(dtype, pd.StringDtype):
        return dtype.storage == "pyarrow"
    if isinstance(dtype, pd.ArrowDtype):
        return pa.types.is_string(dtype.pyarrow_dtype) or pa.types.is_large_string(
            dtype.pyarrow_dtype
        )
    return False


def _is_object(dtype: object) -> bool:
    """Tell whether `dtype` is numpy's object dtype."""
    return isinstance(dtype, np.dtype) and dtype.kind == "O"


def _arrow_array(values: pd.Series) -> pa.ChunkedArray:
    """Return the pyarrow data behind an Arrow-backed Series (no copy)."""
    data = pa.array(values.array)
    return data if isinstance(data, pa.ChunkedArray) else pa.chunked_array([data])


def text_codes(values: pd.Series, rows: np.ndarray | None = None) -> TextCodes:
    """
    Factorize a text column into integer codes.

    Missing values become ``""`` (merged with real empty strings) and
    non-string values their ``str()`` (whole floats without ``.0``), so
    equal text always has one code.

    Parameters
    ----------
    values : pd.Series
        A text column of any dtype (object, string, Arrow, categorical or
        numbers). Not modified.
    rows : np.ndarray, optional
        Positions to factorize, honoured for object columns only; use
        :func:`decode_rows` to decode any column at given rows.

    Returns
    -------
    TextCodes
        One code per row and the distinct labels.

    """
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        uniques = np.asarray(values.cat.categories, dtype=object)
    elif _is_arrow_text(dtype):
        # One array, one dictionary (per-chunk dictionaries are costly to unify).
        encoded = pc.dictionary_encode(_arrow_array(values).combine_chunks())
        uniques = np.asarray(encoded.dictionary.to_pylist(), dtype=object)
        codes = pc.fill_null(encoded.indices, -1).to_numpy()
    elif _is_object(dtype):
        codes, uniques = _factorize_objects(values.to_numpy(), rows)
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        uniques = np.asarray(uniques, dtype=object)
    if pd.api.types.infer_dtype(uniques, skipna=False) in ("string", "empty"):
        labels = list(uniques)
    else:
        labels = [_as_text(value) for value in uniques]
    labels.append("")  # code -1 (missing) indexes this last entry
    canon, distinct = pd.factorize(np.array(labels, dtype=object))
    return TextCodes(canon.astype(np.int32)[codes], np.asarray(distinct, dtype=object))


def _factorize_objects(
    values: np.ndarray, rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """
    Factorize an object array (at positions `rows`), by identity if possible.

    Columns built by pandas or pyarrow usually reuse one str object per
    distinct value, so hashing the object addresses (plain integers) is much
    faster than hashing the strings, and taking addresses at `rows` avoids
    copying object references. Identity implies equality, so the codes are
    only finer than value codes; the caller merges equal uniques. Missing
    values get codes of their own here (their uniques are None/NaN).
    """
    addresses = _shared_object_addresses(values)
    if addresses is None:
        subset = values if rows is None else values[rows]
        codes, uniques = pd.factorize(subset, use_na_sentinel=True)
        return codes, np.asarray(uniques, dtype=object)
    codes, distinct = pd.factorize(addresses if rows is None else addresses[rows])
    first = np.empty(len(distinct), dtype=np.intp)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    return codes, values[first if rows is None else rows[first]]


def _shared_object_addresses(values: np.ndarray) -> np.ndarray | None:
    """
    Return the object addresses of `values` if equal values share objects.

    A leading block decides: among its values that occur more than once,
    there must be barely more distinct objects than distinct values. Returns
    None when that does not hold or cannot be judged, when the array is
    small, or when numpy does not expose the addresses.
    """
    block = 50_000
    if values.ndim != 1 or len(values) < 4 * block:
        return None
    try:
        values = np.ascontiguousarray(values)
        addresses = np.frombuffer(memoryview(values).cast("B"), dtype=np.intp)
    except (TypeError, ValueError, BufferError):
        return None
    if len(addresses) != len(values):
        return None
    codes, _ = pd.factorize(values[:block], use_na_sentinel=False)
    repeated = np.bincount(codes)[codes] > 1
    if repeated.sum() < 1_000:
        return None
    n_values = len(np.unique(codes[repeated]))
    n_objects = len(pd.unique(addresses[:block][repeated]))
    return addresses if n_objects <= 1.5 * n_values else None


def _as_text(value: object) -> str:
    """KQL-style text of one value: missing values are ``""``."""
    if isinstance(value, str):
        return value
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a text column read as numbers: 123.0 -> "123"
    return str(value)


def _numbers(values: pd.Series) -> np.ndarray:
    """Read a column as float64; text is stripped, unreadable values are NaN."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return np.full(len(values), np.nan)
    if pd.api.types.is_numeric_dtype(dtype):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    if _is_object(dtype):
        codes, uniques = _factorize_objects(values.to_numpy())
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = pd.Series([_as_text(v).strip() for v in np.asarray(uniques, dtype=object)], dtype=object)
    parsed = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return np.append(parsed, np.nan)[codes]


def _is_network_logon(values: pd.Series) -> np.ndarray:
    """Test ``LogonTypeName == "3 - Network"`` (case-sensitive)."""
    return _equals_text(values, NETWORK_LOGON)


def _equals_text(values: pd.Series, target: str) -> np.ndarray:
    """Case-sensitive ``==`` against one string, as a boolean array."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        hits = np.asarray(values.cat.categories == target, dtype=bool)
        codes = values.cat.codes.to_numpy()
        return np.append(hits, False)[codes]
    if _is_arrow_text(dtype):
        result = pc.fill_null(pc.equal(_arrow_array(values), target), False)
        return np.asarray(result.to_numpy(), dtype=bool)
    if isinstance(dtype, pd.StringDtype):
        return values.eq(target).fillna(False).to_numpy(dtype=bool)
    if _is_object(dtype):
        return np.asarray(values.to_numpy(dtype=object) == target, dtype=bool)
    return np.zeros(len(values), dtype=bool)


# --------------------------------------------------------------------------
# Time parsing
# --------------------------------------------------------------------------
def _times_ns(values: pd.Series) -> np.ndarray:
    """
    Read a time column as int64 UTC nanoseconds (``_NAT`` where unreadable).

    Datetime columns are converted directly (naive ones are UTC). Text is
    parsed with pyarrow's ISO 8601 reader, and anything it cannot read
    (portal exports, odd formats) is parsed one distinct value at a time.
    """
    dtype = values.dtype
    if not isinstance(dtype, pd.ArrowDtype) and pd.api.types.is_datetime64_any_dtype(dtype):
        stamps = pd.DatetimeIndex(values)
        if stamps.tz is not None:
            stamps = stamps.tz_convert("UTC").tz_localize(None)
        return stamps.as_unit("ns").asi8.copy()
    if isinstance(dtype, pd.ArrowDtype) and pa.types.is_timestamp(dtype.pyarrow_dtype):
        arrow = _arrow_array(values)
        if dtype.pyarrow_dtype.tz is None:
            arrow = pc.assume_timezone(arrow, "UTC")
        return _arrow_ns(pc.cast(arrow, pa.timestamp("ns", "UTC")))
    if isinstance(dtype, pd.CategoricalDtype):
        parsed = _times_ns(pd.Series(np.asarray(values.cat.categories, dtype=object)))
        return np.append(parsed, _NAT)[values.cat.codes.to_numpy()]
    if _is_arrow_text(dtype):
        return _parse_text_times(_arrow_array(values))
    if not _is_object(dtype) and not isinstance(dtype, pd.StringDtype):
        return np.full(len(values), _NAT, dtype=np.int64)
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind == "empty":
        return np.full(len(values), _NAT, dtype=np.int64)
    if kind == "string":
        data = pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
        text = pa.chunked_array([data])
        return _parse_text_times(text)
    return _parse_mixed_times(values)


def _arrow_ns(stamps: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Arrow timestamps (ns) as int64 with ``_NAT`` for nulls."""
    ints = pc.fill_null(pc.cast(stamps, pa.int64()), _NAT)
    if isinstance(ints, pa.ChunkedArray):
        if ints.num_chunks == 0:
            return np.array([], dtype=np.int64)
        return np.concatenate([chunk.to_numpy() for chunk in ints.chunks]).astype(np.int64)
    return ints.to_numpy().astype(np.int64)


def _parse_text_times(text: pa.ChunkedArray) -> np.ndarray:
    """Parse ISO 8601 text with pyarrow, falling back per distinct value."""
    text = pc.utf8_trim_whitespace(text)
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, text.type), text)
    for target in (pa.timestamp("ns", "UTC"), pa.timestamp("ns")):
        try:
            return _arrow_ns(pc.cast(text, target))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    # Mixed zones or other formats: cast each ISO form apart, parse the rest
    # one distinct value at a time.
    result = np.full(len(text), _NAT, dtype=np.int64)
    zoned = _flags(pc.match_substring_regex(text, _ISO_ZONED))
    naive = _flags(pc.match_substring_regex(text, _ISO_NAIVE)) & ~zoned
    other = ~(zoned | naive) & _flags(pc.is_valid(text))
    parts = ((zoned, pa.timestamp("ns", "UTC")), (naive, pa.timestamp("ns")), (other, None))
    for mask, target in parts:
        positions = np.flatnonzero(mask)
        if not len(positions):
            continue
        part = text.take(pa.array(positions))
        try:
            if target is None:
                raise pa.ArrowInvalid("not ISO 8601")
            result[positions] = _arrow_ns(pc.cast(part, target))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            result[positions] = _parse_distinct(part)
    return result


def _flags(mask: pa.ChunkedArray) -> np.ndarray:
    """Convert a boolean Arrow column to a numpy bool array (nulls are False)."""
    filled = pc.fill_null(mask, False)
    if filled.num_chunks == 0:
        return np.zeros(0, dtype=bool)
    return np.concatenate([chunk.to_numpy(zero_copy_only=False) for chunk in filled.chunks])


def _parse_distinct(text: pa.ChunkedArray) -> np.ndarray:
    """Parse each distinct string once with the lenient single-value parser."""
    distinct = pc.unique(text)
    readable = numeric_dates_month_first(distinct.to_pylist(), "TimeGenerated")
    parsed = np.array([_parse_one(value) for value in readable], dtype=np.int64)
    index = pc.fill_null(pc.index_in(text, value_set=distinct), -1)
    index = np.concatenate([chunk.to_numpy() for chunk in index.chunks]) if index.num_chunks else []
    return np.append(parsed, _NAT)[np.asarray(index, dtype=np.int64)]


def _parse_mixed_times(values: pd.Series) -> np.ndarray:
    """
    Parse an object column of datetimes and/or text.

    Bare numbers are not times here (pandas would read them as nanoseconds
    since 1970). This path is for unusual mixed columns, so the per-value
    type check is acceptable.
    """
    number = np.array(
        [
            isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_))
            for v in values
        ],
        dtype=bool,
    )
    values = values.where(~number, None) if number.any() else values
    stamps = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
    result = pd.DatetimeIndex(stamps).tz_localize(None).as_unit("ns").asi8.copy()
    retry = np.flatnonzero((result == _NAT) & values.notna().to_numpy())
    if len(retry):
        codes, uniques = pd.factorize(values.iloc[retry])
        readable = numeric_dates_month_first(uniques, "TimeGenerated")
        parsed = np.array([_parse_one(value) for value in readable], dtype=np.int64)
        result[retry] = np.append(parsed, _NAT)[codes]
    return result


def _parse_one(value: object) -> int:
    """Parse one time value to UTC nanoseconds, or ``_NAT``."""
    if value is None:
        return _NAT
    if isinstance(value, str):
        text = value.strip()
        if not _LOOKS_LIKE_DATE.search(text):
            return _NAT
        # Portal exports write "9/19/2022, 11:29:46.297 PM".
        value = _PORTAL_COMMA.sub(r"\1 ", text)
    try:
        stamp = pd.Timestamp(value)
        if stamp is pd.NaT:
            return _NAT
        stamp = utc(stamp)
        return int(stamp.as_unit("ns").value)
    except (TypeError, ValueError, OverflowError):
        return _NAT

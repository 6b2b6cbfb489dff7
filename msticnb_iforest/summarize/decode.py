"""
Decode columns of raw logon events the way KQL reads them, vectorized.

A column may arrive with any dtype: object, string, Arrow-backed, categorical,
numbers or datetimes. The decoders here give each the meaning the
``AnomalousLogons`` queries give it:

* text (`text_codes`): integer codes over the distinct strings; KQL strings
  are never null, so a missing value is the empty string, the same code as a
  real ``""``, and other values are their text (a text column read as
  numbers: ``123.0`` is ``"123"``);
* numbers (`_numbers`): float64, from numbers or from text such as
  ``" 4624 "``; what is not a number is NaN and matches no comparison;
* times (`_times_ns`): int64 UTC nanoseconds from datetimes (naive ones are
  UTC) or text: ISO 8601 with or without a zone, or portal exports such as
  ``"9/19/2022, 11:29:46.297 PM"``, numeric dates read in one day/month
  order for the whole column (`schema.numeric_dates_month_first`);
  unreadable values are ``_NAT``.

`decode_rows` applies a decoder at given row positions, decoding the least it
can. Each decoder works on the distinct values of a column (factorized once),
never row by row. `msticnb_iforest.summarize.events` filters the rows with
these decoders; the names with a leading underscore are shared with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputDataError
from ..schema import numeric_dates_month_first, utc

__all__ = ["TextCodes", "decode_rows", "text_codes"]


#: What `_times_ns` gives for a time it cannot read (int64 of NaT).
_NAT = np.iinfo(np.int64).min

# ISO 8601 forms pyarrow reads, with and without a zone designator.
_ISO_ZONED = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)$"
_ISO_NAIVE = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?$"
_LOOKS_LIKE_DATE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
_PORTAL_COMMA = re.compile(r"^(\d+/\d+/\d+),\s*")


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

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> text = decode_rows(text_codes, pd.Series(["x", "y", "z"]), np.array([2, 0]))
    >>> text.labels[text.codes].tolist()
    ['z', 'x']

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

    Examples
    --------
    >>> import pandas as pd
    >>> text = text_codes(pd.Series(["b", None, "a", "b", 7.0]))
    >>> text.codes
    array([0, 3, 1, 0, 2], dtype=int32)
    >>> text.labels[text.codes].tolist()
    ['b', '', 'a', 'b', '7']

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

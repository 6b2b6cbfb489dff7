"""
Column names and types of the tables the readers return.

Every format is read into an Arrow table first; `_to_frame` turns it into
pandas by the rules of `msticnb_iforest.sources.readers`: account, host,
address and status columns (`is_text_column`) are always text, other text
columns become numbers when every value is one, ``TimeGenerated`` columns
become UTC datetimes when every value is ISO 8601, and text is one shared
``str`` object per distinct value. Column names are compared cleaned (a BOM,
surrounding spaces and a portal export suffix such as `` [UTC]`` removed).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ...schema import COUNT_COLUMNS, MISSING_WORDS, clean_name

__all__ = ["is_text_column"]


_TEXT_NAMES = {
    "Account",
    "Activity",
    "Computer",
    "Date",
    "DstDomain",
    "DstUser",
    "IpAddress",
    "LogonTypeName",
    "NewComputers",
    "NewSrcHosts",
    "NewSrcIps",
    "SourceSystem",
    "Status",
    "SubStatus",
    "TargetLogonId",
    "SubjectLogonId",
}

# Count columns of the summary are numbers even when their names look textual.
_NUMBER_NAMES = {*COUNT_COLUMNS, "ActiveMilliseconds", "EventID", "LogonType"}

_TEXT_SUFFIXES = ("Name", "Domain", "User", "Sid", "Address", "Account", "Computer", "Host", "Guid")

_TIME_NAME = re.compile(r"TimeGenerated(\s*\[UTC\])?$")


def is_text_column(name: object) -> bool:
    """
    Tell whether a column always holds text, whatever its values look like.

    True for account, host, domain, address, status and logon-type-name
    columns of ``SecurityEvent`` and of the per-user-day summary.

    Parameters
    ----------
    name : object
        A column name, compared cleaned (BOM, spaces and a portal export
        suffix such as `` [UTC]`` removed).

    Returns
    -------
    bool
        True if the column is read as text even when its values are digits.

    Examples
    --------
    >>> is_text_column("TargetUserName"), is_text_column("SubStatus")
    (True, True)
    >>> is_text_column("EventID"), is_text_column("DistinctSrcHostName")
    (False, False)

    """
    clean = clean_name(name)
    if clean in _NUMBER_NAMES:
        return False
    return clean in _TEXT_NAMES or clean.endswith(_TEXT_SUFFIXES)


def _is_time_name(name: str) -> bool:
    """Tell whether a column holds event times (``TimeGenerated``)."""
    return bool(_TIME_NAME.search(name.replace("\ufeff", "").strip()))


def _is_text_type(kind: pa.DataType) -> bool:
    """Tell whether an Arrow type is text or dictionary-encoded text."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


# Spellings of a missing number (lower case), as in `schema.MISSING_WORDS`.
_MISSING_TEXT = pa.array(sorted(MISSING_WORDS), type=pa.string())


def _is_missing(value: object) -> bool:
    """Tell whether a JSON value is missing (None or NaN)."""
    return value is None or (isinstance(value, float) and np.isnan(value))


def _to_frame(table: pa.Table) -> pd.DataFrame:
    """Convert an Arrow table to pandas, applying the column type rules."""
    table = table.unify_dictionaries()
    names, arrays = [], []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if name.startswith("__index_level_"):  # a pandas index saved to Parquet
            continue
        names.append(name)
        arrays.append(_column_values(name, column))
    frame = pd.DataFrame(dict(enumerate(arrays)), index=pd.RangeIndex(table.num_rows), copy=False)
    frame.columns = names
    return frame


def _column_values(name: str, column: pa.ChunkedArray) -> Any:
    """Return one column's values for pandas."""
    kind = column.type
    if _is_text_type(kind):
        if _is_time_name(name):
            plain = column.cast(pa.string()) if pa.types.is_dictionary(kind) else column
            stamps = _maybe_times(plain)
            if stamps is not None:
                return stamps
        words, codes = _encode(column)
        if not is_text_column(name) and not _is_time_name(name):
            numbers = _maybe_numbers(words, codes)
            if numbers is not None:
                return numbers
        return _text_objects(words.to_pylist(), codes)
    if is_text_column(name) and (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_null(kind)
    ):
        return _number_text(column.to_pandas().to_numpy(dtype=object))
    return column.to_pandas(coerce_temporal_nanoseconds=True).array


def _encode(column: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """Return the distinct strings of a column and each row's index (-1: null)."""
    if not pa.types.is_dictionary(column.type):
        single = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
        column = pa.chunked_array([pc.dictionary_encode(single)])
    if column.num_chunks == 0:
        return pa.array([], type=pa.string()), np.zeros(0, dtype=np.int64)
    # After unify_dictionaries every chunk shares the first chunk's dictionary.
    words = column.chunk(0).dictionary
    codes = np.concatenate(
        [pc.fill_null(chunk.indices, -1).to_numpy() for chunk in column.chunks]
    ).astype(np.int64)
    return words.cast(pa.string()), codes


def _text_objects(words: list, codes: np.ndarray) -> np.ndarray:
    """Build an object array of str, one shared object per distinct value."""
    lookup = np.array([*("" if w is None else w for w in words), ""], dtype=object)
    return lookup[codes]


def _maybe_numbers(words: pa.Array, codes: np.ndarray) -> np.ndarray | None:
    """Return numbers if every non-empty distinct value is one, else None."""
    trimmed = pc.utf8_trim_whitespace(words)
    missing = pc.is_in(pc.utf8_lower(trimmed), value_set=_MISSING_TEXT)
    values = pc.if_else(missing, pa.scalar(None, pa.string()), trimmed)
    if values.null_count == len(values):
        return None
    for target in (pa.int64(), pa.float64()):
        try:
            parsed = values.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        blank = (codes < 0) | np.append(
            np.asarray(parsed.is_null().to_numpy(zero_copy_only=False), dtype=bool), True
        )[codes]
        numbers = np.append(parsed.to_numpy(zero_copy_only=False), 0)[codes]
        if not blank.any():
            return numbers
        numbers = numbers.astype(np.float64)
        numbers[blank] = np.nan
        return numbers
    return None


def _maybe_times(column: pa.ChunkedArray) -> Any:
    """Return UTC datetimes if every value is ISO 8601 text, else None."""
    trimmed = pc.utf8_trim_whitespace(column)
    values = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)
    for target in (pa.timestamp("ns", "UTC"), pa.timestamp("ns")):
        try:
            stamps = values.cast(target).cast(pa.timestamp("ns", "UTC"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return stamps.to_pandas().array
    return None


def _number_text(values: np.ndarray) -> np.ndarray:
    """Text of numbers in a text column: whole numbers without ``.0``."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    words = [_number_word(value) for value in uniques]
    return _text_objects(words, codes)


def _number_word(value: object) -> str:
    """Return the text of one number (``""`` for missing)."""
    if _is_missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)

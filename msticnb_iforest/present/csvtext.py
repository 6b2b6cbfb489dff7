r"""
CSV text of a table, the bytes of pandas' ``to_csv``, without a step per cell.

pandas' ``to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC,
lineterminator="\\n")`` hands every cell to Python's ``csv`` writer: about a
microsecond a cell, a minute for a million account-days of 70 columns, and
more for times with a time zone, which it formats one by one. `write_rows`
writes the same bytes another way: each column of a block of rows is
factorized, its distinct values are turned into cell text once (text
quoted, its quotes doubled; numbers as Python writes them; missing values
as ``""``), and each row is one ``",".join``. Columns of a type it does not
know make it decline, before writing anything, and the caller uses
``to_csv``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["write_rows"]

#: A block of a column as (codes, texts): cell ``i`` is ``texts[codes[i]]``.
Cells = tuple[np.ndarray, np.ndarray]

#: Rows turned into text at a time (a multiple of pandas' own block of rows).
BLOCK_CELLS = 2_000_000

#: The cells pandas hands the ``csv`` writer at a time (``to_csv``'s default
#: ``chunksize`` is this divided by the number of columns).
_PANDAS_CHUNK_CELLS = 100_000

#: A missing value: pandas writes ``na_rep`` (""), which the writer quotes.
_MISSING = '""'


def _quoted(text: str) -> str:
    """Return `text` as the ``csv`` writer quotes it (its quote characters doubled)."""
    return '"' + text.replace('"', '""') + '"'


def _float_cells(values: np.ndarray) -> Cells:
    """Codes and texts of a float column: ``repr`` of each distinct bit pattern, NaN as ""."""
    bits = values.view(np.int64 if values.itemsize == 8 else np.int32)
    codes, uniques = pd.factorize(bits)  # by bits: -0.0 and 0.0 are written differently
    codes[np.isnan(values)] = -1
    numbers = uniques.view(values.dtype).tolist()
    return codes, np.array([repr(x) for x in numbers] + [_MISSING], dtype=object)


def _utc_cells(values: pd.Series) -> Cells:
    """
    Codes and texts of a UTC time column, as ``str(pd.Timestamp)`` writes each time.

    Nanoseconds show 9 decimals, microseconds 6, whole seconds none; then ``+00:00``.
    """
    stamps = values.to_numpy(dtype="datetime64[ns]")
    codes, uniques = pd.factorize(stamps.view(np.int64))
    codes[np.isnat(stamps)] = -1
    iso = np.datetime_as_string(uniques.view("datetime64[ns]"), unit="ns")
    day_time = np.strings.replace(np.strings.slice(iso, 0, 19), "T", " ")
    nanos = np.strings.slice(iso, 19, 29)  # ".fffffffff"
    below = uniques % 1_000_000_000
    fraction = np.where(
        below == 0, "", np.where(below % 1000 == 0, np.strings.slice(nanos, 7), nanos)
    )
    texts = np.strings.add(np.strings.add('"', day_time), np.strings.add(fraction, '+00:00"'))
    return codes, np.append(texts.astype(object), _MISSING)


def _text_cells(values: np.ndarray) -> Cells:
    """Codes and texts of an object column of text (NaN, None and NA as "")."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, np.array([*map(_quoted, uniques.tolist()), _MISSING], dtype=object)


def _pandas_cells(column: pd.Series, chunksize: int) -> Cells:
    """Cell texts of a column of times or time spans, as pandas writes it (one text a line)."""
    text = column.to_frame().to_csv(
        index=False,
        header=False,
        quoting=csv.QUOTE_NONNUMERIC,
        lineterminator="\n",
        chunksize=chunksize,
    )
    cells = np.array(text.split("\n")[:-1], dtype=object)
    return np.arange(len(cells)), np.append(cells, _MISSING)


def _is_text(values: Any) -> bool:
    """Tell whether every cell of `values` is text or missing (None, NaN, NA)."""
    return pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")


def _category_cells(column: pd.Series) -> Cells:
    """Codes and texts of a category column of text."""
    texts = [*map(_quoted, column.cat.categories.tolist()), _MISSING]
    return column.cat.codes.to_numpy(), np.array(texts, dtype=object)


def _bool_cells(column: pd.Series) -> Cells:
    return column.to_numpy().view(np.int8), np.array(["False", "True"], dtype=object)


def _int_cells(column: pd.Series) -> Cells:
    codes, uniques = pd.factorize(column.to_numpy())
    return codes, np.array([str(x) for x in uniques.tolist()], dtype=object)


def _column_writer(column: pd.Series, chunksize: int) -> Callable[[pd.Series], Cells] | None:
    """
    Return what turns a block of `column` into (codes, texts); None for a type not written here.

    Cell ``i`` of a block is ``texts[codes[i]]``; code -1 (the last text) is
    a missing value. The texts are those pandas' ``to_csv`` writes with
    ``quoting=csv.QUOTE_NONNUMERIC`` in blocks of `chunksize` rows (naive
    times are formatted per block). Mixed objects, lists, categories of
    numbers and nullable or pyarrow numbers are not written here.
    """
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _category_cells if _is_text(dtype.categories) else None
    if isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) == "UTC" and dtype.unit == "ns":
        return _utc_cells
    if dtype.kind in "mM" or isinstance(dtype, pd.PeriodDtype):
        return lambda block: _pandas_cells(block, chunksize)
    if not isinstance(dtype, np.dtype):
        if pd.api.types.is_string_dtype(dtype) and _is_text(column.to_numpy(dtype=object)):
            return lambda block: _text_cells(block.to_numpy(dtype=object))
        return None
    if dtype.kind == "b":
        return _bool_cells
    if dtype.kind in "iu":
        return _int_cells
    if dtype.kind == "f" and dtype.itemsize in (4, 8):
        return lambda block: _float_cells(block.to_numpy())
    if dtype.kind == "O" and _is_text(column.to_numpy()):
        return lambda block: _text_cells(block.to_numpy())
    return None


def write_rows(frame: pd.DataFrame, header: list[str], handle: Any) -> bool:
    """
    Write `frame` with `header` to `handle` as the output CSV files are written.

    Parameters
    ----------
    frame : pd.DataFrame
        The table as `csvfiles.csv_ready` returns it (text cells neutralized).
    header : list of str
        The column names to write (neutralized).
    handle : text file
        An open file (``newline=""``).

    Returns
    -------
    bool
        True when written; False, with nothing written, when a column is of
        a type this module does not write (the caller then uses ``to_csv``).

    """
    n_rows, n_columns = frame.shape
    if n_rows == 0 or n_columns == 0:
        return False
    chunksize = max(_PANDAS_CHUNK_CELLS // n_columns, 1)
    whole = [frame.iloc[:, at] for at in range(n_columns)]
    writers = [_column_writer(column, chunksize) for column in whole]
    if any(writer is None for writer in writers):
        return False
    block = chunksize * max(BLOCK_CELLS // (chunksize * n_columns), 1)
    handle.write(",".join(map(_quoted, header)) + "\n")
    for start in range(0, n_rows, block):
        columns = []
        for column, writer in zip(whole, writers, strict=True):
            codes, texts = writer(column.iloc[start : start + block])
            columns.append(texts[codes].tolist())
        handle.write("\n".join(map(",".join, zip(*columns, strict=True))) + "\n")
    return True

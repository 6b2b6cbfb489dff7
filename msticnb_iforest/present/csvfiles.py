"""
CSV files a spreadsheet opens safely: every text cell quoted, formulas neutralized.

Names and addresses in logon data come from whoever sent the logon, so a
cell may begin with ``=`` or hold a line break. `csv_safe_text` makes such
text inert for spreadsheets and `write_csv` quotes every text cell, so each
cell stays one cell for every reader.
"""

from __future__ import annotations

import csv
import datetime as dt
import numbers
import os
import unicodedata
from typing import Any

import numpy as np
import pandas as pd

from .csvtext import write_rows

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: Formula characters also recognised after leading whitespace and in their
#: compatibility forms (full-width ``＝＋－＠``, small forms), which some
#: spreadsheets fold to the ASCII character.
_FORMULA_CHARS = frozenset("=+-@")

#: Quoting of the CSV files: every text cell (and the header) is quoted, so a
#: cell holding any line break (CR, LF, CRLF, U+2028, U+2029, VT, FF, NEL ...)
#: stays one cell for every reader that honours quotes; numbers are bare.
CSV_QUOTING = csv.QUOTE_NONNUMERIC

#: dtype kinds that never hold text: bool, integers, floats, complex, times.
_NOT_TEXT_KINDS = frozenset("biufcmM")


def _formula_mask(texts: pd.Series) -> np.ndarray:
    """Return which of `texts` (str or None) a spreadsheet could run as formulas."""
    first = texts.str[:1]
    lead = texts.str.lstrip().str[:1]
    folded = {ch: unicodedata.normalize("NFKC", ch)[:1] for ch in pd.unique(lead.dropna())}
    risky = first.isin(FORMULA_STARTS) | lead.map(folded).isin(_FORMULA_CHARS)
    return risky.to_numpy(dtype=bool)


def _cell_text(value: Any) -> str | None:
    """Return the text pandas writes for a cell value; None for numbers, times, NA."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(
        value, numbers.Number | dt.date | dt.time | dt.timedelta | np.datetime64 | np.timedelta64
    ):
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _neutralized(uniques: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return (risky mask, apostrophe-prefixed texts) for distinct cell values."""
    texts = pd.Series([_cell_text(value) for value in uniques], dtype=object)
    risky = _formula_mask(texts)
    return risky, ("'" + texts[risky]).to_numpy(dtype=object)


def csv_safe_text(values: pd.Series) -> pd.Series:
    """
    Neutralize text cells a spreadsheet would run as formulas.

    Account, domain and host names come from the logs, and an attacker
    chooses the account name of a failed logon. A text cell gets a leading
    apostrophe, which spreadsheets show as plain text, when it starts with
    one of :data:`FORMULA_STARTS`, or when its first character after
    leading whitespace is ``=``, ``+``, ``-`` or ``@`` or a compatibility
    form of one (full-width ``＝＋－＠``). Any dtype is handled (object,
    string, ArrowDtype string, category); the test runs once per distinct
    value. Numbers, times and missing values are unchanged, and so is the
    Series passed in: when no cell is risky it is returned as it is,
    otherwise a new object Series is returned. Only the CSV files are
    written this way: the result's DataFrames, run.json and the report keep
    the exact names.
    """
    if values.dtype.kind in _NOT_TEXT_KINDS:
        return values
    if isinstance(values.dtype, pd.CategoricalDtype):
        risky, fixed = _neutralized(values.cat.categories)
        if not risky.any():
            return values
        codes = values.cat.codes.to_numpy()
        cells = values.cat.categories.to_numpy(dtype=object).copy()
        cells[risky] = fixed
        out = np.append(cells, None)[codes]  # code -1 (missing) takes the None
        return pd.Series(out, index=values.index, name=values.name, dtype=object)
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:  # unhashable cells (lists, dicts): pandas writes their str()
        codes, uniques = np.arange(len(values)), values.to_numpy(dtype=object)
    risky, fixed = _neutralized(uniques)
    if not risky.any():
        return values
    replacement = np.empty(len(uniques), dtype=object)
    replacement[risky] = fixed
    hit = codes >= 0
    hit[hit] = risky[codes[hit]]
    out = values.to_numpy(dtype=object, copy=True)
    out[hit] = replacement[codes[hit]]
    return pd.Series(out, index=values.index, name=values.name, dtype=object)


def _days(column: pd.Series) -> pd.Series:
    """Return times as ``YYYY-MM-DD`` text (missing as NaN), as ``dt.strftime`` does."""
    if column.dtype != np.dtype("datetime64[ns]"):
        return column.dt.strftime("%Y-%m-%d")
    days = np.datetime_as_string(column.to_numpy(), unit="D").astype(object)
    days[np.isnat(column.to_numpy())] = np.nan
    return pd.Series(days, index=column.index, name=column.name, dtype=object)


def csv_ready(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Any]]:
    """
    Return `frame` as the CSV files write it, and its header.

    A datetime ``Date`` column becomes ``YYYY-MM-DD`` text, text cells and
    column names are neutralized with `csv_safe_text`. `frame` is not
    modified; unchanged columns are shared with it, not copied.
    """
    out = frame.copy(deep=False)
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if out.columns[position] == "Date" and column.dtype.kind == "M":
            out.isetitem(position, _days(column))
            continue
        safe = csv_safe_text(column)
        if safe is not column:
            out.isetitem(position, safe)
    names = pd.Series([str(name) for name in frame.columns], dtype=object)
    return out, csv_safe_text(names).tolist()


def write_csv(frame: pd.DataFrame, handle: Any) -> None:
    r"""
    Write `frame` as the output CSV files are written.

    Formula cells neutralized (`csv_safe_text`), every text cell quoted
    (:data:`CSV_QUOTING`), no index, ``\\n`` line ends, UTF-8.

    The bytes are those of pandas' ``to_csv`` with these options. Columns
    of the usual types (numbers, True/False, text, categories of text,
    times) are turned into cell text once per distinct value of a block of
    rows and joined row by row (`csvtext.write_rows`), about ten times
    faster than ``to_csv`` on a million rows; a table with a column of
    any other type (mixed objects, lists) is written by ``to_csv``.

    Parameters
    ----------
    frame : pd.DataFrame
        The table; not modified.
    handle : path or text file
        Where to write (a file opened with ``newline=""``).

    """
    out, header = csv_ready(frame)
    if isinstance(handle, str | os.PathLike) or not write_rows(out, header, handle):
        out.to_csv(handle, index=False, header=header, quoting=CSV_QUOTING, lineterminator="\n")


# --------------------------------------------------------------------------
# Writing a set of files into --out all at once
# --------------------------------------------------------------------------

"""
Reading days and times from input values, and the notes that reading leaves.

Exports spell days in many ways (ISO text, ``dd/mm/yyyy`` or ``mm/dd/yyyy``,
datetimes, Excel-style text with a time zone). `parse_dates` reads each
distinct spelling once; where it has to assume a day/month order it says so
through `add_input_note`, and the caller that opened `collect_input_notes`
hands the note on to its result.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
import pandas as pd

from .errors import InputDataError

#: drops its row (``no_date``).
MISSING_WORDS = frozenset({"", "nan", "null", "none", "na", "n/a", "<na>"})


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

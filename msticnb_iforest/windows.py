"""
A scheduled hunt's two windows: the baseline it learns from, then the days it hunts.

With ``hunt_days`` a hunt works as a scheduled analytics rule does: it
learns what is usual from the ``baseline_days`` days before the hunted
days, then judges the last ``hunt_days`` days against that. The window read
is ``[end - hunt_days - baseline_days, end)``, in whole UTC days, where
``end`` is the midnight after the window's last day (the end of the given
window, or of the data when none is given).

`ScheduledWindow` holds the days, `query_start` says where a query for one
should start and `split_days` keeps a prepared table's days in the window
and says which are baseline and which are hunted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .identity import account_codes
from .schema import utc, utc_naive

__all__ = [
    "BASELINE",
    "HUNT",
    "WINDOW_COLUMN",
    "ScheduledWindow",
    "WindowSplit",
    "new_accounts",
    "query_start",
    "scheduled_window",
    "split_days",
]

#: The user_days column saying which window a day belongs to, and its two values.
WINDOW_COLUMN = "window"
BASELINE, HUNT = "baseline", "hunt"

_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class ScheduledWindow:
    """
    The days of a scheduled hunt (naive UTC midnights, as ``Date`` holds them).

    Attributes
    ----------
    end : pd.Timestamp
        The midnight after the last hunted day (exclusive).
    hunt_days : int
        Days hunted: ``[end - hunt_days, end)``.
    baseline_days : int
        Days learned from, just before the hunted ones.

    """

    end: pd.Timestamp
    hunt_days: int
    baseline_days: int

    @property
    def hunt_start(self) -> pd.Timestamp:
        """The first hunted day."""
        return self.end - self.hunt_days * _DAY

    @property
    def start(self) -> pd.Timestamp:
        """The first baseline day (the first day read)."""
        return self.hunt_start - self.baseline_days * _DAY

    def describe(self) -> str:
        """Say which days are baseline and which hunted, in words."""
        return (
            f"baseline {_day(self.start)} to {_day(self.hunt_start - _DAY)} "
            f"({self.baseline_days} days), hunt {_day(self.hunt_start)} to "
            f"{_day(self.end - _DAY)} ({self.hunt_days} days)"
        )


def _day(stamp: pd.Timestamp) -> str:
    return f"{stamp:%Y-%m-%d}"


def scheduled_window(end: Any, hunt_days: int, baseline_days: int) -> ScheduledWindow:
    """
    Return the scheduled hunt's days for a window ending at `end`.

    Parameters
    ----------
    end : Timestamp, datetime or str
        The window's end (naive is UTC). A time within a day makes that day
        the last hunted one; an exact midnight ends the window before it.
    hunt_days, baseline_days : int
        Days hunted, and days of baseline before them.

    Returns
    -------
    ScheduledWindow

    Examples
    --------
    >>> scheduled_window("2024-05-31 23:59:59", 1, 30).describe()
    'baseline 2024-05-01 to 2024-05-30 (30 days), hunt 2024-05-31 to 2024-05-31 (1 days)'

    """
    last = utc_naive(pd.Timestamp(end)).as_unit("ns")
    return ScheduledWindow(last.ceil("D"), int(hunt_days), int(baseline_days))


def query_start(start: Any, end: Any, hunt_days: int, baseline_days: int) -> pd.Timestamp:
    """
    Return where a query for a scheduled hunt ending at `end` starts (UTC-aware).

    The baseline's first midnight, or `start` when that is later (the
    window given is shorter than the hunt asks for; the hunt notes it).

    Examples
    --------
    >>> query_start(None, "2024-06-01", 1, 30)
    Timestamp('2024-05-01 00:00:00+0000', tz='UTC')
    >>> query_start("2024-05-20", "2024-06-01", 1, 30)
    Timestamp('2024-05-20 00:00:00+0000', tz='UTC')

    """
    first = utc(scheduled_window(end, hunt_days, baseline_days).start)
    return first if start is None else max(first, utc(pd.Timestamp(start)))


@dataclass
class WindowSplit:
    """
    A prepared table cut to a scheduled hunt's window.

    Attributes
    ----------
    table : pd.DataFrame
        The rows of days in the window.
    window : np.ndarray
        Per row, `BASELINE` or `HUNT`.
    outside : int
        Rows dropped for lying outside the window.
    notes : list of str
        Which days are which, and whether the data covers fewer baseline
        days than asked for.

    """

    table: pd.DataFrame
    window: np.ndarray
    outside: int
    notes: list[str]


def split_days(table: pd.DataFrame, window: ScheduledWindow, start: Any = None) -> WindowSplit:
    """
    Keep a prepared table's days in `window` and label each baseline or hunt.

    Parameters
    ----------
    table : pd.DataFrame
        A prepared per-account-day table (naive UTC ``Date``); not modified.
    window : ScheduledWindow
        The days.
    start : Timestamp, optional
        The start of the window given to the hunt. When it is later than
        the baseline's first day, or (without it) the data's first day is,
        a note says how many baseline days there are.

    Returns
    -------
    WindowSplit

    Examples
    --------
    >>> rows = pd.DataFrame({"Date": pd.to_datetime(["2024-05-01", "2024-05-30", "2024-05-31"])})
    >>> found = split_days(rows, scheduled_window("2024-06-01", 1, 2))
    >>> found.window.tolist(), found.outside
    (['baseline', 'hunt'], 1)

    """
    days = table["Date"]
    keep = ((days >= window.start) & (days < window.end)).to_numpy()
    outside = int((~keep).sum())
    kept = table[keep].copy(deep=False) if outside else table
    labels = np.where(kept["Date"] >= window.hunt_start, HUNT, BASELINE).astype(object)
    notes = [f"Scheduled hunt: {window.describe()}; only hunt days are reported."]
    if start is not None:
        first, why = utc_naive(pd.Timestamp(start)).normalize(), "the window given starts"
    else:
        first, why = (kept["Date"].min() if len(kept) else None), "the data starts"
    if first is not None and first > window.start:
        have = max(0, (window.hunt_start - first) // _DAY)
        notes.append(
            f"The baseline is shorter than asked for: {have} of baseline_days="
            f"{window.baseline_days} days, as {why} on {_day(first)}."
        )
    return WindowSplit(kept, labels, outside, notes)


def new_accounts(table: pd.DataFrame, window: np.ndarray) -> np.ndarray:
    """
    Tell, per row, whether it is a hunt day of an account with no baseline day.

    Examples
    --------
    >>> rows = pd.DataFrame({"DstDomain": "C", "DstUser": ["a", "a", "b"]})
    >>> new_accounts(rows, np.array([BASELINE, HUNT, HUNT], dtype=object)).tolist()
    [False, False, True]

    """
    codes = account_codes(table)
    seen = np.zeros(codes.max() + 1 if len(codes) else 0, dtype=bool)
    seen[codes[window == BASELINE]] = True
    return (window == HUNT) & ~seen[codes]

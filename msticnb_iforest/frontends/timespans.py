"""
Hunting windows as msticnb and the notebook take them: checked, UTC, in order.

`hunt_window` turns the notebook's ``start``/``end`` parameters into a
window, `utc_timespan` checks a window handed to the notebooklet. Both
leave the parsing of each end to `msticnb_iforest.params`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from msticpy.common.timespan import TimeSpan

from ..errors import ParameterError
from ..params import check_time, short_repr, window_time
from ..sources.query import DEFAULT_DAYS, default_timespan

__all__ = ["hunt_window", "utc_timespan"]


def hunt_window(
    start: Any = None, end: Any = None, days: int | None = None, *, demo: Any = None
) -> TimeSpan:
    """
    Return the window to hunt from the notebook's `start` and `end` parameters.

    Parameters
    ----------
    start, end : str or datetime, optional
        ISO dates or times (UTC unless an offset is given); a bare `end`
        date means the end of that day. A missing `start` is `days`
        (default `DEFAULT_DAYS`) days before `end`; a missing `end` is the
        end of yesterday.
    days : int, optional
        Days in the window when `start` is missing.
    demo : DemoData, optional
        With the demo, missing ends are the demo's own window.

    Returns
    -------
    TimeSpan
        UTC-aware start and end.

    Raises
    ------
    ParameterError
        If a value is not a time or `start` is not before `end`.

    """
    first = window_time(start, "start")
    last = window_time(end, "end", end=True)
    if demo is not None:
        default_start = pd.Timestamp(demo.start)
        default_end = pd.Timestamp(demo.end) - pd.Timedelta(1, "ns")
    else:
        default_start, default_end = (pd.Timestamp(t) for t in default_timespan())
    if last is None:
        last = default_end
    if first is None:
        first = (
            default_start if demo is not None else last - pd.Timedelta(days=days or DEFAULT_DAYS)
        )
    if first >= last:
        raise ParameterError(f"start ({first}) must be before end ({last}).")
    # TimeSpan holds datetimes (microseconds): an end at the day's last nanosecond is truncated
    return TimeSpan(start=first.to_pydatetime(warn=False), end=last.to_pydatetime(warn=False))


def utc_timespan(timespan: Any) -> Any:
    """
    Check a timespan's ends and make both UTC-aware.

    ``TimeSpan(start="2024-01-01")`` has a naive start and an aware end,
    which msticpy cannot subtract; naive times are taken as UTC. Both ends
    must lie in `params.EARLIEST` .. `params.LATEST` and in order.

    Raises
    ------
    ParameterError
        If an end is not a time in that range, or start is after end.

    """
    if timespan is None:
        return None
    if isinstance(timespan, tuple) and len(timespan) == 2:
        start, end = timespan
    elif isinstance(timespan, TimeSpan):
        start, end = timespan.start, timespan.end
    else:  # what msticnb accepts: an object with start and end (or period)
        try:
            span = TimeSpan(timespan=timespan)
        except (ValueError, TypeError, AttributeError):
            span = None
        if span is None or span.start is None:
            raise ParameterError(
                "timespan must be a TimeSpan, a (start, end) pair or an object with start "
                f"and end, got {short_repr(timespan)}."
            ) from None
        start, end = span.start, span.end
    first = check_time(start, "timespan start")
    last = check_time(end, "timespan end")
    if first > last:
        raise ParameterError(f"timespan start ({first}) is after its end ({last}).")
    return TimeSpan(start=first.to_pydatetime(), end=last.to_pydatetime())

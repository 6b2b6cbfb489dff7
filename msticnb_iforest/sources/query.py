"""
Query templates: load them into a msticpy provider and fetch user-days.

The templates live in ``queries/`` as msticpy query YAML. A provider that
does not know the ``AnomalousLogons`` family yet gets the file that matches
its data environment; users can also list the folder under msticpy's
``QueryDefinitions: Custom`` setting.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ParameterError, QueryError
from ..params import check_table_name
from ..schema import utc

__all__ = [
    "QUERY_DIR",
    "ROW_LIMIT",
    "default_timespan",
    "ensure_queries",
    "fetch_user_days",
    "query_file_for",
    "split_windows",
    "WINDOW_QUERIES",
]

#: Folder of the query YAML files shipped with the package.
QUERY_DIR = Path(__file__).parent / "queries"

#: The query file for each msticpy data environment. Microsoft Sentinel / Log
#: Analytics and Azure Data Explorer (Kusto) run the same KQL from one file, whose
#: metadata lists all three environments.
_FILES = {
    "MSSentinel": "anomalous_logons.yaml",
    "LogAnalytics": "anomalous_logons.yaml",
    "Kusto": "anomalous_logons.yaml",
    "LocalData": "anomalous_logons_local.yaml",
}

#: Days in the default window.
DEFAULT_DAYS = 21

#: Rows a Log Analytics (or Azure Data Explorer) query returns at most by default.
ROW_LIMIT = 500_000

_DAY = pd.Timedelta(days=1)
_NS = pd.Timedelta(1, "ns")
# msticpy logs failed chunks of a split query here instead of raising.
_SPLIT_LOGGER = "msticpy.data.core.query_provider_connections_mixin"


def default_timespan(now: datetime | None = None, days: int = DEFAULT_DAYS) -> tuple:
    """Return (start, end): the `days` full UTC days ending at the end of yesterday."""
    now = now or datetime.now(timezone.utc)
    end = datetime(now.year, now.month, now.day, tzinfo=timezone.utc)
    return end - timedelta(days=days), end


def query_file_for(environment: str) -> Path:
    """
    Return the query file for a msticpy data environment name.

    Parameters
    ----------
    environment : str
        The provider's data environment (``qry_prov.environment``):
        ``MSSentinel``, ``LogAnalytics``, ``Kusto`` or ``LocalData``.

    Returns
    -------
    Path
        The msticpy query YAML holding the ``AnomalousLogons`` queries for
        it. Sentinel and Kusto share one file.

    Raises
    ------
    QueryError
        If the package ships no queries for that environment.

    Examples
    --------
    >>> query_file_for("Kusto") == query_file_for("MSSentinel")
    True
    >>> query_file_for("LocalData").name
    'anomalous_logons_local.yaml'

    """
    name = _FILES.get(str(environment))
    if name is None or not (QUERY_DIR / name).is_file():
        raise QueryError(
            f"No AnomalousLogons queries for data environment {environment!r}; "
            f"supported: {', '.join(k for k, v in _FILES.items() if (QUERY_DIR / v).is_file())}."
        )
    return QUERY_DIR / name


def ensure_queries(qry_prov: Any, query_name: str = "user_day_summary") -> None:
    """
    Import the package's queries into `qry_prov` unless it already has `query_name`.

    Parameters
    ----------
    qry_prov : msticpy QueryProvider
        The provider; the file for its data environment is imported
        (see `query_file_for`).
    query_name : str, default="user_day_summary"
        The ``AnomalousLogons`` query that must be there afterwards.

    Raises
    ------
    QueryError
        If the package ships no queries for the provider's environment.

    Examples
    --------
    >>> from msticpy.data import QueryProvider
    >>> provider = QueryProvider("Kusto")
    >>> ensure_queries(provider)
    >>> "AnomalousLogons.user_day_summary" in provider.list_queries()
    True

    """
    family = getattr(qry_prov, "AnomalousLogons", None)
    if family is not None and hasattr(family, query_name):
        return
    qry_prov.import_query_file(str(query_file_for(qry_prov.environment)))


def _check_split(split_query_by: str | None) -> pd.Timedelta | None:
    if split_query_by is None:
        return None
    try:
        delta = pd.Timedelta(str(split_query_by).strip().replace("H", "h"))
    except ValueError as err:
        raise ParameterError(
            f"split_query_by must be a time span such as '1D', got {split_query_by!r}."
        ) from err
    if delta <= pd.Timedelta(0):
        raise ParameterError(f"split_query_by must be positive, got {split_query_by!r}.")
    return delta


def _utc(value: datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return utc(stamp)


def split_windows(
    start: datetime, end: datetime, split_query_by: str
) -> tuple[list[tuple[pd.Timestamp, pd.Timestamp]], int]:
    """
    Cut [start, end] into query chunks whose boundaries fall on UTC midnights.

    The chunk size is `split_query_by` rounded down to whole days (at least
    one day), so no UTC day is ever split between two chunks: each
    (Date, account) row comes back from exactly one chunk, complete. The
    first chunk runs from `start` to the first boundary; the rest follow
    the grid of whole-day steps from `start`'s midnight. Chunk ends are
    inclusive and one nanosecond before the next chunk's start, like the
    query's own ``<=`` end bound.

    Returns
    -------
    tuple of (list of (Timestamp, Timestamp), int)
        The chunks (UTC) and the chunk size in days.

    Raises
    ------
    ParameterError
        If `split_query_by` is not a positive time span or `end` is
        before `start`.

    """
    delta = _check_split(split_query_by)
    first, last = _utc(start), _utc(end)
    if last < first:
        raise ParameterError(f"end ({end}) is before start ({start}).")
    days = max(1, delta // _DAY)
    step = pd.Timedelta(days=days)
    # Every whole step from first's midnight that falls before last; computed
    # without stepping past last, so a window near pandas' last day cannot overflow.
    base = first.normalize()
    cuts = [base + step * k for k in range(1, (last - base) // step + 1)]
    cuts = [cut for cut in cuts if cut < last]
    bounds = [first, *cuts]
    windows = [(lo, hi - _NS) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
    windows.append((bounds[-1], last))
    return windows, int(days)


@contextlib.contextmanager
def _failed_chunks() -> Iterator[list[str]]:
    """
    Collect msticpy's log messages about split-query chunks that failed.

    msticpy logs a failed chunk (at INFO when chunks run one after another)
    and goes on without it. The logger is opened to INFO for the duration;
    a filter on it notes failures and lets through only the records the
    caller's logging setup would have passed anyway.
    """
    failures: list[str] = []
    logger = logging.getLogger(_SPLIT_LOGGER)
    before = logger.getEffectiveLevel()

    class _Catch(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            if "failed" in record.getMessage().lower():
                failures.append(record.getMessage())
            return record.levelno >= before

    catch = _Catch()
    old_level = logger.level
    logger.addFilter(catch)
    logger.setLevel(min(before, logging.INFO))
    try:
        yield failures
    finally:
        logger.removeFilter(catch)
        logger.setLevel(old_level)


def _run_query(
    query: Any, params: dict, split: str | None = None, options: dict | None = None
) -> pd.DataFrame:
    """Run the query (msticpy splits it when `split` is given) and check the result."""
    extra = {**(options or {}), **({"split_query_by": split} if split else {})}
    try:
        with _failed_chunks() as failures:
            rows = query(**params, **extra)
    except Exception as err:  # provider errors have many types; report them as one
        raise QueryError(f"The user_day_summary query failed: {err}") from err
    if failures:
        raise QueryError(
            f"{len(failures)} part(s) of the split user_day_summary query failed, so the "
            f"result would be incomplete: {failures[0]}"
        )
    if rows is None or isinstance(rows, str):
        raise QueryError("The user_day_summary query returned no table.")
    if not isinstance(rows, pd.DataFrame):
        raise QueryError(f"The user_day_summary query returned {type(rows).__name__}.")
    return rows


def _run_split(
    query: Any,
    params: dict,
    split: str,
    row_limit: int | None,
    notes: list[str],
    options: dict | None = None,
) -> pd.DataFrame:
    """Run the query in UTC-day-aligned chunks; note any chunk that hit the row limit."""
    windows, days = split_windows(params["start"], params["end"], split)
    delta = _check_split(split)
    if delta != pd.Timedelta(days=days):
        notes.append(
            f"split_query_by={split!r} was rounded to {days} day(s) so that no UTC day "
            "is split between two queries (a split day would return partial counts)."
        )
    # msticpy cuts at start + k x size: from a UTC midnight its chunks stay aligned. A
    # window that starts mid-day runs its first (partial) chunk on its own first.
    frames = []
    aligned = windows if windows[0][0] == windows[0][0].normalize() else windows[1:]
    if len(aligned) < len(windows):
        first = {**params, "start": windows[0][0], "end": windows[0][1]}
        frames.append(_run_query(query, first, None, options))
    if aligned:
        rest = {**params, "start": aligned[0][0], "end": aligned[-1][1]}
        frames.append(_run_query(query, rest, f"{days}D" if len(aligned) > 1 else None, options))
    rows = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if row_limit and len(rows):
        _note_full_chunks(rows, windows, row_limit, notes)
    return rows


def _note_full_chunks(
    rows: pd.DataFrame, windows: list[tuple[pd.Timestamp, pd.Timestamp]], limit: int, notes: list
) -> None:
    """Note chunks whose row count reached the limit (their rows may be cut off)."""
    if "Date" not in rows.columns:
        return
    from ..schema import parse_dates

    days = parse_dates(rows["Date"]).to_numpy()
    starts = np.array([lo.tz_localize(None).normalize().to_datetime64() for lo, _ in windows])
    chunk = np.clip(np.searchsorted(starts, days, side="right") - 1, 0, len(windows) - 1)
    counts = np.bincount(chunk, minlength=len(windows))
    for pos in np.flatnonzero(counts >= limit):
        lo, hi = windows[pos]
        notes.append(
            f"The query chunk {lo:%Y-%m-%d %H:%M} to {hi:%Y-%m-%d %H:%M} UTC returned "
            f"{counts[pos]:,} rows, the service's limit of {limit:,}: its result is probably "
            "cut off. A chunk cannot be smaller than one day; narrow the query with "
            "add_query_items or a shorter window."
        )


def fetch_user_days(
    qry_prov: Any,
    start: datetime,
    end: datetime,
    *,
    table: str = "SecurityEvent",
    add_query_items: str = "",
    split_query_by: str | None = None,
    row_limit: int | None = ROW_LIMIT,
    notes: list[str] | None = None,
    query_options: dict[str, Any] | None = None,
    query_name: str = "user_day_summary",
) -> tuple[pd.DataFrame, str]:
    """
    Run ``AnomalousLogons.user_day_summary`` and return rows and query text.

    Parameters
    ----------
    qry_prov : msticpy QueryProvider
        A provider for Sentinel/Log Analytics (or one with the
        package's queries for its environment).
    start, end : datetime
        Time window (naive times are UTC).
    table : str, default="SecurityEvent"
        Table to query; must be a plain table name.
    add_query_items : str, default=""
        Raw KQL inserted after the filters. Trusted input only: it is
        not escaped.
    split_query_by : str, optional
        Run the query in chunks of this many days (e.g. ``"1D"``, ``"7D"``)
        and concatenate the results. Use it when the workspace has so many
        accounts that one query would return more rows than the service's
        limit (Log Analytics and Azure Data Explorer return at most 500,000
        rows by default): the query returns about (accounts active per day)
        x (days) rows, so an organisation with more than about 24,000
        active accounts hits the limit over 21 days. Chunks are aligned to
        UTC midnight (the size is rounded down to whole days, at least one)
        so every (Date, account) row comes from exactly one chunk and is
        complete; the first chunk starts at `start`. A chunk that fails makes
        the whole fetch fail rather than return partial data.
    row_limit : int or None, default=500,000
        The service's row limit. A result (or chunk) with at least this many
        rows is probably truncated: a note says so (see `notes`). None
        turns the check off.
    notes : list of str, optional
        Remarks are appended here (truncation, chunk-size rounding). When
        not given, they are issued as warnings instead.
    query_options : dict, optional
        Extra keyword arguments for msticpy's query call, passed on to the
        driver: e.g. ``{"database": "SecurityLogs"}`` for an Azure Data
        Explorer cluster (provider ``QueryProvider("Kusto")``, which runs
        the same KQL from the same ``anomalous_logons.yaml``) or
        ``{"timeout": 600}``.
    query_name : str, default="user_day_summary"
        The ``AnomalousLogons`` query to run: the one the feature set needs
        (`FeatureSet.query_name`). ``account_day_summary`` measures novelty
        against the whole [start, end] window, also when split.

    Returns
    -------
    tuple of (pd.DataFrame, str)
        The rows and the KQL text of the (unsplit) query.

    Raises
    ------
    QueryError
        If the provider is not connected or the query (or a chunk of it)
        fails.

    """
    check_table_name(table)
    _check_split(split_query_by)
    if qry_prov is None:
        raise QueryError(
            "No query provider: initialise msticnb first (nb.init('MSSentinel')) or pass data=..."
        )
    params = {"start": start, "end": end, "table": table, "add_query_items": add_query_items}
    if query_name in WINDOW_QUERIES:
        # Novelty is measured against the whole window, also in each chunk of a split query.
        params["window_start"] = _utc(start).isoformat()
        params["window_end"] = _utc(end).isoformat()
    try:
        ensure_queries(qry_prov, query_name)
        query = getattr(qry_prov.AnomalousLogons, query_name)
        text = query("print", **params)
    except QueryError:
        raise
    except Exception as err:  # providers fail in many ways; report them as one error
        detail = f"{type(err).__name__}: {err}"
        raise QueryError(
            f"Cannot prepare the {query_name} query with this provider: {detail}"
        ) from err
    if not getattr(qry_prov, "connected", False):
        raise QueryError(
            "The query provider is not connected; connect it first "
            "(e.g. qry_prov.connect(workspace=...)) or pass data=..."
        )
    found: list[str] = []
    if split_query_by:
        rows = _run_split(query, params, str(split_query_by), row_limit, found, query_options)
    else:
        rows = _run_query(query, params, None, query_options)
        if row_limit and len(rows) >= row_limit:
            found.append(
                f"The query returned {len(rows):,} rows, the service's limit of "
                f"{row_limit:,} per query: the result is probably cut off and the hunt "
                "would miss user-days. Run again with split_query_by='1D' (one query per "
                "UTC day)."
            )
    if notes is None:
        for note in found:
            warnings.warn(note, UserWarning, stacklevel=2)
    else:
        notes.extend(found)
    return rows, str(text)


#: Queries whose history window (``window_start``, ``window_end``) is set apart
#: from the rows' window, so that split chunks still see the whole history.
WINDOW_QUERIES = frozenset({"account_day_summary"})


def __getattr__(name: str) -> Any:
    """Find the names that moved to other modules (`msticnb_iforest.moved.MOVED_NAMES`)."""
    from ..moved import moved_name

    return moved_name(__name__, name)

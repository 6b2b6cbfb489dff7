"""
Query templates: load them into a msticpy provider and fetch user-days.

The templates live in ``queries/`` as msticpy query YAML. A provider that
does not know the ``AnomalousLogons`` family yet gets the file that matches
its data environment; users can also list the folder under msticpy's
``QueryDefinitions: Custom`` setting.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import ParameterError, QueryError
from .links import check_table_name

__all__ = [
    "LOCAL_FILE_STEMS",
    "QUERY_DIR",
    "default_timespan",
    "ensure_queries",
    "fetch_local",
    "fetch_user_days",
    "query_file_for",
]

#: Folder of the query YAML files shipped with the package.
QUERY_DIR = Path(__file__).parent / "queries"

_FILES = {
    "MSSentinel": "anomalous_logons.yaml",
    "LogAnalytics": "anomalous_logons.yaml",
    "Kusto": "anomalous_logons_kusto.yaml",
    "LocalData": "anomalous_logons_local.yaml",
}

#: Days in the default window.
DEFAULT_DAYS = 21


def default_timespan(now: datetime | None = None, days: int = DEFAULT_DAYS) -> tuple:
    """Return (start, end): the `days` full UTC days ending at the end of yesterday."""
    now = now or datetime.now(timezone.utc)
    end = datetime(now.year, now.month, now.day, tzinfo=timezone.utc)
    return end - timedelta(days=days), end


def query_file_for(environment: str) -> Path:
    """
    Return the query file for a msticpy data environment name.

    Raises
    ------
    QueryError
        If the package ships no queries for that environment.

    """
    name = _FILES.get(str(environment))
    if name is None or not (QUERY_DIR / name).is_file():
        raise QueryError(
            f"No AnomalousLogons queries for data environment {environment!r}; "
            f"supported: {', '.join(k for k, v in _FILES.items() if (QUERY_DIR / v).is_file())}."
        )
    return QUERY_DIR / name


def ensure_queries(qry_prov: Any) -> None:
    """Import the package's queries into `qry_prov` unless it already has them."""
    family = getattr(qry_prov, "AnomalousLogons", None)
    if family is not None and hasattr(family, "user_day_summary"):
        return
    qry_prov.import_query_file(str(query_file_for(qry_prov.environment)))


def _check_split(split_query_by: str | None) -> str | None:
    if split_query_by is None:
        return None
    try:
        delta = pd.Timedelta(str(split_query_by).replace("H", "h"))
    except ValueError as err:
        raise ParameterError(
            f"split_query_by must be a time span such as '1D', got {split_query_by!r}."
        ) from err
    if delta <= pd.Timedelta(0):
        raise ParameterError(f"split_query_by must be positive, got {split_query_by!r}.")
    return str(split_query_by)


def fetch_user_days(
    qry_prov: Any,
    start: datetime,
    end: datetime,
    *,
    table: str = "SecurityEvent",
    add_query_items: str = "",
    split_query_by: str | None = None,
) -> tuple[pd.DataFrame, str]:
    """
    Run ``AnomalousLogons.user_day_summary`` and return rows and query text.

    Parameters
    ----------
    qry_prov : msticpy QueryProvider
        A provider for Sentinel/Log Analytics (or one with the
        package's queries for its environment).
    start, end : datetime
        Time window.
    table : str, default="SecurityEvent"
        Table to query; must be a plain table name.
    add_query_items : str, default=""
        Raw KQL inserted after the filters. Trusted input only: it is
        not escaped.
    split_query_by : str, optional
        Split the window into chunks of this size (e.g. "1D") so no single
        query exceeds the service's row limit; passed to msticpy.

    Returns
    -------
    tuple of (pd.DataFrame, str)
        The rows and the KQL text of the (unsplit) query.

    Raises
    ------
    QueryError
        If the provider is not connected or the query fails.

    """
    check_table_name(table)
    split = _check_split(split_query_by)
    ensure_queries(qry_prov)
    query = qry_prov.AnomalousLogons.user_day_summary
    params = {"start": start, "end": end, "table": table, "add_query_items": add_query_items}
    text = query("print", **params)
    if not getattr(qry_prov, "connected", False):
        raise QueryError(
            "The query provider is not connected; connect it first "
            "(e.g. qry_prov.connect(workspace=...)) or pass data=..."
        )
    try:
        rows = query(**params, split_query_by=split) if split else query(**params)
    except Exception as err:  # provider errors have many types; report them as one
        raise QueryError(f"The user_day_summary query failed: {err}") from err
    if rows is None or isinstance(rows, str):
        raise QueryError("The user_day_summary query returned no table.")
    if not isinstance(rows, pd.DataFrame):
        raise QueryError(f"The user_day_summary query returned {type(rows).__name__}.")
    return rows, str(text)


#: File names (without extension) the LocalData queries read, by query.
LOCAL_FILE_STEMS = {
    "user_day_summary": "anomalous_logons_user_days",
    "network_logon_events": "anomalous_logons_events",
}
_LOCAL_SUFFIXES = (
    ".csv",
    ".csv.gz",
    ".tsv",
    ".parquet",
    ".pq",
    ".jsonl",
    ".jsonl.gz",
    ".ndjson",
    ".json",
    ".json.gz",
    ".pkl",
)


def _local_paths(qry_prov: Any) -> list[Path]:
    driver = getattr(qry_prov, "_query_provider", None)
    return [Path(p) for p in getattr(driver, "_paths", []) or []]


def _find_local(folders: list[Path], stem: str) -> list[Path]:
    found = []
    for folder in folders:
        for suffix in _LOCAL_SUFFIXES:
            found.extend(sorted(folder.resolve().glob(f"**/{stem}{suffix}")))
            found.extend(sorted(folder.resolve().glob(f"**/{stem}_*{suffix}")))
    return sorted(set(found))


def fetch_local(
    qry_prov: Any, start: datetime, end: datetime
) -> tuple[pd.DataFrame, list[dict], dict[str, int]]:
    """
    Read the AnomalousLogons files from a LocalData provider's folders.

    Looks in the provider's data paths for ``anomalous_logons_user_days.*``
    (a saved per-user-day table) and, if there is none,
    ``anomalous_logons_events.*`` (raw SecurityEvent logon rows, which are
    summarized here); files named ``<stem>_<anything>.<ext>`` are read too,
    so exports can be split. Any format `readers.read_table` reads is
    accepted (CSV, CSV.gz, Parquet, JSON lines, JSON). Only rows in
    [start, end] are kept.

    Returns
    -------
    tuple of (pd.DataFrame, list of dict, dict)
        The per-user-day table, one info dict per file read, and the count
        of raw rows dropped by the summary's filters, by reason.

    Raises
    ------
    QueryError
        If neither file is in the folders.

    """
    from .readers import read_tables
    from .schema import parse_dates
    from .summarize import user_day_summary

    folders = _local_paths(qry_prov)
    files = _find_local(folders, LOCAL_FILE_STEMS["user_day_summary"])
    if files:
        data, info = read_tables(files)
        if "Date" not in data.columns:
            raise QueryError(f"{files[0]} has no Date column; is it a per-user-day table?")
        days = parse_dates(data["Date"])
        day0 = pd.Timestamp(start).tz_convert("UTC").tz_localize(None).normalize()
        day1 = pd.Timestamp(end).tz_convert("UTC").tz_localize(None)
        keep = ((days >= day0) & (days <= day1)).to_numpy()
        return data[keep].reset_index(drop=True), info, {"out_of_range": int((~keep).sum())}
    files = _find_local(folders, LOCAL_FILE_STEMS["network_logon_events"])
    if files:
        events, info = read_tables(files)
        table, dropped = user_day_summary(events, start=start, end=end, return_dropped=True)
        return table, info, dropped
    names = " or ".join(f"{stem}.csv" for stem in LOCAL_FILE_STEMS.values())
    where = ", ".join(str(f) for f in folders) or "no folder (set LocalData data_paths)"
    raise QueryError(f"No AnomalousLogons data found: expected {names} in {where}.")

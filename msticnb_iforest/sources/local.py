"""
Saved tables and exported events in folders: what LocalData and the notebook read.

A folder may hold per-account-day tables saved from the queries, raw
SecurityEvent logon exports, or both, in any format the readers know, under
the file names of `LOCAL_FILE_STEMS`. `read_local` picks the files the hunt
should read and returns their rows as found; `summarize.prepare` makes them
ready, so a saved table and raw events take the same way in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import QueryError
from .readers import SUPPORTED_SUFFIXES, EventFiles, read_tables, scan_tables

__all__ = ["LOCAL_FILE_STEMS", "find_local_files", "local_folders", "read_local", "scan_local"]

#: File names (without extension) the LocalData queries read, by query.
LOCAL_FILE_STEMS = {
    "user_day_summary": "anomalous_logons_user_days",
    "account_day_summary": "anomalous_logons_account_days",
    "network_logon_events": "anomalous_logons_events",
}

_EVENTS = "network_logon_events"


def local_folders(qry_prov: Any) -> list[Path]:
    """
    Return the data folders of a msticpy LocalData query provider.

    msticpy has no public accessor for them: they live on the provider's
    driver as ``_query_provider._paths`` (msticpy 2.x and 3.x). This is the
    package's one read of that private attribute;
    ``tests/sources/test_localdata.py::test_local_folders_reads_msticpy_localdata_paths``
    fails if msticpy moves it.
    """
    driver = getattr(qry_prov, "_query_provider", None)
    return [Path(p) for p in getattr(driver, "_paths", []) or []]


def find_local_files(folders: list[Path], stem: str) -> list[Path]:
    """
    Find the saved tables named `stem` under some folders.

    Matches ``<stem><ext>`` and ``<stem>_<anything><ext>`` (split exports)
    at any depth, where ``<ext>`` is one the readers understand
    (`msticnb_iforest.sources.readers.SUPPORTED_SUFFIXES`). Pickle files are
    not read: loading one can run code. An event log (``.evtx``) is only
    ever looked for as raw events.

    Parameters
    ----------
    folders : list of Path
        Folders to search recursively.
    stem : str
        File name stem, e.g. a value of :data:`LOCAL_FILE_STEMS`.

    Returns
    -------
    list of Path
        The matching files as resolved paths, each once, sorted.

    Examples
    --------
    >>> stem = LOCAL_FILE_STEMS["network_logon_events"]
    >>> find_local_files([Path("exports")], stem)  # doctest: +SKIP
    [PosixPath('/data/exports/anomalous_logons_events_dc01.evtx')]

    """
    found = []
    for folder in folders:
        for suffix in SUPPORTED_SUFFIXES:
            if suffix == ".evtx" and stem != LOCAL_FILE_STEMS[_EVENTS]:
                continue  # an event log holds events, never a per-user-day table
            found.extend(sorted(folder.resolve().glob(f"**/{stem}{suffix}")))
            found.extend(sorted(folder.resolve().glob(f"**/{stem}_*{suffix}")))
    return sorted(set(found))


def read_local(
    folders: list[Path], table: str = "user_day_summary"
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """
    Read the AnomalousLogons files a hunt for `table` should use.

    Looks in `folders`, in this order, for a saved `table`
    (``anomalous_logons_account_days.*`` for ``account_day_summary``, the
    default feature set's; ``anomalous_logons_user_days.*`` for
    ``user_day_summary``, the seed's), then raw SecurityEvent logon rows
    (``anomalous_logons_events.*``), then the other saved table (the
    feature set uses the columns it finds). Files named
    ``<stem>_<anything>.<ext>`` are read too, so exports can be split.

    Parameters
    ----------
    folders : list of Path
        Folders to search recursively (a LocalData provider's: `local_folders`).
    table : str, default="user_day_summary"
        The table the feature set needs (its ``query_name``).

    Returns
    -------
    tuple of (pd.DataFrame, list of dict)
        The rows as read (a table or raw events), and one info dict per
        file read (path, rows, format).

    Raises
    ------
    QueryError
        If no file is in the folders, or a saved table has no ``Date``.

    """
    return _local(folders, table, read_tables)


def scan_local(
    folders: list[Path], table: str = "user_day_summary"
) -> tuple[pd.DataFrame | EventFiles, list[dict[str, Any]]]:
    """
    Find the AnomalousLogons files a hunt for `table` should use; keep raw events on disk.

    The same files as `read_local`, in the same order of preference, but
    raw logon events in Parquet, CSV, TSV or ``.evtx`` files come back as
    `EventFiles` (checked, not read: the columnar engine summarizes them
    where they are, and the hunt's ``input_files`` lists them); anything
    else is read as `read_local` reads it.

    Parameters
    ----------
    folders : list of Path
        Folders to search recursively.
    table : str, default="user_day_summary"
        The table the feature set needs (its ``query_name``).

    Returns
    -------
    tuple of (pd.DataFrame or EventFiles, list of dict)
        The rows as read, or the event files; and one info dict per file
        read (path, rows, format), none for `EventFiles`.

    Raises
    ------
    QueryError
        If no file is in the folders, or a saved table has no ``Date``.

    Examples
    --------
    >>> found, files = scan_local([Path("exports")], "account_day_summary")  # doctest: +SKIP
    >>> found.formats  # doctest: +SKIP
    ('evtx', 'evtx')

    """
    return _local(folders, table, scan_tables)


def _local(folders: list[Path], table: str, read: Any) -> tuple[Any, list[dict[str, Any]]]:
    """Read (`read`: read_tables or scan_tables) the first kind of file found for `table`."""
    tables = [name for name in LOCAL_FILE_STEMS if name != _EVENTS]
    order = [table, _EVENTS] + [name for name in tables if name != table]
    for name in order:
        files = find_local_files(folders, LOCAL_FILE_STEMS[name])
        if not files:
            continue
        data, info = read(files)
        columns = data.columns if isinstance(data, pd.DataFrame) else ()
        if name != _EVENTS and "Date" not in columns:
            raise QueryError(f"{files[0]} has no Date column; is it a per-user-day table?")
        return data, info
    raise QueryError(_nothing_found(folders))


def _nothing_found(folders: list[Path]) -> str:
    names = " or ".join(f"{stem}.csv" for stem in LOCAL_FILE_STEMS.values())
    where = ", ".join(str(f) for f in folders) or "no folder (set LocalData data_paths)"
    pickles = [p for f in folders for p in sorted(f.glob("**/anomalous_logons_*.pkl"))]
    hint = ""
    if pickles:
        hint = (
            f" {pickles[0].name} is a pickle, which is not read (loading one can run code); "
            "save it as CSV or Parquet."
        )
    return f"No AnomalousLogons data found: expected {names} in {where}.{hint}"

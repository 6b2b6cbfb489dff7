"""
Look at input files before reading them: raw events stay on disk for the engine.

`scan_tables` lists the files a run was given and checks each one the way
`read_tables` does (it exists, is not empty, is within the limits), reading
only what tells its kind: a Parquet file's footer, a CSV or TSV file's
header line, a JSON file's first record; an event log (``.evtx``) always
holds raw events. When every
file holds raw logon events, the result is an `EventFiles`: the files, not
their rows, which `msticnb_iforest.summarize.columnar` then summarizes where
they are (out of core, never as one pandas frame; event logs and JSON are
decoded by this package's readers one file at a time). Anything else (saved
per-account-day tables, a Log Analytics response, a mix) is read into a
frame by `read_tables`, as before.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ...errors import InputDataError
from ...schema import RAW_REQUIRED_COLUMNS, clean_name
from .delimited import check_delimited
from .dispatch import (
    _READ_ERRORS,
    _checked_size,
    _list_files,
    _read_file,
    _suffix,
    read_tables,
)
from .limits import MAX_BYTES, MAX_COLUMNS, MAX_DEPTH, MAX_ROWS, _check_shape, _first_line, _Limits

__all__ = ["ENGINE_FORMATS", "EventFiles", "scan_tables"]

#: The formats summarized from the files themselves (a supported suffix without the dot).
ENGINE_FORMATS = (
    "parquet",
    "pq",
    "csv",
    "tsv",
    "csv.gz",
    "tsv.gz",
    "evtx",
    "json",
    "jsonl",
    "ndjson",
    "json.gz",
    "jsonl.gz",
    "ndjson.gz",
)

#: Formats whose rows are decoded by this package's own readers, one file at a
#: time, before the engine reads them (`EventFiles.read_rows`).
DECODED_FORMATS = ("evtx", "json", "jsonl", "ndjson")

# How much of a JSON file is read to find its first record's keys.
_JSON_PEEK = 1 << 20


@dataclass(frozen=True)
class EventFiles:
    """
    Files of raw logon events, checked but not read: summarized where they are.

    Attributes
    ----------
    paths : tuple of Path
        The files, in the order given (a folder's files sorted by name).
    formats : tuple of str
        Each file's format: ``parquet``, ``csv``, ``tsv``, ``json``,
        ``jsonl``, ``ndjson`` (``.gz`` when compressed) or ``evtx``.
    limits : _Limits
        The per-file limits the read applies (``max_rows`` is checked again
        once a file's rows are counted).

    """

    paths: tuple[Path, ...]
    formats: tuple[str, ...]
    limits: _Limits = _Limits()

    def __len__(self) -> int:
        return len(self.paths)

    def read_rows(self, path: Path, kind: str) -> tuple[pd.DataFrame, str]:
        """
        Read one event log or JSON file's rows, within the limits; return them and the layout.

        Used for the formats of :data:`DECODED_FORMATS`, one file at a
        time. What an event log held besides logons, and any damaged part
        skipped, is added to the run's notes (`schema.add_input_note`).
        """
        return _read_file(path, self.limits)


def scan_tables(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    max_bytes: int = MAX_BYTES,
    max_rows: int = MAX_ROWS,
    max_columns: int = MAX_COLUMNS,
    max_depth: int = MAX_DEPTH,
) -> tuple[pd.DataFrame | EventFiles, list[dict[str, Any]]]:
    """
    Check input files; keep raw events on disk, read anything else.

    Parameters
    ----------
    paths : str, os.PathLike or iterable of them
        Files and/or folders (a folder stands for its supported files, in
        sorted order).
    max_bytes, max_rows, max_columns, max_depth : int, optional
        Limits per file, as in `read_tables`.

    Returns
    -------
    tuple of (pd.DataFrame or EventFiles, list of dict)
        `EventFiles` when every file holds raw logon events in a format the
        engine reads (:data:`ENGINE_FORMATS`); the list is then empty, since
        rows are counted as the files are summarized. Otherwise the rows
        `read_tables` returns, and its per-file entries (path, rows, format).

    Raises
    ------
    InputDataError
        If a file is missing, empty, over a limit, not in the format its
        name says, or the files are of different kinds.
    ParameterError
        If `paths` holds something that is not a path, or a limit is not a
        positive whole number.

    Examples
    --------
    >>> source, files = scan_tables(["exports/", "Security.evtx"])  # doctest: +SKIP
    >>> source.formats  # doctest: +SKIP
    ('parquet', 'csv.gz', 'evtx')

    """
    limits = dict(
        max_bytes=max_bytes, max_rows=max_rows, max_columns=max_columns, max_depth=max_depth
    )
    checked = _Limits.checked(**limits)
    files = _list_files(paths)
    formats = [(_suffix(path) or "").lstrip(".") for path in files]
    if not all(kind in ENGINE_FORMATS for kind in formats):
        return read_tables(files, **limits)
    pairs = zip(files, formats, strict=True)
    if not all([_holds_raw_events(path, kind, checked) for path, kind in pairs]):
        return read_tables(files, **limits)  # tables, or JSON whose layout needs a full read
    formats = ["parquet" if kind == "pq" else kind for kind in formats]
    return EventFiles(tuple(files), tuple(formats), checked), []


def _holds_raw_events(path: Path, kind: str, limits: _Limits) -> bool:
    """
    Check one file against the limits and tell whether its columns are raw events.

    Reads a Parquet file's footer or a CSV/TSV file's first line; a file
    that cannot be read that far raises `InputDataError` naming it.
    """
    size = _checked_size(path)
    if kind == "evtx":
        return True
    try:
        if kind.removesuffix(".gz") in DECODED_FORMATS:  # JSON: its limits apply as it is read
            names = _json_keys(path)
            if names is None:
                return False
        elif kind in ("parquet", "pq"):
            schema = pq.read_schema(path)
            _check_shape(path, pq.read_metadata(path).num_rows, len(schema.names), limits)
            names = schema.names
        else:
            base = kind.removesuffix(".gz")
            names = check_delimited(path, base, kind.endswith(".gz"), size, limits)
    except InputDataError:
        raise
    except (pa.ArrowException, *_READ_ERRORS) as exc:
        raise InputDataError(f"{path}: cannot read as {kind}: {_first_line(exc)}") from exc
    return set(RAW_REQUIRED_COLUMNS) <= {clean_name(name) for name in names}


def _json_keys(path: Path) -> list[str] | None:
    """
    Return the keys of a JSON file's first record, from its first MiB; None if not found there.

    JSON lines and arrays of row objects give their first object's keys; a
    Log Analytics response (or anything else) gives None, and the file is
    then read whole, by `read_tables`.
    """
    with pa.input_stream(str(path), compression="detect") as stream:
        head = stream.read(_JSON_PEEK).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    start = 1 if head.startswith("[") else 0
    while start < len(head) and head[start] in " \t\r\n":
        start += 1
    try:
        first, _ = json.JSONDecoder().raw_decode(head, start)
    except (json.JSONDecodeError, RecursionError):  # read whole, limits first, by read_tables
        return None
    if not isinstance(first, dict) or "tables" in first:
        return None
    return [str(key) for key in first]

"""
Read files and folders as one table: the reader of each file is chosen here.

`read_table` and `read_tables` check the paths they are given and list
folders; each file is read by the reader its name's ending selects
(`SUPPORTED_SUFFIXES`, `_READERS`; ``.evtx`` by
`msticnb_iforest.sources.readers.evtx`), every failure becomes an
`InputDataError` naming the file, and the tables are stacked unless they are
of different kinds. Several event logs and nothing else are read onto one
stack of rows, which becomes one frame (`_read_event_logs`).
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from ...errors import InputDataError, ParameterError
from ...schema import add_input_note, is_raw_events, is_summary_table
from . import delimited, jsonfiles, parquet
from .columns import _to_frame
from .evtx import _EventLogs
from .limits import MAX_BYTES, MAX_COLUMNS, MAX_DEPTH, MAX_ROWS, _check_shape, _first_line, _Limits

__all__ = ["SUPPORTED_SUFFIXES", "read_table", "read_tables"]


#: File name endings :func:`read_table` understands.
SUPPORTED_SUFFIXES = (
    ".csv",
    ".tsv",
    ".parquet",
    ".pq",
    ".json",
    ".jsonl",
    ".ndjson",
    ".csv.gz",
    ".tsv.gz",
    ".json.gz",
    ".jsonl.gz",
    ".ndjson.gz",
    ".evtx",
)

#: The reader of each format (a supported suffix without ``.gz``). Called as
#: ``reader(path, kind, compressed, size, limits)``, it checks the file against
#: the limits and returns an Arrow table and the name of its layout.
_READERS = {
    "csv": delimited.read,
    "tsv": delimited.read,
    "parquet": parquet.read,
    "pq": parquet.read,
    "json": jsonfiles.read,
    "jsonl": jsonfiles.read,
    "ndjson": jsonfiles.read,
}

_READ_ERRORS = (
    pa.ArrowException,
    OSError,
    EOFError,
    ValueError,
    UnicodeDecodeError,
    zlib.error,
    RecursionError,
    TypeError,
    KeyError,
    IndexError,
)


def read_table(
    path: str | os.PathLike,
    *,
    max_bytes: int = MAX_BYTES,
    max_rows: int = MAX_ROWS,
    max_columns: int = MAX_COLUMNS,
    max_depth: int = MAX_DEPTH,
) -> pd.DataFrame:
    """
    Read one exported table (or every supported file in a directory).

    Parameters
    ----------
    path : str or os.PathLike
        A file with a supported extension (:data:`SUPPORTED_SUFFIXES`), or
        a directory whose supported files are read in sorted order and
        concatenated.
    max_bytes, max_rows, max_columns, max_depth : int, optional
        Limits per file: text after decompression (CSV, TSV, JSON), rows,
        columns and JSON nesting depth. Defaults: :data:`MAX_BYTES`,
        :data:`MAX_ROWS`, :data:`MAX_COLUMNS`, :data:`MAX_DEPTH`.

    Returns
    -------
    pd.DataFrame
        The rows with a fresh RangeIndex (see `msticnb_iforest.sources.readers`
        for the column types).

    Raises
    ------
    InputDataError
        If the path is missing, has an unsupported extension, or the file
        is empty, truncated, not in the format its extension says, over a
        limit or too big for memory.
    ParameterError
        If `path` is not a path (or is empty), or a limit is not a
        positive whole number.

    Examples
    --------
    >>> from msticnb_iforest.sources.readers import read_table
    >>> days = read_table("user_days.csv.gz")  # doctest: +SKIP
    >>> days.dtypes[["DstUser", "SuccessfulLogons"]]  # doctest: +SKIP
    DstUser             object
    SuccessfulLogons     int64
    dtype: object

    """
    limits = dict(
        max_bytes=max_bytes, max_rows=max_rows, max_columns=max_columns, max_depth=max_depth
    )
    file_path = _input_paths(path)[0]
    if _is_dir(file_path):
        return read_tables([file_path], **limits)[0]
    return _read_file(file_path, _Limits.checked(**limits))[0]


def read_tables(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    max_bytes: int = MAX_BYTES,
    max_rows: int = MAX_ROWS,
    max_columns: int = MAX_COLUMNS,
    max_depth: int = MAX_DEPTH,
) -> tuple[pd.DataFrame, list[dict]]:
    """
    Read several exported tables and stack them.

    Parameters
    ----------
    paths : str, os.PathLike or iterable of them
        Files and/or directories (a directory contributes its supported
        files in sorted order).
    max_bytes, max_rows, max_columns, max_depth : int, optional
        Limits per file, as in :func:`read_table`.

    Returns
    -------
    tuple[pd.DataFrame, list[dict]]
        All rows in file order with a fresh RangeIndex (columns missing
        from a file are empty for its rows), and one ``{"path": str,
        "rows": int, "format": str}`` entry per file read.

    Raises
    ------
    InputDataError
        If no file is given, a folder cannot be listed, any file cannot be
        read (see :func:`read_table`), or the files are of different kinds
        (raw events, per-user-day summaries, other tables).
    ParameterError
        If `paths` holds something that is not a path (``None``, bytes, a
        number...) or an empty path, or a limit is not a positive whole
        number.

    Examples
    --------
    >>> from msticnb_iforest.sources.readers import read_tables
    >>> events, files = read_tables(["exports/", "Security.evtx"])  # doctest: +SKIP
    >>> [(f["format"], f["rows"]) for f in files]  # doctest: +SKIP
    [('csv.gz', 1200), ('jsonl', 800), ('evtx', 6)]

    """
    limits = _Limits.checked(
        max_bytes=max_bytes, max_rows=max_rows, max_columns=max_columns, max_depth=max_depth
    )
    files = _list_files(paths)
    if len(files) > 1 and all(_suffix(path) == ".evtx" for path in files):
        return _read_event_logs(files, limits)
    frames, info = [], []
    for file_path in files:
        frame, layout = _read_file(file_path, limits)
        frames.append(frame)
        info.append({"path": str(file_path), "rows": len(frame), "format": layout})
    if len(frames) == 1:
        return frames[0], info
    # A file with neither rows nor columns (an empty JSON array: a query that
    # found nothing) stacks with anything.
    kept = [(f, p) for f, p in zip(frames, files, strict=True) if f.shape != (0, 0)]
    if kept:
        _check_stackable([f for f, _ in kept], [p for _, p in kept])
    return pd.concat(frames, ignore_index=True, sort=False), info


def _list_files(paths: Any) -> list[Path]:
    """Return the files `paths` stands for: files as given, a folder's supported files sorted."""
    files: list[Path] = []
    for item_path in _input_paths(paths):
        if _is_dir(item_path):
            try:
                children = list(item_path.iterdir())
            except OSError as exc:
                raise InputDataError(
                    f"{item_path}: cannot list the folder ({exc.strerror or exc})."
                ) from exc
            found = sorted(
                child for child in children if _suffix(child) is not None and child.is_file()
            )
            if not found:
                raise InputDataError(f"{item_path}: directory has no supported data files.")
            files.extend(found)
        else:
            files.append(item_path)
    if not files:
        raise InputDataError("No input files given.")
    return files


def _input_paths(paths: Any) -> list[Path]:
    """Return `paths` (one path or an iterable of them) as Paths; refuse non-paths."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    elif isinstance(paths, (bytes, bytearray, Mapping)) or not isinstance(paths, Iterable):
        raise ParameterError(
            "Input paths must be a file or folder path (str or pathlib.Path) or a list "
            f"of them, got {_shown(paths)}."
        )
    result = []
    for item in paths:
        text = os.fspath(item) if isinstance(item, os.PathLike) else item
        if not isinstance(text, str):
            raise ParameterError(
                f"Input paths must be str or pathlib.Path, got {_shown(item)}"
                + (" (decode bytes first)." if isinstance(text, (bytes, bytearray)) else ".")
            )
        if not text.strip():
            raise ParameterError(f"An input path is empty ({text!r}); give a file or folder.")
        if "\x00" in text:
            raise ParameterError(f"An input path contains a NUL character: {text!r}.")
        result.append(Path(text))
    return result


def _is_dir(path: Path) -> bool:
    """Tell whether `path` is a directory; a path that cannot be examined is an error."""
    try:
        return path.is_dir()
    except OSError as exc:
        raise InputDataError(f"{path}: cannot open ({exc.strerror or exc}).") from exc


def _shown(value: object) -> str:
    """Name a value's type and show the start of its repr."""
    text = repr(value)
    return f"{type(value).__name__} {text[:60] + ('...' if len(text) > 60 else '')}"


def _table_kind(frame: pd.DataFrame) -> str:
    """Name the kind of logon table `frame` is, by its columns."""
    if is_summary_table(frame):
        return "a per-user-day summary"
    if is_raw_events(frame):
        return "raw logon events"
    return "neither a per-user-day summary nor raw logon events"


def _check_stackable(frames: list[pd.DataFrame], files: list[Path]) -> None:
    """
    Refuse to stack files of different kinds (summary, raw events, other).

    Stacking them would leave the columns of one kind empty in the rows of
    the other, and fail later with a message about empty values that names
    no file. The message names each file that differs from the most common
    kind, with its first columns.
    """
    kinds = [_table_kind(frame) for frame in frames]
    if len(set(kinds)) == 1:
        return
    common = max(dict.fromkeys(kinds), key=kinds.count)
    odd = []
    for path, kind, frame in zip(files, kinds, frames, strict=True):
        if kind != common:
            names = [str(name) for name in frame.columns]
            shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
            odd.append(f"{path} is {kind} (columns: {shown})")
    raise InputDataError(
        "Cannot stack files whose columns differ: "
        + "; ".join(odd)
        + f"; the other {kinds.count(common)} file(s) are {common}. "
        "Give files of one kind (move the others out of the folder)."
    )


# --------------------------------------------------------------------------
# One file
# --------------------------------------------------------------------------
def _suffix(path: Path) -> str | None:
    """Return the supported suffix `path` ends with, or None."""
    name = path.name.lower()
    matches = [suffix for suffix in SUPPORTED_SUFFIXES if name.endswith(suffix)]
    return max(matches, key=len) if matches else None


def _read_event_logs(files: list[Path], limits: _Limits) -> tuple[pd.DataFrame, list[dict]]:
    """
    Read several Windows event logs and stack their rows.

    Each log is read and checked as `_read_file` reads it, but onto one
    stack of rows (`_EventLogs`) that becomes one frame: the frame stacking
    each log's frame would give, without a frame per log.
    """
    logs, info = _EventLogs(), []
    for path in files:
        _checked_size(path)
        rows = _read_evtx(path, limits, logs)
        info.append({"path": str(path), "rows": rows, "format": "evtx"})
    return logs.frame(), info


def _read_evtx(path: Path, limits: _Limits, logs: _EventLogs) -> int:
    """
    Read a Windows event log's logon records (see `msticnb_iforest.sources.readers.evtx`).

    What the log held besides logon events, and any damaged part skipped,
    becomes a note of the run: never silent, never an error while some
    records could be read. The rows are added to `logs`; returns their count.
    """
    info = logs.read(path, max_records=limits.max_rows)
    if info["stopped_at_max_records"]:
        raise InputDataError(
            f"{path}: more than {limits.max_rows:,} event records (the max_rows limit); "
            "raise max_rows (--max-rows) to read it."
        )
    for problem in info["problems"]:
        add_input_note(problem)
    other = info["dropped_event_ids"]
    if other:
        kinds = ", ".join(f"{n:,} × {event_id}" for event_id, n in other.items())
        add_input_note(
            f"{path}: {sum(other.values()):,} record(s) that are not logon events "
            f"(4624/4625) were not read ({kinds})."
        )
    return info["rows"]


def _checked_size(path: Path) -> int:
    """Return the size of a supported, non-empty regular file; refuse anything else by name."""
    if _suffix(path) is None:
        raise InputDataError(
            f"{path}: unsupported file type; expected one of " + ", ".join(SUPPORTED_SUFFIXES)
        )
    try:
        if not path.exists():
            raise InputDataError(f"{path}: file not found.")
        if not path.is_file():
            raise InputDataError(f"{path}: not a regular file.")
        size = path.stat().st_size
    except OSError as exc:
        raise InputDataError(f"{path}: cannot open ({exc.strerror or exc}).") from exc
    if size == 0:
        raise InputDataError(f"{path}: file is empty.")
    return size


def _read_file(path: Path, limits: _Limits) -> tuple[pd.DataFrame, str]:
    """Read one file; return the frame and the layout name."""
    suffix = _suffix(path)
    size = _checked_size(path)
    if suffix == ".evtx":
        logs = _EventLogs()
        _read_evtx(path, limits, logs)
        return logs.frame(), "evtx"
    compressed = suffix.endswith(".gz")
    kind = suffix.removesuffix(".gz").lstrip(".")
    try:
        table, layout = _READERS[kind](path, kind, compressed, size, limits)
        if table.num_columns == 0 and table.num_rows:
            raise InputDataError(f"{path}: file has no columns.")
        _check_shape(path, table.num_rows, table.num_columns, limits)
        frame = _to_frame(table)
    except InputDataError:
        raise
    except MemoryError as exc:  # also pyarrow's ArrowMemoryError
        raise InputDataError(
            f"{path}: not enough memory to read it ({size:,} bytes on disk); read it on a "
            "machine with more memory, or split it into smaller files."
        ) from exc
    except json.JSONDecodeError as exc:
        raise InputDataError(
            f"{path}: invalid or truncated JSON ({exc.msg} at line {exc.lineno} "
            f"column {exc.colno})."
        ) from exc
    except _READ_ERRORS as exc:
        raise InputDataError(f"{path}: cannot read as {kind}: {_first_line(exc)}") from exc
    return frame, layout + (".gz" if compressed else "")

"""
Read exported logon tables from CSV, TSV, Parquet and JSON files.

Supported file types (by extension, case-insensitive): ``.csv``, ``.tsv``,
``.parquet`` / ``.pq``, ``.json``, ``.jsonl`` and ``.ndjson``; the text
formats may be gzip-compressed (``.csv.gz``, ``.jsonl.gz``...). A JSON file
may hold JSON lines, a JSON array of objects (portal exports) or the Log
Analytics REST response shape ``{"tables": [{"columns": [...], "rows":
[...]}]}``; the layout is detected from the content, not the extension.

Values are read the way KQL sees them:

* account, host, domain, address and status columns (see
  :func:`is_text_column`) are always text, so ``"0x0"`` or an account named
  ``"00123"`` is never turned into a number; missing text is ``""``;
* other columns become int64/float64 when every non-empty value is a
  number, else stay text; ``null``, ``NaN``, ``None``, ``NA``, ``N/A`` and
  ``<NA>`` (any case) are missing numbers, like an empty cell or JSON
  ``null``;
* ``TimeGenerated`` columns become UTC datetimes when every value is
  ISO 8601, else stay text (the summarizer parses other forms).

Text columns are plain object columns of ``str`` in which every distinct
value is one shared object (text is dictionary-encoded while reading), which
keeps large files compact and lets the summarizer factorize them quickly.
Every read problem (missing path, empty, truncated or mislabelled file)
raises :class:`InputDataError` with a one-line message naming the file.

Limits
------
Hostile files (decompression bombs, deeply nested JSON, tables of absurd
width) are refused before they are handed to a parser, with an
:class:`InputDataError` naming the file, the limit and how to raise it.
Each limit is a module constant and a parameter of :func:`read_table` and
:func:`read_tables`:

* :data:`MAX_BYTES` (4 GiB): text per CSV, TSV or JSON file, after
  decompression. A gzipped file is decompressed once (into nothing) to
  check it, and the check stops at the limit, so a bomb never fills
  memory. Parquet is not limited by size: its row and column counts are
  read from its footer before any data is.
* :data:`MAX_ROWS` (one billion) and :data:`MAX_COLUMNS` (10,000) per
  file.
* :data:`MAX_DEPTH` (64): nesting of JSON arrays and objects (a record is
  depth 1, a Log Analytics response about 5). Checked by a linear scan
  before any JSON parser runs; the scan also rejects JSON whose brackets
  do not balance or whose string runs over a line end.

A file that still does not fit in memory raises :class:`InputDataError`
too, never a bare ``MemoryError``.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from ..errors import InputDataError, ParameterError
from ..schema import COUNT_COLUMNS, EXPORT_SUFFIX, MISSING_WORDS

__all__ = [
    "MAX_BYTES",
    "MAX_COLUMNS",
    "MAX_DEPTH",
    "MAX_ROWS",
    "SUPPORTED_SUFFIXES",
    "is_text_column",
    "parse_size",
    "read_table",
    "read_tables",
]

#: Most bytes of text read from one CSV, TSV or JSON file, after decompression.
MAX_BYTES = 4 * 2**30
#: Most rows read from one file.
MAX_ROWS = 1_000_000_000
#: Most columns read from one file.
MAX_COLUMNS = 10_000
#: Deepest nesting of JSON arrays and objects accepted.
MAX_DEPTH = 64

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

_TEXT_NAMES = {
    "Account",
    "Activity",
    "Computer",
    "Date",
    "DstDomain",
    "DstUser",
    "IpAddress",
    "LogonTypeName",
    "SourceSystem",
    "Status",
    "SubStatus",
    "TargetLogonId",
    "SubjectLogonId",
}
# Count columns of the summary are numbers even when their names look textual.
_NUMBER_NAMES = {*COUNT_COLUMNS, "ActiveMilliseconds", "EventID", "LogonType"}
_TEXT_SUFFIXES = ("Name", "Domain", "User", "Sid", "Address", "Account", "Computer", "Host", "Guid")
_TIME_NAME = re.compile(r"TimeGenerated(\s*\[UTC\])?$")
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


def is_text_column(name: object) -> bool:
    """
    Tell whether a column always holds text, whatever its values look like.

    True for account, host, domain, address, status and logon-type-name
    columns of ``SecurityEvent`` and of the per-user-day summary.
    """
    clean = EXPORT_SUFFIX.sub("", str(name).replace("\ufeff", "").strip())
    if clean in _NUMBER_NAMES:
        return False
    return clean in _TEXT_NAMES or clean.endswith(_TEXT_SUFFIXES)


@dataclass(frozen=True)
class _Limits:
    """The limits one read applies to each file (see the module docstring)."""

    max_bytes: int = MAX_BYTES
    max_rows: int = MAX_ROWS
    max_columns: int = MAX_COLUMNS
    max_depth: int = MAX_DEPTH

    @classmethod
    def checked(cls, **limits: Any) -> _Limits:
        """Return the limits, refusing any that is not a positive whole number."""
        for name, value in limits.items():
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ParameterError(f"{name} must be a whole number of 1 or more, got {value!r}.")
        return cls(**{name: int(value) for name, value in limits.items()})


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
        The rows with a fresh RangeIndex (see the module docstring for the
        column types).

    Raises
    ------
    InputDataError
        If the path is missing, has an unsupported extension, or the file
        is empty, truncated, not in the format its extension says, over a
        limit or too big for memory.
    ParameterError
        If `path` is not a path (or is empty), or a limit is not a
        positive whole number.

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

    """
    limits = _Limits.checked(
        max_bytes=max_bytes, max_rows=max_rows, max_columns=max_columns, max_depth=max_depth
    )
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
    from ..schema import is_summary_table
    from ..summarize.user_days import is_raw_events

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


def _read_evtx(path: Path, limits: _Limits) -> pd.DataFrame:
    """
    Read a Windows event log's logon records (see `msticnb_iforest.sources.evtx`).

    What the log held besides logon events, and any damaged part skipped,
    becomes a note of the run: never silent, never an error while some
    records could be read.
    """
    from ..schema import add_input_note
    from .evtx import read_evtx

    frame, info = read_evtx(path, max_records=limits.max_rows)
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
    return frame


def _read_file(path: Path, limits: _Limits) -> tuple[pd.DataFrame, str]:
    """Read one file; return the frame and the layout name."""
    suffix = _suffix(path)
    if suffix is None:
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
    if suffix == ".evtx":
        return _read_evtx(path, limits), "evtx"
    compressed = suffix.endswith(".gz")
    kind = suffix.removesuffix(".gz").lstrip(".")
    try:
        if kind in ("csv", "tsv"):
            _check_text(path, compressed, size, limits, json_text=False)
            table, layout = _read_delimited(path, "\t" if kind == "tsv" else ",", limits), kind
        elif kind in ("parquet", "pq"):
            table, layout = _read_parquet(path, limits), "parquet"
        else:
            _check_text(path, compressed, size, limits, json_text=True)
            table, layout = _read_json(path, compressed)
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


def _check_shape(path: Path, rows: int, columns: int, limits: _Limits) -> None:
    """Refuse a table over the row or column limit."""
    if rows > limits.max_rows:
        raise InputDataError(
            f"{path}: {rows:,} rows, more than the limit of {limits.max_rows:,} per file; "
            "raise max_rows (command line: --max-rows) to read it."
        )
    if columns > limits.max_columns:
        raise InputDataError(
            f"{path}: {columns:,} columns, more than the limit of {limits.max_columns:,} per "
            "file; raise max_columns of read_table(s) to read it."
        )


def parse_size(text: str) -> int:
    """
    Read a size such as ``"4G"``, ``"500M"`` or ``"1048576"`` as bytes.

    Suffixes ``K``, ``M``, ``G`` and ``T`` (optionally followed by ``B`` or
    ``iB``, any case) are powers of 1024.

    Raises
    ------
    ParameterError
        If `text` is not a positive size.

    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", str(text), re.IGNORECASE)
    value = float(match[1]) * 1024 ** " kmgt".index(match[2].lower() or " ") if match else 0
    if value < 1:
        raise ParameterError(f"A size must be a number of bytes such as 4G or 500M, got {text!r}.")
    return int(value)


def _size_text(size: int) -> str:
    """Show a byte count in binary units (``4 GiB``)."""
    for unit, power in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 2**power:
            amount = size / 2**power
            return f"{amount:.0f} {unit}" if amount == int(amount) else f"{amount:.1f} {unit}"
    return f"{size:,} bytes"


# Text is checked and parsed in blocks of this many bytes.
_BLOCK = 16 << 20


def _check_text(path: Path, compressed: bool, size: int, limits: _Limits, json_text: bool) -> None:
    """
    Refuse a text file over the size limit, or JSON nested too deeply.

    An uncompressed file is measured on disk. A compressed one is
    decompressed block by block into nothing, stopping as soon as the
    limit is passed, so a decompression bomb costs time but no memory.
    JSON is scanned for its nesting depth on the way (see `_JsonNesting`).
    """
    over = (
        f"{path}: more than {_size_text(limits.max_bytes)} of text"
        + (" after decompression" if compressed else "")
        + ", the limit per file; raise max_bytes (command line: --max-bytes) to read it."
    )
    if not compressed:
        if size > limits.max_bytes:
            raise InputDataError(over)
        if not json_text:
            return
    nesting = _JsonNesting(path, limits.max_depth) if json_text else None
    total = 0
    with pa.input_stream(str(path), compression="detect") as stream:
        while block := stream.read(_BLOCK):
            total += len(block)
            if total > limits.max_bytes:
                raise InputDataError(over)
            if nesting is not None:
                nesting.feed(block)


# The bytes that matter to JSON nesting, coded as int8 by one translate that
# also drops every other byte: +1 opens, -1 closes, 2 quote, 3 line break.
_OPEN, _CLOSE, _QUOTE, _NEWLINE = 1, -1, 2, 3
_NEST_CODES = bytearray(range(256))
_NEST_CODES[ord("[")] = _NEST_CODES[ord("{")] = _OPEN
_NEST_CODES[ord("]")] = _NEST_CODES[ord("}")] = _CLOSE & 0xFF
_NEST_CODES[ord('"')] = _QUOTE
_NEST_CODES[ord("\n")] = _NEWLINE
_NEST_CODES = bytes(_NEST_CODES)
_NEST_DROP = bytes(byte for byte in range(256) if chr(byte) not in '"[]{}\n')


class _JsonNesting:
    """
    Measure the nesting depth of JSON text fed in blocks, without parsing it.

    Brackets count only outside strings; a quote ends a string unless an
    odd run of backslashes precedes it. The scan is exact on valid JSON
    (and JSON lines), so no parser that stops at its first error can nest
    deeper than the scan saw. Valid JSON never closes more than it opened,
    nor has a raw line break inside a string: both are refused here too,
    since either would let the scan and a line-by-line parser disagree.
    It runs at C speed on the bytes (one translate) and in numpy on the few
    structural ones left.
    """

    def __init__(self, path: Path, limit: int):
        self.path = path
        self.limit = limit
        self.depth = 0
        self.in_string = False
        self.odd_backslashes = False  # the previous block ended in an odd run of them
        self.line = 1

    def feed(self, block: bytes) -> None:
        """Scan the next block; raise InputDataError at the first problem."""
        if not block:
            return
        marks = _unescaped(block, self.odd_backslashes).translate(_NEST_CODES, _NEST_DROP)
        self.odd_backslashes = _ends_in_odd_backslashes(block, self.odd_backslashes)
        codes = np.frombuffer(marks, dtype=np.int8)
        if not len(codes):
            return
        newline = codes == _NEWLINE
        # True inside a string (an opening quote counts as inside, a closing
        # one as outside): the parity of the quotes so far.
        inside = np.bitwise_xor.accumulate(codes == _QUOTE)
        if self.in_string:
            inside = ~inside
        # int32 holds any depth within one block (at most 16 Mi brackets).
        depth = np.cumsum(np.where(inside | (codes > 1), np.int8(0), codes), dtype=np.int32)
        depth += self.depth
        broken = newline & inside
        if broken.any() or depth.min() < 0 or depth.max() > self.limit:
            problems = [
                (broken, "invalid JSON: a string runs over the end of line {}."),
                (depth < 0, "invalid JSON: more closing than opening brackets on line {}."),
                (
                    depth > self.limit,
                    f"JSON nested deeper than {self.limit} levels (line {{}}), the limit; "
                    "raise max_depth of read_table(s) to read it.",
                ),
            ]
            pos, text = min((int(np.argmax(m)), text) for m, text in problems if m.any())
            line = self.line + int(np.count_nonzero(newline[:pos]))
            raise InputDataError(f"{self.path}: " + text.format(line))
        self.depth = int(depth[-1])
        self.in_string = bool(inside[-1])
        self.line += int(np.count_nonzero(newline))


def _unescaped(block: bytes, odd_before: bool) -> bytes | bytearray:
    """
    Return `block` with every escaped quote replaced by another byte.

    A quote is escaped when an odd run of backslashes precedes it (the run
    may start in the previous block: `odd_before`). The block is returned as
    it is when no quote follows a backslash.
    """
    if block.find(b"\\") < 0 and not (odd_before and block[:1] == b'"'):
        return block  # no backslash at all (a one-byte search, the fastest kind)
    data = np.frombuffer(block, dtype=np.uint8)
    quote, slash = ord('"'), ord("\\")
    candidates = np.flatnonzero((data[1:] == quote) & (data[:-1] == slash)) + 1
    if odd_before and data[0] == quote:
        candidates = np.concatenate([[0], candidates])
    if not len(candidates):
        return block
    # Length of the backslash run before each candidate, one step back at a
    # time while any run goes on (runs are short in real data).
    run = np.zeros(len(candidates), dtype=np.int64)
    going = np.ones(len(candidates), dtype=bool)
    for _ in range(16):
        back = candidates - run - 1
        going &= back >= 0
        going[going] = data[back[going]] == slash
        if not going.any():
            break
        run += going
    else:
        return _unescaped_long_runs(block, data, odd_before)
    odd = (run + ((run == candidates) & odd_before)) % 2 == 1
    copy = bytearray(block)
    np.frombuffer(copy, dtype=np.uint8)[candidates[odd]] = ord("a")
    return copy


def _unescaped_long_runs(block: bytes, data: np.ndarray, odd_before: bool) -> bytearray:
    """`_unescaped` for blocks with long backslash runs: every run measured at once."""
    # Backslashes with one before position 0 for an odd run carried from the
    # previous block, framed by False so that every run has two edges.
    slash = np.concatenate([[False, odd_before], data == ord("\\"), [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(slash))
    starts, ends = edges[0::2], edges[1::2]
    after = ends[(ends - starts) % 2 == 1] - 1  # the byte after each odd run
    after = after[after < len(data)]
    copy = bytearray(block)
    np.frombuffer(copy, dtype=np.uint8)[after[data[after] == ord('"')]] = ord("a")
    return copy


def _ends_in_odd_backslashes(block: bytes, odd_before: bool) -> bool:
    """Tell whether `block` ends in an odd run of backslashes (counting the carried one)."""
    if not block.endswith(b"\\"):
        return False
    data = np.frombuffer(block, dtype=np.uint8)
    others = np.flatnonzero(data != ord("\\"))
    if not len(others):  # the whole block continues the previous run
        return odd_before != (len(data) % 2 == 1)
    return (len(data) - 1 - int(others[-1])) % 2 == 1


def _first_line(exc: BaseException) -> str:
    """Return the first line of an exception message (or its type name)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _open_text(path: Path, compressed: bool) -> Any:
    """Open a (possibly gzipped) text file."""
    if compressed:
        return gzip.open(path, "rt", encoding="utf-8-sig")
    return open(path, encoding="utf-8-sig")  # noqa: SIM115 - caller closes


def _read_delimited(path: Path, delimiter: str, limits: _Limits) -> pa.Table:
    """Read CSV/TSV with every column as text."""
    # quoted values may hold line breaks (names do; the tool's own CSVs quote them)
    parse = pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    label = "TSV" if delimiter == "\t" else "CSV"
    with pa.input_stream(str(path), compression="detect") as stream:
        head = stream.read(256)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputDataError(
            f"{path}: cannot read as {label.lower()}: the text is UTF-16; save it as UTF-8."
        )
    if head.lstrip().startswith((b"{", b"[")):
        raise InputDataError(f"{path}: looks like JSON, not {label}.")
    # Everything is read as text in large blocks (few chunks); columns are
    # typed and dictionary-encoded afterwards, once each.
    options = pa_csv.ReadOptions(block_size=_BLOCK)
    names = _csv_names(path, parse, label)
    _check_shape(path, 0, len(names), limits)
    convert = pa_csv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
    )
    return pa_csv.read_csv(path, read_options=options, parse_options=parse, convert_options=convert)


def _csv_names(path: Path, parse: pa_csv.ParseOptions, label: str) -> list[str]:
    """Read the column names from the first block (a bigger one for very long lines)."""
    for size in (1 << 20, _BLOCK):
        try:
            options = pa_csv.ReadOptions(block_size=size)
            with pa_csv.open_csv(path, read_options=options, parse_options=parse) as reader:
                return reader.schema.names
        except pa.ArrowInvalid as exc:
            if "straddl" not in str(exc):  # a header or row longer than a block
                raise
            problem = exc
    raise InputDataError(
        f"{path}: cannot read as {label.lower()}: a line is longer than {_size_text(_BLOCK)}."
    ) from problem


def _read_parquet(path: Path, limits: _Limits) -> pa.Table:
    """Read Parquet with text columns dictionary-encoded, after checking its footer."""
    schema = pq.read_schema(path)
    _check_shape(path, pq.read_metadata(path).num_rows, len(schema.names), limits)
    text = [
        field.name
        for field in schema
        if _is_text_type(field.type) and not _is_time_name(field.name)
    ]
    return pq.read_table(path, read_dictionary=text)


def _read_json(path: Path, compressed: bool) -> tuple[pa.Table, str]:
    """Read JSON lines, a JSON array of objects or a REST ``tables`` response."""
    with _open_text(path, compressed) as handle:
        head = handle.read(4096).lstrip()
    if not head:
        raise InputDataError(f"{path}: file is empty.")
    if head[0] == "[":
        with _open_text(path, compressed) as handle:
            records = json.load(handle, parse_int=_json_int)
        return _records_table(path, records), "json"
    if head[0] != "{":
        raise InputDataError(f"{path}: not JSON (starts with {head[:20]!r}).")
    try:
        with pa.input_stream(str(path), compression="detect") as stream:
            table = pa_json.read_json(stream)
    except pa.ArrowInvalid:
        table = None
    if table is not None and table.column_names != ["tables"]:
        return table, "jsonl"
    # One (possibly pretty-printed) object, a REST response, or JSON lines
    # pyarrow could not type (mixed value types): parse in Python.
    with _open_text(path, compressed) as handle:
        text = handle.read()
    try:
        document = json.loads(text, parse_int=_json_int)
    except json.JSONDecodeError:
        return _records_table(path, _json_lines(path, text)), "jsonl"
    if isinstance(document, dict) and isinstance(document.get("tables"), list):
        return _rest_table(path, document), "json-tables"
    return _records_table(path, [document]), "json"


_INT64 = np.iinfo(np.int64)
# Spellings of a missing number (lower case), as in `schema.MISSING_WORDS`.
_MISSING_TEXT = pa.array(sorted(MISSING_WORDS), type=pa.string())


def _json_int(text: str) -> int | str:
    """
    Read a JSON integer: an int if it fits in int64, else its digits as text.

    Digits are kept rather than turned into a float (or raising on
    conversion): a text column keeps them exactly, and a count column
    reports them as too large.
    """
    if len(text) < 19:
        return int(text)
    if len(text) <= 20:
        value = int(text)
        if _INT64.min <= value <= _INT64.max:
            return value
    return text


def _json_lines(path: Path, text: str) -> list[Any]:
    """Parse JSON lines one by one, naming the first bad line."""
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line, parse_int=_json_int))
        except json.JSONDecodeError as exc:
            raise InputDataError(f"{path}: line {number} is not valid JSON ({exc.msg}).") from exc
    return records


def _records_table(path: Path, records: Any) -> pa.Table:
    """Build a table from a list of JSON objects."""
    if not isinstance(records, list) or not all(isinstance(row, dict) for row in records):
        raise InputDataError(f"{path}: expected JSON objects (one per row).")
    return _frame_table(pd.DataFrame.from_records(records))


def _rest_table(path: Path, document: dict) -> pa.Table:
    """Build a table from the first table of a Log Analytics REST response."""
    tables = document["tables"]
    if not tables:
        raise InputDataError(f"{path}: 'tables' is empty.")
    if not isinstance(tables[0], dict):
        raise InputDataError(
            f"{path}: malformed 'tables' response (its first entry is a "
            f"{type(tables[0]).__name__}, not a table object)."
        )
    first = tables[0]
    try:
        names = [column["name"] for column in first["columns"]]
        rows = first["rows"]
        frame = pd.DataFrame.from_records(rows, columns=names)
    except KeyError as exc:
        raise InputDataError(f"{path}: malformed 'tables' response (no {exc} key).") from exc
    except (TypeError, ValueError, AssertionError) as exc:
        raise InputDataError(f"{path}: malformed 'tables' response ({_first_line(exc)}).") from exc
    return _frame_table(frame)


def _frame_table(frame: pd.DataFrame) -> pa.Table:
    """Convert a frame of JSON values to Arrow; mixed-type columns become text."""
    arrays, names = [], []
    for name in frame.columns:
        values = frame[name]
        try:
            array = pa.array(values.to_numpy(dtype=object), from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            text = [None if _is_missing(v) else _json_text(v) for v in values]
            array = pa.array(text, type=pa.string())
        arrays.append(array)
        names.append(str(name))
    return pa.table(arrays, names=names)


def _is_missing(value: object) -> bool:
    """Tell whether a JSON value is missing (None or NaN)."""
    return value is None or (isinstance(value, float) and np.isnan(value))


def _json_text(value: object) -> str:
    """Return the text of a JSON value (objects and lists as JSON)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


# --------------------------------------------------------------------------
# Column types
# --------------------------------------------------------------------------
def _is_time_name(name: str) -> bool:
    """Tell whether a column holds event times (``TimeGenerated``)."""
    return bool(_TIME_NAME.search(name.replace("\ufeff", "").strip()))


def _is_text_type(kind: pa.DataType) -> bool:
    """Tell whether an Arrow type is text or dictionary-encoded text."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _to_frame(table: pa.Table) -> pd.DataFrame:
    """Convert an Arrow table to pandas, applying the column type rules."""
    table = table.unify_dictionaries()
    names, arrays = [], []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if name.startswith("__index_level_"):  # a pandas index saved to Parquet
            continue
        names.append(name)
        arrays.append(_column_values(name, column))
    frame = pd.DataFrame(dict(enumerate(arrays)), index=pd.RangeIndex(table.num_rows), copy=False)
    frame.columns = names
    return frame


def _column_values(name: str, column: pa.ChunkedArray) -> Any:
    """Return one column's values for pandas."""
    kind = column.type
    if _is_text_type(kind):
        if _is_time_name(name):
            plain = column.cast(pa.string()) if pa.types.is_dictionary(kind) else column
            stamps = _maybe_times(plain)
            if stamps is not None:
                return stamps
        words, codes = _encode(column)
        if not is_text_column(name) and not _is_time_name(name):
            numbers = _maybe_numbers(words, codes)
            if numbers is not None:
                return numbers
        return _text_objects(words.to_pylist(), codes)
    if is_text_column(name) and (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_null(kind)
    ):
        return _number_text(column.to_pandas().to_numpy(dtype=object))
    return column.to_pandas(coerce_temporal_nanoseconds=True).array


def _encode(column: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """Return the distinct strings of a column and each row's index (-1: null)."""
    if not pa.types.is_dictionary(column.type):
        single = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
        column = pa.chunked_array([pc.dictionary_encode(single)])
    if column.num_chunks == 0:
        return pa.array([], type=pa.string()), np.zeros(0, dtype=np.int64)
    # After unify_dictionaries every chunk shares the first chunk's dictionary.
    words = column.chunk(0).dictionary
    codes = np.concatenate(
        [pc.fill_null(chunk.indices, -1).to_numpy() for chunk in column.chunks]
    ).astype(np.int64)
    return words.cast(pa.string()), codes


def _text_objects(words: list, codes: np.ndarray) -> np.ndarray:
    """Build an object array of str, one shared object per distinct value."""
    lookup = np.array([*("" if w is None else w for w in words), ""], dtype=object)
    return lookup[codes]


def _maybe_numbers(words: pa.Array, codes: np.ndarray) -> np.ndarray | None:
    """Return numbers if every non-empty distinct value is one, else None."""
    trimmed = pc.utf8_trim_whitespace(words)
    missing = pc.is_in(pc.utf8_lower(trimmed), value_set=_MISSING_TEXT)
    values = pc.if_else(missing, pa.scalar(None, pa.string()), trimmed)
    if values.null_count == len(values):
        return None
    for target in (pa.int64(), pa.float64()):
        try:
            parsed = values.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        blank = (codes < 0) | np.append(
            np.asarray(parsed.is_null().to_numpy(zero_copy_only=False), dtype=bool), True
        )[codes]
        numbers = np.append(parsed.to_numpy(zero_copy_only=False), 0)[codes]
        if not blank.any():
            return numbers
        numbers = numbers.astype(np.float64)
        numbers[blank] = np.nan
        return numbers
    return None


def _maybe_times(column: pa.ChunkedArray) -> Any:
    """Return UTC datetimes if every value is ISO 8601 text, else None."""
    trimmed = pc.utf8_trim_whitespace(column)
    values = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)
    for target in (pa.timestamp("ns", "UTC"), pa.timestamp("ns")):
        try:
            stamps = values.cast(target).cast(pa.timestamp("ns", "UTC"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return stamps.to_pandas().array
    return None


def _number_text(values: np.ndarray) -> np.ndarray:
    """Text of numbers in a text column: whole numbers without ``.0``."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    words = [_number_word(value) for value in uniques]
    return _text_objects(words, codes)


def _number_word(value: object) -> str:
    """Return the text of one number (``""`` for missing)."""
    if _is_missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)

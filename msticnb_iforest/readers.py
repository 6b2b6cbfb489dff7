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
  number, else stay text;
* ``TimeGenerated`` columns become UTC datetimes when every value is
  ISO 8601, else stay text (the summarizer parses other forms).

Text columns are plain object columns of ``str`` in which every distinct
value is one shared object (text is dictionary-encoded while reading), which
keeps large files compact and lets the summarizer factorize them quickly.
Every read problem (missing path, empty, truncated or mislabelled file)
raises :class:`InputDataError` with a one-line message naming the file.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from .errors import InputDataError
from .schema import COUNT_COLUMNS

__all__ = ["SUPPORTED_SUFFIXES", "is_text_column", "read_table", "read_tables"]

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
_EXPORT_SUFFIX = re.compile(r"\s*\[(UTC|Local Time)\]$")
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
    clean = _EXPORT_SUFFIX.sub("", str(name).replace("\ufeff", "").strip())
    if clean in _NUMBER_NAMES:
        return False
    return clean in _TEXT_NAMES or clean.endswith(_TEXT_SUFFIXES)


def read_table(path: str | Path) -> pd.DataFrame:
    """
    Read one exported table (or every supported file in a directory).

    Parameters
    ----------
    path : str or Path
        A file with a supported extension (:data:`SUPPORTED_SUFFIXES`), or
        a directory whose supported files are read in sorted order and
        concatenated.

    Returns
    -------
    pd.DataFrame
        The rows with a fresh RangeIndex (see the module docstring for the
        column types).

    Raises
    ------
    InputDataError
        If the path is missing, has an unsupported extension, or the file
        is empty, truncated or not in the format its extension says.

    """
    file_path = Path(path)
    if file_path.is_dir():
        return read_tables([file_path])[0]
    return _read_file(file_path)[0]


def read_tables(paths: Iterable[str | Path]) -> tuple[pd.DataFrame, list[dict]]:
    """
    Read several exported tables and stack them.

    Parameters
    ----------
    paths : iterable of str or Path
        Files and/or directories (a directory contributes its supported
        files in sorted order).

    Returns
    -------
    tuple[pd.DataFrame, list[dict]]
        All rows in file order with a fresh RangeIndex (columns missing
        from a file are empty for its rows), and one ``{"path": str,
        "rows": int, "format": str}`` entry per file read.

    Raises
    ------
    InputDataError
        If no file is given, any file cannot be read (see
        :func:`read_table`), or the files are of different kinds (raw
        events, per-user-day summaries, other tables).

    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files: list[Path] = []
    for item in paths:
        item_path = Path(item)
        if item_path.is_dir():
            found = sorted(
                child
                for child in item_path.iterdir()
                if child.is_file() and _suffix(child) is not None
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
        frame, layout = _read_file(file_path)
        frames.append(frame)
        info.append({"path": str(file_path), "rows": len(frame), "format": layout})
    if len(frames) == 1:
        return frames[0], info
    _check_stackable(frames, files)
    return pd.concat(frames, ignore_index=True, sort=False), info


def _table_kind(frame: pd.DataFrame) -> str:
    """Name the kind of logon table `frame` is, by its columns."""
    from .schema import is_summary_table
    from .summarize import is_raw_events

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


def _read_file(path: Path) -> tuple[pd.DataFrame, str]:
    """Read one file; return the frame and the layout name."""
    suffix = _suffix(path)
    if suffix is None:
        raise InputDataError(
            f"{path}: unsupported file type; expected one of " + ", ".join(SUPPORTED_SUFFIXES)
        )
    if not path.exists():
        raise InputDataError(f"{path}: file not found.")
    if not path.is_file():
        raise InputDataError(f"{path}: not a regular file.")
    if path.stat().st_size == 0:
        raise InputDataError(f"{path}: file is empty.")
    compressed = suffix.endswith(".gz")
    kind = suffix.removesuffix(".gz").lstrip(".")
    try:
        if kind in ("csv", "tsv"):
            table, layout = _read_delimited(path, "\t" if kind == "tsv" else ","), kind
        elif kind in ("parquet", "pq"):
            table, layout = _read_parquet(path), "parquet"
        else:
            table, layout = _read_json(path, compressed)
        if table.num_columns == 0:
            raise InputDataError(f"{path}: file has no columns.")
        frame = _to_frame(table)
    except InputDataError:
        raise
    except json.JSONDecodeError as exc:
        raise InputDataError(
            f"{path}: invalid or truncated JSON ({exc.msg} at line {exc.lineno} "
            f"column {exc.colno})."
        ) from exc
    except _READ_ERRORS as exc:
        raise InputDataError(f"{path}: cannot read as {kind}: {_first_line(exc)}") from exc
    return frame, layout + (".gz" if compressed else "")


def _first_line(exc: BaseException) -> str:
    """Return the first line of an exception message (or its type name)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _open_text(path: Path, compressed: bool) -> Any:
    """Open a (possibly gzipped) text file."""
    if compressed:
        return gzip.open(path, "rt", encoding="utf-8-sig")
    return open(path, encoding="utf-8-sig")  # noqa: SIM115 - caller closes


def _read_delimited(path: Path, delimiter: str) -> pa.Table:
    """Read CSV/TSV with every column as text."""
    parse = pa_csv.ParseOptions(delimiter=delimiter)
    with pa.input_stream(str(path), compression="detect") as stream:
        head = stream.read(256).lstrip()
    if head.startswith((b"{", b"[")):
        label = "TSV" if delimiter == "\t" else "CSV"
        raise InputDataError(f"{path}: looks like JSON, not {label}.")
    with pa_csv.open_csv(path, parse_options=parse) as reader:
        names = reader.schema.names
    # Everything is read as text in large blocks (few chunks); columns are
    # typed and dictionary-encoded afterwards, once each.
    convert = pa_csv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
    )
    options = pa_csv.ReadOptions(block_size=16 << 20)
    return pa_csv.read_csv(path, read_options=options, parse_options=parse, convert_options=convert)


def _read_parquet(path: Path) -> pa.Table:
    """Read Parquet with text columns dictionary-encoded."""
    schema = pq.read_schema(path)
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
            records = json.load(handle)
        return _records_table(path, records), "json"
    if head[0] != "{":
        raise InputDataError(f"{path}: not JSON (starts with {head[:20]!r}).")
    try:
        stream = pa.input_stream(str(path), compression="detect")
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
        document = json.loads(text)
    except json.JSONDecodeError:
        return _records_table(path, _json_lines(path, text)), "jsonl"
    if isinstance(document, dict) and isinstance(document.get("tables"), list):
        return _rest_table(path, document), "json-tables"
    return _records_table(path, [document]), "json"


def _json_lines(path: Path, text: str) -> list[Any]:
    """Parse JSON lines one by one, naming the first bad line."""
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
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
    if not tables or not isinstance(tables[0], dict):
        raise InputDataError(f"{path}: 'tables' is empty.")
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
        except (pa.ArrowException, TypeError, ValueError):
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
    values = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)
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

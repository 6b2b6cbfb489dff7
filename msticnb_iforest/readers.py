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

Text columns use pandas' pyarrow-backed ``string`` dtype, which keeps large
files compact and fast to summarize. Every read problem (missing path,
empty, truncated or mislabelled file) raises :class:`InputDataError` with a
one-line message naming the file.
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
        If no file is given or any file cannot be read (see
        :func:`read_table`).

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
    return pd.concat(frames, ignore_index=True, sort=False), info


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
            table, layout = pq.read_table(path), "parquet"
        else:
            table, layout = _read_json(path, compressed)
    except InputDataError:
        raise
    except json.JSONDecodeError as exc:
        raise InputDataError(
            f"{path}: invalid or truncated JSON ({exc.msg} at line {exc.lineno} "
            f"column {exc.colno})."
        ) from exc
    except _READ_ERRORS as exc:
        raise InputDataError(f"{path}: cannot read as {kind}: {_first_line(exc)}") from exc
    if table.num_columns == 0:
        raise InputDataError(f"{path}: file has no columns.")
    frame = _to_pandas(_normalize(table))
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
    convert = pa_csv.ConvertOptions(
        column_types={name: pa.string() for name in names},
        strings_can_be_null=False,
    )
    return pa_csv.read_csv(path, parse_options=parse, convert_options=convert)


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
def _normalize(table: pa.Table) -> pa.Table:
    """Apply the text / number / time rules to every column."""
    names, columns = [], []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if name.startswith("__index_level_"):  # a pandas index saved to Parquet
            continue
        names.append(name)
        columns.append(_normalize_column(name, column))
    return pa.table(columns, names=names)


def _normalize_column(name: str, column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Return one column with the reader's type rules applied."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    is_string = pa.types.is_string(kind) or pa.types.is_large_string(kind)
    if _TIME_NAME.search(name.replace("\ufeff", "").strip()) and is_string:
        return _maybe_times(column)
    if is_text_column(name):
        if pa.types.is_null(kind) or pa.types.is_integer(kind) or pa.types.is_boolean(kind):
            column = column.cast(pa.string())
        elif pa.types.is_floating(kind):
            column = _float_text(column)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            return pc.fill_null(column, "")
        return column
    if is_string:
        return _maybe_numbers(column)
    return column


def _blank_to_null(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Trim text and turn empty strings into nulls."""
    trimmed = pc.utf8_trim_whitespace(column)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, trimmed.type), trimmed)


def _maybe_numbers(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Convert text to int64/float64 if every non-empty value is a number."""
    values = _blank_to_null(column)
    if values.null_count == len(values):
        return pc.fill_null(column, "")
    for target in (pa.int64(), pa.float64()):
        try:
            return values.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return pc.fill_null(column, "")


def _maybe_times(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Convert ISO 8601 text to UTC timestamps, else keep the text."""
    values = _blank_to_null(column)
    for target in (pa.timestamp("ns", "UTC"), pa.timestamp("ns")):
        try:
            return values.cast(target).cast(pa.timestamp("ns", "UTC"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return pc.fill_null(column, "")


def _float_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Text of float values, writing whole numbers without ``.0``."""
    values = column.to_numpy(zero_copy_only=False)
    text = [
        None if np.isnan(v) else (str(int(v)) if float(v).is_integer() else repr(float(v)))
        for v in values
    ]
    return pa.chunked_array([pa.array(text, type=pa.string())])


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """Convert to pandas with pyarrow-backed text columns."""
    text = pd.StringDtype("pyarrow")
    mapping = {pa.string(): text, pa.large_string(): text}
    return table.to_pandas(types_mapper=mapping.get, coerce_temporal_nanoseconds=True)

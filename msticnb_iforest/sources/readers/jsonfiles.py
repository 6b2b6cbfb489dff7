"""
JSON files: JSON lines, arrays of row objects and Log Analytics REST responses.

The layout is found from the content, not the name (``.json``, ``.jsonl``
and ``.ndjson``, each plain or gzip-compressed): text that starts with ``[``
is an array of row objects (a portal export); otherwise pyarrow reads it as
JSON lines, and what it cannot type is parsed in Python, where one object
with a ``tables`` list is the REST API's response shape. Integers too large
for int64 keep their digits as text.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.json as pa_json

from ...errors import InputDataError
from .columns import _is_missing
from .limits import _check_text, _first_line, _Limits


def read(
    path: Path, kind: str, compressed: bool, size: int, limits: _Limits
) -> tuple[pa.Table, str]:
    """
    Read a JSON file within `limits`, whatever its layout.

    Parameters
    ----------
    path : Path
        The file (its existence and size already checked by the dispatch).
    kind : str
        Its format: the supported suffix without ``.gz`` or the dot (not used: the content decides).
    compressed : bool
        True if the file is gzip-compressed.
    size : int
        Its size on disk in bytes.
    limits : _Limits
        The limits to apply.

    Returns
    -------
    tuple[pa.Table, str]
        Every column, and the name of the layout read (``json``, ``jsonl`` or ``json-tables``).

    Raises
    ------
    InputDataError
        If the file is over a limit, nested too deeply, or not JSON of rows.

    Examples
    --------
    >>> from pathlib import Path
    >>> from msticnb_iforest.sources.readers.limits import _Limits
    >>> path = Path("export.json")
    >>> table, layout = read(path, "json", False, path.stat().st_size, _Limits())  # doctest: +SKIP
    >>> layout  # doctest: +SKIP
    'json'

    """
    _check_text(path, compressed, size, limits, json_text=True)
    return _read_json(path, compressed)


def _open_text(path: Path, compressed: bool) -> Any:
    """Open a (possibly gzipped) text file."""
    if compressed:
        return gzip.open(path, "rt", encoding="utf-8-sig")
    return open(path, encoding="utf-8-sig")  # noqa: SIM115 - caller closes


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


def _json_text(value: object) -> str:
    """Return the text of a JSON value (objects and lists as JSON)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)

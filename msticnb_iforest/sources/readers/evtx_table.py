"""
Decoding of EVTX records' JSON text, and the columns of their rows as Arrow arrays.

`msticnb_iforest.sources.readers.evtx` reads records in batches. For a
batch it finds each logon record's ``EventData`` object in the record's JSON
text and decodes all of them at once: `event_data_table` with Arrow's JSON
reader, `decode_objects` with one ``json`` call for a few. A record not laid
out as expected is decoded whole (`full_fields`, `system_of`). `rows_table`
puts a batch's columns together (`EVTX_SCHEMA`), `empty_table` is a file
without logon rows, and `to_frame` turns the stacked batches into the
DataFrame `read_evtx` returns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from ...schema import EVTX_COLUMNS

#: Columns that are not plain text: the rest are ``EventData`` text fields.
_TYPED = {
    "TimeGenerated": pa.timestamp("ns", "UTC"),
    "EventID": pa.int64(),
    "LogonType": pa.int64(),
}

#: The Arrow type of each column of a batch of rows (``LogonType`` is null
#: where an event lacks it; it becomes float64 with NaN in the frame).
EVTX_SCHEMA = pa.schema([(name, _TYPED.get(name, pa.string())) for name in EVTX_COLUMNS])

_NAT = np.iinfo(np.int64).min

# Errors of the JSON reader on input it does not decode as json would.
_BULK_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError)


def event_data_table(bodies: Sequence[str], text_fields: Sequence[str]) -> pa.Table | None:
    """
    Decode many ``EventData`` JSON objects at once.

    Parameters
    ----------
    bodies : sequence of str
        One JSON object per record, each starting with ``{``.
    text_fields : sequence of str
        The fields read as text; ``LogonType`` is read as a whole number.

    Returns
    -------
    pa.Table or None
        One row per body: a string column per text field and an int64
        ``LogonType``, null where the object lacks the field or holds
        ``null``. None when this decoding could differ from decoding each
        object with :mod:`json` and taking the fields from the dict: a body
        that is not exactly one object, a text field holding anything but a
        string (a number, an object...), a ``LogonType`` that is not a whole
        number in int64, a duplicated key, a lone surrogate, a raw control
        character. The caller then decodes those records one by one.
    """
    if not bodies:
        return None
    try:
        data = "\n".join(bodies).encode("utf-8")
    except UnicodeEncodeError:
        return None
    schema = pa.schema([(name, pa.string()) for name in text_fields] + [("LogonType", pa.int64())])
    options = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    # One block for the whole batch, read in this thread.
    read_options = pa_json.ReadOptions(use_threads=False, block_size=len(data) + 1)
    try:
        table = pa_json.read_json(
            pa.BufferReader(data), read_options=read_options, parse_options=options
        )
    except _BULK_ERRORS:
        return None
    # Two objects on one line would read as two rows.
    return table if table.num_rows == len(bodies) else None


def decode_objects(bodies: list[str]) -> list[dict] | None:
    """
    Decode JSON texts that each hold one object, in one call of the decoder.

    Parameters
    ----------
    bodies : list of str
        One JSON object per record, each starting with ``{``.

    Returns
    -------
    list of dict or None
        The objects, as decoding each text alone gives them; None if the
        texts do not hold one object each (the count of values differs, or
        one is not an object): each is then decoded on its own.
    """
    try:
        objects = json.loads("[" + ",".join(bodies) + "]")
    except ValueError:
        return None
    if len(objects) != len(bodies) or not all(type(item) is dict for item in objects):
        return None
    return objects


def full_fields(text: str) -> tuple[Any, Any, dict] | None:
    """
    Decode a record's JSON text whole and take the time, computer and EventData.

    Parameters
    ----------
    text : str
        The record's JSON text.

    Returns
    -------
    tuple or None
        ``System/TimeCreated/@SystemTime``, ``System/Computer`` and the
        ``EventData`` object (``{}`` if it is not an object); None if the
        text is not JSON or has no ``Event/System`` object.
    """
    try:
        document = json.loads(text)
        system = system_of(document)
        created = system.get("TimeCreated")
        time = None
        if isinstance(created, dict) and isinstance(created.get("#attributes"), dict):
            time = created["#attributes"].get("SystemTime")
        data = document["Event"].get("EventData")
    except (ValueError, KeyError, AttributeError, TypeError):
        return None
    return time, system.get("Computer"), data if isinstance(data, dict) else {}


def system_of(document: Any) -> dict:
    """
    Return the ``Event/System`` object of a decoded record.

    Parameters
    ----------
    document : Any
        The decoded JSON of a record.

    Returns
    -------
    dict
        Its ``Event/System`` object.

    Raises
    ------
    TypeError, KeyError
        If the record has no ``Event/System`` object.
    """
    system = document["Event"]["System"]
    if not isinstance(system, dict):
        raise TypeError("System is not an object")
    return system


def number_of(value: Any) -> int | None:
    """
    Read an integer from a JSON value (``{"#text": 4624}`` included).

    Parameters
    ----------
    value : Any
        A decoded JSON value: a number, a string of digits, an element
        with attributes whose ``#text`` is one of them.

    Returns
    -------
    int or None
        The integer, or None if the value holds none.
    """
    if isinstance(value, dict):
        value = value.get("#text")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def rows_table(
    times_ns: np.ndarray,
    event_ids: Sequence[int],
    logon_type: np.ndarray,
    text: Mapping[str, Any],
) -> pa.Table:
    """
    Put one batch's columns together in the order of :data:`EVTX_SCHEMA`.

    Parameters
    ----------
    times_ns : np.ndarray
        ``TimeGenerated`` as int64 nanoseconds, the int64 minimum for NaT.
    event_ids : sequence of int
        ``EventID`` of each row.
    logon_type : np.ndarray
        ``LogonType``: int64, or float64 with NaN for a missing type.
    text : mapping
        Every other column (``Computer``, ``LogonTypeName`` and the
        ``EventData`` text fields): an Arrow array or a sequence of str,
        with no missing value.

    Returns
    -------
    pa.Table
        The batch, with the schema :data:`EVTX_SCHEMA`.
    """
    time = pa.array(times_ns, type=pa.int64(), mask=times_ns == _NAT)
    if logon_type.dtype.kind == "f":
        missing = np.isnan(logon_type)
        logon = pa.array(
            np.where(missing, 0, logon_type).astype(np.int64), type=pa.int64(), mask=missing
        )
    else:
        logon = pa.array(logon_type, type=pa.int64())
    columns: dict[str, Any] = {
        "TimeGenerated": time.view(EVTX_SCHEMA.field("TimeGenerated").type),
        "EventID": pa.array(event_ids, type=pa.int64()),
        "LogonType": logon,
    }
    for name in EVTX_COLUMNS:
        if name not in columns:
            values = text[name]
            if not isinstance(values, pa.Array):
                values = pa.array(values, pa.string())
            columns[name] = values
    return pa.table([columns[name] for name in EVTX_COLUMNS], schema=EVTX_SCHEMA)


def filled_text(column: pa.ChunkedArray) -> pa.Array:
    """
    Return a string column with ``""`` for null (a field the event does not carry).

    Parameters
    ----------
    column : pa.ChunkedArray
        A string column of `event_data_table`.

    Returns
    -------
    pa.Array
        The column in one array, without nulls.
    """
    if column.null_count:
        column = pc.fill_null(column, "")
    return column.combine_chunks()


def empty_table() -> pa.Table:
    """
    Return a table without rows, with the columns and types of a batch.

    Returns
    -------
    pa.Table
        No rows, the schema :data:`EVTX_SCHEMA`.
    """
    return EVTX_SCHEMA.empty_table()


def to_frame(table: pa.Table) -> pd.DataFrame:
    """
    Turn stacked batches into the rows `read_evtx` returns.

    Parameters
    ----------
    table : pa.Table
        Batches with the schema :data:`EVTX_SCHEMA`, stacked.

    Returns
    -------
    pd.DataFrame
        Text as object columns of str holding each distinct value of a
        column once, ``TimeGenerated`` as UTC datetimes, ``LogonType`` as
        int64 (float64 with NaN if some row lacks it), a RangeIndex.
    """
    return table.to_pandas(deduplicate_objects=True, use_threads=False)


def _times_ns(values: list[Any]) -> np.ndarray:
    """
    Parse ``SystemTime`` values (ISO 8601, UTC) to int64 ns; NaT if unreadable.

    The parser writes ``"2019-03-18T22:15:36.036376Z"``, which pyarrow casts
    quickly. It is read to microseconds, whose range holds any such value,
    so a time outside the nanosecond range (a blank record's 1601-01-01)
    becomes NaT instead of wrapping around. Anything else is parsed by
    pandas, unreadable values becoming NaT.
    """
    try:
        text = pa.array(values, type=pa.string())
        micros = text.cast(pa.timestamp("us", "UTC")).cast(pa.int64())
        micros = micros.fill_null(_NAT).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        series = pd.Series([v if isinstance(v, str) else None for v in values], dtype=object)
        stamps = pd.to_datetime(series, utc=True, format="ISO8601", errors="coerce")
        micros = stamps.dt.tz_localize(None).dt.as_unit("us").to_numpy().view(np.int64)
    inside = (micros > _NAT // 1000) & (micros < -(_NAT // 1000))
    return np.where(inside, micros * 1000, _NAT)

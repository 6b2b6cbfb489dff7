"""
Read Windows Security event logs (``.evtx``) into raw ``SecurityEvent`` rows.

:func:`read_evtx` turns a ``Security.evtx`` file (a triage collection, a
copied log) into the logon rows the local summaries read, with the column
names and value shapes of Microsoft Sentinel's ``SecurityEvent`` table, so a
log read here and the same events exported from a workspace summarize alike.

How records become rows
-----------------------
* Only events 4624 (logon) and 4625 (failed logon) become rows. The event ID
  is read from each record's text before anything else is decoded; records
  of other events are counted by event ID and dropped.
* ``TimeGenerated`` is the event's ``System/TimeCreated/@SystemTime`` (UTC),
  ``Computer`` is ``System/Computer`` and the other columns are the
  ``EventData`` fields of the same name. A field the event does not carry
  (``Status`` of a 4624) is ``""``, as in Sentinel; values are kept exactly
  (``"-"`` placeholders, ``LogonProcessName`` padded as ``"Advapi  "``).
* ``LogonTypeName`` is Sentinel's spelling of ``LogonType``
  (:data:`LOGON_TYPE_NAMES`, e.g. ``"3 - Network"``); a type without a name
  is its number as text.
* Records are decoded in batches, the ``EventData`` of a batch's logon
  events at once (`msticnb_iforest.sources.readers.evtx_table`); a batch
  with a record laid out otherwise is decoded record by record, alike.

Damaged files
-------------
A file that does not start with the EVTX signature, or whose 4096-byte file
header is cut, raises :class:`~msticnb_iforest.errors.InputDataError`. Inside
a valid file, damage costs only what it touches: a chunk (64 KiB block of
records) with a damaged header is skipped, an unreadable record is skipped,
and when the file ends inside a chunk (an interrupted copy) the complete
records before the cut are still read. Each loss is counted in the info dict
and described in its ``problems``, naming the file. Only a file in which no
record at all can be read raises an error.
"""

from __future__ import annotations

import io
import json
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ...errors import InputDataError, ParameterError
from ...schema import EVTX_COLUMNS, NETWORK_LOGON
from .evtx_layout import _CHUNK_SIZE, _info, _Layout, _library_message, _parser, _short
from .evtx_table import (
    _times_ns,
    decode_objects,
    empty_table,
    event_data_table,
    filled_text,
    full_fields,
    number_of,
    rows_table,
    system_of,
    to_frame,
)

__all__ = ["EVTX_COLUMNS", "LOGON_TYPE_NAMES", "read_evtx"]


#: Sentinel's ``LogonTypeName`` for each logon type.
LOGON_TYPE_NAMES = {
    0: "0 - System",
    2: "2 - Interactive",
    3: NETWORK_LOGON,
    4: "4 - Batch",
    5: "5 - Service",
    7: "7 - Unlock",
    8: "8 - NetworkCleartext",
    9: "9 - NewCredentials",
    10: "10 - RemoteInteractive",
    11: "11 - CachedInteractive",
    12: "12 - CachedRemoteInteractive",
    13: "13 - CachedUnlock",
}

_LOGON_EVENT_IDS = frozenset({4624, 4625})

# EventData fields copied as text, in column order.
_TEXT_FIELDS = tuple(
    name
    for name in EVTX_COLUMNS
    if name not in ("TimeGenerated", "EventID", "Computer", "LogonType", "LogonTypeName")
)

# Records are decoded in batches of this many, so memory holds the JSON text
# of one batch and the columns of the rows read so far.
_BATCH_ROWS = 8192

# Batches with fewer logon events than this decode their EventData with
# json (the Arrow JSON reader costs more than that to start).
_BULK_ROWS = 64

_MAX_REASONS = 5

# Below this many values, plain Python beats pandas' fixed costs.
_SMALL = 1000

_EVENT_ID_AT = re.compile(r'"EventID":(?:(\d+)|\{"#attributes":\{[^{}]*\},"#text":(\d+)\})')

_DECODE = json.JSONDecoder().raw_decode


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------
def read_evtx(
    path: str | Path, *, max_records: int | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """
    Read the logon events of a Windows Security event log (``.evtx``).

    Parameters
    ----------
    path : str or Path
        An ``.evtx`` file, e.g. ``Security.evtx`` from a triage collection.
    max_records : int, optional
        Stop after this many records (of any event ID) have been read; the
        info dict says when that cut the file short. Default: read all.

    Returns
    -------
    tuple[pd.DataFrame, dict]
        The 4624/4625 events as raw ``SecurityEvent`` rows in file order,
        with the columns :data:`EVTX_COLUMNS`: ``TimeGenerated`` as UTC
        datetimes, ``EventID`` and ``LogonType`` as int64 (``LogonType`` is
        float64 with NaN if some event lacks it), the others as text with
        ``""`` for a field the event does not carry. And an info dict:

        ``path``, ``format`` (``"evtx"``), ``rows``
            the file, its format and the number of rows returned;
        ``records_read``
            records decoded, of any event ID;
        ``dropped_event_ids``
            records of other events, dropped, counted by event ID;
        ``unreadable_records``
            records that could not be read (at least this many: a damaged
            chunk or record header hides how many records follow it);
        ``chunks``, ``chunks_skipped``, ``bytes_skipped``
            the file's 64 KiB chunks of records, the chunks that could not be
            read and the bytes of the file not read (skipped chunks and the
            unread end of a truncated file);
        ``truncated``
            True if the file ends inside a chunk;
        ``stopped_at_max_records``
            True if `max_records` stopped the reading;
        ``problems``
            one sentence per loss, naming the file and what was skipped why.

    Raises
    ------
    InputDataError
        If the file is missing, empty or unreadable, is not an EVTX file
        (no ``ElfFile`` signature), is cut inside its file header, or holds
        chunks of which not a single record can be read.
    ParameterError
        If `max_records` is not a positive integer.

    Examples
    --------
    >>> from msticnb_iforest.sources.readers.evtx import read_evtx
    >>> from msticnb_iforest.summarize.user_days import user_day_summary
    >>> events, info = read_evtx("LM_WMI_4624_4688_TargetHost.evtx")  # doctest: +SKIP
    >>> len(events), info["dropped_event_ids"], info["problems"]  # doctest: +SKIP
    (6, {4688: 2}, [])
    >>> user_day_summary(events)[["Date", "DstUser", "SuccessfulLogons"]]  # doctest: +SKIP
             Date        DstUser  SuccessfulLogons
    0  2019-03-18  Administrator                 3
    1  2019-03-18         user01                 1

    """
    logs = _EventLogs()
    info = logs.read(path, max_records)
    return logs.frame(), info


class _EventLogs:
    """
    Read logs one after another into one stack of rows.

    Each `read` is :func:`read_evtx` on one log, but its rows are added to
    the stack's columns; `frame` gives all of them, the frame that stacking
    each log's frame with ``pd.concat`` would give, without a frame per log.
    """

    def __init__(self) -> None:
        self.columns = _Columns()

    def read(self, path: str | Path, max_records: int | None = None) -> dict[str, Any]:
        """Read one log's rows onto the stack; return its info dict (see `read_evtx`)."""
        return _read_into(path, max_records, self.columns)

    def frame(self) -> pd.DataFrame:
        """Return the rows of the logs read, in the order read."""
        return to_frame(self.columns.table())


def _read_into(path: str | Path, max_records: int | None, columns: _Columns) -> dict[str, Any]:
    """Read a log's rows into `columns`; return its info dict."""
    file_path = Path(path)
    if max_records is not None and (
        isinstance(max_records, bool) or not isinstance(max_records, int) or max_records < 1
    ):
        raise ParameterError(f"max_records must be a positive integer, got {max_records!r}.")
    layout = _Layout.scan(file_path)
    reader = _RecordReader(file_path, max_records, columns)
    before = columns.rows
    reader.read(str(file_path), keep=None)
    if layout.partial is not None and not reader.stopped:
        reader.read_partial(layout)
    info = _info(file_path, layout, reader, columns.rows - before)
    if reader.records_read == 0 and layout.holds_data:
        details = " ".join(_short(problem, file_path) for problem in info["problems"])
        raise InputDataError(
            f"{file_path}: no event record could be read" + (f": {details}" if details else ".")
        )
    return info


# --------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------
class _RecordReader:
    """Read records with the parser, keep logon events, count the rest."""

    def __init__(self, path: Path, max_records: int | None, columns: _Columns) -> None:
        self.path = path
        self.max_records = max_records
        self.columns = columns
        self.records_read = 0
        self.dropped: dict[int, int] = {}
        self.unreadable = 0
        self.reasons: dict[str, int] = {}
        self.other_reasons = 0
        self.record_errors = 0
        self.stopped = False

    def read(self, source: Any, keep: set[int] | None) -> None:
        """
        Read every record of `source` (a path or a file-like object).

        With `keep`, only records whose id is in `keep` count (the complete
        records of a truncated chunk); the parser's messages are then not
        counted, as the cut explains them.
        """
        parser = _parser(self.path, source)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                self._read_records(parser, keep)
            except (RuntimeError, OSError, ValueError) as exc:
                # Not recoverable by the parser: what was read is kept.
                self._reason(_library_message(exc))
                self.record_errors += 1
        if keep is None:
            for caught_warning in caught:
                if issubclass(caught_warning.category, RuntimeWarning):
                    message = _library_message(caught_warning.message)
                    self._reason(message)
                    if not message.startswith("Failed to parse chunk"):
                        self.record_errors += 1

    def _read_records(self, parser: Any, keep: set[int] | None) -> None:
        """Take the JSON text of each record and decode it in batches, in file order."""
        texts: list[str] = []
        try:
            for record in parser.records_json():
                if keep is not None and record["event_record_id"] not in keep:
                    continue
                if self.max_records is not None and self.records_read >= self.max_records:
                    self.stopped = True
                    break
                self.records_read += 1
                texts.append(record["data"])
                if len(texts) >= _BATCH_ROWS:
                    batch, texts = texts, []
                    self._add_batch(batch)
        finally:  # the records read before a parser error are kept
            self._add_batch(texts)

    def read_partial(self, layout: _Layout) -> None:
        """Read the complete records of a chunk cut by the end of the file."""
        partial = layout.partial
        if partial is None or not partial.ids:
            return
        padded = partial.data[: partial.complete_end].ljust(_CHUNK_SIZE, b"\x00")
        self.read(io.BytesIO(layout.header + padded), keep=partial.ids)

    def _reason(self, message: str) -> None:
        """Count a parser message (the first few distinct ones are kept)."""
        if message in self.reasons or len(self.reasons) < _MAX_REASONS:
            self.reasons[message] = self.reasons.get(message, 0) + 1
        else:
            self.other_reasons += 1

    def _add_batch(self, texts: list[str]) -> None:
        """
        Decode a batch of records' JSON text: keep logon events, count others.

        The logon events' ``EventData`` objects are decoded together
        (`event_data_table`). If any record of the batch is not laid out as
        expected, or the bulk decoding declines, every record of the batch
        is decoded on its own (`_add`), which gives the same rows.
        """
        if not texts:
            return
        split = _split_records(texts)
        if split is not None and self._add_split(*split):
            return
        for text in texts:
            self._add(text)
        self.columns.flush()

    def _add_split(
        self,
        dropped: dict[int, int],
        event_ids: list[int],
        times: list[str],
        computers: list[str],
        bodies: list[str],
    ) -> bool:
        """Add a batch's logon events from their ``EventData`` texts; False if declined."""
        if len(bodies) >= _BULK_ROWS:
            data = event_data_table(bodies, _TEXT_FIELDS)
            if data is None:
                return False
            self.columns.add_table(event_ids, times, computers, data)
        elif bodies:
            objects = decode_objects(bodies)
            if objects is None:
                return False
            for row in zip(event_ids, times, computers, objects, strict=True):
                self.columns.add(*row)
        for event_id, count in dropped.items():
            self.dropped[event_id] = self.dropped.get(event_id, 0) + count
        return True

    def _add(self, text: str) -> None:
        """Decode one record's JSON text: keep a logon event, count others."""
        event_id = _event_id(text)
        if event_id is None:
            try:
                document = json.loads(text)
                event_id = number_of(system_of(document).get("EventID"))
            except (ValueError, AttributeError, TypeError):
                event_id = None
            if event_id is None:
                self.unreadable += 1
                self._reason("a record without a readable EventID")
                return
        if event_id not in _LOGON_EVENT_IDS:
            self.dropped[event_id] = self.dropped.get(event_id, 0) + 1
            return
        fields = _fast_fields(text)
        if fields is None:
            fields = full_fields(text)
        if fields is None:
            self.unreadable += 1
            self._reason(f"an event {event_id} record whose JSON could not be decoded")
            return
        self.columns.add(event_id, *fields)


def _split_records(
    texts: list[str],
) -> tuple[dict[int, int], list[int], list[str], list[str], list[str]] | None:
    """
    Find each logon record's event ID, time, computer and ``EventData`` text.

    Returns the other events counted by event ID, and for the logon events
    their event IDs, times, computers and ``EventData`` objects (the text
    between ``"EventData":`` and the closing braces of ``Event`` and of the
    record). None if a record is not laid out so (no readable event ID, no
    ``EventData`` object, no time or computer before it): the caller then
    decodes the batch record by record.
    """
    dropped: dict[int, int] = {}
    event_ids: list[int] = []
    times: list[str] = []
    computers: list[str] = []
    bodies: list[str] = []
    for text in texts:
        event_id = _event_id(text)
        if event_id is None:
            return None
        if event_id not in _LOGON_EVENT_IDS:
            dropped[event_id] = dropped.get(event_id, 0) + 1
            continue
        data_at = text.find('"EventData":')
        if data_at < 0 or text[data_at + 12 : data_at + 13] != "{" or not text.endswith("}}"):
            return None
        time = _string_after(text, '"SystemTime":"', data_at)
        computer = _string_after(text, '"Computer":"', data_at)
        if time is None or computer is None:
            return None
        event_ids.append(event_id)
        times.append(time)
        computers.append(computer)
        bodies.append(text[data_at + 12 : -2])
    return dropped, event_ids, times, computers, bodies


def _event_id(text: str) -> int | None:
    """Read ``System/EventID`` from a record's JSON text without decoding it."""
    position = text.find('"EventID":')
    if position < 0:
        return None
    match = _EVENT_ID_AT.match(text, position)
    if match is None:
        return None
    return int(match.group(1) or match.group(2))


def _fast_fields(text: str) -> tuple[Any, Any, dict] | None:
    """
    Decode the time, computer and EventData of a record's JSON text.

    Only these values are decoded (the System block is most of the text).
    Inside JSON a quote in a string is always escaped, so a key such as
    ``"EventData":`` found in the text is a real key, and a string value
    without a backslash ends at the next quote. Returns None when the text
    is not laid out as expected; the caller then decodes it whole.
    """
    data_at = text.find('"EventData":')
    if data_at < 0:
        return None
    time = _string_after(text, '"SystemTime":"', data_at)
    computer = _string_after(text, '"Computer":"', data_at)
    if time is None or computer is None:
        return None
    try:
        data = _DECODE(text, data_at + 12)[0]
    except ValueError:
        return None
    if data is None:
        return time, computer, {}
    return (time, computer, data) if isinstance(data, dict) else None


def _string_after(text: str, key: str, end: int) -> str | None:
    """Return the JSON string value that follows `key` (ending in a quote) before `end`."""
    start = text.find(key, 0, end)
    if start < 0:
        return None
    start += len(key)
    stop = text.find('"', start)
    if stop < 0:
        return None
    value = text[start:stop]
    if "\\" in value:  # an escape: let the JSON decoder read the string
        try:
            return _DECODE(text, start - 1)[0]
        except ValueError:
            return None
    return value


# --------------------------------------------------------------------------
# Columns
# --------------------------------------------------------------------------
class _Columns:
    """Collect rows in batches of Arrow columns, stacked once at the end."""

    def __init__(self) -> None:
        self.parts: list[pa.Table] = []
        self.rows = 0
        self._reset()

    def _reset(self) -> None:
        self.event_ids: list[int] = []
        self.times: list[Any] = []
        self.computers: list[Any] = []
        self.logon_types: list[Any] = []
        self.fields: dict[str, list[Any]] = {name: [] for name in _TEXT_FIELDS}
        self._appends = [(name, values.append) for name, values in self.fields.items()]

    def add(self, event_id: int, time: Any, computer: Any, data: dict) -> None:
        """Add one logon event decoded on its own."""
        self.rows += 1
        self.event_ids.append(event_id)
        self.times.append(time)
        self.computers.append(computer)
        get = data.get
        self.logon_types.append(get("LogonType"))
        for name, append in self._appends:
            append(get(name))
        if len(self.event_ids) >= _BATCH_ROWS:
            self.flush()

    def add_table(
        self, event_ids: list[int], times: list[str], computers: list[str], data: pa.Table
    ) -> None:
        """Add the logon events of a batch whose ``EventData`` was decoded in bulk."""
        self.flush()
        self.rows += len(event_ids)
        logon_type, logon_type_name = _logon_types(data.column("LogonType").to_pylist())
        text: dict[str, Any] = {name: filled_text(data.column(name)) for name in _TEXT_FIELDS}
        text["Computer"] = computers
        text["LogonTypeName"] = logon_type_name
        self.parts.append(rows_table(_times_ns(times), event_ids, logon_type, text))

    def flush(self) -> None:
        """Turn the events added one by one into a batch of columns."""
        if not self.event_ids:
            return
        logon_type, logon_type_name = _logon_types(self.logon_types)
        text = {name: _text(values) for name, values in self.fields.items()}
        text["Computer"] = _text(self.computers)
        text["LogonTypeName"] = logon_type_name
        self.parts.append(rows_table(_times_ns(self.times), self.event_ids, logon_type, text))
        self._reset()

    def table(self) -> pa.Table:
        """Return all rows, in the order added, with the columns :data:`EVTX_COLUMNS`."""
        self.flush()
        if not self.parts:
            return empty_table()
        return pa.concat_tables(self.parts) if len(self.parts) > 1 else self.parts[0]


def _objects(values: Sequence[Any]) -> np.ndarray:
    """Return a 1-D object array of `values` (nested lists stay single elements)."""
    if isinstance(values, np.ndarray) and values.dtype == object and values.ndim == 1:
        return values
    return np.fromiter(values, dtype=object, count=len(values))


def _factorize(values: Sequence[Any], convert: Any) -> tuple[np.ndarray, list[Any]]:
    """Codes and converted distinct values; unhashable values are converted first."""
    try:
        codes, uniques = pd.factorize(_objects(values), use_na_sentinel=True)
    except TypeError:  # a dict or list value: convert each value, then factorize
        codes, uniques = pd.factorize(
            _objects([None if v is None else convert(v) for v in values]), use_na_sentinel=True
        )
    return codes, [convert(value) for value in uniques]


def _text(values: Sequence[Any]) -> np.ndarray:
    """Text of each value, one shared str per distinct value; missing is ``""``."""
    if len(values) <= _SMALL:
        seen: dict[str, str] = {}
        out = np.empty(len(values), dtype=object)
        out[:] = [seen.setdefault(v, v) if v.__class__ is str else _as_text(v) for v in values]
        return out
    codes, labels = _factorize(values, _as_text)
    return np.array([*labels, ""], dtype=object)[codes]


def _as_text(value: Any) -> str:
    """Return the text Sentinel would hold for one EventData value."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict) and "#text" in value:
        return _as_text(value["#text"])
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _logon_types(values: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """``LogonType`` as numbers and its Sentinel ``LogonTypeName``."""
    if len(values) <= _SMALL:
        codes = np.arange(len(values))
        numbers = [number_of(value) for value in values]
    else:
        codes, numbers = _factorize(values, number_of)
    names = np.array(
        [*("" if n is None else LOGON_TYPE_NAMES.get(n, str(n)) for n in numbers), ""],
        dtype=object,
    )
    if (codes >= 0).all() and all(n is not None for n in numbers):
        logon_type = np.array(numbers, dtype=np.int64)[codes]
    else:
        floats = np.array([np.nan if n is None else float(n) for n in numbers] + [np.nan])
        logon_type = floats[codes]
    return logon_type, names[codes]

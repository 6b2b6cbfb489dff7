"""
What the engine reads: files, folders and globs as views, or a pandas frame as Arrow.

`_open` makes the view ``raw`` over a source with cleaned column names
(`schema.clean_name`) and checks the required columns. A frame's numbers
and datetimes are handed to DuckDB without a copy and its text columns as
codes over their distinct values (see `_engine_frame`); CSV and TSV files
are parsed once into a temporary Parquet file (see `_read_sql`).
"""

from __future__ import annotations

import glob
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ...constraints import memory_size
from ...errors import InputDataError, ParameterError
from ...schema import NETWORK_LOGON, RAW_REQUIRED_COLUMNS, clean_name
from ...sources.readers.limits import _check_shape, _first_line
from ...sources.readers.scan import DECODED_FORMATS, EventFiles
from ..decode import _NAT, _equals_text, _numbers, _times_ns, text_codes
from ..events import DROP_REASONS, _bound, _column_lookup

__all__ = ["DEFAULT_MEMORY_LIMIT", "ENGINE_SUFFIXES", "engine_memory_limit"]

ENGINE_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv", ".csv.gz", ".tsv.gz")

_TEXT = {
    "TargetDomainName": "dom",
    "TargetUserName": "usr",
    "Computer": "comp",
    "IpAddress": "ip",
    "WorkstationName": "host",
    "AuthenticationPackageName": "pkg",
    "AccountDomain": "adom",
}
_NUMBER = {"EventID": "ev", "LogonType": "lt"}
_NS_PER_DAY = 86_400 * 10**9
_NS_PER_MS = 10**6

# ISO 8601 text the engine reads itself (stricter than the pandas path's
# patterns: valid hours, minutes and seconds only); other text is parsed
# once per distinct value in Python.
_HMS = r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?"
_ISO_NAIVE = rf"\d{{4}}-\d{{2}}-\d{{2}}([T ]{_HMS})?"
_ISO_ZONED = rf"(\d{{4}}-\d{{2}}-\d{{2}}[T ]{_HMS})(Z|([+-])([01]\d|2[0-3])(:?([0-5]\d))?)"


# --------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------
#: The engine's default memory limit: past it, sorts, joins and aggregations
#: spill to a temporary folder instead of taking more RAM.
DEFAULT_MEMORY_LIMIT = "2GiB"


def engine_memory_limit(value: int | str | None) -> int:
    """
    Read the engine's memory limit as bytes: `constraints.memory_size`, None meaning the default.

    Examples
    --------
    >>> engine_memory_limit(None) == 2 * 2**30
    True

    """
    return memory_size(DEFAULT_MEMORY_LIMIT if value is None else value)


def _run(
    source: Any,
    start: Any,
    end: Any,
    summarize: Callable,
    empty: Callable,
    memory_limit: int | str | None = None,
    temp_directory: str | os.PathLike | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, dict[str, int], list[dict[str, Any]]]:
    """
    Open `source` in a new engine and summarize it with ``summarize(con, types, start_ns, end_ns)``.

    Returns the table, the drops and one entry per file read (path, rows,
    format; none for a frame). ``(empty(), no drops, [])`` when a frame has
    no rows and no columns. Engine errors become `InputDataError`; the
    engine and its scratch files are removed in any case. The engine keeps
    to `memory_limit` (`engine_memory_limit`) and spills what does not fit
    into `temp_directory` (by default the run's own scratch folder, removed
    after; a folder given is used for a subfolder of its own, also removed).
    `progress` is told which files are read and how many events are
    summarized.
    """
    start_ns, end_ns = _bound(start, "start"), _bound(end, "end")
    if start_ns is not None and end_ns is not None and start_ns > end_ns:
        raise ParameterError(f"start ({start}) is after end ({end}).")
    limit = engine_memory_limit(memory_limit)
    if temp_directory is not None and not Path(temp_directory).is_dir():
        raise ParameterError(f"temp_directory {temp_directory}: is not a folder.")
    scratch = tempfile.TemporaryDirectory(prefix="msticnb-iforest-", dir=temp_directory)
    con = duckdb.connect()
    try:
        spill = Path(scratch.name) / "spill"
        con.execute("SET enable_progress_bar = false")  # progress goes through `progress`
        con.execute(f"SET memory_limit = '{limit}B'")
        con.execute(f"SET temp_directory = {_literal(spill)}")
        report = _Reporter(progress)
        columns, inputs = _open(con, source, Path(scratch.name), report)
        if columns is None:
            return empty(), dict.fromkeys(DROP_REASONS, 0), inputs
        if inputs:
            events = sum(item["rows"] for item in inputs)
            report(f"Summarizing {events:,} events from {len(inputs):,} file(s)", force=True)
        table, dropped = summarize(con, columns, start_ns, end_ns)
        if inputs:
            report(f"Summarized into {len(table):,} account-days", force=True)
        return table, dropped, inputs
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputDataError(f"cannot read the events: {first}") from exc
    finally:
        con.close()
        scratch.cleanup()


def _open(
    con: duckdb.DuckDBPyConnection, source: Any, scratch: Path, report: _Reporter
) -> tuple[dict[str, str] | None, list[dict[str, Any]]]:
    """
    Make the view ``raw`` over `source`; return cleaned name -> DuckDB type, and the files read.

    None (and no files) when a frame has no rows and no columns (a query
    that found nothing). CSV and TSV files are parsed once, into Parquet
    files in the folder `scratch`, which the passes of the summary then
    read; so are the rows of event logs and JSON files (`EventFiles.read_rows`).
    """
    inputs: list[dict[str, Any]] = []
    if isinstance(source, pd.DataFrame):
        if source.shape == (0, 0):
            return None, inputs
        frame = _engine_frame(source)
        con.register("raw_frame", frame)
        con.execute("CREATE VIEW raw AS SELECT * FROM raw_frame")
    else:
        parts = _parts(source)
        limits = source.limits if isinstance(source, EventFiles) else None
        selects = []
        decoded = _Decoded(scratch / "decoded")
        for i, (path, kind) in enumerate(parts):
            report(f"Reading file {i + 1:,} of {len(parts):,}: {path.name} ({kind})")
            select, rows, layout = _stage_file(
                con, source, path, kind, scratch / f"part-{i}.parquet", decoded
            )
            if limits is not None:
                _check_shape(path, rows, 0, limits)
            if select is not None:
                selects.append(select)
            inputs.append({"path": str(path), "rows": rows, "format": layout})
        selects.extend(decoded.close())
        try:
            con.execute("CREATE VIEW raw_files AS " + " UNION ALL BY NAME ".join(selects))
            described = con.execute("DESCRIBE raw_files").fetchall()
        except duckdb.Error as exc:
            names = ", ".join(str(path) for path, _ in parts)
            raise InputDataError(f"cannot read {names}: {_first_line(exc)}") from exc
        renamed = []
        seen: set[str] = set()
        for name, *_ in described:
            clean = clean_name(name)
            if clean in seen:
                raise InputDataError(f"Duplicate column name in input: {clean!r}.")
            seen.add(clean)
            renamed.append(f"{_quote(name)} AS {_quote(clean)}")
        con.execute(f"CREATE VIEW raw AS SELECT {', '.join(renamed)} FROM raw_files")
    types = {name: kind for name, kind, *_ in con.execute("DESCRIBE raw").fetchall()}
    missing = [name for name in RAW_REQUIRED_COLUMNS if name not in types]
    if missing:
        raise InputDataError(
            "Input is not a table of raw logon events; missing column(s): " + ", ".join(missing)
        )
    return types, inputs


class _Reporter:
    """Pass progress messages on, at most one every few seconds unless forced."""

    every = 2.0

    def __init__(self, progress: Callable[[str], None] | None):
        self._progress = progress
        self._last = -self.every

    def __call__(self, message: str, force: bool = False) -> None:
        now = time.monotonic()
        if self._progress is not None and (force or now - self._last >= self.every):
            self._last = now
            self._progress(message)


def _parts(source: Any) -> list[tuple[Path, str]]:
    """Return each file of `source` (`EventFiles`, paths, folders, globs) with its format."""
    if isinstance(source, EventFiles):
        return list(zip(source.paths, source.formats, strict=True))
    return [(path, _format(path)) for path in _files(source)]


def _format(path: Path) -> str:
    """Name a file's format by its ending: parquet, csv, tsv, csv.gz or tsv.gz."""
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    kind = "tsv" if name.endswith((".tsv", ".tsv.gz")) else "csv"
    return kind + (".gz" if name.endswith(".gz") else "")


def _stage_file(
    con: duckdb.DuckDBPyConnection,
    source: Any,
    path: Path,
    kind: str,
    scratch: Path,
    decoded: _Decoded,
) -> tuple[str | None, int, str]:
    """
    Return the SELECT that reads one file (None if it joins `decoded`), its rows and layout.

    A Parquet file is read where it is; a CSV or TSV file is first written
    to the Parquet file `scratch` by the engine. An event log's logon
    records or a JSON file's rows are decoded by `EventFiles.read_rows` and
    added to `decoded` (the layout is then the reader's: ``evtx``,
    ``jsonl``, ``json``...).
    """
    try:
        if kind.removesuffix(".gz") in DECODED_FORMATS:
            frame, layout = source.read_rows(path, kind)
            decoded.add(frame)
            return None, len(frame), layout
        return (*_read_sql(con, path, scratch), kind)
    except duckdb.Error as exc:
        raise InputDataError(f"cannot read {path}: {_first_line(exc)}") from exc


class _Decoded:
    """
    Rows decoded by the package's readers, written to Parquet files in one folder.

    Frames are gathered until they hold `batch` rows, then stacked and
    written as one file, so many small logs cost one write, and memory
    holds at most about one batch (or one large file). The folder is read
    as one scan, its files stacked by column name.
    """

    batch = 1_000_000

    def __init__(self, folder: Path):
        self.folder, self.frames, self.rows, self.files = folder, [], 0, 0
        folder.mkdir()

    def add(self, frame: pd.DataFrame) -> None:
        self.frames.append(frame)
        self.rows += len(frame)
        if self.rows >= self.batch:
            self._flush()

    def close(self) -> list[str]:
        """Write what is left; return the SELECT reading the folder (none if empty)."""
        self._flush()
        if not self.files:
            return []
        files = _literal(self.folder / "*.parquet")
        return [f"SELECT * FROM read_parquet({files}, union_by_name = true)"]

    def _flush(self) -> None:
        if not self.frames:
            return
        frames = [frame for frame in self.frames if frame.shape[1]] or self.frames[:1]
        frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        self.frames, self.rows = [], 0
        _write_frame(frame, self.folder / f"part-{self.files}.parquet")
        self.files += 1


def _write_frame(frame: pd.DataFrame, path: Path) -> None:
    """
    Write the columns the engine reads of a frame to a Parquet file.

    Times are written as naive nanosecond timestamps (UTC), so a log's
    times and those of other files stack and keep their nanoseconds.
    """
    table = _engine_frame(frame)
    index = table.schema.get_field_index("TimeGenerated")
    times = table.column(index)
    if pa.types.is_integer(times.type):
        table = table.set_column(index, "TimeGenerated", times.cast(pa.timestamp("ns")))
    pq.write_table(table, path)


def _files(source: Any) -> list[Path]:
    """Return the files a path, folder, glob or list of them stands for, in sorted order."""
    items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    files: list[Path] = []
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise ParameterError(f"Input paths must be str or pathlib.Path, got {item!r}.")
        text = os.fspath(item)
        path = Path(text)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and _readable(p))
        elif path.is_file():
            found = [path]
        else:
            found = sorted(Path(p) for p in glob.glob(text) if Path(p).is_file())
        if not found:
            raise InputDataError(
                f"{text}: no file to read (expected {', '.join(ENGINE_SUFFIXES)})."
            )
        for file in found:
            if not _readable(file):
                raise InputDataError(f"{file}: unsupported file type for the engine.")
        files.extend(found)
    return files


def _readable(path: Path) -> bool:
    return path.name.lower().endswith(ENGINE_SUFFIXES)


def _read_sql(con: duckdb.DuckDBPyConnection, path: Path, scratch: Path) -> tuple[str, int]:
    """
    Return the SELECT that reads one Parquet, CSV or TSV file, and its number of rows.

    A CSV or TSV file (every column as text) is first written to the
    Parquet file `scratch` in one streaming pass, so that it is parsed (and
    decompressed) once however many passes read it.
    """
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        rows = con.execute(
            f"SELECT sum(num_rows) FROM parquet_file_metadata({_literal(path)})"
        ).fetchone()
        return f"SELECT * FROM read_parquet({_literal(path)})", int(rows[0] or 0)
    delim = "\\t" if name.endswith((".tsv", ".tsv.gz")) else ","
    text = (
        f"SELECT * FROM read_csv({_literal(path)}, all_varchar = true, header = true, "
        f"delim = E'{delim}', quote = '\"', escape = '\"', compression = 'auto')"
    )
    names = [row[0] for row in con.execute(f"DESCRIBE {text}").fetchall()]
    times = [name for name in names if clean_name(name) == "TimeGenerated"]
    if times:  # read the times here, once, while the text is parsed
        text = f'SELECT *, {_text_time_ns(_quote(times[0]))} AS "__TimeGenerated_ns" FROM ({text})'
    rows = con.execute(f"COPY ({text}) TO {_literal(scratch)} (FORMAT parquet)").fetchone()
    return f"SELECT * FROM read_parquet({_literal(scratch)})", int(rows[0])


def _literal(path: Path) -> str:
    """Return a path as an SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"


def _engine_frame(events: pd.DataFrame) -> pa.Table:
    """
    Return the columns the engine scans, as an Arrow table over the frame's data.

    Text columns become dictionary arrays: codes over their distinct KQL text
    (`text_codes`, which factorizes shared string objects quickly), so the
    engine never converts a Python string per row; numbers and datetimes
    are handed over as they are (datetimes as int64 UTC nanoseconds, a
    view); columns of other kinds are decoded once (see the module docstring).
    """
    lookup = _column_lookup(events)
    missing = [name for name in RAW_REQUIRED_COLUMNS if name not in lookup]
    if missing:
        raise InputDataError(
            "Input is not a table of raw logon events; missing column(s): " + ", ".join(missing)
        )
    out: dict[str, Any] = {}
    for name in ["TimeGenerated", "LogonTypeName", *_NUMBER, *_TEXT]:
        if name not in lookup:
            continue
        column = events[lookup[name]]
        data = column.to_numpy() if isinstance(column.dtype, np.dtype) else column.array
        values = pd.Series(data, name=column.name, copy=False)  # a fresh index, no copy
        if name == "TimeGenerated":
            out[name] = _dictionary(values) if _plain_text(values) else _frame_times(values)
        elif name == "LogonTypeName":
            plain = _plain_text(values)
            out[name] = _dictionary(values) if plain else _equals_text(values, NETWORK_LOGON)
        elif name in _NUMBER:
            numeric = pd.api.types.is_numeric_dtype(values.dtype)
            if numeric and not pd.api.types.is_bool_dtype(values.dtype):
                out[name] = pa.array(data)
            else:
                out[name] = _dictionary(values) if _plain_text(values) else _numbers(values)
        else:
            out[name] = _dictionary(values)
    return pa.table(out)


def _plain_text(values: pd.Series) -> bool:
    """Tell whether a column is object str (missing allowed), which the engine reads as text."""
    if not (isinstance(values.dtype, np.dtype) and values.dtype.kind == "O"):
        return False
    return pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")


def _dictionary(values: pd.Series) -> pa.DictionaryArray:
    """Encode a text column as codes over its KQL text (`text_codes`), for the engine."""
    try:
        text = text_codes(values)
        labels = pa.array(list(text.labels), type=pa.string())
    except TypeError as err:
        raise InputDataError(
            f"Column {values.name!r} must hold text, numbers or times; it holds lists or "
            f"mappings ({err})."
        ) from None
    except (UnicodeEncodeError, pa.ArrowException) as err:
        raise InputDataError(
            f"Column {values.name!r} holds text that is not Unicode ({err})."
        ) from None
    return pa.DictionaryArray.from_arrays(pa.array(text.codes, type=pa.int32()), labels)


def _frame_times(values: pd.Series) -> pa.Array:
    """Hand over a frame's TimeGenerated (not text) as int64 UTC nanoseconds."""
    dtype = values.dtype
    if not isinstance(dtype, pd.ArrowDtype) and pd.api.types.is_datetime64_any_dtype(dtype):
        stamps = values.array
        if stamps.unit != "ns":
            stamps = stamps.as_unit("ns")
        ns = stamps.asi8  # UTC nanoseconds for aware and naive times alike; a view
    else:
        ns = _times_ns(values)
    missing = ns == _NAT
    return pa.array(ns, mask=missing) if missing.any() else pa.array(ns)


def _nullable_ns(ns: np.ndarray) -> pd.Series:
    """Wrap int64 nanoseconds with `_NAT` as the engine's NULL (only NaT rows are masked)."""
    missing = ns == _NAT
    if not missing.any():
        return pd.Series(ns, copy=False)
    return pd.Series(pd.arrays.IntegerArray(ns, missing), copy=False)


def _quote(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _text_time_ns(column: str) -> str:
    """
    Return the SQL reading ISO 8601 text in `column` as UTC nanoseconds (NULL otherwise).

    Only the forms of `_ISO_NAIVE` and `_ISO_ZONED` are read (naive is
    UTC); anything else is left to the pandas path's parser, once per
    distinct value. A zoned time is its wall time in nanoseconds minus its
    offset: the difference between reading it without and with the zone.
    """
    text = f"trim({column})"
    offset = (
        f"(epoch_us(TRY_CAST({text} AS TIMESTAMP)) - epoch_us(TRY_CAST({text} AS TIMESTAMPTZ)))"
    )
    return (
        f"CASE WHEN regexp_full_match({text}, '{_ISO_NAIVE}')"
        f" THEN epoch_ns(TRY_CAST({text} AS TIMESTAMP_NS))"
        f" WHEN regexp_full_match({text}, '{_ISO_ZONED}')"
        f" THEN epoch_ns(TRY_CAST({text} AS TIMESTAMP_NS)) - {offset} * 1000 END"
    )

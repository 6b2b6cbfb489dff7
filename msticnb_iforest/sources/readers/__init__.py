"""
Read exported logon tables from CSV, TSV, Parquet and JSON files, and event logs.

Supported file types (by extension, case-insensitive): ``.csv``, ``.tsv``,
``.parquet`` / ``.pq``, ``.json``, ``.jsonl`` and ``.ndjson``; the text
formats may be gzip-compressed (``.csv.gz``, ``.jsonl.gz``...). A JSON file
may hold JSON lines, a JSON array of objects (portal exports) or the Log
Analytics REST response shape ``{"tables": [{"columns": [...], "rows":
[...]}]}``; the layout is detected from the content, not the extension.
Windows Security event logs (``.evtx``) become raw ``SecurityEvent`` logon
rows (`msticnb_iforest.sources.readers.evtx`); what else a log held, and any
damaged part skipped, becomes a note of the run.

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

Modules
-------
`dispatch` chooses the reader of each file and stacks files; `scan` checks
files without reading their rows, so that raw events are summarized where
they are (`EventFiles`); `delimited`
(CSV, TSV), `parquet`, `jsonfiles` (JSON lines, arrays, REST responses) and
`evtx` (with `evtx_layout`) read one format each; `limits` holds the limits
and their checks, `columns` the column names and types shared by all formats.
"""

from .columns import is_text_column
from .dispatch import SUPPORTED_SUFFIXES, read_table, read_tables
from .limits import MAX_BYTES, MAX_COLUMNS, MAX_DEPTH, MAX_ROWS, parse_size
from .scan import ENGINE_FORMATS, EventFiles, scan_tables

__all__ = [
    "ENGINE_FORMATS",
    "MAX_BYTES",
    "MAX_COLUMNS",
    "MAX_DEPTH",
    "MAX_ROWS",
    "SUPPORTED_SUFFIXES",
    "EventFiles",
    "is_text_column",
    "parse_size",
    "read_table",
    "read_tables",
    "scan_tables",
]

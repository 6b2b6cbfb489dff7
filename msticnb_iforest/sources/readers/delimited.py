"""
CSV and TSV files, plain or gzip-compressed: every column is read as text.

Columns get their types afterwards (`columns._to_frame`). Quoted values may
hold line breaks. A file in UTF-16, or one that holds JSON, is refused with a
message that says so.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv

from ...errors import InputDataError
from . import limits as _limits
from .limits import _check_shape, _check_text, _Limits, _size_text


def read(
    path: Path, kind: str, compressed: bool, size: int, limits: _Limits
) -> tuple[pa.Table, str]:
    """
    Read a CSV or TSV file within `limits`, every column as text.

    Parameters
    ----------
    path : Path
        The file (its existence and size already checked by the dispatch).
    kind : str
        Its format: the supported suffix without ``.gz`` or the dot: ``csv`` or ``tsv``.
    compressed : bool
        True if the file is gzip-compressed.
    size : int
        Its size on disk in bytes.
    limits : _Limits
        The limits to apply.

    Returns
    -------
    tuple[pa.Table, str]
        Every column as text, and the name of the layout read (`kind`).

    Raises
    ------
    InputDataError
        If the file is over a limit, in UTF-16, holds JSON or has a line longer than a block.

    Examples
    --------
    >>> from pathlib import Path
    >>> from msticnb_iforest.sources.readers.limits import _Limits
    >>> path = Path("events.tsv.gz")
    >>> table, layout = read(path, "tsv", True, path.stat().st_size, _Limits())  # doctest: +SKIP
    >>> layout  # doctest: +SKIP
    'tsv'

    """
    names = check_delimited(path, kind, compressed, size, limits)
    return _read_delimited(path, "\t" if kind == "tsv" else ",", names), kind


def check_delimited(
    path: Path, kind: str, compressed: bool, size: int, limits: _Limits
) -> list[str]:
    """
    Check a CSV or TSV file before it is parsed; return its column names.

    The text is measured against ``max_bytes`` (decompressed into nothing
    when gzipped), its start must not be UTF-16 or JSON, and its header
    must be within ``max_columns``.

    Parameters
    ----------
    path : Path
        The file.
    kind : str
        ``csv`` or ``tsv``.
    compressed : bool
        True if the file is gzip-compressed.
    size : int
        Its size on disk in bytes.
    limits : _Limits
        The limits to apply.

    Returns
    -------
    list of str
        The column names of its header line.

    Raises
    ------
    InputDataError
        If the file is over a limit, in UTF-16, holds JSON or has a line
        longer than a block.

    """
    _check_text(path, compressed, size, limits, json_text=False)
    label = kind.upper()
    with pa.input_stream(str(path), compression="detect") as stream:
        head = stream.read(256)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputDataError(
            f"{path}: cannot read as {kind}: the text is UTF-16; save it as UTF-8."
        )
    if head.lstrip().startswith((b"{", b"[")):
        raise InputDataError(f"{path}: looks like JSON, not {label}.")
    names = _csv_names(path, _parse_options("\t" if kind == "tsv" else ","), label)
    _check_shape(path, 0, len(names), limits)
    return names


def _parse_options(delimiter: str) -> pa_csv.ParseOptions:
    # quoted values may hold line breaks (names do; the tool's own CSVs quote them)
    return pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True)


def _read_delimited(path: Path, delimiter: str, names: list[str]) -> pa.Table:
    """Read CSV/TSV with every column (`names`, from the header) as text."""
    parse = _parse_options(delimiter)
    # Everything is read as text in large blocks (few chunks); columns are
    # typed and dictionary-encoded afterwards, once each.
    options = pa_csv.ReadOptions(block_size=_limits._BLOCK)
    convert = pa_csv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
    )
    return pa_csv.read_csv(path, read_options=options, parse_options=parse, convert_options=convert)


def _csv_names(path: Path, parse: pa_csv.ParseOptions, label: str) -> list[str]:
    """Read the column names from the first block (a bigger one for very long lines)."""
    for size in (1 << 20, _limits._BLOCK):
        try:
            options = pa_csv.ReadOptions(block_size=size)
            with pa_csv.open_csv(path, read_options=options, parse_options=parse) as reader:
                return reader.schema.names
        except pa.ArrowInvalid as exc:
            if "straddl" not in str(exc):  # a header or row longer than a block
                raise
            problem = exc
    longest = _size_text(_limits._BLOCK)
    raise InputDataError(
        f"{path}: cannot read as {label.lower()}: a line is longer than {longest}."
    ) from problem

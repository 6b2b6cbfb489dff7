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
    _check_text(path, compressed, size, limits, json_text=False)
    return _read_delimited(path, "\t" if kind == "tsv" else ",", limits), kind


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
    options = pa_csv.ReadOptions(block_size=_limits._BLOCK)
    names = _csv_names(path, parse, label)
    _check_shape(path, 0, len(names), limits)
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

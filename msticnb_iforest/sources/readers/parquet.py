"""
Parquet files, checked against the limits by their footer before any data is read.

Text columns other than times are read dictionary-encoded, so each distinct
value is decoded once.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .columns import _is_text_type, _is_time_name
from .limits import _check_shape, _Limits


def read(
    path: Path, kind: str, compressed: bool, size: int, limits: _Limits
) -> tuple[pa.Table, str]:
    """
    Read a Parquet file within `limits`, checked by its footer first.

    Parameters
    ----------
    path : Path
        The file (its existence and size already checked by the dispatch).
    kind : str
        Its format: the supported suffix without ``.gz`` or the dot (not used).
    compressed : bool
        True if the file is gzip-compressed (not used: Parquet compresses inside).
    size : int
        Its size on disk in bytes (not used: the footer gives the shape).
    limits : _Limits
        The limits to apply.

    Returns
    -------
    tuple[pa.Table, str]
        Every column, text dictionary-encoded, and the name of the layout read (``parquet``).

    Raises
    ------
    InputDataError
        If the file is over a limit.

    Examples
    --------
    >>> from pathlib import Path
    >>> from msticnb_iforest.sources.readers.limits import _Limits
    >>> path = Path("events.pq")
    >>> table, layout = read(path, "pq", False, path.stat().st_size, _Limits())  # doctest: +SKIP
    >>> layout  # doctest: +SKIP
    'parquet'

    """
    return _read_parquet(path, limits), "parquet"


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

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
    """Read a Parquet file within `limits` (`kind`, `compressed`, `size` unused)."""
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

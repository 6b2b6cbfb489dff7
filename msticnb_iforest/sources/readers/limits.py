"""
The limits a read applies to each file, and the checks that enforce them.

Hostile files are refused before any parser sees them (see
`msticnb_iforest.sources.readers`): text over `MAX_BYTES` (measured after
decompression, without keeping it), tables over `MAX_ROWS` rows or
`MAX_COLUMNS` columns, and JSON nested deeper than `MAX_DEPTH` (found by a
linear scan of the bytes, `_JsonNesting`). `parse_size` reads a size such as
``"4G"`` given on the command line. The other modules of this package share
the helpers with a leading underscore; they are not public.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ...constraints import parse_size
from ...errors import InputDataError, ParameterError

__all__ = ["MAX_BYTES", "MAX_COLUMNS", "MAX_DEPTH", "MAX_ROWS", "parse_size"]


#: Most bytes of text read from one CSV, TSV or JSON file, after decompression.
MAX_BYTES = 4 * 2**30

#: Most rows read from one file.
MAX_ROWS = 1_000_000_000

#: Most columns read from one file.
MAX_COLUMNS = 10_000

#: Deepest nesting of JSON arrays and objects accepted.
MAX_DEPTH = 64


@dataclass(frozen=True)
class _Limits:
    """The limits one read applies to each file (see the module docstring)."""

    max_bytes: int = MAX_BYTES
    max_rows: int = MAX_ROWS
    max_columns: int = MAX_COLUMNS
    max_depth: int = MAX_DEPTH

    @classmethod
    def checked(cls, **limits: Any) -> _Limits:
        """Return the limits, refusing any that is not a positive whole number."""
        for name, value in limits.items():
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ParameterError(f"{name} must be a whole number of 1 or more, got {value!r}.")
        return cls(**{name: int(value) for name, value in limits.items()})


def _check_shape(path: Path, rows: int, columns: int, limits: _Limits) -> None:
    """Refuse a table over the row or column limit."""
    if rows > limits.max_rows:
        raise InputDataError(
            f"{path}: {rows:,} rows, more than the limit of {limits.max_rows:,} per file; "
            "raise max_rows (command line: --max-rows) to read it."
        )
    if columns > limits.max_columns:
        raise InputDataError(
            f"{path}: {columns:,} columns, more than the limit of {limits.max_columns:,} per "
            "file; raise max_columns of read_table(s) to read it."
        )


def _size_text(size: int) -> str:
    """Show a byte count in binary units (``4 GiB``)."""
    for unit, power in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 2**power:
            amount = size / 2**power
            return f"{amount:.0f} {unit}" if amount == int(amount) else f"{amount:.1f} {unit}"
    return f"{size:,} bytes"


def _first_line(exc: BaseException) -> str:
    """Return the first line of an exception message (or its type name)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# Text is checked and parsed in blocks of this many bytes (the CSV reader
# looks it up here at each read).
_BLOCK = 16 << 20


def _check_text(path: Path, compressed: bool, size: int, limits: _Limits, json_text: bool) -> None:
    """
    Refuse a text file over the size limit, or JSON nested too deeply.

    An uncompressed file is measured on disk. A compressed one is
    decompressed block by block into nothing, stopping as soon as the
    limit is passed, so a decompression bomb costs time but no memory.
    JSON is scanned for its nesting depth on the way (see `_JsonNesting`).
    """
    over = (
        f"{path}: more than {_size_text(limits.max_bytes)} of text"
        + (" after decompression" if compressed else "")
        + ", the limit per file; raise max_bytes (command line: --max-bytes) to read it."
    )
    if not compressed:
        if size > limits.max_bytes:
            raise InputDataError(over)
        if not json_text:
            return
    nesting = _JsonNesting(path, limits.max_depth) if json_text else None
    total = 0
    with pa.input_stream(str(path), compression="detect") as stream:
        while block := stream.read(_BLOCK):
            total += len(block)
            if total > limits.max_bytes:
                raise InputDataError(over)
            if nesting is not None:
                nesting.feed(block)


# The bytes that matter to JSON nesting, coded as int8 by one translate that
# also drops every other byte: +1 opens, -1 closes, 2 quote, 3 line break.
_OPEN, _CLOSE, _QUOTE, _NEWLINE = 1, -1, 2, 3
_NEST_CODES = bytearray(range(256))
_NEST_CODES[ord("[")] = _NEST_CODES[ord("{")] = _OPEN
_NEST_CODES[ord("]")] = _NEST_CODES[ord("}")] = _CLOSE & 0xFF
_NEST_CODES[ord('"')] = _QUOTE
_NEST_CODES[ord("\n")] = _NEWLINE
_NEST_CODES = bytes(_NEST_CODES)
_NEST_DROP = bytes(byte for byte in range(256) if chr(byte) not in '"[]{}\n')


class _JsonNesting:
    """
    Measure the nesting depth of JSON text fed in blocks, without parsing it.

    Brackets count only outside strings; a quote ends a string unless an
    odd run of backslashes precedes it. The scan is exact on valid JSON
    (and JSON lines), so no parser that stops at its first error can nest
    deeper than the scan saw. Valid JSON never closes more than it opened,
    nor has a raw line break inside a string: both are refused here too,
    since either would let the scan and a line-by-line parser disagree.
    It runs at C speed on the bytes (one translate) and in numpy on the few
    structural ones left.
    """

    def __init__(self, path: Path, limit: int):
        self.path = path
        self.limit = limit
        self.depth = 0
        self.in_string = False
        self.odd_backslashes = False  # the previous block ended in an odd run of them
        self.line = 1

    def feed(self, block: bytes) -> None:
        """Scan the next block; raise InputDataError at the first problem."""
        if not block:
            return
        marks = _unescaped(block, self.odd_backslashes).translate(_NEST_CODES, _NEST_DROP)
        self.odd_backslashes = _ends_in_odd_backslashes(block, self.odd_backslashes)
        codes = np.frombuffer(marks, dtype=np.int8)
        if not len(codes):
            return
        newline = codes == _NEWLINE
        # True inside a string (an opening quote counts as inside, a closing
        # one as outside): the parity of the quotes so far.
        inside = np.bitwise_xor.accumulate(codes == _QUOTE)
        if self.in_string:
            inside = ~inside
        # int32 holds any depth within one block (at most 16 Mi brackets).
        depth = np.cumsum(np.where(inside | (codes > 1), np.int8(0), codes), dtype=np.int32)
        depth += self.depth
        broken = newline & inside
        if broken.any() or depth.min() < 0 or depth.max() > self.limit:
            problems = [
                (broken, "invalid JSON: a string runs over the end of line {}."),
                (depth < 0, "invalid JSON: more closing than opening brackets on line {}."),
                (
                    depth > self.limit,
                    f"JSON nested deeper than {self.limit} levels (line {{}}), the limit; "
                    "raise max_depth of read_table(s) to read it.",
                ),
            ]
            pos, text = min((int(np.argmax(m)), text) for m, text in problems if m.any())
            line = self.line + int(np.count_nonzero(newline[:pos]))
            raise InputDataError(f"{self.path}: " + text.format(line))
        self.depth = int(depth[-1])
        self.in_string = bool(inside[-1])
        self.line += int(np.count_nonzero(newline))


def _unescaped(block: bytes, odd_before: bool) -> bytes | bytearray:
    """
    Return `block` with every escaped quote replaced by another byte.

    A quote is escaped when an odd run of backslashes precedes it (the run
    may start in the previous block: `odd_before`). The block is returned as
    it is when no quote follows a backslash.
    """
    if block.find(b"\\") < 0 and not (odd_before and block[:1] == b'"'):
        return block  # no backslash at all (a one-byte search, the fastest kind)
    data = np.frombuffer(block, dtype=np.uint8)
    quote, slash = ord('"'), ord("\\")
    candidates = np.flatnonzero((data[1:] == quote) & (data[:-1] == slash)) + 1
    if odd_before and data[0] == quote:
        candidates = np.concatenate([[0], candidates])
    if not len(candidates):
        return block
    # Length of the backslash run before each candidate, one step back at a
    # time while any run goes on (runs are short in real data).
    run = np.zeros(len(candidates), dtype=np.int64)
    going = np.ones(len(candidates), dtype=bool)
    for _ in range(16):
        back = candidates - run - 1
        going &= back >= 0
        going[going] = data[back[going]] == slash
        if not going.any():
            break
        run += going
    else:
        return _unescaped_long_runs(block, data, odd_before)
    odd = (run + ((run == candidates) & odd_before)) % 2 == 1
    copy = bytearray(block)
    np.frombuffer(copy, dtype=np.uint8)[candidates[odd]] = ord("a")
    return copy


def _unescaped_long_runs(block: bytes, data: np.ndarray, odd_before: bool) -> bytearray:
    """`_unescaped` for blocks with long backslash runs: every run measured at once."""
    # Backslashes with one before position 0 for an odd run carried from the
    # previous block, framed by False so that every run has two edges.
    slash = np.concatenate([[False, odd_before], data == ord("\\"), [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(slash))
    starts, ends = edges[0::2], edges[1::2]
    after = ends[(ends - starts) % 2 == 1] - 1  # the byte after each odd run
    after = after[after < len(data)]
    copy = bytearray(block)
    np.frombuffer(copy, dtype=np.uint8)[after[data[after] == ord('"')]] = ord("a")
    return copy


def _ends_in_odd_backslashes(block: bytes, odd_before: bool) -> bool:
    """Tell whether `block` ends in an odd run of backslashes (counting the carried one)."""
    if not block.endswith(b"\\"):
        return False
    data = np.frombuffer(block, dtype=np.uint8)
    others = np.flatnonzero(data != ord("\\"))
    if not len(others):  # the whole block continues the previous run
        return odd_before != (len(data) % 2 == 1)
    return (len(data) - 1 - int(others[-1])) % 2 == 1

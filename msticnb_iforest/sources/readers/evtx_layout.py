"""
The structure of an EVTX file, the parser, and the account of what a read could not use.

`_Layout.scan` reads the 4096-byte file header and the header of every
64 KiB chunk without decoding a record: it checks the signature, classifies
each chunk (``ok``, ``damaged`` or ``unused``, counting the records a
damaged header hides by their own headers) and keeps a chunk cut by the end
of the file (`_Partial`) with its complete records. `_info` turns the layout
and what `msticnb_iforest.sources.readers.evtx` read into the info dict of
`read_evtx`, with one problem sentence per loss. `_parser` opens the
``evtx`` package's parser and `_library_message` shortens its messages.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any, Protocol

from ...errors import InputDataError

_LIBRARY_PREFIXES = (
    "Skipping EVTX data: ",
    "RuntimeError: ",
    "An error occurred while trying to deserialize evtx stream.: ",
)

# File layout: a 4096-byte file header, then chunks of 64 KiB, each with a
# 512-byte header and records that start with a 24-byte record header.
_FILE_MAGIC = b"ElfFile\x00"
_CHUNK_MAGIC = b"ElfChnk\x00"
_RECORD_MAGIC = b"\x2a\x2a\x00\x00"
_FILE_HEADER_SIZE = 4096
_CHUNK_SIZE = 65536
_CHUNK_HEADER_SIZE = 512
_RECORD_HEADER_SIZE = 24
_MIN_RECORD_SIZE = _RECORD_HEADER_SIZE + 4  # header and the trailing size copy
_MAX_RECORDS_PER_CHUNK = (_CHUNK_SIZE - _CHUNK_HEADER_SIZE) // _MIN_RECORD_SIZE


# --------------------------------------------------------------------------
# File layout: header, chunks, a truncated last chunk
# --------------------------------------------------------------------------
class _Chunk:
    """What a chunk header says: position, state and the records it holds."""

    __slots__ = ("checksum_ok", "expected", "index", "offset", "state")

    def __init__(
        self, index: int, offset: int, state: str, expected: int | None, checksum_ok: bool = True
    ) -> None:
        self.index = index
        self.offset = offset
        self.state = state  # "ok", "damaged" or "unused"
        self.expected = expected
        self.checksum_ok = checksum_ok


class _Partial:
    """A chunk cut by the end of the file, with its complete records."""

    __slots__ = ("complete_end", "data", "expected", "ids", "index", "offset", "records_end")

    def __init__(self, index: int, offset: int, data: bytes) -> None:
        self.index = index
        self.offset = offset
        self.data = data
        self.ids, self.complete_end = _complete_records(data)
        self.expected = _expected_records(data)
        # Where the chunk header says its records end (its free space starts).
        free = struct.unpack_from("<I", data, 48)[0] if len(data) >= 52 else 0
        self.records_end = free if _CHUNK_HEADER_SIZE <= free <= _CHUNK_SIZE else len(data)


class _Layout:
    """The file header and chunk headers, read without decoding records."""

    def __init__(self, header: bytes, chunks: list[_Chunk], partial: _Partial | None) -> None:
        self.header = header
        self.chunks = chunks
        self.partial = partial

    @property
    def holds_data(self) -> bool:
        """True if the file has any chunk that is not unused."""
        return self.partial is not None or any(c.state != "unused" for c in self.chunks)

    @classmethod
    def scan(cls, path: Path) -> _Layout:
        """Check the signature and header, and read every chunk header."""
        if not path.exists():
            raise InputDataError(f"{path}: file not found.")
        if not path.is_file():
            raise InputDataError(f"{path}: not a regular file.")
        try:
            size = path.stat().st_size
            with open(path, "rb") as handle:
                header = handle.read(_FILE_HEADER_SIZE)
                if size == 0:
                    raise InputDataError(f"{path}: file is empty.")
                if not header.startswith(_FILE_MAGIC):
                    raise InputDataError(
                        f"{path}: not an EVTX file (it does not start with the "
                        f"'ElfFile' signature; it starts with {header[:8]!r})."
                    )
                if len(header) < _FILE_HEADER_SIZE:
                    raise InputDataError(
                        f"{path}: truncated inside its {_FILE_HEADER_SIZE}-byte EVTX file "
                        f"header ({size} bytes)."
                    )
                chunks, partial = [], None
                offset = _FILE_HEADER_SIZE
                while offset < size:
                    index = len(chunks)
                    head = handle.read(_CHUNK_HEADER_SIZE)
                    if offset + _CHUNK_SIZE > size:
                        partial = _Partial(index, offset, head + handle.read())
                        break
                    chunks.append(cls._chunk(index, offset, head, handle))
                    offset += _CHUNK_SIZE
                    handle.seek(offset)
        except OSError as exc:
            raise InputDataError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        return cls(header, chunks, partial)

    @staticmethod
    def _chunk(index: int, offset: int, head: bytes, handle: Any) -> _Chunk:
        """Classify one whole chunk by its header."""
        if head.startswith(_CHUNK_MAGIC):
            if _header_checksum_ok(head):
                return _Chunk(index, offset, "ok", _expected_records(head))
            # Damaged record numbers can make the parser skip records without
            # a word: count the records by their own headers instead.
            walked, _ = _complete_records(head + handle.read(_CHUNK_SIZE - len(head)))
            return _Chunk(index, offset, "ok", len(walked), checksum_ok=False)
        rest = handle.read(_CHUNK_SIZE - len(head))
        if head == bytes(len(head)) and rest == bytes(len(rest)):  # all zero
            return _Chunk(index, offset, "unused", 0)
        # The records the damaged header hides, counted by their own headers.
        walked, _ = _complete_records(head + rest, check_magic=False)
        return _Chunk(index, offset, "damaged", len(walked) or _expected_records(head))


def _header_checksum_ok(head: bytes) -> bool:
    """Check a chunk header's CRC32 (of its bytes 0-120 and 128-512)."""
    stored = struct.unpack_from("<I", head, 124)[0]
    return zlib.crc32(head[:120] + head[128:_CHUNK_HEADER_SIZE]) == stored


def _expected_records(head: bytes) -> int | None:
    """Count the records a chunk header lists (first to last record id), if plausible."""
    if len(head) < 40:
        return None
    first, last = struct.unpack_from("<QQ", head, 24)
    if first == 0 or last < first or last - first >= _MAX_RECORDS_PER_CHUNK:
        return None
    return int(last - first + 1)


def _complete_records(chunk: bytes, *, check_magic: bool = True) -> tuple[set[int], int]:
    """
    Find the complete records of a chunk (one cut by the end of the file).

    Walks the record headers from the first record; a record is complete
    when its header is intact, it ends inside the data and its trailing copy
    of the size matches. Returns their record ids and where they end. With
    `check_magic` false the chunk's own header is not checked (to count the
    records behind a damaged one).
    """
    ids: set[int] = set()
    offset = _CHUNK_HEADER_SIZE
    if check_magic and not chunk.startswith(_CHUNK_MAGIC):
        return ids, 0
    while offset + _RECORD_HEADER_SIZE <= len(chunk):
        if chunk[offset : offset + 4] != _RECORD_MAGIC:
            break
        size, record_id = struct.unpack_from("<IQ", chunk, offset + 4)
        end = offset + size
        if size < _MIN_RECORD_SIZE or end > len(chunk):
            break
        if struct.unpack_from("<I", chunk, end - 4)[0] != size:
            break
        ids.add(int(record_id))
        offset = end
    return ids, offset if ids else 0


# --------------------------------------------------------------------------
# The parser and its messages
# --------------------------------------------------------------------------
def _parser(path: Path, source: Any) -> Any:
    """Open the EVTX parser on `source`; errors name the file."""
    try:
        from evtx import PyEvtxParser
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise InputDataError(
            f"{path}: reading .evtx files needs the 'evtx' package (pip install evtx)."
        ) from exc
    try:
        return PyEvtxParser(source, number_of_threads=1, indent=False, skip_errors=True)
    except TypeError as exc:  # an older evtx without skip_errors
        raise InputDataError(
            f"{path}: reading .evtx files needs evtx>=0.14 (pip install -U evtx)."
        ) from exc
    except (RuntimeError, OSError, ValueError) as exc:
        raise InputDataError(f"{path}: cannot read as evtx: {_library_message(exc)}") from exc


def _library_message(error: object) -> str:
    """One line of a parser message, without its generic prefixes."""
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else type(error).__name__
    changed = True
    while changed:
        changed = False
        for prefix in _LIBRARY_PREFIXES:
            if text.startswith(prefix):
                text, changed = text[len(prefix) :], True
    return text.replace("An error occurred while trying to deserialize evtx stream.: ", "")


# --------------------------------------------------------------------------
# Info
# --------------------------------------------------------------------------
class _ReadCounts(Protocol):
    """What `_info` needs to know of a file's record reader (``evtx._RecordReader``)."""

    records_read: int
    unreadable: int
    record_errors: int
    reasons: dict[str, int]
    other_reasons: int
    stopped: bool
    max_records: int | None
    dropped: dict[int, int]


def _info(path: Path, layout: _Layout, reader: _ReadCounts, rows: int) -> dict[str, Any]:
    """Build the info dict, with one problem sentence per loss."""
    problems: list[str] = []
    damaged = [c for c in layout.chunks if c.state == "damaged"]
    for chunk in damaged:
        problems.append(
            f"{path}: chunk {chunk.index} (at byte {chunk.offset:,}) skipped: its header "
            "is damaged."
        )
    bytes_skipped = _CHUNK_SIZE * len(damaged)
    partial = layout.partial
    if partial is not None:
        skipped = max(0, min(len(partial.data), partial.records_end) - partial.complete_end)
        bytes_skipped += skipped
        problems.append(
            f"{path}: the file ends {len(partial.data):,} bytes into chunk {partial.index} "
            f"(truncated); {len(partial.ids)} complete record(s) read from that chunk"
            + (f", the {skipped:,} byte(s) of records after them not read." if skipped else ".")
        )
    unreadable = reader.unreadable + reader.record_errors
    listed = [c.expected for c in layout.chunks if c.state != "unused"]
    if partial is not None:
        listed.append(partial.expected)
    counted = ""
    if not reader.stopped and all(n is not None for n in listed):
        total = sum(listed)  # type: ignore[arg-type]
        not_read = total - reader.records_read + reader.unreadable
        if not_read > unreadable:
            unreadable = not_read
            counted = f" (the chunks hold {total:,}, {reader.records_read:,} were read)"
    if unreadable:
        reasons = "; ".join(
            f"{message} ({count}x)" if count > 1 else message
            for message, count in reader.reasons.items()
        )
        if reader.other_reasons:
            reasons += f"; {reader.other_reasons:,} other message(s)"
        bad_headers = [str(c.index) for c in layout.chunks if not c.checksum_ok]
        if bad_headers and counted:
            reasons = "; ".join(
                filter(None, [reasons, "damaged header of chunk(s) " + ", ".join(bad_headers)])
            )
        if partial is not None:
            reasons = "; ".join(filter(None, ["the end of the file cuts a chunk", reasons]))
        problems.append(
            f"{path}: {'' if counted else 'at least '}{unreadable:,} record(s) could not be "
            f"read{counted}" + (f": {reasons}." if reasons else ".")
        )
    if reader.stopped:
        problems.append(
            f"{path}: stopped after max_records={reader.max_records:,} records; the rest of "
            "the file was not read."
        )
    return {
        "path": str(path),
        "format": "evtx",
        "rows": rows,
        "records_read": reader.records_read,
        "dropped_event_ids": dict(sorted(reader.dropped.items())),
        "unreadable_records": unreadable,
        "chunks": len(layout.chunks) + (partial is not None),
        "chunks_skipped": len(damaged) + (partial is not None and not partial.ids),
        "bytes_skipped": bytes_skipped,
        "truncated": partial is not None,
        "stopped_at_max_records": reader.stopped,
        "problems": problems,
    }


def _short(problem: str, path: Path) -> str:
    """Return a problem sentence without its leading file name."""
    return problem.removeprefix(f"{path}: ")

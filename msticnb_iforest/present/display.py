r"""
Make text from the data safe to show to a person.

Account names, reasons, notes and file names come from data an attacker may
choose. A right-to-left override (U+202E) makes ``admin\u202egnp.exe`` look
like ``adminexe.png``; zero-width characters make two different names look
the same; control characters move a terminal's cursor or change its colours;
a name of a million characters makes a plot title take minutes to lay out.
Every place that shows such text to a person (terminal lines, the HTML
report, the outlier browser, plot text) passes it through `safe_text` first.
The DataFrames, CSV files and pivots keep the exact value.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LABEL_WIDTH", "TITLE_WIDTH", "account_label", "safe_text"]

#: Most characters of a data value in a plot title, tick label, figure
#: caption or widget option; longer values end with an ellipsis (tables keep
#: the whole value).
LABEL_WIDTH = 60

#: Most characters of a plot title (an account label plus a date and a score).
TITLE_WIDTH = 100

#: Characters Python counts as printable that show as nothing: Hangul
#: fillers, the braille blank, the combining grapheme joiner, Khmer inherent
#: vowels, Mongolian and Unicode variation selectors.
_INVISIBLE = frozenset(
    "\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5\u180b\u180c\u180d\u180f"
    + "".join(map(chr, range(0xFE00, 0xFE10)))
    + "".join(map(chr, range(0xE0100, 0xE01F0)))
)

# Text is checked in chunks: a long clean run costs one C-level scan.
_CHUNK = 4096


def _escaped(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _piece(char: str) -> str:
    """Return a character as shown: itself, or its escape."""
    return char if char.isprintable() and char not in _INVISIBLE else _escaped(char)


class _Shown(dict):
    """``str.translate`` table: code point to the text shown, filled as met."""

    def __missing__(self, code: int) -> str:
        piece = _piece(chr(code))
        if len(self) < 65536:  # bounded: hostile text may hold every code point
            self[code] = piece
        return piece


_SHOWN = _Shown()


def _clean(chunk: str) -> bool:
    return chunk.isprintable() and _INVISIBLE.isdisjoint(chunk)


def _escape_all(text: str) -> str:
    if _clean(text):
        return text
    parts = []
    for start in range(0, len(text), _CHUNK):
        chunk = text[start : start + _CHUNK]
        parts.append(chunk if _clean(chunk) else chunk.translate(_SHOWN))
    return "".join(parts)


def safe_text(value: Any, width: int | None = None) -> str:
    r"""
    Return a value as text that shows what it holds, on one line.

    Every character that is not printable or shows as nothing is replaced by
    its escape (``\x1b``, ``\u202e``, ``\U000e0041``): control characters
    (Unicode category Cc, including tab, CR and LF), format characters (Cf:
    bidirectional controls such as U+202A-U+202E, U+2066-U+2069, U+200E,
    U+200F and U+061C, zero-width U+200B-U+200D, U+2060, U+FEFF, ...), line
    and paragraph separators, spaces other than the plain space (U+00A0,
    U+3000, ...), surrogates, private-use and unassigned code points, and a
    few printable but invisible letters (Hangul fillers, variation
    selectors). Backslashes are kept as they are.

    Parameters
    ----------
    value : Any
        The value to show; converted with ``str``.
    width : int, optional
        Most characters to return: longer text is cut (never inside an
        escape) and ends with "…". Only the first `width` characters of a
        long value are examined, so a huge value costs nothing.

    Returns
    -------
    str

    """
    text = str(value)
    if width is None:
        return _escape_all(text)
    if width < 1:
        raise ValueError(f"width must be 1 or more, got {width!r}")
    if len(text) <= width:
        shown = _escape_all(text)
        if len(shown) <= width:
            return shown
    kept, used = [], 0
    for char in text[:width]:
        piece = _piece(char)
        if used + len(piece) > width - 1:
            break
        kept.append(piece)
        used += len(piece)
    return "".join(kept) + "…"


def account_label(domain: Any, user: Any, width: int | None = LABEL_WIDTH) -> str:
    r"""
    Return ``DOMAIN\user`` made safe with `safe_text`, at most `width` long.

    The domain takes at most half of `width` so that a long domain cannot
    hide the user name.
    """
    if width is None:
        return f"{safe_text(domain)}\\{safe_text(user)}"
    dom = safe_text(domain, max(width // 2, 1))
    return dom + "\\" + safe_text(user, max(width - len(dom) - 1, 1))

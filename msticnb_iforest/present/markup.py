"""
Small HTML pieces shared by the report's modules: safe text, numbers, sections.

Every value that reaches the page goes through `text` (or `pre`): first made
safe with `display.safe_text`, then HTML-escaped (for text and attributes).
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

import pandas as pd

from .display import safe_text

__all__ = ["attr", "fmt_date", "fmt_num", "kv", "pre", "section", "text"]


def text(value: Any, width: int | None = None) -> str:
    r"""
    Make any value safe to show (`safe_text`), then escape it for HTML text or an attribute.

    Examples
    --------
    >>> text('<b>"x"</b>\u202e')
    '&lt;b&gt;&quot;x&quot;&lt;/b&gt;\\u202e'

    """
    return escape("" if value is None else safe_text(value, width), quote=True)


def attr(value: Any) -> str:
    """
    Escape exact text (such as code to copy) for an attribute value, changing nothing else.

    Examples
    --------
    >>> attr('say "hi" & <go>')
    'say &quot;hi&quot; &amp; &lt;go&gt;'

    """
    return escape(str(value), quote=True)


def pre(value: Any) -> str:
    """Escape multi-line text (code, a query) line by line, keeping its line breaks."""
    return "\n".join(text(line) for line in str(value).split("\n"))


def fmt_date(value: Any) -> str:
    """
    Write a day as ``YYYY-MM-DD`` (anything else as it is).

    Examples
    --------
    >>> fmt_date(pd.Timestamp("2024-03-21 10:00"))
    '2024-03-21'

    """
    try:
        return f"{pd.Timestamp(value):%Y-%m-%d}"
    except (ValueError, TypeError):
        return str(value)


def fmt_num(value: Any, digits: int = 4) -> str:
    """
    Write a number with `digits` decimals (anything else as it is).

    Examples
    --------
    >>> fmt_num(0.085049)
    '0.0850'

    """
    try:
        return f"{float(value):.{digits}f}"
    except (ValueError, TypeError):
        return str(value)


def kv(rows: Iterable[tuple[str, str]]) -> str:
    """Build a key/value table; keys are plain text, values are HTML already."""
    body = "".join(f"<tr><th>{text(key)}</th><td>{value}</td></tr>" for key, value in rows)
    return f'<table class="kv">{body}</table>'


def section(anchor: str, heading: str, intro: str, content: str) -> str:
    """Wrap HTML content in a section; heading and intro are plain text."""
    lead = f'<p class="muted">{text(intro)}</p>' if intro else ""
    return f'<section id="{anchor}"><h2>{text(heading)}</h2>{lead}{content}</section>'

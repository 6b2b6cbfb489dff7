"""
The sentences that tell an analyst what a run dropped and held back.

The command line, the notebook and the notebooklet say these the same way;
the HTML report shows the same counts as tables.
"""

from __future__ import annotations

from typing import Any

from ..wording import counts_text
from .display import safe_text

__all__ = ["dropped_line", "held_line"]


def dropped_line(result: Any) -> str | None:
    """
    Say how many input rows were dropped before scoring, and why (None if none).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> dropped_line(SimpleNamespace(dropped_rows={"machine_account": 3, "no_time": 0}))
    'Dropped 3 input row(s) before scoring: machine account (name ends in $) 3.'

    """
    counts = result.dropped_rows or {}
    total = sum(int(n) for n in counts.values())
    if not total:
        return None
    return f"Dropped {total:,} input row(s) before scoring: {safe_text(counts_text(counts))}."


def held_line(result: Any) -> str | None:
    """
    Say how many user-days the model flagged but the run does not report (None if none).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> held_line(SimpleNamespace(suppressed_outliers={"allow-listed account": 2}))
    'Flagged by the model but not reported: 2 user-day(s): allow-listed account 2.'

    """
    counts = result.suppressed_outliers or {}
    total = sum(int(n) for n in counts.values())
    if not total:
        return None
    text = safe_text(counts_text(counts))
    return f"Flagged by the model but not reported: {total:,} user-day(s): {text}."

"""
The words for what a run counts: why rows were dropped, per reason.

Kept apart from `schema` (what the data looks like) because only messages
and the report use it; the keys are those of ``dropped_rows``.
"""

from __future__ import annotations

__all__ = ["DROP_REASON_TEXT", "counts_text"]

#: Why input rows are dropped before scoring, by the key counted in
#: ``dropped_rows``, in the words a report or a message uses.
DROP_REASON_TEXT = {
    "not_4624_4625": "not a logon event (4624 or 4625)",
    "not_network_logon": "not a network logon (type 3)",
    "system_or_anonymous": "system, anonymous, window-manager or VM account",
    "machine_account": "machine account (name ends in $)",
    "no_time": "TimeGenerated missing or unreadable",
    "out_of_range": "outside the time window",
    "no_date": "no Date",
}


def counts_text(counts: dict[str, int]) -> str:
    """
    Say a count per reason in words, leaving out zeros.

    Examples
    --------
    >>> counts_text({"machine_account": 3, "no_time": 0, "allow-listed account": 1})
    'machine account (name ends in $) 3, allow-listed account 1'

    """
    return ", ".join(
        f"{DROP_REASON_TEXT.get(str(why), why)} {int(n):,}" for why, n in counts.items() if n
    )

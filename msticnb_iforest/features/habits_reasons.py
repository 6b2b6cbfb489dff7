"""
The words of the ``habits`` feature set: clauses about the habits a day broke.

The ``baseline`` inputs keep their own words
(`msticnb_iforest.features.baseline_reasons`); this module tells the inputs
the ``habits`` set adds, each in its own terms: the hour next to the hours
the account keeps, NTLM next to how often the account uses it, the host or
source that does not belong, and how long the account had been quiet.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from .baseline import _NOVELTY
from .baseline_reasons import reason_clauses, row_number
from .clauses import clause, count_text

__all__ = ["HABIT_NOVELTY", "habit_clauses", "habit_feature_clauses", "hours_text"]

#: Novelty inputs of the ``habits`` set and the count column each scores.
HABIT_NOVELTY = {**_NOVELTY, "new_source_nets": "NovelSrcNet"}


def hours_text(mask: int) -> str:
    """
    Say a 24-bit mask of UTC hours as ranges of clock hours.

    Examples
    --------
    >>> hours_text(0b111111111 << 8)
    '08–16 UTC'
    >>> hours_text((1 << 23) | 1 | (1 << 12))
    '12, 23–00 UTC'
    >>> hours_text(0)
    'none'

    """
    hours = [h for h in range(24) if int(mask) >> h & 1]
    if not hours:
        return "none"
    if len(hours) == 24:
        return "every hour"
    # Start the runs after an unused hour, so a run across midnight stays whole.
    start = next(h for h in range(24) if not int(mask) >> ((h - 1) % 24) & 1 and int(mask) >> h & 1)
    ordered = [(start + i) % 24 for i in range(24) if int(mask) >> ((start + i) % 24) & 1]
    runs: list[list[int]] = []
    for hour in ordered:
        if runs and (runs[-1][-1] + 1) % 24 == hour:
            runs[-1].append(hour)
        else:
            runs.append([hour])
    runs.sort(key=lambda run: run[0])
    parts = [f"{r[0]:02d}" if len(r) == 1 else f"{r[0]:02d}–{r[-1]:02d}" for r in runs]
    return ", ".join(parts) + " UTC"


def _hours_clause(row: pd.Series) -> list[dict]:
    hour = int(row_number(row, "odd_hour")) if "odd_hour" in row.index else -1
    if hour < 0:
        return []
    days = row_number(row, "odd_hour_days")
    others = row_number(row, "hour_days")
    usual = hours_text(int(row_number(row, "usual_hours")))
    text = (
        f"successful logons at {hour:02d}:00–{hour:02d}:59 UTC, an hour it logged on in "
        f"(or next to) on {days:,.0f} of its {others:,.0f} other days with logons (its "
        f"usual hours: {usual})"
    )
    return [clause("off_hours", "logons in an unusual hour", hour, text)]


def _ntlm_clause(row: pd.Series) -> list[dict]:
    logons = row_number(row, "NtlmLogons")
    if logons <= 0:
        return []
    days, of = row_number(row, "ntlm_days"), row_number(row, "logon_days")
    text = (
        f"{count_text(logons, 'NTLM logon')} (NTLM on {days:,.0f} of its {of:,.0f} other "
        "days with logons"
    )
    kerberos = row_number(row, "KerberosLogons")
    text += f"; {count_text(kerberos, 'Kerberos logon')} that day)" if kerberos else ")"
    return [clause("ntlm_unusual", "NTLM logons", logons, text)]


def _borrowed_clause(row: pd.Series) -> list[dict]:
    hosts = row_number(row, "NovelSrcHostOthers")
    if hosts <= 0:
        return []
    text = (
        f"{count_text(hosts, 'source host')} new to this account that "
        f"{'is' if hosts == 1 else 'are'} another account's usual workstation"
    )
    return [clause("others_workstation", "another account's workstations", hosts, text)]


def _failing_clause(row: pd.Series) -> list[dict]:
    days = row_number(row, "FailedSrcIpDays")
    if days < 2:
        return []
    usual = row_number(row, "failing_other_days")
    text = (
        f"one address failed for this account without a success on {days:,.0f} days of "
        f"the window (other days with such an address: {usual:,.0f})"
    )
    return [clause("failing_days", "days one source kept failing", days, text)]


def _quiet_clause(row: pd.Series) -> list[dict]:
    gap = row_number(row, "quiet_days")
    if gap <= 0:
        return []
    usual = row_number(row, "usual_gap")
    text = (
        f"first logon after {gap:,.0f} days without one (its gaps are usually at most "
        f"{usual:,.0f} days)"
    )
    return [clause("dormant_days", "days without a logon", gap, text, 0, usual)]


_WORDS = {
    "off_hours": _hours_clause,
    "ntlm_unusual": _ntlm_clause,
    "others_workstation": _borrowed_clause,
    "failing_days": _failing_clause,
    "dormant_days": _quiet_clause,
}


def habit_feature_clauses(row: pd.Series, feature: str) -> list[dict]:
    """
    Tell one habit input of a flagged row (no clause for a feature it does not know).

    Examples
    --------
    >>> row = pd.Series({"quiet_days": 27, "usual_gap": 7})
    >>> habit_feature_clauses(row, "dormant_days")[0]["text"]
    'first logon after 27 days without one (its gaps are usually at most 7 days)'

    """
    words = _WORDS.get(feature)
    return words(row) if words else []


def habit_clauses(
    row: pd.Series,
    top_features: list[str],
    attribution: Mapping[str, float] | None = None,
) -> list[dict]:
    """
    Pick the clauses of a reason: the baseline set's rules, with the habits' words.

    Ordering and leaving out what is within the usual range follow
    `msticnb_iforest.features.baseline_reasons.reason_clauses`.
    """
    return reason_clauses(row, top_features, HABIT_NOVELTY, attribution, habit_feature_clauses)

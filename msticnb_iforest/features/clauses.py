"""
Reasons as clauses: one fact about a flagged day each, strongest first.

A clause is a plain dict, so that a table cell, a CSV writer or a widget can
read it without this package::

    {"feature": "failed_logons", "label": "failed logons", "value": 201.0,
     "usual_low": 0.0, "usual_high": 1.0, "text": "201 failed logons (usually 0–1 a day)"}

``feature`` is the model feature the clause is evidence for, ``label`` what
is counted in plain words, ``value`` the day's number, ``usual_low`` and
``usual_high`` the account's usual range (None when there is none to compare
with) and ``text`` the clause as the reason says it.

How a reason is put together (`rank_clauses`, `keep_telling`, `reason_text`):

1. **Most specific first.** Clauses about one source across accounts or
   names (a password spray, a burst of workstation names from one address)
   name where the activity came from and what it looks like; they lead.
2. **Then strongest first**, by the model's own attribution of the clause's
   feature: the most negative SHAP value (or `explain.rarity` when SHAP is
   off) first; equal attributions keep the feature set's order.
3. **Normal is not news.** A clause whose value lies inside the account's
   usual range is left out. When that would leave nothing, the strongest
   clause is kept and says that its value is within the usual range, so a
   reason is never empty.
4. The clauses' texts are joined by ``"; "``; the feature set's sentence
   about the baseline (how many days of history, or too little data to
   judge) follows after ``". "``.

Numbers follow one style: counts as integers with thousands separators,
usual ranges as ``usually 0–1 a day`` (an en dash; one number when the range
is a single value).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = [
    "NO_CLAUSE_TEXT",
    "clause",
    "count_text",
    "keep_telling",
    "rank_clauses",
    "reason_text",
    "usual_text",
    "within_usual",
]

#: What a reason says when no feature pushed the day towards anomalous.
NO_CLAUSE_TEXT = "unusual combination of values"


def clause(
    feature: str,
    label: str,
    value: float,
    text: str,
    usual_low: float | None = None,
    usual_high: float | None = None,
) -> dict:
    """
    Make one clause (see the module docstring for its keys).

    Missing or non-finite usual bounds become None; numbers become plain floats.

    Examples
    --------
    >>> clause("failed_logons", "failed logons", 31, "31 failed logons", 0, 1)["usual_high"]
    1.0

    """
    return {
        "feature": str(feature),
        "label": str(label),
        "value": float(value) + 0.0,  # + 0.0: no "-0.0"
        "usual_low": _bound(usual_low),
        "usual_high": _bound(usual_high),
        "text": str(text),
    }


def _bound(value: float | None) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number + 0.0 if math.isfinite(number) else None


def count_text(count: float, noun: str) -> str:
    """
    Say a count as an integer with its noun, plural unless the count is 1.

    Examples
    --------
    >>> count_text(1.0, "computer"), count_text(3000, "source host")
    ('1 computer', '3,000 source hosts')

    """
    value = int(round(float(count)))
    return f"{value:,} {noun}" + ("" if value == 1 else "s")


def usual_text(low: float, high: float, per: str = "a day") -> str:
    """
    Say a usual range of counts, as integers with an en dash.

    Examples
    --------
    >>> usual_text(0.0, 1.0), usual_text(1, 1, "new a day")
    ('usually 0–1 a day', 'usually 1 new a day')

    """
    lo, hi = int(round(float(low))), int(round(float(high)))
    span = f"{lo:,}" if lo == hi else f"{lo:,}–{hi:,}"
    return f"usually {span} {per}"


def within_usual(item: Mapping) -> bool:
    """
    Tell whether a clause's value lies inside its usual range (bounds included).

    Examples
    --------
    >>> within_usual(clause("f", "source IPs", 165, "", 106, 186))
    True
    >>> within_usual(clause("f", "source IPs", 2, "", 1, 1)), within_usual(clause("f", "x", 2, ""))
    (False, False)

    """
    low, high = item.get("usual_low"), item.get("usual_high")
    if low is None or high is None:
        return False
    return float(low) <= float(item["value"]) <= float(high)


def rank_clauses(
    candidates: list[tuple[int, dict]], attribution: Mapping[str, float] | None = None
) -> list[dict]:
    """
    Order clauses: specificity tier first, then the model's attribution.

    Parameters
    ----------
    candidates : list of (int, dict)
        Each clause with its tier: 0 for a clause about one source across
        accounts or names, 1 for the account's own counts and novelty.
    attribution : mapping of str to float, optional
        Per feature, its contribution to the day's score (SHAP values or
        rarity: more negative is stronger). Without it the candidates'
        order stands within a tier.

    Returns
    -------
    list of dict
        The clauses, most specific and strongest first; ties keep their
        order in `candidates`.

    Examples
    --------
    >>> a = clause("new_computers", "new computers", 1, "1 computer new")
    >>> b = clause("spray_accounts", "accounts", 57, "spray")
    >>> [c["text"] for c in rank_clauses([(1, a), (0, b)], {"new_computers": -2.7})]
    ['spray', '1 computer new']

    """
    weights = attribution or {}

    def key(position: int) -> tuple[int, float, int]:
        tier, item = candidates[position]
        strength = _bound(weights.get(item["feature"], 0.0)) or 0.0
        return tier, strength, position

    return [candidates[i][1] for i in sorted(range(len(candidates)), key=key)]


def keep_telling(ranked: list[dict]) -> list[dict]:
    """
    Leave out clauses within the usual range, keeping at least the strongest.

    When every clause is within its usual range, the first (strongest) is
    kept and its text says so.

    Examples
    --------
    >>> normal = clause("sources_vs_usual", "source IPs", 165, "165 source IPs", 106, 186)
    >>> [c["text"] for c in keep_telling([normal])]
    ['165 source IPs, within its usual range']

    """
    kept = [item for item in ranked if not within_usual(item)]
    if kept or not ranked:
        return kept
    first = dict(ranked[0])
    first["text"] = f"{first['text']}, within its usual range"
    return [first]


def reason_text(clauses: list[dict], baseline: str = "") -> str:
    """
    Join the clauses' texts with "; " and add the baseline sentence after ". ".

    Examples
    --------
    >>> reason_text([clause("f", "x", 2, "2 x"), clause("g", "y", 3, "3 y")], "Baseline: 9 days")
    '2 x; 3 y. Baseline: 9 days'
    >>> reason_text([])
    'unusual combination of values'

    """
    text = "; ".join(item["text"] for item in clauses) or NO_CLAUSE_TEXT
    return f"{text}. {baseline}" if baseline else text

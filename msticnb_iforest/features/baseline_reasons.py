"""
The words of the ``baseline`` feature set: clauses about a flagged account-day.

Each function reads one user-day (its input columns, model features and the
context columns `BaselineFeatures.compute` adds) and returns clauses (see
`msticnb_iforest.features.clauses`) in the table's own terms: the day's count
next to the account's usual range on its other days, what was new for the
account, and what one source did across accounts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from .clauses import clause, count_text, keep_telling, rank_clauses, usual_text

__all__ = ["HOST_BURST", "baseline_sentence", "feature_clauses", "reason_clauses", "row_number"]

#: A source address sending at least this many workstation names in a day is a burst.
HOST_BURST = 20

#: What each count column counts, singular.
NOUNS = {
    "FailedLogons": "failed logon",
    "SuccessfulLogons": "successful logon",
    "ComputersAccessed": "computer",
    "ComputersSuccessfulAccess": "computer",
    "DistinctSrcIp": "source IP",
    "SrcIps": "source IP",
    "SrcHosts": "source host",
    "SrcIpSuccessfulAccess": "source IP",
    "DistinctSrcHostName": "source host",
    "SrcHostNameSuccessfulAccess": "source host",
    "NovelSrcIp": "source IP",
    "NovelSrcHost": "source host",
    "NovelComputer": "computer",
    "NovelSrcNet": "source network",
}

#: The column naming the values each novelty count counts (account-day tables only).
_NAMED = {"NovelSrcIp": "NewSrcIps", "NovelSrcHost": "NewSrcHosts", "NovelComputer": "NewComputers"}

#: Tells the clauses of features the baseline words do not know (row, feature).
ExtraClauses = Callable[[pd.Series, str], list[dict]]

#: Features that tell one story: the first stands for both in a reason.
_SAME_STORY = ("failed_logons", "failed_vs_usual")
_SPRAY = "spray_accounts"
#: Features whose evidence tells a burst of workstation names, and its label.
_BURST_HOLDERS = ("sources_vs_usual", "new_source_hosts")
_BURST = "workstation names from one address"
_NOT_A_DAY = "no other day to compare with"


def row_number(row: pd.Series, column: str) -> float:
    """Return a row's number in `column`, 0 when missing or not a number."""
    number = row.get(column)
    try:
        number = float(number)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if np.isnan(number) else number


def _days(row: pd.Series) -> int:
    return int(row_number(row, "baseline_days"))


def _count_clause(row: pd.Series, feature: str, column: str, aside: str = "") -> dict:
    """Set the day's count of `column` against the account's usual range on its other days."""
    count = row_number(row, column)
    noun = NOUNS.get(column, column)
    low, high = row.get(f"{column}_usual_low"), row.get(f"{column}_usual_high")
    text = count_text(count, noun)
    if _days(row) == 0 or pd.isna(low) or pd.isna(high):
        return clause(feature, noun + "s", count, f"{text} ({_NOT_A_DAY}{aside})")
    usual = usual_text(low, high)
    return clause(feature, noun + "s", count, f"{text} ({usual}{aside})", low, high)


def _novelty_clause(row: pd.Series, feature: str, column: str) -> dict:
    """Count the values the account used for the first time, against its usual new ones."""
    count = row_number(row, column)
    noun = NOUNS[column]
    label = f"new {noun}s"
    low, high = row.get(f"{column}_usual_low"), row.get(f"{column}_usual_high")
    text = f"{count_text(count, noun)} new to this account"
    names = _names_text(row, column, count)
    if _days(row) == 0 or pd.isna(low) or pd.isna(high):
        return clause(feature, label, count, f"{text} ({_NOT_A_DAY}){names}")
    usual = usual_text(low, high, "new a day")
    return clause(feature, label, count, f"{text} ({usual}){names}", low, high)


def _names_text(row: pd.Series, column: str, count: float) -> str:
    """Name the new values when the row has them (``": a, b and 3 more"``), else ""."""
    names = row.get(_NAMED.get(column, ""))
    if not isinstance(names, str) or not names.strip():
        return ""
    listed = names.split(",")
    more = int(count) - len(listed)
    return ": " + ", ".join(listed) + (f" and {more:,} more" if more > 0 else "")


def _sourceless_text(row: pd.Series) -> str:
    """Say how many logons had no source address or came from the machine itself."""
    parts = []
    none, local = row_number(row, "NoSrcIpLogons"), row_number(row, "LocalSrcIpLogons")
    if none:
        parts.append(f"{count_text(none, 'logon')} without a source address")
    if local:
        parts.append(f"{count_text(local, 'logon')} from the machine itself")
    return f"; not counted as sources: {', '.join(parts)}" if parts else ""


def _burst(row: pd.Series) -> bool:
    """Tell whether the day's busiest source address sent a burst of workstation names."""
    return row_number(row, "SrcIpHosts") >= HOST_BURST


def _burst_clause(row: pd.Series, feature: str) -> dict:
    hosts = row_number(row, "SrcIpHosts")
    many = "thousands of" if hosts >= 2000 else "hundreds of" if hosts >= 200 else f"{hosts:,.0f}"
    text = (
        f"{hosts:,.0f} distinct workstation names from one address "
        f"({row.get('HostsSrcIp', '') or 'unknown'}): a name that changes on every "
        f"attempt, as password-guessing tools send, not {many} real hosts"
    )
    return clause(feature, _BURST, hosts, text)


def _spray_clause(row: pd.Series) -> dict:
    accounts = row_number(row, "SrcIpFailedAccounts")
    mean = row_number(row, "SrcIpFailedAccountsUsual")  # an average over the other days
    low, high = np.floor(mean + 1e-9), np.ceil(mean - 1e-9)
    source = str(row.get("FailedSrcIp", "") or "one source address")
    text = (
        f"{source} failed against {count_text(accounts, 'account')} that day "
        f"({usual_text(low, high)}): a password spray pattern"
    )
    return clause(_SPRAY, "accounts one source failed against", accounts, text, low, high)


def feature_clauses(
    row: pd.Series,
    feature: str,
    novelty: Mapping[str, str],
    *,
    with_burst: bool = True,
    extra: ExtraClauses | None = None,
) -> list[dict]:
    """
    List every clause that is evidence for one feature of a flagged row, unfiltered.

    `novelty` maps the novelty features to their count columns. A deviation
    feature gives one clause per count column it compares (source IPs and
    source hosts for ``sources_vs_usual``); a burst of workstation names is
    told with the source features unless `with_burst` is False. Other
    features are told by `extra` when given (a feature set's own words),
    else give no clause.
    """
    if feature in _SAME_STORY:
        return [_count_clause(row, feature, "FailedLogons")]
    found = []
    if feature.endswith("_vs_usual"):
        columns = [c for c in str(row.get(f"{feature}_columns", "") or "").split("|") if c]
        aside = _sourceless_text(row) if feature == "sources_vs_usual" else ""
        found = [_count_clause(row, feature, c, "" if i else aside) for i, c in enumerate(columns)]
    elif feature in novelty:
        found = [_novelty_clause(row, feature, novelty[feature])]
    elif feature == _SPRAY:
        found = [_spray_clause(row)]
    elif extra is not None:
        found = extra(row, feature)
    if with_burst and found and feature in _BURST_HOLDERS and _burst(row):
        found.append(_burst_clause(row, feature))
    return found


def reason_clauses(
    row: pd.Series,
    top_features: list[str],
    novelty: Mapping[str, str],
    attribution: Mapping[str, float] | None = None,
    extra: ExtraClauses | None = None,
) -> list[dict]:
    """
    Pick the clauses of a reason: most specific and strongest first, normal ones left out.

    The top features' clauses, told once each (failed logons once for the
    magnitude and the deviation: the stronger of the two stands for both),
    plus a spray or a burst of workstation names whenever the day shows one,
    even when the model ranked it lower (a spray's victims are told apart
    from each other by other features, yet the spray is what the analyst
    needs first). Order and filtering are those of
    `msticnb_iforest.features.clauses`: clauses about one source across
    accounts (spray, burst) lead, then the others by `attribution` (most
    negative first); clauses within the account's usual range are left out
    (when nothing else is left, the strongest is kept, marked as within
    the range).
    """
    names = list(dict.fromkeys(top_features))
    if all(name in names for name in _SAME_STORY):
        names.remove(_SAME_STORY[1] if attribution is None else _weaker(attribution))
    found = [
        item
        for name in names
        for item in feature_clauses(row, name, novelty, with_burst=False, extra=extra)
    ]
    if _SPRAY not in names and row_number(row, _SPRAY) > 0:
        found.append(_spray_clause(row))
    if _burst(row):
        holders = [name for name in names if name in _BURST_HOLDERS]
        present = [name for name in reversed(_BURST_HOLDERS) if name in row.index]
        found.append(_burst_clause(row, (holders or present or ["sources_vs_usual"])[0]))
    tiers = [(0 if c["feature"] == _SPRAY or c["label"] == _BURST else 1, c) for c in found]
    return keep_telling(rank_clauses(tiers, attribution))


def _weaker(attribution: Mapping[str, float]) -> str:
    """Name the failed-logon feature with the weaker (less negative) attribution."""
    first, second = _SAME_STORY
    return second if attribution.get(first, 0.0) <= attribution.get(second, 0.0) else first


def baseline_sentence(row: pd.Series, need: int) -> str:
    """
    Say how much history the day was judged on, and when that is too little.

    Examples
    --------
    >>> baseline_sentence(pd.Series({"baseline_days": 16}), 5)
    'Baseline: 16 days'
    >>> baseline_sentence(pd.Series({"baseline_days": 2}), 5).split(":")[1]
    ' 2 days, too little data to judge (fewer than 5 other days)'

    """
    days = _days(row)
    if days >= need:
        return f"Baseline: {count_text(days, 'day')}"
    if days == 0:
        return (
            "Baseline: none, too little data to judge (the account has no other day in the "
            "window): nothing is compared with its usual activity and everything it did is new"
        )
    return (
        f"Baseline: {count_text(days, 'day')}, too little data to judge (fewer than "
        f"{count_text(need, 'other day')}): counts are not compared with its usual activity"
    )

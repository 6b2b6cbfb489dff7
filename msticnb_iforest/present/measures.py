"""
Model features in an analyst's words: plain names and the day's real values.

The model sees transformed values (``failed_logons = 5.31`` is
``log(1 + 201)``); a chart should say "failed logons: 201 (usual 0-1)".
This module reads the real values from an outlier's row: the structured
reasons (``clauses`` of the explanations) when the hunt has them, else the
input and context columns the feature sets keep beside the features
(``FailedLogons``, ``FailedLogons_usual_low``, ``<feature>_columns``, ...).
A feature it knows nothing about keeps its name and model value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

__all__ = ["bar_labels", "column_name", "feature_name"]

#: Plain names of the input columns drawn in trends and named in labels.
COLUMN_NAMES = {
    "FailedLogons": "failed logons",
    "SuccessfulLogons": "successful logons",
    "AttemptedLogons": "attempted logons",
    "ComputersAccessed": "computers",
    "ComputersSuccessfulAccess": "computers logged on to",
    "ComputerDomainsSuccessfulAccess": "account domains",
    "DistinctSrcIp": "source IPs",
    "DistinctSrcHostName": "source hosts",
    "SrcIps": "source IPs",
    "SrcHosts": "source hosts",
    "SrcIpSuccessfulAccess": "source IPs",
    "SrcHostNameSuccessfulAccess": "source hosts",
    "NovelSrcIp": "new source IPs",
    "NovelSrcHost": "new source hosts",
    "NovelComputer": "new computers",
    "SrcIpFailedAccounts": "accounts its failing source failed against",
    "NovelSrcNet": "new source networks",
    "NtlmLogons": "NTLM logons",
    "KerberosLogons": "Kerberos logons",
    "NovelSrcHostOthers": "other accounts' workstations",
    "FailedSrcIpDays": "days a new source kept failing",
}

#: Plain names of model features, and the input column holding each one's real value.
FEATURES = {
    "failed_logons": ("failed logons", "FailedLogons"),
    "failed_vs_usual": ("failed logons vs usual", "FailedLogons"),
    "successes_vs_usual": ("successful logons vs usual", "SuccessfulLogons"),
    "computers_vs_usual": ("computers vs usual", "ComputersAccessed"),
    "sources_vs_usual": ("sources vs usual", "SrcIps"),
    "new_source_ips": ("new source IPs", "NovelSrcIp"),
    "new_source_hosts": ("new source hosts", "NovelSrcHost"),
    "new_computers": ("new computers", "NovelComputer"),
    "spray_accounts": ("accounts its failing source failed against", "SrcIpFailedAccounts"),
    "new_source_nets": ("new source networks", "NovelSrcNet"),
    "off_hours": ("least usual logon hour (UTC)", "odd_hour"),
    "ntlm_unusual": ("NTLM logons", "NtlmLogons"),
    "others_workstation": ("other accounts' workstations", "NovelSrcHostOthers"),
    "failing_days": ("days a new source kept failing", "FailedSrcIpDays"),
    "dormant_days": ("days without a logon before", "quiet_days"),
}


def column_name(column: str) -> str:
    """
    Return an input column's plain name (the column itself when unknown).

    Examples
    --------
    >>> column_name("FailedLogons")
    'failed logons'
    >>> column_name("Odd")
    'Odd'

    """
    return COLUMN_NAMES.get(column, column)


def feature_name(feature: str) -> str:
    """
    Return a model feature's plain name (the feature itself when unknown).

    Examples
    --------
    >>> feature_name("spray_accounts")
    'accounts its failing source failed against'
    >>> feature_name("FailedLogons_zscore")
    'failed logons vs window'

    """
    if feature in FEATURES:
        return FEATURES[feature][0]
    column = feature.removesuffix("_zscore")
    if column in COLUMN_NAMES:
        return COLUMN_NAMES[column] + (" vs window" if column != feature else "")
    return feature


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if pd.isna(number) else number


def _count(value: float) -> str:
    """Write a count as a whole number, other values with three significant digits."""
    return f"{int(round(value)):,}" if float(value).is_integer() else f"{value:.3g}"


def _range(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return ""
    if low == high:
        return f" (usual {_count(low)})"
    return f" (usual {_count(low)}–{_count(high)})"


def _columns(row: pd.Series, feature: str) -> list[str]:
    """Return the input columns behind a feature, as the row's context names them."""
    named = row.get(f"{feature}_columns")
    if isinstance(named, str) and named:
        return [name for name in named.split("|") if name]
    if feature in FEATURES:
        return [FEATURES[feature][1]]
    column = feature.removesuffix("_zscore")
    return [column] if column != feature else []


def _column_text(row: pd.Series, column: str) -> str | None:
    value = _number(row.get(column))
    if value is None:
        return None
    usual = _range(
        _number(row.get(f"{column}_usual_low")), _number(row.get(f"{column}_usual_high"))
    )
    before = _number(row.get(f"{column}_other_days"))
    days = _number(row.get("baseline_days"))
    if not usual and before is not None and days:
        seen = "none" if before == 0 else f"{_count(before)} new"
        usual = f" ({seen} over {_count(days)} other days)"
    if not usual and column == "SrcIpFailedAccounts":
        before = _number(row.get("SrcIpFailedAccountsUsual"))
        usual = "" if before is None else f" (usual {_count(round(before, 1))})"
    if not usual:
        mean = _number(row.get(f"{column}_mean"))
        usual = "" if mean is None else f" (window average {mean:.1f})"
    return _count(value) + usual


def _from_row(row: pd.Series, feature: str) -> str | None:
    """Label a feature from the row's input and context columns, or None."""
    columns = _columns(row, feature)
    texts = [(column, _column_text(row, column)) for column in columns]
    texts = [(column, text) for column, text in texts if text is not None]
    if not texts:
        return None
    if len(texts) == 1:
        return f"{feature_name(feature)}: {texts[0][1]}"
    return ", ".join(f"{column_name(column)}: {text}" for column, text in texts)


def _from_clause(clause: Mapping[str, Any]) -> str | None:
    value = _number(clause.get("value"))
    if value is None:
        return None
    label = str(clause.get("label") or feature_name(str(clause.get("feature", ""))))
    low, high = _number(clause.get("usual_low")), _number(clause.get("usual_high"))
    return f"{label}: {_count(value)}{_range(low, high)}"


def bar_labels(
    row: pd.Series, features: Iterable[str], clauses: Iterable[Mapping[str, Any]] | None = None
) -> dict[str, str]:
    """
    Label each feature of one outlier with its plain name and the day's real value.

    Parameters
    ----------
    row : pd.Series
        The outlier's user-day: input columns, features and context columns.
    features : iterable of str
        The model features to label.
    clauses : iterable of dict, optional
        The outlier's structured reasons (``feature``, ``label``, ``value``,
        ``usual_low``, ``usual_high``); they win over the row's columns.

    Returns
    -------
    dict
        Feature name to label, such as ``"failed logons: 201 (usual 0–1)"``;
        a feature with no real value is labelled ``"name = model value"``.

    Examples
    --------
    >>> row = pd.Series({"failed_logons": 5.31, "FailedLogons": 201.0,
    ...                  "FailedLogons_usual_low": 0.0, "FailedLogons_usual_high": 1.0})
    >>> bar_labels(row, ["failed_logons", "mystery"])
    {'failed_logons': 'failed logons: 201 (usual 0–1)', 'mystery': 'mystery = nan'}

    """
    by_clause: dict[str, str] = {}
    for clause in clauses or []:
        if not isinstance(clause, Mapping):
            continue
        text = _from_clause(clause)
        if text is not None:
            by_clause.setdefault(str(clause.get("feature", "")), text)
    labels = {}
    for feature in features:
        text = by_clause.get(feature) or _from_row(row, feature)
        if text is None:
            value = _number(row.get(feature))
            text = f"{feature} = {value:.3g}" if value is not None else f"{feature} = nan"
        labels[feature] = text
    return labels

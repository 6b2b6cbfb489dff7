"""
The ``seed`` feature set: the original algorithm's features, exactly.

For four count columns the account's mean and sample standard deviation over
all of its rows in the window (the scored day included) turn each day's value
into a damped, one-sided z-score::

    std == 0 or undefined:  0 if value == 0 else log10(value + 1)
    otherwise:              log10(max(0, (value - mean) / std) + 1)

Two more columns are used as they are. Missing values count as 0. User-days
without a successful logon are scored but not reported.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..params import DEFAULT_MIN_HISTORY_DAYS
from ..schema import ACCOUNT_KEYS
from .base import FeatureFrame, FeatureSet
from .clauses import clause, count_text, rank_clauses
from .history import AccountDays, group_codes, history_note

__all__ = ["SeedFeatures", "account_codes", "seed_zscores"]

#: Columns turned into per-account z-scores.
ZSCORE_COLUMNS = [
    "FailedLogons",
    "SuccessfulLogons",
    "ComputersSuccessfulAccess",
    "SrcIpSuccessfulAccess",
]

#: Model inputs, in model order.
SEED_FEATURES = [
    "FailedLogons_zscore",
    "SuccessfulLogons_zscore",
    "ComputersSuccessfulAccess_zscore",
    "ComputerDomainsSuccessfulAccess",
    "SrcIpSuccessfulAccess_zscore",
    "SrcHostNameSuccessfulAccess",
]

_LABELS = {
    "FailedLogons": "failed logons",
    "SuccessfulLogons": "successful logons",
    "ComputersSuccessfulAccess": "computers logged on to",
    "SrcIpSuccessfulAccess": "source IPs",
    "ComputerDomainsSuccessfulAccess": "account domains",
    "SrcHostNameSuccessfulAccess": "source hosts",
}


def seed_zscores(
    values: pd.Series, keys: list[pd.Series | np.ndarray]
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """
    Compute the seed's damped z-score of `values` within groups.

    `SeedFeatures.compute` computes each z-score feature with this function.

    Parameters
    ----------
    values : pd.Series
        Counts; missing values must already be filled.
    keys : list of pd.Series or np.ndarray
        Group keys aligned to `values` (the account, or its integer code);
        missing keys form a group of their own.

    Returns
    -------
    tuple of pd.Series
        The z-feature, the group mean and the group sample standard
        deviation (NaN for a group of one), all aligned to `values`.

    Examples
    --------
    >>> values = pd.Series([0.0, 0.0, 6.0, 3.0])
    >>> zscore, mean, std = seed_zscores(values, [pd.Series(["a", "a", "a", "b"])])
    >>> zscore.round(3).tolist(), mean.tolist()
    ([0.0, 0.0, 0.333, 0.602], [2.0, 2.0, 2.0, 3.0])

    """
    grouped = values.groupby(keys, sort=False, dropna=False)
    mean = grouped.transform("mean")
    std = grouped.transform("std")
    zscore = _damped_zscore(values.to_numpy(dtype="float64"), mean, std)
    return pd.Series(zscore, index=values.index), mean, std


def _damped_zscore(val: np.ndarray, mean: pd.Series, std: pd.Series) -> np.ndarray:
    """Apply the seed's rule to values and their group mean and standard deviation."""
    mu = mean.to_numpy(dtype="float64")
    sd = std.to_numpy(dtype="float64")
    flat = (sd == 0) | np.isnan(sd)
    with np.errstate(divide="ignore", invalid="ignore"):
        deviation = np.maximum(0.0, (val - mu) / sd)
    # log10(0 + 1) is exactly 0, so one log serves both branches of the rule.
    return np.log10(np.where(flat, val, deviation) + 1.0)


def account_codes(table: pd.DataFrame) -> np.ndarray:
    """
    Give every distinct (DstDomain, DstUser) account of a table an integer code.

    Grouping on these codes gives the same groups, in the same row order, as
    grouping on the two text columns, at a fraction of the cost.

    Examples
    --------
    >>> table = pd.DataFrame({"DstDomain": ["C", "C", "F"], "DstUser": ["a", "b", "a"]})
    >>> account_codes(table).tolist()
    [0, 1, 2]

    """
    return group_codes(table, ACCOUNT_KEYS)


class SeedFeatures(FeatureSet):
    """The original algorithm's features and reporting rule."""

    name = "seed"
    trend_columns = (
        "FailedLogons",
        "SrcHostNameSuccessfulAccess",
        "SuccessfulLogons",
        "ComputersSuccessfulAccess",
        "SrcIpSuccessfulAccess",
        "ComputerDomainsSuccessfulAccess",
    )
    description = (
        "The original algorithm's features: per-account z-scores over the "
        "whole window (scored day included); days with no successful logon are "
        "not reported."
    )

    def compute(self, table: pd.DataFrame) -> FeatureFrame:
        """Compute the six seed features for every row of a prepared table."""
        codes = account_codes(table)
        values = {}
        context = {}
        for col in ZSCORE_COLUMNS:
            counts = pd.Series(table[col].fillna(0).to_numpy(dtype="float64"), index=table.index)
            zscore, mean, std = seed_zscores(counts, [codes])
            values[f"{col}_zscore"] = zscore.to_numpy()
            context[f"{col}_mean"] = mean.to_numpy()
            context[f"{col}_std"] = std.to_numpy()
        for col in ("ComputerDomainsSuccessfulAccess", "SrcHostNameSuccessfulAccess"):
            values[col] = table[col].fillna(0).to_numpy(dtype="float64")
        context["baseline_days"] = np.bincount(codes)[codes]
        frame = pd.DataFrame(values, index=table.index)[SEED_FEATURES]
        units = AccountDays(codes, pd.factorize(table["Date"].to_numpy())[0])
        short = history_note(table["Date"], units, DEFAULT_MIN_HISTORY_DAYS)
        return FeatureFrame(
            values=frame,
            context=pd.DataFrame(context, index=table.index),
            notes=[short] if short else [],
        )

    def n_estimators(self, n_rows: int, n_features: int) -> int:
        """Return 4 x features + 2 x rows below 500 rows, else 100 (the seed rule)."""
        return 4 * n_features + 2 * n_rows if n_rows < 500 else 100

    def forest_params(self, n_rows: int) -> dict:
        """Return the seed's fixed IsolationForest settings, whatever the table size."""
        return {"max_samples": "auto", "max_features": 6, "bootstrap": False}

    def suppressed(self, table: pd.DataFrame) -> pd.Series:
        """Rows with no successful logon are not reported (the seed's rule)."""
        no_success = (table["SuccessfulLogons"].fillna(0) == 0).to_numpy()
        reasons = np.full(len(table), "", dtype=object)
        reasons[no_success] = "no successful logon"
        return pd.Series(reasons, index=table.index, dtype=object)

    def evidence(self, row: pd.Series, feature: str) -> str:
        """Describe a feature as the day's count against the account's window mean."""
        col = feature.removesuffix("_zscore")
        # The seed's labels are plural whatever the count (its reasons always were).
        text = f"{_count(row, col):,.0f} {_LABELS.get(col, col)}"
        if feature.endswith("_zscore"):
            mean = row.get(f"{col}_mean")
            std = row.get(f"{col}_std")
            text += f" (window mean {_stat(mean)}, sd {_stat(std)})"
        return text

    def clauses(
        self,
        row: pd.Series,
        top_features: list[str],
        attribution: Mapping[str, float] | None = None,
    ) -> list[dict]:
        """
        Tell the reason as clauses in the seed's terms: the day's count, the window's mean and sd.

        One clause per top feature, strongest `attribution` first. The seed
        has no usual range (it compares a day with the mean and standard
        deviation of the whole window, the day included), so ``usual_low``
        and ``usual_high`` are None and no clause is left out.

        Examples
        --------
        >>> row = pd.Series(
        ...     {"FailedLogons": 5.0, "FailedLogons_mean": 0.4, "FailedLogons_std": 1.1}
        ... )
        >>> SeedFeatures().clauses(row, ["FailedLogons_zscore"])[0]["text"]
        '5 failed logons (window mean 0.4, sd 1.1)'

        """
        candidates = [
            (1, clause(name, _LABELS.get(col, col), _count(row, col), self.evidence(row, name)))
            for name in top_features
            for col in [name.removesuffix("_zscore")]
        ]
        return rank_clauses(candidates, attribution)

    def baseline_text(self, row: pd.Series) -> str:
        """
        Say how many days of the account's window the day was judged on.

        With fewer than `DEFAULT_MIN_HISTORY_DAYS` other days the sentence
        adds "too little data to judge": a mean and standard deviation of a
        handful of days say little about the account.
        """
        days = row.get("baseline_days")
        if pd.isna(days):
            return ""
        text = f"Baseline: {count_text(days, 'day')} in the window, this one included"
        if int(days) - 1 < DEFAULT_MIN_HISTORY_DAYS:
            text += (
                f", too little data to judge (fewer than "
                f"{count_text(DEFAULT_MIN_HISTORY_DAYS, 'other day')})"
            )
        return text


def _count(row: pd.Series, column: str) -> float:
    value = row.get(column)
    return 0.0 if pd.isna(value) else float(value)


def _stat(value: object) -> str:
    """Say a mean or standard deviation to one decimal, without a trailing ".0" ("n/a")."""
    if value is None or pd.isna(value):
        return "n/a"
    return f"{float(value):.1f}".removesuffix(".0")

"""
The ``baseline`` feature set, the package default.

Each account-day is set against the account's own other days, with what is
new for the account and sprays across accounts.

Why these features
------------------
A logon attack changes *what an account does compared with itself* (more
failures than it ever has, computers or sources it never used) or *what one
source does across accounts* (one address failing against dozens of
accounts). So every user-day is compared with the same account's other days
in the window (leave one day out: the day never dilutes its own baseline),
counts are compared on a log scale (300 failures is a different event from 3,
not just "more"), and novelty and population context are measured directly.

Model inputs, in model order:

``failed_logons``
    ``log(1 + failed logons)``: the magnitude, so that hundreds of failures
    stand out even for an account that often mistypes.
``failed_vs_usual``, ``successes_vs_usual``, ``computers_vs_usual``, ``sources_vs_usual``
    How far the day's count is above the account's usual, in robust
    standard units on the log scale, ``z = (log1p(x) - median) / scale`` over
    the account's other days, where ``scale`` is the inter-quartile range
    / 1.349 but never below `DISPERSION_FLOOR` (so that an account whose
    counts hardly vary does not turn a 10 % change into a huge score); the
    input is ``log(1 + max(0, z))``, so evidence grows ever more slowly.
    Sources use the larger of the address and host deviations, counting
    real sources only (``SrcIps``, ``SrcHosts``: no ``-``, no loopback).
    0 when the account has fewer than ``min_history_days`` other days
    (stated in the explanation).
``new_source_ips``, ``new_source_hosts``, ``new_computers``
    How surprising the day's new values are for this account: the number
    ``k`` of source addresses, source workstation names or target computers
    the account used on no other day of the window, scored as
    ``log(1 - log P(N >= k))`` for ``N ~ Poisson(rate)``, where ``rate`` is
    the account's own average of new values per other day (with a prior of
    half a new value per day of history). One new laptop address is no
    surprise for an account that roams every day, but is for a service
    account that has used the same two servers for three weeks.
``spray_accounts``
    ``log(1 + max(0, n - 1 - usual))`` where ``n`` is the number of
    accounts that the day's failing source address failed against that day
    and ``usual`` its average on the window's other days (a jump host where
    a few users mistype every day is not a spray).

An account is its canonical ``AccountKey`` (every spelling of it together,
see `msticnb_iforest.identity`); rows of one account and day count as one
day of history. The novelty and spray inputs need the columns of the
``AnomalousLogons.account_day_summary`` query (or raw events, profiled
locally). Given only the ``user_day_summary`` columns, the set uses what it
has (keys derived from ``DstDomain``/``DstUser``) and says which features
it could not compute. User-days with no successful logon are scored and
reported like any other.

The forest has 200 trees, each built on a quarter of the user-days (at
least 256, at most 1,024; see `BaselineFeatures.forest_params`). On tables of
more than 100,000 user-days the trees draw their rows from a seeded sample of
that many (every user-day is still scored), which keeps fitting a million
user-days under a second.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..identity import account_keys
from ..model import check_fit_rows
from ..params import DEFAULT_FIT_ROWS, DEFAULT_MIN_HISTORY_DAYS, PARAMETERS
from .base import FeatureFrame, FeatureSet
from .baseline_reasons import HOST_BURST, baseline_sentence, feature_clauses, reason_clauses
from .history import (
    AccountDays,
    group_codes,
    history_note,
    loo_quantiles,
    loo_sums,
    poisson_surprise,
)

__all__ = ["DEFAULT_MIN_HISTORY_DAYS", "DISPERSION_FLOOR", "HOST_BURST", "BaselineFeatures"]

#: Smallest spread (log scale) a deviation is measured in: a factor of about 1.65.
DISPERSION_FLOOR = 0.5
#: Prior of the novelty rate: this many new values per this many days.
NOVELTY_PRIOR = (0.5, 1.0)
#: Rows drawn per tree: a quarter of the user-days, within these bounds.
SAMPLE_BOUNDS = (256, 1024)
#: Trees in the forest unless the caller chooses.
N_ESTIMATORS = 200
#: Trees are built from a seeded sample of at most this many user-days.
FIT_ROWS = DEFAULT_FIT_ROWS

#: Count columns compared with the account's usual: feature -> column sets, best first.
_DEVIATIONS = {
    "failed_vs_usual": (("FailedLogons",),),
    "successes_vs_usual": (("SuccessfulLogons",),),
    "computers_vs_usual": (("ComputersAccessed",), ("ComputersSuccessfulAccess",)),
    # Real sources only (account_day_summary); else the seed query's counts,
    # where "-" and local addresses count as sources.
    "sources_vs_usual": (
        ("SrcIps", "SrcHosts"),
        ("DistinctSrcIp", "DistinctSrcHostName"),
        ("SrcIpSuccessfulAccess", "SrcHostNameSuccessfulAccess"),
    ),
}
#: Novelty features and the query column each needs.
_NOVELTY = {
    "new_source_ips": "NovelSrcIp",
    "new_source_hosts": "NovelSrcHost",
    "new_computers": "NovelComputer",
}
_SPRAY_COLUMNS = ("SrcIpFailedAccounts", "SrcIpFailedAccountsUsual")

#: Model inputs, in model order (those the table allows are used).
BASELINE_FEATURES = [
    "failed_logons",
    "failed_vs_usual",
    "successes_vs_usual",
    "computers_vs_usual",
    "sources_vs_usual",
    "new_source_ips",
    "new_source_hosts",
    "new_computers",
    "spray_accounts",
]


def account_codes(table: pd.DataFrame) -> np.ndarray:
    r"""
    Give the accounts of a table integer codes by canonical key.

    Uses the ``AccountKey`` column of the ``account_day_summary`` query when
    the table has one; otherwise derives the key from ``DstDomain`` and
    ``DstUser`` with `msticnb_iforest.identity.account_keys` (without the
    computer, so a ``.`` domain stays ``.``), once per distinct spelling.
    """
    if "AccountKey" in table.columns and table["AccountKey"].notna().all():
        return pd.factorize(table["AccountKey"].astype(str).to_numpy())[0].astype(np.int64)
    spelling = group_codes(table, ["DstDomain", "DstUser"])
    _, first = np.unique(spelling, return_index=True)
    keys = account_keys(table["DstUser"].iloc[first], table["DstDomain"].iloc[first])
    return pd.factorize(keys)[0][spelling].astype(np.int64)


def account_days(table: pd.DataFrame) -> AccountDays:
    """Return the table's (account, day) units, accounts by canonical key."""
    return AccountDays(account_codes(table), pd.factorize(table["Date"].to_numpy())[0])


def _constant(n_rows: int, text: str) -> pd.Categorical:
    """Return a column holding the same text on every row, stored as one category."""
    return pd.Categorical.from_codes(np.zeros(n_rows, dtype=np.int8), categories=[text])


def _has(table: pd.DataFrame, column: str) -> bool:
    return column in table.columns and table[column].notna().any()


def count_column(table: pd.DataFrame, column: str) -> np.ndarray:
    """Return a count column as float64 with missing values as 0."""
    values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype="float64")
    return np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0).clip(min=0.0)


def _usual_count(log_quantile: np.ndarray, rounding: np.ufunc) -> np.ndarray:
    """Turn a quantile of log counts into a whole count (rounded by `rounding`), in place."""
    np.expm1(log_quantile, out=log_quantile)
    log_quantile += 1e-9 if rounding is np.floor else -1e-9
    return rounding(log_quantile, out=log_quantile)


def check_min_history_days(value: object) -> int:
    """Validate ``min_history_days`` (see `params.PARAMETERS`); None is the default."""
    checked = PARAMETERS["min_history_days"].check(value)
    return DEFAULT_MIN_HISTORY_DAYS if checked is None else checked


class BaselineFeatures(FeatureSet):
    """Each account-day against the account's own other days, novelty and sprays."""

    name = "baseline"
    description = (
        "Each account-day against the same account's other days (leave one day "
        "out, robust, log scale, with a dispersion floor), sources and computers "
        "new for the account, and one source failing against many accounts; "
        "failure-only days are kept."
    )
    query_name = "account_day_summary"
    has_baseline = True
    #: Novelty inputs and the count column each scores.
    novelty_columns: Mapping[str, str] = _NOVELTY
    #: Model inputs, in model order.
    feature_order: tuple[str, ...] = tuple(BASELINE_FEATURES)
    trend_columns = (
        "FailedLogons",
        "SuccessfulLogons",
        "ComputersAccessed",
        "DistinctSrcIp",
        "NovelSrcIp",
        "NovelSrcHost",
        "NovelComputer",
        "SrcIpFailedAccounts",
    )

    def __init__(
        self,
        min_history_days: int = DEFAULT_MIN_HISTORY_DAYS,
        fit_rows: int | None = FIT_ROWS,
    ):
        """
        Set up the feature set.

        Parameters
        ----------
        min_history_days : int, default=5
            Other days an account needs before its day is compared with its usual.
        fit_rows : int or None, default=100_000
            Build the trees from a seeded sample of at most this many
            user-days (every user-day is still scored); None uses all of them.

        """
        self.min_history_days = check_min_history_days(min_history_days)
        self.fit_rows = check_fit_rows(fit_rows)

    def configured(self, *, min_history_days: int | None = None) -> BaselineFeatures:
        """Return a copy with `min_history_days` set (unchanged when None)."""
        if min_history_days is None:
            return self
        return type(self)(min_history_days=min_history_days, fit_rows=self.fit_rows)

    # ------------------------------------------------------------------ compute
    def compute(self, table: pd.DataFrame) -> FeatureFrame:
        """Compute the features the table's columns allow, with context for explanations."""
        return self._compute_on(table, account_days(table))

    def _compute_on(self, table: pd.DataFrame, units: AccountDays) -> FeatureFrame:
        """`compute` over the table's account-days, which a subclass shares."""
        other_days = units.to_rows(units.other_days)
        enough = other_days >= self.min_history_days
        values: dict[str, np.ndarray] = {}
        context: dict[str, np.ndarray] = {
            "baseline_days": other_days,
            "min_history_days": np.full(len(table), self.min_history_days),
        }
        notes: list[str] = []
        missing: dict[str, list[str]] = {}

        failed = count_column(table, "FailedLogons")
        values["failed_logons"] = np.log1p(failed)
        for feature, choices in _DEVIATIONS.items():
            use = next((c for c in choices if all(_has(table, col) for col in c)), None)
            if use is None:
                present = [c for c in choices if all(col in table.columns for col in c)]
                if not present:
                    missing[feature] = list(choices[0])
                    continue
                use = present[0]  # present but empty: counts of 0
            elif use != choices[0]:
                notes.append(
                    f"{feature} uses {', '.join(use)} (the table has no {', '.join(choices[0])})."
                )
            deviations = []
            for column in use:
                dev, low, high = self._deviation(units, count_column(table, column))
                dev[~enough] = 0.0  # too little history: no deviation
                deviations.append(dev)
                context[f"{column}_usual_low"] = low
                context[f"{column}_usual_high"] = high
            values[feature] = np.maximum.reduce(deviations)
            context[f"{feature}_columns"] = _constant(len(table), "|".join(use))

        for feature, column in self.novelty_columns.items():
            if not _has(table, column):
                missing[feature] = [column]
                continue
            count = count_column(table, column)
            per_unit = units.unit_sum(count)
            others = units.to_rows(loo_sums(units.unit_account, per_unit))
            rate = (others + NOVELTY_PRIOR[0]) / (other_days + NOVELTY_PRIOR[1])
            values[feature] = np.log1p(poisson_surprise(count, rate))
            context[f"{column}_other_days"] = others
            (q10, q90), _ = loo_quantiles(
                units.unit_account, np.log1p(per_unit), (0.1, 0.9), by_group=units.by_account
            )
            context[f"{column}_usual_low"] = _usual_count(units.to_rows(q10), np.floor)
            context[f"{column}_usual_high"] = _usual_count(units.to_rows(q90), np.ceil)

        if all(_has(table, c) for c in _SPRAY_COLUMNS):
            accounts = count_column(table, "SrcIpFailedAccounts")
            usual = count_column(table, "SrcIpFailedAccountsUsual")
            values["spray_accounts"] = np.log1p(np.maximum(0.0, accounts - 1.0 - usual))
        else:
            missing["spray_accounts"] = [c for c in _SPRAY_COLUMNS if not _has(table, c)]

        short = history_note(table["Date"], units, self.min_history_days)
        if short:
            notes.append(short)
        if missing:
            columns = sorted({c for cols in missing.values() for c in cols})
            notes.append(
                "Features not computed because the table lacks "
                + ", ".join(columns)
                + ": "
                + ", ".join(missing)
                + ". Query AnomalousLogons.account_day_summary (or pass raw logon "
                "events) to get them."
            )
        # copy=False keeps one block per column: consolidating a million rows of
        # a dozen columns would copy them all for nothing.
        ordered = {name: values[name] for name in self.feature_order if name in values}
        return FeatureFrame(
            values=pd.DataFrame(ordered, index=table.index, copy=False),
            context=pd.DataFrame(context, index=table.index, copy=False),
            notes=notes,
        )

    @staticmethod
    def _deviation(units, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Robust leave-one-day-out deviation of log counts, and the usual range of counts."""
        per_unit = np.log1p(units.unit_sum(counts))
        (q10, q25, q50, q75, q90), _ = loo_quantiles(
            units.unit_account, per_unit, (0.1, 0.25, 0.5, 0.75, 0.9), by_group=units.by_account
        )
        scale = np.maximum((q75 - q25) / 1.349, DISPERSION_FLOOR)
        # In place, one array per row: the same operations in the same order.
        dev = np.log1p(counts)
        dev -= units.to_rows(q50)
        with np.errstate(invalid="ignore"):
            dev /= units.to_rows(scale)
            np.maximum(0.0, dev, out=dev)
        np.nan_to_num(dev, copy=False, nan=0.0)
        np.log1p(dev, out=dev)
        low = _usual_count(units.to_rows(q10), np.floor)
        high = _usual_count(units.to_rows(q90), np.ceil)
        return dev, low, high

    # -------------------------------------------------------------------- model
    def n_estimators(self, n_rows: int, n_features: int) -> int:
        """Return 200 trees."""
        return N_ESTIMATORS

    def forest_params(self, n_rows: int) -> dict:
        """
        Draw a quarter of the user-days per tree, at least 256 and at most 1,024.

        Deeper trees (more rows per tree than the usual 256) separate subtle
        novelty, such as one new source of a service account, from the mass
        of ordinary days in a big table; a quarter keeps a large attack (a
        spray across most accounts of a small organisation) a minority of
        each tree's sample instead of a dense cluster that hides itself.
        (100 trees of at most 512 rows make SHAP four times cheaper, but
        then an attack kind fell out of the top 1 % in 9 of 40 held-out
        benchmark runs, against 2 of 40.) Trees are built from a sample
        of at most `fit_rows` user-days (see `msticnb_iforest.model.fit_score`).
        """
        rows = min(SAMPLE_BOUNDS[1], max(SAMPLE_BOUNDS[0], int(n_rows) // 4))
        return {
            "max_samples": rows,
            "max_features": 1.0,
            "bootstrap": False,
            "fit_rows": self.fit_rows,
        }

    # ---------------------------------------------------------------- explain
    def evidence(self, row: pd.Series, feature: str) -> str:
        """Describe one feature of a flagged row in the table's own terms."""
        found = feature_clauses(row, feature, self.novelty_columns)
        if not found:
            return super().evidence(row, feature)
        return "; ".join(item["text"] for item in found)

    def clauses(
        self,
        row: pd.Series,
        top_features: list[str],
        attribution: Mapping[str, float] | None = None,
    ) -> list[dict]:
        """
        Tell the reason as clauses: most specific and strongest first, normal ones left out.

        Clauses about one source across accounts (a password spray, a burst
        of workstation names from one address) lead, whatever the model's
        attribution; the others follow by `attribution` (most negative SHAP
        value, or rarity, first), and those whose value lies within the
        account's usual range (its 10th to 90th percentile on its other
        days) are left out, keeping the strongest when none is left (see
        `msticnb_iforest.features.baseline_reasons.reason_clauses`).

        Examples
        --------
        >>> row = pd.Series({"baseline_days": 9, "FailedLogons": 31.0,
        ...                  "FailedLogons_usual_low": 0.0, "FailedLogons_usual_high": 1.0})
        >>> BaselineFeatures().clauses(row, ["failed_logons"])[0]["text"]
        '31 failed logons (usually 0–1 a day)'

        """
        return reason_clauses(row, top_features, self.novelty_columns, attribution)

    def baseline_text(self, row: pd.Series) -> str:
        """
        Say how many days of history the day was judged on, or that it was too little.

        "Baseline: 16 days"; with fewer than `min_history_days` other days
        the sentence says "too little data to judge" and why.
        """
        need = int(row.get("min_history_days", self.min_history_days))
        return baseline_sentence(row, need)

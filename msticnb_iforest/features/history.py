"""
Leave-one-day-out statistics of an account's history, vectorized.

Every user-day is compared with the same account's *other* days in the
window, never with itself: a spike cannot hide its own deviation by
inflating the spread it is measured against. The helpers work on integer
group codes and float arrays so that a million rows take well under a
second.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd
from scipy.special import gammaln
from scipy.stats import poisson

from .clauses import count_text

__all__ = [
    "ENOUGH_HISTORY_SHARE",
    "AccountDays",
    "group_codes",
    "history_note",
    "loo_quantiles",
    "loo_sums",
    "poisson_surprise",
]


def group_codes(table: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """
    Give the distinct combinations of `columns` codes 0..k-1 in order of appearance.

    Missing values form their own group.
    """
    codes = np.zeros(len(table), dtype=np.int64)
    for col in columns:
        part, uniques = pd.factorize(table[col], use_na_sentinel=False)
        codes = pd.factorize(codes * max(len(uniques), 1) + part)[0].astype(np.int64)
    return codes


class AccountDays:
    """
    The distinct (account, day) units of a table and the rows that belong to each.

    A table may hold a (Date, account) key more than once (the original
    export does); such rows are one day of the account's history. Values of
    a day are the sum of its rows.

    Attributes
    ----------
    row_unit : np.ndarray
        Per table row, its unit number.
    unit_account : np.ndarray
        Per unit, its account code.
    n_units : int
        Number of units.
    other_days : np.ndarray
        Per unit, how many other days its account has in the table.

    """

    def __init__(self, account: np.ndarray, day: np.ndarray):
        key = account.astype(np.int64) * (int(day.max(initial=0)) + 1) + day.astype(np.int64)
        self.row_unit, first = _codes_and_first(key)
        self.n_units = len(first)
        self.unit_account = account[first].astype(np.int64)
        days_per_account = np.bincount(self.unit_account)
        self.other_days = days_per_account[self.unit_account] - 1

    @cached_property
    def by_account(self) -> np.ndarray:
        """A permutation of the units that puts each account's together (for `loo_quantiles`)."""
        return np.argsort(self.unit_account, kind="stable")

    def unit_sum(self, values: np.ndarray) -> np.ndarray:
        """Add up a per-row array per unit."""
        return np.bincount(self.row_unit, weights=values, minlength=self.n_units)

    def to_rows(self, per_unit: np.ndarray) -> np.ndarray:
        """Broadcast a per-unit array back to the table's rows."""
        return per_unit[self.row_unit]


#: A hunt says it has too little data to judge when fewer than this share of
#: its account-days have enough other days of their account to compare with.
ENOUGH_HISTORY_SHARE = 0.5


def history_note(dates: pd.Series, units: AccountDays, need: int) -> str:
    """
    Say when the whole input has too few days to judge accounts by their usual.

    Parameters
    ----------
    dates : pd.Series
        The table's ``Date`` column.
    units : AccountDays
        The table's account-days.
    need : int
        Other days of its account an account-day needs to be compared with
        its usual (``min_history_days``).

    Returns
    -------
    str
        A note for the hunt when fewer than `ENOUGH_HISTORY_SHARE` of the
        account-days have `need` other days; otherwise "".

    Examples
    --------
    >>> units = AccountDays(np.array([0, 0, 1]), np.array([0, 1, 2]))
    >>> days = pd.Series(pd.to_datetime(["2019-01-15", "2020-06-01", "2021-06-29"]))
    >>> history_note(days, units, 5)[:60]
    'Too little data to judge: only 0 of 3 account-days (2 accoun'

    """
    total = units.n_units
    judged = int(np.count_nonzero(units.other_days >= need))
    if total == 0 or judged >= ENOUGH_HISTORY_SHARE * total:
        return ""
    seen = pd.to_datetime(pd.Series(dates), errors="coerce").dropna()
    accounts = len(np.unique(units.unit_account))
    span = ""
    if len(seen):
        first, last = seen.min(), seen.max()
        span = (
            f", with data on {count_text(seen.dt.normalize().nunique(), 'day')} between "
            f"{first:%Y-%m-%d} and {last:%Y-%m-%d}"
        )
    return (
        f"Too little data to judge: only {judged:,} of {count_text(total, 'account-day')} "
        f"({count_text(accounts, 'account')}{span}) have at least "
        f"{count_text(need, 'other day')} of the same account to compare with. An outlier "
        "here is a day unlike the rest of a small table, not a departure from the "
        "account's usual activity; hunt over a longer window or more accounts to judge."
    )


def _codes_and_first(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of `key` in order of appearance and the first row of each code."""
    codes, uniques = pd.factorize(key)
    first = np.full(len(uniques), len(key), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(key), dtype=np.int64))
    return codes.astype(np.int64), first


def loo_quantiles(
    group: np.ndarray,
    values: np.ndarray,
    probs: tuple[float, ...],
    *,
    by_group: np.ndarray | None = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """
    Quantiles of the *other* members of each element's group.

    For element i of group g, the quantiles are those of the values of g
    without element i (linear interpolation, as ``numpy.quantile``'s
    default). Computed for all elements at once from one sort: the k-th
    smallest of the others is the k-th (or, at and after i's own rank,
    the (k+1)-th) smallest of the whole group.

    Parameters
    ----------
    group : np.ndarray
        Integer group code per element (0..k-1).
    values : np.ndarray
        Float values, no NaN.
    probs : tuple of float
        Quantile levels in [0, 1].
    by_group : np.ndarray, optional
        A permutation that puts the elements in group order (as
        ``numpy.argsort(group, kind="stable")``), when the caller has one
        for several calls over the same groups (see `AccountDays.by_account`).

    Returns
    -------
    tuple of (list of np.ndarray, np.ndarray)
        One array per level (NaN where the group has no other member) and
        the number of other members per element.

    """
    values = np.asarray(values, dtype="float64")
    group = np.asarray(group, dtype=np.int64)
    n_values = len(values)
    size = np.bincount(group) if n_values else np.zeros(0, dtype=np.int64)
    order = _group_value_order(group, values, by_group)
    ordered = values[order]
    # Each group is one run of `ordered`; an element's rank is its place in its run.
    first = np.cumsum(size) - size
    last = np.maximum(size - 2, 0)  # per group: the highest rank among the others
    top = max(n_values - 1, 0)
    result = []
    for prob in probs:
        pos = prob * last
        lower = pos.astype(np.int64)  # floor: pos >= 0
        frac = pos - lower
        upper = np.minimum(lower + 1, last)
        # The k-th smallest of the others is the k-th of the group, or the
        # (k+1)-th at and after the element's own rank. So a group has three
        # possible quantiles, each taken by one stretch of its run: the ranks
        # up to `lower`, those after it up to `upper`, and those after `upper`.
        candidates = np.empty((len(size), 3))
        for kind, (low_shift, high_shift) in enumerate(((1, 1), (0, 1), (0, 0))):
            quantile = ordered[np.minimum(first + lower + low_shift, top)] * (1.0 - frac)
            quantile += ordered[np.minimum(first + upper + high_shift, top)] * frac
            candidates[:, kind] = quantile
        candidates[size <= 1] = np.nan
        stretches = np.stack([lower + 1, upper - lower, size - 1 - upper], axis=1)
        stretches[size == 0] = 0
        back = np.empty(n_values)
        back[order] = np.repeat(candidates.ravel(), stretches.ravel())
        result.append(back)
    return result, size[group] - 1


def _group_value_order(
    group: np.ndarray, values: np.ndarray, by_group: np.ndarray | None
) -> np.ndarray:
    """
    Return a permutation that sorts the elements by (group, value).

    The value's rank among the distinct values (found by hashing, then
    sorting only the distinct values) makes one integer key. Its stable sort
    runs over the elements already in group order, where it is several times
    faster than on scattered groups; tied values may come in any order, as
    the quantiles of the others do not depend on it.
    """
    codes, distinct = pd.factorize(values, use_na_sentinel=False)
    rank_of_code = np.empty(len(distinct), dtype=np.int64)
    rank_of_code[np.argsort(distinct, kind="stable")] = np.arange(len(distinct))
    if by_group is None:
        by_group = np.argsort(group, kind="stable")
    key = group[by_group] * max(len(distinct), 1) + rank_of_code[codes[by_group]]
    return by_group[np.argsort(key, kind="stable")]


def loo_sums(group: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sum of the other members of each element's group."""
    values = np.asarray(values, dtype="float64")
    return np.bincount(group, weights=values)[group] - values


def poisson_surprise(count: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """
    How surprising at least `count` events are at a Poisson `rate`, in nats.

    ``-log P(N >= count)`` for ``N ~ Poisson(rate)``; 0 where `count` is 0.
    Where the tail probability underflows (thousands of events at a tiny
    rate) the leading term ``-log P(N = count)`` is used, which is within
    a fraction of a nat of the exact value there.
    """
    count = np.asarray(count, dtype="float64")
    rate = np.asarray(rate, dtype="float64")
    count, rate = np.broadcast_arrays(count, rate)
    surprise = np.zeros(count.shape)
    some = count > 0  # usually few: only their tails are computed
    count, rate = count[some], np.maximum(rate[some], 1e-12)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        exact = -poisson.logsf(count - 1, rate)
        point = -(count * np.log(rate) - rate - gammaln(count + 1))
    value = np.where(np.isfinite(exact), exact, point)
    surprise[some] = np.maximum(value, 0.0)
    return surprise

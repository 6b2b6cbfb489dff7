"""
Integer-key counts behind the account-day source columns.

`msticnb_iforest.summarize.account_days` holds, per row, codes of the day,
the account and the normalized sources; these functions turn the distinct
combinations of those codes into per-group counts (novelty, failing
sources, workstation names per source) without any pandas groupby.
"""

from __future__ import annotations

import numpy as np

from ..intkeys import dense_codes, runs, sorted_unique

__all__ = ["failed_sources", "hosts_per_source", "novel_per_group"]


def novel_per_group(
    account: np.ndarray,
    value: np.ndarray,
    n_values: int,
    day: np.ndarray,
    n_days: int,
    n_accounts: int,
    group_keys: np.ndarray,
    counted: np.ndarray | None = None,
) -> np.ndarray:
    """
    Per group, the distinct values its account used on that day and no other.

    The inputs are the distinct (account, value, day) of the rows; with
    `counted` (a mask over value codes), only those values count.
    """
    out = np.zeros(len(group_keys), dtype=np.int64)
    if len(account) == 0:
        return out
    pair = account.astype(np.int64) * max(n_values, 1) + value
    seen = sorted_unique(pair * n_days + day)
    pair_of = seen // n_days
    starts, lengths = runs(pair_of)
    once = starts[lengths == 1]
    if counted is not None:
        once = once[counted[pair_of[once] % max(n_values, 1)]]
    where = np.searchsorted(
        group_keys, (seen[once] % n_days) * n_accounts + pair_of[once] // max(n_values, 1)
    )
    np.add.at(out, where, 1)
    return out


def failed_sources(
    day: np.ndarray,
    account: np.ndarray,
    ip: np.ndarray,
    n_ips: int,
    n_accounts: int,
    n_days: int,
    group_keys: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Per group, the failing source address most above its usual account count.

    Returns the address's count of failing accounts that day, its average
    on the window's other days, and its code (`n_ips` when there is none).
    """
    n_groups = len(group_keys)
    count = np.zeros(n_groups, dtype=np.int64)
    usual = np.zeros(n_groups, dtype="float64")
    which = np.full(n_groups, n_ips, dtype=np.int64)
    if len(day) == 0:
        return count, usual, which
    triple = sorted_unique((day.astype(np.int64) * n_ips + ip) * n_accounts + account)
    day_ip = triple // n_accounts
    starts, lengths = runs(day_ip)
    run_ip = day_ip[starts] % n_ips
    total = np.bincount(run_ip, weights=lengths, minlength=n_ips)
    run_usual = (total[run_ip] - lengths) / max(n_days - 1, 1)
    per_count = np.repeat(lengths, lengths)
    per_usual = np.repeat(run_usual, lengths)
    per_ip = np.repeat(run_ip, lengths)
    where = np.searchsorted(group_keys, (day_ip // n_ips) * n_accounts + triple % n_accounts)
    order = np.lexsort((per_ip, -(per_count - per_usual), where))
    first, _ = runs(where[order])
    best = order[first]
    count[where[best]] = per_count[best]
    usual[where[best]] = per_usual[best]
    which[where[best]] = per_ip[best]
    return count, usual, which


def hosts_per_source(
    group: np.ndarray, ip: np.ndarray, n_ips: int, host: np.ndarray, n_hosts: int, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per group, the most distinct hosts one source address sent, and that address."""
    most = np.zeros(n_groups, dtype=np.int64)
    which = np.full(n_groups, n_ips, dtype=np.int64)
    if len(group) == 0:
        return most, which
    pair, pair_keys = dense_codes(group.astype(np.int64) * n_ips + ip)
    seen = sorted_unique(pair * max(n_hosts, 1) + host) // max(n_hosts, 1)
    starts, lengths = runs(seen)
    keys = pair_keys[seen[starts]]
    run_group, run_ip = keys // n_ips, keys % n_ips
    order = np.lexsort((run_ip, -lengths, run_group))
    first, _ = runs(run_group[order])
    best = order[first]
    most[run_group[best]] = lengths[best]
    which[run_group[best]] = run_ip[best]
    return most, which

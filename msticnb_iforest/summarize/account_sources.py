"""
Integer-key counts behind the account-day source columns.

`msticnb_iforest.summarize.account_days` holds, per row, codes of the day,
the account and the normalized sources; these functions turn the distinct
combinations of those codes into per-group counts (novelty, failing
sources, workstation names per source) and the names of the new values,
without any pandas groupby.
"""

from __future__ import annotations

import numpy as np

from ..intkeys import dense_codes, runs, sorted_unique

__all__ = [
    "busiest_source",
    "failed_sources",
    "hosts_per_source",
    "joined_names",
    "novel_pairs",
    "novel_per_group",
]


def novel_pairs(
    account: np.ndarray,
    value: np.ndarray,
    n_values: int,
    day: np.ndarray,
    n_days: int,
    n_accounts: int,
    group_keys: np.ndarray,
    counted: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """
    Find the values each account used on one day of the window and no other.

    The inputs are the distinct (account, value, day) of the rows; with
    `counted` (a mask over value codes), only those values count. Returns
    the group of each such value (its position in `group_keys`, which holds
    ``day * n_accounts + account`` in ascending order) and its code.

    Examples
    --------
    >>> import numpy as np
    >>> # Account 0 used value 1 on days 0 and 1, value 0 on day 1 only.
    >>> where, value = novel_pairs(
    ...     np.array([0, 0, 0]), np.array([1, 1, 0]), 2, np.array([0, 1, 1]), 2, 1,
    ...     np.array([0, 1]))
    >>> where.tolist(), value.tolist()
    ([1], [0])

    """
    if len(account) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    width = max(n_values, 1)
    pair = account.astype(np.int64) * width + value
    seen = sorted_unique(pair * n_days + day)
    pair_of = seen // n_days
    starts, lengths = runs(pair_of)
    once = starts[lengths == 1]
    if counted is not None:
        once = once[counted[pair_of[once] % width]]
    where = np.searchsorted(group_keys, (seen[once] % n_days) * n_accounts + pair_of[once] // width)
    return where.astype(np.int64), (pair_of[once] % width).astype(np.int64)


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

    The inputs are those of `novel_pairs`; this counts what it finds.
    """
    where, _ = novel_pairs(account, value, n_values, day, n_days, n_accounts, group_keys, counted)
    return np.bincount(where, minlength=len(group_keys)).astype(np.int64)


def joined_names(
    group: np.ndarray, value: np.ndarray, labels: np.ndarray, n_groups: int, limit: int
) -> np.ndarray:
    """
    Per group, the labels of its values in code order, the first `limit` joined with ",".

    Parameters
    ----------
    group, value : np.ndarray
        Distinct (group, value code) pairs, in any order (`novel_pairs`).
    labels : np.ndarray
        The text of each value code; codes follow the labels' sorted order,
        so the names come out sorted.
    n_groups : int
        Number of groups (length of the result).
    limit : int
        The most names kept per group (the smallest ones).

    Returns
    -------
    np.ndarray
        An object array of str, "" for a group without values.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.array(["a", "b", "c"], dtype=object)
    >>> joined_names(np.array([1, 1, 1, 0]), np.array([2, 0, 1, 1]), labels, 3, 2).tolist()
    ['b', 'a,b', '']

    """
    out = np.full(n_groups, "", dtype=object)
    if len(group) == 0:
        return out
    order = np.lexsort((value, group))
    group, value = group[order], value[order]
    starts, lengths = runs(group)
    rank = np.arange(len(group)) - np.repeat(starts, lengths)
    for position in range(min(limit, int(lengths.max()))):  # a few positions, not rows
        at = rank == position
        text = labels[value[at]]
        out[group[at]] = text if position == 0 else out[group[at]] + "," + text
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


def busiest_source(
    groups,
    ip: np.ndarray,
    n_ips: int,
    host: np.ndarray,
    n_hosts: int,
    both: np.ndarray,
    src_hosts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """
    Find, per group, the most workstation names one source address sent, and that address.

    `groups` is the `_Groups` of `account_days` (its per-row ``group`` and
    its number of groups ``n`` are read); `ip` and `host` are each row's
    address and name codes; `both` marks the rows with a real address and a
    real name; `src_hosts` is each group's count of distinct names. A group
    whose rows show no address (`n_ips`) gets 0.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> groups = SimpleNamespace(group=np.array([0, 0, 0, 1]), n=2)
    >>> most, which = busiest_source(
    ...     groups, np.array([0, 0, 1, 1]), 2, np.array([0, 1, 0, 0]), 2,
    ...     np.ones(4, dtype=bool), np.array([2, 1]))
    >>> most.tolist(), which.tolist()
    ([2, 1], [0, 1])

    """
    group, n_groups = groups.group, groups.n
    # Only days with two or more workstation names can have a source that sent several.
    several = both & (src_hosts > 1)[group]
    burst, burst_ip = hosts_per_source(
        group[several], ip[several], n_ips, host[several], n_hosts, n_groups
    )
    single = (burst == 0) & (np.bincount(group[both], minlength=n_groups) > 0)
    if single.any():
        first_ip = np.full(n_groups, n_ips, dtype=np.int64)
        np.minimum.at(first_ip, group[both], ip[both])
        burst[single] = 1
        burst_ip[single] = first_ip[single]
    return burst, burst_ip

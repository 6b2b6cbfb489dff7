"""
Per-account-day profiles of raw logon events: counts, novelty and population context.

:func:`account_day_summary` computes locally what the KQL query
``AnomalousLogons.account_day_summary`` returns: the columns of
``user_day_summary`` (same filters, same grouping, same values) plus

``NovelSrcIp``, ``NovelSrcHost``, ``NovelComputer``
    Distinct source addresses, source workstation names and target
    computers of the day that the account used on no other day of the
    window. Placeholders and local addresses (see `identity`) never count.
``SrcIpFailedAccounts``, ``SrcIpFailedAccountsUsual``, ``FailedSrcIp``
    Population context for failures. For every source address that failed
    for this account that day: how many accounts failed from it that day,
    and how many per day on the window's other days (its average). The
    address whose count exceeds its usual by most is reported (ties go to
    the smallest address); 0, 0 and "" when the day has no failure from a
    real address. One address failing against many accounts is a spray.
``SrcIpHosts``, ``HostsSrcIp``
    The most distinct workstation names that one source address sent for
    this account that day, and that address (ties go to the smallest). A
    tool that invents a name per attempt shows up here.
``WindowDays``
    Days with any counted logon in the window (the history the novelty
    columns were computed over).

Everything is vectorized over integer codes: text columns are factorized
once and every distinct count comes from sorted unique integer keys.
Distinct counts are exact; Kusto's ``dcount`` is an estimate that is exact
in practice below about a thousand values, so very large counts may differ
slightly from the query.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .identity import is_placeholder_host, is_placeholder_ip
from .schema import SUMMARY_COLUMNS
from .summarize import DROP_REASONS, _on_rows, _select, _text_codes

__all__ = ["ACCOUNT_DAY_COLUMNS", "PROFILE_COLUMNS", "account_day_summary"]

#: Columns added to the ``user_day_summary`` columns, in query order.
PROFILE_COLUMNS = [
    "NovelSrcIp",
    "NovelSrcHost",
    "NovelComputer",
    "SrcIpFailedAccounts",
    "SrcIpFailedAccountsUsual",
    "FailedSrcIp",
    "SrcIpHosts",
    "HostsSrcIp",
    "WindowDays",
]

#: Every column of ``account_day_summary``, in query order.
ACCOUNT_DAY_COLUMNS = SUMMARY_COLUMNS + PROFILE_COLUMNS

_NS_PER_DAY = 86_400 * 10**9
_NS_PER_MS = 10**6
_NETWORK = "3 - Network"
_TEXT = ("Date", "DstDomain", "DstUser", "LogonTypeName", "FailedSrcIp", "HostsSrcIp")
_FLOAT = ("SrcIpFailedAccountsUsual",)
_TIME = ("MAX_TimeGenerated", "MIN_TimeGenerated")


def account_day_summary(
    events: pd.DataFrame,
    *,
    start: Any = None,
    end: Any = None,
    return_dropped: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, dict[str, int]]:
    """
    Profile raw logon events per account and day, like the KQL query.

    Parameters
    ----------
    events : pd.DataFrame
        Raw ``SecurityEvent`` logon rows (see
        `msticnb_iforest.summarize.filter_network_logons`). Not modified.
    start, end : datetime-like, optional
        Inclusive bounds on ``TimeGenerated`` (naive values are UTC). The
        window is also the history novelty is measured against.
    return_dropped : bool, optional
        Also return the number of rows dropped by the filters, per reason.

    Returns
    -------
    pd.DataFrame or tuple of (pd.DataFrame, dict)
        `ACCOUNT_DAY_COLUMNS`, one row per (Date, DstDomain, DstUser,
        LogonTypeName) sorted by those keys. The ``user_day_summary``
        columns equal `msticnb_iforest.summarize.user_day_summary`'s.

    Raises
    ------
    InputDataError
        If `events` lacks required columns or has no readable times.
    ParameterError
        If `start` or `end` is not a time, or `start` is after `end`.

    """
    # The filters of summarize.filter_network_logons, without building the
    # filtered frame: columns are decoded to integer codes on the kept rows.
    selection = _select(events, start, end)
    if selection is None or len(selection.rows) == 0:
        dropped = selection.dropped if selection is not None else dict.fromkeys(DROP_REASONS, 0)
        return (_empty(), dropped) if return_dropped else _empty()

    def column(name: str) -> tuple[np.ndarray, np.ndarray]:
        if name not in selection.lookup:  # absent AccountDomain: the constant ""
            return np.zeros(len(selection.rows), dtype=np.int64), np.array([""], dtype=object)
        text = _on_rows(_text_codes, events[selection.lookup[name]], selection.rows)
        return _sorted(text.codes, text.labels)

    table = _profile(
        selection.time_ns,
        selection.success,
        _sorted(selection.domain.codes, selection.domain.labels),
        _sorted(selection.user.codes, selection.user.labels),
        column,
    )
    return (table, selection.dropped) if return_dropped else table


# --------------------------------------------------------------------------
# Integer keys
# --------------------------------------------------------------------------
def _sorted(codes: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Renumber codes so that their order follows the sorted labels."""
    order = np.argsort(labels.astype(str), kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], labels[order]


def _dense(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..k-1 of a non-negative int key in increasing key order, and the keys."""
    if len(key) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    size = int(key.max()) + 1
    if size <= max(4 * len(key), 1 << 22):
        present = np.zeros(size, dtype=bool)
        present[key] = True
        index = np.cumsum(present, dtype=np.int64) - 1
        return index[key], np.flatnonzero(present)
    distinct, inverse = np.unique(key, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64), distinct


def _unique(key: np.ndarray) -> np.ndarray:
    """Sorted distinct values of a non-negative int key."""
    if len(key) == 0:
        return key.astype(np.int64)
    size = int(key.max()) + 1
    if size <= max(4 * len(key), 1 << 22):
        present = np.zeros(size, dtype=bool)
        present[key] = True
        return np.flatnonzero(present)
    ordered = np.sort(key.astype(np.int32) if size < np.iinfo(np.int32).max else key)
    starts, _ = _runs(ordered)
    return ordered[starts].astype(np.int64)


def _runs(sorted_key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start positions and lengths of the runs of equal values of a sorted array."""
    if len(sorted_key) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    new = np.empty(len(sorted_key), dtype=bool)
    new[0] = True
    np.not_equal(sorted_key[1:], sorted_key[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    return starts, np.diff(np.append(starts, len(sorted_key)))


def _distinct(
    group: np.ndarray, n_groups: int, value: np.ndarray, n_values: int, success: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Distinct values per group over all rows and over successful rows.

    Also returns the distinct (group, value) pairs as ``group * n_values +
    value``, sorted.
    """
    width = max(n_values, 1)
    found = _unique((group * width + value) * 2 + success)
    pair = found >> 1
    starts, _ = _runs(pair)
    every = np.bincount(pair[starts] // width, minlength=n_groups)
    ok = np.bincount(pair[(found & 1) == 1] // width, minlength=n_groups)
    return every.astype(np.int64), ok.astype(np.int64), pair[starts]


# --------------------------------------------------------------------------
# Profile
# --------------------------------------------------------------------------
def _profile(
    time_ns: np.ndarray,
    is_success: np.ndarray,
    domain_text: tuple[np.ndarray, np.ndarray],
    user_text: tuple[np.ndarray, np.ndarray],
    column: Any,
) -> pd.DataFrame:
    """
    Aggregate kept network logon rows into account-day rows.

    `column(name)` returns the sorted codes and labels of a text column on
    the kept rows.
    """
    success = is_success.astype(np.int64)
    day_abs = np.floor_divide(time_ns, _NS_PER_DAY)
    day, days = _dense(day_abs - day_abs.min())
    days = days + day_abs.min()
    n_days = len(days)

    domain, domain_labels = domain_text
    user, user_labels = user_text
    account, account_keys = _dense(domain * len(user_labels) + user)
    n_accounts = len(account_keys)
    group, group_keys = _dense(day * n_accounts + account)
    n_groups = len(group_keys)
    group_account = group_keys % n_accounts

    attempted = np.bincount(group, minlength=n_groups)
    successful = np.bincount(group, weights=success, minlength=n_groups).astype(np.int64)
    latest = np.full(n_groups, np.iinfo(np.int64).min, dtype=np.int64)
    earliest = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
    np.maximum.at(latest, group, time_ns)
    np.minimum.at(earliest, group, time_ns)

    names = (
        "Computer",
        "IpAddress",
        "WorkstationName",
        "AuthenticationPackageName",
        "AccountDomain",
    )
    text = {name: column(name) for name in names}

    def distinct(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        codes, labels = text[name]
        return _distinct(group, n_groups, codes, len(labels), success)

    computers, computers_ok, computer_pairs = distinct("Computer")
    ips, ips_ok, ip_pairs = distinct("IpAddress")
    hosts, hosts_ok, host_pairs = distinct("WorkstationName")
    packages, _, _ = distinct("AuthenticationPackageName")
    _, account_domains_ok, _ = distinct("AccountDomain")

    ip, ip_labels = text["IpAddress"]
    host, host_labels = text["WorkstationName"]
    computer, computer_labels = text["Computer"]
    real_ip_label = ~is_placeholder_ip(ip_labels)
    real_host_label = ~is_placeholder_host(host_labels)
    real_ip = real_ip_label[ip]
    real_host = real_host_label[host]

    def novel(pairs: np.ndarray, n_values: int, real: np.ndarray | None) -> np.ndarray:
        width = max(n_values, 1)
        values = pairs % width
        keep = real[values] if real is not None else np.ones(len(pairs), dtype=bool)
        keys = group_keys[pairs[keep] // width]
        return _novel(
            keys % n_accounts,
            values[keep],
            n_values,
            keys // n_accounts,
            n_days,
            n_accounts,
            group_keys,
        )

    failed = success == 0
    spray_count, spray_usual, spray_ip = _failed_sources(
        day[failed & real_ip],
        account[failed & real_ip],
        ip[failed & real_ip],
        len(ip_labels),
        n_accounts,
        n_days,
        group_keys,
    )
    both = real_ip & real_host
    # Only days with two or more workstation names can have a source that sent several.
    several = both & (hosts > 1)[group]
    burst, burst_ip = _hosts_per_source(
        group[several], ip[several], len(ip_labels), host[several], len(host_labels), n_groups
    )
    single = (burst == 0) & (np.bincount(group[both], minlength=n_groups) > 0)
    if single.any():
        first_ip = np.full(n_groups, len(ip_labels), dtype=np.int64)
        np.minimum.at(first_ip, group[both], ip[both])
        burst[single] = 1
        burst_ip[single] = first_ip[single]
    day_text = np.datetime_as_string(days.astype("datetime64[D]")).astype(object)
    ip_text = np.append(ip_labels, "").astype(object)
    columns = {
        "Date": day_text[group_keys // n_accounts],
        "DstDomain": domain_labels[account_keys[group_account] // len(user_labels)],
        "DstUser": user_labels[account_keys[group_account] % len(user_labels)],
        "LogonTypeName": np.full(n_groups, _NETWORK, dtype=object),
        "AttemptedLogons": attempted.astype(np.int64),
        "MAX_TimeGenerated": pd.DatetimeIndex(latest.view("datetime64[ns]")).tz_localize("UTC"),
        "MIN_TimeGenerated": pd.DatetimeIndex(earliest.view("datetime64[ns]")).tz_localize("UTC"),
        "SuccessfulLogons": successful,
        "FailedLogons": (attempted - successful).astype(np.int64),
        "ComputerDomainsAccessed": np.ones(n_groups, dtype=np.int64),
        "DistinctAuthenticationPackage": packages,
        "ComputersAccessed": computers,
        "DistinctSrcIp": ips,
        "DistinctSrcHostName": hosts,
        "ComputersSuccessfulAccess": computers_ok,
        "ComputerDomainsSuccessfulAccess": account_domains_ok,
        "SrcIpSuccessfulAccess": ips_ok,
        "SrcHostNameSuccessfulAccess": hosts_ok,
        "ActiveMilliseconds": np.floor_divide(latest, _NS_PER_MS)
        - np.floor_divide(earliest, _NS_PER_MS),
        "NovelSrcIp": novel(ip_pairs, len(ip_labels), real_ip_label),
        "NovelSrcHost": novel(host_pairs, len(host_labels), real_host_label),
        "NovelComputer": novel(computer_pairs, len(computer_labels), None),
        "SrcIpFailedAccounts": spray_count,
        "SrcIpFailedAccountsUsual": spray_usual,
        "FailedSrcIp": ip_text[spray_ip],
        "SrcIpHosts": burst,
        "HostsSrcIp": ip_text[burst_ip],
        "WindowDays": np.full(n_groups, n_days, dtype=np.int64),
    }
    return pd.DataFrame(columns, copy=False)


def _novel(
    account: np.ndarray,
    value: np.ndarray,
    n_values: int,
    day: np.ndarray,
    n_days: int,
    n_accounts: int,
    group_keys: np.ndarray,
) -> np.ndarray:
    """Per group, the distinct values its account used on that day and no other."""
    out = np.zeros(len(group_keys), dtype=np.int64)
    if len(account) == 0:
        return out
    pair = account.astype(np.int64) * max(n_values, 1) + value
    seen = _unique(pair * n_days + day)
    pair_of = seen // n_days
    starts, lengths = _runs(pair_of)
    once = starts[lengths == 1]
    where = np.searchsorted(
        group_keys, (seen[once] % n_days) * n_accounts + pair_of[once] // max(n_values, 1)
    )
    np.add.at(out, where, 1)
    return out


def _failed_sources(
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
    triple = _unique((day.astype(np.int64) * n_ips + ip) * n_accounts + account)
    day_ip = triple // n_accounts
    starts, lengths = _runs(day_ip)
    run_ip = day_ip[starts] % n_ips
    total = np.bincount(run_ip, weights=lengths, minlength=n_ips)
    run_usual = (total[run_ip] - lengths) / max(n_days - 1, 1)
    per_count = np.repeat(lengths, lengths)
    per_usual = np.repeat(run_usual, lengths)
    per_ip = np.repeat(run_ip, lengths)
    where = np.searchsorted(group_keys, (day_ip // n_ips) * n_accounts + triple % n_accounts)
    order = np.lexsort((per_ip, -(per_count - per_usual), where))
    first, _ = _runs(where[order])
    best = order[first]
    count[where[best]] = per_count[best]
    usual[where[best]] = per_usual[best]
    which[where[best]] = per_ip[best]
    return count, usual, which


def _hosts_per_source(
    group: np.ndarray, ip: np.ndarray, n_ips: int, host: np.ndarray, n_hosts: int, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per group, the most distinct hosts one source address sent, and that address."""
    most = np.zeros(n_groups, dtype=np.int64)
    which = np.full(n_groups, n_ips, dtype=np.int64)
    if len(group) == 0:
        return most, which
    pair, pair_keys = _dense(group.astype(np.int64) * n_ips + ip)
    seen = _unique(pair * max(n_hosts, 1) + host) // max(n_hosts, 1)
    starts, lengths = _runs(seen)
    keys = pair_keys[seen[starts]]
    run_group, run_ip = keys // n_ips, keys % n_ips
    order = np.lexsort((run_ip, -lengths, run_group))
    first, _ = _runs(run_group[order])
    best = order[first]
    most[run_group[best]] = lengths[best]
    which[run_group[best]] = run_ip[best]
    return most, which


def _empty() -> pd.DataFrame:
    """Return an account-day table with no rows and the right columns and dtypes."""
    data: dict[str, Any] = {}
    for name in ACCOUNT_DAY_COLUMNS:
        if name in _TEXT:
            data[name] = pd.Series([], dtype=object)
        elif name in _TIME:
            data[name] = pd.Series([], dtype=pd.DatetimeTZDtype("ns", "UTC"))
        elif name in _FLOAT:
            data[name] = pd.Series([], dtype="float64")
        else:
            data[name] = pd.Series([], dtype=np.int64)
    return pd.DataFrame(data)

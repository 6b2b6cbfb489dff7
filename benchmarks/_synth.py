"""
Fast synthetic inputs for the scale benchmark.

`user_days` builds a per-user-day table shaped like the ``user_day_summary``
query's output (string dates, UTC times, heavy-tailed counts, failure-only
days, duplicate keys). It is vectorized and seeded: a million rows take a
second or two. Raw events come from `msticnb_iforest.sources.demo`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from msticnb_iforest.summarize.account_days import ACCOUNT_DAY_COLUMNS, NEW_NAMES_MAX

DOMAINS = np.array(["CONTOSO", "FABRIKAM", "WOODGROVE", "NORTHWIND"], dtype=object)
START = pd.Timestamp("2024-03-01", tz="UTC")
_DAY_NS = 86_400 * 10**9


def _accounts(rng: np.random.Generator, n_accounts: int) -> tuple[np.ndarray, np.ndarray]:
    """Domains and user names of `n_accounts` accounts (about 3 % service accounts)."""
    domain = DOMAINS[rng.choice(len(DOMAINS), n_accounts, p=[0.7, 0.15, 0.1, 0.05])]
    ids = np.char.zfill(np.arange(n_accounts).astype(str), 7)
    service = rng.random(n_accounts) < 0.03
    user = np.where(service, np.char.add("svc-app", ids), np.char.add("user", ids)).astype(object)
    return domain, user


def user_days(
    n_rows: int, *, days: int = 21, seed: int = 0, account_day: bool = False
) -> pd.DataFrame:
    """
    Return `n_rows` per-user-day rows with the ``user_day_summary`` columns.

    About 20 rows per account on average with a heavy tail of accounts seen
    on few days; about 1 % of rows repeat a (Date, account) key, about 4 %
    are failure-only days, counts are Poisson around a log-normal per-account
    rate, and 0.2 % of rows carry a burst of failures or new hosts. With
    `account_day`, the extra columns of the ``account_day_summary`` query
    are added, all of them and in the query's order (canonical account key,
    novel sources and computers, real-source counts, failing-source spread,
    host bursts, window days, success hours, NTLM and Kerberos logons, new
    networks, others' usual workstations, failing-source days).
    """
    rng = np.random.default_rng(seed)
    # Days active per account: most accounts on most days, a tail of rare ones.
    n_accounts = max(1, int(n_rows / (0.8 * days)))
    active = np.clip(rng.binomial(days, rng.beta(4, 1, n_accounts)), 1, days)
    # Distinct days per account: the first `active` entries of a random permutation.
    perm = np.argsort(rng.random((n_accounts, days)), axis=1)
    take = np.arange(days)[None, :] < active[:, None]
    owner = np.broadcast_to(np.arange(n_accounts)[:, None], take.shape)[take]
    day = perm[take]
    n_unique = min(len(owner), int(n_rows * 0.99))
    pick = np.sort(rng.choice(len(owner), n_unique, replace=False))
    owner, day = owner[pick], day[pick]
    # About 1 % repeated keys (the query can return a key twice).
    again = rng.integers(0, n_unique, n_rows - n_unique)
    owner = np.concatenate([owner, owner[again]])
    day = np.concatenate([day, day[again]])
    order = np.argsort(owner, kind="stable")
    owner, day = owner[order], day[order]
    domain, user = _accounts(rng, n_accounts)

    rate = np.exp(rng.normal(2.0, 1.2, n_accounts))[owner]
    success = rng.poisson(rate * rng.gamma(4.0, 0.25, n_rows))
    failed = rng.poisson(0.05 * rate) * (rng.random(n_rows) < 0.15)
    fail_only = rng.random(n_rows) < 0.04
    success[fail_only] = 0
    failed[fail_only] = np.maximum(failed[fail_only], 1)
    burst = rng.random(n_rows) < 0.002
    failed[burst] += rng.pareto(1.2, burst.sum()).astype(np.int64) * 20 + 30
    attempted = success + failed
    zero = attempted == 0  # the query only returns days with an event
    success[zero] = 1
    attempted[zero] = 1

    hosts_usual = np.minimum(rng.geometric(0.5, n_accounts)[owner], np.maximum(success, 1))
    computers_ok = np.minimum(hosts_usual + burst * rng.integers(5, 40, n_rows), success)
    src_ip_ok = np.minimum(rng.geometric(0.7, n_rows), np.maximum(success, 0))
    src_host_ok = np.minimum(src_ip_ok, rng.geometric(0.8, n_rows))
    computers = np.maximum(computers_ok, np.minimum(failed, rng.geometric(0.6, n_rows)))
    computers = np.maximum(computers, 1)
    first = START.value + day.astype(np.int64) * _DAY_NS + rng.integers(0, _DAY_NS // 2, n_rows)
    last = first + (rng.random(n_rows) * (_DAY_NS // 2)).astype(np.int64) * (attempted > 1)
    labels = (START + pd.to_timedelta(np.arange(days), unit="D")).strftime("%Y-%m-%d")
    dates = np.asarray(labels, dtype=object)[day]
    table = pd.DataFrame(
        {
            "Date": dates,
            "DstDomain": domain[owner],
            "DstUser": user[owner],
            "LogonTypeName": "3 - Network",
            "AttemptedLogons": attempted,
            "MAX_TimeGenerated": pd.to_datetime(last, utc=True),
            "MIN_TimeGenerated": pd.to_datetime(first, utc=True),
            "SuccessfulLogons": success,
            "FailedLogons": failed,
            "ComputerDomainsAccessed": 1,
            "DistinctAuthenticationPackage": rng.integers(1, 3, n_rows),
            "ComputersAccessed": computers,
            "DistinctSrcIp": np.maximum(src_ip_ok, 1),
            "DistinctSrcHostName": np.maximum(src_host_ok, 1),
            "ComputersSuccessfulAccess": computers_ok,
            "ComputerDomainsSuccessfulAccess": (success > 0).astype(np.int64),
            "SrcIpSuccessfulAccess": src_ip_ok,
            "SrcHostNameSuccessfulAccess": src_host_ok,
            "ActiveMilliseconds": (last - first) // 10**6,
        }
    )
    if account_day:
        table = _with_account_day_columns(table, rng, days, failed, burst)
    return table


def _with_account_day_columns(
    table: pd.DataFrame, rng: np.random.Generator, days: int, failed: np.ndarray, burst: np.ndarray
) -> pd.DataFrame:
    """Add the other ``account_day_summary`` columns, in the query's column order."""
    n_rows = len(table)
    spelling, names = pd.factorize(table["DstDomain"] + "\\" + table["DstUser"])
    table["AccountKey"] = pd.Index(names).str.lower().to_numpy(dtype=object)[spelling]
    ips = np.array([f"10.{i >> 8 & 255}.{i & 255}.{(i * 7) & 255}" for i in range(4096)], object)
    failing = failed > 0
    table["NovelSrcIp"] = rng.poisson(0.08, n_rows) + burst * rng.integers(1, 5, n_rows)
    table["NovelSrcHost"] = rng.poisson(0.05, n_rows) + burst * rng.integers(1, 5, n_rows)
    table["NovelComputer"] = rng.poisson(0.1, n_rows) + burst * rng.integers(3, 30, n_rows)
    table["SrcIps"] = table["DistinctSrcIp"] - (rng.random(n_rows) < 0.05)
    table["SrcHosts"] = table["DistinctSrcHostName"] - (rng.random(n_rows) < 0.05)
    table["NoSrcIpLogons"] = rng.poisson(0.2, n_rows)
    table["LocalSrcIpLogons"] = rng.poisson(0.1, n_rows)
    table["NoSrcHostLogons"] = rng.poisson(0.2, n_rows)
    spray = failing & (rng.random(n_rows) < 0.002)
    table["SrcIpFailedAccounts"] = failing * (1 + spray * rng.integers(10, 60, n_rows))
    table["SrcIpFailedAccountsUsual"] = failing * rng.gamma(0.5, 0.4, n_rows)
    table["FailedSrcIp"] = np.where(failing, ips[rng.integers(0, len(ips), n_rows)], "")
    table["SrcIpHosts"] = 1 + (rng.random(n_rows) < 0.001) * rng.integers(20, 200, n_rows)
    table["HostsSrcIp"] = ips[rng.integers(0, len(ips), n_rows)]
    table["WindowDays"] = days
    hours = rng.integers(7, 19, (n_rows, 3))  # three office hours per day
    success = table["SuccessfulLogons"].to_numpy() > 0
    table["SuccessHours"] = np.where(success, np.bitwise_or.reduce(1 << hours, axis=1), 0)
    kerberos = rng.binomial(table["SuccessfulLogons"].to_numpy(), 0.8)
    table["KerberosLogons"] = kerberos
    table["NtlmLogons"] = rng.binomial(table["SuccessfulLogons"].to_numpy() - kerberos, 0.5)
    table["NovelSrcNet"] = np.minimum(table["NovelSrcIp"], rng.poisson(0.05, n_rows) + burst)
    table["NovelSrcHostOthers"] = np.minimum(table["NovelSrcHost"], rng.poisson(0.01, n_rows))
    slow = (rng.random(n_rows) < 0.01) * rng.integers(1, 5, n_rows)
    table["FailedSrcIpDays"] = failing * (1 + slow)
    # The names of the new sources: the first NEW_NAMES_MAX of a fixed pool (no draws).
    for column, novel, pool in (
        ("NewSrcIps", "NovelSrcIp", ips),
        ("NewSrcHosts", "NovelSrcHost", [f"ws{i:02d}" for i in range(NEW_NAMES_MAX)]),
        ("NewComputers", "NovelComputer", [f"srv{i:02d}" for i in range(NEW_NAMES_MAX)]),
    ):
        joined = np.array([",".join(sorted(pool[:k])) for k in range(NEW_NAMES_MAX + 1)], object)
        table[column] = joined[np.minimum(table[novel].to_numpy(), NEW_NAMES_MAX)]
    if sorted(table.columns) != sorted(ACCOUNT_DAY_COLUMNS):
        raise AssertionError("synthetic columns drifted from the account_day_summary query")
    return table[ACCOUNT_DAY_COLUMNS]

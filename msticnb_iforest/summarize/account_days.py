r"""
Per-account-day profiles of raw logon events: counts, novelty and population context.

:func:`account_day_summary` computes locally what the KQL query
``AnomalousLogons.account_day_summary`` returns. It applies the filters of
``user_day_summary`` (EventID and LogonType may be text such as ``" 4624"``)
but groups by *account* rather than by spelling: every spelling of one
account (``THESHIRE\Bob``, ``theshire.local\bob``, ``bob@theshire.local``)
gets one canonical key, ``AccountKey`` (rules in `msticnb_iforest.identity`).
Each row keeps one original spelling in ``DstDomain``/``DstUser`` (the one
the account uses most in the window) for display and pivots. The
``user_day_summary`` columns have that query's definitions, per account-day;
for data where every account has one spelling they equal it. Added:

``AccountKey``
    The canonical ``domain\user`` key.
``NovelSrcIp``, ``NovelSrcHost``, ``NovelComputer``
    Distinct source addresses, source workstation names and target
    computers of the day that the account used on no other day of the
    window (normalized: trimmed, lower-cased; placeholders and the machine's
    own addresses never count).
``NewSrcIps``, ``NewSrcHosts``, ``NewComputers``
    The normalized values those three columns count, sorted by code point
    and joined with ``,``, the first `NEW_NAMES_MAX` (10) of each; "" when
    none. Not features: they name the new machines for the analyst.
``SrcIps``, ``SrcHosts``
    Distinct real source addresses and workstation names of the day.
``NoSrcIpLogons``, ``LocalSrcIpLogons``, ``NoSrcHostLogons``
    Logons without a source address (``-``, empty, ``0.0.0.0``, ``::``),
    from the machine itself (``::1``, ``127.*``, ``fe80:*``) and without a
    workstation name: counted apart, so their presence stays visible.
``SrcIpFailedAccounts``, ``SrcIpFailedAccountsUsual``, ``FailedSrcIp``
    Population context for failures. For every real source address that
    failed for this account that day: how many accounts failed from it that
    day, and how many per day on the window's other days (its average). The
    address whose count exceeds its usual by most is reported (ties go to
    the smallest address); 0, 0 and "" when the day has no such failure.
    One address failing against many accounts is a spray.
``SrcIpHosts``, ``HostsSrcIp``
    The most distinct workstation names that one source address sent for
    this account that day, and that address (ties go to the smallest). A
    tool that invents a name per attempt shows up here.
``WindowDays``
    Days with any counted logon in the window (the history the novelty
    columns were computed over).
``SuccessHours``
    The UTC hours of the day with a successful logon (4624), as a 24-bit
    mask: bit ``h`` (value ``1 << h``) is set when one fell in hour ``h``
    (00:00-00:59 is bit 0, 23:00-23:59 bit 23); 0 without a success.
``NtlmLogons``, ``KerberosLogons``
    Successful logons whose ``AuthenticationPackageName`` (trimmed, case
    ignored) is ``NTLM``, resp. ``Kerberos``; ``Negotiate`` and every other
    package count in neither.
``NovelSrcNet``
    Distinct networks of the day's real source addresses (those of
    ``NovelSrcIp``) that the account used on no other day. An IPv4
    literal's network is its /24 (first three octets), an IPv6 literal's
    its /64 (first four hextets of the full, zero-padded form); any other
    text is a network of its own (rules in `.account_extras`).
``NovelSrcHostOthers``
    Of the day's new workstation names (those ``NovelSrcHost`` counts), how
    many are another account's usual workstation. An account's usual
    workstation is the real name on which it had successful logons on the
    most days of the window (ties: the smallest name), if that is at least
    2 days; a name new to an account is never its own usual one.
``FailedSrcIpDays``
    Over the real source addresses that failed for the account that day
    and had sent it no successful logon on that day or any earlier day of
    the window: the most days of the window on which one of them failed
    for the account (the day included); 0 without such an address. Days
    are compared whole: an address whose first success is on a later day
    counts on the days before it. A slow password guess from an address
    that never worked for the account shows up here; the account's own
    workstation failing with a stale password after a change does not.

Everything is vectorized over integer codes: text columns are factorized
once, normalization runs once per distinct value, and every distinct count
comes from sorted unique integer keys. Distinct counts are exact; Kusto's
``dcount`` is an estimate that is exact in practice below about a thousand
values, so very large counts may differ slightly from the query. Where the
query takes ``arg_max`` (the display spelling, ``FailedSrcIp``,
``HostsSrcIp``), ties may be broken differently.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..identity import (
    SOURCE_LOCAL,
    SOURCE_NONE,
    SOURCE_REAL,
    account_keys,
    display_domains,
    normalize_computers,
    normalize_hosts,
    normalize_ips,
    split_accounts,
)
from ..intkeys import dense_codes, distinct_per_group, sorted_codes
from ..schema import NETWORK_LOGON, SUMMARY_COLUMNS
from .account_extras import (
    EXTRA_COLUMNS,
    hour_masks,
    package_logons,
    source_extras,
    success_hours,
)
from .account_sources import busiest_source, failed_sources, joined_names, novel_pairs
from .decode import decode_rows, text_codes
from .events import DROP_REASONS, select_network_logons

__all__ = [
    "ACCOUNT_DAY_COLUMNS",
    "NAME_COLUMNS",
    "NEW_NAMES_MAX",
    "PROFILE_COLUMNS",
    "account_day_summary",
]

#: The most names a ``New*`` column lists (the first ones in sorted order).
NEW_NAMES_MAX = 10

#: The columns naming what ``NovelSrcIp``, ``NovelSrcHost``, ``NovelComputer`` count.
NAME_COLUMNS = ["NewSrcIps", "NewSrcHosts", "NewComputers"]

#: Columns added to the ``user_day_summary`` columns, in query order.
PROFILE_COLUMNS = [
    "AccountKey",
    "NovelSrcIp",
    "NovelSrcHost",
    "NovelComputer",
    "SrcIps",
    "SrcHosts",
    "NoSrcIpLogons",
    "LocalSrcIpLogons",
    "NoSrcHostLogons",
    "SrcIpFailedAccounts",
    "SrcIpFailedAccountsUsual",
    "FailedSrcIp",
    "SrcIpHosts",
    "HostsSrcIp",
    "WindowDays",
    *EXTRA_COLUMNS,
    *NAME_COLUMNS,
]

#: Every column of ``account_day_summary``, in query order.
ACCOUNT_DAY_COLUMNS = SUMMARY_COLUMNS + PROFILE_COLUMNS

_NS_PER_DAY = 86_400 * 10**9
_NS_PER_MS = 10**6
_TEXT = (
    "Date",
    "DstDomain",
    "DstUser",
    "LogonTypeName",
    "AccountKey",
    "FailedSrcIp",
    "HostsSrcIp",
    *NAME_COLUMNS,
)
_FLOAT = ("SrcIpFailedAccountsUsual",)
_TIME = ("MAX_TimeGenerated", "MIN_TimeGenerated")


def account_day_summary(
    events: pd.DataFrame,
    *,
    start: Any = None,
    end: Any = None,
    return_dropped: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, dict[str, int]]:
    r"""
    Profile raw logon events per account and day, like the KQL query.

    Parameters
    ----------
    events : pd.DataFrame
        Raw ``SecurityEvent`` logon rows (see
        `msticnb_iforest.summarize.user_days.filter_network_logons`). Not modified.
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
        columns equal `msticnb_iforest.summarize.user_days.user_day_summary`'s.

    Raises
    ------
    InputDataError
        If `events` lacks required columns or has no readable times.
    ParameterError
        If `start` or `end` is not a time, or `start` is after `end`.

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({
    ...     "TimeGenerated": ["2024-05-01 10:00", "2024-05-01 11:30", "2024-05-02 09:00"],
    ...     "EventID": [4624, 4625, 4624], "LogonType": 3, "LogonTypeName": "3 - Network",
    ...     "TargetUserName": "bob", "TargetDomainName": "CONTOSO", "Computer": "web01",
    ...     "IpAddress": ["10.0.0.5", "10.0.0.6", "10.0.0.5"], "WorkstationName": "LAPTOP1",
    ...     "AuthenticationPackageName": "NTLM",
    ... })
    >>> columns = ["Date", "AccountKey", "AttemptedLogons", "NovelSrcIp", "WindowDays"]
    >>> account_day_summary(events)[columns]
             Date   AccountKey  AttemptedLogons  NovelSrcIp  WindowDays
    0  2024-05-01  contoso\bob                2           1           2
    1  2024-05-02  contoso\bob                1           0           2

    """
    # The filters of summarize.filter_network_logons (events.select_network_logons),
    # without building the filtered frame: columns are decoded on the kept rows.
    selection = select_network_logons(events, start, end)
    if selection is None or len(selection.rows) == 0:
        dropped = selection.dropped if selection is not None else dict.fromkeys(DROP_REASONS, 0)
        return (empty_account_days(), dropped) if return_dropped else empty_account_days()

    rows, lookup, dropped = selection.rows, selection.lookup, selection.dropped
    time_ns, success = selection.time_ns, selection.success
    domain = sorted_codes(selection.domain.codes, selection.domain.labels)
    user = sorted_codes(selection.user.codes, selection.user.labels)
    del selection  # its unsorted codes: 20M events hold one array per column

    def column(name: str) -> tuple[np.ndarray, np.ndarray]:
        if name not in lookup:  # absent AccountDomain: the constant ""
            return np.zeros(len(rows), dtype=np.int64), np.array([""], dtype=object)
        text = decode_rows(text_codes, events[lookup[name]], rows)
        return sorted_codes(text.codes, text.labels)

    table = profile_rows(time_ns, success, domain, user, column)
    return (table, dropped) if return_dropped else table


# --------------------------------------------------------------------------
# Profile
# --------------------------------------------------------------------------
def profile_rows(
    time_ns: np.ndarray,
    is_success: np.ndarray,
    domain_text: tuple[np.ndarray, np.ndarray],
    user_text: tuple[np.ndarray, np.ndarray],
    column: Any,
    *,
    weight: np.ndarray | None = None,
    latest_ns: np.ndarray | None = None,
    hours: np.ndarray | None = None,
) -> pd.DataFrame:
    """
    Aggregate kept network logon rows into account-day rows.

    `column(name)` returns the sorted codes and labels of a text column on
    the kept rows. A row may stand for `weight` logons of a day alike in
    every column read (as the engine hands them over), from `time_ns` to
    `latest_ns` and in the UTC hours of the mask `hours` (see
    `.account_extras.hour_masks`); by default each row is one logon.
    """
    # Memory: 20M events make every per-row array 80-160 MB, so each text
    # column is decoded when it is needed and released once it is counted.
    success = np.asarray(is_success, dtype=bool)  # 0/1 in sums and keys
    day_abs = np.floor_divide(time_ns, _NS_PER_DAY)
    day, days = dense_codes(day_abs - day_abs.min())
    days = days + day_abs.min()
    del day_abs

    computer_column = column("Computer")
    accounts = _accounts(domain_text, user_text, computer_column, weight)
    n_accounts = len(accounts.keys)
    group, group_keys = dense_codes(day * n_accounts + accounts.codes)
    groups = _Groups(group, group_keys, n_accounts, len(days), success, weight)

    out = _logon_columns(groups, days, accounts, time_ns, latest_ns)
    hours = hour_masks(time_ns) if hours is None else hours
    out["SuccessHours"] = success_hours(group, groups.n, success, hours)
    del hours
    count = groups.distinct_text
    out["ComputerDomainsAccessed"] = count(domain_text)[0]
    del domain_text, user_text
    package = column("AuthenticationPackageName")
    out["DistinctAuthenticationPackage"] = count(package)[0]
    out["NtlmLogons"], out["KerberosLogons"] = package_logons(groups.logons, success, package)
    del package
    out["ComputerDomainsSuccessfulAccess"] = count(column("AccountDomain"))[1]
    # Sources, normalized once per distinct label, each raw column dropped once counted.
    out["ComputersAccessed"], out["ComputersSuccessfulAccess"] = count(computer_column)
    computer = _normalized(computer_column, "computer")
    del computer_column
    ip_column = column("IpAddress")
    out["DistinctSrcIp"], out["SrcIpSuccessfulAccess"] = count(ip_column)
    ip = _normalized(ip_column, "ip")
    del ip_column
    host_column = column("WorkstationName")
    out["DistinctSrcHostName"], out["SrcHostNameSuccessfulAccess"] = count(host_column)
    host = _normalized(host_column, "host")
    del host_column
    out.update(_source_columns(groups, day, accounts.codes, computer, ip, host))
    return pd.DataFrame({name: out[name] for name in ACCOUNT_DAY_COLUMNS}, copy=False)


class _Groups:
    """
    The account-day groups of the kept rows.

    `group` is each row's group; `keys` holds each group's
    ``day * n_accounts + account`` in ascending order (the output order);
    `weight`, the logons each row stands for (None: one each).
    """

    def __init__(
        self,
        group: np.ndarray,
        keys: np.ndarray,
        n_accounts: int,
        n_days: int,
        success: np.ndarray,
        weight: np.ndarray | None = None,
    ) -> None:
        self.group, self.keys, self.success, self.weight = group, keys, success, weight
        self.n_accounts, self.n_days, self.n = n_accounts, n_days, len(keys)

    def logons(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Count the logons of each group (of the rows where `rows` is True, if given)."""
        group = self.group if rows is None else self.group[rows]
        weight = self.weight if rows is None or self.weight is None else self.weight[rows]
        return np.bincount(group, weights=weight, minlength=self.n).astype(np.int64)

    def distinct(self, codes: np.ndarray, n_values: int, rows: np.ndarray | None = None) -> tuple:
        """Count distinct values per group (of `rows` if given); see `distinct_per_group`."""
        if rows is None:
            return distinct_per_group(self.group, self.n, codes, n_values, self.success)
        return distinct_per_group(
            self.group[rows], self.n, codes[rows], n_values, self.success[rows]
        )

    def distinct_text(self, text: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Count the distinct values of a decoded text column per group: all, and on success."""
        codes, labels = text
        every, ok, _ = self.distinct(codes, len(labels))
        return every, ok

    def novel(
        self, pairs: np.ndarray, n_values: int, counted: np.ndarray | None = None
    ) -> np.ndarray:
        """
        Count, per group, the values (`pairs` from `distinct`) used on no other day.

        With `counted` (a mask over the value codes), only those values count.
        """
        where, _ = self.novel_pairs(pairs, n_values, counted)
        return np.bincount(where, minlength=self.n).astype(np.int64)

    def novel_pairs(
        self, pairs: np.ndarray, n_values: int, counted: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the group and value code of each value `novel` counts."""
        width = max(n_values, 1)
        keys = self.keys[pairs // width]
        return novel_pairs(
            keys % self.n_accounts,
            pairs % width,
            n_values,
            keys // self.n_accounts,
            self.n_days,
            self.n_accounts,
            self.keys,
            counted,
        )


def _logon_columns(
    groups: _Groups,
    days: np.ndarray,
    accounts: _Accounts,
    time_ns: np.ndarray,
    latest_ns: np.ndarray | None = None,
) -> dict[str, Any]:
    """Return the account, day, count and time columns of each group."""
    group, n_groups = groups.group, groups.n
    group_account = groups.keys % groups.n_accounts
    attempted = groups.logons()
    successful = groups.logons(groups.success)
    latest = np.full(n_groups, np.iinfo(np.int64).min, dtype=np.int64)
    earliest = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
    np.maximum.at(latest, group, time_ns if latest_ns is None else latest_ns)
    np.minimum.at(earliest, group, time_ns)
    day_text = np.datetime_as_string(days.astype("datetime64[D]")).astype(object)
    return {
        "Date": day_text[groups.keys // groups.n_accounts],
        "DstDomain": accounts.domains[group_account],
        "DstUser": accounts.users[group_account],
        "LogonTypeName": np.full(n_groups, NETWORK_LOGON, dtype=object),
        "AttemptedLogons": attempted.astype(np.int64),
        "MAX_TimeGenerated": pd.DatetimeIndex(latest.view("datetime64[ns]")).tz_localize("UTC"),
        "MIN_TimeGenerated": pd.DatetimeIndex(earliest.view("datetime64[ns]")).tz_localize("UTC"),
        "SuccessfulLogons": successful,
        "FailedLogons": (attempted - successful).astype(np.int64),
        "ActiveMilliseconds": np.floor_divide(latest, _NS_PER_MS)
        - np.floor_divide(earliest, _NS_PER_MS),
        "AccountKey": accounts.keys[group_account],
    }


def _source_columns(
    groups: _Groups,
    day: np.ndarray,
    account: np.ndarray,
    computers: tuple[np.ndarray, np.ndarray, Any],
    ips: tuple[np.ndarray, np.ndarray, np.ndarray],
    hosts: tuple[np.ndarray, np.ndarray, Any],
) -> dict[str, Any]:
    """
    Return the novelty, source and failure-context columns of each group.

    `computers`, `ips` and `hosts` are the normalized target computers,
    source addresses and workstation names (see `_normalized`); `day` and
    `account` are each row's day and account codes.
    """
    computer, computer_labels, _ = computers
    ip, ip_labels, ip_kind = ips
    host, host_labels, _ = hosts
    n_groups = groups.n
    real_ip = ip_kind == SOURCE_REAL
    real_host = host_labels[host] != ""
    src_ips, _, ip_pairs = groups.distinct(ip, len(ip_labels), real_ip)
    src_hosts, _, host_pairs = groups.distinct(host, len(host_labels), real_host)
    _, _, computer_pairs = groups.distinct(computer, len(computer_labels))
    failed = ~groups.success & real_ip
    spray_count, spray_usual, spray_ip = failed_sources(
        day[failed],
        account[failed],
        ip[failed],
        len(ip_labels),
        groups.n_accounts,
        groups.n_days,
        groups.keys,
    )
    burst, burst_ip = busiest_source(
        groups, ip, len(ip_labels), host, len(host_labels), real_ip & real_host, src_hosts
    )
    ip_text = np.append(ip_labels, "").astype(object)
    extra = source_extras(
        groups,
        day,
        account,
        (ip, ip_labels, real_ip),
        (host, len(host_labels), real_host),
        host_pairs,
    )
    for kind, pairs, labels in (
        ("SrcIp", ip_pairs, ip_labels),
        ("SrcHost", host_pairs, host_labels),
        ("Computer", computer_pairs, computer_labels),
    ):
        where, value = groups.novel_pairs(pairs, len(labels))
        extra[f"Novel{kind}"] = np.bincount(where, minlength=n_groups).astype(np.int64)
        extra[f"New{kind}s"] = joined_names(where, value, labels, n_groups, NEW_NAMES_MAX)
    return extra | {
        "SrcIps": src_ips,
        "SrcHosts": src_hosts,
        "NoSrcIpLogons": groups.logons(ip_kind == SOURCE_NONE),
        "LocalSrcIpLogons": groups.logons(ip_kind == SOURCE_LOCAL),
        "NoSrcHostLogons": groups.logons(~real_host),
        "SrcIpFailedAccounts": spray_count,
        "SrcIpFailedAccountsUsual": spray_usual,
        "FailedSrcIp": ip_text[spray_ip],
        "SrcIpHosts": burst,
        "HostsSrcIp": ip_text[burst_ip],
        "WindowDays": np.full(n_groups, groups.n_days, dtype=np.int64),
    }


class _Accounts:
    """Canonical accounts of the kept rows: a code per row, key and display spelling per code."""

    def __init__(self, codes, keys, domains, users):
        self.codes, self.keys, self.domains, self.users = codes, keys, domains, users


def _accounts(
    domain_text: tuple[np.ndarray, np.ndarray],
    user_text: tuple[np.ndarray, np.ndarray],
    computer_column: tuple[np.ndarray, np.ndarray],
    weight: np.ndarray | None = None,
) -> _Accounts:
    """
    Give every row its canonical account and every account its display spelling.

    Keys are computed once per distinct (domain, user) spelling, and per
    computer only for spellings whose domain is ``.`` (local accounts).
    Accounts are numbered in key order. The display spelling of an account
    is its most frequent one in the rows (ties: the smallest), as written
    (only a ``.`` domain becomes the computer's short name).
    """
    (domain, domain_labels), (user, user_labels) = domain_text, user_text
    computer, computer_labels = computer_column
    pair, pair_keys = dense_codes(domain * len(user_labels) + user)
    pair_domain = domain_labels[pair_keys // len(user_labels)]
    pair_user = user_labels[pair_keys % len(user_labels)]
    # Local accounts (domain ".") need the computer: theirs is a different account per computer.
    row_local = (split_accounts(pair_user, pair_domain)[1] == ".")[pair]
    # A spelling is a (domain, user) pair, plus the computer for local accounts.
    which = np.where(row_local, computer + 1, 0)
    spelling, spelling_keys = dense_codes(pair * (len(computer_labels) + 1) + which)
    s_pair = spelling_keys // (len(computer_labels) + 1)
    s_comp = spelling_keys % (len(computer_labels) + 1) - 1
    s_user = pair_user[s_pair]
    s_domain = pair_domain[s_pair]
    s_computer = np.where(s_comp >= 0, computer_labels[np.maximum(s_comp, 0)], "")
    s_key = account_keys(s_user, s_domain, s_computer)
    s_display_domain = display_domains(s_domain, s_computer)
    # The user exactly as logged: trimming would show (and pivot on) a name not in the logs.
    s_display_user = pd.Series(s_user, dtype=object)
    # Keys stay str objects: fixed-width numpy text would pad each to the longest.
    s_account, keys = sorted_codes(*pd.factorize(s_key))
    # Display: the most frequent display spelling of each account (ties: smallest text).
    shown = pd.MultiIndex.from_arrays([s_display_domain, s_display_user.to_numpy()])
    shown_codes, shown_text = pd.factorize(shown, sort=True)
    counts = np.bincount(spelling, weights=weight, minlength=len(spelling_keys)).astype(np.int64)
    per = pd.DataFrame({"account": s_account, "shown": shown_codes, "n": counts})
    per = per.groupby(["account", "shown"], sort=True)["n"].sum().reset_index()
    per = per.sort_values(["account", "n", "shown"], ascending=[True, False, True], kind="stable")
    best = per.drop_duplicates("account")["shown"].to_numpy()
    return _Accounts(
        codes=s_account[spelling].astype(np.int64),
        keys=keys.astype(object),
        domains=np.asarray(shown_text.get_level_values(0), dtype=object)[best],
        users=np.asarray(shown_text.get_level_values(1), dtype=object)[best],
    )


def _normalized(
    text: tuple[np.ndarray, np.ndarray], kind: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Normalize a decoded text column once per distinct label.

    Returns per-row codes of the normalized values (in sorted order), the
    normalized labels and, for addresses, the per-row source kind.
    """
    codes, labels = text
    if kind == "ip":
        values, label_kind = normalize_ips(labels)
    elif kind == "host":
        values, label_kind = normalize_hosts(labels), None
    else:
        values, label_kind = normalize_computers(labels), None
    norm, norm_labels = pd.factorize(pd.Series(values, dtype=object).astype(str), sort=True)
    row_kind = label_kind[codes] if label_kind is not None else None
    return norm[codes].astype(np.int64), np.asarray(norm_labels, dtype=object), row_kind


def empty_account_days() -> pd.DataFrame:
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

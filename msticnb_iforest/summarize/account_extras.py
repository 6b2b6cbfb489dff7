r"""
The later per-account-day columns: hours, packages, networks, others' desks, failing days.

`msticnb_iforest.summarize.account_days.profile_rows` calls these on the
integer codes it already holds (its module docstring defines every
column). They work as its other counts do: on sorted unique integer keys,
with text handled once per distinct label, never per row, so the pandas
path and the DuckDB engine (which hands over grouped rows) agree.

The source network of an address (``NovelSrcNet``) is decided by text,
the same way in the KQL query:

- an IPv4 literal (four decimal octets 0-255 without leading zeros) has
  its first three octets as network (its /24);
- text made only of hex digits, ``:`` and ``.``, holding a ``:`` and
  parsing as an IPv6 address has its first four hextets as network (its
  /64), compared in full, zero-padded form (``2001:db8::1`` and
  ``2001:0db8:0:0::2`` share one);
- anything else is a network of its own.

The query tests IPv6 with Kusto's ``parse_ipv6`` where this module uses
Python's `ipaddress`; on the characters allowed above they agree for
every well-formed address, though a malformed one may pass one parser and
not the other.
"""

from __future__ import annotations

import ipaddress

import numpy as np
import pandas as pd

from ..identity import normalize_computers
from ..intkeys import dense_codes, runs, sorted_unique

__all__ = [
    "EXTRA_COLUMNS",
    "IPV4_OCTET",
    "failed_source_days",
    "hour_masks",
    "package_labels",
    "package_logons",
    "source_extras",
    "source_networks",
    "success_hours",
    "usual_hosts",
]

#: The columns this module computes, in query order.
EXTRA_COLUMNS = [
    "SuccessHours",
    "NtlmLogons",
    "KerberosLogons",
    "NovelSrcNet",
    "NovelSrcHostOthers",
    "FailedSrcIpDays",
]

#: One IPv4 octet, 0-255 without leading zeros (the KQL query repeats it).
IPV4_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = r"\.".join([IPV4_OCTET] * 4)
_IPV6_CHARS = "[0-9a-f:.]+"
_NS_PER_HOUR = 3_600 * 10**9
_NS_PER_DAY = 24 * _NS_PER_HOUR


def hour_masks(time_ns: np.ndarray) -> np.ndarray:
    """Return ``1 << h`` per time, `h` its UTC hour of day (0-23)."""
    hour = np.floor_divide(np.mod(time_ns, _NS_PER_DAY), _NS_PER_HOUR)
    return np.left_shift(np.int64(1), hour.astype(np.int64))


def success_hours(
    group: np.ndarray, n_groups: int, success: np.ndarray, hours: np.ndarray
) -> np.ndarray:
    """OR the hour masks of each group's successful rows (0 without a success)."""
    out = np.zeros(n_groups, dtype=np.int64)
    np.bitwise_or.at(out, group[success], hours[success].astype(np.int64))
    return out


def package_labels(labels: np.ndarray, name: str) -> np.ndarray:
    """Whether each authentication package label is `name` (trimmed, case ignored)."""
    return normalize_computers(labels) == name.lower()


def package_logons(
    logons, success: np.ndarray, package: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """
    Count each group's successful NTLM and Kerberos logons.

    `logons(rows)` counts the logons of the rows marked per group (the
    `_Groups.logons` of `account_days`); `package` is the decoded
    ``AuthenticationPackageName`` column (codes, labels).
    """
    codes, labels = package
    ntlm = logons(success & package_labels(labels, "NTLM")[codes])
    kerberos = logons(success & package_labels(labels, "Kerberos")[codes])
    return ntlm, kerberos


def source_networks(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """
    Give each normalized source address label the code of its network.

    Returns the code per label and the number of networks. Networks of
    different kinds never share a code (see the module docstring).
    """
    text = pd.Series(labels, dtype=object).astype(str)
    network = "t|" + text
    ipv4 = text.str.fullmatch(_IPV4)
    network[ipv4] = "4|" + text[ipv4].str.rsplit(".", n=1).str[0]
    maybe_v6 = ~ipv4 & text.str.contains(":", regex=False) & text.str.fullmatch(_IPV6_CHARS)
    for position in np.flatnonzero(maybe_v6.to_numpy()):  # per distinct label, few
        try:
            full = ipaddress.IPv6Address(text.iat[position]).exploded
        except ValueError:
            continue
        network.iat[position] = "6|" + full[:19]
    codes, uniques = pd.factorize(network)
    return codes.astype(np.int64), len(uniques)


def usual_hosts(
    account: np.ndarray, day: np.ndarray, n_days: int, host: np.ndarray, n_hosts: int
) -> np.ndarray:
    """
    Mark the hosts that are some account's usual workstation.

    The rows are the successful logons with a real workstation name. An
    account's usual workstation is the name on which it logged on on the
    most days (ties: the smallest name, i.e. code), if that is at least 2
    days. Returns a mask over the host codes.
    """
    usual = np.zeros(max(n_hosts, 1), dtype=bool)
    if len(account) == 0:
        return usual
    width = max(n_hosts, 1)
    seen = sorted_unique((account.astype(np.int64) * width + host) * n_days + day)
    starts, days = runs(seen // n_days)
    pair = seen[starts] // n_days
    pair_account, pair_host = pair // width, pair % width
    order = np.lexsort((pair_host, -days, pair_account))
    first, _ = runs(pair_account[order])
    best = order[first]
    usual[pair_host[best[days[best] >= 2]]] = True
    return usual


def failed_source_days(
    group: np.ndarray,
    group_keys: np.ndarray,
    n_accounts: int,
    ip: np.ndarray,
    n_ips: int,
    success: np.ndarray,
) -> np.ndarray:
    """
    Per group, the most days one of its untried sources failed for the account.

    The rows are those with a real source address. A source counts in a
    group when it failed there and had sent the account no success on that
    day or any earlier one (days are compared as day codes, ``group_keys //
    n_accounts``); its days are the groups (days) of the same account in
    which it failed.
    """
    out = np.zeros(len(group_keys), dtype=np.int64)
    if len(group) == 0:
        return out
    width = max(n_ips, 1)
    found = sorted_unique((group.astype(np.int64) * width + ip) * 2 + success)
    ok = (found & 1) == 1
    pair_group = (found >> 1) // width
    key = group_keys[pair_group]
    day = key // n_accounts
    code, sources = dense_codes((key % n_accounts) * width + (found >> 1) % width)
    del key
    first_success = np.full(len(sources), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_success, code[ok], day[ok])
    failed = ~ok
    days = np.bincount(code[failed], minlength=len(sources))
    counted = failed & (day < first_success[code])
    np.maximum.at(out, pair_group[counted], days[code[counted]])
    return out


def source_extras(
    groups,
    day: np.ndarray,
    account: np.ndarray,
    ips: tuple[np.ndarray, np.ndarray, np.ndarray],
    hosts: tuple[np.ndarray, int, np.ndarray],
    host_pairs: np.ndarray,
) -> dict[str, np.ndarray]:
    """
    Return ``NovelSrcNet``, ``NovelSrcHostOthers`` and ``FailedSrcIpDays`` per group.

    `groups` is the `_Groups` of `account_days`; `day` and `account` are
    each row's codes; `ips` holds the normalized address codes, their
    labels and the rows with a real address; `hosts`, the workstation name
    codes, their number and the rows with a real name; `host_pairs`, the
    distinct (group, real name) pairs that ``NovelSrcHost`` counts.
    """
    ip, ip_labels, real_ip = ips
    host, n_hosts, real_host = hosts
    network, n_networks = source_networks(ip_labels)
    row_network = network[ip]
    _, _, network_pairs = groups.distinct(row_network, n_networks, real_ip)
    del row_network
    desk = groups.success & real_host
    usual = usual_hosts(account[desk], day[desk], groups.n_days, host[desk], n_hosts)
    del desk
    failed_days = failed_source_days(
        groups.group[real_ip],
        groups.keys,
        groups.n_accounts,
        ip[real_ip],
        len(ip_labels),
        groups.success[real_ip],
    )
    return {
        "NovelSrcNet": groups.novel(network_pairs, n_networks),
        "NovelSrcHostOthers": groups.novel(host_pairs, n_hosts, usual),
        "FailedSrcIpDays": failed_days,
    }

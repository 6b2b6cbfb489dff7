"""
What the self-test learns from the user's own logons before planting attacks.

`learn_profile` reads the network logons the hunt keeps (the filters of
`summarize.events.select_network_logons`) and returns a `DataProfile`: each
account's usual workstation, address, servers and hours, which accounts look
like service accounts or administrators, the address ranges in use, the
authentication packages seen and the days covered. The planting code
(`selftest.plant`) picks victims and sources from it, so planted attacks use
the data's own names.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputDataError
from ..summarize.events import decode_rows, select_network_logons, text_codes

__all__ = ["DataProfile", "learn_profile", "DAY_NS", "HOUR_NS"]

HOUR_NS = 3_600_000_000_000
DAY_NS = 24 * HOUR_NS

#: Source values that name no host or address.
_EMPTY = frozenset({"", "-", "::1", "127.0.0.1", "localhost"})

#: Account names that say "service account" whatever the account does.
_SERVICE_NAME = r"^(?:svc|srv|sa|service)[-_.]|[-_.](?:svc|service)$"


@dataclass
class DataProfile:
    """
    The user's network logons, as the planting code needs them.

    Attributes
    ----------
    logons : pd.DataFrame
        One row per kept network logon: ``time`` (UTC nanoseconds), ``day``
        (days since 1970), ``hour``, ``domain``, ``user``, ``success``,
        ``computer``, ``ip``, ``ws``, ``auth``.
    accounts : pd.DataFrame
        One row per account (index ``domain``, ``user``): ``days`` (days
        with a success), ``first_day``, ``last_day``, ``ws``, ``ip`` (the
        most used source), ``n_servers``, ``hour`` (busiest hour, UTC),
        ``quiet_hour`` (middle of its longest run of hours without a
        success), ``quiet_gap`` (that run's length), ``auth`` (usual
        package), ``daily`` (median successes on its active days),
        ``service`` and ``admin`` (bool).
    servers : dict of (str, str) to list of str
        Each account's usual target computers, most used first.
    computers : list of str
        Every target computer, most used first.
    nets : set of str
        The address ranges seen (IPv4 /24, IPv6 /64 prefixes).
    ips : set of str
        Every source address seen.
    auths : set of str
        Authentication packages seen, upper-case.
    first_day, last_day : int
        The days covered (days since 1970).

    """

    logons: pd.DataFrame
    accounts: pd.DataFrame
    servers: dict[tuple[str, str], list[str]]
    computers: list[str]
    nets: set[str]
    ips: set[str]
    auths: set[str]
    first_day: int
    last_day: int
    notes: list[str] = field(default_factory=list)

    @property
    def n_days(self) -> int:
        """Days from the first to the last logon, both included."""
        return self.last_day - self.first_day + 1


def net_of(address: str) -> str | None:
    """
    Return the range an address belongs to (IPv4 /24, IPv6 /64), or None.

    Examples
    --------
    >>> net_of("10.1.2.3"), net_of("fe80::1"), net_of("-")
    ('10.1.2.0/24', 'fe80::/64', None)

    """
    try:
        ip = ipaddress.ip_address(str(address).strip())
    except ValueError:
        return None
    bits = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))


def learn_profile(events: pd.DataFrame) -> DataProfile:
    """
    Learn accounts, servers, workstations and address ranges from raw logon rows.

    Parameters
    ----------
    events : pd.DataFrame
        Raw SecurityEvent logon rows (columns of `schema.RAW_REQUIRED_COLUMNS`).
        Not modified.

    Returns
    -------
    DataProfile

    Raises
    ------
    InputDataError
        If the rows hold no successful network logon of a user account.

    Examples
    --------
    >>> from msticnb_iforest.sources.demo import generate_demo
    >>> profile = learn_profile(generate_demo(n_users=40, n_days=7).events)
    >>> profile.n_days, bool(profile.accounts["service"].any())
    (7, True)

    """
    logons = _logons(events)
    good = logons[logons["success"]]
    if good.empty:
        raise InputDataError(
            "The self-test needs successful network logons (event 4624, logon type 3) of user "
            "accounts to learn from; the input has none."
        )
    first, last = int(logons["day"].min()), int(logons["day"].max())
    accounts = _accounts(good, last - first + 1)
    servers = {
        key: list(group.value_counts().index)
        for key, group in good.groupby(["domain", "user"], sort=True)["computer"]
    }
    accounts["n_servers"] = [len(servers[key]) for key in accounts.index]
    accounts["admin"] = _admins(accounts)
    ips = {ip for ip in logons["ip"].unique() if ip not in _EMPTY}
    nets = {net for net in map(net_of, ips) if net}
    return DataProfile(
        logons=logons,
        accounts=accounts,
        servers=servers,
        computers=list(good["computer"].value_counts().index),
        nets=nets,
        ips=ips,
        auths={str(a).upper() for a in logons["auth"].unique()},
        first_day=first,
        last_day=last,
    )


def _logons(events: pd.DataFrame) -> pd.DataFrame:
    """Decode the kept network logons into a compact frame (see `DataProfile.logons`)."""
    if not isinstance(events, pd.DataFrame):
        raise InputDataError(f"Expected a DataFrame of raw logon events, got {type(events)}.")
    chosen = select_network_logons(events, None, None)
    if chosen is None or not len(chosen.rows):
        raise InputDataError(
            "The self-test needs network logons (events 4624/4625 with logon type "
            "'3 - Network') to learn from; the input has none."
        )

    def text(name: str) -> np.ndarray:
        decoded = decode_rows(text_codes, events[chosen.lookup[name]], chosen.rows)
        return np.asarray(decoded.labels, dtype=object)[decoded.codes]

    time_ns = chosen.time_ns.astype(np.int64)
    return pd.DataFrame(
        {
            "time": time_ns,
            "day": time_ns // DAY_NS,
            "hour": (time_ns % DAY_NS) // HOUR_NS,
            "domain": chosen.domain.labels[chosen.domain.codes],
            "user": chosen.user.labels[chosen.user.codes],
            "success": chosen.success,
            "computer": text("Computer"),
            "ip": text("IpAddress"),
            "ws": text("WorkstationName"),
            "auth": text("AuthenticationPackageName"),
        }
    )


def _mode(values: pd.Series) -> Any:
    """Return the most common value of a group, preferring real names over empty ones."""
    real = values[~values.isin(_EMPTY)]
    counts = (real if len(real) else values).value_counts()
    return counts.index[0] if len(counts) else ""


def _accounts(good: pd.DataFrame, n_days: int) -> pd.DataFrame:
    """Per-account habits from the successful logons."""
    keys = ["domain", "user"]
    grouped = good.groupby(keys, sort=True)
    table = grouped["day"].agg(days="nunique", first_day="min", last_day="max")
    table["ws"] = grouped["ws"].agg(_mode)
    table["ip"] = grouped["ip"].agg(_mode)
    table["auth"] = grouped["auth"].agg(_mode)
    per_day = good.groupby([*keys, "day"]).size()
    table["daily"] = per_day.groupby(level=[0, 1]).median()
    hours = pd.crosstab([good["domain"], good["user"]], good["hour"]).reindex(
        columns=range(24), fill_value=0
    )
    hours = hours.reindex(table.index)
    busy = hours.to_numpy() > 0
    table["hour"] = hours.to_numpy().argmax(axis=1)
    gap, middle = _quiet_runs(busy)
    table["quiet_gap"], table["quiet_hour"] = gap, middle
    named = table.index.get_level_values("user").str.contains(_SERVICE_NAME, case=False)
    steady = (table["days"] >= max(2, 0.8 * n_days)) & (busy.sum(axis=1) >= 16)
    table["service"] = named | steady.to_numpy()
    return table


def _quiet_runs(busy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Longest circular run of idle hours per row, and the hour in its middle."""
    n = busy.shape[0]
    gaps, middles = np.zeros(n, dtype=int), np.zeros(n, dtype=int)
    doubled = np.concatenate([busy, busy], axis=1)
    for length in range(1, 24):  # vectorized over rows: does a run this long start at h?
        idle = np.ones((n, 24), dtype=bool)
        for offset in range(length):
            idle &= ~doubled[:, offset : offset + 24]
        has = idle.any(axis=1)
        if not has.any():
            break
        gaps[has] = length
        middles[has] = (idle[has].argmax(axis=1) + length // 2) % 24
    return gaps, middles


def _admins(accounts: pd.DataFrame) -> np.ndarray:
    """Accounts using the most servers (top 5 %, at least three servers), never services."""
    humans = accounts["n_servers"][~accounts["service"]]
    if humans.empty:
        return np.zeros(len(accounts), dtype=bool)
    cut = max(3.0, float(humans.quantile(0.95)))
    return ((accounts["n_servers"] >= cut) & ~accounts["service"]).to_numpy()

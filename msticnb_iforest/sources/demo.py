"""
A seeded demo enterprise: raw Windows logon events with labelled attacks.

`generate_demo` builds the ``SecurityEvent`` rows (event IDs 4624 and 4625)
that a small company's domain would log over a few weeks, and plants attacks
whose victims are listed in `DemoData.labels`, one row per attacked
user-day. The same arguments always give the same frames.

The company
-----------
* Human users work at five sites with fixed UTC offsets (no daylight saving):
  SEA -8, NYC -5, LON 0, BER +1, BLR +5.5. Each has a workstation (a name
  and a 10.x address of their site) and a few servers they use: their site's
  domain controller and file server, a mail server, one to three application
  servers, sometimes a web or SQL server. Their network logons (type 3) go
  from their workstation to those servers in business hours of their time
  zone; weekends are much quieter. Daily counts are Poisson with a per-user
  rate and a per-day gamma factor. Some users mistype passwords (one to three
  4625 events just before a success), some are on leave some days, and a few
  travel: on remote days their logons come from a VPN address instead.
* About 4 % of users are admins who use 8 to 25 more servers.
* Dormant accounts exist in the directory but rarely log on; some are
  disabled and never log on.
* Service accounts (``svc-backup``, ``svc-sql01``, ...) log on all day from
  one to three fixed servers to fixed servers, with near-constant daily
  counts; backup accounts are busiest at night (UTC).
* With ``noise=True`` the log also holds rows the hunting query drops:
  machine accounts (names ending in ``$``), ``NT AUTHORITY`` anonymous
  network logons and SYSTEM / LOCAL SERVICE / NETWORK SERVICE service
  logons, ``Window Manager`` and ``Font Driver Host`` interactive logons,
  interactive and remote-interactive logons of real users, and batch logons
  of service accounts. None of these is ever labelled.
* Every network logon names its source host in ``WorkstationName`` (real
  Kerberos logons often log ``-`` there), so host counts are meaningful.

Attacks
-------
See `ATTACK_KINDS` and `generate_demo` for the models. Every attack event is
a type-3 network logon of a real domain account that the hunting query keeps,
and falls inside one UTC day; no (day, account) pair is labelled twice.
Single-account attacks are planned first and never share a victim; spray
targets are never such victims and are fresh accounts while any remain, else
accounts sprayed on other days. An incident is skipped when no account of
the kind it needs is left (only in tiny companies or with many incidents).

Randomness
----------
Every random stream is a ``numpy.random.default_rng`` seeded from the seed
plus a fixed stream number and a calendar day or incident number, so the
background does not depend on which attacks are planted, on ``noise``, on
``chunk_days`` or on the window (a day's background rows are the same in
every window that contains it, for the same ``n_users`` and service
accounts): the rows of ``generate_demo(attacks=[])`` are those of
``generate_demo()`` minus the attack rows (except the service-account rows a
``service_new_host`` attack moves to its new host), and ``noise=False``
removes exactly the noise rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ..schema import EVENT_COLUMNS

__all__ = [
    "ATTACK_KINDS",
    "DEFAULT_END",
    "EVENT_COLUMNS",
    "LABEL_COLUMNS",
    "DemoData",
    "DemoEnterprise",
    "demo_labels",
    "generate_demo",
    "iter_demo_events",
    "match_labels",
]

#: Attack kinds that can be planted, in planting order.
ATTACK_KINDS: tuple[str, ...] = (
    "brute_force",
    "password_spray",
    "lateral_movement",
    "service_new_host",
    "brute_force_random_hosts",
)

#: Last day of the window when none is given (fixed, so output is reproducible).
DEFAULT_END = date(2024, 3, 31)


#: Columns of the label table, in order.
LABEL_COLUMNS = ["Date", "DstDomain", "DstUser", "attack", "detail", "incident"]

_MS = 1_000_000
_HOUR_MS = 3_600_000
_DAY_MS = 24 * _HOUR_MS
_DAY_NS = _DAY_MS * _MS

# Logon types: code -> (LogonType, LogonTypeName).
_NET, _INTERACTIVE, _SERVICE, _REMOTE, _BATCH = range(5)
_LOGON_TYPE = np.array([3, 2, 5, 10, 4], dtype=np.int64)
_LOGON_TYPE_NAME = np.array(
    ["3 - Network", "2 - Interactive", "5 - Service", "10 - RemoteInteractive", "4 - Batch"],
    dtype=object,
)
# Authentication: code -> (AuthenticationPackageName, LogonProcessName).
_KERBEROS, _NTLM, _ADVAPI, _USER32 = range(4)
_AUTH_PACKAGE_CODE = np.array([0, 1, 2, 2], dtype=np.intp)
_AUTH_PACKAGE = np.array(["Kerberos", "NTLM", "Negotiate"], dtype=object)
_LOGON_PROCESS = np.array(["Kerberos", "NtLmSsp ", "Advapi  ", "User32 "], dtype=object)
# Status: code -> (Status, SubStatus); 0 is success (event 4624).
_OK, _BAD_PASSWORD, _LOCKED_OUT, _DISABLED = range(4)
_STATUS = np.array(["", "0xc000006d", "0xc0000234", "0xc000006e"], dtype=object)
_SUBSTATUS = np.array(["", "0xc000006a", "0x0", "0xc0000072"], dtype=object)

# Sites: code, UTC offset in hours, first octet pair "10.<n>", share of users.
_SITES = (
    ("SEA", -8.0, 10, 0.30),
    ("NYC", -5.0, 20, 0.25),
    ("LON", 0.0, 30, 0.20),
    ("BER", 1.0, 40, 0.15),
    ("BLR", 5.5, 50, 0.10),
)


def _words(text: str) -> tuple[str, ...]:
    """Split a block of space-separated words."""
    return tuple(text.split())


_FIRST_NAMES = _words(
    "aaron adam aisha alan alex alice amir ana andrea anna ben bianca carla carlos chen chloe "
    "chris dana daniel david diego elena emily emma eric eva fatima felix grace hana hannah "
    "henry ian irene isaac ivan jack james jane jason jin john jose julia karen kate kenji "
    "laura lena leo liam lily lucas maria mark maya mei michael mohammed nadia nina noah "
    "olga omar oscar paul priya rahul raj rosa ruth sam sara sean sofia tom uma victor wei "
    "yara yusuf zoe"
)
_LAST_NAMES = _words(
    "adams ahmed ali alvarez anderson bauer becker brown campbell chen clark cohen costa "
    "davies diaz dubois evans fischer flores garcia gomez gonzalez green gupta hall harris "
    "hernandez hill hoffmann huang hughes ivanova jackson jensen johnson jones kaur khan kim "
    "king klein kowalski kumar lee lewis lopez martin martinez meyer miller mitchell moore "
    "morris muller murphy nguyen novak obrien okafor olsen patel perez peters petrov "
    "phillips reddy richter rivera roberts robinson rossi russo sanchez santos schmidt "
    "schneider scott silva singh smith sousa stewart suzuki tanaka taylor thomas thompson "
    "torres turner walker wang watson weber white williams wilson wong wright yamamoto "
    "young zhang"
)
# Service accounts: name, busiest at night (backup windows).
_SERVICE_NAMES = (
    ("svc-backup", True),
    ("svc-sql01", False),
    ("svc-sccm", False),
    ("svc-monitor", False),
    ("svc-exchange", False),
    ("svc-iis", False),
    ("svc-sql02", False),
    ("svc-veeam", True),
    ("svc-sharepoint", False),
    ("svc-adsync", False),
    ("svc-scan", False),
    ("svc-print", False),
    ("svc-etl", False),
    ("svc-crm", False),
    ("svc-jenkins", False),
    ("svc-web", False),
)
_ALNUM = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
_FIELDS = ("t", "acct", "comp", "ip", "ws", "lt", "auth", "st", "atk", "inc")
_FIELD_DTYPES = {
    "t": np.int64,
    "acct": np.int32,
    "comp": np.int32,
    "ip": np.int32,
    "ws": np.int32,
    "lt": np.int8,
    "auth": np.int8,
    "st": np.int8,
    "atk": np.int8,
    "inc": np.int32,
}

# Random stream numbers (with the seed and a day or incident number).
(
    _S_ORG,
    _S_HUMAN,
    _S_SERVICE,
    _S_PLAN,
    _S_NOISE_LOCAL,
    _S_NOISE_UTC,
    _S_MOVE,
    _S_CALENDAR,
    _S_LEAVE,
) = range(9)
# Day streams are numbered by calendar day (days since 1970 plus this), so a
# day's background is the same in every window that contains it.
_DAY_BASE = 1_000_000
# Holidays are drawn per 30-day period: one block of 1-10 days in 35 % of them.
_LEAVE_PERIOD = 30


@dataclass
class DemoData:
    """
    A generated demo log and what was planted in it.

    Attributes
    ----------
    events : pd.DataFrame
        Raw logon events (`EVENT_COLUMNS`), sorted by ``TimeGenerated``,
        with a RangeIndex.
    labels : pd.DataFrame
        One row per attacked user-day (`LABEL_COLUMNS`): ``Date`` (naive
        midnight UTC), ``DstDomain``, ``DstUser``, ``attack`` (a name from
        `ATTACK_KINDS`), ``detail`` (short text) and ``incident`` (the
        incident number; a password spray labels many accounts with one).
    start : pd.Timestamp
        First day of the window (UTC midnight, tz-aware).
    end : pd.Timestamp
        End of the window, exclusive: UTC midnight after the last day.
    incidents : pd.DataFrame
        One row per planted attack: incident, attack, Date, start, end,
        accounts, source IP and host, target and detail.
    event_attack : pd.Series
        Aligned to `events`: the attack kind of each attack row
        (categorical), missing for background rows.
    event_incident : pd.Series
        Aligned to `events`: the incident number of each attack row, -1 for
        background rows.

    """

    events: pd.DataFrame
    labels: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp
    incidents: pd.DataFrame = field(default_factory=pd.DataFrame)
    event_attack: pd.Series = field(default_factory=lambda: pd.Series(dtype="category"))
    event_incident: pd.Series = field(default_factory=lambda: pd.Series(dtype="int32"))


class _Vocab:
    """Distinct strings with integer codes in insertion order."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.index: dict[str, int] = {}

    def add(self, value: str) -> int:
        code = self.index.get(value)
        if code is None:
            code = len(self.items)
            self.index[value] = code
            self.items.append(value)
        return code

    def add_many(self, values: Iterable[str]) -> np.ndarray:
        return np.array([self.add(v) for v in values], dtype=np.int32)

    def array(self) -> np.ndarray:
        return np.array(self.items, dtype=object)


def _part(n: int, **values: object) -> dict[str, np.ndarray]:
    """Build event columns (codes) of length n, broadcasting scalars."""
    out = {}
    for name in _FIELDS:
        value = values.get(name, -1 if name == "inc" else 0)
        dtype = _FIELD_DTYPES[name]
        if np.ndim(value) == 0:
            out[name] = np.full(n, value, dtype=dtype)
        else:
            out[name] = np.asarray(value, dtype=dtype)
    return out


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if not parts:
        return _part(0)
    return {name: np.concatenate([p[name] for p in parts]) for name in _FIELDS}


def _take(part: dict[str, np.ndarray], index: np.ndarray) -> dict[str, np.ndarray]:
    return {name: values[index] for name, values in part.items()}


def _weighted_csr(
    owner: np.ndarray, item: np.ndarray, weight: np.ndarray, n_owners: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Pack (owner, item, weight) triples for fast weighted sampling.

    Returns the items sorted by owner, keys ``owner + cumulative share`` and
    the sorted owners;
    ``items[searchsorted(keys, owner + u, side="right")]`` with ``u`` uniform
    in [0, 1) draws an item of `owner` with probability proportional to its
    weight.
    """
    order = np.argsort(owner, kind="stable")
    owner, item, weight = owner[order], item[order], weight[order].astype(float)
    total = np.bincount(owner, weights=weight, minlength=n_owners)
    cum = np.cumsum(weight)
    first = np.r_[0, np.flatnonzero(np.diff(owner)) + 1]
    counts = np.diff(np.r_[first, owner.size])
    before = np.repeat(cum[first] - weight[first], counts)
    share = (cum - before) / total[owner]
    last = np.r_[first[1:] - 1, owner.size - 1]
    share[last] = 1.0
    return item, owner + share, owner


def _draw(items: np.ndarray, keys: np.ndarray, owners: np.ndarray, rng) -> np.ndarray:
    """Draw one item per entry of `owners` from a `_weighted_csr` table."""
    pos = np.searchsorted(keys, owners + rng.random(owners.size), side="right")
    return items[np.minimum(pos, items.size - 1)]


def _random_names(rng, count: int, length: int) -> list[str]:
    """Random upper-case alphanumeric strings."""
    chars = _ALNUM[rng.integers(0, _ALNUM.size, size=(count, length))]
    return [str(s) for s in np.ascontiguousarray(chars).view(f"<U{length}").ravel()]


def _ms(hours: np.ndarray | float) -> np.ndarray:
    return np.round(np.asarray(hours, dtype=float) * _HOUR_MS).astype(np.int64)


class DemoEnterprise:
    """
    The demo company: directory, hosts, habits and planted incidents.

    Building it is cheap (no events); `iter_chunks` then generates the log
    day by day. Use `generate_demo`, `iter_demo_events` or `demo_labels`
    unless you need several of them for the same company.
    """

    def __init__(
        self,
        n_users: int = 150,
        n_days: int = 21,
        *,
        seed: int = 7,
        end: str | date | None = None,
        n_service_accounts: int | None = None,
        attacks: Iterable[str] | None = None,
        attack_intensity: float = 1.0,
        incidents_per_kind: int | None = None,
        domain: str = "CONTOSO",
        noise: bool = True,
    ) -> None:
        self.n_users = _check_int("n_users", n_users, 1)
        self.n_days = _check_int("n_days", n_days, 1)
        self.seed = _check_int("seed", seed, 0)
        if n_service_accounts is None:
            n_service_accounts = max(3, round(self.n_users / 25))
        self.n_services = _check_int("n_service_accounts", n_service_accounts, 0)
        self.kinds = _check_attacks(attacks, self.n_services)
        if (
            isinstance(attack_intensity, bool)
            or not isinstance(attack_intensity, Real)
            or not math.isfinite(attack_intensity)
            or not 0 < attack_intensity <= 100
        ):
            raise ParameterError(
                f"attack_intensity must be a number in (0, 100], got {attack_intensity!r}."
            )
        self.intensity = float(attack_intensity)
        if incidents_per_kind is None:
            incidents_per_kind = 1 + self.n_users * self.n_days // 10_000
        self.per_kind = _check_int("incidents_per_kind", incidents_per_kind, 0)
        if not isinstance(domain, str) or not domain.strip():
            raise ParameterError(f"domain must be a non-empty string, got {domain!r}.")
        self.domain = domain.strip()
        self.dns = f"{self.domain.lower()}.com"
        self.noise = bool(noise)
        last = _parse_end(end)
        self.start = pd.Timestamp(last, tz="UTC") - pd.Timedelta(days=self.n_days - 1)
        self.end = pd.Timestamp(last, tz="UTC") + pd.Timedelta(days=1)
        self.start_ms = self.start.value // _MS
        self.start_weekday = self.start.weekday()
        self.day0 = _DAY_BASE + self.start.value // _DAY_NS
        self._leave_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._accounts = _Vocab()
        self._domains = _Vocab()
        self._account_domain: list[int] = []
        self._hosts = _Vocab()  # short names; codes also index Computer and IpAddress
        self._ips = _Vocab()
        self._build(np.random.default_rng([self.seed, _S_ORG]))
        self._plan(np.random.default_rng([self.seed, _S_PLAN]))
        self._freeze()

    # ------------------------------------------------------------------ company
    def _add_account(self, name: str, domain: str) -> int:
        code = self._accounts.add(name)
        if code == len(self._account_domain):
            self._account_domain.append(self._domains.add(domain))
        return code

    def _add_hosts(self, names: list[str], ips: list[str]) -> np.ndarray:
        codes = self._hosts.add_many(names)
        ip_codes = self._ips.add_many(ips)
        if not np.array_equal(codes, ip_codes):  # pragma: no cover - construction invariant
            raise RuntimeError("host and address codes diverged")
        return codes

    def _build(self, rng: np.random.Generator) -> None:
        n = self.n_users
        # Sites and people.
        shares = np.array([s[3] for s in _SITES])
        self.h_site = rng.choice(len(_SITES), size=n, p=shares / shares.sum())
        self.site_offset = np.array([s[1] for s in _SITES])
        n_dormant = max(8, round(n * 0.15))
        first = rng.integers(0, len(_FIRST_NAMES), n + n_dormant)
        last = rng.integers(0, len(_LAST_NAMES), n + n_dormant)
        names = pd.Series(
            [f"{_FIRST_NAMES[a]}.{_LAST_NAMES[b]}" for a, b in zip(first, last, strict=True)]
        )
        dup = names.groupby(names).cumcount()
        names = names.where(dup == 0, names + (dup + 1).astype(str))
        for name in names[:n]:
            self._add_account(name, self.domain)
        self.h_admin = np.zeros(n, dtype=bool)
        if n >= 5:
            n_admin = max(1, round(0.04 * n))
            self.h_admin[rng.choice(n, n_admin, replace=False)] = True
        self.h_travel = rng.random(n) < 0.08
        # Servers (central data center, 10.0.x.x) and site infrastructure.
        site_users = np.bincount(self.h_site, minlength=len(_SITES))
        site_files = np.maximum(1, np.ceil(site_users / 250).astype(int))
        srv_names: list[tuple[str, str]] = []  # (name, kind)
        srv_names += [(f"DC{s + 1:02d}", "dc") for s in range(len(_SITES))]
        srv_names += [(f"SRV-FILE{i + 1:02d}", "file") for i in range(site_files.sum())]
        counts = {
            "mail": max(1, math.ceil(n / 2000)),
            "app": max(6, math.ceil(n / 30)),
            "sql": max(2, math.ceil(n / 150)),
            "web": max(2, math.ceil(n / 300)),
        }
        for kind, count in counts.items():
            srv_names += [(f"SRV-{kind.upper()}{i + 1:02d}", kind) for i in range(count)]
        srv_names += [
            ("SRV-RDGW01", "edge"),
            ("SRV-JUMP01", "edge"),
            ("SRV-SCCM01", "infra"),
            ("SRV-BKP01", "infra"),
            ("SRV-MON01", "infra"),
            ("SRV-PRINT01", "infra"),
        ]
        srv_ips = [f"10.0.{i // 250 + 1}.{i % 250 + 10}" for i in range(len(srv_names))]
        srv_codes = self._add_hosts([s[0] for s in srv_names], srv_ips)
        kinds = np.array([s[1] for s in srv_names])
        self.servers = srv_codes
        self.srv_kind = kinds
        dcs = srv_codes[kinds == "dc"]
        self.site_dc = dcs
        files = srv_codes[kinds == "file"]
        first_file = np.r_[0, np.cumsum(site_files)[:-1]]
        # Workstations (laptops for travellers), numbered per site.
        ws_names, ws_ips = [], []
        per_site = np.zeros(len(_SITES), dtype=int)
        for i in range(n):
            s = self.h_site[i]
            j = per_site[s]
            per_site[s] += 1
            label = "LT" if self.h_travel[i] else "WS"
            ws_names.append(f"{_SITES[s][0]}-{label}{j + 1:05d}")
            block, rem = divmod(j, 62_500)
            ws_ips.append(f"10.{_SITES[s][2] + block}.{rem // 250 + 1}.{rem % 250 + 2}")
        self.h_ws = self._add_hosts(ws_names, ws_ips)
        # VPN addresses of travellers.
        travellers = np.flatnonzero(self.h_travel)
        self.h_vpn = np.full(n, -1, dtype=np.int32)
        self.h_vpn[travellers] = self._ips.add_many(
            f"10.250.{i // 250}.{i % 250 + 2}" for i in range(travellers.size)
        )
        self.ip_dash = self._ips.add("-")
        self.ip_local = self._ips.add("127.0.0.1")
        self.ws_dash = self._hosts.add("-")
        # Habits.
        self.h_offset = self.site_offset[self.h_site]
        self.h_rate = rng.lognormal(np.log(9.0), 0.55, n) * np.where(self.h_admin, 2.5, 1.0)
        self.h_weekend = np.where(rng.random(n) < 0.2, 0.25, 0.03)
        self.h_start = np.clip(rng.normal(8.3, 0.7, n), 6.0, 11.0)
        self.h_length = np.clip(rng.normal(9.0, 0.8, n), 6.0, 11.5)
        prone = rng.random(n) < 0.1
        self.h_error = np.where(prone, rng.beta(2, 20, n), rng.beta(1, 60, n))
        self.h_ntlm = np.where(rng.random(n) < 0.15, rng.uniform(0.2, 0.5, n), 0.03)
        # Servers each user uses, with weights.
        owner, item, weight = [], [], []

        def add(users: np.ndarray, servers: np.ndarray, base: float) -> None:
            owner.append(users)
            item.append(servers)
            weight.append(base * rng.gamma(2.0, 0.5, users.size))

        users = np.arange(n)
        add(users, dcs[self.h_site], 0.08)
        file_pick = files[
            first_file[self.h_site] + (rng.random(n) * site_files[self.h_site]).astype(int)
        ]
        add(users, file_pick, 0.35)
        mails = srv_codes[kinds == "mail"]
        add(users, mails[rng.integers(0, mails.size, n)], 0.25)
        apps = srv_codes[kinds == "app"]
        popularity = 1.0 / np.arange(1, apps.size + 1) ** 0.8
        app_pick = rng.choice(apps, size=(n, 3), p=popularity / popularity.sum())
        n_apps = rng.integers(1, 4, n)
        for col in range(3):
            mask = n_apps > col
            add(users[mask], app_pick[mask, col], 0.2)
        for kind, prob, base in (("web", 0.3, 0.1), ("sql", 0.1, 0.15)):
            pool = srv_codes[kinds == kind]
            mask = rng.random(n) < prob
            add(users[mask], pool[rng.integers(0, pool.size, int(mask.sum()))], base)
        for a in np.flatnonzero(self.h_admin):
            size = min(srv_codes.size, int(rng.integers(8, 26)))
            extra = rng.choice(srv_codes, size=size, replace=False)
            add(np.full(extra.size, a), extra, 0.06)
        self.h_srv, self.h_key, self.h_owner = _weighted_csr(
            np.concatenate(owner), np.concatenate(item), np.concatenate(weight), n
        )
        # Dormant and disabled accounts.
        start = len(self._accounts.items)
        for name in names[n:]:
            self._add_account(name, self.domain)
        self.dormant = np.arange(start, start + n_dormant, dtype=np.int32)
        self.d_disabled = rng.random(n_dormant) < 0.4
        self.d_ws = self.h_ws[rng.integers(0, n, n_dormant)]
        self.d_site = self.h_site[rng.integers(0, n, n_dormant)]
        self.d_file = files[first_file[self.d_site]]
        # Service accounts.
        ns = self.n_services
        svc_names = [name for name, _ in _SERVICE_NAMES[:ns]]
        svc_night = [night for _, night in _SERVICE_NAMES[:ns]]
        svc_names += [f"svc-app{i + 1:02d}" for i in range(ns - len(svc_names))]
        svc_night += [False] * (ns - len(svc_night))
        self.services = np.array(
            [self._add_account(name, self.domain) for name in svc_names], dtype=np.int32
        )
        self.s_night = np.array(svc_night, dtype=bool)
        self.s_base = np.clip(rng.lognormal(np.log(350.0), 0.8, ns), 60, 5000)
        self.s_auth = np.where(rng.random(ns) < 0.3, _NTLM, _KERBEROS).astype(np.int8)
        src_pool = srv_codes[np.isin(kinds, ["app", "sql", "infra", "web"])]
        s_owner, s_src, d_owner, d_dst, d_w = [], [], [], [], []
        for s in range(ns):
            srcs = rng.choice(src_pool, size=rng.integers(1, 4), replace=False)
            if self.s_night[s]:
                dsts = np.concatenate([files, srv_codes[kinds == "sql"]])
            else:
                dsts = rng.choice(srv_codes, size=rng.integers(1, 7), replace=False)
            s_owner.append(np.full(srcs.size, s))
            s_src.append(srcs)
            d_owner.append(np.full(dsts.size, s))
            d_dst.append(dsts)
            d_w.append(rng.gamma(2.0, 0.5, dsts.size))
        if ns:
            owners = np.concatenate(s_owner)
            self.s_src, self.s_src_key, _ = _weighted_csr(
                owners, np.concatenate(s_src), np.ones(owners.size), ns
            )
            self.s_dst, self.s_dst_key, _ = _weighted_csr(
                np.concatenate(d_owner), np.concatenate(d_dst), np.concatenate(d_w), ns
            )
        # Noise accounts and machine accounts.
        self.n_hosts_real = len(self._hosts.items) - 1  # all but "-"
        self.machine = np.array(
            [self._add_account(f"{h}$", self.domain) for h in self._hosts.items[:-1]],
            dtype=np.int32,
        )
        self.acct_anonymous = self._add_account("ANONYMOUS LOGON", "NT AUTHORITY")
        self.acct_system = np.array(
            [
                self._add_account("SYSTEM", "NT AUTHORITY"),
                self._add_account("LOCAL SERVICE", "NT AUTHORITY"),
                self._add_account("NETWORK SERVICE", "NT AUTHORITY"),
            ],
            dtype=np.int32,
        )
        self.acct_dwm = np.array(
            [self._add_account(f"DWM-{i}", "Window Manager") for i in (1, 2, 3)]
            + [self._add_account(f"UMFD-{i}", "Font Driver Host") for i in (0, 1)],
            dtype=np.int32,
        )
        self.host_dc = np.empty(self.n_hosts_real, dtype=np.int32)
        self.host_dc[self.servers] = dcs[0]
        self.host_dc[self.h_ws] = dcs[self.h_site]
        self.host_file = np.empty(self.n_hosts_real, dtype=np.int32)
        self.host_file[self.servers] = files[0]
        self.host_file[self.h_ws] = file_pick

    # ---------------------------------------------------------------- incidents
    def _plan(self, rng: np.random.Generator) -> None:
        """Choose days, victims and sources of every incident; build attack rows."""
        self.incidents: list[dict] = []
        self.attack_parts: dict[int, list[dict[str, np.ndarray]]] = {}
        self.moves: dict[int, list[dict]] = {}
        used = np.zeros(len(self._accounts.items), dtype=bool)
        late = np.arange(self.n_days // 2, self.n_days)
        early = np.arange(max(1, self.n_days // 4), self.n_days // 2)
        if early.size == 0:
            early = late
        queues = {"late": [], "early": []}

        def pick_day() -> int:
            which = "early" if rng.random() < 0.2 else "late"
            if not queues[which]:
                queues[which] = list(rng.permutation(late if which == "late" else early))
            return int(queues[which].pop())

        self.external_ips = [
            f"{p}.{i}" for p in ("203.0.113", "198.51.100", "192.0.2") for i in range(1, 255)
        ]
        self.ext_order = list(rng.permutation(len(self.external_ips)))
        self.int_order = list(rng.permutation(62_500))
        # Single-victim attacks first, so large sprays cannot use up their victims.
        self._victims = np.zeros(used.size, dtype=bool)
        self._sprayed: dict[int, np.ndarray] = {}
        order = [k for k in self.kinds if k != "password_spray"]
        order += [k for k in self.kinds if k == "password_spray"]
        for kind in order:
            for _ in range(self.per_kind):
                inc = len(self.incidents)
                day = pick_day()
                builder = getattr(self, f"_plan_{kind}")
                record = builder(rng, inc, day, used)
                if record is None:
                    continue
                record.update(incident=inc, attack=kind, day=day)
                self.incidents.append(record)
                if kind != "password_spray":
                    self._victims[[acct for acct, _ in record["accounts"]]] = True

    def _attacker(self, rng: np.random.Generator) -> tuple[int, int, str, str]:
        """Return a fresh source address and host name for an attacker."""
        if rng.random() < 0.5 and self.ext_order:
            ip = self.external_ips[self.ext_order.pop()]
        else:
            i = self.int_order.pop()
            ip = f"10.99.{i // 250}.{i % 250 + 2}"
        style = rng.integers(0, 4)
        if style == 0:
            host = "WIN-" + _random_names(rng, 1, 11)[0]
        elif style == 1:
            host = "DESKTOP-" + _random_names(rng, 1, 7)[0]
        else:
            host = ("kali", "WORKSTATION")[style - 2]
        return self._ips.add(ip), self._hosts.add(host), ip, host

    @staticmethod
    def _free(pool: np.ndarray, used: np.ndarray) -> np.ndarray:
        return pool[~used[pool]].astype(np.int32)

    def _window(self, rng, day: int, hours: float) -> int:
        """Start (ms since epoch) of an activity of `hours` inside UTC `day`."""
        begin = rng.uniform(0.5, max(0.5, 23.5 - hours))
        return int(self.start_ms + day * _DAY_MS + _ms(begin))

    def _plan_brute_force(self, rng, inc, day, used, random_hosts: bool = False):
        humans = self._free(np.arange(self.n_users, dtype=np.int32), used)
        if humans.size == 0:
            return None
        victim = int(rng.choice(humans))
        used[victim] = True
        n_fail = max(5, round(int(rng.integers(40, 401)) * self.intensity))
        minutes = float(rng.uniform(5, 60))
        t0 = self._window(rng, day, minutes / 60 + 0.1)
        times = t0 + np.sort(rng.integers(0, int(minutes * 60_000), n_fail))
        status = np.full(n_fail, _BAD_PASSWORD, dtype=np.int8)
        roll = rng.random()
        outcome = "no success"
        if roll < 0.25:
            threshold = int(rng.integers(5, 11))
            status[threshold:] = _LOCKED_OUT
            outcome = f"account locked out after {min(threshold, n_fail)} attempts"
        elif roll < 0.625:
            times = np.r_[times, times[-1] + rng.integers(500, 5000)]
            status = np.r_[status, _OK]
            outcome = "ended in a successful logon"
        edge = self.servers[np.isin(self.srv_kind, ["edge", "file", "app", "web"])]
        target = int(rng.choice(edge))
        ip, host, ip_text, host_text = self._attacker(rng)
        if random_hosts:
            ws = self._hosts.add_many(_random_names(rng, times.size, 16))
            source = f"{ip_text} (a random 16-character workstation name on every attempt)"
        else:
            ws = host
            source = f"{ip_text} ({host_text})"
        kind = "brute_force_random_hosts" if random_hosts else "brute_force"
        part = _part(
            times.size,
            t=times * _MS,
            acct=victim,
            comp=target,
            ip=ip,
            ws=ws,
            lt=_NET,
            auth=_NTLM,
            st=status,
            atk=ATTACK_KINDS.index(kind) + 1,
            inc=inc,
        )
        self.attack_parts.setdefault(day, []).append(part)
        target_name = self._hosts.items[target]
        detail = (
            f"{n_fail} failed logons to {target_name} from {source} in {minutes:.0f} min; {outcome}"
        )
        return {
            "accounts": [(victim, detail)],
            "start": int(times.min()),
            "end": int(times.max()),
            "src_ip": ip_text,
            "src_host": "(random)" if random_hosts else host_text,
            "target": target_name,
            "n_events": int(times.size),
            "detail": detail,
        }

    def _plan_brute_force_random_hosts(self, rng, inc, day, used):
        return self._plan_brute_force(rng, inc, day, used, random_hosts=True)

    def _plan_password_spray(self, rng, inc, day, used):
        sprayed = self._sprayed.setdefault(day, np.zeros(used.size, dtype=bool))
        # Never-attacked accounts first; then accounts sprayed on other days.
        allowed = ~self._victims & ~sprayed

        def pick(pool: np.ndarray, count: int) -> np.ndarray:
            fresh = pool[~used[pool]]
            again = pool[allowed[pool] & used[pool]]
            first = rng.choice(fresh, min(count, fresh.size), replace=False)
            extra = rng.choice(again, min(count - first.size, again.size), replace=False)
            return np.r_[first, extra].astype(np.int32)

        want = max(3, round(int(rng.integers(20, 61)) * self.intensity))
        dormant = pick(self.dormant, max(1, round(0.3 * want)))
        humans = pick(np.arange(self.n_users, dtype=np.int32), want - dormant.size)
        n_dormant = dormant.size
        targets = np.r_[dormant, humans].astype(np.int32)
        if targets.size == 0:
            return None
        used[targets] = True
        sprayed[targets] = True
        disabled = np.zeros(targets.size, dtype=bool)
        disabled[:n_dormant] = self.d_disabled[targets[:n_dormant] - self.dormant[0]]
        n_pw = int(rng.integers(1, 4))
        gap_ms = int(rng.uniform(10, 30) * 60_000)
        span_h = (n_pw * gap_ms + targets.size * 6_000) / _HOUR_MS
        t0 = self._window(rng, day, span_h + 0.1)
        hit_round, hit_target = -1, -1
        enabled = np.flatnonzero(~disabled)
        if enabled.size and rng.random() < 0.4:
            hit_round = int(rng.integers(0, n_pw))
            hit_target = int(rng.choice(enabled))
        times, accts, status = [], [], []
        for r in range(n_pw):
            order = rng.permutation(targets.size)
            if hit_round >= 0 and r > hit_round:
                order = order[order != hit_target]
            steps = np.cumsum(rng.integers(500, 6000, order.size))
            times.append(t0 + r * gap_ms + steps)
            accts.append(targets[order])
            st = np.where(disabled[order], _DISABLED, _BAD_PASSWORD)
            if r == hit_round:
                st[order == hit_target] = _OK
            status.append(st)
        times_all = np.concatenate(times)
        candidates = np.r_[self.site_dc, self.servers[np.isin(self.srv_kind, ["mail", "edge"])]]
        target = int(rng.choice(candidates))
        ip, host, ip_text, host_text = self._attacker(rng)
        part = _part(
            times_all.size,
            t=times_all * _MS,
            acct=np.concatenate(accts),
            comp=target,
            ip=ip,
            ws=host,
            lt=_NET,
            auth=_NTLM,
            st=np.concatenate(status),
            atk=ATTACK_KINDS.index("password_spray") + 1,
            inc=inc,
        )
        self.attack_parts.setdefault(day, []).append(part)
        target_name = self._hosts.items[target]
        head = (
            f"spray from {ip_text} ({host_text}) on {target_name}: {n_pw} password(s) "
            f"against {targets.size} accounts"
        )
        accounts = []
        for i, acct in enumerate(targets.tolist()):
            state = "disabled" if disabled[i] else ("dormant" if i < n_dormant else "active")
            result = "guessed" if i == hit_target else "failed"
            accounts.append((acct, f"{head}; {state} account, {result}"))
        return {
            "accounts": accounts,
            "start": int(times_all.min()),
            "end": int(times_all.max()),
            "src_ip": ip_text,
            "src_host": host_text,
            "target": target_name,
            "n_events": int(times_all.size),
            "detail": head + ("; one password guessed" if hit_target >= 0 else ""),
        }

    def _plan_lateral_movement(self, rng, inc, day, used):
        pool = np.arange(self.n_users, dtype=np.int32)
        plain = pool[~self.h_admin]
        humans = self._free(plain if plain.size else pool, used)
        if humans.size == 0:
            return None
        victim = int(rng.choice(humans))
        used[victim] = True
        others = np.flatnonzero(np.arange(self.n_users) != victim)
        if others.size:
            pivot = int(rng.choice(others))
            ws, ip = int(self.h_ws[pivot]), int(self.h_ws[pivot])
            ip_text, host_text = self._ips.items[ip], self._hosts.items[ws]
        else:
            ip, ws, ip_text, host_text = self._attacker(rng)
        want = max(3, round(int(rng.integers(10, 31)) * self.intensity))
        lo, hi = np.searchsorted(self.h_owner, [victim, victim + 1])
        new_servers = self.servers[~np.isin(self.servers, self.h_srv[lo:hi])]
        workstations = self.h_ws[(np.arange(self.n_users) != victim) & (self.h_ws != ws)]
        n_srv = min(new_servers.size, max(1, round(0.6 * want)))
        n_ws = min(workstations.size, want - n_srv)
        targets = np.r_[
            rng.choice(new_servers, n_srv, replace=False),
            rng.choice(workstations, n_ws, replace=False),
        ].astype(np.int32)
        if targets.size == 0:
            return None
        rng.shuffle(targets)
        minutes = float(rng.uniform(15, 90))
        t0 = self._window(rng, day, minutes / 60 + 0.1)
        visits = rng.integers(1, 4, targets.size)
        arrive = t0 + np.sort(rng.integers(0, int(minutes * 60_000), targets.size))
        comp = np.repeat(targets, visits)
        times = np.repeat(arrive, visits) + rng.integers(0, 60_000, comp.size)
        auth = _NTLM if rng.random() < 0.7 else _KERBEROS
        part = _part(
            comp.size,
            t=times * _MS,
            acct=victim,
            comp=comp,
            ip=ip,
            ws=ws,
            lt=_NET,
            auth=auth,
            st=_OK,
            atk=ATTACK_KINDS.index("lateral_movement") + 1,
            inc=inc,
        )
        self.attack_parts.setdefault(day, []).append(part)
        detail = (
            f"{comp.size} successful logons to {targets.size} computers it never used "
            f"({n_srv} servers, {n_ws} workstations) from {host_text} ({ip_text}) in "
            f"{minutes:.0f} min, {'NTLM' if auth == _NTLM else 'Kerberos'}"
        )
        return {
            "accounts": [(victim, detail)],
            "start": int(times.min()),
            "end": int(times.max()),
            "src_ip": ip_text,
            "src_host": host_text,
            "target": f"{targets.size} computers",
            "n_events": int(comp.size),
            "detail": detail,
        }

    def _plan_service_new_host(self, rng, inc, day, used):
        free = np.flatnonzero(~used[self.services])
        if free.size == 0:
            return None
        svc = int(rng.choice(free))
        acct = int(self.services[svc])
        used[acct] = True
        host_user = int(rng.integers(0, self.n_users))
        ws = int(self.h_ws[host_user])
        hours = float(rng.uniform(2, 6))
        t0 = self._window(rng, day, hours)
        t1 = t0 + int(_ms(hours))
        share = min(1.0, 0.5 * self.intensity)
        ip_text, host_text = self._ips.items[ws], self._hosts.items[ws]
        self.moves.setdefault(day, []).append(
            {"svc": svc, "ws": ws, "t0": t0, "t1": t1, "share": share, "inc": inc}
        )
        begin = pd.Timestamp(t0, unit="ms").strftime("%H:%M")
        finish = pd.Timestamp(t1, unit="ms").strftime("%H:%M")
        detail = (
            f"logons from {host_text} ({ip_text}), a host it never used, "
            f"{begin}-{finish} UTC (about {share:.0%} of its logons in that window; "
            "daily volume unchanged)"
        )
        return {
            "accounts": [(acct, detail)],
            "start": t0,
            "end": t1,
            "src_ip": ip_text,
            "src_host": host_text,
            "target": "its usual servers",
            "n_events": -1,
            "detail": detail,
        }

    def _freeze(self) -> None:
        self.v_account = self._accounts.array()
        self.v_domain = self._domains.array()
        self.account_domain = np.array(self._account_domain, dtype=np.int32)
        self.v_host = self._hosts.array()
        self.v_computer = np.array(
            [f"{h}.{self.dns}" for h in self._hosts.items[: self.n_hosts_real]], dtype=object
        )
        self.v_ip = self._ips.array()

    # ------------------------------------------------------------------ labels
    @property
    def labels(self) -> pd.DataFrame:
        """One row per attacked user-day (see `DemoData.labels`)."""
        rows = []
        for rec in self.incidents:
            date_ = (self.start + pd.Timedelta(days=rec["day"])).tz_localize(None)
            for acct, detail in rec["accounts"]:
                rows.append(
                    (
                        date_,
                        self.v_domain[self.account_domain[acct]],
                        self.v_account[acct],
                        rec["attack"],
                        detail,
                        rec["incident"],
                    )
                )
        table = pd.DataFrame(rows, columns=LABEL_COLUMNS)
        table["Date"] = pd.to_datetime(table["Date"]).astype("datetime64[ns]")
        table["incident"] = table["incident"].astype(np.int64)
        for col in ("DstDomain", "DstUser", "attack", "detail"):
            table[col] = table[col].astype(object)
        return table.sort_values(["Date", "incident", "DstUser"], kind="stable").reset_index(
            drop=True
        )

    @property
    def incident_table(self) -> pd.DataFrame:
        """One row per planted attack (see `DemoData.incidents`)."""
        rows = [
            {
                "incident": rec["incident"],
                "attack": rec["attack"],
                "Date": (self.start + pd.Timedelta(days=rec["day"])).tz_localize(None),
                "start": pd.Timestamp(rec["start"], unit="ms", tz="UTC"),
                "end": pd.Timestamp(rec["end"], unit="ms", tz="UTC"),
                "accounts": len(rec["accounts"]),
                "src_ip": rec["src_ip"],
                "src_host": rec["src_host"],
                "target": rec["target"],
                "detail": rec["detail"],
            }
            for rec in self.incidents
        ]
        columns = [
            "incident",
            "attack",
            "Date",
            "start",
            "end",
            "accounts",
            "src_ip",
            "src_host",
            "target",
            "detail",
        ]
        table = pd.DataFrame(rows, columns=columns)
        table["Date"] = pd.to_datetime(table["Date"]).astype("datetime64[ns]")
        return table

    # ------------------------------------------------------------------ events
    def _rng(self, stream: int, number: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, stream, number])

    def _leave(self, period: int) -> tuple[np.ndarray, np.ndarray]:
        """First and last offset (days) of each user's holiday in a 30-day period."""
        if period not in self._leave_cache:
            rng = self._rng(_S_LEAVE, period)
            n = self.n_users
            first = rng.integers(0, _LEAVE_PERIOD, n)
            last = first + rng.integers(0, 10, n)
            away = rng.random(n) < 0.35
            first, last = np.where(away, first, _LEAVE_PERIOD * 3), np.where(away, last, -1)
            if len(self._leave_cache) > 4:
                self._leave_cache.pop(min(self._leave_cache))
            self._leave_cache[period] = (first, last)
        return self._leave_cache[period]

    def _calendar(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        """
        Return who works and who works remotely on calendar day `day`.

        ``remote`` is 0 in the office, 1 remote (VPN), 2 both (travellers only).
        """
        rng = self._rng(_S_CALENDAR, day)
        n = self.n_users
        present = rng.random(n) >= 0.02
        period, offset = divmod(day, _LEAVE_PERIOD)
        first, last = self._leave(period)
        present &= ~((first <= offset) & (offset <= last))
        first, last = self._leave(period - 1)
        present &= ~(last >= offset + _LEAVE_PERIOD)
        remote = rng.choice(3, n, p=[0.6, 0.3, 0.1]).astype(np.int8)
        remote[~self.h_travel] = 0
        return present, remote

    def _local_day(self, k: int) -> list[dict[str, np.ndarray]]:
        """Human and dormant-account events of local calendar day `k` (-1..n_days)."""
        rng = self._rng(_S_HUMAN, self.day0 + k)
        n = self.n_users
        weekend = (self.start_weekday + k) % 7 >= 5
        present, remote_day = self._calendar(self.day0 + k)
        rate = self.h_rate * (self.h_weekend if weekend else 1.0)
        counts = rng.poisson(rate * rng.gamma(4.0, 0.25, n) * present)
        users = np.repeat(np.arange(n, dtype=np.int32), counts)
        m = users.size
        if weekend:
            hours = rng.uniform(9.0, 20.0, m)
        else:
            shift = rng.normal(0.0, 0.4, n)[users]
            begin = self.h_start[users] + shift
            burst = rng.random(m) < 0.25
            spread = self.h_length[users] * rng.beta(1.3, 1.3, m)
            hours = begin + np.where(burst, rng.exponential(0.25, m), spread)
        hours = np.clip(hours, 0.02, 23.98)
        day_ms = self.start_ms + k * _DAY_MS
        t = day_ms + _ms(hours - self.h_offset[users])
        comp = _draw(self.h_srv, self.h_key, users, rng)
        ws = self.h_ws[users]
        remote = remote_day[users]
        vpn = (remote == 1) | ((remote == 2) & (rng.random(m) < 0.5))
        ip = np.where(vpn, self.h_vpn[users], ws)
        auth = np.where(rng.random(m) < self.h_ntlm[users], _NTLM, _KERBEROS)
        ok = _part(m, t=t * _MS, acct=users, comp=comp, ip=ip, ws=ws, lt=_NET, auth=auth)
        # Mistyped passwords: 1-3 failures seconds before a success.
        typo = rng.random(m) < self.h_error[users]
        n_fail = np.where(typo, rng.choice(3, m, p=[0.65, 0.25, 0.10]) + 1, 0)
        src = np.repeat(np.arange(m), n_fail)
        step = np.arange(src.size) - np.repeat(np.cumsum(n_fail) - n_fail, n_fail)
        lag = (n_fail[src] - step) * rng.integers(3_000, 40_000, src.size)
        fail = _take(ok, src)
        fail["t"] = (t[src] - lag) * _MS
        fail["auth"][:] = _NTLM
        fail["st"][:] = _BAD_PASSWORD
        parts = [ok, fail]
        # Dormant accounts: rare weekday logons.
        if not weekend:
            nd = self.dormant.size
            active = (~self.d_disabled) & (rng.random(nd) < 0.03)
            idx = np.repeat(np.flatnonzero(active), rng.integers(1, 3, nd)[active])
            d_hours = rng.uniform(9.0, 17.0, idx.size) - self.site_offset[self.d_site[idx]]
            parts.append(
                _part(
                    idx.size,
                    t=(day_ms + _ms(d_hours)) * _MS,
                    acct=self.dormant[idx],
                    comp=self.d_file[idx],
                    ip=self.d_ws[idx],
                    ws=self.d_ws[idx],
                    lt=_NET,
                    auth=_KERBEROS,
                )
            )
        if self.noise:
            parts.append(self._local_noise(k, counts, day_ms, weekend))
        return parts

    def _local_noise(self, k: int, counts: np.ndarray, day_ms: int, weekend: bool) -> dict:
        """Interactive logons of people at work on local day `k`."""
        rng = self._rng(_S_NOISE_LOCAL, self.day0 + k)
        at_work = np.flatnonzero(counts > 0)
        begin = np.where(weekend, 9.0, self.h_start[at_work]) - rng.uniform(0.0, 0.3, at_work.size)
        t = day_ms + _ms(begin - self.h_offset[at_work])
        ws = self.h_ws[at_work]
        parts = [
            _part(
                at_work.size,
                t=t * _MS,
                acct=at_work,
                comp=ws,
                ip=self.ip_local,
                ws=ws,
                lt=_INTERACTIVE,
                auth=_USER32,
            )
        ]
        miss = rng.random(at_work.size) < 0.05
        parts.append(
            _part(
                int(miss.sum()),
                t=(t[miss] - 20_000) * _MS,
                acct=at_work[miss],
                comp=ws[miss],
                ip=self.ip_local,
                ws=ws[miss],
                lt=_INTERACTIVE,
                auth=_USER32,
                st=_BAD_PASSWORD,
            )
        )
        boot = rng.random(at_work.size) < 0.3
        parts.append(
            _part(
                int(boot.sum()),
                t=(t[boot] - 60_000) * _MS,
                acct=rng.choice(self.acct_dwm, int(boot.sum())),
                comp=ws[boot],
                ip=self.ip_dash,
                ws=self.ws_dash,
                lt=_INTERACTIVE,
                auth=_ADVAPI,
            )
        )
        admins = at_work[self.h_admin[at_work]]
        sessions = rng.integers(1, 4, admins.size)
        who = np.repeat(admins, sessions)
        rdp_hours = self.h_start[who] + rng.uniform(0.0, 8.0, who.size) - self.h_offset[who]
        parts.append(
            _part(
                who.size,
                t=(day_ms + _ms(rdp_hours)) * _MS,
                acct=who,
                comp=_draw(self.h_srv, self.h_key, who, rng),
                ip=self.h_ws[who],
                ws=self.h_ws[who],
                lt=_REMOTE,
                auth=_USER32,
            )
        )
        return _concat(parts)

    def _service_day(self, j: int) -> dict[str, np.ndarray]:
        """Service-account network logons of UTC day `j`."""
        ns = self.n_services
        if ns == 0:
            return _part(0)
        rng = self._rng(_S_SERVICE, self.day0 + j)
        counts = np.maximum(1, np.round(self.s_base * rng.normal(1.0, 0.03, ns))).astype(int)
        svc = np.repeat(np.arange(ns), counts)
        m = svc.size
        night = self.s_night[svc] & (rng.random(m) < 0.75)
        hours = np.where(night, rng.uniform(1.0, 5.0, m), rng.uniform(0.0, 24.0, m))
        t = self.start_ms + j * _DAY_MS + np.minimum(_ms(hours), _DAY_MS - 1)
        src = _draw(self.s_src, self.s_src_key, svc, rng)
        part = _part(
            m,
            t=t * _MS,
            acct=self.services[svc],
            comp=_draw(self.s_dst, self.s_dst_key, svc, rng),
            ip=src,
            ws=src,
            lt=_NET,
            auth=self.s_auth[svc],
            st=np.where(rng.random(m) < 0.0003, _BAD_PASSWORD, _OK),
        )
        for move in self.moves.get(j, []):
            self._move_service(part, svc, t, move)
        return part

    def _move_service(self, part: dict, svc: np.ndarray, t: np.ndarray, move: dict) -> None:
        """Re-home part of a service account's logons to a new host (in place)."""
        rng = self._rng(_S_MOVE, move["inc"])
        mine = svc == move["svc"]
        idx = np.flatnonzero(mine & (t >= move["t0"]) & (t <= move["t1"]))
        if idx.size < 3:
            idx = np.flatnonzero(mine)
        pick = idx[rng.random(idx.size) < move["share"]]
        if pick.size < min(3, idx.size):
            pick = np.sort(rng.choice(idx, min(3, idx.size), replace=False))
        part["ws"][pick] = move["ws"]
        part["ip"][pick] = move["ws"]
        part["atk"][pick] = ATTACK_KINDS.index("service_new_host") + 1
        part["inc"][pick] = move["inc"]

    def _utc_noise(self, j: int) -> dict[str, np.ndarray]:
        """Machine, anonymous, system and batch logons of UTC day `j`."""
        rng = self._rng(_S_NOISE_UTC, self.day0 + j)
        day_ms = self.start_ms + j * _DAY_MS
        nh = self.n_hosts_real
        is_server = np.zeros(nh, dtype=bool)
        is_server[self.servers] = True

        def times(count: int) -> np.ndarray:
            return (day_ms + rng.integers(0, _DAY_MS, count)) * _MS

        parts = []
        # Machine accounts: computers talk to their domain controller and file server.
        per_host = rng.poisson(np.where(is_server, 8.0, 3.0))
        host = np.repeat(np.arange(nh, dtype=np.int32), per_host)
        to_file = rng.random(host.size) < 0.3
        parts.append(
            _part(
                host.size,
                t=times(host.size),
                acct=self.machine[host],
                comp=np.where(to_file, self.host_file[host], self.host_dc[host]),
                ip=host,
                ws=host,
                lt=_NET,
                auth=_KERBEROS,
            )
        )
        # Anonymous null sessions.
        n_anon = int(rng.poisson(0.2 * self.n_users + 2))
        src = self.h_ws[rng.integers(0, self.n_users, n_anon)]
        parts.append(
            _part(
                n_anon,
                t=times(n_anon),
                acct=self.acct_anonymous,
                comp=rng.choice(self.servers, n_anon),
                ip=src,
                ws=src,
                lt=_NET,
                auth=_NTLM,
            )
        )
        # Built-in service logons.
        per_host = rng.poisson(np.where(is_server, 15.0, 1.5))
        host = np.repeat(np.arange(nh, dtype=np.int32), per_host)
        parts.append(
            _part(
                host.size,
                t=times(host.size),
                acct=rng.choice(self.acct_system, host.size, p=[0.7, 0.15, 0.15]),
                comp=host,
                ip=self.ip_dash,
                ws=self.ws_dash,
                lt=_SERVICE,
                auth=_ADVAPI,
            )
        )
        # Scheduled tasks of service accounts.
        if self.n_services:
            per_svc = rng.poisson(24.0, self.n_services)
            svc = np.repeat(np.arange(self.n_services), per_svc)
            home = _draw(self.s_src, self.s_src_key, svc, rng)
            parts.append(
                _part(
                    svc.size,
                    t=times(svc.size),
                    acct=self.services[svc],
                    comp=home,
                    ip=self.ip_dash,
                    ws=self.ws_dash,
                    lt=_BATCH,
                    auth=_ADVAPI,
                )
            )
        return _concat(parts)

    def iter_days(self) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """Yield (UTC day number, event codes sorted by time) for every day."""
        buffers: dict[int, list[dict[str, np.ndarray]]] = {}
        origin = self.start_ms * _MS
        for k in range(-1, self.n_days + 1):
            for part in self._local_day(k):
                if part["t"].size == 0:
                    continue
                day = (part["t"] - origin) // _DAY_NS
                if day.min() < k - 1:  # pragma: no cover - days before k - 1 are emitted
                    raise RuntimeError("a local day produced events two UTC days early")
                low, high = max(0, int(day.min())), min(self.n_days - 1, int(day.max()))
                for d in range(low, high + 1):
                    sel = day == d
                    if d == low == high and sel.all():
                        buffers.setdefault(d, []).append(part)
                    elif sel.any():
                        buffers.setdefault(d, []).append(_take(part, sel))
            j = k - 1
            if not 0 <= j < self.n_days:
                continue
            parts = buffers.pop(j, [])
            parts.append(self._service_day(j))
            if self.noise:
                parts.append(self._utc_noise(j))
            parts.extend(self.attack_parts.get(j, []))
            codes = _concat(parts)
            yield j, _take(codes, np.argsort(codes["t"], kind="stable"))

    def frame(self, codes: dict[str, np.ndarray], first_row: int = 0) -> pd.DataFrame:
        """Turn event codes into an event table with the `EVENT_COLUMNS`."""
        acct = codes["acct"].astype(np.intp)
        acct_dom = self.account_domain.take(acct).astype(np.intp)
        lt = codes["lt"].astype(np.intp)
        auth = codes["auth"].astype(np.intp)
        st = codes["st"].astype(np.intp)
        data = {
            "TimeGenerated": pd.DatetimeIndex(codes["t"].view("M8[ns]")).tz_localize("UTC"),
            "EventID": np.where(st == _OK, 4624, 4625).astype(np.int64),
            "Computer": self.v_computer.take(codes["comp"].astype(np.intp)),
            "TargetUserName": self.v_account.take(acct),
            "TargetDomainName": self.v_domain.take(acct_dom),
            "LogonType": _LOGON_TYPE.take(lt),
            "LogonTypeName": _LOGON_TYPE_NAME.take(lt),
            "IpAddress": self.v_ip.take(codes["ip"].astype(np.intp)),
            "WorkstationName": self.v_host.take(codes["ws"].astype(np.intp)),
            "AuthenticationPackageName": _AUTH_PACKAGE.take(_AUTH_PACKAGE_CODE.take(auth)),
            "AccountDomain": self.v_domain.take(acct_dom),
            "LogonProcessName": _LOGON_PROCESS.take(auth),
            "Status": _STATUS.take(st),
            "SubStatus": _SUBSTATUS.take(st),
        }
        index = pd.RangeIndex(first_row, first_row + codes["t"].size)
        return pd.DataFrame(data, index=index, copy=False)

    def iter_chunks(self, chunk_days: int = 1) -> Iterator[tuple[pd.DataFrame, dict]]:
        """Yield (event table, event codes) for every `chunk_days` days."""
        chunk_days = _check_int("chunk_days", chunk_days, 1)
        pending: list[dict[str, np.ndarray]] = []
        first_row = 0
        for j, codes in self.iter_days():
            pending.append(codes)
            if len(pending) == chunk_days or j == self.n_days - 1:
                merged = _concat(pending) if len(pending) > 1 else pending[0]
                pending = []
                yield self.frame(merged, first_row), merged
                first_row += merged["t"].size


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _check_attacks(attacks: Iterable[str] | None, n_services: int) -> tuple[str, ...]:
    if attacks is None:
        return tuple(k for k in ATTACK_KINDS if n_services or k != "service_new_host")
    if isinstance(attacks, str):
        attacks = [attacks]
    try:
        chosen = [str(a).strip().lower() for a in attacks]
    except TypeError:
        raise ParameterError(
            f"attacks must be a list of attack kinds, got {type(attacks).__name__}."
        ) from None
    unknown = [a for a in chosen if a not in ATTACK_KINDS]
    if unknown:
        raise ParameterError(
            f"Unknown attack kind(s) {unknown}; choose from: {', '.join(ATTACK_KINDS)}."
        )
    if "service_new_host" in chosen and n_services == 0:
        raise ParameterError("attack 'service_new_host' needs n_service_accounts >= 1.")
    return tuple(k for k in ATTACK_KINDS if k in chosen)


def _parse_end(end: str | date | None) -> date:
    if end is None:
        return DEFAULT_END
    if isinstance(end, (date, datetime, pd.Timestamp, str)):
        try:
            stamp = pd.Timestamp(end)
        except (ValueError, TypeError):
            stamp = pd.NaT
        if stamp is not pd.NaT:
            if stamp.tzinfo is not None:
                stamp = stamp.tz_convert("UTC").tz_localize(None)
            return stamp.date()
    raise ParameterError(f"end must be a date such as '2024-03-31', got {end!r}.")


def generate_demo(
    n_users: int = 150,
    n_days: int = 21,
    *,
    seed: int = 7,
    end: str | date | None = None,
    n_service_accounts: int | None = None,
    attacks: Iterable[str] | None = None,
    attack_intensity: float = 1.0,
    incidents_per_kind: int | None = None,
    domain: str = "CONTOSO",
    noise: bool = True,
) -> DemoData:
    """
    Generate the demo company's logon events with planted, labelled attacks.

    Parameters
    ----------
    n_users : int, default 150
        Human users (dormant accounts, 15 % of this but at least 8, come on top).
    n_days : int, default 21
        Days in the window.
    seed : int, default 7
        Seed of every random stream; the same arguments give the same data.
    end : str or date, optional
        Last day of the window (included); default `DEFAULT_END` (2024-03-31).
    n_service_accounts : int, optional
        Service accounts; default ``max(3, round(n_users / 25))``.
    attacks : iterable of str, optional
        Kinds from `ATTACK_KINDS` to plant; default all (``service_new_host``
        only when there are service accounts). An empty list plants none.
    attack_intensity : float, default 1.0
        Scales attack sizes: 0.5 subtle, 1 typical, 2 loud.
    incidents_per_kind : int, optional
        Incidents of each kind; default ``1 + n_users * n_days // 10000``.
    domain : str, default "CONTOSO"
        NetBIOS domain; host names end in ``.<domain lower-cased>.com``.
    noise : bool, default True
        Add the rows the hunting query filters out (machine, system,
        anonymous, window-manager, interactive, service and batch logons).

    Returns
    -------
    DemoData
        Events, labels, window and the planted incidents.

    Notes
    -----
    Attack models (``n`` is scaled by `attack_intensity` and rounded):

    * ``brute_force``: 40-400 x n failed network logons (NTLM, status
      0xc000006d/0xc000006a) to one server from an address and host name the
      account never used, within 5-60 minutes. A quarter of the time the
      account locks out after 5-10 attempts (later attempts have status
      0xc0000234); otherwise in 3 of 8 cases one successful logon follows.
    * ``brute_force_random_hosts``: the same, but every attempt carries a new
      random 16-character workstation name.
    * ``password_spray``: one address and host try 1-3 passwords, one round
      per password 10-30 minutes apart, against 20-60 x n accounts on one
      domain controller, mail or gateway server; about 30 % of the targets
      are dormant or disabled accounts (disabled ones fail with
      0xc000006e/0xc0000072). In 40 % of sprays one active account's password
      is guessed (one success; that account is skipped in later rounds).
      Every target account-day is labelled.
    * ``lateral_movement``: an ordinary (non-admin) user's account logs on
      successfully 1-3 times each to 10-30 x n computers it never used
      (about 60 % servers, the rest other users' workstations) within
      15-90 minutes, from another user's workstation; NTLM in 70 % of
      incidents, else Kerberos.
    * ``service_new_host``: during a 2-6 hour window, min(1, 0.5 x
      intensity) of a service account's logons (at least 3) come from a
      user workstation it never used instead of its own servers; targets
      and the daily count are unchanged.

    Incident days are in the second half of the window (80 %) or its second
    quarter (20 %), spread over distinct days while days remain. Every
    attack event falls inside its label's UTC day, is a 4624/4625 type-3
    (``"3 - Network"``) logon of a domain account and survives the hunting
    query's filters. Single-account attacks never share a victim; password
    sprays avoid those victims and reuse accounts (on other days) only when
    no fresh one is left, so each labelled (Date, account) is unique.
    Incidents are numbered in planning order: single-account kinds first,
    then sprays.

    """
    company = DemoEnterprise(
        n_users,
        n_days,
        seed=seed,
        end=end,
        n_service_accounts=n_service_accounts,
        attacks=attacks,
        attack_intensity=attack_intensity,
        incidents_per_kind=incidents_per_kind,
        domain=domain,
        noise=noise,
    )
    codes = _concat([c for _, c in company.iter_days()])
    events = company.frame(codes)
    event_attack = pd.Series(
        pd.Categorical.from_codes(codes["atk"].astype(np.int64) - 1, categories=ATTACK_KINDS),
        index=events.index,
        name="attack",
    )
    event_incident = pd.Series(codes["inc"], index=events.index, name="incident")
    return DemoData(
        events=events,
        labels=company.labels,
        start=company.start,
        end=company.end,
        incidents=company.incident_table,
        event_attack=event_attack,
        event_incident=event_incident,
    )


def iter_demo_events(
    n_users: int = 150,
    n_days: int = 21,
    *,
    seed: int = 7,
    end: str | date | None = None,
    n_service_accounts: int | None = None,
    attacks: Iterable[str] | None = None,
    attack_intensity: float = 1.0,
    incidents_per_kind: int | None = None,
    domain: str = "CONTOSO",
    noise: bool = True,
    chunk_days: int = 1,
) -> Iterator[pd.DataFrame]:
    """
    Yield the events of `generate_demo` a few days at a time.

    Memory stays bounded by one chunk (plus two days of buffered events), so
    this can produce tens of millions of events. Chunks are in time order,
    each sorted by ``TimeGenerated``, with a RangeIndex continuing from the
    previous chunk; concatenated they equal ``generate_demo(...).events``.
    Parameters are those of `generate_demo`, plus ``chunk_days``, the number
    of days per chunk (>= 1). Use `demo_labels` for the labels.
    """
    company = DemoEnterprise(
        n_users,
        n_days,
        seed=seed,
        end=end,
        n_service_accounts=n_service_accounts,
        attacks=attacks,
        attack_intensity=attack_intensity,
        incidents_per_kind=incidents_per_kind,
        domain=domain,
        noise=noise,
    )
    _check_int("chunk_days", chunk_days, 1)
    return (frame for frame, _ in company.iter_chunks(chunk_days))


def demo_labels(
    n_users: int = 150,
    n_days: int = 21,
    *,
    seed: int = 7,
    end: str | date | None = None,
    n_service_accounts: int | None = None,
    attacks: Iterable[str] | None = None,
    attack_intensity: float = 1.0,
    incidents_per_kind: int | None = None,
    domain: str = "CONTOSO",
    noise: bool = True,
) -> pd.DataFrame:
    """Return the labels `generate_demo` would give, without generating events."""
    return DemoEnterprise(
        n_users,
        n_days,
        seed=seed,
        end=end,
        n_service_accounts=n_service_accounts,
        attacks=attacks,
        attack_intensity=attack_intensity,
        incidents_per_kind=incidents_per_kind,
        domain=domain,
        noise=noise,
    ).labels


def match_labels(outliers: pd.DataFrame, labels: pd.DataFrame) -> dict[str, Any]:
    """
    Count the labelled attack user-days among a hunt's reported outliers.

    User-days are matched on the UTC day of ``Date`` and on ``DstDomain``
    and ``DstUser`` compared case-insensitively (case-folded).

    Parameters
    ----------
    outliers : pd.DataFrame
        Reported outliers with ``Date`` (datetimes, or text in one date
        format), ``DstDomain`` and ``DstUser`` columns. Not modified.
    labels : pd.DataFrame
        The demo's labels (`DemoData.labels`, `LABEL_COLUMNS`). Not modified.

    Returns
    -------
    dict[str, Any]
        ``labelled_user_days`` (distinct labelled user-days),
        ``labelled_in_outliers`` (those among the outliers), ``outliers``
        (distinct outlier user-days) and ``by_attack``: for each attack kind
        in sorted order, ``{"labelled": int, "found": int}``.

    """
    keys = ["Date", "DstDomain", "DstUser"]
    labelled = _day_keys(labels).assign(attack=labels["attack"].astype(str))
    labelled = labelled.drop_duplicates(keys)
    flagged = _day_keys(outliers).drop_duplicates()
    hits = labelled.merge(flagged, on=keys, how="inner")
    found = hits["attack"].value_counts()
    by_attack = {
        str(kind): {"labelled": int(count), "found": int(found.get(kind, 0))}
        for kind, count in labelled["attack"].value_counts().sort_index().items()
    }
    return {
        "labelled_user_days": len(labelled),
        "labelled_in_outliers": len(hits),
        "outliers": len(flagged),
        "by_attack": by_attack,
    }


def _day_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """Return Date (naive UTC day), DstDomain and DstUser (case-folded) of `frame`."""
    dates = pd.to_datetime(frame["Date"])
    if dates.dt.tz is not None:
        dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
    return pd.DataFrame(
        {
            "Date": dates.dt.normalize(),
            "DstDomain": frame["DstDomain"].astype(str).str.casefold(),
            "DstUser": frame["DstUser"].astype(str).str.casefold(),
        },
        index=frame.index,
    )

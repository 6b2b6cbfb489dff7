"""
The demo company's directory: people, hosts, addresses and habits.

`Company` is everything that exists before any logon: human users at five
sites, their workstations and the servers they use, dormant and disabled
accounts, service accounts with their fixed hosts, and the built-in and
machine accounts that appear in the noise. It is drawn from one random
stream of the seed, so it depends only on the number of users and of
service accounts. Attack planning adds attacker addresses and host names to
its vocabularies; `Company.freeze` then makes the string tables.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ._codes import KERBEROS, NTLM, S_ORG, Vocab, weighted_csr
from .settings import DemoSettings

__all__ = ["SITES", "Company"]

#: Sites: code, UTC offset in hours, first octet pair "10.<n>", share of users.
SITES = (
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
_EDGE_AND_INFRA = (
    ("SRV-RDGW01", "edge"),
    ("SRV-JUMP01", "edge"),
    ("SRV-SCCM01", "infra"),
    ("SRV-BKP01", "infra"),
    ("SRV-MON01", "infra"),
    ("SRV-PRINT01", "infra"),
)


class Company:
    """
    Everyone and everything in the demo enterprise, as integer codes.

    Codes index the vocabularies `accounts` (each of a domain in
    `domains`), `hosts` (short names; servers and workstations have the same
    code in `ips`, their address) and `ips`. Arrays named ``h_*`` have one
    entry per human user (codes 0 to ``n_users - 1``), ``d_*`` one per
    dormant account (`dormant`), ``s_*`` one per service account
    (`services`); ``host_*`` one per real host.

    Parameters
    ----------
    settings : DemoSettings
        Its ``seed``, ``n_users``, ``n_services`` and ``domain`` are used.

    Examples
    --------
    >>> company = Company(DemoSettings(40))
    >>> company.hosts.items[0], company.accounts.items[company.services[0]]
    ('DC01', 'svc-backup')

    """

    def __init__(self, settings: DemoSettings) -> None:
        self.n_users = settings.n_users
        self.n_services = settings.n_services
        self.domain = settings.domain
        self.dns = f"{self.domain.lower()}.com"
        self.accounts, self.domains, self.hosts, self.ips = Vocab(), Vocab(), Vocab(), Vocab()
        self._domain_of: list[int] = []  # domain code of each account
        rng = np.random.default_rng([settings.seed, S_ORG])
        names = self._people(rng)
        self._servers()
        self._workstations()
        self._habits(rng)
        self._server_use(rng)
        self._dormant(rng, names[self.n_users :])
        self._services(rng)
        self._builtin_accounts()

    def add_account(self, name: str, domain: str) -> int:
        """Return the code of account `name` (of `domain` when it is new)."""
        code = self.accounts.add(name)
        if code == len(self._domain_of):
            self._domain_of.append(self.domains.add(domain))
        return code

    def add_hosts(self, names: list[str], ips: list[str]) -> np.ndarray:
        """Add hosts with their addresses; return their (shared) codes."""
        codes = self.hosts.add_many(names)
        ip_codes = self.ips.add_many(ips)
        if not np.array_equal(codes, ip_codes):  # pragma: no cover - construction invariant
            raise RuntimeError("host and address codes diverged")
        return codes

    def freeze(self) -> None:
        """Make the string tables that `DemoEnterprise.frame` looks codes up in."""
        self.v_account = self.accounts.array()
        self.v_domain = self.domains.array()
        self.account_domain = np.array(self._domain_of, dtype=np.int32)
        self.v_host = self.hosts.array()
        self.v_computer = np.array(
            [f"{h}.{self.dns}" for h in self.hosts.items[: self.n_hosts_real]], dtype=object
        )
        self.v_ip = self.ips.array()

    def _people(self, rng: np.random.Generator) -> pd.Series:
        """Place users at sites and name them (and the dormant accounts)."""
        n = self.n_users
        shares = np.array([s[3] for s in SITES])
        self.h_site = rng.choice(len(SITES), size=n, p=shares / shares.sum())
        self.site_offset = np.array([s[1] for s in SITES])
        n_dormant = max(8, round(n * 0.15))
        first = rng.integers(0, len(_FIRST_NAMES), n + n_dormant)
        last = rng.integers(0, len(_LAST_NAMES), n + n_dormant)
        names = pd.Series(
            [f"{_FIRST_NAMES[a]}.{_LAST_NAMES[b]}" for a, b in zip(first, last, strict=True)]
        )
        dup = names.groupby(names).cumcount()
        names = names.where(dup == 0, names + (dup + 1).astype(str))
        for name in names[:n]:
            self.add_account(name, self.domain)
        self.h_admin = np.zeros(n, dtype=bool)
        if n >= 5:
            n_admin = max(1, round(0.04 * n))
            self.h_admin[rng.choice(n, n_admin, replace=False)] = True
        self.h_travel = rng.random(n) < 0.08
        return names

    def _servers(self) -> None:
        """Servers (central data center, 10.0.x.x) and site infrastructure."""
        n = self.n_users
        site_users = np.bincount(self.h_site, minlength=len(SITES))
        self.site_files = np.maximum(1, np.ceil(site_users / 250).astype(int))
        srv_names: list[tuple[str, str]] = []  # (name, kind)
        srv_names += [(f"DC{s + 1:02d}", "dc") for s in range(len(SITES))]
        srv_names += [(f"SRV-FILE{i + 1:02d}", "file") for i in range(self.site_files.sum())]
        counts = {
            "mail": max(1, math.ceil(n / 2000)),
            "app": max(6, math.ceil(n / 30)),
            "sql": max(2, math.ceil(n / 150)),
            "web": max(2, math.ceil(n / 300)),
        }
        for kind, count in counts.items():
            srv_names += [(f"SRV-{kind.upper()}{i + 1:02d}", kind) for i in range(count)]
        srv_names += _EDGE_AND_INFRA
        srv_ips = [f"10.0.{i // 250 + 1}.{i % 250 + 10}" for i in range(len(srv_names))]
        self.servers = self.add_hosts([s[0] for s in srv_names], srv_ips)
        self.srv_kind = np.array([s[1] for s in srv_names])
        self.site_dc = self.servers_of("dc")
        self.files = self.servers_of("file")
        self.site_first_file = np.r_[0, np.cumsum(self.site_files)[:-1]]

    def servers_of(self, *kinds: str) -> np.ndarray:
        """Return the codes of the servers of some kinds ("dc", "file", "app", ...)."""
        return self.servers[np.isin(self.srv_kind, kinds)]

    def _workstations(self) -> None:
        """Workstations (laptops for travellers), numbered per site; VPN addresses."""
        n = self.n_users
        ws_names, ws_ips = [], []
        per_site = np.zeros(len(SITES), dtype=int)
        for i in range(n):
            s = self.h_site[i]
            j = per_site[s]
            per_site[s] += 1
            label = "LT" if self.h_travel[i] else "WS"
            ws_names.append(f"{SITES[s][0]}-{label}{j + 1:05d}")
            block, rem = divmod(j, 62_500)
            ws_ips.append(f"10.{SITES[s][2] + block}.{rem // 250 + 1}.{rem % 250 + 2}")
        self.h_ws = self.add_hosts(ws_names, ws_ips)
        travellers = np.flatnonzero(self.h_travel)
        self.h_vpn = np.full(n, -1, dtype=np.int32)
        self.h_vpn[travellers] = self.ips.add_many(
            f"10.250.{i // 250}.{i % 250 + 2}" for i in range(travellers.size)
        )
        self.ip_dash = self.ips.add("-")
        self.ip_local = self.ips.add("127.0.0.1")
        self.ws_dash = self.hosts.add("-")

    def _habits(self, rng: np.random.Generator) -> None:
        """Per-user rates, hours, typing errors and NTLM use."""
        n = self.n_users
        self.h_offset = self.site_offset[self.h_site]
        self.h_rate = rng.lognormal(np.log(9.0), 0.55, n) * np.where(self.h_admin, 2.5, 1.0)
        self.h_weekend = np.where(rng.random(n) < 0.2, 0.25, 0.03)
        self.h_start = np.clip(rng.normal(8.3, 0.7, n), 6.0, 11.0)
        self.h_length = np.clip(rng.normal(9.0, 0.8, n), 6.0, 11.5)
        prone = rng.random(n) < 0.1
        self.h_error = np.where(prone, rng.beta(2, 20, n), rng.beta(1, 60, n))
        self.h_ntlm = np.where(rng.random(n) < 0.15, rng.uniform(0.2, 0.5, n), 0.03)

    def _server_use(self, rng: np.random.Generator) -> None:
        """Pick the servers each user uses, with weights (`h_srv`, `h_key`, `h_owner`)."""
        n = self.n_users
        owner, item, weight = [], [], []

        def add(users: np.ndarray, servers: np.ndarray, base: float) -> None:
            owner.append(users)
            item.append(servers)
            weight.append(base * rng.gamma(2.0, 0.5, users.size))

        users = np.arange(n)
        add(users, self.site_dc[self.h_site], 0.08)
        site_files = self.site_files[self.h_site]
        pick = self.site_first_file[self.h_site] + (rng.random(n) * site_files).astype(int)
        self.h_file = self.files[pick]
        add(users, self.h_file, 0.35)
        mails = self.servers_of("mail")
        add(users, mails[rng.integers(0, mails.size, n)], 0.25)
        apps = self.servers_of("app")
        popularity = 1.0 / np.arange(1, apps.size + 1) ** 0.8
        app_pick = rng.choice(apps, size=(n, 3), p=popularity / popularity.sum())
        n_apps = rng.integers(1, 4, n)
        for col in range(3):
            mask = n_apps > col
            add(users[mask], app_pick[mask, col], 0.2)
        for kind, prob, base in (("web", 0.3, 0.1), ("sql", 0.1, 0.15)):
            pool = self.servers_of(kind)
            mask = rng.random(n) < prob
            add(users[mask], pool[rng.integers(0, pool.size, int(mask.sum()))], base)
        for a in np.flatnonzero(self.h_admin):
            size = min(self.servers.size, int(rng.integers(8, 26)))
            extra = rng.choice(self.servers, size=size, replace=False)
            add(np.full(extra.size, a), extra, 0.06)
        self.h_srv, self.h_key, self.h_owner = weighted_csr(
            np.concatenate(owner), np.concatenate(item), np.concatenate(weight), n
        )

    def _dormant(self, rng: np.random.Generator, names: pd.Series) -> None:
        """Dormant accounts (some disabled), with a workstation and a file server."""
        start = len(self.accounts.items)
        for name in names:
            self.add_account(name, self.domain)
        n_dormant = len(names)
        self.dormant = np.arange(start, start + n_dormant, dtype=np.int32)
        self.d_disabled = rng.random(n_dormant) < 0.4
        self.d_ws = self.h_ws[rng.integers(0, self.n_users, n_dormant)]
        self.d_site = self.h_site[rng.integers(0, self.n_users, n_dormant)]
        self.d_file = self.files[self.site_first_file[self.d_site]]

    def _services(self, rng: np.random.Generator) -> None:
        """Service accounts: daily volume, authentication, source and target servers."""
        ns = self.n_services
        svc_names = [name for name, _ in _SERVICE_NAMES[:ns]]
        svc_night = [night for _, night in _SERVICE_NAMES[:ns]]
        svc_names += [f"svc-app{i + 1:02d}" for i in range(ns - len(svc_names))]
        svc_night += [False] * (ns - len(svc_night))
        self.services = np.array(
            [self.add_account(name, self.domain) for name in svc_names], dtype=np.int32
        )
        self.s_night = np.array(svc_night, dtype=bool)
        self.s_base = np.clip(rng.lognormal(np.log(350.0), 0.8, ns), 60, 5000)
        self.s_auth = np.where(rng.random(ns) < 0.3, NTLM, KERBEROS).astype(np.int8)
        src_pool = self.servers_of("app", "sql", "infra", "web")
        s_owner, s_src, d_owner, d_dst, d_w = [], [], [], [], []
        for s in range(ns):
            srcs = rng.choice(src_pool, size=rng.integers(1, 4), replace=False)
            if self.s_night[s]:
                dsts = np.concatenate([self.files, self.servers_of("sql")])
            else:
                dsts = rng.choice(self.servers, size=rng.integers(1, 7), replace=False)
            s_owner.append(np.full(srcs.size, s))
            s_src.append(srcs)
            d_owner.append(np.full(dsts.size, s))
            d_dst.append(dsts)
            d_w.append(rng.gamma(2.0, 0.5, dsts.size))
        if ns:
            owners = np.concatenate(s_owner)
            self.s_src, self.s_src_key, _ = weighted_csr(
                owners, np.concatenate(s_src), np.ones(owners.size), ns
            )
            self.s_dst, self.s_dst_key, _ = weighted_csr(
                np.concatenate(d_owner), np.concatenate(d_dst), np.concatenate(d_w), ns
            )

    def _builtin_accounts(self) -> None:
        """Machine, anonymous, system and window-manager accounts; hosts' own servers."""
        self.n_hosts_real = len(self.hosts.items) - 1  # all but "-"
        self.machine = np.array(
            [self.add_account(f"{h}$", self.domain) for h in self.hosts.items[:-1]],
            dtype=np.int32,
        )
        self.acct_anonymous = self.add_account("ANONYMOUS LOGON", "NT AUTHORITY")
        self.acct_system = np.array(
            [
                self.add_account("SYSTEM", "NT AUTHORITY"),
                self.add_account("LOCAL SERVICE", "NT AUTHORITY"),
                self.add_account("NETWORK SERVICE", "NT AUTHORITY"),
            ],
            dtype=np.int32,
        )
        self.acct_dwm = np.array(
            [self.add_account(f"DWM-{i}", "Window Manager") for i in (1, 2, 3)]
            + [self.add_account(f"UMFD-{i}", "Font Driver Host") for i in (0, 1)],
            dtype=np.int32,
        )
        self.host_dc = np.empty(self.n_hosts_real, dtype=np.int32)
        self.host_dc[self.servers] = self.site_dc[0]
        self.host_dc[self.h_ws] = self.site_dc[self.h_site]
        self.host_file = np.empty(self.n_hosts_real, dtype=np.int32)
        self.host_file[self.servers] = self.files[0]
        self.host_file[self.h_ws] = self.h_file

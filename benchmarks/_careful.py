"""
A careful intruder in a noisy enterprise: raw Windows logon events with labels.

`generate_careful` writes the ``SecurityEvent`` rows (``EVENT_COLUMNS``) of
one Active Directory domain, CONTOSO, over ``n_days`` days from a Monday,
and a label table of the account-days an intruder touched. Everything is
drawn with numpy from one seed (equal arguments give equal tables), a whole
column at a time: 1,000 accounts over 35 days take a few seconds.

The company keeps explicit hours, in UTC: day staff work 07:00-17:00
(`WORK_HOURS`, with some evenings to 22:00), night staff 19:00-07:00.

Benign life
-----------
* **Desk users** (most accounts) log on interactively at their workstation
  (type 2, not counted by the hunt) and then over the network (type 3) to
  a domain controller, their department's file server, a mail server and
  none to two application servers, about ten times a day, mostly with
  Kerberos, now and then NTLM. About one day in 25 they reach a server they
  have not used before, and about one day in 16 they mistype their password
  once to three times.
* **Workstation addresses** come from DHCP: each workstation's address
  changes every 2-6 days (its lease), within its site's subnet.
* **VPN laptop users** (about a fifth) get a new address every day from one
  of four VPN pool subnets (10.200-10.203).
* **Roamers** (about one desk user in eight) use two workstations, picked
  logon by logon.
* **A terminal server** (SRV-TS01): about 7 % of users work through it, so
  their network logons come from its address and name (their RDP logon to
  it, type 10, is not counted); their typos make its one address fail
  against several accounts every day.
* **Phones**: about a third of users sync mail from a carrier address that
  changes every day (external, NTLM).
* **New hires** (3 %) start in the second half of the window; **leavers**
  (2 %) stop; **vacations**: 12 % take a week or two off, 2 % a leave of
  three weeks or more (a long-silent account that comes back).
* **Password changes**: about a quarter of users change their password in
  the window and then, for 2-5 days, their own devices keep trying the old
  one: 5-60 failures a day from their workstation to the file server,
  decaying, and from their phone's carrier addresses to the mail server.
* **A vulnerability scanner** (10.5.0.50, VULNSCAN01) logs on with the
  account ``svc-vulnscan`` to every server every weekday at night, failing
  one to three times on each (and succeeding on four in five).
* **Administrators** (3 %, ``adm-*``) each look after 40-150 servers and
  touch a different handful of them each day (two to ten), from their own
  workstation or the shared jump host JUMP01, with Kerberos (NTLM on 5 % of
  logons); some on-call weekends.
* **Service accounts** (5 %, ``svc-*``) run from an application server to
  one to three servers all day, every day; a third of them are **batch jobs**
  that multiply their volume by 5-15 on the last two weekdays of a month and
  then also reach two or three other servers.
* **Night-shift staff** (5 % of desk users) work 19:00-07:00 four days in
  seven, weekends included.
* **Weekends and holidays**: 4 % of desk users are active on a weekend day;
  one weekday in about twenty is a public holiday (5 % active).
* **Spellings and placeholders**: the domain is written CONTOSO,
  contoso.local or contoso; Kerberos rows usually carry no workstation
  name (``-``) and some no source address either.

Attacks (``KINDS``; each labels one account-day unless said)
------------------------------------------------------------
``distributed_brute``
    Five external addresses, hundreds of failures (150-400 x intensity)
    against one user's account on its mail server, over one to four hours.
``internal_spray``
    From a real employee's workstation (its address of the day and name),
    one failed NTLM logon for each of 20-50 (x intensity) accounts against
    a domain controller within an hour or two. Every sprayed account-day
    is labelled.
``service_from_workstation``
    A service account used from a user's workstation to its usual servers:
    two to five logons.
``slow_brute``
    From one external address, 8-15 (x intensity) failures a day against a
    user's account on a mail server for 3-5 days, then a success on the
    last. Every day is labelled.
``lateral_valid``
    A desk user's own credentials, from its own workstation, to three to
    five servers it never used, one to three logons each.
``pass_the_hash``
    An administrator's account from another user's workstation, NTLM, to
    two to four of its usual servers.
``dormant_revived``
    A desk user who stopped after the first three days of the window (chosen
    before benign life is drawn; no phone, no password change), silent for
    three weeks or more (less only in windows too short), then logons from
    another user's workstation to two servers (one it used, one not). Only
    the revived day is labelled.
``off_hours``
    A day worker's account, two to five logons between 02:30 and 03:30 UTC
    to its usual file server from its own workstation (it also works its
    normal day).

Incidents of each kind alternate between the last `LAST_DAYS` days
(even-numbered ones) and the days before (odd ones), so that a hunt scoring
only the last week meets every kind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

KINDS = (
    "distributed_brute",
    "internal_spray",
    "service_from_workstation",
    "slow_brute",
    "lateral_valid",
    "pass_the_hash",
    "dormant_revived",
    "off_hours",
)
SHORT = {
    "distributed_brute": "dbrute",
    "internal_spray": "spray",
    "service_from_workstation": "svc-ws",
    "slow_brute": "slow",
    "lateral_valid": "lateral",
    "pass_the_hash": "pth",
    "dormant_revived": "dormant",
    "off_hours": "offhours",
}
#: Working hours of day staff, UTC (start, end).
WORK_HOURS = (7.0, 17.0)
#: Night shift starts at this hour (UTC) and ends at the day shift's start.
NIGHT_START = 19.0
#: Incidents are alternately placed among the window's last this many days.
LAST_DAYS = 7
START = "2024-05-06"  # a Monday
DOMAIN = "CONTOSO"
SPELLINGS = np.array(["CONTOSO", "contoso.local", "contoso"], dtype=object)
DNS = "contoso.local"
AUTH = np.array(["Kerberos", "NTLM", "Negotiate"], dtype=object)
PROCESS = np.array(["Kerberos", "NtLmSsp ", "User32 "], dtype=object)
TYPE_NAMES = {2: "2 - Interactive", 3: "3 - Network", 10: "10 - RemoteInteractive"}
KERB, NTLM, NEGO = 0, 1, 2
DAY = 86_400
FIRST = "ava ben chloe dan eli fay gus hana ivan jade kai liam mia noah omar pia quinn ravi sara "
FIRST += "tom uma vic wen xavi yara zoe amir bea carl dina emil femi gita hugo ines jon kim leo"
LAST = "adams baker chen diaz evans fox garcia hill ito jones khan lee moore ng ortiz patel "
LAST += "quist reed singh tan ueda vance wang xu young zhang abbott brown clark dunn ellis "
LAST += "ford gray hart"


def _ip(a: int, b, c, d) -> np.ndarray:
    """IPv4 addresses as uint32 from their four parts (arrays or scalars)."""
    parts = [np.asarray(x, dtype=np.uint64) for x in (b, c, d)]
    return ((np.uint64(a) << 24) | (parts[0] << 16) | (parts[1] << 8) | parts[2]).astype(np.uint32)


def _mix(*keys) -> np.ndarray:
    """A deterministic 64-bit hash of integer arrays (splitmix64 steps)."""
    h = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        for k in keys:
            h = h ^ np.asarray(k, dtype=np.uint64)
            h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            h = h ^ (h >> np.uint64(31))
    return h


class _Log:
    """Events gathered as integer columns, turned into text once at the end."""

    COLS = ("t", "ok", "comp", "user", "ip", "host", "auth", "ltype")

    def __init__(self):
        self.parts: list[dict] = []

    def add(self, t, user, comp, ip, host, ok=True, auth=KERB, ltype=3) -> None:
        t = np.asarray(t, dtype=np.int64)
        n = len(t)
        cols = dict(t=t, ok=ok, comp=comp, user=user, ip=ip, host=host, auth=auth, ltype=ltype)
        self.parts.append({k: np.broadcast_to(np.asarray(v), (n,)) for k, v in cols.items()})

    def column(self, name: str) -> np.ndarray:
        return np.concatenate([p[name] for p in self.parts])


@dataclass
class Careful:
    """A generated log (`events`, sorted by time) and its planted attack account-days."""

    events: pd.DataFrame
    labels: pd.DataFrame
    params: dict


class _World:
    """The enterprise drawn from one seed: hosts, accounts and who is active when."""

    def __init__(self, n_accounts: int, n_days: int, rng: np.random.Generator):
        self.rng, self.n_days = rng, n_days
        self.day0 = pd.Timestamp(START, tz="UTC")
        dates = pd.date_range(START, periods=n_days, freq="D")
        self.weekday = dates.dayofweek.to_numpy() < 5
        holiday = np.zeros(n_days, bool)
        holiday[np.arange(n_days)[self.weekday][rng.integers(3, 8) :: 20]] = True
        self.holiday = holiday & self.weekday
        month_end = np.zeros(n_days, bool)
        for _, days in pd.Series(np.arange(n_days)[self.weekday]).groupby(
            dates[self.weekday].to_period("M")
        ):
            if dates[days.iloc[-1]].day >= 27:
                month_end[days.iloc[-2:]] = True
        self.month_end = month_end
        self._servers(max(30, n_accounts // 8))
        self._accounts(n_accounts)

    def _servers(self, n: int) -> None:
        kinds = ["DC"] * 3 + ["MAIL"] * 2 + ["FILE"] * max(4, n // 8) + ["SQL"] * max(3, n // 12)
        kinds += ["APP"] * (n - len(kinds)) + ["TS"]
        counts: dict[str, int] = {}
        names = []
        for k in kinds:
            counts[k] = counts.get(k, 0) + 1
            names.append(f"SRV-{k}{counts[k]:02d}")
        self.srv_kind = np.array(kinds, dtype=object)
        self.srv_name = np.array(names, dtype=object)
        self.srv_ip = _ip(10, 1, np.arange(len(names)) // 200, np.arange(len(names)) % 200 + 10)
        self.ts = len(names) - 1
        self.by_kind = {k: np.flatnonzero(self.srv_kind == k) for k in set(kinds)}
        self.n_srv = len(names)

    def _accounts(self, n: int) -> None:
        rng = self.rng
        n_admin, n_svc = max(3, round(0.03 * n)), max(5, round(0.05 * n))
        n_desk = n - n_admin - n_svc - 1
        firsts, lasts = FIRST.split(), LAST.split()
        combo = rng.permutation(len(firsts) * len(lasts))
        people = [
            f"{firsts[c % len(firsts)]}.{lasts[c // len(firsts) % len(lasts)]}"
            + ("" if i < len(combo) else str(i // len(combo)))
            for i, c in enumerate(np.resize(combo, n_desk + n_admin))
        ]
        self.users = people[:n_desk] + [f"adm-{p}" for p in people[n_desk:]]
        self.users += [f"svc-app{i:03d}" for i in range(n_svc)] + ["svc-vulnscan"]
        self.role = np.repeat([0, 1, 2, 3], [n_desk, n_admin, n_svc, 1])
        self.n_desk, self.n_acc = n_desk, n
        # Workstations: one per desk user and admin; roamers get a second.
        ws = np.arange(n_desk + n_admin)
        self.ws = np.concatenate([ws, np.full(n_svc + 1, -1)])
        self.site = rng.integers(0, 6, len(ws))
        self.lease = rng.integers(2, 7, len(ws) * 2)
        roam = rng.random(n) < 0.12
        roam &= self.role == 0
        self.ws2 = np.where(roam, len(ws) + np.arange(n), -1)
        self.n_ws = len(ws) + n
        self.mode = np.where(self.role == 0, rng.choice(3, n, p=[0.73, 0.2, 0.07]), 0)
        self.phone = (self.role == 0) & (rng.random(n) < 0.33)
        self.night = (self.role == 0) & (rng.random(n) < 0.05)
        self.rate = np.exp(rng.normal(2.2, 0.5, n))
        self._usual_servers(n)
        self._presence(n)

    def _usual_servers(self, n: int) -> None:
        rng, bk = self.rng, self.by_kind
        dept = rng.integers(0, len(bk["FILE"]), n)
        usual = np.stack(
            [
                rng.choice(bk["DC"], n),
                bk["FILE"][dept],
                rng.choice(bk["MAIL"], n),
                rng.choice(bk["APP"], n),
                rng.choice(bk["APP"], n),
            ],
            axis=1,
        )
        svc = self.role == 2
        usual[svc] = np.stack(
            [rng.choice(np.concatenate([bk["SQL"], bk["FILE"]]), svc.sum()) for _ in range(5)],
            axis=1,
        )
        self.usual = usual
        self.n_usual = np.where(svc, rng.integers(1, 4, n), rng.integers(3, 6, n))
        self.svc_host = rng.choice(bk["APP"], n)
        self.batch = svc & (rng.random(n) < 0.33)
        self.batch_extra = rng.choice(np.concatenate([bk["SQL"], bk["FILE"]]), (n, 3))
        # Administrators' servers: the first `admin_size` of a shuffled list each.
        self.admin_pool = np.argsort(rng.random((n, self.n_srv - 1)), axis=1)
        self.admin_size = np.minimum(rng.integers(40, 151, n), self.n_srv - 1)

    def _presence(self, n: int) -> None:
        """`self.active[account, day]`: whether the account works that day."""
        rng, d = self.rng, self.n_days
        day = np.arange(d)[None, :]
        p = np.where(self.weekday, 0.93, 0.04)[None, :].repeat(n, 0)
        p[:, self.holiday] = 0.05
        admin = self.role == 1
        p[admin] = np.where(self.weekday & ~self.holiday, 0.9, 0.15)
        phase = rng.integers(0, 7, n)[:, None]
        p[self.night] = np.where((day + phase[self.night]) % 7 < 4, 0.95, 0.02)
        active = rng.random((n, d)) < p
        active[self.role >= 2] = True
        active[self.role == 3] = self.weekday
        desk = self.role == 0
        self.start = np.where(desk & (rng.random(n) < 0.03), rng.integers(d // 2, d - 2, n), 0)
        self.end = np.where(desk & (rng.random(n) < 0.02), rng.integers(3, d, n), d)
        active &= (day >= self.start[:, None]) & (day < self.end[:, None])
        long = rng.random(n) < 0.02
        leave = np.where(long, rng.integers(18, 26, n), rng.integers(5, 15, n))
        away = desk & (long | (rng.random(n) < 0.12))
        first = rng.integers(-5, d, n)[:, None]
        active &= ~(away[:, None] & (day >= first) & (day < first + leave[:, None]))
        self.active = active
        stale = desk & (rng.random(n) < 0.25)
        self.stale_day = np.where(stale, rng.integers(0, d, n), -99)
        self.stale_len = rng.integers(2, 6, n)
        self.stale_size = rng.integers(5, 61, n)

    # ----------------------------------------------------------------- sources
    def ws_ip(self, ws: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The DHCP address of workstation `ws` on `day` (new lease every few days)."""
        lease = self.lease[ws % len(self.lease)]
        epoch = (day + ws) // lease
        h = _mix(ws, epoch, 7)
        site = self.site[ws % len(self.site)]
        return _ip(10, 10 + site, (h >> np.uint64(8)) % np.uint64(250), h % np.uint64(250) + 2)

    def ws_host(self, ws: np.ndarray) -> np.ndarray:
        """Host codes of workstations (see `host_names`)."""
        return np.asarray(ws) + 1

    def host_names(self) -> np.ndarray:
        ws = [f"WS-{i:05d}" for i in range(self.n_desk + (self.role == 1).sum())]
        roam = [f"LT-{i:05d}" for i in range(self.n_acc)]
        extra = ["JUMP01", "VULNSCAN01", "WIN-7Q2LK0M3ZP1", "kali"]
        return np.array(["-", *ws, *roam, *self.srv_name, *extra], dtype=object)

    def extra_host(self, name: str) -> int:
        return (
            1
            + self.n_ws
            + self.n_srv
            + ["JUMP01", "VULNSCAN01", "WIN-7Q2LK0M3ZP1", "kali"].index(name)
        )

    def srv_host(self, srv: np.ndarray) -> np.ndarray:
        return 1 + self.n_ws + np.asarray(srv)

    def times(self, day: np.ndarray, night: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Seconds since the start of logons on `day` by day or night staff."""
        n = len(day)
        start, end = WORK_HOURS
        hour = np.clip(rng.normal((start + end) / 2, 2.6, n), start - 0.5, end + 0.5)
        late = rng.random(n) < 0.03
        hour[late] = rng.uniform(end + 1, 22, late.sum())
        hour = np.where(night, (NIGHT_START + rng.random(n) * 12) % 24, hour)
        return day * DAY + (hour * 3600).astype(np.int64)


def generate_careful(
    n_accounts: int = 1000,
    n_days: int = 35,
    seed: int = 0,
    incidents_per_kind: int = 2,
    intensity: float = 1.0,
    kinds: tuple[str, ...] = KINDS,
) -> Careful:
    """Generate a noisy enterprise with careful attacks (see the module docstring)."""
    if n_days < LAST_DAYS + 8 or n_accounts < 100:
        raise ValueError("need at least 15 days and 100 accounts")
    rng = np.random.default_rng([seed, 20240506])
    world = _World(n_accounts, n_days, rng)
    log = _Log()
    from _careful_attacks import plant_attacks, reserve_dormant  # they import this module
    from _careful_life import add_benign

    reserve_dormant(world, rng, incidents_per_kind if "dormant_revived" in kinds else 0)
    add_benign(world, log, rng)
    labels = plant_attacks(world, log, rng, incidents_per_kind, intensity, kinds)
    events = _frame(world, log, rng)
    params = dict(
        n_accounts=n_accounts,
        n_days=n_days,
        seed=seed,
        incidents_per_kind=incidents_per_kind,
        intensity=intensity,
    )
    return Careful(events=events, labels=labels, params=params)


def _ip_text(ip: np.ndarray) -> np.ndarray:
    """Dotted text of uint32 addresses; 0 is ``-``."""
    uniq, inverse = np.unique(ip, return_inverse=True)
    u = uniq.astype(np.int64)
    text = [f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}" if a else "-" for a in u]
    return np.array(text, dtype=object)[inverse]


def _frame(world: _World, log: _Log, rng: np.random.Generator) -> pd.DataFrame:
    """The gathered events as a time-sorted ``SecurityEvent`` table."""
    t = log.column("t")
    order = np.argsort(t, kind="stable")
    col = {name: log.column(name)[order] for name in _Log.COLS}
    ok = col["ok"].astype(bool)
    auth, ltype = col["auth"].astype(np.int64), col["ltype"].astype(np.int64)
    n = len(t)
    spelling = SPELLINGS[rng.choice(3, n, p=[0.72, 0.2, 0.08])]
    failure_sub = np.where(rng.random(n) < 0.9, "0xc000006a", "0xc0000064").astype(object)
    names = [*world.srv_name, *world.host_names()[1 : 1 + world.n_ws]]
    fqdn = np.array([f"{name}.{DNS}" for name in names], dtype=object)
    process = PROCESS[auth].copy()
    process[(auth == NEGO) & (ltype == 3)] = "Advapi  "
    return pd.DataFrame(
        {
            "TimeGenerated": world.day0 + pd.to_timedelta(col["t"], unit="s"),
            "EventID": np.where(ok, 4624, 4625),
            "Computer": fqdn[col["comp"].astype(np.int64)],
            "TargetUserName": np.array(world.users, dtype=object)[col["user"].astype(np.int64)],
            "TargetDomainName": spelling,
            "LogonType": ltype,
            "LogonTypeName": np.array([TYPE_NAMES.get(k, "") for k in range(11)], dtype=object)[
                ltype
            ],
            "IpAddress": _ip_text(col["ip"]),
            "WorkstationName": world.host_names()[col["host"].astype(np.int64)],
            "AuthenticationPackageName": AUTH[auth],
            "AccountDomain": DOMAIN,
            "LogonProcessName": process,
            "Status": np.where(ok, "", "0xc000006d").astype(object),
            "SubStatus": np.where(ok, "", failure_sub).astype(object),
        }
    )

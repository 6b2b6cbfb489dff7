"""
The attacks planted in the demo: when, on whom, from where, and their events.

`AttackPlan` plans every incident of a `Company` from its own random stream
(the seed and a fixed stream number), before any background event is made:
it picks the day, the victims, the attacker's address and host, and builds
the attack's event codes (a ``service_new_host`` attack instead records a
`ServiceMove` that re-homes some of the account's own logons that day).
The models are described in `generate_demo`.

Single-account attacks are planned first and never share a victim; spray
targets are never such victims and are fresh accounts while any remain,
else accounts sprayed on other days. An incident is skipped when no account
of the kind it needs is left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._codes import (
    ATTACK_KINDS,
    BAD_PASSWORD,
    DAY_MS,
    DISABLED,
    HOUR_MS,
    KERBEROS,
    LOCKED_OUT,
    MS,
    NET,
    NTLM,
    OK,
    S_PLAN,
    Codes,
    attack_code,
    ms,
    part,
    random_names,
)
from .company import Company
from .settings import DemoSettings

__all__ = ["ATTACK_KINDS", "AttackPlan", "Incident", "ServiceMove"]

#: Addresses outside the company an attacker may come from (documentation ranges).
_EXTERNAL_IPS = [f"{p}.{i}" for p in ("203.0.113", "198.51.100", "192.0.2") for i in range(1, 255)]


@dataclass
class Incident:
    """
    One planted attack.

    Attributes
    ----------
    incident : int
        Number, in planning order.
    attack : str
        Its kind (from `ATTACK_KINDS`).
    day : int
        Day of the window (0 is the first) that holds all its events.
    accounts : list of (int, str)
        Each attacked account's code, with the label's detail.
    start, end : int
        First and last event, in milliseconds since 1970.
    src_ip, src_host, target : str
        Where it came from and what it logged on to.
    n_events : int
        Events it added (-1 for a move of a service account's own logons).
    detail : str
        What happened, in a sentence.

    """

    incident: int
    attack: str
    day: int
    accounts: list[tuple[int, str]]
    start: int
    end: int
    src_ip: str
    src_host: str
    target: str
    n_events: int
    detail: str


@dataclass(frozen=True)
class ServiceMove:
    """Part of a service account's logons on one day that come from a new host."""

    svc: int  # index of the service account
    ws: int  # host (and address) code of the new source
    t0: int  # window, milliseconds since 1970
    t1: int
    share: float  # of the account's logons in the window
    inc: int  # incident number


class AttackPlan:
    """
    Every incident planted in one company, with its event codes.

    Parameters
    ----------
    company : Company
        The company attacked; attacker addresses and hosts are added to its
        vocabularies.
    settings : DemoSettings
        Its ``seed``, ``kinds``, ``per_kind``, ``attack_intensity`` and window
        are used.

    Attributes
    ----------
    incidents : list of Incident
        The planted incidents, in number order.
    parts : dict of int to list of Codes
        Attack event codes of each day of the window.
    moves : dict of int to list of ServiceMove
        The ``service_new_host`` attacks of each day.

    Examples
    --------
    >>> settings = DemoSettings(40, 7, attacks=["brute_force"])
    >>> [i.attack for i in AttackPlan(Company(settings), settings).incidents]
    ['brute_force']

    """

    def __init__(self, company: Company, settings: DemoSettings) -> None:
        self.company = company
        self.intensity = settings.attack_intensity
        self.start_ms = settings.start_ms
        self.incidents: list[Incident] = []
        self.parts: dict[int, list[Codes]] = {}
        self.moves: dict[int, list[ServiceMove]] = {}
        self._plan(np.random.default_rng([settings.seed, S_PLAN]), settings)

    def _plan(self, rng: np.random.Generator, settings: DemoSettings) -> None:
        """Choose days, victims and sources of every incident; build attack rows."""
        self.used = np.zeros(len(self.company.accounts.items), dtype=bool)
        n_days = settings.n_days
        late = np.arange(n_days // 2, n_days)
        early = np.arange(max(1, n_days // 4), n_days // 2)
        self._days = {"late": late, "early": early if early.size else late}
        self._queues: dict[str, list[int]] = {"late": [], "early": []}
        self._ext_order = list(rng.permutation(len(_EXTERNAL_IPS)))
        self._int_order = list(rng.permutation(62_500))
        # Single-victim attacks first, so large sprays cannot use up their victims.
        self._victims = np.zeros(self.used.size, dtype=bool)
        self._sprayed: dict[int, np.ndarray] = {}
        builders: dict[str, Callable[..., Incident | None]] = {
            "brute_force": self._brute_force,
            "password_spray": self._password_spray,
            "lateral_movement": self._lateral_movement,
            "service_new_host": self._service_new_host,
            "brute_force_random_hosts": self._brute_force_random_hosts,
        }
        order = [k for k in settings.kinds if k != "password_spray"]
        order += [k for k in settings.kinds if k == "password_spray"]
        for kind in order:
            for _ in range(settings.per_kind):
                inc = len(self.incidents)
                day = self._pick_day(rng)
                incident = builders[kind](rng, inc, day)
                if incident is None:
                    continue
                self.incidents.append(incident)
                if kind != "password_spray":
                    self._victims[[acct for acct, _ in incident.accounts]] = True

    def _pick_day(self, rng: np.random.Generator) -> int:
        """Pick a day of the second half (80 %) or second quarter, spread out."""
        which = "early" if rng.random() < 0.2 else "late"
        if not self._queues[which]:
            self._queues[which] = list(rng.permutation(self._days[which]))
        return int(self._queues[which].pop())

    def _attacker(self, rng: np.random.Generator) -> tuple[int, int, str, str]:
        """Return a fresh source address and host (codes, then text) for an attacker."""
        if rng.random() < 0.5 and self._ext_order:
            ip = _EXTERNAL_IPS[self._ext_order.pop()]
        else:
            i = self._int_order.pop()
            ip = f"10.99.{i // 250}.{i % 250 + 2}"
        style = rng.integers(0, 4)
        if style == 0:
            host = "WIN-" + random_names(rng, 1, 11)[0]
        elif style == 1:
            host = "DESKTOP-" + random_names(rng, 1, 7)[0]
        else:
            host = ("kali", "WORKSTATION")[style - 2]
        return self.company.ips.add(ip), self.company.hosts.add(host), ip, host

    def _free(self, pool: np.ndarray) -> np.ndarray:
        """Accounts of `pool` not attacked yet."""
        return pool[~self.used[pool]].astype(np.int32)

    def _window(self, rng: np.random.Generator, day: int, hours: float) -> int:
        """Start (ms since epoch) of an activity of `hours` inside UTC `day`."""
        begin = rng.uniform(0.5, max(0.5, 23.5 - hours))
        return int(self.start_ms + day * DAY_MS + ms(begin))

    def _add_part(self, day: int, codes: Codes) -> None:
        self.parts.setdefault(day, []).append(codes)

    def _brute_force(
        self, rng: np.random.Generator, inc: int, day: int, random_hosts: bool = False
    ) -> Incident | None:
        c = self.company
        humans = self._free(np.arange(c.n_users, dtype=np.int32))
        if humans.size == 0:
            return None
        victim = int(rng.choice(humans))
        self.used[victim] = True
        n_fail = max(5, round(int(rng.integers(40, 401)) * self.intensity))
        minutes = float(rng.uniform(5, 60))
        t0 = self._window(rng, day, minutes / 60 + 0.1)
        times = t0 + np.sort(rng.integers(0, int(minutes * 60_000), n_fail))
        status = np.full(n_fail, BAD_PASSWORD, dtype=np.int8)
        roll = rng.random()
        outcome = "no success"
        if roll < 0.25:
            threshold = int(rng.integers(5, 11))
            status[threshold:] = LOCKED_OUT
            outcome = f"account locked out after {min(threshold, n_fail)} attempts"
        elif roll < 0.625:
            times = np.r_[times, times[-1] + rng.integers(500, 5000)]
            status = np.r_[status, OK]
            outcome = "ended in a successful logon"
        target = int(rng.choice(c.servers_of("edge", "file", "app", "web")))
        ip, host, ip_text, host_text = self._attacker(rng)
        if random_hosts:
            ws = c.hosts.add_many(random_names(rng, times.size, 16))
            source = f"{ip_text} (a random 16-character workstation name on every attempt)"
        else:
            ws = host
            source = f"{ip_text} ({host_text})"
        kind = "brute_force_random_hosts" if random_hosts else "brute_force"
        self._add_part(
            day,
            part(
                times.size,
                t=times * MS,
                acct=victim,
                comp=target,
                ip=ip,
                ws=ws,
                lt=NET,
                auth=NTLM,
                st=status,
                atk=attack_code(kind),
                inc=inc,
            ),
        )
        target_name = c.hosts.items[target]
        detail = (
            f"{n_fail} failed logons to {target_name} from {source} in {minutes:.0f} min; {outcome}"
        )
        src_host = "(random)" if random_hosts else host_text
        return Incident(
            incident=inc,
            attack=kind,
            day=day,
            accounts=[(victim, detail)],
            start=int(times.min()),
            end=int(times.max()),
            src_ip=ip_text,
            src_host=src_host,
            target=target_name,
            n_events=int(times.size),
            detail=detail,
        )

    def _brute_force_random_hosts(
        self, rng: np.random.Generator, inc: int, day: int
    ) -> Incident | None:
        return self._brute_force(rng, inc, day, random_hosts=True)

    def _password_spray(self, rng: np.random.Generator, inc: int, day: int) -> Incident | None:
        c = self.company
        chosen = self._spray_targets(rng, day)
        if chosen is None:
            return None
        targets, n_dormant, disabled = chosen
        times, accts, status, n_pw, hit = self._spray_rounds(rng, day, targets, disabled)
        candidates = np.r_[c.site_dc, c.servers_of("mail", "edge")]
        target = int(rng.choice(candidates))
        ip, host, ip_text, host_text = self._attacker(rng)
        self._add_part(
            day,
            part(
                times.size,
                t=times * MS,
                acct=accts,
                comp=target,
                ip=ip,
                ws=host,
                lt=NET,
                auth=NTLM,
                st=status,
                atk=attack_code("password_spray"),
                inc=inc,
            ),
        )
        target_name = c.hosts.items[target]
        head = (
            f"spray from {ip_text} ({host_text}) on {target_name}: {n_pw} password(s) "
            f"against {targets.size} accounts"
        )
        accounts = []
        for i, acct in enumerate(targets.tolist()):
            state = "disabled" if disabled[i] else ("dormant" if i < n_dormant else "active")
            result = "guessed" if i == hit else "failed"
            accounts.append((acct, f"{head}; {state} account, {result}"))
        detail = head + ("; one password guessed" if hit >= 0 else "")
        return Incident(
            incident=inc,
            attack="password_spray",
            day=day,
            accounts=accounts,
            start=int(times.min()),
            end=int(times.max()),
            src_ip=ip_text,
            src_host=host_text,
            target=target_name,
            n_events=int(times.size),
            detail=detail,
        )

    def _spray_targets(
        self, rng: np.random.Generator, day: int
    ) -> tuple[np.ndarray, int, np.ndarray] | None:
        """Accounts a spray tries (dormant ones first), how many are dormant, which disabled."""
        c = self.company
        used = self.used
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
        dormant = pick(c.dormant, max(1, round(0.3 * want)))
        humans = pick(np.arange(c.n_users, dtype=np.int32), want - dormant.size)
        n_dormant = dormant.size
        targets = np.r_[dormant, humans].astype(np.int32)
        if targets.size == 0:
            return None
        used[targets] = True
        sprayed[targets] = True
        disabled = np.zeros(targets.size, dtype=bool)
        disabled[:n_dormant] = c.d_disabled[targets[:n_dormant] - c.dormant[0]]
        return targets, n_dormant, disabled

    def _spray_rounds(
        self, rng: np.random.Generator, day: int, targets: np.ndarray, disabled: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
        """
        Return times, accounts and statuses of a spray's rounds (one per password).

        Also returns the number of passwords and the index of the target
        whose password was guessed (-1 if none).
        """
        n_pw = int(rng.integers(1, 4))
        gap_ms = int(rng.uniform(10, 30) * 60_000)
        span_h = (n_pw * gap_ms + targets.size * 6_000) / HOUR_MS
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
            st = np.where(disabled[order], DISABLED, BAD_PASSWORD)
            if r == hit_round:
                st[order == hit_target] = OK
            status.append(st)
        return (
            np.concatenate(times),
            np.concatenate(accts),
            np.concatenate(status),
            n_pw,
            hit_target,
        )

    def _lateral_movement(self, rng: np.random.Generator, inc: int, day: int) -> Incident | None:
        c = self.company
        pool = np.arange(c.n_users, dtype=np.int32)
        plain = pool[~c.h_admin]
        humans = self._free(plain if plain.size else pool)
        if humans.size == 0:
            return None
        victim = int(rng.choice(humans))
        self.used[victim] = True
        others = np.flatnonzero(np.arange(c.n_users) != victim)
        if others.size:
            pivot = int(rng.choice(others))
            ws, ip = int(c.h_ws[pivot]), int(c.h_ws[pivot])
            ip_text, host_text = c.ips.items[ip], c.hosts.items[ws]
        else:
            ip, ws, ip_text, host_text = self._attacker(rng)
        want = max(3, round(int(rng.integers(10, 31)) * self.intensity))
        lo, hi = np.searchsorted(c.h_owner, [victim, victim + 1])
        new_servers = c.servers[~np.isin(c.servers, c.h_srv[lo:hi])]
        workstations = c.h_ws[(np.arange(c.n_users) != victim) & (c.h_ws != ws)]
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
        auth = NTLM if rng.random() < 0.7 else KERBEROS
        self._add_part(
            day,
            part(
                comp.size,
                t=times * MS,
                acct=victim,
                comp=comp,
                ip=ip,
                ws=ws,
                lt=NET,
                auth=auth,
                st=OK,
                atk=attack_code("lateral_movement"),
                inc=inc,
            ),
        )
        detail = (
            f"{comp.size} successful logons to {targets.size} computers it never used "
            f"({n_srv} servers, {n_ws} workstations) from {host_text} ({ip_text}) in "
            f"{minutes:.0f} min, {'NTLM' if auth == NTLM else 'Kerberos'}"
        )
        return Incident(
            incident=inc,
            attack="lateral_movement",
            day=day,
            accounts=[(victim, detail)],
            start=int(times.min()),
            end=int(times.max()),
            src_ip=ip_text,
            src_host=host_text,
            target=f"{targets.size} computers",
            n_events=int(comp.size),
            detail=detail,
        )

    def _service_new_host(self, rng: np.random.Generator, inc: int, day: int) -> Incident | None:
        c = self.company
        free = np.flatnonzero(~self.used[c.services])
        if free.size == 0:
            return None
        svc = int(rng.choice(free))
        acct = int(c.services[svc])
        self.used[acct] = True
        host_user = int(rng.integers(0, c.n_users))
        ws = int(c.h_ws[host_user])
        hours = float(rng.uniform(2, 6))
        t0 = self._window(rng, day, hours)
        t1 = t0 + int(ms(hours))
        share = min(1.0, 0.5 * self.intensity)
        ip_text, host_text = c.ips.items[ws], c.hosts.items[ws]
        self.moves.setdefault(day, []).append(ServiceMove(svc, ws, t0, t1, share, inc))
        begin = pd.Timestamp(t0, unit="ms").strftime("%H:%M")
        finish = pd.Timestamp(t1, unit="ms").strftime("%H:%M")
        detail = (
            f"logons from {host_text} ({ip_text}), a host it never used, "
            f"{begin}-{finish} UTC (about {share:.0%} of its logons in that window; "
            "daily volume unchanged)"
        )
        return Incident(
            incident=inc,
            attack="service_new_host",
            day=day,
            accounts=[(acct, detail)],
            start=t0,
            end=t1,
            src_ip=ip_text,
            src_host=host_text,
            target="its usual servers",
            n_events=-1,
            detail=detail,
        )

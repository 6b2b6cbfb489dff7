"""
The attack kinds the self-test plants, each on the user's own accounts and hosts.

A `Planter` holds the `DataProfile`, a random generator and the rows planted
so far. Each kind is a method ``kind(scale, day)`` that picks a fresh victim
(never one used by another planted attack), builds the attack's logons and
returns its label; it raises `CannotPlantError` with the reason when the
data lacks what the kind needs. `KINDS` lists them in planting order: single-victim kinds
first, the sprays (which take many accounts) last.

The demo's kinds (`sources.demo.attacks`) are ``brute_force``,
``brute_force_random_hosts``, ``password_spray``, ``lateral_movement`` and
``service_new_host``; the careful intruder's (the noisy benchmark) are
``slow_brute``, ``distributed_brute``, ``lateral_valid``, ``pass_the_hash``,
``service_from_workstation``, ``dormant_revived``, ``off_hours`` and
``internal_spray``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..sources.demo._codes import random_names
from .names import KINDS, LOUD_KINDS
from .profile import DAY_NS, HOUR_NS, DataProfile, net_of

__all__ = ["KINDS", "LOUD_KINDS", "Planter", "CannotPlantError"]

#: Days a revived account must have been silent.
DORMANT_GAP = 7

#: Address blocks an outside attacker comes from (documentation ranges first).
_OUTSIDE = ("203.0.113", "198.51.100", "192.0.2", "185.220.101", "45.155.205")

_FAIL = ("0xc000006d", "0xc000006a")


class CannotPlantError(Exception):
    """The data lacks what a kind needs (the message says what)."""


@dataclass
class Label:
    """One planted attack: its victim account(s), day and size."""

    accounts: list[tuple[str, str]]
    day: int
    n_events: int
    detail: str


class Planter:
    """
    Plants attacks into lists of logon columns, one fresh victim per attack.

    Parameters
    ----------
    profile : DataProfile
        What the data holds.
    rng : np.random.Generator
        The only source of randomness.
    exclude : set of (str, str), optional
        Accounts never chosen as victims (e.g. allow-listed ones).

    """

    def __init__(
        self,
        profile: DataProfile,
        rng: np.random.Generator,
        exclude: set[tuple[str, str]] | None = None,
    ) -> None:
        self.p, self.rng = profile, rng
        self.used: set[tuple[str, str]] = set(exclude or ())
        self.sprayed: set[tuple[str, str]] = set()
        self.rows: list[dict[str, np.ndarray]] = []
        self._outside = self._outside_addresses()
        self.has_kerberos = "KERBEROS" in profile.auths

    # ----------------------------------------------------------------- helpers
    def victim(self, mask: np.ndarray | pd.Series, what: str) -> tuple[str, str]:
        """Pick an unused account where `mask` holds (CannotPlantError naming `what` if none)."""
        table = self.p.accounts
        free = np.asarray(mask, dtype=bool) & ~table.index.isin(list(self.used))
        if not free.any():
            raise CannotPlantError(
                f"no {what} free to be a victim (none in the data, or all taken)"
            )
        key = table.index[free][int(self.rng.integers(0, int(free.sum())))]
        self.used.add(key)
        return key

    def humans(self) -> np.ndarray:
        """Mask of the accounts that are not service accounts."""
        return ~self.p.accounts["service"].to_numpy()

    def other_desk(self, key: tuple[str, str]) -> tuple[str, str]:
        """Another account's usual workstation and address (a colleague's desk)."""
        table = self.p.accounts
        named = ~table["ws"].isin(["", "-"]) & (table.index != key) & self.humans()
        pool = table[named] if named.any() else table[table.index != key]
        if pool.empty:
            return self.inside_address(key), "DESKTOP-" + random_names(self.rng, 1, 7)[0]
        row = pool.iloc[int(self.rng.integers(0, len(pool)))]
        return str(row["ip"]), str(row["ws"])

    def outside_address(self) -> str:
        """Return an address outside every range seen in the data."""
        return self._outside[int(self.rng.integers(0, len(self._outside)))]

    def _outside_addresses(self) -> list[str]:
        found = [
            f"{block}.{i}"
            for block in _OUTSIDE
            if net_of(f"{block}.1") not in self.p.nets
            for i in range(2, 250)
        ]
        return found or [f"100.{i}.7.9" for i in range(64, 128)]

    def inside_address(self, key: tuple[str, str]) -> str:
        """Return a new address in a range the account uses (else any range seen)."""
        own = net_of(str(self.p.accounts.at[key, "ip"]))
        nets = sorted(self.p.nets)
        net = own or (nets[int(self.rng.integers(0, len(nets)))] if nets else "10.250.0.0/24")
        hosts = ipaddress.ip_network(net)
        for _ in range(50):
            candidate = str(hosts[int(self.rng.integers(2, min(hosts.num_addresses - 1, 250)))])
            if candidate not in self.p.ips:
                return candidate
        return candidate

    def usual_servers(self, key: tuple[str, str]) -> list[str]:
        """Return the computers the account logs on to, most used first."""
        return self.p.servers.get(key, []) or self.p.computers[:1]

    def new_servers(self, key: tuple[str, str]) -> list[str]:
        """Return the computers of the data the account never logged on to."""
        used = set(self.p.servers.get(key, []))
        return [c for c in self.p.computers if c not in used]

    def times(self, day: int, n: int, lo: float, hi: float) -> np.ndarray:
        """`n` sorted times in hours [lo, hi) of `day` (wrapped inside the day)."""
        hours = np.sort(self.rng.uniform(lo, hi, n)) % 24
        return np.sort(day * DAY_NS + (hours * HOUR_NS).astype(np.int64))

    def work_hours(self, key: tuple[str, str]) -> tuple[float, float]:
        """Return hours (UTC) around the account's busiest one."""
        hour = float(self.p.accounts.at[key, "hour"])
        return hour - 1.0, hour + 2.0

    def add(self, key, times, computer, ip, ws, auth, success) -> int:
        """Record logons of one account (scalars broadcast); return how many."""
        n = len(times)
        self.rows.append(
            {
                "time": np.asarray(times, dtype=np.int64),
                "domain": np.full(n, key[0], dtype=object),
                "user": np.full(n, key[1], dtype=object),
                "computer": np.broadcast_to(np.asarray(computer, dtype=object), n).copy(),
                "ip": np.broadcast_to(np.asarray(ip, dtype=object), n).copy(),
                "ws": np.broadcast_to(np.asarray(ws, dtype=object), n).copy(),
                "auth": np.broadcast_to(np.asarray(auth, dtype=object), n).copy(),
                "success": np.broadcast_to(np.asarray(success, dtype=bool), n).copy(),
            }
        )
        return n

    # ------------------------------------------------------------ demo kinds
    def brute_force(self, scale: float, day: int, random_hosts: bool = False) -> Label:
        """Plant 100 x scale failures in minutes on a user's usual server, then a success."""
        key = self.victim(self.humans(), "user account")
        n = max(5, round(100 * scale))
        start = float(self.rng.uniform(0.5, 22.0))
        t = self.times(day, n, start, start + float(self.rng.uniform(5, 60)) / 60)
        server = self.usual_servers(key)[0]
        if random_hosts:
            ip, ws = self.inside_address(key), np.array(random_names(self.rng, n, 16), object)
        else:
            ip, ws = self.outside_address(), "WIN-" + random_names(self.rng, 1, 11)[0]
        self.add(key, t, server, ip, ws, "NTLM", False)
        self.add(
            key,
            t[-1:] + 2_000_000_000,
            server,
            ip,
            ws if np.ndim(ws) == 0 else ws[-1:],
            "NTLM",
            True,
        )
        return Label([key], day, n + 1, f"{n} failures then a success on {server} from {ip}")

    def brute_force_random_hosts(self, scale: float, day: int) -> Label:
        """Plant a brute force from a new inside address, a random host name per attempt."""
        return self.brute_force(scale, day, random_hosts=True)

    def password_spray(self, scale: float, day: int, internal: bool = False) -> Label:
        """Plant 1-3 rounds of one failure per account on 30 x scale users, one server.

        Targets are accounts no single-victim attack took, fresh ones first.
        """
        table = self.p.accounts
        pool = self.humans() & ~table.index.isin(list(self.used - self.sprayed))
        fresh = pool & ~table.index.isin(list(self.sprayed))
        # at most a third of the accounts left, so that later sprays find fresh ones
        count = min(max(3, round((35 if internal else 30) * scale)), int(pool.sum()) // 3)
        if count < 3 or not fresh.any():
            raise CannotPlantError(
                "fewer than 9 user accounts left to spray (or none not sprayed yet)"
            )
        first = self.rng.permutation(np.flatnonzero(fresh))[:count]
        again = self.rng.permutation(np.flatnonzero(pool & ~fresh))[: count - first.size]
        keys = [table.index[i] for i in np.r_[first, again]]
        self.used.update(keys)
        self.sprayed.update(keys)
        if internal:
            first = keys[0]
            ip, ws = self.other_desk(first)
            rounds, lo = 1, float(table.at[first, "hour"])
        else:
            ip, ws = self.outside_address(), "kali"
            rounds, lo = (
                (1 if scale < 0.5 else 2 if scale <= 1 else 3),
                float(self.rng.uniform(0, 20)),
            )
        server = self.p.computers[0]
        n = 0
        for r in range(rounds):
            t = self.times(day, count, lo + r * 0.4, lo + r * 0.4 + 0.3)
            for key, when in zip(keys, t, strict=True):
                n += self.add(key, [when], server, ip, ws, "NTLM", False)
        where = f"from {ip} ({ws}) on {server}"
        return Label(keys, day, n, f"{rounds} round(s) against {count} accounts {where}")

    def lateral_movement(self, scale: float, day: int) -> Label:
        """Plant NTLM logons to 15 x scale computers never used, from a colleague's desk."""
        key = self.victim(self.humans() & ~self.p.accounts["admin"].to_numpy(), "user account")
        ip, ws = self.other_desk(key)
        pool = self.new_servers(key)
        if not pool:
            raise CannotPlantError("the victim already used every computer in the data")
        want = min(len(pool), max(2, round(15 * scale)))
        targets = self.rng.choice(np.array(pool, dtype=object), want, replace=False)
        comp = np.repeat(targets, self.rng.integers(1, 4, want))
        start = float(self.rng.uniform(*self.work_hours(key)))
        t = self.times(day, comp.size, start, start + 1.0)
        n = self.add(key, t, comp, ip, ws, "NTLM", True)
        return Label([key], day, n, f"{n} logons to {want} computers it never used from {ws}")

    def service_new_host(self, scale: float, day: int) -> Label:
        """Plant a share of a service account's daily logons from a host it never used."""
        key = self.victim(self.p.accounts["service"], "service account")
        ip, ws = self.other_desk(key)
        daily = float(self.p.accounts.at[key, "daily"])
        n = max(1, round(daily * min(1.0, 0.3 * scale)))
        servers = np.array(self.usual_servers(key), dtype=object)
        comp = servers[self.rng.integers(0, servers.size, n)]
        start = float(self.rng.uniform(0, 20))
        auth = self.p.accounts.at[key, "auth"]
        self.add(key, self.times(day, n, start, start + 4), comp, ip, ws, auth, True)
        return Label([key], day, n, f"{n} of its logons from {ws} ({ip}), a host it never used")

    # ------------------------------------------------------ careful intruder
    def distributed_brute(self, scale: float, day: int) -> Label:
        """Plant 250 x scale failures from five outside addresses in a few hours."""
        key = self.victim(self.humans(), "user account")
        n = max(5, round(250 * scale))
        sources = [self.outside_address() for _ in range(5)]
        ip = np.array(sources, dtype=object)[self.rng.integers(0, 5, n)]
        start = float(self.rng.uniform(0, 20))
        t = self.times(day, n, start, start + float(self.rng.uniform(1, 4)))
        server = self.usual_servers(key)[0]
        self.add(key, t, server, ip, "-", "NTLM", False)
        return Label([key], day, n, f"{n} failures from 5 outside addresses on {server}")

    def slow_brute(self, scale: float, day: int) -> Label:
        """Plant 12 x scale failures a day for 3 to 5 days from one address, then a success."""
        span = min(int(self.rng.integers(3, 6)), day - self.p.first_day + 1)
        if span < 2:
            raise CannotPlantError("needs at least 2 days of data")
        key = self.victim(self.humans(), "user account")
        ip, server, n = self.outside_address(), self.usual_servers(key)[0], 0
        for d in range(day - span + 1, day + 1):
            t = self.times(d, max(1, round(12 * scale)), 0, 24)
            n += self.add(key, t, server, ip, "-", "NTLM", False)
        n += self.add(key, t[-1:] + 60 * 10**9, server, ip, "-", "NTLM", True)
        return Label([key], day, n, f"{n - 1} failures over {span} days from {ip}, then a success")

    def lateral_valid(self, scale: float, day: int) -> Label:
        """Plant Kerberos logons to servers never used, from the user's own desk."""
        if not self.has_kerberos:
            raise CannotPlantError(
                "the data has no Kerberos logons (valid-ticket movement needs them)"
            )
        key = self.victim(self.humans(), "user account")
        pool = self.new_servers(key)
        if not pool:
            raise CannotPlantError("the victim already used every computer in the data")
        want = min(len(pool), max(1, round(4 * scale)))
        chosen = self.rng.choice(np.array(pool, dtype=object), want, replace=False)
        comp = self.rng.permutation(np.repeat(chosen, self.rng.integers(1, 4, want)))
        row = self.p.accounts.loc[key]
        t = self.times(day, comp.size, *self.work_hours(key))
        n = self.add(key, t, comp, row["ip"], row["ws"], "Kerberos", True)
        return Label([key], day, n, f"{n} logons to {want} servers it never used, own desk")

    def pass_the_hash(self, scale: float, day: int) -> Label:
        """Plant an admin's NTLM logons to its own servers from another user's desk."""
        admin = self.p.accounts["admin"].to_numpy()
        key = self.victim(admin, "administrator (an account using many servers)")
        ip, ws = self.other_desk(key)
        servers = self.usual_servers(key)
        want = min(len(servers), max(1, round(3 * scale)))
        chosen = self.rng.choice(np.array(servers, dtype=object), want, replace=False)
        comp = np.repeat(chosen, self.rng.integers(1, 4, want))
        t = self.times(day, comp.size, *self.work_hours(key))
        n = self.add(key, t, comp, ip, ws, "NTLM", True)
        return Label(
            [key], day, n, f"NTLM from {ws}, another user's workstation, to {want} servers"
        )

    def service_from_workstation(self, scale: float, day: int) -> Label:
        """Plant a few service-account logons from a user's workstation in office hours."""
        key = self.victim(self.p.accounts["service"], "service account")
        ip, ws = self.other_desk(key)
        n = max(1, round(4 * scale))
        servers = np.array(self.usual_servers(key), dtype=object)
        comp = servers[self.rng.integers(0, servers.size, n)]
        auth = np.where(
            self.rng.random(n) < 0.5, "NTLM", "Kerberos" if self.has_kerberos else "NTLM"
        )
        start = float(self.rng.uniform(7, 16))
        self.add(key, self.times(day, n, start, start + 2), comp, ip, ws, auth, True)
        return Label([key], day, n, f"{n} logons from {ws}, a user's workstation")

    def dormant_revived(self, scale: float, day: int) -> Label:
        """Plant logons of an account silent for a week or more, from a colleague's desk."""
        if day - self.p.first_day < DORMANT_GAP + 1:
            raise CannotPlantError(f"too few days for dormancy (needs {DORMANT_GAP + 2} or more)")
        table = self.p.accounts
        silent = (table["last_day"] <= day - DORMANT_GAP).to_numpy() & self.humans()
        key = self.victim(silent, f"account silent for {DORMANT_GAP}+ days before the last one")
        ip, ws = self.other_desk(key)
        comp = [self.usual_servers(key)[0]] + self.new_servers(key)[:1]
        comp = np.repeat(np.array(comp, dtype=object), max(1, round(3 * scale)))
        t = self.times(day, comp.size, 8, 17)
        n = self.add(key, t, comp, ip, ws, table.at[key, "auth"], True)
        gap = day - int(table.at[key, "last_day"])
        return Label([key], day, n, f"back after {gap} silent days: {n} logons from {ws}")

    def off_hours(self, scale: float, day: int) -> Label:
        """Plant a day worker's logons in the middle of its quiet hours, from its own desk."""
        table = self.p.accounts
        fits = self.humans() & (table["quiet_gap"] >= 8).to_numpy()
        key = self.victim(fits, "day worker (an account idle 8+ hours a day)")
        row = table.loc[key]
        n = max(1, round(3 * scale))
        hour = float(row["quiet_hour"])
        t = self.times(day, n, hour, hour + 0.5)
        self.add(key, t, self.usual_servers(key)[0], row["ip"], row["ws"], row["auth"], True)
        return Label([key], day, n, f"{n} logons at {int(hour):02d}:00 UTC from its own desk")

    def internal_spray(self, scale: float, day: int) -> Label:
        """Plant one failure on each of 35 x scale accounts from a colleague's desk."""
        return self.password_spray(scale, day, internal=True)

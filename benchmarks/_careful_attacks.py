"""The careful intruder of `_careful` (each kind is described in that module's docstring)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from _careful import DAY, DOMAIN, KERB, LAST_DAYS, NTLM, WORK_HOURS, _ip

#: Days of activity a dormant account has before it goes silent, and the silence.
DORMANT_DAYS, DORMANT_GAP = 3, 21


def reserve_dormant(world, rng: np.random.Generator, count: int) -> np.ndarray:
    """Turn `count` desk users into accounts seen only on the first days (before benign life)."""
    fit = (world.role == 0) & (world.start == 0) & (world.mode == 0) & ~world.night
    chosen = rng.choice(np.flatnonzero(fit), count, replace=False)
    world.end[chosen] = DORMANT_DAYS
    world.active[chosen, DORMANT_DAYS:] = False
    world.active[chosen, :DORMANT_DAYS] = True
    world.phone[chosen] = False
    world.stale_day[chosen] = -99
    world.dormant = chosen
    return chosen


class _Planter:
    """Plants incidents into the log and records their labels."""

    def __init__(self, world, log, rng: np.random.Generator, intensity: float):
        self.w, self.log, self.rng, self.k = world, log, rng, intensity
        self.rows: list[tuple] = []
        self.incident = 0
        self.used: set[int] = set(getattr(world, "dormant", []))
        self.sprayed: dict[int, set[int]] = {}

    def day(self, i: int, lo: int = 8) -> int:
        """Even incidents among the last `LAST_DAYS` days, odd ones before them."""
        n = self.w.n_days
        if i % 2 == 0 or n - LAST_DAYS <= lo:
            return int(self.rng.integers(n - LAST_DAYS, n))
        return int(self.rng.integers(lo, n - LAST_DAYS))

    def person(self, day: int, extra=None) -> int:
        """An unused desk user at work on `day` (own workstation, day staff, hired before)."""
        w = self.w
        fit = (w.role == 0) & w.active[:, day] & (w.start == 0) & ~w.night & (w.mode == 0)
        if extra is not None:
            fit &= extra
        fit[list(self.used | self.sprayed.get(day, set()))] = False
        if not fit.any():  # a small enterprise: any desk user not used yet
            fit = w.role == 0
            fit[list(self.used)] = False
        pick = int(self.rng.choice(np.flatnonzero(fit)))
        self.used.add(pick)
        return pick

    def label(self, day: int, acc, kind: str, detail: str) -> None:
        for a in np.atleast_1d(acc):
            self.rows.append((day, int(a), kind, self.incident, detail))

    def hours(self, day: int, n: int, lo: float, hi: float) -> np.ndarray:
        return day * DAY + np.sort((self.rng.uniform(lo, hi, n) * 3600).astype(np.int64))

    def desk_source(self, day: int) -> tuple[int, int, int]:
        """Another employee's workstation of the day: (its user, address, host code)."""
        user = self.person(day)
        ws = self.w.ws[user]
        return user, int(self.w.ws_ip(np.array([ws]), np.array([day]))[0]), int(ws + 1)

    def external(self) -> int:
        r = self.rng.integers(1, 255, 3)
        return int(_ip(int(self.rng.choice([45, 91, 185, 203])), r[0], r[1], r[2]))

    # ------------------------------------------------------------------ kinds
    def distributed_brute(self, i: int) -> None:
        d = self.day(i)
        acc = self.person(d)
        n = int(self.rng.integers(150, 401) * self.k)
        start = self.rng.uniform(0, 20)
        t = self.hours(d, n, start, start + self.rng.uniform(1, 4))
        ips = np.array([self.external() for _ in range(5)], dtype=np.uint32)
        ip = ips[self.rng.integers(0, 5, n)]
        host = np.where(self.rng.random(n) < 0.5, 0, self.w.extra_host("WIN-7Q2LK0M3ZP1"))
        self.log.add(t, acc, self.w.usual[acc, 2], ip, host, ok=False, auth=NTLM)
        self.label(d, acc, "distributed_brute", f"{n} failures from 5 external addresses")

    def internal_spray(self, i: int) -> None:
        d = self.day(i)
        _, ip, host = self.desk_source(d)
        n = int(self.rng.integers(20, 51) * self.k)
        fit = (self.w.role == 0) & (self.w.start <= d) & (self.w.end > d)
        fit[list(self.used)] = False
        victims = self.rng.choice(np.flatnonzero(fit), min(n, fit.sum()), replace=False)
        self.sprayed.setdefault(d, set()).update(int(v) for v in victims)
        start = self.rng.uniform(*WORK_HOURS)
        t = self.hours(d, len(victims), start, start + self.rng.uniform(0.5, 2))
        dc = int(self.rng.choice(self.w.by_kind["DC"]))
        self.log.add(t, victims, dc, ip, host, ok=False, auth=NTLM)
        self.label(d, victims, "internal_spray", f"one failure each, {len(victims)} accounts")

    def service_from_workstation(self, i: int) -> None:
        d = self.day(i)
        w = self.w
        free = np.flatnonzero(w.role == 2)
        acc = int(self.rng.choice([a for a in free if a not in self.used]))
        self.used.add(acc)
        _, ip, host = self.desk_source(d)
        n = int(self.rng.integers(2, 6))
        srv = w.usual[acc, self.rng.integers(0, w.n_usual[acc], n)]
        auth = np.where(self.rng.random(n) < 0.5, NTLM, KERB)
        self.log.add(self.hours(d, n, *WORK_HOURS), acc, srv, ip, host, auth=auth)
        self.label(d, acc, "service_from_workstation", f"{n} logons from a workstation")

    def slow_brute(self, i: int) -> None:
        span = int(self.rng.integers(3, 6))
        end = self.day(i, lo=span + 8)
        acc = self.person(end)
        ip = self.external()
        for d in range(max(0, end - span + 1), end + 1):
            n = max(1, int(self.rng.integers(8, 16) * self.k))
            t = self.hours(d, n, 0, 24)
            self.log.add(t, acc, self.w.usual[acc, 2], ip, 0, ok=False, auth=NTLM)
            self.label(d, acc, "slow_brute", f"{n} failures from one external address")
        self.log.add([int(t[-1]) + 60], acc, self.w.usual[acc, 2], ip, 0, auth=NTLM)

    def lateral_valid(self, i: int) -> None:
        d = self.day(i)
        w = self.w
        acc = self.person(d)
        pool = np.concatenate([w.by_kind["APP"], w.by_kind["SQL"], w.by_kind["FILE"]])
        pool = np.setdiff1d(pool, w.usual[acc])
        srv = self.rng.choice(pool, int(self.rng.integers(3, 6)), replace=False)
        srv = np.repeat(srv, self.rng.integers(1, 4, len(srv)))
        ip = w.ws_ip(np.array([w.ws[acc]]), np.array([d]))[0]
        t = self.hours(d, len(srv), *WORK_HOURS)
        self.log.add(t, acc, self.rng.permutation(srv), ip, 0, auth=KERB)
        self.label(d, acc, "lateral_valid", f"{len(srv)} logons to servers never used")

    def pass_the_hash(self, i: int) -> None:
        d = self.day(i)
        w = self.w
        acc = int(self.rng.choice([a for a in np.flatnonzero(w.role == 1) if a not in self.used]))
        self.used.add(acc)
        _, ip, host = self.desk_source(d)
        pool = w.admin_pool[acc, : w.admin_size[acc]]
        srv = self.rng.choice(pool, int(self.rng.integers(2, 5)), replace=False)
        srv = np.repeat(srv, self.rng.integers(1, 4, len(srv)))
        self.log.add(self.hours(d, len(srv), *WORK_HOURS), acc, srv, ip, host, auth=NTLM)
        self.label(d, acc, "pass_the_hash", f"NTLM from another user's workstation, {len(srv)}")

    def dormant_revived(self, i: int) -> None:
        w = self.w
        d = self.day(i, lo=DORMANT_DAYS + DORMANT_GAP)
        d = max(d, min(w.n_days - 1, DORMANT_DAYS + DORMANT_GAP))
        acc = int(w.dormant[i])
        _, ip, host = self.desk_source(d)
        other = self.rng.choice(np.setdiff1d(w.by_kind["APP"], w.usual[acc]))
        srv = np.repeat([w.usual[acc, 1], other], self.rng.integers(1, 5, 2))
        self.log.add(self.hours(d, len(srv), *WORK_HOURS), acc, srv, ip, host, auth=KERB)
        self.label(d, acc, "dormant_revived", f"back after {d - DORMANT_DAYS} silent days")

    def off_hours(self, i: int) -> None:
        d = self.day(i)
        acc = self.person(d)
        n = int(self.rng.integers(2, 6))
        ip = self.w.ws_ip(np.array([self.w.ws[acc]]), np.array([d]))[0]
        t = self.hours(d, n, 2.5, 3.5)
        self.log.add(t, acc, self.w.usual[acc, 1], ip, 0, auth=KERB)
        self.label(d, acc, "off_hours", f"{n} logons at about 03:00 UTC")


def plant_attacks(world, log, rng, incidents: int, intensity: float, kinds) -> pd.DataFrame:
    """Plant `incidents` of each kind; return one label row per attacked account-day."""
    planter = _Planter(world, log, rng, intensity)
    for kind in kinds:
        for i in range(incidents):
            getattr(planter, kind)(i)
            planter.incident += 1
    rows = pd.DataFrame(planter.rows, columns=["day", "acc", "attack", "incident", "detail"])
    rows = rows.drop_duplicates(["day", "acc", "attack"])
    dates = pd.Timestamp(world.day0).tz_localize(None) + pd.to_timedelta(rows["day"], unit="D")
    return pd.DataFrame(
        {
            "Date": dates.astype("datetime64[ns]"),
            "DstDomain": DOMAIN,
            "DstUser": np.array(world.users, dtype=object)[rows["acc"].to_numpy()],
            "attack": rows["attack"].to_numpy(),
            "incident": rows["incident"].to_numpy(),
            "detail": rows["detail"].to_numpy(),
        }
    )

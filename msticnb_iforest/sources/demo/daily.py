"""
The demo company's benign daily life: people at work, service accounts, noise.

Human and dormant-account logons are made per local calendar day (a user's
day runs in their site's time zone, so it spans two UTC days); service
accounts and the machine, system and batch noise per UTC day. Every day has
its own random streams, numbered by calendar day (`DAY_BASE` plus days since
1970), so a day's background is the same in every window that contains it,
whatever is planted and whether or not ``noise`` is on.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._codes import (
    ADVAPI,
    BAD_PASSWORD,
    BATCH,
    DAY_BASE,
    DAY_MS,
    DAY_NS,
    INTERACTIVE,
    KERBEROS,
    MS,
    NET,
    NTLM,
    OK,
    REMOTE,
    S_CALENDAR,
    S_HUMAN,
    S_LEAVE,
    S_MOVE,
    S_NOISE_LOCAL,
    S_NOISE_UTC,
    S_SERVICE,
    SERVICE,
    USER32,
    Codes,
    attack_code,
    concat,
    draw,
    ms,
    part,
    take,
)
from .attacks import ServiceMove
from .company import Company
from .settings import DemoSettings

__all__ = ["DailyLife"]

# Holidays are drawn per 30-day period: one block of 1-10 days in 35 % of them.
_LEAVE_PERIOD = 30


class DailyLife:
    """
    The background logons of a company, one day at a time.

    Parameters
    ----------
    company : Company
        Who logs on, from where, to what.
    settings : DemoSettings
        Its ``seed``, ``noise`` and window are used.
    moves : dict of int to list of ServiceMove
        Service-account logons re-homed by attacks, by day of the window.

    Examples
    --------
    >>> settings = DemoSettings(20, 3)
    >>> company = Company(settings)
    >>> company.freeze()
    >>> life = DailyLife(company, settings, {})
    >>> int(life.service_day(0)["t"].size) > 0
    True

    """

    def __init__(
        self, company: Company, settings: DemoSettings, moves: dict[int, list[ServiceMove]]
    ) -> None:
        self.company = company
        self.seed = settings.seed
        self.noise = settings.noise
        start = settings.start
        self.start_ms = settings.start_ms
        self.start_weekday = start.weekday()
        self.day0 = DAY_BASE + start.value // DAY_NS
        self.moves = moves
        self._leave_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _rng(self, stream: int, number: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, stream, number])

    def _leave(self, period: int) -> tuple[np.ndarray, np.ndarray]:
        """First and last offset (days) of each user's holiday in a 30-day period."""
        if period not in self._leave_cache:
            rng = self._rng(S_LEAVE, period)
            n = self.company.n_users
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
        rng = self._rng(S_CALENDAR, day)
        n = self.company.n_users
        present = rng.random(n) >= 0.02
        period, offset = divmod(day, _LEAVE_PERIOD)
        first, last = self._leave(period)
        present &= ~((first <= offset) & (offset <= last))
        first, last = self._leave(period - 1)
        present &= ~(last >= offset + _LEAVE_PERIOD)
        remote = rng.choice(3, n, p=[0.6, 0.3, 0.1]).astype(np.int8)
        remote[~self.company.h_travel] = 0
        return present, remote

    def local_day(self, k: int) -> list[Codes]:
        """
        Return the human and dormant-account events of local calendar day `k`.

        `k` counts days from the window's first (-1 to ``n_days``: a local
        day spills into the UTC days either side). With ``noise``, the
        interactive logons of the people at work come too.
        """
        c = self.company
        rng = self._rng(S_HUMAN, self.day0 + k)
        n = c.n_users
        weekend = (self.start_weekday + k) % 7 >= 5
        present, remote_day = self._calendar(self.day0 + k)
        rate = c.h_rate * (c.h_weekend if weekend else 1.0)
        counts = rng.poisson(rate * rng.gamma(4.0, 0.25, n) * present)
        users = np.repeat(np.arange(n, dtype=np.int32), counts)
        m = users.size
        if weekend:
            hours = rng.uniform(9.0, 20.0, m)
        else:
            shift = rng.normal(0.0, 0.4, n)[users]
            begin = c.h_start[users] + shift
            burst = rng.random(m) < 0.25
            spread = c.h_length[users] * rng.beta(1.3, 1.3, m)
            hours = begin + np.where(burst, rng.exponential(0.25, m), spread)
        hours = np.clip(hours, 0.02, 23.98)
        day_ms = self.start_ms + k * DAY_MS
        t = day_ms + ms(hours - c.h_offset[users])
        comp = draw(c.h_srv, c.h_key, users, rng)
        ws = c.h_ws[users]
        remote = remote_day[users]
        vpn = (remote == 1) | ((remote == 2) & (rng.random(m) < 0.5))
        ip = np.where(vpn, c.h_vpn[users], ws)
        auth = np.where(rng.random(m) < c.h_ntlm[users], NTLM, KERBEROS)
        ok = part(m, t=t * MS, acct=users, comp=comp, ip=ip, ws=ws, lt=NET, auth=auth)
        parts = [ok, self._typos(rng, ok, users, t)]
        if not weekend:
            parts.append(self._dormant_logons(rng, day_ms))
        if self.noise:
            parts.append(self._local_noise(k, counts, day_ms, weekend))
        return parts

    def _typos(
        self, rng: np.random.Generator, ok: Codes, users: np.ndarray, t: np.ndarray
    ) -> Codes:
        """Mistyped passwords: 1-3 failures seconds before some of the logons `ok` (at `t` ms)."""
        m = users.size
        typo = rng.random(m) < self.company.h_error[users]
        n_fail = np.where(typo, rng.choice(3, m, p=[0.65, 0.25, 0.10]) + 1, 0)
        src = np.repeat(np.arange(m), n_fail)
        step = np.arange(src.size) - np.repeat(np.cumsum(n_fail) - n_fail, n_fail)
        lag = (n_fail[src] - step) * rng.integers(3_000, 40_000, src.size)
        fail = take(ok, src)
        fail["t"] = (t[src] - lag) * MS
        fail["auth"][:] = NTLM
        fail["st"][:] = BAD_PASSWORD
        return fail

    def _dormant_logons(self, rng: np.random.Generator, day_ms: int) -> Codes:
        """Dormant accounts: rare weekday logons to their file server."""
        c = self.company
        nd = c.dormant.size
        active = (~c.d_disabled) & (rng.random(nd) < 0.03)
        idx = np.repeat(np.flatnonzero(active), rng.integers(1, 3, nd)[active])
        d_hours = rng.uniform(9.0, 17.0, idx.size) - c.site_offset[c.d_site[idx]]
        return part(
            idx.size,
            t=(day_ms + ms(d_hours)) * MS,
            acct=c.dormant[idx],
            comp=c.d_file[idx],
            ip=c.d_ws[idx],
            ws=c.d_ws[idx],
            lt=NET,
            auth=KERBEROS,
        )

    def _local_noise(self, k: int, counts: np.ndarray, day_ms: int, weekend: bool) -> Codes:
        """Interactive logons of people at work on local day `k`."""
        c = self.company
        rng = self._rng(S_NOISE_LOCAL, self.day0 + k)
        at_work = np.flatnonzero(counts > 0)
        begin = np.where(weekend, 9.0, c.h_start[at_work]) - rng.uniform(0.0, 0.3, at_work.size)
        t = day_ms + ms(begin - c.h_offset[at_work])
        ws = c.h_ws[at_work]
        parts = [
            part(
                at_work.size,
                t=t * MS,
                acct=at_work,
                comp=ws,
                ip=c.ip_local,
                ws=ws,
                lt=INTERACTIVE,
                auth=USER32,
            )
        ]
        miss = rng.random(at_work.size) < 0.05
        parts.append(
            part(
                int(miss.sum()),
                t=(t[miss] - 20_000) * MS,
                acct=at_work[miss],
                comp=ws[miss],
                ip=c.ip_local,
                ws=ws[miss],
                lt=INTERACTIVE,
                auth=USER32,
                st=BAD_PASSWORD,
            )
        )
        boot = rng.random(at_work.size) < 0.3
        parts.append(
            part(
                int(boot.sum()),
                t=(t[boot] - 60_000) * MS,
                acct=rng.choice(c.acct_dwm, int(boot.sum())),
                comp=ws[boot],
                ip=c.ip_dash,
                ws=c.ws_dash,
                lt=INTERACTIVE,
                auth=ADVAPI,
            )
        )
        admins = at_work[c.h_admin[at_work]]
        sessions = rng.integers(1, 4, admins.size)
        who = np.repeat(admins, sessions)
        rdp_hours = c.h_start[who] + rng.uniform(0.0, 8.0, who.size) - c.h_offset[who]
        parts.append(
            part(
                who.size,
                t=(day_ms + ms(rdp_hours)) * MS,
                acct=who,
                comp=draw(c.h_srv, c.h_key, who, rng),
                ip=c.h_ws[who],
                ws=c.h_ws[who],
                lt=REMOTE,
                auth=USER32,
            )
        )
        return concat(parts)

    def service_day(self, j: int) -> Codes:
        """Return the service-account network logons of UTC day `j` of the window."""
        c = self.company
        ns = c.n_services
        if ns == 0:
            return part(0)
        rng = self._rng(S_SERVICE, self.day0 + j)
        counts = np.maximum(1, np.round(c.s_base * rng.normal(1.0, 0.03, ns))).astype(int)
        svc = np.repeat(np.arange(ns), counts)
        m = svc.size
        night = c.s_night[svc] & (rng.random(m) < 0.75)
        hours = np.where(night, rng.uniform(1.0, 5.0, m), rng.uniform(0.0, 24.0, m))
        t = self.start_ms + j * DAY_MS + np.minimum(ms(hours), DAY_MS - 1)
        src = draw(c.s_src, c.s_src_key, svc, rng)
        codes = part(
            m,
            t=t * MS,
            acct=c.services[svc],
            comp=draw(c.s_dst, c.s_dst_key, svc, rng),
            ip=src,
            ws=src,
            lt=NET,
            auth=c.s_auth[svc],
            st=np.where(rng.random(m) < 0.0003, BAD_PASSWORD, OK),
        )
        for move in self.moves.get(j, []):
            self._move_service(codes, svc, t, move)
        return codes

    def _move_service(
        self, codes: Codes, svc: np.ndarray, t: np.ndarray, move: ServiceMove
    ) -> None:
        """Re-home part of a service account's logons to a new host (in place)."""
        rng = self._rng(S_MOVE, move.inc)
        mine = svc == move.svc
        idx = np.flatnonzero(mine & (t >= move.t0) & (t <= move.t1))
        if idx.size < 3:
            idx = np.flatnonzero(mine)
        pick = idx[rng.random(idx.size) < move.share]
        if pick.size < min(3, idx.size):
            pick = np.sort(rng.choice(idx, min(3, idx.size), replace=False))
        codes["ws"][pick] = move.ws
        codes["ip"][pick] = move.ws
        codes["atk"][pick] = attack_code("service_new_host")
        codes["inc"][pick] = move.inc

    def utc_noise(self, j: int) -> Codes:
        """Return the machine, anonymous, system and batch logons of UTC day `j`."""
        rng = self._rng(S_NOISE_UTC, self.day0 + j)
        day_ms = self.start_ms + j * DAY_MS
        is_server = np.zeros(self.company.n_hosts_real, dtype=bool)
        is_server[self.company.servers] = True

        def times(count: int) -> np.ndarray:
            return (day_ms + rng.integers(0, DAY_MS, count)) * MS

        parts = self._network_noise(rng, times, is_server)
        parts += self._service_noise(rng, times, is_server)
        return concat(parts)

    def _network_noise(
        self, rng: np.random.Generator, times: Callable[[int], np.ndarray], is_server: np.ndarray
    ) -> list[Codes]:
        """Machine accounts talking to their DC and file server; anonymous null sessions."""
        c = self.company
        per_host = rng.poisson(np.where(is_server, 8.0, 3.0))
        host = np.repeat(np.arange(c.n_hosts_real, dtype=np.int32), per_host)
        to_file = rng.random(host.size) < 0.3
        machine = part(
            host.size,
            t=times(host.size),
            acct=c.machine[host],
            comp=np.where(to_file, c.host_file[host], c.host_dc[host]),
            ip=host,
            ws=host,
            lt=NET,
            auth=KERBEROS,
        )
        n_anon = int(rng.poisson(0.2 * c.n_users + 2))
        src = c.h_ws[rng.integers(0, c.n_users, n_anon)]
        anonymous = part(
            n_anon,
            t=times(n_anon),
            acct=c.acct_anonymous,
            comp=rng.choice(c.servers, n_anon),
            ip=src,
            ws=src,
            lt=NET,
            auth=NTLM,
        )
        return [machine, anonymous]

    def _service_noise(
        self, rng: np.random.Generator, times: Callable[[int], np.ndarray], is_server: np.ndarray
    ) -> list[Codes]:
        """Built-in service logons; scheduled tasks (batch logons) of service accounts."""
        c = self.company
        per_host = rng.poisson(np.where(is_server, 15.0, 1.5))
        host = np.repeat(np.arange(c.n_hosts_real, dtype=np.int32), per_host)
        parts = [
            part(
                host.size,
                t=times(host.size),
                acct=rng.choice(c.acct_system, host.size, p=[0.7, 0.15, 0.15]),
                comp=host,
                ip=c.ip_dash,
                ws=c.ws_dash,
                lt=SERVICE,
                auth=ADVAPI,
            )
        ]
        if c.n_services:
            per_svc = rng.poisson(24.0, c.n_services)
            svc = np.repeat(np.arange(c.n_services), per_svc)
            home = draw(c.s_src, c.s_src_key, svc, rng)
            parts.append(
                part(
                    svc.size,
                    t=times(svc.size),
                    acct=c.services[svc],
                    comp=home,
                    ip=c.ip_dash,
                    ws=c.ws_dash,
                    lt=BATCH,
                    auth=ADVAPI,
                )
            )
        return parts

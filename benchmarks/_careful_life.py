"""The benign life of `_careful`'s enterprise (described in that module's docstring)."""

from __future__ import annotations

import numpy as np
from _careful import DAY, KERB, NEGO, NTLM, WORK_HOURS, _ip, _mix

JUMP_IP = _ip(10, 1, 9, 9)
SCANNER_IP = _ip(10, 5, 0, 50)


def add_benign(world, log, rng: np.random.Generator) -> None:
    """Add every benign behaviour's events to `log`."""
    _desk(world, log, rng)
    _arrivals(world, log, rng)
    _phones(world, log, rng)
    _stale(world, log, rng)
    _admins(world, log, rng)
    _services(world, log, rng)
    _scanner(world, log, rng)


def sources(world, a: np.ndarray, d: np.ndarray, rng: np.random.Generator):
    """Source address and host code of logons by accounts `a` on days `d`."""
    ws = world.ws[a]
    second = world.ws2[a]
    ws = np.where((second >= 0) & (rng.random(len(a)) < 0.5), second, ws)
    ip = world.ws_ip(ws, d)
    host = world.ws_host(ws)
    vpn = world.mode[a] == 1
    h = _mix(a[vpn], d[vpn], 11)
    ip[vpn] = _ip(
        10,
        200 + h % np.uint64(4),
        (h >> np.uint64(8)) % np.uint64(256),
        2 + (h >> np.uint64(16)) % np.uint64(250),
    )
    ts = world.mode[a] == 2
    ip[ts] = world.srv_ip[world.ts]
    host[ts] = world.srv_host(world.ts)
    return ip, host


def placeholders(ip, host, auth, rng: np.random.Generator):
    """Kerberos rows mostly name no workstation, and a few carry no address."""
    kerb = auth == KERB
    host = np.where(kerb & (rng.random(len(host)) < 0.7), 0, host)
    ip = np.where(kerb & (rng.random(len(ip)) < 0.05), np.uint32(0), ip)
    return ip, host


def _desk(world, log, rng: np.random.Generator) -> None:
    """Desk users' network logons to their usual servers, typos and odd new servers."""
    acc, day = np.nonzero(world.active & (world.role == 0)[:, None])
    n = np.maximum(1, rng.poisson(world.rate[acc] * np.where(world.weekday[day], 1.0, 0.5)))
    a, d = np.repeat(acc, n), np.repeat(day, n)
    srv = world.usual[a, (rng.random(len(a)) * world.n_usual[a]).astype(np.int64)]
    # About one day in 25: a server never used before (a new share, a new app).
    odd = rng.random(len(acc)) < 0.04
    first = np.cumsum(n) - n
    srv[first[odd]] = rng.choice(world.by_kind["APP"], odd.sum())
    ip, host = sources(world, a, d, rng)
    auth = np.where(rng.random(len(a)) < 0.06, NTLM, KERB)
    ip, host = placeholders(ip, host, auth, rng)
    t = world.times(d, world.night[a], rng)
    log.add(t, a, srv, ip, host, auth=auth)
    # Typos: one to three failures about one day in sixteen, like the day's logons.
    typo = np.repeat(rng.random(len(acc)) < 0.06, n) & (np.arange(len(a)) == np.repeat(first, n))
    k = rng.integers(1, 4, typo.sum())
    pick = np.repeat(np.flatnonzero(typo), k)
    log.add(t[pick] - 20, a[pick], srv[pick], ip[pick], host[pick], ok=False, auth=auth[pick])


def _arrivals(world, log, rng: np.random.Generator) -> None:
    """The interactive logon at the workstation (or RDP to the terminal server) each day."""
    acc, day = np.nonzero(world.active & (world.role <= 1)[:, None])
    t = world.times(day, world.night[acc], rng) - 3600
    ws = world.ws[acc]
    ts = world.mode[acc] == 2
    comp = np.where(ts, world.ts, world.n_srv + ws)
    ip = np.where(ts, world.ws_ip(ws, day), np.uint32(_ip(127, 0, 0, 1)))
    host = world.ws_host(ws)
    log.add(t, acc, comp, ip, host, auth=NEGO, ltype=np.where(ts, 10, 2))


def _phones(world, log, rng: np.random.Generator) -> None:
    """Mail sync from phones: a carrier address a day, around the clock, NTLM."""
    day = np.arange(world.n_days)[None, :]
    alive = (day >= world.start[:, None]) & (day < world.end[:, None])
    acc, d = np.nonzero(alive & world.phone[:, None])
    n = rng.poisson(12, len(acc))
    a, d = np.repeat(acc, n), np.repeat(d, n)
    t = d * DAY + rng.integers(0, DAY, len(a))
    log.add(t, a, world.usual[a, 2], carrier_ip(a, d), 0, auth=NTLM)


def carrier_ip(a: np.ndarray, d: np.ndarray) -> np.ndarray:
    """A phone's carrier address of the day."""
    h = _mix(a, d, 23)
    b = 56 + h % np.uint64(8)
    return _ip(
        172, b, (h >> np.uint64(8)) % np.uint64(256), 1 + (h >> np.uint64(20)) % np.uint64(254)
    )


def _stale(world, log, rng: np.random.Generator) -> None:
    """After a password change: failures from the user's own devices for a few days."""
    acc = np.flatnonzero(world.stale_day >= 0)
    k = np.arange(5)[None, :]
    day = world.stale_day[acc, None] + k
    keep = (k < world.stale_len[acc, None]) & (day < world.n_days)
    keep &= (day >= world.start[acc, None]) & (day < world.end[acc, None])
    size = np.maximum(1, (world.stale_size[acc, None] * 0.6**k).astype(np.int64))
    a = np.broadcast_to(acc[:, None], day.shape)[keep]
    d, n = day[keep], size[keep]
    a, d = np.repeat(a, n), np.repeat(d, n)
    ip, host = sources(world, a, d, rng)
    start, end = WORK_HOURS
    t = d * DAY + (rng.uniform(start, end, len(a)) * 3600).astype(np.int64)
    srv = world.usual[a, 1]
    log.add(t, a, srv, ip, host, ok=False, auth=NTLM)
    phone = world.phone[a]
    t = d[phone] * DAY + rng.integers(0, DAY, phone.sum())
    log.add(t, a[phone], world.usual[a[phone], 2], carrier_ip(a[phone], d[phone]), 0, ok=False)


def _admins(world, log, rng: np.random.Generator) -> None:
    """Administrators: a different handful of their many servers each day."""
    acc, day = np.nonzero(world.active & (world.role == 1)[:, None])
    k = np.minimum(2 + rng.poisson(3, len(acc)), 10)
    a, d = np.repeat(acc, k), np.repeat(day, k)
    srv = world.admin_pool[a, (rng.random(len(a)) * world.admin_size[a]).astype(np.int64)]
    n = rng.integers(1, 5, len(a))
    a, d, srv = np.repeat(a, n), np.repeat(d, n), np.repeat(srv, n)
    jump = _mix(a, d, 5) % np.uint64(10) < 3
    ip = np.where(jump, JUMP_IP, world.ws_ip(world.ws[a], d))
    host = np.where(jump, world.extra_host("JUMP01"), world.ws_host(world.ws[a]))
    auth = np.where(rng.random(len(a)) < 0.05, NTLM, KERB)
    ip, host = placeholders(ip, host, auth, rng)
    log.add(world.times(d, np.zeros(len(d), bool), rng), a, srv, ip, host, auth=auth)
    typo = rng.random(len(a)) < 0.01
    day_staff = np.zeros(typo.sum(), bool)
    t = world.times(d[typo], day_staff, rng)
    log.add(t, a[typo], srv[typo], ip[typo], host[typo], ok=False, auth=auth[typo])


def _services(world, log, rng: np.random.Generator) -> None:
    """Service accounts all day every day; batch jobs surge at month end."""
    svc = np.flatnonzero(world.role == 2)
    rate = np.exp(rng.normal(4.0, 0.7, len(svc)))
    surge = world.batch[svc, None] & world.month_end[None, :]
    lam = rate[:, None] * np.where(surge, rng.uniform(5, 15, (len(svc), 1)), 1.0)
    n = rng.poisson(lam)
    acc = np.broadcast_to(svc[:, None], n.shape).ravel()
    day = np.broadcast_to(np.arange(world.n_days)[None, :], n.shape).ravel()
    a, d = np.repeat(acc, n.ravel()), np.repeat(day, n.ravel())
    srv = world.usual[a, (rng.random(len(a)) * world.n_usual[a]).astype(np.int64)]
    extra = world.batch[a] & world.month_end[d] & (rng.random(len(a)) < 0.4)
    srv[extra] = world.batch_extra[a[extra], rng.integers(0, 3, extra.sum())]
    host = world.svc_host[a]
    ip = np.where(rng.random(len(a)) < 0.1, np.uint32(0), world.srv_ip[host])
    t = d * DAY + rng.integers(0, DAY, len(a))
    log.add(t, a, srv, ip, world.srv_host(host), auth=KERB)


def _scanner(world, log, rng: np.random.Generator) -> None:
    """The vulnerability scanner fails against every server each weekday night."""
    scanner = int(np.flatnonzero(world.role == 3)[0])
    days = np.flatnonzero(world.weekday)
    srv = np.arange(world.n_srv)
    d, s = np.repeat(days, len(srv)), np.tile(srv, len(days))
    n = rng.integers(1, 4, len(d))
    d, s = np.repeat(d, n), np.repeat(s, n)
    t = d * DAY + rng.integers(3600, 4 * 3600, len(d))
    host = world.extra_host("VULNSCAN01")
    log.add(t, scanner, s, SCANNER_IP, host, ok=False, auth=NTLM)
    ok = rng.random(len(days) * len(srv)) < 0.8
    d, s = np.repeat(days, len(srv))[ok], np.tile(srv, len(days))[ok]
    log.add(d * DAY + rng.integers(3600, 4 * 3600, len(d)), scanner, s, SCANNER_IP, host, auth=NTLM)

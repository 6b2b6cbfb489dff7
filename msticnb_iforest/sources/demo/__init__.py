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

Modules
-------
`settings` (the arguments, `DemoSettings`), `company` (people, hosts,
addresses, habits), `attacks` (planting incidents), `daily` (benign daily
life), `labels` (label and incident tables, `match_labels`), `enterprise`
(`DemoEnterprise`, which ties them together) and `generate` (the entry
points).
"""

from ...schema import EVENT_COLUMNS
from .attacks import ATTACK_KINDS
from .enterprise import DemoEnterprise
from .generate import DemoData, demo_labels, generate_demo, iter_demo_events
from .labels import LABEL_COLUMNS, match_labels
from .settings import DEFAULT_END

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

"""
The demo's entry points: a whole log with labels, a log in chunks, labels alone.

All three take the arguments of `DemoSettings` (one definition, shown in
their signatures) and build a `DemoEnterprise` from them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._codes import ATTACK_KINDS, concat
from .enterprise import DemoEnterprise
from .settings import DemoSettings, check_chunk_days, settings_signature

__all__ = ["DemoData", "demo_labels", "generate_demo", "iter_demo_events"]


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


@settings_signature
def generate_demo(*args: Any, **kwargs: Any) -> DemoData:
    """
    Generate the demo company's logon events with planted, labelled attacks.

    Parameters
    ----------
    n_users, n_days : int, default 150 and 21
        Human users and days in the window (positional or keyword).
    seed, end, n_service_accounts, attacks, attack_intensity, incidents_per_kind, domain, noise
        Keyword only: the seed (default 7), the window's last day, service
        accounts, the attack kinds planted and their size and number, the
        domain and whether to add the rows the hunting query drops; see
        `DemoSettings` for each one's meaning and default. One
        `DemoSettings` may be passed instead of them all.

    Returns
    -------
    DemoData
        Events, labels, window and the planted incidents.

    Raises
    ------
    ParameterError
        For the first argument that is not allowed.

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

    Examples
    --------
    >>> demo = generate_demo(40, 7, seed=3, attacks=["brute_force"])
    >>> len(demo.events), demo.labels[["DstUser", "attack"]].values.tolist()
    (18174, [['henry.mitchell', 'brute_force']])

    """
    company = DemoEnterprise(*args, **kwargs)
    codes = concat([c for _, c in company.iter_days()])
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


@settings_signature
def iter_demo_events(*args: Any, chunk_days: int = 1, **kwargs: Any) -> Iterator[pd.DataFrame]:
    """
    Yield the events of `generate_demo` a few days at a time.

    Memory stays bounded by one chunk (plus two days of buffered events), so
    this can produce tens of millions of events. Chunks are in time order,
    each sorted by ``TimeGenerated``, with a RangeIndex continuing from the
    previous chunk; concatenated they equal ``generate_demo(...).events``.
    Use `demo_labels` for the labels.

    Parameters
    ----------
    *args, **kwargs
        Those of `generate_demo`.
    chunk_days : int, default 1
        Days per chunk (>= 1).

    Returns
    -------
    Iterator[pd.DataFrame]
        The chunks; the arguments are checked when this is called.

    Examples
    --------
    >>> [len(chunk) for chunk in iter_demo_events(40, 7, seed=3, chunk_days=4)]
    [11095, 7452]

    """
    settings = DemoSettings.from_args(args, kwargs)
    chunk_days = check_chunk_days(chunk_days)  # before the company is built
    return (frame for frame, _ in DemoEnterprise(settings).iter_chunks(chunk_days))


@settings_signature
def demo_labels(*args: Any, **kwargs: Any) -> pd.DataFrame:
    """
    Return the labels `generate_demo` would give, without generating events.

    Parameters
    ----------
    *args, **kwargs
        Those of `generate_demo`.

    Returns
    -------
    pd.DataFrame
        The `LABEL_COLUMNS` table of `DemoData.labels`.

    Examples
    --------
    >>> demo_labels(40, 7, seed=3, attacks=["brute_force"])["DstUser"].tolist()
    ['henry.mitchell']

    """
    return DemoEnterprise(*args, **kwargs).labels

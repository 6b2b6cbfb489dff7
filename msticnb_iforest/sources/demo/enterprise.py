"""
`DemoEnterprise`: a demo company with its planted attacks, logging day by day.

It ties the parts together: the `Company` (drawn first), its `AttackPlan`
(drawn next, from its own stream), and its `DailyLife`; `iter_days` merges
each UTC day's background and attack events in time order, and `frame`
turns event codes into a ``SecurityEvent`` table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from ._codes import (
    AUTH_PACKAGE,
    AUTH_PACKAGE_CODE,
    DAY_NS,
    LOGON_PROCESS,
    LOGON_TYPE,
    LOGON_TYPE_NAME,
    MS,
    OK,
    STATUS,
    SUBSTATUS,
    Codes,
    concat,
    take,
)
from .attacks import AttackPlan
from .company import Company
from .daily import DailyLife
from .labels import incident_table, label_table
from .settings import DemoSettings, check_chunk_days, settings_signature

__all__ = ["DemoEnterprise"]


@settings_signature
class DemoEnterprise:
    """
    The demo company: directory, hosts, habits and planted incidents.

    Building it is cheap (no events); `iter_chunks` then generates the log
    day by day. Use `generate_demo`, `iter_demo_events` or `demo_labels`
    unless you need several of them for the same company.

    Parameters
    ----------
    *args, **kwargs
        The arguments of `DemoSettings` (``n_users``, ``n_days``, ``seed``,
        ...), or one `DemoSettings`.

    Attributes
    ----------
    settings : DemoSettings
        The checked settings.
    start, end : pd.Timestamp
        First day of the window and the UTC midnight after its last day.
    company : Company
        Accounts, hosts, addresses and habits.
    plan : AttackPlan
        The planted incidents and their event codes.

    Examples
    --------
    >>> company = DemoEnterprise(40, 7, seed=3)
    >>> [len(frame) for frame, _ in company.iter_chunks(4)]
    [11095, 7452]

    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.settings = settings = DemoSettings.from_args(args, kwargs)
        self.start, self.end = settings.start, settings.stop
        self.company = Company(settings)
        self.plan = AttackPlan(self.company, settings)
        self.company.freeze()
        self._daily = DailyLife(self.company, settings, self.plan.moves)

    @property
    def n_users(self) -> int:
        """Human users."""
        return self.settings.n_users

    @property
    def n_days(self) -> int:
        """Days in the window."""
        return self.settings.n_days

    @property
    def seed(self) -> int:
        """Seed of every random stream."""
        return self.settings.seed

    @property
    def labels(self) -> pd.DataFrame:
        """One row per attacked user-day (see `DemoData.labels`)."""
        return label_table(self.plan.incidents, self.company, self.start)

    @property
    def incident_table(self) -> pd.DataFrame:
        """One row per planted attack (see `DemoData.incidents`)."""
        return incident_table(self.plan.incidents, self.start)

    def iter_days(self) -> Iterator[tuple[int, Codes]]:
        """Yield (UTC day number, event codes sorted by time) for every day."""
        n_days = self.settings.n_days
        buffers: dict[int, list[Codes]] = {}
        origin = self.settings.start_ms * MS
        for k in range(-1, n_days + 1):
            for part in self._daily.local_day(k):
                if part["t"].size == 0:
                    continue
                day = (part["t"] - origin) // DAY_NS
                if day.min() < k - 1:  # pragma: no cover - days before k - 1 are emitted
                    raise RuntimeError("a local day produced events two UTC days early")
                low, high = max(0, int(day.min())), min(n_days - 1, int(day.max()))
                for d in range(low, high + 1):
                    sel = day == d
                    if d == low == high and sel.all():
                        buffers.setdefault(d, []).append(part)
                    elif sel.any():
                        buffers.setdefault(d, []).append(take(part, sel))
            j = k - 1
            if not 0 <= j < n_days:
                continue
            parts = buffers.pop(j, [])
            parts.append(self._daily.service_day(j))
            if self.settings.noise:
                parts.append(self._daily.utc_noise(j))
            parts.extend(self.plan.parts.get(j, []))
            codes = concat(parts)
            yield j, take(codes, np.argsort(codes["t"], kind="stable"))

    def frame(self, codes: Codes, first_row: int = 0) -> pd.DataFrame:
        """Turn event codes into an event table with the `EVENT_COLUMNS`."""
        c = self.company
        acct = codes["acct"].astype(np.intp)
        acct_dom = c.account_domain.take(acct).astype(np.intp)
        lt = codes["lt"].astype(np.intp)
        auth = codes["auth"].astype(np.intp)
        st = codes["st"].astype(np.intp)
        data = {
            "TimeGenerated": pd.DatetimeIndex(codes["t"].view("M8[ns]")).tz_localize("UTC"),
            "EventID": np.where(st == OK, 4624, 4625).astype(np.int64),
            "Computer": c.v_computer.take(codes["comp"].astype(np.intp)),
            "TargetUserName": c.v_account.take(acct),
            "TargetDomainName": c.v_domain.take(acct_dom),
            "LogonType": LOGON_TYPE.take(lt),
            "LogonTypeName": LOGON_TYPE_NAME.take(lt),
            "IpAddress": c.v_ip.take(codes["ip"].astype(np.intp)),
            "WorkstationName": c.v_host.take(codes["ws"].astype(np.intp)),
            "AuthenticationPackageName": AUTH_PACKAGE.take(AUTH_PACKAGE_CODE.take(auth)),
            "AccountDomain": c.v_domain.take(acct_dom),
            "LogonProcessName": LOGON_PROCESS.take(auth),
            "Status": STATUS.take(st),
            "SubStatus": SUBSTATUS.take(st),
        }
        index = pd.RangeIndex(first_row, first_row + codes["t"].size)
        return pd.DataFrame(data, index=index, copy=False)

    def iter_chunks(self, chunk_days: int = 1) -> Iterator[tuple[pd.DataFrame, Codes]]:
        """
        Yield (event table, event codes) for every `chunk_days` days.

        Raises
        ------
        ParameterError
            At the call, if `chunk_days` is not an integer >= 1.

        """
        return self._chunks(check_chunk_days(chunk_days))

    def _chunks(self, chunk_days: int) -> Iterator[tuple[pd.DataFrame, Codes]]:
        pending: list[Codes] = []
        first_row = 0
        for j, codes in self.iter_days():
            pending.append(codes)
            if len(pending) == chunk_days or j == self.settings.n_days - 1:
                merged = concat(pending) if len(pending) > 1 else pending[0]
                pending = []
                yield self.frame(merged, first_row), merged
                first_row += merged["t"].size

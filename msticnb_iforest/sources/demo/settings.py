"""
What a demo enterprise is made of: one definition of the generators' arguments.

`DemoSettings` holds the size, seed, window, attacks and switches of a demo
company, with their defaults (the size and seed defaults are the hunt's
``demo_users``, ``demo_days`` and ``demo_seed`` in `msticnb_iforest.params`),
and checks them once, when it is made. `generate_demo`, `iter_demo_events`,
`demo_labels` and `DemoEnterprise` take the same arguments and pass them
here; `settings_signature` gives them its signature, so ``help()`` shows
every keyword.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass, field, fields
from datetime import date
from numbers import Integral, Real
from typing import Any, TypeVar

import pandas as pd

from ...errors import ParameterError
from ...params import (
    DEFAULT_DEMO_DAYS,
    DEFAULT_DEMO_SEED,
    DEFAULT_DEMO_USERS,
    Check,
    Constraint,
    Interval,
    Param,
)
from ...schema import utc_naive
from ._codes import ATTACK_KINDS, MS

__all__ = ["DEFAULT_END", "DemoSettings", "check_chunk_days", "settings_signature"]

#: Last day of the window when none is given (fixed, so output is reproducible).
DEFAULT_END = date(2024, 3, 31)

_T = TypeVar("_T")


@dataclass(frozen=True)
class DemoSettings:
    """
    The settings of one demo enterprise, checked when made.

    Parameters
    ----------
    n_users : int, default 150
        Human users (dormant accounts, 15 % of this but at least 8, come on top).
    n_days : int, default 21
        Days in the window.
    seed : int, default 7
        Seed of every random stream; the same settings give the same data.
    end : str or date, optional
        Last day of the window (included); default `DEFAULT_END` (2024-03-31).
        A time with a zone counts by its UTC day.
    n_service_accounts : int, optional
        Service accounts; default ``max(3, round(n_users / 25))``.
    attacks : iterable of str, optional
        Kinds from `ATTACK_KINDS` to plant (one name is one kind); default
        all (``service_new_host`` only when there are service accounts). An
        empty list plants none.
    attack_intensity : float, default 1.0
        Scales attack sizes, in (0, 100]: 0.5 subtle, 1 typical, 2 loud.
    incidents_per_kind : int, optional
        Incidents of each kind; default ``1 + n_users * n_days // 10000``.
    domain : str, default "CONTOSO"
        NetBIOS domain (surrounding blanks dropped); host names end in
        ``.<domain lower-cased>.com``.
    noise : bool, default True
        Add the rows the hunting query filters out (machine, system,
        anonymous, window-manager, interactive, service and batch logons).

    Attributes
    ----------
    n_services : int
        Service accounts made (`n_service_accounts` or its default).
    kinds : tuple of str
        Attack kinds planted, in `ATTACK_KINDS` order.
    per_kind : int
        Incidents planned per kind (`incidents_per_kind` or its default).
    last_day : date
        Last day of the window (`end` or `DEFAULT_END`).

    Raises
    ------
    ParameterError
        For the first setting that is not allowed, naming it and the value.

    Notes
    -----
    Settings are kept normalized: numbers as ``int`` or ``float``, `end` as
    a date, `attacks` as a tuple of kinds, `domain` without blanks; a None
    stays None (its value is in `n_services`, `kinds`, `per_kind` or
    `last_day`), so ``dataclasses.replace`` works out the defaults again.

    Examples
    --------
    >>> settings = DemoSettings(300, seed=2, attacks="brute_force")
    >>> settings.n_services, settings.kinds, settings.per_kind
    (12, ('brute_force',), 1)
    >>> settings.start
    Timestamp('2024-03-11 00:00:00+0000', tz='UTC')
    >>> settings.stop
    Timestamp('2024-04-01 00:00:00+0000', tz='UTC')

    """

    n_users: int = DEFAULT_DEMO_USERS
    n_days: int = DEFAULT_DEMO_DAYS
    _: KW_ONLY
    seed: int = DEFAULT_DEMO_SEED
    end: str | date | None = None
    n_service_accounts: int | None = None
    attacks: Iterable[str] | None = None
    attack_intensity: float = 1.0
    incidents_per_kind: int | None = None
    domain: str = "CONTOSO"
    noise: bool = True
    n_services: int = field(init=False, repr=False)
    kinds: tuple[str, ...] = field(init=False, repr=False)
    per_kind: int = field(init=False, repr=False)
    last_day: date = field(init=False, repr=False)

    def __post_init__(self) -> None:
        keep = self._keep
        for name in ("n_users", "n_days", "seed"):
            keep(name, _check(name, getattr(self, name)))
        services = self.n_service_accounts
        if services is None:
            services = max(3, round(self.n_users / 25))
        else:
            services = _check("n_service_accounts", services)
            keep("n_service_accounts", services)
        keep("n_services", services)
        kinds = _attack_kinds(self.attacks, self.n_services)
        keep("kinds", kinds)
        if self.attacks is not None:
            keep("attacks", kinds)
        keep("attack_intensity", _check("attack_intensity", self.attack_intensity))
        per_kind = self.incidents_per_kind
        if per_kind is None:
            per_kind = 1 + self.n_users * self.n_days // 10_000
        else:
            per_kind = _check("incidents_per_kind", per_kind)
            keep("incidents_per_kind", per_kind)
        keep("per_kind", per_kind)
        keep("domain", _check("domain", self.domain))
        keep("noise", bool(self.noise))
        if self.end is not None:
            keep("end", _check("end", self.end))
        keep("last_day", DEFAULT_END if self.end is None else self.end)

    def _keep(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    @property
    def start(self) -> pd.Timestamp:
        """First day of the window (UTC midnight, tz-aware)."""
        return pd.Timestamp(self.last_day, tz="UTC") - pd.Timedelta(days=self.n_days - 1)

    @property
    def stop(self) -> pd.Timestamp:
        """End of the window, exclusive: UTC midnight after the last day."""
        return pd.Timestamp(self.last_day, tz="UTC") + pd.Timedelta(days=1)

    @property
    def start_ms(self) -> int:
        """Start of the window in milliseconds since 1970."""
        return self.start.value // MS

    @classmethod
    def from_args(cls, args: tuple, kwargs: dict[str, Any]) -> DemoSettings:
        """
        Return the settings that positional and keyword arguments give.

        A lone `DemoSettings` is returned as it is.

        Examples
        --------
        >>> DemoSettings.from_args((40, 7), {"seed": 3}) == DemoSettings(40, 7, seed=3)
        True

        """
        if len(args) == 1 and not kwargs and isinstance(args[0], DemoSettings):
            return args[0]
        return cls(*args, **kwargs)


def _last_day(value: Any) -> date:
    """Return the UTC day of a date, time or date string."""
    if not isinstance(value, date | str):
        raise TypeError
    stamp = pd.Timestamp(value)
    if stamp is pd.NaT:
        raise ValueError
    return utc_naive(stamp).date()


def _domain(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError
    return value.strip()


#: The constraint of each checked setting (and of ``chunk_days``).
_CONSTRAINTS: dict[str, Constraint] = {
    "n_users": Interval(Integral, 1, None),
    "n_days": Interval(Integral, 1, None),
    "seed": Interval(Integral, 0, None),
    "end": Check(_last_day, "a date such as '2024-03-31'"),
    "n_service_accounts": Interval(Integral, 0, None),
    "attack_intensity": Interval(Real, 0, 100, closed="right"),
    "incidents_per_kind": Interval(Integral, 0, None),
    "domain": Check(_domain, "a non-empty string"),
}
#: The settings as parameters, with the dataclass's defaults.
_PARAMS: dict[str, Param] = {
    f.name: Param(f.name, f.default, (_CONSTRAINTS[f.name],))
    for f in fields(DemoSettings)
    if f.name in _CONSTRAINTS
}
_PARAMS["chunk_days"] = Param("chunk_days", 1, (Interval(Integral, 1, None),))


def _check(name: str, value: Any) -> Any:
    return _PARAMS[name].check(value)


def _attack_kinds(attacks: Iterable[str] | None, n_services: int) -> tuple[str, ...]:
    """Return the kinds to plant, in `ATTACK_KINDS` order."""
    if attacks is None:
        return tuple(k for k in ATTACK_KINDS if n_services or k != "service_new_host")
    if isinstance(attacks, str):
        attacks = [attacks]
    try:
        chosen = [str(a).strip().lower() for a in attacks]
    except TypeError:
        raise ParameterError(
            f"attacks must be a list of attack kinds, got {type(attacks).__name__}."
        ) from None
    unknown = [a for a in chosen if a not in ATTACK_KINDS]
    if unknown:
        raise ParameterError(
            f"Unknown attack kind(s) {unknown}; choose from: {', '.join(ATTACK_KINDS)}."
        )
    if "service_new_host" in chosen and n_services == 0:
        raise ParameterError("attack 'service_new_host' needs n_service_accounts >= 1.")
    return tuple(k for k in ATTACK_KINDS if k in chosen)


def check_chunk_days(chunk_days: Any) -> int:
    """
    Return `chunk_days` (days per chunk of events) as an int, or raise.

    Raises
    ------
    ParameterError
        If it is not an integer >= 1.

    Examples
    --------
    >>> check_chunk_days(3)
    3

    """
    return _check("chunk_days", chunk_days)


def settings_signature(obj: _T) -> _T:
    """
    Give a function or class that takes `DemoSettings` arguments their signature.

    The function's own keyword-only parameters (such as ``chunk_days``) come
    after the settings'; its return annotation is kept.

    Examples
    --------
    >>> @settings_signature
    ... def size(*args, **kwargs) -> int:
    ...     return DemoSettings(*args, **kwargs).n_users
    >>> str(inspect.signature(size))[:40]
    "(n_users: 'int' = 150, n_days: 'int' = 2"

    """
    settings = list(inspect.signature(DemoSettings).parameters.values())
    own = inspect.Signature() if isinstance(obj, type) else inspect.signature(obj)  # type: ignore[arg-type]
    extra = [p for p in own.parameters.values() if p.kind is p.KEYWORD_ONLY]
    obj.__signature__ = own.replace(parameters=settings + extra)  # type: ignore[attr-defined]
    return obj

"""
Which incidents of a hunt go to Microsoft Sentinel, and as what.

`select_incidents` checks a choice of incidents (numbers, or "malicious": those
holding an outlier an analyst marked malicious) against the hunt;
`check_choice` checks the kind of item and the severity. Only the standard
library is imported, so the checks cost nothing before a sign-in.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

from ..errors import ParameterError

__all__ = [
    "AS_CHOICES",
    "SEVERITIES",
    "check_choice",
    "malicious_incidents",
    "select_incidents",
]

#: What an incident can become in Sentinel.
AS_CHOICES = ("bookmark", "incident")

#: Severities of a Sentinel incident.
SEVERITIES = ("Informational", "Low", "Medium", "High")


def _listed(numbers_: list[int]) -> str:
    if not numbers_:
        return "none"
    if numbers_ == list(range(numbers_[0], numbers_[0] + len(numbers_))) and len(numbers_) > 2:
        return f"{numbers_[0]} to {numbers_[-1]}"
    return ", ".join(map(str, numbers_))


def malicious_incidents(result: Any) -> list[int]:
    """
    Return the incidents of a hunt that hold an outlier with verdict "malicious".

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        The hunt. Its outliers' ``verdict`` column (set by ``set_verdict``)
        says which are malicious; without the column none is.

    Returns
    -------
    list of int
        Incident numbers, in the order of ``result.incidents``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> import pandas as pd
    >>> outliers = pd.DataFrame({"incident": [1, 2, 2], "verdict": ["", "malicious", ""]})
    >>> found = SimpleNamespace(outliers=outliers, incidents=pd.DataFrame({"incident": [1, 2]}))
    >>> malicious_incidents(found)
    [2]

    """
    outliers = getattr(result, "outliers", None)
    if outliers is None or not {"verdict", "incident"} <= set(outliers.columns):
        return []
    verdicts = outliers["verdict"].fillna("").astype(str).str.strip().str.casefold()
    chosen = set(outliers.loc[verdicts.eq("malicious"), "incident"].dropna().astype(int))
    return [int(n) for n in result.incidents["incident"] if int(n) in chosen]


def select_incidents(result: Any, incidents: Any) -> list[int]:
    """
    Check which incidents of a hunt are meant and return their numbers.

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        The hunt.
    incidents : int, iterable of int, or "malicious"
        Incident numbers (the ``incident`` column of ``result.incidents``),
        or "malicious": every incident with an outlier whose verdict is
        "malicious" (`malicious_incidents`).

    Returns
    -------
    list of int
        The numbers, in the order given, each once.

    Raises
    ------
    ParameterError
        If a number is not an incident of this hunt, the selection is
        empty, or it is neither numbers nor "malicious".

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> import pandas as pd
    >>> found = SimpleNamespace(incidents=pd.DataFrame({"incident": [1, 2, 3]}))
    >>> select_incidents(found, [3, 1, 3])
    [3, 1]

    """
    table = getattr(result, "incidents", None)
    known = [] if table is None or table.empty else [int(n) for n in table["incident"]]
    if isinstance(incidents, str):
        if incidents.strip().casefold() != "malicious":
            raise ParameterError(
                f"incidents must be incident numbers or 'malicious', got {incidents!r}."
            )
        chosen = malicious_incidents(result)
        if not chosen:
            raise ParameterError(
                "No incident of this hunt has an outlier with verdict 'malicious': mark them "
                "first (result.set_verdict(incident=N, verdict='malicious')) or name the "
                f"incidents by number ({_listed(known)})."
            )
        return chosen
    values = [incidents] if isinstance(incidents, numbers.Integral) else incidents
    if not isinstance(values, Iterable) or isinstance(values, bytes | dict):
        raise ParameterError(
            f"incidents must be incident numbers or 'malicious', got {incidents!r}."
        )
    chosen = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ParameterError(f"incidents must be incident numbers, got {value!r}.")
        chosen.append(int(value))
    chosen = list(dict.fromkeys(chosen))
    if not chosen:
        raise ParameterError(f"No incident named: give their numbers ({_listed(known)}).")
    unknown = [n for n in chosen if n not in set(known)]
    if unknown:
        raise ParameterError(
            f"This hunt has no incident {', '.join(map(str, unknown))}; its incidents are "
            f"{_listed(known)}."
        )
    return chosen


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """
    Return the one of `choices` that `value` names (case aside).

    Raises
    ------
    ParameterError
        If `value` names none of them; the message lists them.

    Examples
    --------
    >>> check_choice("as_", "Incident", AS_CHOICES)
    'incident'

    """
    found = [c for c in choices if isinstance(value, str) and c.casefold() == value.casefold()]
    if not found:
        raise ParameterError(f"{name} must be one of {', '.join(choices)}; got {value!r}.")
    return found[0]

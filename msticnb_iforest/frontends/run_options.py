"""
The notebooklet's ``run`` keywords: which there are, their check, and the query they drive.

`RUN_PARAMETERS` names the keyword arguments ``AnomalousLogonUsers.run``
takes; `check_run` validates them once against `params.PARAMETERS` (which
holds their defaults) and `get_user_days` fetches the per-account-day rows
for a run from the query provider.
"""

from __future__ import annotations

import inspect
from typing import Any

from msticpy.common.timespan import TimeSpan

from ..errors import ParameterError
from ..features import get_feature_set
from ..params import PARAMETERS, check_params
from ..pipeline import hunt
from ..sources.local import local_folders, scan_local
from ..sources.query import fetch_user_days

__all__ = [
    "MSTICNB_KWARGS",
    "RUN_PARAMETERS",
    "check_run",
    "get_user_days",
    "hunt_options",
    "run_defaults",
]

#: Keyword arguments of ``run``, checked against `params.PARAMETERS` (which holds
#: their defaults) before any work.
RUN_PARAMETERS = (
    "feature_set",
    "contamination",
    "n_estimators",
    "random_state",
    "allow_accounts",
    "min_history_days",
    "max_explained",
    "n_jobs",
    "max_plots",
    "max_account_summaries",
    "memory_limit",
    "progress",
    "split_query_by",
    "table",
    "add_query_items",
    "query_options",
    "start",
    "end",
    "hunt_days",
    "baseline_days",
    "max_alerts_per_day",
    "state",
)

#: msticnb's own keyword arguments of ``run``, passed through unchecked.
MSTICNB_KWARGS = ("silent",)


def check_run(value: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """
    Check `value` and ``run``'s keyword arguments before any work.

    Returns every `RUN_PARAMETERS` value, normalized, with the defaults of
    `params.PARAMETERS` for those not given.

    Raises
    ------
    ParameterError
        For an unknown keyword or a value out of range (named in the message).

    Examples
    --------
    >>> check_run(None, {"contamination": 0.05})["contamination"]
    0.05

    """
    PARAMETERS["account"].check(value, label="value")
    given = {k: v for k, v in kwargs.items() if k not in MSTICNB_KWARGS}
    checked = check_params(names=RUN_PARAMETERS, **given)
    if ("start" in kwargs) != ("end" in kwargs):
        missing = "end" if "start" in kwargs else "start"
        raise ParameterError(f"Give both start and end (or a timespan); {missing} is missing.")
    start, end = checked.get("start"), checked.get("end")
    if start is not None and end is not None and start > end:
        raise ParameterError(f"start ({kwargs['start']}) is after end ({kwargs['end']}).")
    return run_defaults() | checked


def run_defaults() -> dict[str, Any]:
    """
    Return the default of every `RUN_PARAMETERS` keyword, from `params.PARAMETERS`.

    Examples
    --------
    >>> run_defaults()["table"]
    'SecurityEvent'

    """
    return {name: PARAMETERS[name].default for name in RUN_PARAMETERS}


#: ``run`` keywords that ``run`` itself settles before the hunt (the progress
#: callback and the query window); the others of `pipeline.hunt` pass as they are.
_SETTLED_BY_RUN = ("progress", "start", "end")
_HUNT_KEYWORDS = tuple(
    name
    for name in RUN_PARAMETERS
    if name in inspect.signature(hunt).parameters and name not in _SETTLED_BY_RUN
)


def hunt_options(opts: dict[str, Any]) -> dict[str, Any]:
    """
    Return the keyword arguments of `pipeline.hunt` among checked ``run`` options.

    Examples
    --------
    >>> hunt_options(run_defaults())["baseline_days"]
    30

    """
    return {name: opts[name] for name in _HUNT_KEYWORDS}


def get_user_days(qry_prov: Any, timespan: TimeSpan, notes: list[str], **opts: Any) -> tuple:
    """
    Return (rows as found or files of raw events, query text, input files) from the provider.

    A LocalData provider's folders are scanned (nothing is queried); any
    other provider runs the feature set's query over `timespan`, split
    as ``split_query_by`` asks; `notes` collects what the query noticed.

    Examples
    --------
    >>> rows, text, files = get_user_days(provider, span, [])  # doctest: +SKIP

    """
    opts = run_defaults() | opts
    fset = get_feature_set(opts["feature_set"])
    if getattr(qry_prov, "environment", None) == "LocalData":
        rows, files = scan_local(local_folders(qry_prov), fset.query_name)
        return rows, None, files
    table, text = fetch_user_days(
        qry_prov,
        timespan.start,
        timespan.end,
        query_name=fset.query_name,
        table=opts["table"],
        add_query_items=opts["add_query_items"],
        split_query_by=opts["split_query_by"],
        notes=notes,
        query_options=opts["query_options"],
    )
    return table, text, []

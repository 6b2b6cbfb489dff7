r"""
Confirmed incidents of a hunt, as Microsoft Sentinel hunting bookmarks or incidents.

`sentinel_content` builds, without the network, what each chosen incident
becomes: its name ("Anomalous logons: " and the incident's lead), the KQL
that lists the network logons of its accounts over its days (the package's
``AnomalousLogons.network_logon_events`` query, rendered by msticpy as
``"print"`` does), notes saying why each member account-day was flagged,
labels (``msticnb-iforest`` and the incident's kind), its entities (accounts,
hosts, IP addresses) and times. `send_to_sentinel` hands that content to
msticpy's ``MicrosoftSentinel`` client, one ``create_bookmark`` (or
``create_incident``) call per incident, and returns what was created with
the ids Sentinel gave. `to_sentinel` is the notebooklet result's
``to_sentinel``: it finds the workspace the hunt ran on when none is given.

Entities: msticpy writes bookmarks with the Sentinel API version 2020-01-01,
whose bookmark has no entity mappings (and ``create_bookmark`` takes none),
so the entities are listed in the notes (the incident's description) and in
the bookmark's query result (JSON rows, one per member account-day). The
hunt's tables count new hosts but name them only where the account-day
summary has the ``NewSrcHosts`` / ``NewComputers`` columns; without them no
host is listed and the notes say so.

This module is a front end rather than a renderer in ``present/`` because
the query text comes from the sources stage's query file through msticpy,
which the renderers may not import.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from ..errors import ParameterError
from ..params import check_table_name
from ..present.display import safe_text
from ..present.links import kql_literal
from ..sources.query import ensure_queries
from .sentinel_select import AS_CHOICES, SEVERITIES, check_choice, select_incidents
from .sentinel_workspace import SentinelError, connect_workspace

__all__ = [
    "AS_CHOICES",
    "CONTENT_COLUMNS",
    "LABEL",
    "SENT_COLUMNS",
    "SEVERITIES",
    "SentinelError",
    "select_incidents",
    "send_to_sentinel",
    "sentinel_content",
    "to_sentinel",
]

#: The label every bookmark or incident sent from a hunt carries.
LABEL = "msticnb-iforest"

#: One row per incident (see `sentinel_content`).
CONTENT_COLUMNS = [
    "incident",
    "kind",
    "name",
    "query",
    "notes",
    "labels",
    "accounts",
    "hosts",
    "ips",
    "first_day",
    "last_day",
    "start",
    "end",
    "first_activity",
    "last_activity",
    "query_result",
]

#: One row per bookmark or incident created (see `send_to_sentinel`).
SENT_COLUMNS = ["incident", "created", "id", "name", "first_day", "last_day", "accounts", "labels"]

#: Member account-days whose reason the notes spell out; the rest are counted.
MAX_LISTED = 20

_NAME_WIDTH = 250
_REASON_WIDTH = 300
_HOST_COLUMNS = ("NewSrcHosts", "NewComputers")
_IP_COLUMNS = ("FailedSrcIp", "NewSrcIps")
_DAY = pd.Timedelta(days=1)
_NS = pd.Timedelta(1, "ns")
_NO_HOSTS = "none named (this hunt's tables count new hosts but do not name them)"


@functools.lru_cache(maxsize=1)
def _events_query() -> Callable[..., Any]:
    """Return the package's raw-events query, for rendering only (never connected)."""
    from msticpy.data import QueryProvider

    # The Kusto provider reads the same KQL file as Sentinel's and, unlike it, needs
    # no cloud settings (so nothing is looked up on the network) to be created.
    provider = QueryProvider("Kusto")
    ensure_queries(provider, "network_logon_events")
    return provider.AnomalousLogons.network_logon_events


def _events_kql(
    users: list[str], start: pd.Timestamp, end: pd.Timestamp, table: str, heading: str
) -> str:
    """Render the network-logon events query of `users` over [start, end] (UTC)."""
    names = ", ".join(kql_literal(user) for user in users)
    text = _events_query()(
        "print",
        start=start,
        end=end,
        table=table,
        add_query_items=f"| where TargetUserName in~ ({names})",
    )
    return f"// {heading}\n{str(text).strip()}"


def _utc(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _account_names(members: pd.DataFrame) -> pd.Series:
    domain = members["DstDomain"].fillna("").astype(str).str.strip()
    user = members["DstUser"].fillna("").astype(str)
    return (domain + "\\" + user).where(domain.ne(""), user)


def _split_names(values: pd.Series) -> pd.Series:
    """Comma-joined names, one per row of the result (empty and "-" dropped)."""
    parts = values.dropna().astype(str).str.split(",").explode().str.strip()
    return parts[parts.ne("") & parts.ne("-")]


def _names(members: pd.DataFrame, columns: Iterable[str]) -> list[str]:
    present = [members[name] for name in columns if name in members.columns]
    if not present:
        return []
    return sorted(set(_split_names(pd.concat(present, ignore_index=True))))


def _member_rows(result: Any, members: pd.DataFrame) -> pd.DataFrame:
    """Per member account-day: Date, Account, Score, Reason and the named sources."""
    explanations = getattr(result, "explanations", None)
    reasons = pd.Series("", index=members.index, dtype=object)
    if explanations is not None and "reason" in getattr(explanations, "columns", ()):
        reasons = explanations["reason"].reindex(members.index)
    rows = pd.DataFrame(
        {
            "Date": pd.to_datetime(members["Date"]).dt.strftime("%Y-%m-%d"),
            "Account": _account_names(members),
            "Score": members["score"].astype(float).round(6),
            "Reason": reasons.fillna("(not explained: beyond the hunt's max_explained)"),
        }
    )
    for name in (*_IP_COLUMNS, *_HOST_COLUMNS):
        if name in members.columns:
            rows[name] = members[name].fillna("").astype(str)
    return rows


def _activity(members: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> tuple:
    """Return the members' first and last logon when the tables hold them, else the days."""
    first, last = start, end.floor("us")
    if {"MIN_TimeGenerated", "MAX_TimeGenerated"} <= set(members.columns):
        low = pd.to_datetime(members["MIN_TimeGenerated"], utc=True, errors="coerce").min()
        high = pd.to_datetime(members["MAX_TimeGenerated"], utc=True, errors="coerce").max()
        first = low if pd.notna(low) else first
        last = high.floor("us") if pd.notna(high) else last
    return first, last


def _notes(row: pd.Series, rows: pd.DataFrame, entities: dict[str, list[str]]) -> str:
    first, last = (f"{pd.Timestamp(row[k]):%Y-%m-%d}" for k in ("first_day", "last_day"))
    days = first if first == last else f"{first} to {last}"
    lines = [
        safe_text(row["lead"]),
        "",
        f"Incident {int(row['incident'])} of a msticnb-iforest hunt: {safe_text(row['kind'])}, "
        f"{len(entities['accounts'])} account(s), {len(rows)} flagged account-day(s) on "
        f"{days} (UTC), highest score {float(row['score']):.4f}.",
        "",
        "Why each account-day was flagged:",
    ]
    for item in rows.head(MAX_LISTED).itertuples(index=False):
        reason = safe_text(item.Reason, _REASON_WIDTH)
        lines.append(
            f"- {safe_text(item.Account)} on {item.Date} (score {item.Score:.4f}): {reason}"
        )
    if len(rows) > MAX_LISTED:
        lines.append(f"- and {len(rows) - MAX_LISTED} more (each is in the query result)")
    hosts = ", ".join(map(safe_text, entities["hosts"])) or _NO_HOSTS
    lines += [
        "",
        "Entities:",
        f"- Accounts: {', '.join(map(safe_text, entities['accounts']))}",
        f"- Hosts: {hosts}",
        f"- IP addresses: {', '.join(map(safe_text, entities['ips'])) or 'none named'}",
    ]
    return "\n".join(lines)


def _incident_content(result: Any, number: int, table: str) -> dict[str, Any]:
    row = result.incidents.loc[result.incidents["incident"].astype(int).eq(number)].iloc[0]
    members = result.outliers.loc[result.outliers["incident"].astype(int).eq(number)]
    start = _utc(row["first_day"]).normalize()
    end = _utc(row["last_day"]).normalize() + _DAY - _NS
    sources = [] if pd.isna(row["sources"]) else str(row["sources"]).split(",")
    ips = [name.strip() for name in sources if name.strip() not in ("", "-")]
    entities = {
        "accounts": list(dict.fromkeys(_account_names(members))),
        "hosts": _names(members, _HOST_COLUMNS),
        "ips": list(dict.fromkeys([*ips, *_names(members, _IP_COLUMNS)])),
    }
    rows = _member_rows(result, members)
    first, last = _activity(members, start, end)
    users = list(dict.fromkeys(members["DstUser"].fillna("").astype(str)))
    days = f"{start:%Y-%m-%d}" + ("" if end - start < _DAY else f" to {end:%Y-%m-%d}")
    heading = (
        f"msticnb-iforest incident {number}: network logons of its {len(users)} account(s), "
        f"{days} (UTC)"
    )
    return {
        "incident": number,
        "kind": str(row["kind"]),
        "name": safe_text(f"Anomalous logons: {row['lead']}", _NAME_WIDTH),
        "query": _events_kql(users, start, end, table, heading),
        "notes": _notes(row, rows, entities),
        "labels": [LABEL, safe_text(row["kind"])],
        **entities,
        "first_day": pd.Timestamp(row["first_day"]),
        "last_day": pd.Timestamp(row["last_day"]),
        "start": start,
        "end": end,
        "first_activity": first,
        "last_activity": last,
        "query_result": json.dumps(rows.to_dict("records"), ensure_ascii=False),
    }


def sentinel_content(
    result: Any, incidents: Any = None, *, table: str = "SecurityEvent"
) -> pd.DataFrame:
    r"""
    Build what each incident of a hunt becomes in Microsoft Sentinel (no network).

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        The hunt: its ``incidents``, ``outliers`` and ``explanations``.
    incidents : int, iterable of int or "malicious", optional
        The incidents (see `select_incidents`); all of them by default.
    table : str, default="SecurityEvent"
        The table the query reads (a plain table name).

    Returns
    -------
    pd.DataFrame
        One row per incident, columns `CONTENT_COLUMNS`: ``incident``,
        ``kind``; ``name`` ("Anomalous logons: " and the lead, at most 250
        characters); ``query``: KQL listing the network logons (4624/4625,
        the hunt's filters) of the incident's accounts (by user name) from
        the first day's midnight to the end of the last day, UTC; ``notes``:
        the lead, each member account-day's reason (the first `MAX_LISTED`)
        and the entities; ``labels`` (`LABEL` and the kind); ``accounts``,
        ``hosts`` (named source hosts and target computers, when the tables
        name them) and ``ips`` (the incident's sources, failing and new
        source addresses); ``first_day``, ``last_day``; ``start``, ``end``
        (the query's UTC bounds); ``first_activity``, ``last_activity``
        (the members' first and last logon, UTC, when the tables hold them,
        else `start` and `end`); ``query_result``: JSON rows, one per
        member (Date, Account, Score, Reason and the named sources).
        Text from the data is shown with its invisible characters escaped.

    Raises
    ------
    ParameterError
        If `incidents` names no incident of this hunt, or `table` is not a
        plain table name.

    Examples
    --------
    >>> from msticnb_iforest import hunt
    >>> from msticnb_iforest.sources.demo import generate_demo
    >>> found = hunt(generate_demo(n_users=80, n_days=14, seed=1).events, shap=False)
    >>> content = sentinel_content(found, [1])
    >>> content.loc[0, "name"]
    'Anomalous logons: CONTOSO\\kenji.muller on 2024-03-27: 20 computers (usually 1–5 a day)'
    >>> content.loc[0, "labels"]
    ['msticnb-iforest', 'single']

    """
    table = check_table_name(table)
    known = [
        int(n) for n in getattr(result, "incidents", pd.DataFrame(columns=["incident"]))["incident"]
    ]
    chosen = known if incidents is None else select_incidents(result, incidents)
    rows = [_incident_content(result, number, table) for number in chosen]
    return pd.DataFrame(rows, columns=CONTENT_COLUMNS)


def _call_args(item: dict[str, Any], kind: str, severity: str) -> dict:
    """Return the keywords of msticpy's create_bookmark / create_incident for one incident."""
    if kind == "bookmark":
        return {
            "name": item["name"],
            "query": item["query"],
            "results": item["query_result"],
            "notes": item["notes"],
            "labels": list(item["labels"]),
        }
    return {
        "title": item["name"],
        "severity": severity,
        "status": "New",
        "description": f"{item['notes']}\n\nQuery to reproduce (Logs):\n{item['query']}",
        "first_activity_time": item["first_activity"].to_pydatetime(),
        "last_activity_time": item["last_activity"].to_pydatetime(),
        "labels": list(item["labels"]),
    }


def _sent_row(item: dict[str, Any], kind: str, ident: Any) -> dict[str, Any]:
    return {
        "incident": int(item["incident"]),
        "created": kind,
        "id": None if ident is None else str(ident),
        "name": item["name"],
        "first_day": item["first_day"],
        "last_day": item["last_day"],
        "accounts": ", ".join(item["accounts"]),
        "labels": list(item["labels"]),
    }


def _refused(err: Exception, item: dict, kind: str, created: list[dict]) -> SentinelError:
    detail = safe_text(" ".join(str(err).split()), 500) or "no detail"
    done = (
        "Created before it: "
        + ", ".join(f"incident {row['incident']} ({kind} {row['id']})" for row in created)
        if created
        else "Nothing was created."
    )
    error = SentinelError(
        f"Microsoft Sentinel did not create the {kind} for incident {item['incident']}: "
        f"{type(err).__name__}: {detail}. {done}"
    )
    error.created = pd.DataFrame(created, columns=SENT_COLUMNS)
    return error


def send_to_sentinel(
    result: Any,
    incidents: Any,
    sentinel: Any,
    *,
    as_: str = "bookmark",
    severity: str = "Medium",
    table: str = "SecurityEvent",
) -> pd.DataFrame:
    """
    Create one Microsoft Sentinel hunting bookmark (or incident) per incident of a hunt.

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        The hunt.
    incidents : int, iterable of int, or "malicious"
        Which incidents to send (see `select_incidents`); required.
    sentinel : msticpy.context.azure.MicrosoftSentinel
        A connected client (``MicrosoftSentinel(...).connect()``).
    as_ : {"bookmark", "incident"}, default="bookmark"
        ``create_bookmark`` (name, query, query result, notes, labels) or
        ``create_incident`` (title, severity, status "New", description
        with the notes and the query, first and last activity, labels).
    severity : {"Informational", "Low", "Medium", "High"}, default="Medium"
        The severity of created incidents (bookmarks have none).
    table : str, default="SecurityEvent"
        The table the query reads.

    Returns
    -------
    pd.DataFrame
        One row per created item, columns `SENT_COLUMNS`: incident,
        created ("bookmark" or "incident"), id (the name Sentinel gave it,
        as msticpy returns it; None when it returns none), name, first_day,
        last_day, accounts, labels.

    Raises
    ------
    ParameterError
        For a bad `incidents`, `as_`, `severity` or `sentinel`.
    SentinelError
        If the client is not connected, or Sentinel refuses an item: the
        message says which were created before it (also in the error's
        ``created`` DataFrame), so none is sent twice.

    Examples
    --------
    >>> from msticpy.context.azure import MicrosoftSentinel  # doctest: +SKIP
    >>> sentinel = MicrosoftSentinel(workspace_name="soc-ws")  # doctest: +SKIP
    >>> sentinel.connect()  # doctest: +SKIP
    >>> send_to_sentinel(found, [1, 3], sentinel)  # doctest: +SKIP

    """
    kind = check_choice("as_", as_, AS_CHOICES)
    level = check_choice("severity", severity, SEVERITIES)
    if incidents is None:
        raise ParameterError("Name the incidents to send: their numbers, or 'malicious'.")
    method = getattr(sentinel, f"create_{kind}", None)
    if not callable(method):
        raise ParameterError(
            f"sentinel must be msticpy's MicrosoftSentinel (it has no create_{kind}); got "
            f"{type(sentinel).__name__}."
        )
    if getattr(sentinel, "connected", True) is False:
        raise SentinelError("The MicrosoftSentinel client is not connected: call connect() first.")
    content = sentinel_content(result, incidents, table=table)
    created: list[dict[str, Any]] = []
    for item in content.to_dict("records"):
        try:
            ident = method(**_call_args(item, kind, level))
        except Exception as err:  # msticpy and Azure raise many types; report them as one
            raise _refused(err, item, kind, created) from err
        created.append(_sent_row(item, kind, ident))
    return pd.DataFrame(created, columns=SENT_COLUMNS)


def to_sentinel(
    result: Any,
    incidents: Any,
    *,
    as_: str = "bookmark",
    sentinel: Any = None,
    severity: str = "Medium",
    table: str = "SecurityEvent",
    **connect_kwargs: Any,
) -> pd.DataFrame:
    """
    Send a notebooklet result's incidents to Sentinel, by default to the workspace it hunted.

    Parameters
    ----------
    result : AnomalousLogonUsersResult
        The notebooklet's result.
    incidents : int, iterable of int, or "malicious"
        Which incidents (see `select_incidents`).
    as_, severity, table
        As in `send_to_sentinel`.
    sentinel : MicrosoftSentinel, optional
        A connected client. When None, the workspace the notebooklet ran on
        is looked up in msticpyconfig.yaml and connected to
        (`connect_workspace`).
    **connect_kwargs
        Passed to ``MicrosoftSentinel.connect`` when `sentinel` is None
        (``auth_methods``, ``tenant_id``, ``credential``, ...).

    Returns
    -------
    pd.DataFrame
        What was created (see `send_to_sentinel`).

    Raises
    ------
    WorkspaceNeededError
        If `sentinel` is None and the hunt ran on local files, the demo or a
        DataFrame: the message says how to give a workspace.
    ParameterError, SentinelError
        As `send_to_sentinel` and `connect_workspace`.

    Examples
    --------
    >>> result.to_sentinel(incidents=[1, 3])  # doctest: +SKIP
    >>> result.to_sentinel(incidents="malicious", as_="incident")  # doctest: +SKIP

    """
    check_choice("as_", as_, AS_CHOICES)
    check_choice("severity", severity, SEVERITIES)
    select_incidents(result, incidents)  # a bad choice is told before any sign-in
    if sentinel is None:
        sentinel = connect_workspace(result, **connect_kwargs)
    elif connect_kwargs:
        raise ParameterError(
            f"{', '.join(sorted(connect_kwargs))}: connect options apply only when sentinel is "
            "not given."
        )
    return send_to_sentinel(result, incidents, sentinel, as_=as_, severity=severity, table=table)

"""
What the demo knows it planted: label and incident tables, and matching them.

`label_table` lists one row per attacked user-day, `incident_table` one row
per planted attack; `match_labels` counts the labelled user-days among the
outliers a hunt reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ...schema import utc_naive
from .attacks import Incident
from .company import Company

__all__ = ["INCIDENT_COLUMNS", "LABEL_COLUMNS", "incident_table", "label_table", "match_labels"]

#: Columns of the label table, in order.
LABEL_COLUMNS = ["Date", "DstDomain", "DstUser", "attack", "detail", "incident"]

#: Columns of the incident table, in order.
INCIDENT_COLUMNS = [
    "incident",
    "attack",
    "Date",
    "start",
    "end",
    "accounts",
    "src_ip",
    "src_host",
    "target",
    "detail",
]


def _day(start: pd.Timestamp, day: int) -> pd.Timestamp:
    """Naive UTC midnight of day `day` of a window starting at `start`."""
    return utc_naive(start + pd.Timedelta(days=day))


def label_table(
    incidents: Sequence[Incident], company: Company, start: pd.Timestamp
) -> pd.DataFrame:
    """
    Return one row per attacked user-day (`LABEL_COLUMNS`).

    Parameters
    ----------
    incidents : sequence of Incident
        The planted incidents (`AttackPlan.incidents`).
    company : Company
        The company attacked, frozen (`Company.freeze`).
    start : pd.Timestamp
        First day of the window (UTC midnight).

    Returns
    -------
    pd.DataFrame
        ``Date`` (naive midnight UTC), ``DstDomain``, ``DstUser``,
        ``attack``, ``detail`` and ``incident``, sorted by date, incident
        and account.

    Examples
    --------
    >>> from msticnb_iforest.sources.demo import DemoEnterprise
    >>> company = DemoEnterprise(40, 7, attacks=["lateral_movement"])
    >>> label_table(company.plan.incidents, company.company, company.start).iloc[0, :3].tolist()
    [Timestamp('2024-03-30 00:00:00'), 'CONTOSO', 'henry.watson']

    """
    rows = []
    for rec in incidents:
        date_ = _day(start, rec.day)
        for acct, detail in rec.accounts:
            rows.append(
                (
                    date_,
                    company.v_domain[company.account_domain[acct]],
                    company.v_account[acct],
                    rec.attack,
                    detail,
                    rec.incident,
                )
            )
    table = pd.DataFrame(rows, columns=LABEL_COLUMNS)
    table["Date"] = pd.to_datetime(table["Date"]).astype("datetime64[ns]")
    table["incident"] = table["incident"].astype(np.int64)
    for col in ("DstDomain", "DstUser", "attack", "detail"):
        table[col] = table[col].astype(object)
    return table.sort_values(["Date", "incident", "DstUser"], kind="stable").reset_index(drop=True)


def incident_table(incidents: Sequence[Incident], start: pd.Timestamp) -> pd.DataFrame:
    """
    Return one row per planted attack (`INCIDENT_COLUMNS`).

    Parameters
    ----------
    incidents : sequence of Incident
        The planted incidents (`AttackPlan.incidents`).
    start : pd.Timestamp
        First day of the window (UTC midnight).

    Returns
    -------
    pd.DataFrame
        Number, kind, ``Date`` (naive midnight UTC), first and last event
        (UTC), accounts attacked, source address and host, target, detail.

    Examples
    --------
    >>> from msticnb_iforest.sources.demo import DemoEnterprise
    >>> company = DemoEnterprise(40, 7)
    >>> incident_table(company.plan.incidents, company.start)[["incident", "attack"]]
       incident                    attack
    0         0               brute_force
    1         1          lateral_movement
    2         2          service_new_host
    3         3  brute_force_random_hosts
    4         4            password_spray

    """
    rows = [
        {
            "incident": rec.incident,
            "attack": rec.attack,
            "Date": _day(start, rec.day),
            "start": pd.Timestamp(rec.start, unit="ms", tz="UTC"),
            "end": pd.Timestamp(rec.end, unit="ms", tz="UTC"),
            "accounts": len(rec.accounts),
            "src_ip": rec.src_ip,
            "src_host": rec.src_host,
            "target": rec.target,
            "detail": rec.detail,
        }
        for rec in incidents
    ]
    table = pd.DataFrame(rows, columns=INCIDENT_COLUMNS)
    table["Date"] = pd.to_datetime(table["Date"]).astype("datetime64[ns]")
    return table


def match_labels(outliers: pd.DataFrame, labels: pd.DataFrame) -> dict[str, Any]:
    """
    Count the labelled attack user-days among a hunt's reported outliers.

    User-days are matched on the UTC day of ``Date`` and on ``DstDomain``
    and ``DstUser`` compared case-insensitively (case-folded).

    Parameters
    ----------
    outliers : pd.DataFrame
        Reported outliers with ``Date`` (datetimes, or text in one date
        format), ``DstDomain`` and ``DstUser`` columns. Not modified.
    labels : pd.DataFrame
        The demo's labels (`DemoData.labels`, `LABEL_COLUMNS`). Not modified.

    Returns
    -------
    dict[str, Any]
        ``labelled_user_days`` (distinct labelled user-days),
        ``labelled_in_outliers`` (those among the outliers), ``outliers``
        (distinct outlier user-days) and ``by_attack``: for each attack kind
        in sorted order, ``{"labelled": int, "found": int}``.

    Examples
    --------
    >>> labels = pd.DataFrame(
    ...     {"Date": pd.to_datetime(["2024-03-04", "2024-03-05"]), "DstDomain": "CONTOSO",
    ...      "DstUser": ["alice", "bob"], "attack": ["brute_force", "password_spray"]}
    ... )
    >>> outliers = pd.DataFrame({"Date": ["2024-03-04"], "DstDomain": ["contoso"],
    ...                          "DstUser": ["ALICE"]})
    >>> match = match_labels(outliers, labels)
    >>> match["labelled_in_outliers"], match["by_attack"]["brute_force"]
    (1, {'labelled': 1, 'found': 1})

    """
    keys = ["Date", "DstDomain", "DstUser"]
    labelled = _day_keys(labels).assign(attack=labels["attack"].astype(str))
    labelled = labelled.drop_duplicates(keys)
    flagged = _day_keys(outliers).drop_duplicates()
    hits = labelled.merge(flagged, on=keys, how="inner")
    found = hits["attack"].value_counts()
    by_attack = {
        str(kind): {"labelled": int(count), "found": int(found.get(kind, 0))}
        for kind, count in labelled["attack"].value_counts().sort_index().items()
    }
    return {
        "labelled_user_days": len(labelled),
        "labelled_in_outliers": len(hits),
        "outliers": len(flagged),
        "by_attack": by_attack,
    }


def _day_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """Return Date (naive UTC day), DstDomain and DstUser (case-folded) of `frame`."""
    dates = pd.to_datetime(frame["Date"])
    if dates.dt.tz is not None:
        dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
    return pd.DataFrame(
        {
            "Date": dates.dt.normalize(),
            "DstDomain": frame["DstDomain"].astype(str).str.casefold(),
            "DstUser": frame["DstUser"].astype(str).str.casefold(),
        },
        index=frame.index,
    )

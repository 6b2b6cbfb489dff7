"""
What a scheduled hunt remembers: new, recurring or seen; covered by a verdict or not.

`mark` compares a run's reported outliers with the findings of earlier runs:

``seen``
    the same account-day (``finding``) was reported before;
``recurring``
    not this day, but the same account with the same evidence (``evidence``)
    was reported before, on another day;
``new``
    neither.

An incident is "new" when any member is new, "seen" when all are, else
"recurring".

`covered` applies the analyst's verdicts. A benign verdict hides, in later
runs, the outliers it covers by its scope:

``day``
    that account-day, as long as the day names nothing the verdict had not
    seen (the same evidence, or only named items it covered);
``evidence``
    that account with the same evidence id, any day;
``account``
    that account any day, but only when every named item of the new day was
    already named by a finding some benign account verdict covered.

A verdict never hides evidence that is new: an item known only by a count
(``?kind:count``, see `fingerprints`) is never covered. A malicious verdict
hides nothing; the outliers it covers (same scopes, without the evidence
condition) are flagged ``verdict`` "malicious", and a malicious verdict
covering an outlier keeps any benign one from hiding it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .fingerprints import UNNAMED, fingerprints

__all__ = ["STATUSES", "Coverage", "covered", "mark", "status_counts"]

#: Statuses of a reported outlier or incident, in report order.
STATUSES = ("new", "recurring", "seen")

_PRINT_COLUMNS = ("finding", "evidence", "account_key", "items")
_PAIR_COLUMNS = ("row", "id", "scope", "note", "verdict", "ok")


def mark(
    outliers: pd.DataFrame, incidents: pd.DataFrame, history: pd.DataFrame | None
) -> tuple[pd.Series, pd.Series]:
    """
    Return the status of each outlier and of each incident, given earlier runs' findings.

    Parameters
    ----------
    outliers : pd.DataFrame
        Reported outliers with ``finding`` and ``evidence`` (and
        ``incident`` for the incidents' status).
    incidents : pd.DataFrame
        The run's incidents (``incident`` numbers).
    history : pd.DataFrame or None
        ``finding`` and ``evidence`` of what earlier runs reported; None or
        empty: everything is new.

    Returns
    -------
    (pd.Series, pd.Series)
        Status per outlier (index of `outliers`) and per incident (index
        of `incidents`).

    Examples
    --------
    >>> now = pd.DataFrame({"finding": ["a", "b", "c"], "evidence": ["x", "y", "z"],
    ...                     "incident": [1, 1, 2]})
    >>> before = pd.DataFrame({"finding": ["a", "q"], "evidence": ["x", "y"]})
    >>> ours, theirs = mark(now, pd.DataFrame({"incident": [1, 2]}), before)
    >>> ours.tolist(), theirs.tolist()
    (['seen', 'recurring', 'new'], ['recurring', 'new'])

    """
    status = np.full(len(outliers), "new", dtype=object)
    if history is not None and len(history):
        status[outliers["evidence"].isin(history["evidence"]).to_numpy()] = "recurring"
        status[outliers["finding"].isin(history["finding"]).to_numpy()] = "seen"
    ours = pd.Series(status, index=outliers.index, name="status", dtype=object)
    theirs = pd.Series("new", index=incidents.index, name="status", dtype=object)
    if len(incidents) and "incident" in outliers.columns and len(outliers):
        incident = outliers["incident"].to_numpy()
        any_new = (ours == "new").groupby(incident).any()
        all_seen = (ours == "seen").groupby(incident).all()
        each = pd.Series(
            np.where(any_new, "new", np.where(all_seen, "seen", "recurring")), index=any_new.index
        )
        theirs[:] = each.reindex(incidents["incident"].to_numpy()).fillna("new").to_numpy()
    return ours, theirs


def status_counts(status: pd.Series) -> dict[str, int]:
    """
    Count statuses: {"new": n, "recurring": n, "seen": n}.

    Examples
    --------
    >>> status_counts(pd.Series(["new", "seen", "new"]))
    {'new': 2, 'recurring': 0, 'seen': 1}

    """
    counted = status.value_counts()
    return {name: int(counted.get(name, 0)) for name in STATUSES}


class Coverage(pd.DataFrame):
    """
    Per outlier, what the verdicts say (a DataFrame; see `covered`).

    Columns: ``hidden`` (a benign verdict hides it), ``verdict_id``,
    ``scope`` and ``note`` (of that verdict: 0 and "" when none) and
    ``malicious`` (a malicious verdict covers it).
    """


def _prints(outliers: pd.DataFrame) -> pd.DataFrame:
    if all(name in outliers.columns for name in _PRINT_COLUMNS):
        return outliers
    return fingerprints(outliers)


def _subset(items: tuple, known: set) -> bool:
    return all(not item.startswith(UNNAMED) and item in known for item in items)


def _matches(prints: pd.DataFrame, verdicts: pd.DataFrame) -> pd.DataFrame:
    """Return the (outlier row, verdict) pairs of each scope; ``ok``: the evidence allows it."""
    rows = prints[list(_PRINT_COLUMNS)].reset_index(drop=True).assign(row=np.arange(len(prints)))
    given = verdicts.rename(columns={name: f"v_{name}" for name in _PRINT_COLUMNS})
    keys = {"day": ["finding"], "evidence": ["account_key", "evidence"], "account": ["account_key"]}
    found = []
    for scope, on in keys.items():
        chosen = given[given["scope"] == scope]
        both = rows.merge(chosen, left_on=on, right_on=[f"v_{name}" for name in on])
        if scope == "day":  # the same evidence, or nothing named the verdict had not seen
            same = (both["evidence"] == both["v_evidence"]).to_numpy()
            ok = [
                bool(equal) or _subset(items, set(known))
                for equal, items, known in zip(same, both["items"], both["v_items"], strict=True)
            ]
        elif scope == "account":
            ok = _account_ok(both, chosen)
        else:
            ok = [True] * len(both)
        found.append(both.assign(scope=scope, ok=np.asarray(ok, dtype=bool))[list(_PAIR_COLUMNS)])
    return pd.concat(found, ignore_index=True)


def _account_ok(both: pd.DataFrame, chosen: pd.DataFrame) -> list[bool]:
    """Whether every named item of each row was named by an account's benign account verdicts."""
    benign = chosen[chosen["verdict"] == "benign"]
    known = {
        key: set().union(*map(set, items))
        for key, items in benign.groupby("v_account_key")["v_items"]
    }
    return [
        _subset(items, known.get(key, set()))
        for key, items in zip(both["account_key"], both["items"], strict=True)
    ]


def covered(outliers: pd.DataFrame, verdicts: pd.DataFrame) -> Coverage:
    r"""
    Return which outliers a benign verdict hides and which a malicious verdict covers.

    Parameters
    ----------
    outliers : pd.DataFrame
        Reported outliers: either their `fingerprints` (``finding``,
        ``evidence``, ``account_key``, ``items``) or the account-day rows
        they are computed from.
    verdicts : pd.DataFrame
        Active verdicts (`StateStore.verdicts`): ``id``, ``verdict``,
        ``scope``, ``account_key``, ``finding``, ``evidence``, ``items``,
        ``note``.

    Returns
    -------
    Coverage
        Same index as `outliers` (see the module's text for the rules). A
        row several benign verdicts hide names the latest.

    Examples
    --------
    >>> prints = pd.DataFrame({"finding": ["f1", "f2"], "evidence": ["e1", "e2"],
    ...                        "account_key": ["c\\a", "c\\a"],
    ...                        "items": [("src_host:ws1",), ("src_host:ws9",)]})
    >>> said = pd.DataFrame({"id": [1], "verdict": ["benign"], "scope": ["account"],
    ...                      "account_key": ["c\\a"], "finding": ["f0"], "evidence": ["e0"],
    ...                      "items": [("src_host:ws1",)], "note": ["backup job"]})
    >>> covered(prints, said)["hidden"].tolist()
    [True, False]

    """
    prints = _prints(outliers)
    result = pd.DataFrame(
        {"hidden": False, "verdict_id": 0, "scope": "", "note": "", "malicious": False},
        index=prints.index,
    )
    if verdicts is None or verdicts.empty or prints.empty:
        return Coverage(result)
    pairs = _matches(prints, verdicts)
    bad = pairs.loc[pairs["verdict"] == "malicious", "row"].unique()
    good = pairs[(pairs["verdict"] == "benign") & pairs["ok"] & ~pairs["row"].isin(bad)]
    good = good.sort_values("id").drop_duplicates("row", keep="last")
    rows = good["row"].to_numpy(dtype=int)
    result.iloc[rows, result.columns.get_loc("hidden")] = True
    result.iloc[rows, result.columns.get_loc("verdict_id")] = good["id"].to_numpy(dtype=int)
    result.iloc[rows, result.columns.get_loc("scope")] = good["scope"].to_numpy(dtype=object)
    result.iloc[rows, result.columns.get_loc("note")] = good["note"].to_numpy(dtype=object)
    result.iloc[bad.astype(int), result.columns.get_loc("malicious")] = True
    return Coverage(result)

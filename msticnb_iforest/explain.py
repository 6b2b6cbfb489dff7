"""
Explain flagged user-days: SHAP attributions and analyst-language reasons.

SHAP's TreeExplainer attributes an Isolation Forest's average path length
(how many splits it takes to isolate a row) to the features. A short path
means anomalous, so **negative** SHAP values push a user-day towards being
an outlier and the most negative features are its top contributors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .features import FeatureSet
from .features.clauses import reason_text
from .forest_paths import average_path_length
from .model import Selection
from .wording import counts_text

if TYPE_CHECKING:
    from sklearn.ensemble import IsolationForest

__all__ = [
    "EXPLANATION_COLUMNS",
    "Explained",
    "average_path_length",
    "explain_selection",
    "explain_outliers",
    "forest_as_shap_trees",
    "rarity",
    "shap_values_for",
    "top_features",
]


#: The columns of a hunt's ``explanations``, in this order.
EXPLANATION_COLUMNS = (
    "Date",
    "DstDomain",
    "DstUser",
    "score",
    "top_features",
    "evidence",
    "reason",
    "clauses",
)


def shap_values_for(model: IsolationForest, rows: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """
    Compute SHAP values of a fitted Isolation Forest for some rows.

    Parameters
    ----------
    model : sklearn.ensemble.IsolationForest
        The fitted forest.
    rows : pd.DataFrame
        Model features of the rows to explain (usually the outliers only:
        SHAP costs 1-6 ms per row with the packaged forests).

    Returns
    -------
    tuple of (pd.DataFrame, float)
        SHAP values with the index and columns of `rows`, and the
        explainer's expected value (mean path length over the training
        sample). Each row's values plus the expected value add up to the
        row's average path length; negative values push towards anomalous.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.ensemble import IsolationForest
    >>> rng = np.random.default_rng(0)
    >>> table = pd.DataFrame(rng.poisson(3.0, (200, 2)), columns=["a", "b"]).astype(float)
    >>> forest = IsolationForest(n_estimators=20, random_state=0).fit(table)
    >>> values, expected = shap_values_for(forest, table.head(3))
    >>> values.shape
    (3, 2)

    """
    import shap  # imported here: shap is slow to import and optional at run time

    explainer = shap.TreeExplainer(forest_as_shap_trees(model))
    expected = float(np.ravel(explainer.expected_value)[0])
    if rows.empty:
        return pd.DataFrame(columns=rows.columns, index=rows.index, dtype="float64"), expected
    values = np.asarray(explainer.shap_values(rows), dtype="float64")
    return pd.DataFrame(values, index=rows.index, columns=rows.columns), expected


def forest_as_shap_trees(model: IsolationForest) -> dict:
    """
    Describe a fitted Isolation Forest as a SHAP custom tree model.

    SHAP's own conversion of an Isolation Forest calls a private
    scikit-learn function once per leaf (seconds for a few hundred trees);
    this builds the same trees from public attributes only (``estimators_``,
    ``estimators_features_`` and each ``tree_``), all leaves of a tree at
    once. Each node's value is its path length: a leaf's depth plus
    `average_path_length` of its rows, an inner node's the cover-weighted
    mean of its children's, scaled by ``1 / n_trees`` so that the model's
    output is the forest's average path length (``score_samples`` is
    ``-2 ** (-output / average_path_length(max_samples_))``).

    Parameters
    ----------
    model : sklearn.ensemble.IsolationForest
        The fitted forest.

    Returns
    -------
    dict
        ``{"trees": [...], "tree_output": "raw_value"}``, the format of
        SHAP's custom tree models, for ``shap.TreeExplainer``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.ensemble import IsolationForest
    >>> rows = np.random.default_rng(0).normal(size=(100, 3))
    >>> trees = forest_as_shap_trees(IsolationForest(n_estimators=5, random_state=0).fit(rows))
    >>> len(trees["trees"])
    5

    """
    scale = 1.0 / len(model.estimators_)
    trees = [
        _path_length_tree(estimator.tree_, np.asarray(features), scale)
        for estimator, features in zip(model.estimators_, model.estimators_features_, strict=True)
    ]
    return {"trees": trees, "tree_output": "raw_value"}


def _path_length_tree(tree: object, features: np.ndarray, scale: float) -> dict:
    """
    One tree of `forest_as_shap_trees`: node arrays in SHAP's custom-tree format.

    Every array is a copy: a fitted tree's arrays are writable views of the
    tree itself, and SHAP adjusts some of the arrays it is given.
    """
    left = np.array(tree.children_left, dtype=np.int64)
    right = np.array(tree.children_right, dtype=np.int64)
    size = np.array(tree.n_node_samples, dtype=np.int64)
    cover = np.array(tree.weighted_n_node_samples, dtype="float64")
    # Nodes level by level from the root; a child's number is always larger
    # than its parent's, so each level is found from the one before.
    levels = [np.zeros(1, dtype=np.int64)]
    while True:
        inner = levels[-1][left[levels[-1]] >= 0]
        if not len(inner):
            break
        levels.append(np.concatenate([left[inner], right[inner]]))
    values = np.zeros(len(left))
    for depth, nodes in enumerate(levels):
        leaves = nodes[left[nodes] < 0]
        values[leaves] = depth + average_path_length(size[leaves])
    # Inner nodes, deepest first: the cover-weighted mean of the children.
    for nodes in reversed(levels):
        inner = nodes[left[nodes] >= 0]
        lo, hi = left[inner], right[inner]
        values[inner] = (cover[lo] * values[lo] + cover[hi] * values[hi]) / (cover[lo] + cover[hi])
    feature = np.array(tree.feature, dtype=np.int64)
    split = feature >= 0
    feature[split] = features[feature[split]]  # the tree's columns -> the forest's columns
    missing_left = np.array(getattr(tree, "missing_go_to_left", np.ones(len(left))), dtype=bool)
    return {
        "children_left": left,
        "children_right": right,
        "children_default": np.where(missing_left, left, right),
        "features": feature,
        "thresholds": np.array(tree.threshold, dtype="float64"),
        "values": (values * scale).reshape(-1, 1),
        "node_sample_weight": cover,
    }


def top_features(contributions: pd.DataFrame, n_top: int = 3) -> list[list[str]]:
    """
    Name each row's strongest anomaly contributors.

    Parameters
    ----------
    contributions : pd.DataFrame
        One row per user-day, one column per feature; more negative means
        a stronger push towards anomalous (SHAP convention).
    n_top : int, default=3
        How many features to name per row. Features that push towards
        normal are never named.

    Returns
    -------
    list of list of str

    """
    if contributions.empty:
        return [[] for _ in range(len(contributions))]
    values = contributions.to_numpy(dtype="float64")
    order = np.argsort(values, axis=1, kind="stable")[:, :n_top]
    names = np.asarray(contributions.columns)
    picked = []
    for row_values, row_order in zip(values, order, strict=True):
        picked.append([str(names[i]) for i in row_order if row_values[i] < 0])
    return picked


def rarity(features: pd.DataFrame, rows: pd.Index) -> pd.DataFrame:
    """
    Score how unusual each feature value is across all user-days.

    Used to rank features when SHAP is switched off: minus the share of
    user-days with a strictly lower value, so a value shared by most days
    scores near 0 and the highest value of all scores near -1 (the SHAP
    sign convention: negative means towards anomalous). Only the `rows`
    asked for are scored; each column is sorted once.
    """
    picked = features.loc[rows]
    out = {}
    for col in features.columns:
        ordered = np.sort(features[col].to_numpy(dtype="float64"))
        below = np.searchsorted(ordered, picked[col].to_numpy(dtype="float64"), side="left")
        out[col] = -below / max(len(features), 1)
    return pd.DataFrame(out, index=picked.index, columns=features.columns)


def explain_outliers(
    feature_set: FeatureSet,
    outliers: pd.DataFrame,
    contributions: pd.DataFrame,
    n_top: int = 3,
) -> pd.DataFrame:
    """
    Describe each outlier in analyst language, as clauses and as one line.

    A reason is made of clauses, one fact each, put together by the
    feature set (`FeatureSet.clauses`). For the ``baseline`` set:
    clauses about one source across accounts (a password spray, a burst of
    workstation names) come first, as the most specific; the others follow
    strongest first by the model's own attribution (the most negative SHAP
    value, or `rarity` when SHAP is off); clauses whose value lies within
    the account's usual range are left out, but a reason always keeps its
    strongest clause (then saying it is within the usual range). The
    ``reason`` is the clauses' texts joined by "; ", then ". " and the
    feature set's sentence on the baseline ("Baseline: 16 days", or "too
    little data to judge" when the account has fewer than
    ``min_history_days`` other days).

    Parameters
    ----------
    feature_set : FeatureSet
        The feature set that produced the model inputs; it words the reasons.
    outliers : pd.DataFrame
        Outlier rows with their input columns, features and feature-set
        context columns, highest score first.
    contributions : pd.DataFrame
        Per-outlier feature contributions (SHAP values, or `rarity` when
        SHAP is off), same index as `outliers`.
    n_top : int, default=3
        Number of features to name per outlier.

    Returns
    -------
    pd.DataFrame
        Same index as `outliers`: Date, DstDomain, DstUser, score,
        top_features (list of names), evidence (list of "feature: value
        (usual ...)" strings), reason (one line) and clauses (list of dicts,
        strongest first: feature, label, value, usual_low, usual_high,
        text).

    Examples
    --------
    >>> found = explain_outliers(fset, hunted.outliers, shap_values)  # doctest: +SKIP
    >>> found.loc[found.index[0], "clauses"][0]["text"]  # doctest: +SKIP
    '10.99.60.209 failed against 57 accounts that day (usually 0 a day): a password spray pattern'

    """
    columns = [*EXPLANATION_COLUMNS]
    if outliers.empty:
        return pd.DataFrame(columns=columns, index=outliers.index)
    rows = contributions.loc[outliers.index]
    tops = top_features(rows, n_top)
    weights = [dict(zip(rows.columns, values, strict=True)) for values in rows.to_numpy()]
    evidence, reasons, clauses = [], [], []
    for (_, row), names, weight in zip(outliers.iterrows(), tops, weights, strict=True):
        told = feature_set.clauses(row, names, weight)
        evidence.append([feature_set.evidence(row, name) for name in names])
        clauses.append(told)
        reasons.append(reason_text(told, feature_set.baseline_text(row)))
    frame = outliers[["Date", "DstDomain", "DstUser", "score"]].copy()
    frame["top_features"] = tops
    frame["evidence"] = evidence
    frame["reason"] = reasons
    frame["clauses"] = clauses
    return frame[columns]


@dataclass
class Explained:
    """
    What explaining a hunt's outliers produced (see `explain_selection`).

    Attributes
    ----------
    shap_values : pd.DataFrame or None
        SHAP values of the explained outliers (None when SHAP is off).
    expected_value : float or None
        The SHAP explainer's expected value.
    explanations : pd.DataFrame
        Top features, evidence, a reason and its clauses per explained outlier.
    notes : list of str
        Why nothing is reported, or how many outliers were left unexplained.

    """

    shap_values: pd.DataFrame | None
    expected_value: float | None
    explanations: pd.DataFrame
    notes: list[str]


def explain_selection(
    feature_set: FeatureSet,
    model: IsolationForest,
    values: pd.DataFrame,
    selection: Selection,
    *,
    shap: bool = True,
    max_explained: int | None = None,
) -> Explained:
    """
    Explain the highest-scoring reported outliers and say what the hunt found.

    Parameters
    ----------
    feature_set : FeatureSet
        The feature set that computed `values`; it words the reasons.
    model : IsolationForest
        The fitted forest.
    values : pd.DataFrame
        The forest's inputs, one row per user-day of `selection`.
    selection : Selection
        The scored user-days and reported outliers (`model.select_outliers`).
    shap : bool, default=True
        Attribute with SHAP values; when False, rank features by `rarity`.
    max_explained : int, optional
        Explain only this many outliers, highest score first (None: all).

    Returns
    -------
    Explained

    Examples
    --------
    >>> found = explain_selection(fset, scores.model, frame.values, picked)  # doctest: +SKIP
    >>> found.explanations["reason"].head(3)  # doctest: +SKIP

    """
    outliers = selection.outliers
    explained = outliers if max_explained is None else outliers.head(max_explained)
    notes = _outcome_notes(selection, len(explained), shap, max_explained)
    shap_values = expected = None
    if shap:
        shap_values, expected = shap_values_for(model, values.loc[explained.index])
        contributions = shap_values
    else:
        contributions = rarity(values, explained.index)
    explanations = explain_outliers(feature_set, explained, contributions)
    return Explained(shap_values, expected, explanations, notes)


def _outcome_notes(
    selection: Selection, n_explained: int, shap: bool, max_explained: int | None
) -> list[str]:
    """Say why nothing is reported, or how many outliers were left unexplained."""
    outliers, mask = selection.outliers, selection.account_rows
    if outliers.empty and (mask is None or mask.any()):
        return [_no_outlier_note(selection.user_days, selection.account, mask)]
    if n_explained < len(outliers):
        what = "SHAP values and reasons" if shap else "Reasons"
        return [
            f"{what} cover the top {n_explained:,} of {len(outliers):,} outliers by "
            f"score (max_explained={max_explained}); the others are scored and listed "
            "but not explained. Raise max_explained to explain more."
        ]
    return []


def _no_outlier_note(user_days: pd.DataFrame, account: str | None, mask: Any) -> str:
    """Say why no outlier is reported: none flagged, all suppressed, or another account's."""
    held = user_days["suppressed"].to_numpy() != ""
    if mask is not None:
        others = int(user_days["is_outlier"].sum())
        own_held = held & mask
        text = f"No user-day of account '{account}' is reported as an outlier"
        if own_held.any():
            why = user_days.loc[own_held, "suppressed"].value_counts().to_dict()
            text += f" ({int(own_held.sum()):,} flagged by the model but suppressed: "
            text += f"{counts_text(why)})"
        if others:
            return text + f"; {others:,} user-day(s) of other accounts are."
        return text + "; nor is any other account's."
    if held.any():
        why = user_days.loc[held, "suppressed"].value_counts().to_dict()
        return (
            f"No user-day is reported: the model flagged {int(held.sum()):,}, all "
            f"suppressed ({counts_text(why)})."
        )
    return "No user-day was flagged as an outlier."

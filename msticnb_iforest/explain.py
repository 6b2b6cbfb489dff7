"""
Explain flagged user-days: SHAP attributions and analyst-language reasons.

SHAP's TreeExplainer attributes an Isolation Forest's average path length
(how many splits it takes to isolate a row) to the features. A short path
means anomalous, so **negative** SHAP values push a user-day towards being
an outlier and the most negative features are its top contributors.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from unittest import mock

import numpy as np
import pandas as pd

from .features import FeatureSet

__all__ = ["explain_outliers", "rarity", "shap_values_for", "top_features"]


def shap_values_for(model: object, rows: pd.DataFrame) -> tuple[pd.DataFrame, float]:
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
        row's average path length.

    """
    import shap  # imported here: shap is slow to import and optional at run time

    with _memoized_path_lengths():
        explainer = shap.TreeExplainer(model)
    expected = float(np.ravel(explainer.expected_value)[0])
    if rows.empty:
        return pd.DataFrame(columns=rows.columns, index=rows.index, dtype="float64"), expected
    values = np.asarray(explainer.shap_values(rows), dtype="float64")
    return pd.DataFrame(values, index=rows.index, columns=rows.columns), expected


@contextlib.contextmanager
def _memoized_path_lengths() -> Iterator[None]:
    """
    Make SHAP's conversion of an Isolation Forest fast.

    SHAP rebuilds every leaf's value with scikit-learn's private
    ``_average_path_length``, one validated call per leaf, which takes
    seconds for a hundred trees. The leaf sizes repeat (at most
    ``max_samples`` distinct ones), so inside this block each size is
    computed once by scikit-learn's own function and then reused: the
    explainer is the same, only built faster. If the function is not where
    it is expected, nothing is changed.
    """
    try:
        from sklearn.ensemble import _iforest
    except ImportError:  # pragma: no cover - layout of another scikit-learn
        yield
        return
    original = getattr(_iforest, "_average_path_length", None)
    if original is None:  # pragma: no cover
        yield
        return
    cache: dict[float, np.ndarray] = {}

    def remembered(n_samples_leaf):
        sizes = np.asarray(n_samples_leaf)
        if sizes.shape != (1,):
            return original(n_samples_leaf)
        key = sizes.item()
        if key not in cache:
            cache[key] = original(sizes)
        return cache[key].copy()

    with mock.patch.object(_iforest, "_average_path_length", remembered):
        yield


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
    Describe each outlier in analyst language.

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
        (usual ...)" strings) and reason (one line).

    """
    columns = ["Date", "DstDomain", "DstUser", "score", "top_features", "evidence", "reason"]
    if outliers.empty:
        return pd.DataFrame(columns=columns, index=outliers.index)
    tops = top_features(contributions.loc[outliers.index], n_top)
    evidence = []
    reasons = []
    for (_, row), names in zip(outliers.iterrows(), tops, strict=True):
        evidence.append([feature_set.evidence(row, name) for name in names])
        reasons.append(feature_set.reason(row, names))
    frame = outliers[["Date", "DstDomain", "DstUser", "score"]].copy()
    frame["top_features"] = tops
    frame["evidence"] = evidence
    frame["reason"] = reasons
    return frame[columns]

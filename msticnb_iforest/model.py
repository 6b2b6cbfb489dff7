"""Fit an Isolation Forest on user-day features and score every row."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from .errors import ParameterError

__all__ = ["ModelScores", "check_contamination", "fit_score"]


@dataclass
class ModelScores:
    """
    A fitted forest and its verdict on every row.

    Attributes
    ----------
    model : IsolationForest
        The fitted estimator.
    score : np.ndarray
        ``-decision_function``: higher is more anomalous, positive values are
        beyond the contamination threshold.
    is_outlier : np.ndarray
        True where the forest predicts -1.

    """

    model: IsolationForest
    score: np.ndarray
    is_outlier: np.ndarray


def check_contamination(contamination: float | str) -> float | str:
    """Validate the expected outlier share: ``"auto"`` or a number in (0, 0.5]."""
    if isinstance(contamination, str) and contamination == "auto":
        return contamination
    if isinstance(contamination, bool) or not isinstance(contamination, Real):
        raise ParameterError(f"contamination must be a number in (0, 0.5], got {contamination!r}.")
    if not 0.0 < float(contamination) <= 0.5:
        raise ParameterError(f"contamination must be in (0, 0.5], got {contamination!r}.")
    return float(contamination)


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def fit_score(
    features: pd.DataFrame,
    *,
    n_estimators: int = 100,
    contamination: float | str = 0.01,
    random_state: int | None = 42,
    max_samples: int | float | str = "auto",
    max_features: int | float = 1.0,
    bootstrap: bool = False,
    n_jobs: int | None = None,
) -> ModelScores:
    """
    Fit an Isolation Forest on all rows and score the same rows.

    Parameters
    ----------
    features : pd.DataFrame
        Numeric model inputs, one row per user-day, no missing values.
    n_estimators : int, default=100
        Number of trees.
    contamination : float or "auto", default=0.01
        Expected share of outliers; sets the threshold of `is_outlier`.
    random_state : int or None, default=42
        Seed for tree building; fixed seeds give identical results.
    max_samples : int, float or "auto", default="auto"
        Rows drawn to build each tree (see ``IsolationForest``).
    max_features : int or float, default=1.0
        Features drawn per tree; an integer larger than the number of
        features is capped at that number.
    bootstrap : bool, default=False
        Draw rows with replacement.
    n_jobs : int, optional
        Parallel jobs for fitting and scoring.

    Returns
    -------
    ModelScores

    Raises
    ------
    ParameterError
        If a parameter is out of range or there are no rows.

    """
    n_estimators = _check_int("n_estimators", n_estimators, 1)
    contamination = check_contamination(contamination)
    if random_state is not None:
        random_state = _check_int("random_state", random_state, 0)
    if len(features) == 0:
        raise ParameterError("No rows to fit the model on.")
    if isinstance(max_features, Integral):
        max_features = min(int(max_features), features.shape[1])
    matrix = features.to_numpy(dtype="float64")
    if not np.isfinite(matrix).all():
        raise ParameterError("Model features contain missing or infinite values.")
    model = IsolationForest(
        n_estimators=n_estimators,
        max_samples=max_samples,
        contamination=contamination,
        max_features=max_features,
        bootstrap=bootstrap,
        n_jobs=n_jobs,
        random_state=random_state,
    )
    model.fit(features)
    score = -model.decision_function(features)
    return ModelScores(model=model, score=score, is_outlier=score > 0)

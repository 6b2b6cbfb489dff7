"""Fit an Isolation Forest on user-day features and score every row."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from .errors import ParameterError
from .params import DEFAULT_CONTAMINATION, DEFAULT_RANDOM_STATE, PARAMETERS

__all__ = [
    "ModelScores",
    "check_contamination",
    "check_fit_rows",
    "fit_score",
    "n_threads",
    "score_rows",
]

#: Rows below which scoring runs in one thread.
_PARALLEL_MIN_ROWS = 20_000


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
    return PARAMETERS["contamination"].check(contamination)


def check_fit_rows(fit_rows: object) -> int | None:
    """Validate ``fit_rows``: None or an integer in [1, `params.MAX_FIT_ROWS`]."""
    return PARAMETERS["fit_rows"].check(fit_rows)


def n_threads(n_jobs: int | None) -> int:
    """
    Turn an ``n_jobs`` value into a thread count.

    None uses every CPU core this process may run on; a negative value
    counts back from that (-1 is every core, -2 all but one). Allowed:
    None or a non-zero integer in [-`params.MAX_JOBS`, `params.MAX_JOBS`].

    Raises
    ------
    ParameterError
        If `n_jobs` is not allowed.

    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    n_jobs = PARAMETERS["n_jobs"].check(n_jobs)
    if n_jobs is None:
        return cores
    return max(1, cores + 1 + n_jobs) if n_jobs < 0 else n_jobs


def _distinct_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """
    Find the distinct rows of a float32 matrix by their bits.

    Rows are grouped by a 64-bit hash of their bits, then every row is
    compared with the first row of its group; only if two different rows
    share a hash (practically never) are the rows grouped column by column
    instead.

    Returns
    -------
    tuple of np.ndarray
        Positions of the first occurrence of each distinct row (in order of
        appearance) and, per row, the number of its distinct row.

    """
    bits = np.ascontiguousarray(matrix).view(np.int32)
    digest = np.zeros(len(bits), dtype=np.uint64)
    for col in range(bits.shape[1]):
        digest = digest * np.uint64(0x100000001B3) ^ pd.util.hash_array(bits[:, col])
    codes = pd.factorize(digest)[0].astype(np.int64)
    first = _first_rows(codes)
    if not np.array_equal(bits, bits[first][codes]):
        codes = np.zeros(len(bits), dtype=np.int64)
        for col in range(bits.shape[1]):
            part, uniques = pd.factorize(bits[:, col])
            codes = pd.factorize(codes * len(uniques) + part)[0].astype(np.int64)
        first = _first_rows(codes)
    return first, codes


def _first_rows(codes: np.ndarray) -> np.ndarray:
    """Positions of the first row of each code, for codes numbered in order of appearance."""
    # A row is new when its code exceeds every earlier one.
    new = np.ones(len(codes), dtype=bool)
    new[1:] = codes[1:] > np.maximum.accumulate(codes)[:-1]
    return np.flatnonzero(new)


def score_rows(
    model: IsolationForest, features: pd.DataFrame, n_jobs: int | None = None
) -> np.ndarray:
    """
    Return ``model.score_samples(features)``, computed faster on many rows.

    Rows with the same (float32) feature values get the same score, so
    each distinct row is scored once; large inputs are split into row
    blocks scored in parallel threads (the trees release the GIL). Every
    row's trees are summed in the same order as in scikit-learn, so the
    result equals ``score_samples`` bit for bit, whatever `n_jobs`.

    Parameters
    ----------
    model : IsolationForest
        A fitted forest.
    features : pd.DataFrame
        Model inputs with the columns the forest was fitted on.
    n_jobs : int, optional
        Threads (see `n_threads`); None uses every core.

    Returns
    -------
    np.ndarray
        Scores, lower is more anomalous (scikit-learn's convention).

    """
    matrix = features.to_numpy(dtype=np.float32)
    first, codes = _distinct_rows(matrix)
    distinct = pd.DataFrame(matrix[first], columns=features.columns)
    threads = min(n_threads(n_jobs), max(1, len(distinct) // _PARALLEL_MIN_ROWS))
    if threads <= 1:
        scores = model.score_samples(distinct)
    else:
        # One block per thread: every call re-validates the rows and dispatches
        # a task per tree, so fewer, larger blocks are faster.
        bounds = np.linspace(0, len(distinct), threads + 1).astype(int)
        blocks = [distinct.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        with ThreadPoolExecutor(threads) as pool:
            scores = np.concatenate(list(pool.map(model.score_samples, blocks)))
    return scores[codes]


def _fit_sample(
    features: pd.DataFrame, fit_rows: int | None, random_state: int | None
) -> pd.DataFrame:
    """Return the rows to build trees from: all, or a seeded sample of `fit_rows`."""
    if fit_rows is None or fit_rows >= len(features):
        return features
    # A generator of its own, so the forest's draws from `random_state` are unchanged.
    rng = np.random.default_rng(random_state)
    rows = np.sort(rng.choice(len(features), size=fit_rows, replace=False))
    return features.iloc[rows]


def fit_score(
    features: pd.DataFrame,
    *,
    n_estimators: int | None = 100,
    contamination: float | str = DEFAULT_CONTAMINATION,
    random_state: int | None = DEFAULT_RANDOM_STATE,
    max_samples: int | float | str = "auto",
    max_features: int | float = 1.0,
    bootstrap: bool = False,
    fit_rows: int | None = None,
    n_jobs: int | None = None,
) -> ModelScores:
    """
    Fit an Isolation Forest on all rows and score the same rows.

    The result equals fitting ``IsolationForest(contamination=...)`` and
    calling ``decision_function``, but each row is scored once instead of
    twice (scikit-learn scores the training rows inside ``fit`` to place
    the threshold, then again to predict), distinct rows are scored once
    and scoring runs in threads.

    Parameters
    ----------
    features : pd.DataFrame
        Numeric model inputs, one row per user-day, no missing values.
    n_estimators : int, default=100
        Number of trees, 1 to `params.MAX_ESTIMATORS` (None: 100).
    contamination : float or "auto", default=0.01
        Expected share of outliers, in (0, 0.5]; sets the threshold of
        `is_outlier`.
    random_state : int or None, default=42
        Seed for tree building, 0 to 2**32 - 1; fixed seeds give identical
        results.
    max_samples : int, float or "auto", default="auto"
        Rows drawn to build each tree (see ``IsolationForest``); an
        integer larger than the number of rows is capped at that number.
    max_features : int or float, default=1.0
        Features drawn per tree; an integer larger than the number of
        features is capped at that number.
    bootstrap : bool, default=False
        Draw rows with replacement.
    fit_rows : int, optional
        Build the trees from a seeded uniform sample of this many rows
        instead of from all rows (every row is still scored). Each tree
        then draws its `max_samples` rows from the sample, which is still a
        uniform draw from the whole table; the saving is scikit-learn's cost
        per tree of passing its draw as weights over *all* rows, which
        dominates fitting on a million rows. Two trees share about
        ``max_samples ** 2 / fit_rows`` rows, so ``100 * max_samples`` keeps
        them about 1 % alike. None, or a table no larger, fits on all rows
        (scikit-learn's result exactly).
    n_jobs : int, optional
        Threads for fitting and scoring (see `n_threads`); None uses every
        core. Results do not depend on it.

    Returns
    -------
    ModelScores

    Raises
    ------
    ParameterError
        If a parameter is out of range or there are no rows.

    """
    n_estimators = PARAMETERS["n_estimators"].check(n_estimators) or 100
    contamination = check_contamination(contamination)
    random_state = PARAMETERS["random_state"].check(random_state)
    threads = n_threads(n_jobs)
    if len(features) == 0:
        raise ParameterError("No rows to fit the model on.")
    if isinstance(max_features, Integral):
        max_features = min(int(max_features), features.shape[1])
    fit_rows = check_fit_rows(fit_rows)
    train = _fit_sample(features, fit_rows, random_state)
    if isinstance(max_samples, Integral):
        max_samples = min(int(max_samples), len(train))
    matrix = features.to_numpy(dtype="float64")
    if not np.isfinite(matrix).all():
        raise ParameterError("Model features contain missing or infinite values.")
    model = IsolationForest(
        n_estimators=n_estimators,
        max_samples=max_samples,
        contamination="auto",  # the threshold is placed below, from one scoring pass
        max_features=max_features,
        bootstrap=bootstrap,
        n_jobs=threads if threads > 1 and len(train) >= _PARALLEL_MIN_ROWS else None,
        random_state=random_state,
    )
    model.fit(train)
    normality = score_rows(model, features, threads)
    offset = _place_threshold(model, normality, contamination)
    score = -(normality - offset)
    return ModelScores(model=model, score=score, is_outlier=score > 0)


def _place_threshold(
    model: IsolationForest, normality: np.ndarray, contamination: float | str
) -> float:
    """
    Set a forest fitted with ``contamination="auto"`` to `contamination`, from its scores.

    ``IsolationForest.fit`` with a numeric contamination scores the training
    rows once more to place ``offset_`` at their ``100 * contamination``
    percentile. scikit-learn offers no public way to place the threshold
    from scores already computed, nor on rows other than those the trees
    were built from (`fit_score`'s ``fit_rows`` sample). So the documented
    attribute ``offset_`` is written here, the one place this package
    sets a fitted attribute, exactly as ``fit`` computes it; the returned
    model's ``decision_function`` (``score_samples - offset_``) and
    ``predict`` then agree with `ModelScores`. tests/model/test_model.py fails if
    ``fit`` ever places the threshold differently.

    Returns
    -------
    float
        The model's ``offset_``.

    """
    model.set_params(contamination=contamination)
    if contamination != "auto":
        model.offset_ = np.percentile(normality, 100.0 * contamination)
    return float(model.offset_)

"""
Fit an Isolation Forest on user-day features, score every row, pick the reported.

`fit_score` scores; `select_outliers` turns the scores into the hunt's
user-day table and the outliers it reports (the feature set's suppression
rule, the allow-list and an account filter applied, in that order).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from .errors import ParameterError
from .forest_paths import node_lengths, normality
from .identity import account_mask, allow_list_mask
from .params import DEFAULT_CONTAMINATION, DEFAULT_RANDOM_STATE, PARAMETERS

__all__ = [
    "ALERT_BUDGET",
    "ALLOW_LISTED",
    "ModelScores",
    "Selection",
    "check_contamination",
    "check_fit_rows",
    "fit_score",
    "n_threads",
    "score_rows",
    "select_outliers",
]

#: Why a flagged user-day of an ``allow_accounts`` account is not reported.
ALLOW_LISTED = "allow-listed account"
#: Why a flagged user-day beyond ``max_alerts_per_day`` on its day is not reported.
ALERT_BUDGET = "alert budget"

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
    # Column by column, so a column-ordered matrix (DataFrame.to_numpy) is not copied.
    bits = np.asfortranarray(matrix).view(np.int32)
    digest = np.zeros(len(bits), dtype=np.uint64)
    for col in range(bits.shape[1]):
        digest = digest * np.uint64(0x100000001B3) ^ pd.util.hash_array(bits[:, col])
    codes = pd.factorize(digest)[0].astype(np.int64)
    first = _first_rows(codes)
    if not all(np.array_equal(column, column[first][codes]) for column in bits.T):
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
    each distinct row is scored once (`forest_paths.normality`: one
    look-up per tree and row); large inputs are split into row blocks
    scored in parallel threads (the trees release the GIL). Every
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
    names = getattr(model, "feature_names_in_", None)
    if matrix.shape[1] != model.n_features_in_ or (
        names is not None and list(names) != list(features.columns)
    ):
        # scikit-learn's own checks say what is wrong with the columns.
        return model.score_samples(pd.DataFrame(matrix[first], columns=features.columns))[codes]
    distinct = np.ascontiguousarray(matrix[first])
    lengths = node_lengths(model)
    threads = min(n_threads(n_jobs), max(1, len(distinct) // _PARALLEL_MIN_ROWS))
    if threads <= 1:
        scores = normality(model, distinct, lengths)
    else:
        # One block per thread: the trees release the GIL while they walk a block.
        bounds = np.linspace(0, len(distinct), threads + 1).astype(int)
        blocks = [distinct[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        with ThreadPoolExecutor(threads) as pool:
            scores = np.concatenate(
                list(pool.map(normality, [model] * threads, blocks, [lengths] * threads))
            )
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
    train: np.ndarray | None = None,
) -> ModelScores:
    """
    Fit an Isolation Forest on the training rows (by default all) and score every row.

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
    train : np.ndarray of bool, optional
        Which rows the forest learns from (a scheduled hunt's baseline
        days). The trees are built from these rows only (the `fit_rows`
        sample is drawn among them) and the threshold is placed at the
        `contamination` share of *their* scores; every row is then scored
        against it. None trains on every row.

    Returns
    -------
    ModelScores

    Raises
    ------
    ParameterError
        If a parameter is out of range or there are no rows (or no
        training rows).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"n": [1.0, 2, 1, 2, 1, 30, 2, 30]})
    >>> history = np.array([True] * 6 + [False] * 2)  # learn from the first six
    >>> found = fit_score(rows, n_estimators=50, contamination=0.1, train=history)
    >>> found.is_outlier.tolist(), found.model.max_samples_
    ([False, False, False, False, False, True, False, True], 6)

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
    if train is not None:
        train = np.asarray(train, dtype=bool)
        if train.shape != (len(features),) or not train.any():
            raise ParameterError("No training rows to fit the model on.")
    learn = features if train is None or train.all() else features[train]
    sample = _fit_sample(learn, fit_rows, random_state)
    if isinstance(max_samples, Integral):
        max_samples = min(int(max_samples), len(sample))
    # Column by column: a float64 copy of the whole matrix is not needed.
    if not all(np.isfinite(features[name].to_numpy(dtype="float64")).all() for name in features):
        raise ParameterError("Model features contain missing or infinite values.")
    model = IsolationForest(
        n_estimators=n_estimators,
        max_samples=max_samples,
        contamination="auto",  # the threshold is placed below, from one scoring pass
        max_features=max_features,
        bootstrap=bootstrap,
        n_jobs=threads if threads > 1 and len(sample) >= _PARALLEL_MIN_ROWS else None,
        random_state=random_state,
    )
    model.fit(sample)
    normality = score_rows(model, features, threads)
    learned = normality if train is None else normality[train]
    offset = _place_threshold(model, learned, contamination)
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


@dataclass
class Selection:
    """
    The scored user-days and the outliers reported among them.

    Attributes
    ----------
    user_days : pd.DataFrame
        Every scored user-day: input columns, features, context, ``score``,
        ``suppressed`` (why a flagged day is not reported, or "") and
        ``is_outlier``.
    outliers : pd.DataFrame
        The reported user-days (of the account, when one is given), highest
        score first.
    suppressed : dict
        The forest's outliers held back, by reason.
    account : str or None
        The account the outliers are filtered to (None: every account).
    account_rows : np.ndarray or None
        Which user-days are the account's (None: no account given).
    notes : list of str
        What the analyst should know (an account with no user-days).

    """

    user_days: pd.DataFrame
    outliers: pd.DataFrame
    suppressed: dict[str, int]
    account: str | None = None
    account_rows: np.ndarray | None = None
    notes: list[str] | None = None


def select_outliers(
    table: pd.DataFrame,
    values: pd.DataFrame,
    context: pd.DataFrame,
    scores: ModelScores,
    reasons: pd.Series,
    *,
    allow_accounts: tuple[str, ...] | None = None,
    account: str | None = None,
    take_columns: bool = False,
    candidates: np.ndarray | None = None,
    max_alerts_per_day: int | None = None,
) -> Selection:
    """
    Join features and scores to a prepared table and pick the reported outliers.

    Parameters
    ----------
    table : pd.DataFrame
        The hunt's own prepared table; features and context are added to
        it in place (a name it already has takes the feature's values).
    values, context : pd.DataFrame
        A feature set's features (the forest's inputs) and context columns.
    scores : ModelScores
        The forest's scores of `values`.
    reasons : pd.Series
        Per row of `table`, why the feature set never reports it ("": it may).
    allow_accounts : tuple of str, optional
        Checked account patterns whose flagged days are held back as
        `ALLOW_LISTED`.
    account : str, optional
        Report only this account's outliers.
    take_columns : bool, default=False
        Move the columns of `values` and `context` into the table (leaving
        both frames without columns) instead of copying them: one column at
        a time is held twice, instead of every one (``hunt`` on big tables).
    candidates : np.ndarray of bool, optional
        The rows that may be reported at all (a scheduled hunt's hunt
        days); a flagged row outside them is neither reported nor counted
        as suppressed. None: every row.
    max_alerts_per_day : int, optional
        Report at most this many outliers per ``Date``, highest score first
        (ties: table order); the others are held back as `ALERT_BUDGET`
        and a note says how many on which days. Applied before the
        `account` filter. None: no cap.

    Returns
    -------
    Selection

    Examples
    --------
    >>> import pandas as pd
    >>> from msticnb_iforest.model import fit_score
    >>> table = pd.DataFrame({"DstDomain": "C", "DstUser": list("abcd"), "n": [1, 1, 1, 50]})
    >>> scores = fit_score(table[["n"]], n_estimators=10, contamination=0.25)
    >>> keep_all = pd.Series("", index=table.index)
    >>> picked = select_outliers(table, table[["n"]], pd.DataFrame(), scores, keep_all)
    >>> picked.outliers["DstUser"].tolist()
    ['d']

    """
    user_days = _user_days(table, values, context, take_columns)
    suppressed = reasons.to_numpy().astype(object)
    if allow_accounts:
        allowed = allow_list_mask(user_days, allow_accounts)
        suppressed[allowed & (suppressed == "")] = ALLOW_LISTED
    mask = account_mask(user_days, account).to_numpy() if account else None
    flagged = scores.is_outlier if candidates is None else scores.is_outlier & candidates
    held = np.full(len(user_days), "", dtype=object)
    held[flagged] = suppressed[flagged]
    reported = flagged & (suppressed == "")
    notes = []
    if max_alerts_per_day is not None:
        over = _over_budget(user_days["Date"], scores.score, reported, max_alerts_per_day)
        held[over], reported = ALERT_BUDGET, reported & ~over
        notes += _budget_notes(user_days["Date"], over, max_alerts_per_day)
    user_days["score"] = scores.score
    user_days["suppressed"] = held
    user_days["is_outlier"] = reported
    counts = pd.Series(held[held != ""], dtype=object).value_counts()
    if mask is not None:
        if not mask.any():
            notes.append(f"Account {account!r} has no user-days in the data.")
        reported = reported & mask
    return Selection(
        user_days=user_days,
        outliers=user_days[reported].sort_values("score", ascending=False, kind="stable"),
        suppressed={str(why): int(n) for why, n in counts.items()},
        account=account,
        account_rows=mask,
        notes=notes,
    )


def _over_budget(
    dates: pd.Series, score: np.ndarray, reported: np.ndarray, limit: int
) -> np.ndarray:
    """Mark the reported rows past the `limit` highest-scoring of their day (ties: row order)."""
    rows = np.flatnonzero(reported)
    picked = pd.DataFrame({"Date": dates.to_numpy()[rows], "score": score[rows]})
    rank = picked.groupby("Date", sort=False)["score"].rank(method="first", ascending=False)
    over = np.zeros(len(reported), dtype=bool)
    over[rows[rank.to_numpy() > limit]] = True
    return over


def _budget_notes(dates: pd.Series, over: np.ndarray, limit: int) -> list[str]:
    """Say how many outliers the alert budget left out, on which days."""
    if not over.any():
        return []
    per_day = pd.Series(dates.to_numpy()[over]).value_counts().sort_index()
    days = ", ".join(f"{pd.Timestamp(day):%Y-%m-%d} ({n:,})" for day, n in per_day.items())
    return [
        f"Alert budget (max_alerts_per_day={limit}): {int(over.sum()):,} more outlier(s) "
        f"left out, listed in user_days with suppressed 'alert budget': {days}."
    ]


def _user_days(
    table: pd.DataFrame, values: pd.DataFrame, context: pd.DataFrame, take: bool = False
) -> pd.DataFrame:
    """
    Add features and context to the hunt's own prepared table, in place.

    A name that occurs more than once takes its last occurrence (a feature
    replaces the input column it was computed from), at that position.
    Columns are appended one by one rather than concatenated: concatenating
    would consolidate (copy) the whole million-row frame. With `take`, each
    column is popped from its frame as it is added, so that its copy in the
    table replaces it rather than adding to it.
    """
    later = list(values.columns) + list(context.columns)
    for name in [col for col in table.columns if col in set(later)]:
        del table[name]
    for part in (values, context):
        for name in list(part.columns):
            if name in table.columns:  # a context column replaces a feature
                del table[name]
            table[name] = part.pop(name) if take else part[name]
    return table

"""The forest stage: equal to scikit-learn where promised, and the fit sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import IsolationForest

from msticnb_iforest import model
from msticnb_iforest.errors import ParameterError
from msticnb_iforest.model import fit_score, n_threads, score_rows


def _table(n_rows: int, seed: int = 0, planted: int = 0) -> pd.DataFrame:
    """Rows of 4 features with many repeated rows, and `planted` far-out rows at the end."""
    rng = np.random.default_rng(seed)
    values = rng.poisson(2.0, (n_rows, 4)).astype("float64")
    values[: n_rows // 3] = values[0]  # a third of the rows identical
    if planted:
        values[-planted:] = rng.uniform(40, 60, (planted, 4))
    return pd.DataFrame(values, columns=["a", "b", "c", "d"])


@pytest.mark.parametrize("n_jobs", [1, 2, -1])
def test_score_rows_equals_score_samples_bit_for_bit(monkeypatch, n_jobs):
    monkeypatch.setattr(model, "_PARALLEL_MIN_ROWS", 50)  # force threaded blocks
    table = _table(3_000)
    forest = IsolationForest(n_estimators=30, random_state=1).fit(table)
    expected = forest.score_samples(table)
    assert np.array_equal(score_rows(forest, table, n_jobs=n_jobs), expected)


def test_fit_score_equals_scikit_learn_with_contamination():
    table = _table(2_000, planted=5)
    ours = fit_score(table, n_estimators=50, contamination=0.01, random_state=3)
    reference = IsolationForest(n_estimators=50, contamination=0.01, random_state=3).fit(table)
    assert ours.model.offset_ == reference.offset_
    assert np.array_equal(ours.score, -reference.decision_function(table))
    assert np.array_equal(ours.is_outlier, reference.predict(table) == -1)


def test_scikit_learn_places_the_threshold_as_fit_score_does():
    # fit_score writes offset_ itself (model._place_threshold); this fails if
    # IsolationForest.fit ever places it otherwise, or decision_function and
    # predict stop being defined by it.
    table = _table(1_000, planted=4)
    for contamination in (0.01, 0.2):
        forest = IsolationForest(n_estimators=20, contamination=contamination, random_state=0)
        forest.fit(table)
        normality = forest.score_samples(table)
        assert forest.offset_ == np.percentile(normality, 100.0 * contamination)
        assert np.array_equal(forest.decision_function(table), normality - forest.offset_)
        assert np.array_equal(forest.predict(table) == -1, normality - forest.offset_ < 0)
    automatic = IsolationForest(n_estimators=5, random_state=0).fit(table)
    assert automatic.offset_ == -0.5


@pytest.mark.parametrize("fit_rows", [None, 3_000])
@pytest.mark.parametrize("contamination", ["auto", 0.02])
def test_returned_model_agrees_with_its_scores(fit_rows, contamination):
    # With a fit sample, fit could not have placed the threshold on every row;
    # the returned model's own predict and decision_function still agree.
    table = _table(6_000, seed=2, planted=8)
    ours = fit_score(
        table,
        n_estimators=30,
        max_samples=256,
        contamination=contamination,
        random_state=4,
        fit_rows=fit_rows,
    )
    assert ours.model.get_params()["contamination"] == contamination
    assert np.array_equal(ours.score, -ours.model.decision_function(table))
    assert np.array_equal(ours.is_outlier, ours.model.predict(table) == -1)
    if contamination == "auto":
        assert ours.model.offset_ == -0.5
    else:
        normality = ours.model.score_samples(table)
        assert ours.model.offset_ == np.percentile(normality, 100.0 * contamination)


def test_fit_rows_at_least_the_table_changes_nothing():
    table = _table(1_500)
    plain = fit_score(table, n_estimators=40, max_samples=256, random_state=7)
    same = fit_score(table, n_estimators=40, max_samples=256, random_state=7, fit_rows=1_500)
    bigger = fit_score(table, n_estimators=40, max_samples=256, random_state=7, fit_rows=10**6)
    assert np.array_equal(plain.score, same.score)
    assert np.array_equal(plain.score, bigger.score)


def test_fit_rows_builds_trees_from_a_seeded_sample_and_scores_every_row():
    table = _table(20_000, planted=10)
    args = dict(n_estimators=60, max_samples=256, contamination=0.01, fit_rows=4_000)
    first = fit_score(table, random_state=5, **args)
    again = fit_score(table, random_state=5, **args)
    other = fit_score(table, random_state=6, **args)
    assert np.array_equal(first.score, again.score)
    assert not np.array_equal(first.score, other.score)
    # Trees index into the 4,000-row sample, not the table.
    assert first.model.n_features_in_ == 4
    assert max(int(s.max()) for s in first.model.estimators_samples_) < 4_000
    assert len(first.score) == len(table)
    # The threshold still comes from every row: 1 % of them are flagged.
    assert abs(int(first.is_outlier.sum()) - 200) <= 1
    # Planted rows, whether or not the sample holds them, are the top scores.
    top = np.argsort(-first.score, kind="stable")[:10]
    assert set(top) == set(range(len(table) - 10, len(table)))


def test_fit_rows_caps_max_samples_at_the_sample():
    table = _table(5_000)
    scores = fit_score(table, n_estimators=10, max_samples=2_000, fit_rows=500, random_state=0)
    assert scores.model.max_samples_ == 500


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"fit_rows": 0}, "fit_rows"),
        ({"fit_rows": True}, "fit_rows"),
        ({"fit_rows": 2.5}, "fit_rows"),
        ({"n_estimators": 0}, "n_estimators"),
        ({"contamination": 0.7}, "contamination"),
        ({"contamination": "most"}, "contamination"),
        ({"random_state": -1}, "random_state"),
        ({"n_jobs": 0}, "n_jobs"),
    ],
)
def test_bad_parameters_are_named(kwargs, word):
    with pytest.raises(ParameterError, match=word):
        fit_score(_table(100), **kwargs)


def test_no_rows_and_non_finite_values_are_refused():
    with pytest.raises(ParameterError, match="No rows"):
        fit_score(_table(10).iloc[0:0])
    bad = _table(50)
    bad.iloc[3, 1] = np.inf
    with pytest.raises(ParameterError, match="infinite"):
        fit_score(bad)


def test_n_threads_counts_back_from_the_cores():
    cores = n_threads(None)
    assert cores >= 1
    assert n_threads(-1) == cores
    assert n_threads(-cores - 5) == 1
    assert n_threads(3) == 3


def test_baseline_fit_rows_reaches_the_forest():
    from msticnb_iforest.features.baseline import FIT_ROWS, BaselineFeatures

    assert BaselineFeatures().forest_params(10**6)["fit_rows"] == FIT_ROWS
    assert BaselineFeatures(fit_rows=None).forest_params(10**6)["fit_rows"] is None
    kept = BaselineFeatures(fit_rows=5_000).configured(min_history_days=2)
    assert (kept.fit_rows, kept.min_history_days) == (5_000, 2)
    for bad in (0, -3, 2.5, True, "all"):
        with pytest.raises(ParameterError, match="fit_rows"):
            BaselineFeatures(fit_rows=bad)


@pytest.mark.parametrize("collide", [False, True])
def test_distinct_rows_are_exact_even_when_hashes_collide(monkeypatch, collide):
    if collide:  # every row gets the same hash: the exact grouping must take over
        monkeypatch.setattr(
            model.pd.util, "hash_array", lambda values: np.zeros(len(values), dtype=np.uint64)
        )
    matrix = _table(2_000, seed=4).to_numpy(dtype=np.float32)
    matrix[5] = -0.0  # differs from 0.0 in its bits only: grouped apart, each scored
    matrix[6] = 0.0
    first, codes = model._distinct_rows(matrix)
    expected, inverse = np.unique(matrix.view(np.int32), axis=0, return_inverse=True)
    assert len(first) == len(expected)
    assert np.array_equal(matrix[first][codes].view(np.int32), matrix.view(np.int32))
    # Same code exactly when same row.
    assert np.array_equal(pd.factorize(inverse.reshape(-1))[0], pd.factorize(codes)[0])
    assert list(first) == sorted(first) and codes[first].tolist() == list(range(len(first)))

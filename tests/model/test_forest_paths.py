"""forest_paths.normality equals IsolationForest.score_samples bit for bit."""

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from msticnb_iforest.forest_paths import node_lengths, normality


@pytest.mark.parametrize("max_features", [1.0, 0.5, 2])
@pytest.mark.parametrize("bootstrap", [False, True])
def test_normality_equals_score_samples(max_features, bootstrap):
    rng = np.random.default_rng(7)
    rows = rng.poisson(2.0, (1_500, 5)).astype(np.float32)
    rows[:40] = rng.uniform(30, 50, (40, 5))
    forest = IsolationForest(
        n_estimators=25, max_features=max_features, bootstrap=bootstrap, random_state=2
    ).fit(rows)
    lengths = node_lengths(forest)
    assert np.array_equal(normality(forest, rows, lengths), forest.score_samples(rows))


def test_normality_of_a_forest_fitted_on_one_row():
    # One training row: c(1) = 0, so the scaled depth 0 / 0 is taken as 1 (score -0.5).
    rows = np.ones((1, 2), dtype=np.float32)
    forest = IsolationForest(n_estimators=3, random_state=0).fit(rows)
    assert normality(forest, rows).tolist() == forest.score_samples(rows).tolist() == [-0.5]

"""The seed feature set reproduces the original algorithm exactly."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from msticnb_iforest import hunt
from msticnb_iforest.features import get_feature_set
from msticnb_iforest.features.seed import SEED_FEATURES, seed_zscores
from msticnb_iforest.schema import prepare_summary

from ..conftest import EXPECTED_JSON


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads(EXPECTED_JSON.read_text())


@pytest.fixture(scope="module")
def seed_hunt(demo_table):
    return hunt(demo_table, feature_set="seed")


def test_every_row_matches_golden_features_and_scores(seed_hunt, expected):
    rows = pd.DataFrame(expected["rows"]).set_index("row")
    got = seed_hunt.user_days
    assert len(got) == len(rows) == 135
    assert list(got.index) == list(rows.index)
    for col in SEED_FEATURES:
        np.testing.assert_allclose(got[col], rows[col], rtol=0, atol=1e-9, err_msg=col)
    np.testing.assert_allclose(got["score"], rows["score"], rtol=0, atol=1e-9)
    flagged = got["score"] > 0
    assert list(got.index[flagged]) == list(rows.index[rows["anomaly"] == -1])


def test_outliers_are_exactly_the_two_expected(seed_hunt, expected):
    out = seed_hunt.outliers
    assert [
        (d.strftime("%-m/%-d/%Y"), u) for d, u in zip(out["Date"], out["DstUser"], strict=True)
    ] == [
        ("9/25/2022", "SVC-ACC-02"),
        ("9/16/2022", "SRVACC-04"),
    ]
    assert list(out.index) == [o["row"] for o in expected["outliers"]]
    np.testing.assert_allclose(out["score"], [o["score"] for o in expected["outliers"]], atol=1e-9)


def test_seed_settings(seed_hunt, expected):
    settings = expected["settings"]
    model = seed_hunt.model
    assert model.n_estimators == settings["n_estimators"] == 294
    assert model.max_features == settings["max_features"]
    assert model.max_samples == settings["max_samples"]
    assert model.bootstrap is settings["bootstrap"]
    assert model.random_state == settings["random_state"]
    assert seed_hunt.features == SEED_FEATURES


def test_seed_tree_rule():
    fset = get_feature_set("seed")
    assert fset.n_estimators(135, 6) == 294
    assert fset.n_estimators(499, 6) == 24 + 998
    assert fset.n_estimators(500, 6) == 100


def test_zscore_rule_by_hand():
    # account a: values 0, 0, 6 -> mean 2, sd sqrt(12) ; account b: constant 3 ; c: single 0
    values = pd.Series([0.0, 0.0, 6.0, 3.0, 3.0, 0.0])
    keys = [pd.Series(["a", "a", "a", "b", "b", "c"])]
    z, mean, std = seed_zscores(values, keys)
    sd = np.sqrt(12.0)
    expected = [
        0.0,  # (0 - 2) / sd < 0 -> log10(0 + 1)
        0.0,
        np.log10((6 - 2) / sd + 1),
        np.log10(3 + 1),  # std 0, value 3 -> log10(value + 1)
        np.log10(3 + 1),
        0.0,  # std undefined, value 0 -> 0
    ]
    np.testing.assert_allclose(z, expected, atol=1e-12)
    assert mean.tolist() == [2.0, 2.0, 2.0, 3.0, 3.0, 0.0]


def test_no_success_days_are_scored_but_not_reported(demo_table):
    table = demo_table.copy()
    # Make the top outlier a failures-only day: the seed drops it from the report.
    table.loc[129, "SuccessfulLogons"] = 0
    result = hunt(table, feature_set="seed", shap=False)
    assert 129 not in result.outliers.index
    assert result.user_days.loc[129, "suppressed"] in ("", "no successful logon")
    assert pd.notna(result.user_days.loc[129, "score"])


def test_missing_values_count_as_zero(demo_table):
    table = demo_table.copy()
    table["SrcHostNameSuccessfulAccess"] = np.nan
    table.loc[0, "FailedLogons"] = np.nan
    result = hunt(table, feature_set="seed", shap=False)
    assert (result.user_days["SrcHostNameSuccessfulAccess"] == 0).all()
    assert result.user_days.loc[0, "FailedLogons_zscore"] == 0
    prepared = prepare_summary(table)
    features = get_feature_set("seed").compute(prepared).values
    assert (features["SrcHostNameSuccessfulAccess"] == 0).all()
    assert features.notna().all().all()


def test_input_not_modified_and_deterministic(demo_table):
    before = demo_table.copy(deep=True)
    first = hunt(demo_table, feature_set="seed", shap=False)
    second = hunt(demo_table, feature_set="seed", shap=False)
    pd.testing.assert_frame_equal(demo_table, before)
    np.testing.assert_array_equal(first.user_days["score"], second.user_days["score"])
    assert list(first.outliers.index) == list(second.outliers.index)


def test_vectorized_zscores_scale():
    # Not a timing assert: a 200k-row table must go through the same code path.
    rng = np.random.default_rng(0)
    n = 200_000
    values = pd.Series(rng.poisson(3, n).astype(float))
    keys = [pd.Series(rng.integers(0, 10_000, n))]
    z, _, _ = seed_zscores(values, keys)
    assert z.notna().all() and (z >= 0).all()

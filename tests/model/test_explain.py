"""The explain stage: SHAP values from public forest attributes, rarity, and the reasons."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import IsolationForest

from msticnb_iforest import explain
from msticnb_iforest.explain import (
    average_path_length,
    explain_outliers,
    forest_as_shap_trees,
    rarity,
    shap_values_for,
    top_features,
)
from msticnb_iforest.features import get_feature_set
from msticnb_iforest.pipeline import hunt

shap = pytest.importorskip("shap")

COLUMNS = ["a", "b", "c", "d"]


def _table(n_rows: int = 600, seed: int = 0, planted: int = 3) -> pd.DataFrame:
    """Counts in 4 columns, a non-default index, and `planted` far-out rows at the end."""
    rng = np.random.default_rng(seed)
    values = rng.poisson(2.0, (n_rows, len(COLUMNS))).astype("float64")
    values[-planted:, 0] = 60.0  # far out in one column only
    return pd.DataFrame(values, columns=COLUMNS, index=np.arange(n_rows) * 10 + 5)


def _forest(table: pd.DataFrame, **kwargs) -> IsolationForest:
    settings = {"n_estimators": 40, "max_samples": 256, "random_state": 1, **kwargs}
    return IsolationForest(**settings).fit(table)


def _path_lengths(forest: IsolationForest, rows: pd.DataFrame) -> np.ndarray:
    """Average path length from the public score: score_samples = -2 ** (-h / c(max_samples_))."""
    scale = average_path_length(np.array([forest.max_samples_]))[0]
    return -np.log2(-forest.score_samples(rows)) * scale


# ------------------------------------------------------------ path lengths
def test_average_path_length_is_the_papers_formula():
    n = np.array([0, 1, 2, 3, 10, 256, 1024])
    by_hand = [
        0.0,
        0.0,
        1.0,
        *(2.0 * (np.log(k - 1.0) + np.euler_gamma) - 2.0 * (k - 1.0) / k for k in n[3:]),
    ]
    np.testing.assert_allclose(average_path_length(n), by_hand, rtol=0, atol=1e-12)
    # Shape is kept, integers are accepted.
    assert average_path_length(np.array([[2, 3]])).shape == (1, 2)


def test_average_path_length_gives_scikit_learns_scores():
    # score_samples is -2 ** (-mean path / c(max_samples_)); for one tree of one leaf
    # (all rows identical) the path is c(rows in the leaf), so the score is -0.5.
    rows = pd.DataFrame(np.ones((300, 2)), columns=["x", "y"])
    forest = IsolationForest(n_estimators=3, max_samples=100, random_state=0).fit(rows)
    assert all(est.tree_.node_count == 1 for est in forest.estimators_)
    np.testing.assert_allclose(forest.score_samples(rows), -0.5, rtol=1e-12)
    np.testing.assert_allclose(_path_lengths(forest, rows), average_path_length([100])[0])


# ------------------------------------------------------------- SHAP values
@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"bootstrap": True},
        {"max_features": 2},  # each tree sees a subset of the columns
        {"max_features": 1},
        {"max_samples": 600},
    ],
    ids=["default", "bootstrap", "two-features", "one-feature", "all-rows"],
)
def test_shap_values_add_up_to_scikit_learns_path_length(settings):
    # Fails if scikit-learn's path lengths ever mean something else than
    # depth + c(rows in the leaf), averaged over trees.
    table = _table()
    forest = _forest(table, **settings)
    rows = table.iloc[::7]
    values, expected = shap_values_for(forest, rows)
    total = expected + values.to_numpy().sum(axis=1)
    np.testing.assert_allclose(total, _path_lengths(forest, rows), rtol=1e-10, atol=1e-10)
    # The expected value is the mean path length over the trees' training rows.
    assert 1.0 < expected < 2 * np.log2(forest.max_samples_) + 2


def test_shap_values_equal_shaps_own_conversion():
    # SHAP converts an IsolationForest itself (with a private scikit-learn helper);
    # the public-attribute conversion gives the same values and expected value.
    table = _table()
    forest = _forest(table)
    rows = table.iloc[::5]
    ours, expected = shap_values_for(forest, rows)
    reference = shap.TreeExplainer(forest)
    np.testing.assert_allclose(ours.to_numpy(), reference.shap_values(rows), rtol=0, atol=1e-12)
    assert expected == pytest.approx(float(np.ravel(reference.expected_value)[0]), abs=1e-12)


def test_shap_values_keep_index_columns_and_are_deterministic():
    table = _table()
    forest = _forest(table)
    rows = table.iloc[[7, 3, 500, 3]]  # any order, a repeated label
    first, expected = shap_values_for(forest, rows)
    again, expected_again = shap_values_for(forest, rows)
    assert first.index.equals(rows.index) and list(first.columns) == COLUMNS
    assert first.dtypes.eq("float64").all()
    pd.testing.assert_frame_equal(first, again)
    assert expected == expected_again
    # A row's values do not depend on which other rows are explained with it.
    alone, _ = shap_values_for(forest, rows.iloc[[2]])
    np.testing.assert_array_equal(alone.to_numpy()[0], first.to_numpy()[2])


def test_shap_values_sign_convention_negative_is_anomalous():
    table = _table()
    forest = _forest(table)
    planted = table.iloc[-3:]
    values, expected = shap_values_for(forest, planted)
    # A planted row is isolated quickly: its path is shorter than average...
    assert (values.sum(axis=1) < 0).all()
    assert (_path_lengths(forest, planted) < expected).all()
    # ...and the column it is far out in pushes hardest towards anomalous.
    assert (values.idxmin(axis=1) == "a").all()
    assert [names[0] for names in top_features(values)] == ["a", "a", "a"]


def test_shap_values_for_no_rows():
    table = _table()
    values, expected = shap_values_for(_forest(table), table.iloc[0:0])
    assert values.empty and list(values.columns) == COLUMNS
    assert values.dtypes.eq("float64").all()
    assert np.isfinite(expected)


def test_explaining_leaves_the_forest_unchanged():
    # A fitted tree's arrays are writable views of the tree: the conversion must copy.
    table = _table()
    forest = _forest(table, max_features=2)
    before = forest.score_samples(table)
    features_before = [est.tree_.feature.copy() for est in forest.estimators_]
    shap_values_for(forest, table.head(20))
    np.testing.assert_array_equal(forest.score_samples(table), before)
    for est, feature in zip(forest.estimators_, features_before, strict=True):
        np.testing.assert_array_equal(est.tree_.feature, feature)


def test_forest_as_shap_trees_uses_forest_columns_and_scaled_path_lengths():
    table = _table()
    forest = _forest(table, max_features=2)
    model = forest_as_shap_trees(forest)
    assert model["tree_output"] == "raw_value"
    assert len(model["trees"]) == forest.n_estimators
    for tree, est, columns in zip(
        model["trees"], forest.estimators_, forest.estimators_features_, strict=True
    ):
        split = tree["features"] >= 0
        assert set(tree["features"][split]) <= set(columns)
        leaves = tree["children_left"] < 0
        # A leaf's value is (depth + c(rows)) / n_trees; a path is at least 0 long.
        assert (tree["values"][leaves, 0] >= 0).all()
        root = tree["values"][0, 0] * forest.n_estimators
        assert 0 < root <= est.tree_.max_depth + average_path_length([forest.max_samples_])[0]


def test_pipeline_uses_this_conversion(demo_table, monkeypatch):
    calls = []
    original = explain.forest_as_shap_trees

    def spy(model):
        calls.append(model)
        return original(model)

    monkeypatch.setattr(explain, "forest_as_shap_trees", spy)
    result = hunt(demo_table, feature_set="seed", shap=True)
    assert calls == [result.model]
    assert result.shap_values.index.equals(result.outliers.index[: len(result.shap_values)])


# ------------------------------------------------------------------ rarity
def test_rarity_is_minus_the_share_strictly_below():
    features = pd.DataFrame(
        {"x": [0.0, 0.0, 1.0, 5.0], "y": [3.0, 2.0, 1.0, 0.0]}, index=["p", "q", "r", "s"]
    )
    scored = rarity(features, pd.Index(["s", "p"]))
    assert scored.index.tolist() == ["s", "p"]
    assert list(scored.columns) == ["x", "y"]
    # x: 5 has 3 of 4 below it, 0 has none; y: 0 has none below it, 3 has 3 below.
    assert scored.loc["s"].tolist() == [-0.75, 0.0]
    assert scored.loc["p"].tolist() == [0.0, -0.75]
    assert ((scored <= 0) & (scored > -1)).all().all()


def test_rarity_of_no_rows_and_of_ties():
    features = pd.DataFrame({"x": [2.0, 2.0, 2.0]})
    assert rarity(features, pd.Index([])).empty
    assert rarity(features, features.index)["x"].tolist() == [0.0, 0.0, 0.0]


def test_rarity_ranks_the_planted_column_first():
    table = _table()
    scored = rarity(table, table.index[-3:])
    assert (scored.idxmin(axis=1) == "a").all()


# --------------------------------------------------------- explanations
def test_top_features_names_only_features_pushing_towards_anomalous():
    contributions = pd.DataFrame(
        [[-0.5, 0.2, -0.1, -0.7], [0.1, 0.2, 0.3, 0.0]], columns=COLUMNS, index=[4, 9]
    )
    assert top_features(contributions, n_top=3) == [["d", "a", "c"], []]
    assert top_features(contributions, n_top=1) == [["d"], []]
    assert top_features(contributions.iloc[0:0]) == []


def test_top_features_breaks_ties_by_column_order():
    contributions = pd.DataFrame([[-0.2, -0.2, -0.2]], columns=["z", "y", "x"])
    assert top_features(contributions, n_top=2) == [["z", "y"]]
    # Also with more columns than a small-array sort handles by insertion.
    many = pd.DataFrame([np.tile([-0.2, -0.1], 10)], columns=[f"f{i:02d}" for i in range(20)])
    assert top_features(many, n_top=4) == [["f00", "f02", "f04", "f06"]]


def _outliers(feature_set: str, demo_table: pd.DataFrame):
    result = hunt(demo_table, feature_set=feature_set, shap=False, contamination=0.05)
    return result, get_feature_set(feature_set)


@pytest.mark.parametrize("feature_set", ["seed", "baseline"])
def test_explain_outliers_aligns_to_the_outliers(feature_set, demo_table):
    result, fset = _outliers(feature_set, demo_table)
    outliers = result.outliers
    assert len(outliers) >= 3
    features = result.user_days[result.features]
    contributions = rarity(features, outliers.index)
    # Contributions in another order: they are looked up by index, not position.
    frame = explain_outliers(fset, outliers, contributions.iloc[::-1], n_top=2)
    assert frame.index.equals(outliers.index)
    assert list(frame.columns) == [
        "Date",
        "DstDomain",
        "DstUser",
        "score",
        "top_features",
        "evidence",
        "reason",
        "clauses",
    ]
    expected_top = top_features(contributions, n_top=2)
    assert frame["top_features"].tolist() == expected_top
    for names, evidence, reason in frame[["top_features", "evidence", "reason"]].itertuples(
        index=False
    ):
        assert len(evidence) == len(names) <= 2
        assert all(isinstance(text, str) and text for text in evidence)
        assert isinstance(reason, str) and reason
    np.testing.assert_array_equal(frame["score"], outliers["score"])
    # Same inputs, same words.
    pd.testing.assert_frame_equal(frame, explain_outliers(fset, outliers, contributions, n_top=2))


def test_explain_outliers_of_no_outliers(demo_table):
    result, fset = _outliers("seed", demo_table)
    empty = explain_outliers(fset, result.outliers.iloc[0:0], pd.DataFrame())
    assert empty.empty
    assert list(empty.columns) == [
        "Date",
        "DstDomain",
        "DstUser",
        "score",
        "top_features",
        "evidence",
        "reason",
        "clauses",
    ]


def test_explain_outliers_with_no_anomalous_contribution_says_so(demo_table):
    result, fset = _outliers("seed", demo_table)
    outliers = result.outliers.head(2)
    neutral = pd.DataFrame(0.0, index=outliers.index, columns=result.features)
    frame = explain_outliers(fset, outliers, neutral)
    assert frame["top_features"].tolist() == [[], []]
    assert all("unusual combination" in reason for reason in frame["reason"])


# ------------------------------------------------------------ reasons on the demo
@pytest.fixture(scope="module")
def demo_hunt():
    from msticnb_iforest.sources.demo import generate_demo

    return hunt(generate_demo().events, contamination=0.01)


def _spray_rows(found) -> pd.DataFrame:
    return found.explanations[found.outliers["SrcIpFailedAccounts"] == 57]


def test_demo_spray_reasons_lead_with_the_spray(demo_hunt):
    sprayed = _spray_rows(demo_hunt)
    assert len(sprayed) >= 15
    spray = "10.99.60.209 failed against 57 accounts that day (usually 0 a day): a password spray"
    for idx, expl in sprayed.iterrows():
        clauses = expl["clauses"]
        assert clauses[0]["feature"] == "spray_accounts"
        assert (clauses[0]["value"], clauses[0]["usual_high"]) == (57.0, 0.0)
        assert expl["reason"].startswith(spray)
        # The account's own clauses follow, strongest SHAP value first.
        shap_row = demo_hunt.shap_values.loc[idx]
        strengths = [shap_row[c["feature"]] for c in clauses[1:]]
        assert strengths == sorted(strengths)
        new = [i for i, c in enumerate(clauses) if "new to this account" in c["text"]]
        assert all(i > 0 for i in new)


def test_demo_reasons_leave_out_the_usual_and_keep_one_number_style(demo_hunt):
    from msticnb_iforest.features.clauses import within_usual

    expl = demo_hunt.explanations
    assert len(expl) == len(demo_hunt.outliers) >= 20
    for clauses in expl["clauses"]:
        assert clauses
        assert not any(within_usual(c) for c in clauses)
    reasons = " ".join(expl["reason"])
    assert "0.0" not in reasons and "day(s)" not in reasons and "per day" not in reasons
    assert "usual 1 a day" not in reasons and "usual 106" not in reasons
    # Every usual range in the same words, with integers and an en dash.
    usual = re.findall(r"usually [^ ]+ (?:new )?a day", reasons)
    assert len(usual) == reasons.count("usually") > 50
    assert all(re.fullmatch(r"usually \d[\d,]*(–\d[\d,]*)? (new )?a day", u) for u in usual)
    assert re.search(r"usually \d+–\d+ a day", reasons)
    assert not re.search(r"\d-\d", reasons)
    # The brute force with random workstation names says what its 201 names mean.
    ben = expl.set_index("DstUser").loc["ben.sanchez"]
    assert ben["clauses"][0]["text"] == (
        "201 distinct workstation names from one address (10.99.42.37): a name that changes "
        "on every attempt, as password-guessing tools send, not hundreds of real hosts"
    )
    assert "thousands" not in ben["reason"]


def test_demo_clauses_column_and_baseline_sentence(demo_hunt):
    keys = {"feature", "label", "value", "usual_low", "usual_high", "text"}
    expl = demo_hunt.explanations
    for idx, row in expl.iterrows():
        clauses = row["clauses"]
        assert all(set(c) == keys for c in clauses)
        assert all(isinstance(c["value"], float) and c["label"] for c in clauses)
        assert all(c["feature"] in demo_hunt.features for c in clauses)
        days = int(demo_hunt.outliers.loc[idx, "baseline_days"])
        joined = "; ".join(c["text"] for c in clauses)
        if days >= 5:
            assert row["reason"] == f"{joined}. Baseline: {days} days"
        else:  # a new hire's first days
            assert row["reason"].startswith(f"{joined}. Baseline: {days} day")
            assert "too little data to judge (fewer than 5 other days)" in row["reason"]
    # The demo has history enough: no hunt-level note.
    assert not any("Too little data" in note for note in demo_hunt.notes)

"""The picture of the whole population, and the score histogram's threshold."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from msticnb_iforest.pipeline import hunt
from msticnb_iforest.present.display import account_label
from msticnb_iforest.present.figures import Figures, histogram_threshold, make_plots
from msticnb_iforest.present.plots import png_bytes, score_histogram
from msticnb_iforest.present.population import (
    MAX_LABELS,
    correlation_plot,
    correlations,
    feature_words,
    population_plot,
    project,
)

FEATURES = ["failed_logons", "new_source_ips", "spray_accounts"]


@pytest.fixture(autouse=True)
def no_pyplot_figures_left():
    """The figures are built without pyplot: its registry stays as it was."""
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before


def _result(n_rows: int = 300, n_outliers: int = 12, seed: int = 3, **extra) -> SimpleNamespace:
    """A hand-made finished hunt: user-days, features, scores and the top outliers."""
    rng = np.random.default_rng(seed)
    values = rng.gamma(1.0, 1.0, size=(n_rows, len(FEATURES)))
    days = pd.DataFrame(values, columns=FEATURES, index=np.arange(100, 100 + n_rows))
    days["DstDomain"] = "CONTOSO"
    days["DstUser"] = [f"user{i % 40}" for i in range(n_rows)]
    days["Date"] = pd.Timestamp("2024-03-01") + pd.to_timedelta(np.arange(n_rows) // 40, "D")
    days["score"] = values.sum(axis=1) - np.sort(values.sum(axis=1))[-n_outliers - 1]
    days["is_outlier"] = days["score"] > 0
    days["suppressed"] = ""
    outliers = days[days["is_outlier"]].sort_values("score", ascending=False)
    return SimpleNamespace(user_days=days, outliers=outliers, features=list(FEATURES), **extra)


def _with_incidents(found: SimpleNamespace) -> SimpleNamespace:
    """Group the outliers as contract 1 says: the top one alone, the rest one spray."""
    outliers = found.outliers.copy()
    outliers["incident"] = [1] + [2] * (len(outliers) - 1)
    rest = outliers.iloc[1:]
    incidents = pd.DataFrame(
        {
            "incident": [1, 2],
            "kind": ["single", "password spray"],
            "lead": ["one day", "a spray"],
            "n_accounts": [1, rest["DstUser"].nunique()],
            "accounts": ["CONTOSO\\x", ", ".join(rest["DstUser"])],
            "first_day": [outliers["Date"].iloc[0], rest["Date"].min()],
            "last_day": [outliers["Date"].iloc[0], rest["Date"].max()],
            "sources": ["", "10.0.0.9"],
            "score": [outliers["score"].iloc[0], rest["score"].max()],
            "n_outliers": [1, len(rest)],
            "members": [str(outliers.index[0]), ", ".join(map(str, rest.index))],
        }
    )
    return SimpleNamespace(**{**vars(found), "outliers": outliers, "incidents": incidents})


def _collection(fig: Figure, gid: str = "outliers"):
    (ax,) = fig.axes
    (found,) = [c for c in ax.collections if c.get_gid() == gid]
    return found


def _labels(fig: Figure) -> list[str]:
    return [text.get_text() for text in fig.axes[0].texts]


# --------------------------------------------------------------- projection
def test_projection_shape_variance_and_determinism():
    days = _result().user_days[FEATURES]
    first, again = project(days), project(days.copy())
    assert first.coords.shape == (len(days), 2)
    assert first.loadings.shape == (2, len(FEATURES))
    np.testing.assert_array_equal(first.coords, again.coords)
    # The shares are those of an SVD of the standardized rows themselves.
    z = (days - days.mean()) / days.std(ddof=0)
    singular = np.linalg.svd(z.to_numpy(), compute_uv=False)
    np.testing.assert_allclose(first.explained, (singular**2 / (singular**2).sum())[:2])
    assert 0 < first.explained.sum() <= 1
    assert first.explained[0] >= first.explained[1]
    # Each component is signed so that its largest loading is positive, and has unit length.
    for vector in first.loadings:
        assert vector[np.argmax(np.abs(vector))] > 0
        assert np.linalg.norm(vector) == pytest.approx(1.0)
    np.testing.assert_allclose(first.coords, z.to_numpy() @ first.loadings.T)
    # A caller's frame is not changed.
    pd.testing.assert_frame_equal(days, _result().user_days[FEATURES])


def test_projection_of_one_line_has_all_variance_on_the_first_axis():
    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [0.0, 2.0, 4.0, 6.0]})
    found = project(frame)
    np.testing.assert_allclose(found.explained, [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(found.coords[:, 1], 0.0, atol=1e-12)
    assert list(np.round(found.coords[:, 0], 6)) == list(
        np.round(np.array([-3, -1, 1, 3]) / np.sqrt(2.5), 6)
    )


@pytest.mark.parametrize(
    ("frame", "explained"),
    [
        (pd.DataFrame({"a": [], "b": []}, dtype="float64"), [0.0, 0.0]),
        (pd.DataFrame({"a": [5.0], "b": [1.0]}), [0.0, 0.0]),
        (pd.DataFrame({"a": [2.0] * 5, "b": [7.0] * 5}), [0.0, 0.0]),
        (pd.DataFrame({"a": [1.0, 2.0, 3.0]}), [1.0, 0.0]),
    ],
    ids=["no rows", "one row", "constant", "one feature"],
)
def test_projection_edge_cases(frame, explained):
    found = project(frame)
    assert found.coords.shape == (len(frame), 2)
    assert np.isfinite(found.coords).all()
    np.testing.assert_allclose(found.explained, explained, atol=1e-12)


def test_projection_counts_missing_values_as_the_mean():
    frame = pd.DataFrame({"a": [1.0, np.nan, 3.0, np.inf], "b": [np.nan] * 4, "c": [0, 1, 0, 1.0]})
    found = project(frame)
    assert found.filled == 6
    assert np.isfinite(found.coords).all()
    filled = pd.DataFrame({"a": [1.0, 2.0, 3.0, 2.0], "b": [0.0] * 4, "c": [0, 1, 0, 1.0]})
    np.testing.assert_allclose(found.coords, project(filled).coords)


# ------------------------------------------------------------------ figure
def test_every_outlier_is_highlighted_where_it_is_projected():
    found = _result()
    fig, why = population_plot(found)
    assert why == "" and isinstance(fig, Figure)
    points = _collection(fig)
    assert len(points.get_offsets()) == len(found.outliers) == 12
    coords = project(found.user_days[FEATURES]).coords
    at = found.user_days.index.get_indexer(found.outliers.index)
    np.testing.assert_allclose(np.asarray(points.get_offsets()), coords[at])
    (ax,) = fig.axes
    cloud = [c for c in ax.collections if c is not points]
    assert sum(len(c.get_offsets()) for c in cloud) == len(found.user_days) - 12
    assert all(c.get_rasterized() for c in cloud)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["288 account-days", "reported outliers (12)"]


def test_axes_say_the_variance_share_and_the_features_in_words():
    found = _result()
    fig, _ = population_plot(found)
    shares = project(found.user_days[FEATURES]).explained
    (ax,) = fig.axes
    assert ax.get_xlabel().startswith(f"component 1: {shares[0]:.0%} of the variance\n→ more ")
    assert ax.get_ylabel().startswith(f"component 2: {shares[1]:.0%} of the variance\n→ ")
    words = {feature_words(name) for name in FEATURES}
    assert any(word in ax.get_xlabel() for word in words)
    assert "spray_accounts" not in ax.get_xlabel() + ax.get_ylabel()
    assert feature_words("spray_accounts") == "accounts its source failed on"
    assert feature_words("SrcIpFailedCount") == "src ip failed count"


def test_without_incidents_the_top_outliers_are_labelled():
    found = _result()
    fig, _ = population_plot(found)
    expected = [
        f"#{rank} {account_label(row.DstDomain, row.DstUser, 36)} {row.Date:%Y-%m-%d}"
        for rank, row in enumerate(found.outliers.head(MAX_LABELS).itertuples(), 1)
    ]
    assert sorted(_labels(fig)) == sorted(expected)
    assert len(_labels(found_fig := population_plot(found, max_labels=3)[0])) == 3
    assert all(t.get_parse_math() is False for t in found_fig.axes[0].texts)


def test_incidents_are_coloured_and_labelled():
    found = _with_incidents(_result())
    fig, _ = population_plot(found)
    labels = _labels(fig)
    spray = found.outliers.iloc[1]  # the spray's highest-scoring member
    top = found.outliers.iloc[0]
    assert sorted(labels) == sorted(
        [
            f"#1 single: {account_label(top.DstDomain, top.DstUser, 36)} {top.Date:%Y-%m-%d}",
            f"#2 password spray: {account_label(spray.DstDomain, spray.DstUser, 36)} "
            f"{spray.Date:%Y-%m-%d} (+10 more)",
        ]
    )
    colours = _collection(fig).get_facecolors()
    assert len(colours) == len(found.outliers)
    assert len({tuple(c) for c in colours[1:]}) == 1  # one incident, one colour
    assert tuple(colours[0]) != tuple(colours[1])
    assert "by incident" in fig.get_suptitle()


def test_outliers_without_an_incident_column_are_still_drawn():
    found = _with_incidents(_result())
    found.outliers = found.outliers.drop(columns="incident")
    fig, _ = population_plot(found)
    assert len(_collection(fig).get_offsets()) == 12
    assert all(label.startswith("#") and ":" not in label for label in _labels(fig))


def test_flagged_but_not_reported_days_are_rings_of_their_own():
    found = _result()
    held = found.outliers.index[:2]
    found.user_days.loc[held, "is_outlier"] = False
    found.user_days.loc[held, "suppressed"] = "no successful logon"
    found.outliers = found.outliers.drop(held)
    fig, _ = population_plot(found)
    (ax,) = fig.axes
    assert len(_collection(fig).get_offsets()) == 10
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["288 account-days", "flagged, not reported (2)", "reported outliers (10)"]


def test_normal_days_beyond_the_cap_are_a_seeded_sample():
    found = _result(n_rows=500)
    fig, _ = population_plot(found, max_normal=100)
    again, _ = population_plot(found, max_normal=100)
    (ax,), (ax2,) = fig.axes, again.axes
    cloud, cloud2 = ax.collections[0], ax2.collections[0]
    assert len(cloud.get_offsets()) == 100
    np.testing.assert_array_equal(cloud.get_offsets(), cloud2.get_offsets())
    assert len(_collection(fig).get_offsets()) == 12  # every outlier, whatever the cap
    assert ax.get_legend().get_texts()[0].get_text() == "100 of 488 account-days (a sample)"
    assert png_bytes(fig) == png_bytes(again)


@pytest.mark.parametrize("rows", [1, 2])
def test_one_or_two_account_days(rows):
    found = _result(n_rows=rows, n_outliers=0)
    found.outliers = found.user_days.head(1)
    fig, why = population_plot(found)
    assert why == "" and len(_collection(fig).get_offsets()) == 1
    assert png_bytes(fig, dpi=30).startswith(b"\x89PNG")


def test_constant_and_missing_features_still_draw():
    found = _result()
    found.user_days["failed_logons"] = 4.0
    found.user_days.loc[found.user_days.index[::3], "new_source_ips"] = np.nan
    fig, why = population_plot(found)
    assert why == "" and len(_collection(fig).get_offsets()) == 12
    assert "failed logons" not in fig.axes[0].get_xlabel()  # constant: moves along no axis
    found.user_days[FEATURES] = 1.0
    fig, _ = population_plot(found)
    assert fig.axes[0].get_xlabel() == "component 1: no variation"
    assert png_bytes(fig, dpi=30).startswith(b"\x89PNG")


def test_no_picture_says_why():
    found = _result()
    empty = SimpleNamespace(**{**vars(found), "user_days": found.user_days.iloc[:0]})
    assert population_plot(empty) == (
        None,
        "No population picture: there are no scored account-days.",
    )
    lacking = SimpleNamespace(**{**vars(found), "features": [*FEATURES, "gone$x$"]})
    fig, why = population_plot(lacking)
    assert fig is None and why.endswith("lack the model feature(s) gone$x$.")
    nothing = SimpleNamespace(**{**vars(found), "features": []})
    assert population_plot(nothing)[1] == "No population picture: the hunt has no model features."


def test_hostile_names_are_shown_escaped_and_never_as_mathtext():
    found = _result()
    odd = "$x^$\u202egnp.exe\x1b" + "y" * 500
    found.user_days["DstUser"] = odd
    found.outliers["DstUser"] = odd
    renamed = {"spray_accounts": "cost_$a$"}
    found.user_days = found.user_days.rename(columns=renamed)
    found.features = [renamed.get(name, name) for name in FEATURES]
    fig, _ = population_plot(found)
    texts = _labels(fig) + [fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()]
    assert all("\u202e" not in text and "\x1b" not in text for text in texts)
    assert all("\\u202e" in label and len(label) < 80 for label in _labels(fig))
    assert png_bytes(fig, dpi=30).startswith(b"\x89PNG")  # "$" is drawn as text


# --------------------------------------------------------------- histogram
def test_histogram_threshold_of_a_model_is_zero_named_with_the_contamination():
    found = _result(model=SimpleNamespace(offset_=-0.52), parameters={"contamination": 0.01})
    assert histogram_threshold(found) == (0.0, "model threshold (contamination 0.01)")


def test_histogram_threshold_without_a_model_is_the_lowest_flagged_score():
    found = _result()
    lowest = float(found.outliers["score"].min())
    assert lowest > 0
    assert histogram_threshold(found) == (lowest, "lowest flagged score")
    found.user_days["is_outlier"] = False
    assert histogram_threshold(found) == (lowest, "lowest flagged score")
    found.outliers = found.outliers.iloc[:0]
    assert histogram_threshold(found) == (0.0, "outlier threshold")


def test_histogram_marks_the_threshold_and_the_reported_outliers():
    found = _result(shap_values=None)
    lowest = float(found.outliers["score"].min())
    figures = make_plots(found, summary=False, per_outlier=False, trends=False, histogram=True)
    (ax,) = figures.score_histogram.axes
    (line,) = ax.lines
    assert list(line.get_xdata()) == [lowest, lowest]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["lowest flagged score", "reported outliers (12)"]
    assert [t.get_text() for t in ax.texts] == [f" {lowest:.3f}"]
    bars = ax.patches[60:]  # the reported outliers, over the same 60 bins
    assert sum(bar.get_height() for bar in bars) == 12
    plain = score_histogram([-0.2, 0.1, 0.3], bins=3, threshold=0.1, label="$x$ cut")
    (ax,) = plain.axes
    assert list(ax.lines[0].get_xdata()) == [0.1, 0.1] and len(ax.patches) == 3
    assert ax.get_legend().get_texts()[0].get_parse_math() is False


# --------------------------------------------------------------- make_plots
def test_make_plots_draws_the_population_by_default(table):
    found = hunt(table, feature_set="seed", shap=False)
    figures = make_plots(found, summary=False, per_outlier=False, trends=False)
    assert isinstance(figures.population_plot, Figure)
    assert len(_collection(figures.population_plot).get_offsets()) == len(found.outliers)
    assert isinstance(figures.correlation_plot, Figure)
    drawn = make_plots(found, trends=False, population=False)
    assert drawn.population_plot is None and drawn.correlation_plot is None
    png = make_plots(found, trends=False, as_png=True).population_plot
    assert isinstance(png, bytes) and png.startswith(b"\x89PNG")
    lacking = SimpleNamespace(**{**vars(found), "features": ["nope"]})
    figures = make_plots(lacking, summary=False, per_outlier=False, trends=False)
    assert figures.population_plot is None
    assert "lack the model feature(s) nope" in figures.plot_note


def test_figures_of_a_holder_made_before_the_population_plot():
    old = SimpleNamespace(
        shap_summary_plot=None,
        outlier_plots=[],
        trend_plots=[],
        score_histogram=None,
        plot_cap=4,
        plot_note="",
    )
    held = Figures.held_by(old)
    assert held is not None and held.plot_cap == 4 and held.population_plot is None


# ------------------------------------------------------------- correlations
def test_correlations_are_rank_correlations_and_constant_features_move_with_nothing():
    frame = pd.DataFrame({"a": [1, 2, 3, 40], "b": [1, 4, 9, 16], "c": 5, "d": [4, 3, 2, 1]})
    table = correlations(frame)
    assert table.loc["a", "b"] == pytest.approx(1.0)  # monotone, though not linear
    assert table.loc["a", "d"] == pytest.approx(-1.0)
    assert table["c"].isna().all() and table.loc["c"].isna().all()
    assert frame["a"].tolist() == [1, 2, 3, 40]  # the caller's frame is not changed


def test_correlations_over_a_seeded_sample_beyond_the_cap():
    rng = np.random.default_rng(0)
    x = rng.normal(size=5000)
    frame = pd.DataFrame({"x": x, "y": x + rng.normal(scale=0.5, size=5000)})
    whole = correlations(frame).loc["x", "y"]
    sampled = correlations(frame, max_rows=1000)
    assert sampled.equals(correlations(frame, max_rows=1000))
    assert abs(sampled.loc["x", "y"] - whole) < 0.05 and not sampled.equals(correlations(frame))


def test_correlation_plot_names_features_in_words_and_writes_each_value():
    found = _result()
    found.user_days["flat"] = 1.0
    found.features = [*FEATURES, "flat"]
    fig, why = correlation_plot(found)
    assert why == ""
    (ax, _bar) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        feature_words(name) for name in found.features
    ]
    written = [t.get_text() for t in ax.texts]
    assert len(written) == len(FEATURES) ** 2 and "1.00" in written  # the flat one: blank
    assert "constant here: " + feature_words("flat") in fig.get_suptitle()


def test_no_correlation_plot_says_why():
    found = _result()
    assert correlation_plot(SimpleNamespace(**{**vars(found), "features": ["x"]}))[0] is None
    one = SimpleNamespace(**{**vars(found), "features": FEATURES[:1]})
    assert correlation_plot(one) == (None, "Feature correlations need at least two features.")

"""The hunt's figures: axes, labels and titles, safe text from the data, no pyplot state."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from msticnb_iforest.pipeline import hunt
from msticnb_iforest.present.display import LABEL_WIDTH, TITLE_WIDTH, account_label, safe_text
from msticnb_iforest.present.plots import (
    outlier_plot,
    png_bytes,
    score_histogram,
    shap_summary_plot,
    trend_plot,
)

pytest.importorskip("shap")

#: A feature name with a control character, a bidi override and a "$" (mathtext).
HOSTILE = "odd\x1bname\u202e$x$"
LONG = "f" * 500


@pytest.fixture(scope="module")
def result(table):
    """A small seed hunt with SHAP values for its outliers."""
    found = hunt(table, feature_set="seed", shap=True, contamination=0.05)
    assert len(found.shap_values) >= 3
    return found


@pytest.fixture(autouse=True)
def no_pyplot_figures_left():
    """Each plot function must leave pyplot's figure registry as it found it (Agg, no GUI)."""
    plt.switch_backend("Agg")
    assert matplotlib.get_backend().lower() == "agg"
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before


def _ytick_texts(ax) -> list[str]:
    return [tick.get_text() for tick in ax.get_yticklabels()]


def _outlier_features(result) -> pd.DataFrame:
    return result.user_days.loc[result.shap_values.index, result.features]


# ------------------------------------------------------------ SHAP summary
def test_shap_summary_plot_has_one_row_per_feature_by_mean_impact(result):
    fig = shap_summary_plot(result.shap_values, _outlier_features(result))
    assert isinstance(fig, Figure)
    main, colorbar = fig.axes  # the plot and its colour bar
    expected = result.shap_values.abs().mean().sort_values(kind="stable").index.tolist()
    assert _ytick_texts(main) == expected  # least impact at the bottom
    assert main.get_xlabel() == "SHAP value (negative = towards anomalous)"
    assert main.get_title() == f"What drove the {len(result.shap_values)} outlier(s)"
    assert len(main.collections) == len(result.features)  # one scatter per feature
    assert all(len(c.get_offsets()) == len(result.shap_values) for c in main.collections)
    assert colorbar.get_ylabel() == "feature value"
    assert [t.get_text() for t in colorbar.get_yticklabels()] == ["low", "high"]


def test_shap_summary_plot_points_are_the_shap_values(result):
    fig = shap_summary_plot(result.shap_values, _outlier_features(result))
    main = fig.axes[0]
    by_label = dict(zip(_ytick_texts(main), main.collections, strict=True))
    for name, points in by_label.items():
        np.testing.assert_array_equal(points.get_offsets()[:, 0], result.shap_values[name])


def test_shap_summary_plot_feature_names_are_made_safe_and_cut():
    shap_values = pd.DataFrame({HOSTILE: [-0.5, -0.2], LONG: [-0.1, 0.0]}, index=[3, 8])
    features = pd.DataFrame({HOSTILE: [1.0, 2.0], LONG: [4.0, 4.0]}, index=[3, 8])
    labels = _ytick_texts(shap_summary_plot(shap_values, features).axes[0])
    assert labels == [safe_text(LONG, LABEL_WIDTH), safe_text(HOSTILE, LABEL_WIDTH)]
    assert all(len(label) <= LABEL_WIDTH for label in labels)
    assert labels[0].endswith("…")
    assert "\x1b" not in labels[1] and "\u202e" not in labels[1]


def test_shap_summary_plot_of_no_outliers_has_no_colour_bar(result):
    fig = shap_summary_plot(result.shap_values.iloc[0:0], _outlier_features(result).iloc[0:0])
    assert len(fig.axes) == 1
    assert fig.axes[0].get_title() == "What drove the 0 outlier(s)"


# ------------------------------------------------------------ one outlier
def test_outlier_plot_bars_sorted_coloured_and_labelled(result):
    label = result.shap_values.index[0]
    shap_row = result.shap_values.loc[label]
    feature_row = result.user_days.loc[label, result.features]
    fig = outlier_plot(shap_row, feature_row, "CONTOSO\\alice 2022-09-20", expected_value=10.5)
    (ax,) = fig.axes
    ordered = shap_row.sort_values(ascending=False)
    bars = ax.patches
    assert len(bars) == len(ordered)
    np.testing.assert_allclose([bar.get_width() for bar in bars], ordered.to_numpy())
    red, blue = "#c0392b", "#2e86c1"
    assert [to_hex(bar.get_facecolor()) for bar in bars] == [
        red if value < 0 else blue for value in ordered
    ]
    assert _ytick_texts(ax) == [f"{name} = {feature_row[name]:.3g}" for name in ordered.index]
    # The model's expected path length is no longer drawn: it means nothing to an analyst.
    assert ax.get_xlabel() == "SHAP value (red: towards anomalous)"
    assert ax.get_title() == "CONTOSO\\alice 2022-09-20"


def test_outlier_plot_title_and_labels_are_made_safe_and_cut():
    shap_row = pd.Series({HOSTILE: -0.3, LONG: 0.1})
    feature_row = pd.Series({HOSTILE: 2.0})  # LONG missing: shown as nan
    title = "DOM\\a$x^$b" + "\u202e" + "u" * 300  # "$x^$" is bad mathtext
    fig = outlier_plot(shap_row, feature_row, title)
    (ax,) = fig.axes
    assert ax.get_title() == safe_text(title, TITLE_WIDTH)
    assert len(ax.get_title()) <= TITLE_WIDTH and "\u202e" not in ax.get_title()
    labels = _ytick_texts(ax)
    assert labels == [
        f"{safe_text(LONG, LABEL_WIDTH)} = nan",
        f"{safe_text(HOSTILE, LABEL_WIDTH)} = 2",
    ]
    assert ax.get_xlabel() == "SHAP value (red: towards anomalous)"
    png_bytes(fig)  # the title is drawn as text, not refused as mathtext


# ------------------------------------------------------------------ trend
def test_trend_plot_one_panel_per_present_column(result):
    outlier = result.outliers.iloc[0]
    domain, user, day = outlier["DstDomain"], outlier["DstUser"], outlier["Date"]
    columns = ["FailedLogons", "SuccessfulLogons", "NotAColumn"]
    fig = trend_plot(result.user_days, domain, user, [day], columns)
    assert len(fig.axes) == 2  # the missing column gets no panel
    assert [ax.get_ylabel() for ax in fig.axes] == ["FailedLogons", "SuccessfulLogons"]
    title = fig.get_suptitle()
    assert title == (
        f"{account_label(domain, user)}: daily network logons (flagged {day.strftime('%Y-%m-%d')})"
    )
    rows = result.user_days[
        (result.user_days["DstDomain"] == domain) & (result.user_days["DstUser"] == user)
    ]
    daily = rows.groupby("Date")["FailedLogons"].sum()
    line = fig.axes[0].lines[0]
    np.testing.assert_array_equal(line.get_ydata(), daily.sort_index().to_numpy())
    # The flagged day: a vertical line and a marker on it.
    marks = [ln for ln in fig.axes[0].lines if list(ln.get_xdata()) == [day, day]]
    assert marks, "the flagged day is marked"


def test_trend_plot_account_name_is_made_safe_and_cut(result):
    days = result.user_days.copy()
    first = days.index[0]
    name = "evil\x07\u202e" + "x" * 400
    days.loc[days["DstUser"] == days.loc[first, "DstUser"], "DstUser"] = name
    domain = days.loc[first, "DstDomain"]
    fig = trend_plot(days, domain, name, [days.loc[first, "Date"]], ["FailedLogons"])
    title = fig.get_suptitle()
    assert title.startswith(account_label(domain, name) + ":")
    assert "\x07" not in title and "\u202e" not in title
    assert len(account_label(domain, name)) <= LABEL_WIDTH


def test_trend_plot_with_no_drawable_column_or_date(result):
    outlier = result.outliers.iloc[0]
    fig = trend_plot(result.user_days, outlier["DstDomain"], outlier["DstUser"], [], ["Nope"])
    (ax,) = fig.axes
    assert len(ax.lines) == 0
    assert fig.get_suptitle().endswith("(flagged )")


# -------------------------------------------------------------- histogram
def test_score_histogram_axes_and_threshold(result):
    fig = score_histogram(result.user_days["score"], bins=20)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "anomaly score (higher = more anomalous)"
    assert ax.get_ylabel() == "user-days (log)"
    assert ax.get_yscale() == "log"
    assert len(ax.patches) == 20
    counts = [bar.get_height() for bar in ax.patches]
    assert sum(counts) == len(result.user_days)
    (threshold,) = ax.lines
    assert list(threshold.get_xdata()) == [0, 0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["outlier threshold"]


# -------------------------------------------------------------------- png
def test_png_bytes_has_no_metadata_and_passes_bytes_through(result):
    data = png_bytes(score_histogram(np.array([-0.2, 0.0, 0.3])))
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert b"matplotlib" not in data.lower() and b"Software" not in data
    assert png_bytes(data) == data
    assert png_bytes(bytearray(data)) == data


def test_every_figure_renders(result):
    figures = [
        shap_summary_plot(result.shap_values, _outlier_features(result)),
        outlier_plot(result.shap_values.iloc[0], _outlier_features(result).iloc[0], "t"),
        trend_plot(
            result.user_days,
            result.outliers.iloc[0]["DstDomain"],
            result.outliers.iloc[0]["DstUser"],
            [result.outliers.iloc[0]["Date"]],
            ["FailedLogons"],
        ),
        score_histogram(result.user_days["score"]),
    ]
    for fig in figures:
        assert png_bytes(fig, dpi=40).startswith(b"\x89PNG")


@pytest.mark.parametrize("name", ["$x^$", "cost_$a$", "50$ \\frac{"])
def test_feature_names_that_look_like_mathtext_still_render(result, name):
    """A feature or column name is drawn as text, never parsed as a formula."""
    outliers = _outlier_features(result)
    idx = outliers.index[0]
    shap = result.shap_values.rename(columns={result.features[0]: name})
    row = outliers.loc[idx].rename({result.features[0]: name})
    figs = [
        shap_summary_plot(shap, outliers.rename(columns={result.features[0]: name})),
        outlier_plot(shap.loc[idx], row, "title", result.shap_expected_value),
    ]
    days = result.user_days.rename(columns={"FailedLogons": name})
    first = result.outliers.iloc[0]
    figs.append(trend_plot(days, first["DstDomain"], first["DstUser"], [first["Date"]], [name]))
    for fig in figs:
        assert png_bytes(fig)[:8] == b"\x89PNG\r\n\x1a\n"  # rendering would raise on bad math

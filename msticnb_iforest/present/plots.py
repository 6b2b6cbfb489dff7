"""
Matplotlib figures for the hunt: SHAP summaries, per-outlier bars, trends.

Figures are built with the object API (``matplotlib.figure.Figure``), not
pyplot, so making many of them leaks nothing and needs no GUI backend.
Every text drawn that comes from the data (account names, feature names,
a caller's title) goes through `display.safe_text` and is cut to a label
width: matplotlib lays text out glyph by glyph, so a name of a million
characters would otherwise take minutes per figure, and control or bidi
characters would be drawn as missing glyphs or reorder the title.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .display import LABEL_WIDTH, TITLE_WIDTH, account_label, safe_text

__all__ = [
    "outlier_plot",
    "png_bytes",
    "score_histogram",
    "shap_summary_plot",
    "trend_plot",
]

_TOWARD = "#c0392b"  # pushes towards anomalous
_AWAY = "#2e86c1"  # pushes towards normal


def shap_summary_plot(shap_values: pd.DataFrame, features: pd.DataFrame) -> Figure:
    """
    Plot every outlier's SHAP value per feature, coloured by the feature value.

    Parameters
    ----------
    shap_values : pd.DataFrame
        One row per outlier, one column per feature.
    features : pd.DataFrame
        The outliers' feature values (same shape and labels).

    Returns
    -------
    matplotlib.figure.Figure

    """
    names = list(shap_values.columns)
    fig = Figure(figsize=(8, 0.5 * len(names) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    order = np.argsort(shap_values.abs().mean().to_numpy())
    rng = np.random.default_rng(0)
    for pos, idx in enumerate(order):
        col = names[idx]
        x = shap_values[col].to_numpy(dtype="float64")
        val = features[col].to_numpy(dtype="float64")
        span = np.ptp(val) if len(val) else 0.0
        shade = (val - val.min()) / span if span > 0 else np.full_like(val, 0.5)
        jitter = rng.uniform(-0.2, 0.2, size=len(x))
        points = ax.scatter(x, pos + jitter, c=shade, cmap="coolwarm", vmin=0, vmax=1, s=18)
    ax.set_yticks(
        range(len(order)), [safe_text(names[i], LABEL_WIDTH) for i in order], parse_math=False
    )
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel("SHAP value (negative = towards anomalous)")
    ax.set_title(f"What drove the {len(shap_values)} outlier(s)")
    if len(order) and len(shap_values):
        bar = fig.colorbar(points, ax=ax, ticks=[0, 1])
        bar.ax.set_yticklabels(["low", "high"])
        bar.set_label("feature value")
    return fig


def outlier_plot(
    shap_row: pd.Series, feature_row: pd.Series, title: str, expected_value: float | None = None
) -> Figure:
    """
    Plot one outlier's SHAP value per feature as horizontal bars.

    Parameters
    ----------
    shap_row : pd.Series
        SHAP values of one user-day, indexed by feature.
    feature_row : pd.Series
        The same user-day's feature values.
    title : str
        Figure title (e.g. account and date); shown made safe and at most
        `display.TITLE_WIDTH` characters long.
    expected_value : float, optional
        The explainer's expected path length, shown in the axis label.

    Returns
    -------
    matplotlib.figure.Figure

    """
    ordered = shap_row.astype("float64").sort_values(ascending=False)
    fig = Figure(figsize=(8, 0.45 * len(ordered) + 1.4), layout="constrained")
    ax = fig.add_subplot()
    colors = [_TOWARD if v < 0 else _AWAY for v in ordered.to_numpy()]
    labels = [
        f"{safe_text(name, LABEL_WIDTH)} = {feature_row.get(name, np.nan):.3g}"
        for name in ordered.index
    ]
    ax.barh(range(len(ordered)), ordered.to_numpy(), color=colors)
    ax.set_yticks(range(len(ordered)), labels, parse_math=False)  # feature names may hold "$"
    ax.axvline(0, color="grey", lw=0.8)
    label = "SHAP value (red: towards anomalous)"
    if expected_value is not None:
        label += f"\nexpected path length {expected_value:.2f}"
    ax.set_xlabel(label)
    ax.set_title(safe_text(title, TITLE_WIDTH), parse_math=False)  # names may hold "$"
    return fig


def trend_plot(
    user_days: pd.DataFrame,
    domain: str,
    user: str,
    marked_dates: list[pd.Timestamp],
    columns: list[str],
) -> Figure:
    """
    Plot an account's daily values with its flagged day(s) marked.

    Parameters
    ----------
    user_days : pd.DataFrame
        Scored user-days (all accounts); rows of the account are selected.
    domain, user : str
        The account.
    marked_dates : list of pd.Timestamp
        Days to mark (the outlier day first).
    columns : list of str
        Input columns to draw, one panel each; duplicate rows of a day are
        added up.

    Returns
    -------
    matplotlib.figure.Figure

    """
    rows = user_days[(user_days["DstDomain"] == domain) & (user_days["DstUser"] == user)]
    present = [col for col in columns if col in rows.columns]
    daily = rows.groupby("Date")[present].sum(min_count=1).sort_index()
    fig = Figure(figsize=(9, 1.7 * max(len(present), 1) + 0.8), layout="constrained")
    axes = fig.subplots(max(len(present), 1), 1, sharex=True, squeeze=False)[:, 0]
    for ax, col in zip(axes, present, strict=False):
        ax.plot(daily.index, daily[col].fillna(0), marker="o", ms=3, color=_AWAY)
        ax.set_ylabel(
            safe_text(col, LABEL_WIDTH),
            rotation=0,
            ha="right",
            va="center",
            fontsize=8,
            parse_math=False,
        )
        for pos, day in enumerate(marked_dates):
            ax.axvline(day, color=_TOWARD, lw=1.5 if pos == 0 else 0.8, ls="-" if pos == 0 else ":")
        if marked_dates and marked_dates[0] in daily.index:
            ax.plot([marked_dates[0]], [daily.loc[marked_dates[0], col]], "o", color=_TOWARD, ms=7)
    axes[-1].tick_params(axis="x", labelrotation=30)
    day_txt = marked_dates[0].strftime("%Y-%m-%d") if marked_dates else ""
    account = account_label(domain, user)
    fig.suptitle(f"{account}: daily network logons (flagged {day_txt})", parse_math=False)
    return fig


def score_histogram(
    scores: pd.Series | np.ndarray,
    bins: int = 60,
    *,
    threshold: float = 0.0,
    label: str = "outlier threshold",
    flagged: pd.Series | np.ndarray | None = None,
) -> Figure:
    """
    Plot the distribution of anomaly scores with the outlier threshold.

    Parameters
    ----------
    scores : array-like
        ``-decision_function`` values; above 0 is flagged.
    bins : int, default=60
        Histogram bins.
    threshold : float, default=0.0
        Where the reporting threshold is (the model's is 0 on this scale);
        marked by a red line, its value written beside it.
    label : str, default="outlier threshold"
        The line's legend entry (shown made safe).
    flagged : array-like, optional
        Scores of the reported outliers, drawn in red over the same bins.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = score_histogram([-0.2, -0.1, 0.0, 0.05], bins=4, threshold=0.05)
    >>> fig.axes[0].lines[0].get_xdata()
    [0.05, 0.05]

    """
    values = np.asarray(scores, dtype="float64")
    fig = Figure(figsize=(8, 3.2), layout="constrained")
    ax = fig.add_subplot()
    _, edges, _ = ax.hist(values, bins=bins, color=_AWAY, log=True)
    value = float(threshold)
    handles = [ax.axvline(value, color=_TOWARD, lw=1.2, label=safe_text(label, TITLE_WIDTH))]
    if flagged is not None and len(flagged):
        marked = np.asarray(flagged, dtype="float64")
        bars = ax.hist(marked, bins=edges, color=_TOWARD, alpha=0.8, log=True)[2]
        bars.set_label(f"reported outliers ({len(marked):,})")
        handles.append(bars)
    ax.annotate(
        f" {value:.3f}",
        xy=(value, 0.97),
        xycoords=("data", "axes fraction"),
        va="top",
        ha="left",
        fontsize=8,
        color=_TOWARD,
        parse_math=False,
    )
    ax.set_xlabel("anomaly score (higher = more anomalous)")
    ax.set_ylabel("user-days (log)")
    # Above the axes, where no bar can be.
    legend = ax.legend(
        handles=handles,
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncols=len(handles),
        fontsize=8,
        frameon=False,
    )
    for text in legend.get_texts():
        text.set_parse_math(False)  # a caller's label may hold "$"
    return fig


def png_bytes(fig: Figure, dpi: int = 96) -> bytes:
    """
    Render a figure as PNG bytes without metadata (no software name or link).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure; PNG bytes are returned as they are.
    dpi : int, default=96
        Resolution.

    Returns
    -------
    bytes

    """
    if isinstance(fig, bytes | bytearray):
        return bytes(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()

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
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from .display import LABEL_WIDTH, TITLE_WIDTH, account_label, safe_text
from .measures import column_name

__all__ = [
    "outlier_plot",
    "png_bytes",
    "score_histogram",
    "shap_summary_plot",
    "trend_plot",
]

_TOWARD = "#c0392b"  # pushes towards anomalous
_AWAY = "#2e86c1"  # pushes towards normal


#: Fewer explained outliers than this get a bar chart instead of a dot summary.
MIN_SUMMARY_DOTS = 3

#: Smallest font of a figure, in points (readable at the report's width).
FONT_SIZE = 10


def _names(columns: list[str], names: Mapping[str, str] | None) -> list[str]:
    """Tick labels for feature columns: their plain names when given, made safe and cut."""
    names = names or {}
    return [safe_text(names.get(col, col), LABEL_WIDTH) for col in columns]


def shap_summary_plot(
    shap_values: pd.DataFrame,
    features: pd.DataFrame,
    names: Mapping[str, str] | None = None,
    row_labels: list[str] | None = None,
) -> Figure:
    """
    Plot every outlier's SHAP value per feature, coloured by the feature value.

    With fewer than `MIN_SUMMARY_DOTS` outliers a dot per outlier says
    little, so each outlier's values are drawn as bars instead (one bar
    per outlier and feature).

    Parameters
    ----------
    shap_values : pd.DataFrame
        One row per outlier, one column per feature.
    features : pd.DataFrame
        The outliers' feature values (same shape and labels).
    names : mapping, optional
        Plain names to show for the features (default: the feature names).
    row_labels : list of str, optional
        What to call each outlier in the legend of the bar chart drawn for
        fewer than `MIN_SUMMARY_DOTS` outliers (default: "outlier 1", ...).

    Returns
    -------
    matplotlib.figure.Figure

    """
    columns = list(shap_values.columns)
    fig = Figure(figsize=(8, 0.5 * len(columns) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    order = np.argsort(shap_values.abs().mean().to_numpy())
    if len(shap_values) < MIN_SUMMARY_DOTS:
        _summary_bars(ax, shap_values, [columns[i] for i in order], row_labels)
    else:
        _summary_dots(fig, ax, shap_values, features, [columns[i] for i in order])
    ax.set_yticks(range(len(order)), _names([columns[i] for i in order], names), parse_math=False)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel("SHAP value (negative = towards anomalous)")
    ax.set_title(f"What drove the {len(shap_values)} outlier(s)")
    return fig


def _summary_dots(fig, ax, shap_values, features, ordered: list[str]) -> None:
    """One dot per outlier and feature, coloured by the feature's value."""
    rng = np.random.default_rng(0)
    points = None
    for pos, col in enumerate(ordered):
        x = shap_values[col].to_numpy(dtype="float64")
        val = features[col].to_numpy(dtype="float64")
        span = np.ptp(val) if len(val) else 0.0
        shade = (val - val.min()) / span if span > 0 else np.full_like(val, 0.5)
        jitter = rng.uniform(-0.2, 0.2, size=len(x))
        points = ax.scatter(x, pos + jitter, c=shade, cmap="coolwarm", vmin=0, vmax=1, s=18)
    if points is not None:
        bar = fig.colorbar(points, ax=ax, ticks=[0, 1])
        bar.ax.set_yticklabels(["low", "high"])
        bar.set_label("feature value")


def _summary_bars(
    ax, shap_values: pd.DataFrame, ordered: list[str], row_labels: list[str] | None
) -> None:
    """One bar per outlier and feature (for one or two outliers), the first one darkest."""
    count = len(shap_values)
    if count == 0:
        return
    height = 0.8 / count
    table = shap_values[ordered].to_numpy(dtype="float64")
    handles = []
    for pos in range(count):
        widths = table[pos]
        # Bars are drawn bottom-up: the first outlier's bar is the upper one of each pair.
        offsets = np.arange(len(ordered)) + 0.4 - height * (pos + 0.5)
        colors = [_TOWARD if v < 0 else _AWAY for v in widths]
        alpha = 1.0 - 0.45 * pos
        ax.barh(offsets, widths, height=height * 0.9, color=colors, alpha=alpha)
        label = row_labels[pos] if row_labels and pos < len(row_labels) else f"outlier {pos + 1}"
        handles.append(Patch(color=_TOWARD, alpha=alpha, label=safe_text(label, LABEL_WIDTH)))
    if count > 1:
        ax.legend(handles=handles, loc="lower left", fontsize=FONT_SIZE - 1)


def outlier_plot(
    shap_row: pd.Series,
    feature_row: pd.Series,
    title: str,
    expected_value: float | None = None,
    labels: Mapping[str, str] | None = None,
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
        The explainer's expected value; accepted for callers of the
        earlier signature and not drawn (it is in model units).
    labels : mapping, optional
        The bar label of each feature, in the day's real units
        (`measures.bar_labels`); a feature without one is labelled
        ``name = model value``.

    Returns
    -------
    matplotlib.figure.Figure

    """
    ordered = shap_row.astype("float64").sort_values(ascending=False)
    fig = Figure(figsize=(8, 0.45 * len(ordered) + 1.5), layout="constrained")
    ax = fig.add_subplot()
    colors = [_TOWARD if v < 0 else _AWAY for v in ordered.to_numpy()]
    labels = labels or {}
    texts = [
        safe_text(labels[name], TITLE_WIDTH)
        if name in labels
        else f"{safe_text(name, LABEL_WIDTH)} = {feature_row.get(name, np.nan):.3g}"
        for name in ordered.index
    ]
    ax.barh(range(len(ordered)), ordered.to_numpy(), color=colors)
    ax.set_yticks(range(len(ordered)), texts, parse_math=False)  # feature names may hold "$"
    ax.tick_params(labelsize=FONT_SIZE)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel("SHAP value (red: towards anomalous)")
    ax.set_title(safe_text(title, TITLE_WIDTH), parse_math=False)  # names may hold "$"
    return fig


def _window(days: pd.Series, window: tuple | None) -> pd.DatetimeIndex:
    """Every day from the window's first to its last (default: the days' own span)."""
    if window is None:
        dates = pd.to_datetime(days)
        if dates.empty:
            return pd.DatetimeIndex([])
        window = (dates.min(), dates.max())
    start, end = (pd.Timestamp(day).normalize() for day in window)
    return pd.date_range(start, end, freq="D")


def trend_plot(
    user_days: pd.DataFrame,
    domain: str,
    user: str,
    marked_dates: list[pd.Timestamp],
    columns: list[str],
    window: tuple | None = None,
) -> Figure:
    """
    Plot an account's daily values with its flagged day(s) marked.

    Every day of the window is drawn: a day the account has no row for had
    no logon, so it is drawn as 0 (lines never join across a missing day).
    Panels are laid out two to a row, with whole-number ticks from 0 up.

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
    window : (start, end), optional
        First and last day of the x-axis, the same for every account of a
        hunt (default: the first and last Date of `user_days`).

    Returns
    -------
    matplotlib.figure.Figure

    """
    rows = user_days[(user_days["DstDomain"] == domain) & (user_days["DstUser"] == user)]
    present = [col for col in columns if col in rows.columns]
    days = _window(user_days["Date"], window)
    daily = rows.groupby("Date")[present].sum(min_count=1).reindex(days).fillna(0)
    ncols = 2 if len(present) > 1 else 1
    nrows = max(-(-len(present) // ncols), 1)
    fig = Figure(figsize=(10, 1.75 * nrows + 0.9), layout="constrained")
    grid = fig.subplots(nrows, ncols, sharex=True, squeeze=False)
    axes = list(grid.ravel())
    for extra in axes[max(len(present), 1) :]:
        fig.delaxes(extra)
    for ax, col in zip(axes, present, strict=False):
        _trend_panel(ax, daily[col], col, marked_dates)
    if len(days):
        axes[0].set_xlim(days[0] - pd.Timedelta(hours=12), days[-1] + pd.Timedelta(hours=12))
    for ax in axes[: max(len(present), 1)]:
        _date_axis(ax)
    day_txt = marked_dates[0].strftime("%Y-%m-%d") if marked_dates else ""
    if len(marked_dates) > 1:
        day_txt += f"; {len(marked_dates) - 1} more flagged day(s) dotted"
    account = account_label(domain, user)
    fig.suptitle(
        f"{account}: daily network logons (flagged {day_txt})",
        parse_math=False,
        fontsize=FONT_SIZE + 2,
    )
    return fig


def _trend_panel(ax, values: pd.Series, column: str, marked_dates: list[pd.Timestamp]) -> None:
    """Draw one column's daily values: 0 from the bottom, whole-number ticks, flagged days."""
    many = len(values) > 120
    ax.plot(values.index, values.to_numpy(), marker="" if many else "o", ms=3, color=_AWAY, lw=1.2)
    if many:  # a long window: a dot on each day with a count, or a lone day is a hairline
        busy = values[values > 0]
        ax.plot(busy.index, busy.to_numpy(), "o", ms=3, color=_AWAY)
    ax.set_ylabel(safe_text(column, LABEL_WIDTH), fontsize=FONT_SIZE - 1, parse_math=False)
    title = safe_text(column_name(column), LABEL_WIDTH)
    ax.set_title(title, fontsize=FONT_SIZE, loc="left", parse_math=False)
    top = float(values.max()) if len(values) else 0.0
    ax.set_ylim(0, max(top * 1.15, 1.0))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True, min_n_ticks=2))
    ax.tick_params(labelsize=FONT_SIZE - 1)
    ax.grid(axis="y", color="#e4e7eb", lw=0.6)
    for pos, day in enumerate(marked_dates):
        ax.axvline(day, color=_TOWARD, lw=1.5 if pos == 0 else 0.9, ls="-" if pos == 0 else ":")
    if marked_dates and marked_dates[0] in values.index:
        ax.plot([marked_dates[0]], [values.loc[marked_dates[0]]], "o", color=_TOWARD, ms=7)
    others = [day for day in marked_dates[1:] if day in values.index]
    if others:
        ax.plot(others, values.loc[others].to_numpy(), "o", mfc="white", mec=_TOWARD, ms=6)


def _date_axis(ax) -> None:
    """Short date ticks (month and day; the year once) on a shared date axis."""
    locator = AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.tick_params(axis="x", labelsize=FONT_SIZE - 1)


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

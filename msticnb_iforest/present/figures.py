"""
The figures of one hunt, drawn together: `make_plots` and its `Figures`.

`plots` draws single charts from plain frames; this module decides which
charts a hunt gets (the top outliers, capped) and says when a cap applied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ..params import DEFAULT_MAX_PLOTS, check_params
from . import plots
from .display import account_label
from .measures import bar_labels, feature_name
from .population import correlation_plot, population_plot

__all__ = [
    "DEFAULT_MAX_SUMMARY_ROWS",
    "Figures",
    "histogram_threshold",
    "hunt_window",
    "make_plots",
    "outlier_figure",
    "trend_figure",
]

#: Outliers drawn in the SHAP summary plot unless the caller asks for another number.
DEFAULT_MAX_SUMMARY_ROWS = 2000

#: A drawn chart: a matplotlib Figure, or its PNG bytes (``as_png=True``).
Chart = Figure | bytes


@dataclass
class Figures:
    r"""
    The charts of one hunt.

    Attributes
    ----------
    shap_summary_plot : Figure, bytes or None
        SHAP values of the explained outliers, per feature.
    outlier_plots : list of (str, Figure or bytes)
        One SHAP bar chart per explained top outlier, labelled
        ``DOMAIN\\user yyyy-mm-dd`` (exact names).
    trend_plots : list of (str, Figure or bytes)
        One daily trend per account of the top outliers, labelled
        ``DOMAIN\\user``, its flagged days marked.
    score_histogram : Figure, bytes or None
        Distribution of scores, the reported outliers in red, with the
        reporting threshold marked and labelled (see `histogram_threshold`).
    population_plot : Figure, bytes or None
        Every account-day in two dimensions (principal components of the
        model features; `population.population_plot`): normal days a light
        cloud, reported outliers on top, coloured and labelled by incident
        when the hunt has incidents. None when not drawn or when the hunt
        cannot be pictured (``plot_note`` then says why).
    correlation_plot : Figure, bytes or None
        How the model features move together (rank correlations;
        `population.correlation_plot`), drawn with the population picture.
    plot_cap : int
        The most per-outlier and trend plots drawn (`max_plots`).
    plot_note : str
        Says which caps left outliers without a chart; "" when none did.

    """

    shap_summary_plot: Chart | None = None
    outlier_plots: list[tuple[str, Chart]] = field(default_factory=list)
    trend_plots: list[tuple[str, Chart]] = field(default_factory=list)
    score_histogram: Chart | None = None
    population_plot: Chart | None = None
    correlation_plot: Chart | None = None
    plot_cap: int = DEFAULT_MAX_PLOTS
    plot_note: str = ""

    @classmethod
    def of(cls, holder: Any) -> Figures:
        """Collect the figures an object holds under these names (a notebooklet result)."""
        return cls(
            **{
                item.name: getattr(holder, item.name)
                for item in fields(cls)
                if item.name not in _LATER or hasattr(holder, item.name)
            }
        )

    @classmethod
    def held_by(cls, holder: Any) -> Figures | None:
        """Return the figures `holder` carries (a notebooklet result), or None (a `Hunt`)."""
        if all(hasattr(holder, item.name) for item in fields(cls) if item.name not in _LATER):
            return cls.of(holder)
        return None


#: Figures added after the first results were made: a holder without them
#: (a result saved or built before) still holds figures, these left None.
_LATER = frozenset({"population_plot", "correlation_plot"})


def make_plots(
    result: Any,
    *,
    summary: bool = True,
    per_outlier: bool = True,
    trends: bool = True,
    histogram: bool = False,
    population: bool = True,
    max_plots: int = DEFAULT_MAX_PLOTS,
    max_summary_rows: int = DEFAULT_MAX_SUMMARY_ROWS,
    as_png: bool = False,
) -> Figures:
    """
    Draw the hunt's figures, at most `max_plots` of each per-outlier kind.

    Figures cost up to about a second each whatever the size of the hunt,
    so a run with thousands of outliers draws only the top ones: the
    per-outlier SHAP charts of the `max_plots` highest-scoring explained
    outliers (only outliers with SHAP values have one), the trend plots of
    the accounts of the `max_plots` highest-scoring outliers and a SHAP
    summary of at most `max_summary_rows` explained outliers (one point per
    outlier and feature). The population picture (every account-day in two
    dimensions, `population.population_plot`) costs about a second at a
    million account-days: it draws a sample of at most 20,000 normal ones
    and every outlier. ``plot_note`` states any cap that applied, and why
    there is no population picture when the hunt has one to draw but
    cannot (its features are missing).

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        A finished hunt.
    summary, per_outlier, trends, histogram, population : bool
        Which kinds to draw (by default all but the histogram).
    max_plots : int, default=10
        Most per-outlier and trend plots, 0 to `params.MAX_PLOTS_LIMIT` (100).
    max_summary_rows : int, default=2000
        Most outliers in the SHAP summary.
    as_png : bool, default=False
        Render each figure to PNG bytes as soon as it is drawn and keep
        only the bytes, so at most one figure is held at a time (the
        command line does this; `report.render_report` takes either).

    Returns
    -------
    Figures

    Raises
    ------
    ParameterError
        If `max_plots` is not a whole number from 0 to `params.MAX_PLOTS_LIMIT`.

    Examples
    --------
    >>> from msticnb_iforest import hunt
    >>> from msticnb_iforest.sources.demo import generate_demo
    >>> found = hunt(generate_demo(users=60, days=14).events)  # doctest: +SKIP
    >>> figures = make_plots(found, max_plots=3)  # doctest: +SKIP
    >>> len(figures.trend_plots) <= 3  # doctest: +SKIP
    True

    """
    max_plots = check_params(names=["max_plots"], max_plots=max_plots)["max_plots"]
    keep: Callable[[Figure], Chart] = plots.png_bytes if as_png else (lambda fig: fig)
    out = Figures(plot_cap=max_plots)
    notes = []
    shap_ok = result.shap_values is not None and not result.outliers.empty
    if summary and shap_ok:
        out.shap_summary_plot, note = _summary_plot(result, max_summary_rows, keep)
        notes.append(note)
    if per_outlier and shap_ok:
        out.outlier_plots, note = _outlier_plots(result, max_plots, keep)
        notes.append(note)
    if trends:
        out.trend_plots = [(label, keep(fig)) for label, fig in _trend_plots(result, max_plots)]
    if histogram and not result.user_days.empty:
        out.score_histogram = keep(_histogram(result))
    if population and not result.user_days.empty:
        fig, why = population_plot(result)
        out.population_plot = None if fig is None else keep(fig)
        notes.append(why)
        fig, _ = correlation_plot(result)  # no picture for the same reason, said once
        out.correlation_plot = None if fig is None else keep(fig)
    if len(result.outliers) > max_plots and (per_outlier or trends):
        notes.insert(
            0,
            f"Plots are drawn for the top {max_plots} of {len(result.outliers)} outliers "
            "(raise max_plots to see more).",
        )
    out.plot_note = " ".join(note for note in notes if note)
    return out


def histogram_threshold(result: Any) -> tuple[float, str]:
    """
    Return where a hunt's reporting threshold is on the score axis, and its name.

    Scores are ``-decision_function``, so a fitted forest (its ``model`` has
    ``offset_``) flags what scores above 0: that is the threshold, named
    with the run's contamination. Without a model, the threshold is the
    lowest score among the flagged account-days (``is_outlier``, else the
    reported outliers); without any, 0.

    Examples
    --------
    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> days = pd.DataFrame({"score": [-0.1, 0.02, 0.3], "is_outlier": [False, True, True]})
    >>> histogram_threshold(SimpleNamespace(user_days=days, outliers=days[1:]))
    (0.02, 'lowest flagged score')

    """
    if hasattr(getattr(result, "model", None), "offset_"):
        share = (getattr(result, "parameters", None) or {}).get("contamination")
        named = f" (contamination {share})" if share is not None else ""
        return 0.0, f"model threshold{named}"
    days = result.user_days
    if "is_outlier" in days and days["is_outlier"].any():
        return float(days.loc[days["is_outlier"].astype(bool), "score"].min()), (
            "lowest flagged score"
        )
    if len(result.outliers):
        return float(result.outliers["score"].min()), "lowest flagged score"
    return 0.0, "outlier threshold"


def _histogram(result: Any) -> Figure:
    """Draw the score histogram with the hunt's threshold and its reported outliers."""
    threshold, label = histogram_threshold(result)
    return plots.score_histogram(
        result.user_days["score"],
        threshold=threshold,
        label=label,
        flagged=result.outliers["score"],
    )


def _summary_plot(result: Any, max_rows: int, keep: Callable) -> tuple[Chart, str]:
    """Draw the SHAP summary of the top `max_rows` explained outliers; say if capped."""
    shown = result.shap_values.head(max_rows)
    names = {name: feature_name(name) for name in shown.columns}
    rows = result.outliers.loc[result.outliers.index.intersection(shown.index)]
    row_labels = [
        f"{account_label(dom, usr)} {pd.Timestamp(day):%Y-%m-%d}"
        for dom, usr, day in zip(
            rows["DstDomain"].head(3), rows["DstUser"].head(3), rows["Date"].head(3), strict=True
        )
    ]
    fig = plots.shap_summary_plot(
        shown,
        result.user_days.loc[shown.index, result.features],
        names=names,
        row_labels=row_labels if list(rows.index[:3]) == list(shown.index[:3]) else None,
    )
    note = ""
    if len(shown) < len(result.outliers):
        note = (
            f"The SHAP summary shows the top {len(shown):,} of {len(result.outliers):,} outliers."
        )
    return keep(fig), note


def _outlier_plots(
    result: Any, max_plots: int, keep: Callable
) -> tuple[list[tuple[str, Chart]], str]:
    """Draw one SHAP bar chart per explained outlier among the top `max_plots`."""
    top = result.outliers.head(max_plots)
    explained = top[top.index.isin(result.shap_values.index)]
    drawn = []
    clauses = _clauses(result)
    for idx, row in explained.iterrows():
        fig = outlier_figure(result, idx, row=row, clauses=clauses.get(idx))
        drawn.append((_label(row), keep(fig)))
    note = ""
    if len(explained) < len(top):
        note = (
            f"Per-outlier SHAP charts are drawn for the {len(explained):,} explained "
            f"outlier(s) among the top {len(top):,} (raise max_explained to explain more)."
        )
    return drawn, note


def outlier_figure(
    result: Any, idx: Any, *, row: pd.Series | None = None, clauses: list | None = None
) -> Figure:
    """
    Draw one explained outlier's SHAP bars, labelled in the day's real units.

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        A finished hunt with SHAP values for `idx`.
    idx : label
        The outlier's row label in ``result.outliers``.
    row : pd.Series, optional
        The outlier's row (default: ``result.outliers.loc[idx]``).
    clauses : list of dict, optional
        Its structured reasons (default: the ``clauses`` of
        ``result.explanations``, when the hunt has them).

    Returns
    -------
    matplotlib.figure.Figure
        Bars labelled like "failed logons: 201 (usual 0–1)"
        (`measures.bar_labels`).

    """
    row = result.outliers.loc[idx] if row is None else row
    if clauses is None:
        clauses = _clauses(result).get(idx)
    title = (
        f"{account_label(row['DstDomain'], row['DstUser'])} "
        f"{pd.Timestamp(row['Date']):%Y-%m-%d} (score {row['score']:.3f})"
    )
    labels = bar_labels(_full_row(result, idx, row), result.features, clauses)
    return plots.outlier_plot(
        result.shap_values.loc[idx], row[result.features], title, labels=labels
    )


def _clauses(result: Any) -> dict:
    """Return the structured reasons of each explained outlier, by row label ({} when absent)."""
    explanations = getattr(result, "explanations", None)
    if explanations is None or "clauses" not in getattr(explanations, "columns", ()):
        return {}
    return {idx: value for idx, value in explanations["clauses"].items() if isinstance(value, list)}


def _full_row(result: Any, idx: Any, row: pd.Series) -> pd.Series:
    """Return the outlier's row with every user-day column (context columns included)."""
    days = result.user_days
    if idx in days.index and len(days.columns) > len(row):
        extra = days.loc[idx]
        if isinstance(extra, pd.Series):
            return pd.concat([extra, row[~row.index.isin(extra.index)]])
    return row


def _label(row: pd.Series) -> str:
    return f"{row['DstDomain']}\\{row['DstUser']} {pd.Timestamp(row['Date']):%Y-%m-%d}"


def _trend_plots(result: Any, max_plots: int) -> Iterator[tuple[str, Figure]]:
    """Yield (label, Figure) per account of the top outliers, one figure at a time."""
    accounts = result.outliers.drop_duplicates(["DstDomain", "DstUser"]).head(max_plots)
    if accounts.empty:
        return
    # One pass over all user-days for the plotted accounts, not one per plot.
    users = result.user_days["DstUser"]
    history = result.user_days[users.isin(set(accounts["DstUser"])).to_numpy()]
    window = hunt_window(result)
    for domain, user in zip(accounts["DstDomain"], accounts["DstUser"], strict=True):
        yield (
            f"{domain}\\{user}",
            trend_figure(result, domain, user, history=history, window=window),
        )


def hunt_window(result: Any) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """
    Return the first and last day of a hunt's user-days (None when it has none).

    Every account's trend figure spans this window, so they line up.
    """
    dates = pd.to_datetime(result.user_days["Date"])
    if dates.empty:
        return None
    return dates.min().normalize(), dates.max().normalize()


def trend_figure(
    result: Any,
    domain: str,
    user: str,
    *,
    history: pd.DataFrame | None = None,
    window: tuple | None = None,
) -> Figure:
    """
    Draw one account's daily trend with its outlier days marked.

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        A finished run (its ``user_days``, ``outliers``, ``trend_columns``
        and ``features`` are used).
    domain, user : str
        The account, as spelled in ``DstDomain`` and ``DstUser``.
    history : pd.DataFrame, optional
        User-days holding at least the account's rows (default: all of
        `result`'s user-days).
    window : (start, end), optional
        The x-axis' first and last day (default: `hunt_window`, the first
        and last day of all of `result`'s user-days).

    Returns
    -------
    matplotlib.figure.Figure

    """
    columns = list(result.trend_columns) or list(result.features)
    outliers = result.outliers
    same = (outliers["DstDomain"] == domain) & (outliers["DstUser"] == user)
    dates = list(pd.to_datetime(outliers.loc[same, "Date"]))
    days = result.user_days if history is None else history
    window = window or hunt_window(result)
    return plots.trend_plot(days, domain, user, dates, columns, window=window)

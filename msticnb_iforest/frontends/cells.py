"""
What the AnomalousLogonUsers notebooklet shows, one section at a time.

Each function shows one part of a finished run with msticnb's display
helpers, so ``nb.set_opt("silent", True)`` silences all of it. The
notebooklet gives each its heading and text from its YAML file (msticnb's
``set_text``, keyed by the section names there).
"""

from __future__ import annotations

import html
from typing import Any

from IPython.display import HTML
from msticnb.common import nb_display, nb_markdown

from ..present.remarks import held_line

__all__ = [
    "show_account_links",
    "show_outlier_plots",
    "show_outliers",
    "show_population",
    "show_trend_plots",
]


def show_outliers(result: Any) -> None:
    """Show the run's notes, what was held back and the explained outliers."""
    for note in result.notes:
        nb_markdown(note)
    held = held_line(result)
    if held:
        nb_markdown(held)
    if result.explanations is not None and not result.explanations.empty:
        nb_display(result.explanations[["Date", "DstDomain", "DstUser", "score", "reason"]])


def show_outlier_plots(result: Any) -> None:
    """Show the SHAP summary, the per-outlier SHAP charts and any note on caps."""
    if result.shap_summary_plot is not None:
        nb_display(result.shap_summary_plot)
    for _, fig in result.outlier_plots:
        nb_display(fig)
    if result.plot_note:
        nb_markdown(result.plot_note)


def show_population(result: Any) -> None:
    """Show every account-day in two dimensions, then how the model features move together."""
    nb_display(result.population_plot)
    if getattr(result, "correlation_plot", None) is not None:
        nb_display(result.correlation_plot)


def show_trend_plots(result: Any) -> None:
    """Show each outlier account's daily trend."""
    for _, fig in result.trend_plots:
        nb_display(fig)


def show_account_links(result: Any) -> None:
    """Show the follow-up code of each outlier account, ready to copy."""
    for code in result.account_links["code"]:
        nb_display(HTML(f"<pre>{html.escape(code)}</pre>"))

"""
The AnomalousLogonUsers notebooklet's result: a `Hunt`'s attributes, the figures, the pivots.

Kept apart from the notebooklet so that what an analyst does with a result
(verdicts, sending incidents to Microsoft Sentinel) has room to grow; the
notebooklet module re-exports it under its usual name.
"""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Any

import pandas as pd
from msticnb.notebooklet import Notebooklet, NotebookletResult
from msticpy.common.timespan import TimeSpan

from ..pipeline import Hunt
from ..present.figures import Figures
from ..state.step import record_verdict

__all__ = ["AnomalousLogonUsersResult"]


class AnomalousLogonUsersResult(NotebookletResult):
    """
    Results of the AnomalousLogonUsers notebooklet.

    Attributes
    ----------
    user_days : pd.DataFrame
        Every scored user-day: the summary columns, the model features,
        ``score`` (higher is more anomalous; above 0 is flagged),
        ``is_outlier`` (reported outlier) and ``suppressed`` (why a day the
        model flagged is not reported, e.g. "no successful logon").
    outliers : pd.DataFrame
        Reported outlier user-days, highest score first: Date, DstDomain,
        DstUser, score, input columns, features and ``incident`` (its number
        in `incidents`). Limited to the account given as `value`, if any.
    shap_values : pd.DataFrame
        SHAP values, one row per outlier (same index as `outliers`), one
        column per model feature; negative values push towards anomalous.
    shap_expected_value : float
        The SHAP explainer's expected value (mean isolation path length).
    explanations : pd.DataFrame
        One row per outlier: top contributing features, their evidence
        (the day's value and the account's usual values), a one-line
        reason and its ``clauses`` (dicts, strongest first).
    incidents : pd.DataFrame
        The outliers grouped into incidents (a password spray, a shared source or the same
        pattern on one day; a lone outlier is one), most flagged activity first: incident, kind,
        lead (the sentence to read first), accounts, days, sources, score and members.
    shap_summary_plot : matplotlib.figure.Figure
        SHAP values of all outliers, per feature.
    outlier_plots : list of (str, Figure)
        One SHAP bar chart per outlier, up to `plot_cap`, labelled by
        account and day.
    trend_plots : list of (str, Figure)
        Per outlier account (up to `plot_cap`): its daily model inputs
        over the window with the flagged day marked.
    score_histogram : matplotlib.figure.Figure
        Distribution of scores, reported outliers in red, with the
        reporting threshold marked and labelled (option
        ``score_histogram``).
    population_plot : matplotlib.figure.Figure
        Every scored user-day in two dimensions (principal components of
        the model features): outliers highlighted, incidents coloured and
        labelled (option ``plot_population``, on by default; None when off
        or when the run has nothing to picture).
    correlation_plot : matplotlib.figure.Figure
        How the model features move together (rank correlations), drawn
        with `population_plot` (None when it is not).
    plot_cap : int
        The most per-outlier and trend plots drawn (kwarg `max_plots`).
    plot_note : str
        Says how many outliers were left without plots, if any.
    account_links : pd.DataFrame
        Per outlier account: its top day, score and ready-to-run ``code``
        for AccountSummary and its logons / failed logons that day.
    account_summaries : dict
        AccountSummary results by account name (option ``account_summary``).
    model : sklearn.ensemble.IsolationForest
        The fitted forest.
    features : list of str
        The model features, in model order.
    feature_set : str
        Name of the feature set used (``seed`` is the original algorithm's).
    query : str
        KQL text of the query that ran (None when data was passed in).
    input_files : list of dict
        Files read by the LocalData path: path, rows and format of each
        (raw events are counted as the engine summarizes them).
    notes : list of str
        Remarks: empty input, features that could not be computed, ...
    dropped_rows : dict
        Input rows dropped before scoring, by reason.
    suppressed_outliers : dict
        Model outliers not reported, by reason.
    parameters : dict
        Parameters of the run (feature set, contamination, trees, seed).
    timings : dict
        Seconds per stage.
    max_explained : int or None
        The most outliers given SHAP values and reasons (None: all).
    trend_columns : list of str
        The columns each trend plot draws per day.
    self_test : pd.DataFrame or None
        With ``self_test=True`` (or option ``self_test``): per attack planted
        in a copy of the raw events, whether a separate hunt of that copy
        caught it and its rank (`msticnb_iforest.selftest.self_test`);
        ``attrs["summary"]`` per kind. None otherwise.
    self_test_figure : matplotlib.figure.Figure or None
        The self-test's rank per kind and intensity.
    status_counts, incident_status_counts : dict
        Reported outliers and incidents by status ("new", "recurring",
        "seen" against earlier runs of the state store; all "new" without one).
    verdict_suppressed : pd.DataFrame
        Outliers hidden by an analyst's benign verdict (kwarg `state`).
    state_path : str or None
        The state store of the run (kwarg `state`; None: no memory).
    run_id : int or None
        The store's id of this run.

    The attributes from `user_days` to `trend_columns`, and `input_files`,
    are those of `msticnb_iforest.pipeline.Hunt`, and the figures those of
    `msticnb_iforest.present.figures.Figures`, under the same names.

    """

    def __init__(
        self,
        description: str | None = None,
        timespan: TimeSpan | None = None,
        notebooklet: Notebooklet | None = None,
    ):
        """
        Create a new result.

        Parameters
        ----------
        description : str, optional
            Result description.
        timespan : TimeSpan, optional
            Time window of the data.
        notebooklet : Notebooklet, optional
            The notebooklet that made the result.

        """
        super().__init__(description, timespan, notebooklet)
        self.description: str = "Anomalous logon users"
        for item in (*fields(Hunt), *fields(Figures)):
            empty = None if item.default_factory is MISSING else item.default_factory()
            setattr(self, item.name, empty if item.default is MISSING else item.default)
        self.account_links: pd.DataFrame | None = None
        self.account_summaries: dict[str, Any] = {}
        self.query: str | None = None
        self.self_test: pd.DataFrame | None = None
        self.self_test_figure: Any = None

    def to_sentinel(
        self, incidents: Any, *, as_: str = "bookmark", sentinel: Any = None, **kwargs: Any
    ) -> pd.DataFrame:
        """
        Send confirmed incidents to Microsoft Sentinel as hunting bookmarks (or incidents).

        `incidents`: numbers, or "malicious" (incidents with a malicious verdict);
        `as_`: "bookmark" or "incident"; `sentinel`: a connected msticpy
        MicrosoftSentinel, by default the workspace this hunt ran on. Other
        keywords (severity, table, connect options) and the errors are those of
        `msticnb_iforest.frontends.sentinel.to_sentinel`.

        Examples
        --------
        >>> result.to_sentinel(incidents=[1, 3])  # doctest: +SKIP

        """
        from .sentinel import to_sentinel

        return to_sentinel(self, incidents, as_=as_, sentinel=sentinel, **kwargs)

    def set_verdict(self, **kwargs: Any) -> pd.DataFrame:
        """
        Record an analyst's verdict in the run's state store (see `Hunt.set_verdict`).

        Returns
        -------
        pd.DataFrame
            The verdict rows written.

        """
        return record_verdict(self, **kwargs)

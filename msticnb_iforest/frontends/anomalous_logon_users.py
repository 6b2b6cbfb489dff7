"""
AnomalousLogonUsers notebooklet.

Wires the package's stages together in msticnb style: query (or take) a
per-user-day logon summary, compute a feature set, score with an Isolation
Forest, explain outliers with SHAP, draw plots and build pivots. The work
itself is done by plain functions in `msticnb_iforest.pipeline` and the
stage modules, which can be used without msticnb.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import fields
from typing import Any

import pandas as pd
from msticnb import nb_metadata
from msticnb.common import nb_display, nb_markdown, set_text
from msticnb.notebooklet import NBMetadata, Notebooklet
from msticpy.common.timespan import TimeSpan

from .._version import VERSION
from ..errors import AnomalousLogonsError, QueryError
from ..identity import account_mask
from ..pipeline import hunt
from ..present.figures import make_plots
from ..present.links import account_links, kql_string, pivot_window
from ..schema import collect_input_notes
from ..sources.query import DEFAULT_DAYS, default_timespan, ensure_queries
from ..windows import query_start
from . import cells
from .nb_result import AnomalousLogonUsersResult
from .nb_selftest import attach_self_test, wants_self_test
from .registration import register
from .run_options import RUN_PARAMETERS as RUN_PARAMETERS
from .run_options import check_run, get_user_days, hunt_options, run_defaults
from .timespans import utc_timespan

__version__ = VERSION
__all__ = ["AnomalousLogonUsers", "AnomalousLogonUsersResult"]

_CLS_METADATA: NBMetadata
_CELL_DOCS: dict[str, Any]
_CLS_METADATA, _CELL_DOCS = nb_metadata.read_mod_metadata(__file__, __name__)

#: Query environments that hold the tables msticnb's AccountSummary queries.
SENTINEL_ENVIRONMENTS = frozenset({"MSSentinel", "LogAnalytics", "AzureSentinel", "MSSentinel_New"})
_PIVOT = "the code in the result's account_links runs it there."


class AnomalousLogonUsers(Notebooklet):
    r"""
    Find accounts whose daily Windows network logon activity is anomalous.

    Summarizes logon events 4624/4625 (network logons) per account and day,
    turns each account-day into features relative to the account's usual
    activity, scores all of them with an Isolation Forest and explains the
    outliers with SHAP. From each outlier you can pivot to the
    AccountSummary notebooklet and to the account's logons.

    Pass `data` (a per-user-day table or raw SecurityEvent logon rows) to
    hunt without querying. Give `value` (an account) to report only that
    account's outliers.

    Other keyword arguments of ``run``: feature_set ("habits", the default,
    compares each account-day with the account's usual counts and habits;
    "baseline" without the habits; "seed" reproduces the original algorithm),
    allow_accounts (known-benign accounts, e.g.
    ["svc-backup", "CONTOSO\svc-*"]: scored, never reported, counted in
    suppressed_outliers), min_history_days (5: other days an account needs
    before it is compared with its usual activity), contamination (the feature
    set's own: 0.01, 0.005 for "habits"),
    n_estimators, random_state (42), n_jobs, split_query_by (e.g. "1D"),
    table ("SecurityEvent"), add_query_items (raw KQL, trusted users only),
    query_options, max_plots (10), max_explained (500),
    max_account_summaries (3), memory_limit ("2G": the engine's memory for
    LocalData files of raw events), hunt_days and baseline_days (30: a
    scheduled hunt of the last hunt_days days against the baseline_days
    before them), max_alerts_per_day (a cap on outliers reported per day).
    self_test (True: after the hunt, plant attacks in a copy of the raw events and
    report in the result's self_test which a separate hunt caught).
    Each is checked before any work against
    `msticnb_iforest.params.PARAMETERS`, which holds the defaults and
    ranges; an unknown keyword is an error.

    """

    metadata = _CLS_METADATA
    __doc__ = nb_metadata.update_class_doc(__doc__, metadata)
    _cell_docs = _CELL_DOCS

    def __init__(self, data_providers: Any = None, **kwargs: Any):
        """
        Create the notebooklet and load its queries into the query provider.

        Right after ``nb.init(...)`` and ``AnomalousLogonUsers()``, the
        ``AnomalousLogons`` query family is on the provider, so
        ``qry_prov.AnomalousLogons.user_day_summary("print", ...)`` renders.

        Parameters
        ----------
        data_providers : DataProviders, optional
            msticnb's providers; by default the current ones (``nb.init``).
        **kwargs
            Passed to msticnb's `Notebooklet`.

        """
        super().__init__(data_providers, **kwargs)
        if self.query_provider is not None:
            # an environment without our queries: run() says so if it queries
            with contextlib.suppress(QueryError):
                ensure_queries(self.query_provider)

    @set_text(docs=_CELL_DOCS, key="run")
    def run(
        self,
        value: Any = None,
        data: pd.DataFrame | None = None,
        timespan: TimeSpan | None = None,
        options: Iterable[str] | None = None,
        **kwargs,
    ) -> AnomalousLogonUsersResult:
        r"""
        Hunt anomalous logon users.

        Parameters
        ----------
        value : str, optional
            An account (``user``, ``DOMAIN\user`` or ``user@domain``). The
            model still learns from every account; only this account's
            outliers and plots are reported.
        data : pd.DataFrame, optional
            Per-user-day rows (columns of the ``account_day_summary`` or
            ``user_day_summary`` query) or raw SecurityEvent logon rows,
            used instead of querying.
        timespan : TimeSpan, optional
            Time window; by default the 21 full UTC days ending at the end
            of yesterday.
        options : Iterable[str], optional
            Options to use; None means the defaults. Prefix with "+" to add
            to the defaults or "-" to remove from them.

        Other Parameters
        ----------------
        feature_set : str
            Feature set name: "habits" (default), "baseline" (the habits
            set without its hour, NTLM, network, borrowed-host, persistence
            and quiet-spell inputs) or "seed" (the original algorithm's). It
            decides which query runs (``account_day_summary`` or
            ``user_day_summary``).
        allow_accounts : str or list of str
            Known-benign accounts: ``user``, ``DOMAIN\user`` or
            ``user@domain``, with ``*`` and ``?`` wildcards, case ignored
            (e.g. ``["svc-backup", "CONTOSO\svc-*"]``). Their days are
            scored but never reported; how many flagged days were held back
            is in ``suppressed_outliers``.
        min_history_days : int
            Other days in the window an account needs before its day is
            compared with its usual activity, default 5, at most 10,000;
            accounts with less history are scored with a caveat in their
            explanation.
        contamination : float or "auto"
            Expected share of outliers, in (0, 0.5]; by default the feature
            set's own (0.01; 0.005 for "habits").
        n_estimators : int
            Number of trees, 1 to 10,000; default is the feature set's rule.
        random_state : int or None
            Seed of the forest, 0 to 2**32 - 1, default 42.
        n_jobs : int
            Threads; None (default) uses every core, -2 all but one.
        split_query_by : str
            Split the query into chunks of this size (e.g. "1D", at most
            366 days) so big workspaces return complete results.
        table : str
            Table to query, default "SecurityEvent".
        add_query_items : str
            Raw KQL inserted after the query's filters (trusted users only).
        max_plots : int
            Most per-outlier and trend plots drawn, 0 to 100, default 10.
        max_explained : int or None
            Most outliers given SHAP values and reasons (the top by score),
            0 to 1,000,000, default 500; None explains all.
        query_options : dict
            Options passed to the query provider (e.g. ``{"database": ...}``
            for Azure Data Explorer).
        max_account_summaries : int
            Most AccountSummary runs with option account_summary, 0 to 50,
            default 3.
        memory_limit : int or str
            Memory the columnar engine may take to summarize LocalData files
            of raw events (bytes or a size such as "4G", at least 64 MiB,
            default 2 GiB); past it the engine spills to a temporary folder.
        progress : callable
            Called with each stage's message (files read, events summarized,
            ...) instead of showing it; it is called even when run is silent.
        start, end : datetime or str
            The window, instead of `timespan`.
        hunt_days : int
            Hunt as a scheduled analytics rule does: report only the last
            this many days of the window (1 to 366), judged against the
            `baseline_days` days before them. The query reads those
            ``hunt_days + baseline_days`` days up to the end of `timespan`
            (without a timespan: up to the end of yesterday); a shorter
            timespan is used as it is, and the notes say so. The forest
            learns from the baseline days only and its threshold is their
            `contamination` quantile; baseline days stay in ``user_days``
            (column ``window``) but are never reported. Default None: every
            day of the window is judged against the others.
        baseline_days : int
            Days of history before the hunted days, 1 to 90, default 30
            (only with `hunt_days`).
        max_alerts_per_day : int
            Report at most this many outliers per day, highest score first;
            the rest are listed in ``user_days`` with ``suppressed`` "alert
            budget" and counted in ``suppressed_outliers``. Default None: no
            cap.
        state : str or os.PathLike
            A SQLite state store (created when missing): outliers an analyst
            marked benign are not reported, the others are marked new,
            recurring or seen against earlier runs, and the run is recorded.
            Default None: nothing remembered.

        Numbers are Python or numpy numbers (a string of digits is refused),
        and every time, including `timespan`'s ends, must lie between
        1677-09-23 and 2262-04-09 (pandas' range less a day each side).

        Returns
        -------
        AnomalousLogonUsersResult

        Raises
        ------
        AnomalousLogonsError
            (a ValueError) when the data or a parameter is not usable or
            the query fails; the message names the problem. Parameters
            (`ParameterError`) are checked before any query or work.

        """
        try:
            return self._run(value, data, timespan, options, **kwargs)
        except AnomalousLogonsError as err:
            # Raised afresh so that a notebook shows the message under a short
            # traceback (the cell and this line), not every stage it passed.
            raise type(err)(str(err)) from None

    def _run(
        self,
        value: Any,
        data: pd.DataFrame | None,
        timespan: TimeSpan | None,
        options: Iterable[str] | None,
        **kwargs,
    ) -> AnomalousLogonUsersResult:
        """Query (unless `data` is given), hunt, plot and display: the body of `run`."""
        testing = wants_self_test((), kwargs)  # the self_test keyword; the option is read below
        opts = _check_run(value, kwargs)
        timespan = utc_timespan(timespan)
        kwargs = {**kwargs, **{k: opts[k] for k in ("start", "end") if k in kwargs}}
        super().run(value=value, timespan=timespan, options=options, **kwargs)
        days = (
            DEFAULT_DAYS if opts["hunt_days"] is None else opts["hunt_days"] + opts["baseline_days"]
        )
        timespan = self._resolve_timespan(timespan, days, **kwargs)
        query_notes: list[str] = []
        window: dict[str, Any] = {}
        query, input_files = None, []
        if data is None:
            with collect_input_notes() as read_notes:
                data, query, input_files = _get_user_days(
                    self.query_provider, _query_span(timespan, opts), notes=query_notes, **opts
                )
            query_notes.extend(read_notes)
            window = {"start": timespan.start, "end": timespan.end}
        shown = {"progress": opts["progress"] or nb_markdown, "shap": "shap" in self.options}
        found = hunt(data, **hunt_options(opts), account=value, **shown, **window)
        found.notes[:0] = query_notes
        links = account_links(found.outliers) if "account_links" in self.options else None
        figures = make_plots(
            found,
            summary="plot_outliers" in self.options,
            per_outlier="plot_outliers" in self.options,
            trends="plot_trends" in self.options,
            histogram="score_histogram" in self.options,
            population="plot_population" in self.options,
            max_plots=opts["max_plots"],
        )
        result = AnomalousLogonUsersResult(
            notebooklet=self, description=self.metadata.description, timespan=timespan
        )
        for facts in (found, figures):  # held under the names they have in Hunt and Figures
            for item in fields(facts):
                setattr(result, item.name, getattr(facts, item.name))
        result.query = query
        result.input_files = input_files or found.input_files
        if links is not None:
            result.account_links = links

        _show_outliers(result)
        if result.outlier_plots or result.shap_summary_plot:
            _show_outlier_plots(result)
        if result.population_plot is not None:
            _show_population(result)
        if result.trend_plots:
            _show_trend_plots(result)
        if result.score_histogram is not None:
            nb_display(result.score_histogram)
        if result.account_links is not None and not result.account_links.empty:
            _show_account_links(result)
        self._last_result = result
        if testing or "self_test" in self.options:  # a separate hunt of a planted copy
            options = {**hunt_options(opts), **window}
            attach_self_test(result, data, options, show=not self.silent)
        if "account_summary" in self.options and not found.outliers.empty:
            tops = found.outliers.drop_duplicates("DstUser").head(opts["max_account_summaries"])
            for _, row in tops.iterrows():
                result.account_summaries[row["DstUser"]] = self._summarize_account(row)
        return self._last_result

    def _resolve_timespan(self, timespan: Any, default_days: int, **kwargs) -> TimeSpan:
        """Return the window asked for; by default the days up to the end of yesterday."""
        if timespan is None and not ("start" in kwargs and "end" in kwargs):
            start, end = default_timespan(days=default_days)
            return TimeSpan(start=start, end=end)
        self._get_timespan(timespan, **kwargs)
        return self.timespan

    def _outlier(self, account: str | None) -> pd.Series | None:
        """Return the top outlier row (of `account` if given), or None."""
        result = self._last_result
        if result is None or result.outliers is None or result.outliers.empty:
            print("No outliers: use run() first, or nothing was flagged.")
            return None
        rows = result.outliers
        if account:
            rows = rows[account_mask(rows, account)]
            if rows.empty:
                print(f"{account!r} is not among the outlier accounts.")
                return None
        return rows.iloc[0]

    @set_text(docs=_CELL_DOCS, key="account_summary")
    def account_summary(self, account: str | None = None) -> Any:
        """
        Run msticnb's AccountSummary for an outlier account.

        Parameters
        ----------
        account : str, optional
            Account to summarize; by default the top outlier's. The window is
            the flagged day and one day either side.

        Returns
        -------
        AccountSummaryResult or None

        """
        row = self._outlier(account)
        return None if row is None else self._summarize_account(row)

    def _summarize_account(self, row: pd.Series) -> Any:
        """Run AccountSummary for the account of outlier `row`, around its day."""
        source = getattr(self.query_provider, "environment", None)
        if source not in SENTINEL_ENVIRONMENTS:
            return print(
                f"AccountSummary needs a Microsoft Sentinel workspace, not {source}; {_PIVOT}"
            )
        from msticnb.nb.azsent.account.account_summary import AccountSummary

        start, end = pivot_window(row["Date"])
        summary = AccountSummary(data_providers=self.data_providers)
        return summary.run(value=row["DstUser"], timespan=TimeSpan(start=start, end=end))

    def logons(self, account: str | None = None) -> pd.DataFrame | None:
        """
        List an outlier account's successful logons on its flagged day.

        Parameters
        ----------
        account : str, optional
            Outlier account; by default the top outlier's.

        """
        return self._account_query("list_logons_by_account", account)

    def failed_logons(self, account: str | None = None) -> pd.DataFrame | None:
        """
        List an outlier account's failed logons on its flagged day.

        Parameters
        ----------
        account : str, optional
            Outlier account; by default the top outlier's.

        """
        return self._account_query("list_logon_failures_by_account", account)

    def _account_query(self, name: str, account: str | None) -> pd.DataFrame | None:
        row = self._outlier(account)
        if row is None:
            return None
        start, end = pivot_window(row["Date"], 0, 0)
        query = getattr(self.query_provider.WindowsSecurity, name)
        return query(account_name=kql_string(row["DstUser"]), start=start, end=end)

    def browse_outliers(self) -> Any:
        """
        Browse outliers in a widget: explanation, SHAP plot, trend, pivots.

        Returns
        -------
        ipywidgets.VBox
            The browser (also displayed).

        """
        from .browser import OutlierBrowser

        if self._last_result is None:
            print("Use run() first.")
            return None
        return OutlierBrowser(self._last_result, self.account_summary).widget


def _query_span(timespan: TimeSpan, opts: dict[str, Any]) -> TimeSpan:
    """Return the window to query: a scheduled hunt's baseline and hunt days within `timespan`."""
    if opts["hunt_days"] is None:
        return timespan
    days = (opts["hunt_days"], opts["baseline_days"])
    start = query_start(timespan.start, timespan.end, *days).to_pydatetime()
    return TimeSpan(start=start, end=timespan.end)


# Kept under the names the notebooklet had for them (tests and older code import them).
_check_run, _run_defaults = check_run, run_defaults
_get_user_days = set_text(docs=_CELL_DOCS, key="get_user_days")(get_user_days)

# The sections a run shows (`cells`), each under its heading and text from the YAML file.
_show_outliers = set_text(docs=_CELL_DOCS, key="show_outliers")(cells.show_outliers)
_show_outlier_plots = set_text(docs=_CELL_DOCS, key="show_outlier_plots")(cells.show_outlier_plots)
_show_population = set_text(docs=_CELL_DOCS, key="show_population")(cells.show_population)
_show_trend_plots = set_text(docs=_CELL_DOCS, key="show_trend_plots")(cells.show_trend_plots)
_show_account_links = set_text(docs=_CELL_DOCS, key="show_account_links")(cells.show_account_links)


register(AnomalousLogonUsers)

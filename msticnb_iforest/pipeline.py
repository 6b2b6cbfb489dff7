"""
The hunt, stage by stage, as plain functions over DataFrames.

``hunt`` takes a per-user-day table (or raw logon events), computes a
feature set's model inputs, scores every user-day with an Isolation Forest,
and explains the flagged ones. ``make_plots`` draws the figures. Neither
needs msticnb; the notebooklet and the command line both call them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from . import explain
from .errors import InputDataError
from .features import FeatureSet, get_feature_set
from .identity import account_keys, allow_list_mask
from .model import fit_score
from .params import (
    DEFAULT_CONTAMINATION,
    DEFAULT_MAX_EXPLAINED,
    DEFAULT_MAX_PLOTS,
    DEFAULT_RANDOM_STATE,
    check_params,
)
from .present import plots
from .present.display import account_label
from .schema import REQUIRED_SUMMARY_COLUMNS, collect_input_notes, is_summary_table, prepare_summary

__all__ = [
    "DEFAULT_MAX_EXPLAINED",
    "DEFAULT_MAX_PLOTS",
    "DEFAULT_MAX_SUMMARY_ROWS",
    "Hunt",
    "account_mask",
    "hunt",
    "make_plots",
    "prepare_input",
    "trend_figure",
]

#: Why a flagged user-day of an ``allow_accounts`` account is not reported.
ALLOW_LISTED = "allow-listed account"

#: Outliers drawn in the SHAP summary plot unless the caller asks for another number.
DEFAULT_MAX_SUMMARY_ROWS = 2000


@dataclass
class Hunt:
    """
    Everything one hunt produced (see `hunt`).

    Attributes
    ----------
    user_days : pd.DataFrame
        Every scored user-day: input columns, model features, ``score``,
        ``is_outlier`` and ``suppressed`` (why a flagged day is not
        reported, or "").
    outliers : pd.DataFrame
        Reported user-days, highest score first (index: row in user_days).
    features : list of str
        Model features, in model order.
    feature_set : str
        Name of the feature set used.
    model : IsolationForest or None
        The fitted forest (None when there was nothing to score).
    shap_values : pd.DataFrame or None
        SHAP values of the explained outliers (the top `max_explained` by
        score; None when SHAP was not requested).
    expected_value : float or None
        The SHAP explainer's expected value.
    explanations : pd.DataFrame
        Per explained outlier (the top `max_explained` by score): top
        features, evidence and a one-line reason.
    notes : list of str
        Remarks for the analyst (features not computed, empty input, ...).
    dropped : dict
        Input rows removed before scoring, by reason.
    suppressed : dict
        Model outliers scored but not reported, by reason.
    params : dict
        The parameters the hunt ran with.
    timings : dict
        Seconds spent in each stage.
    max_explained : int or None
        The most outliers given SHAP values and reasons (None: all). When
        there were more outliers, `notes` says how many were left out.

    """

    user_days: pd.DataFrame
    outliers: pd.DataFrame
    features: list[str]
    feature_set: str
    model: Any = None
    shap_values: pd.DataFrame | None = None
    expected_value: float | None = None
    explanations: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    suppressed: dict[str, int] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    max_explained: int | None = DEFAULT_MAX_EXPLAINED


def prepare_input(
    data: pd.DataFrame, feature_set: str | FeatureSet | None = None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """
    Turn a per-user-day table or raw logon events into a prepared table.

    Parameters
    ----------
    data : pd.DataFrame
        Either rows of the ``user_day_summary`` (or ``account_day_summary``)
        query or raw SecurityEvent logon rows, which are summarized first
        into the table `feature_set` needs.
    feature_set : str or FeatureSet, optional
        The feature set the table is for; None is the package default.

    Returns
    -------
    tuple of (pd.DataFrame, dict)
        The prepared per-user-day table and the count of input rows
        dropped, by reason: raw rows removed by the summary's filters, or
        summary rows without a ``Date`` (``no_date``).

    Raises
    ------
    InputDataError
        If `data` is neither shape (the message lists the missing columns)
        or its values are not usable (the message names the column).

    """
    if not isinstance(data, pd.DataFrame):
        raise InputDataError(f"Expected a pandas DataFrame, got {type(data).__name__}.")
    if is_summary_table(data):
        return prepare_summary(data, return_dropped=True)
    from .summarize import user_days as summarize  # local import: raw input is the less common path

    if summarize.is_raw_events(data) or data.shape == (0, 0):  # (0, 0): a query found nothing
        table, dropped = get_feature_set(feature_set).summarize_events(data)
        table, no_date = prepare_summary(table, return_dropped=True)
        return table, {**dropped, **no_date}
    have = set(map(str, data.columns))
    miss_summary = [c for c in REQUIRED_SUMMARY_COLUMNS if c not in have]
    miss_raw = [c for c in summarize.RAW_REQUIRED_COLUMNS if c not in have]
    raise InputDataError(
        "Input is neither a per-user-day summary (missing: "
        + ", ".join(miss_summary)
        + ") nor raw logon events (missing: "
        + ", ".join(miss_raw)
        + ")."
    )


def account_mask(table: pd.DataFrame, account: str) -> pd.Series:
    r"""
    Select the rows of one account, case-insensitively.

    `account` may be ``user``, ``DOMAIN\\user`` or ``user@domain``.
    """
    return _display_mask(table, account) | _key_mask(table, account)


def _display_mask(table: pd.DataFrame, account: str) -> pd.Series:
    text = str(account).strip().casefold()
    if "\\" in text:
        dom, usr = text.split("\\", 1)
        return _folded_equals(table["DstUser"], usr) & _folded_equals(table["DstDomain"], dom)
    if "@" in text:
        usr, dom = text.split("@", 1)
        return _folded_equals(table["DstUser"], usr) & _folded_equals(
            table["DstDomain"], dom.split(".")[0], first_label=True
        )
    return _folded_equals(table["DstUser"], text)


def _key_mask(table: pd.DataFrame, account: str) -> pd.Series:
    """Match the canonical AccountKey (any spelling of the account), when present."""
    if "AccountKey" not in table.columns:
        return pd.Series(False, index=table.index)
    wanted = str(account_keys([str(account)], [""])[0])
    codes, uniques = pd.factorize(table["AccountKey"].astype(str))
    keys = pd.Series(uniques, dtype=object)
    if wanted.startswith("\\"):  # no domain given: any domain with this user
        hits = keys.str.split("\\", n=1).str[-1] == wanted[1:]
    else:
        hits = keys == wanted
    return pd.Series(hits.to_numpy()[codes], index=table.index) & (codes >= 0)


def _folded_equals(values: pd.Series, target: str, first_label: bool = False) -> pd.Series:
    """
    Compare case-folded text to `target`, folding each distinct value once.

    With `first_label`, only the text before the first dot is compared.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    folded = [str(value).casefold() for value in uniques]
    if first_label:
        folded = [value.split(".")[0] for value in folded]
    hits = np.array([value == target for value in folded], dtype=bool)
    return pd.Series(hits[codes] if len(codes) else np.zeros(0, bool), index=values.index)


class _Timer:
    """Record the wall time of named stages."""

    def __init__(self, progress: Callable[[str], None] | None):
        self.timings: dict[str, float] = {}
        self._progress = progress

    def stage(self, name: str, message: str):
        if self._progress:
            self._progress(message)
        return _Stage(self.timings, name)


class _Stage:
    def __init__(self, timings: dict[str, float], name: str):
        self._timings, self._name = timings, name

    def __enter__(self):
        self._start = time.perf_counter()

    def __exit__(self, *exc):
        self._timings[self._name] = round(time.perf_counter() - self._start, 4)


def _empty_hunt(table, fset, features, notes, dropped, params, timings) -> Hunt:
    user_days = table.assign(score=pd.Series(dtype="float64"), is_outlier=False, suppressed="")
    return Hunt(
        user_days=user_days,
        outliers=user_days.iloc[0:0],
        features=features,
        feature_set=fset.name,
        explanations=explain.explain_outliers(fset, user_days.iloc[0:0], pd.DataFrame()),
        notes=notes,
        dropped=dropped,
        params=params,
        timings=timings,
    )


def hunt(
    data: pd.DataFrame,
    *,
    feature_set: str | FeatureSet | None = None,
    contamination: float | str = DEFAULT_CONTAMINATION,
    n_estimators: int | None = None,
    random_state: int | None = DEFAULT_RANDOM_STATE,
    account: str | None = None,
    shap: bool = True,
    max_explained: int | None = DEFAULT_MAX_EXPLAINED,
    n_jobs: int | None = None,
    progress: Callable[[str], None] | None = None,
    allow_accounts: str | Iterable[str] | None = None,
    min_history_days: int | None = None,
) -> Hunt:
    r"""
    Score every user-day and explain the outliers.

    Every parameter is checked against `msticnb_iforest.params.PARAMETERS`
    before any work; numbers may be Python or numpy scalars, never strings.

    Parameters
    ----------
    data : pd.DataFrame
        Per-user-day table (columns of the ``user_day_summary`` query) or
        raw SecurityEvent logon rows. Not modified.
    feature_set : str or FeatureSet, optional
        ``"seed"`` reproduces the original algorithm exactly. None
        selects the package default.
    contamination : float or "auto", default=0.01
        Expected share of outliers among all user-days, in (0, 0.5].
    n_estimators : int, optional
        Number of trees, 1 to 10,000; by default the feature set's rule.
    random_state : int or None, default=42
        Seed of the forest, 0 to 2**32 - 1; equal inputs and seed give
        equal results.
    account : str, optional
        Report only this account's outliers (the model still learns from
        every account).
    shap : bool, default=True
        Compute SHAP values for the outliers. When False the explanations
        rank features by how rare their value is across all user-days.
    max_explained : int or None, default=500
        Explain (SHAP values, top features, reason) only the highest-scoring
        this many outliers; every outlier is still scored and listed. SHAP
        costs about 1 ms (``seed``) to 6 ms (``baseline``, more and deeper
        trees) per outlier on one core, so this bounds the run
        time when a big table yields thousands of outliers. None explains
        all of them; at most 1,000,000. A note says when outliers were left
        unexplained.
    n_jobs : int, optional
        Threads for the forest; None uses every CPU core, a negative
        number counts back from them (-2: all but one). Results do not
        depend on it.
    progress : callable, optional
        Called with a short message as each stage starts.
    allow_accounts : str or list of str, optional
        Known-benign accounts: ``user``, ``DOMAIN\user`` or ``user@domain``,
        with ``*`` and ``?`` wildcards (e.g. ``"CONTOSO\svc-*"``), case
        ignored. Their user-days are scored (and still shape the model) but
        never reported; flagged ones are counted in `Hunt.suppressed` under
        "allow-listed account".
    min_history_days : int, optional
        Other days an account needs in the window before a day is compared
        with its usual activity (feature sets with a per-account baseline;
        default 5, at most 10,000). Accounts with less history are still scored, and their
        explanations say so.

    Returns
    -------
    Hunt

    Raises
    ------
    InputDataError
        If the data is not usable.
    ParameterError
        If a parameter is out of range.

    """
    checked = check_params(
        feature_set=feature_set,
        contamination=contamination,
        n_estimators=n_estimators,
        random_state=random_state,
        account=account,
        shap=shap,
        max_explained=max_explained,
        n_jobs=n_jobs,
        progress=progress,
        allow_accounts=allow_accounts,
        min_history_days=min_history_days,
    )
    fset = get_feature_set(checked["feature_set"])
    contamination, n_estimators = checked["contamination"], checked["n_estimators"]
    random_state, account, shap = checked["random_state"], checked["account"], checked["shap"]
    max_explained, n_jobs = checked["max_explained"], checked["n_jobs"]
    allowed, min_history_days = checked["allow_accounts"] or (), checked["min_history_days"]
    option_notes = []
    if min_history_days is not None:
        if fset.has_baseline:
            fset = fset.configured(min_history_days=min_history_days)
        else:
            option_notes.append(
                f"min_history_days does not apply to the '{fset.name}' feature set "
                "(it has no per-account baseline)."
            )
    params = {
        "feature_set": fset.name,
        "contamination": contamination,
        "n_estimators": n_estimators,
        "random_state": random_state,
        "account": account,
        "shap": shap,
        "max_explained": max_explained,
        "allow_accounts": list(allowed),
        "min_history_days": getattr(fset, "min_history_days", None),
    }
    timer = _Timer(checked["progress"])
    with timer.stage("prepare", "Preparing the per-user-day table"), collect_input_notes() as read:
        table, dropped = prepare_input(data, fset)
    notes: list[str] = option_notes + read
    if table.empty:
        notes.append(_empty_note(dropped))
        empty = _empty_hunt(table, fset, [], notes, dropped, params, timer.timings)
        empty.max_explained = max_explained
        return empty

    with timer.stage("features", f"Computing '{fset.name}' features"):
        frame = fset.compute(table)
    notes.extend(frame.notes)
    features = list(frame.values.columns)
    n_trees = n_estimators or fset.n_estimators(len(table), len(features))  # checked: >= 1
    params["n_estimators"] = n_trees

    with timer.stage("model", f"Scoring {len(table):,} user-days with {n_trees} trees"):
        scores = fit_score(
            frame.values,
            n_estimators=n_trees,
            contamination=contamination,
            random_state=random_state,
            n_jobs=n_jobs,
            **fset.forest_params(len(table)),
        )

    with timer.stage("assemble", "Collecting outliers"):
        suppressed = fset.suppressed(table).to_numpy().astype(object)
        if allowed:
            suppressed[allow_list_mask(table, allowed) & (suppressed == "")] = ALLOW_LISTED
        user_days = _user_days(table, frame.values, frame.context)
        user_days["score"] = scores.score
        held = np.full(len(user_days), "", dtype=object)
        held[scores.is_outlier] = suppressed[scores.is_outlier]
        user_days["suppressed"] = held
        user_days["is_outlier"] = scores.is_outlier & (suppressed == "")
        held_back = pd.Series(held[held != ""], dtype=object)
        suppressed_counts = {str(k): int(v) for k, v in held_back.value_counts().items()}
        reported = user_days["is_outlier"].to_numpy()
        mask = None
        if account:
            mask = account_mask(user_days, account).to_numpy()
            if not mask.any():
                notes.append(f"Account {account!r} has no user-days in the data.")
            reported = reported & mask
        outliers = user_days[reported].sort_values("score", ascending=False, kind="stable")
        explained = outliers if max_explained is None else outliers.head(max_explained)

    shap_frame = expected = None
    with timer.stage("explain", f"Explaining {len(explained)} outlier(s)"):
        if shap:
            shap_frame, expected = explain.shap_values_for(
                scores.model, frame.values.loc[explained.index]
            )
            contributions = shap_frame
        else:
            contributions = explain.rarity(frame.values, explained.index)
        explanations = explain.explain_outliers(fset, explained, contributions)
    if outliers.empty and (mask is None or mask.any()):
        notes.append(_no_outlier_note(user_days, account, mask))
    elif len(explained) < len(outliers):
        what = "SHAP values and reasons" if shap else "Reasons"
        notes.append(
            f"{what} cover the top {len(explained):,} of {len(outliers):,} outliers by "
            f"score (max_explained={max_explained}); the others are scored and listed "
            "but not explained. Raise max_explained to explain more."
        )
    return Hunt(
        user_days=user_days,
        outliers=outliers,
        features=features,
        feature_set=fset.name,
        model=scores.model,
        shap_values=shap_frame,
        expected_value=expected,
        explanations=explanations,
        notes=notes,
        dropped=dropped,
        suppressed=suppressed_counts,
        params=params,
        timings=timer.timings,
        max_explained=max_explained,
    )


def _reasons(counts: dict[str, int]) -> str:
    """Return "n reason, n reason" for the non-zero counts."""
    return ", ".join(f"{int(n):,} {why}" for why, n in counts.items() if n)


def _empty_note(dropped: dict[str, int]) -> str:
    """Say why there is nothing to score."""
    lost = sum(int(n) for n in dropped.values())
    if lost:
        reasons = _reasons(dropped)
        return f"No user-days to score: all {lost:,} input row(s) were dropped ({reasons})."
    return "No user-days to score: the input has no rows."


def _no_outlier_note(user_days: pd.DataFrame, account: str | None, mask: Any) -> str:
    """Say why no outlier is reported: none flagged, all suppressed, or another account's."""
    held = user_days["suppressed"].to_numpy() != ""
    if mask is not None:
        others = int(user_days["is_outlier"].sum())
        own_held = held & mask
        text = f"No user-day of account '{account}' is reported as an outlier"
        if own_held.any():
            why = user_days.loc[own_held, "suppressed"].value_counts().to_dict()
            text += f" ({int(own_held.sum()):,} flagged by the model but suppressed: "
            text += f"{_reasons(why)})"
        if others:
            return text + f"; {others:,} user-day(s) of other accounts are."
        return text + "; nor is any other account's."
    if held.any():
        why = user_days.loc[held, "suppressed"].value_counts().to_dict()
        return (
            f"No user-day is reported: the model flagged {int(held.sum()):,}, all "
            f"suppressed ({_reasons(why)})."
        )
    return "No user-day was flagged as an outlier."


def _user_days(table: pd.DataFrame, values: pd.DataFrame, context: pd.DataFrame) -> pd.DataFrame:
    """
    Add features and context to the hunt's own prepared table, in place.

    A name that occurs more than once takes its last occurrence (a feature
    replaces the input column it was computed from), at that position.
    Columns are appended one by one rather than concatenated: concatenating
    would consolidate (copy) the whole million-row frame.
    """
    later = list(values.columns) + list(context.columns)
    for name in [col for col in table.columns if col in set(later)]:
        del table[name]
    for part in (values, context):
        for name in part.columns:
            if name in table.columns:  # a context column replaces a feature
                del table[name]
            table[name] = part[name]
    return table


def make_plots(
    result: Hunt,
    *,
    summary: bool = True,
    per_outlier: bool = True,
    trends: bool = True,
    histogram: bool = False,
    max_plots: int = DEFAULT_MAX_PLOTS,
    max_summary_rows: int = DEFAULT_MAX_SUMMARY_ROWS,
    as_png: bool = False,
) -> dict[str, Any]:
    """
    Draw the hunt's figures, at most `max_plots` of each per-outlier kind.

    Figures cost up to about a second each whatever the size of the hunt,
    so a run with thousands of outliers draws only the top ones: the
    per-outlier SHAP charts of the `max_plots` highest-scoring explained
    outliers (only outliers with SHAP values have one), the trend plots of
    the accounts of the `max_plots` highest-scoring outliers and a SHAP
    summary of at most `max_summary_rows` explained outliers (one point per
    outlier and feature). ``plot_cap`` states any cap that applied.

    Parameters
    ----------
    result : Hunt
        A finished hunt.
    summary, per_outlier, trends, histogram : bool
        Which kinds to draw.
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
    dict
        ``shap_summary_plot`` (Figure, PNG bytes or None), ``outlier_plots``
        and ``trend_plots`` (lists of (label, Figure or PNG bytes) pairs;
        labels hold the exact names), ``score_histogram`` (Figure, PNG
        bytes or None) and ``plot_cap`` (a sentence when outliers were left
        without plots, else "").

    Raises
    ------
    ParameterError
        If `max_plots` is not a whole number from 0 to `params.MAX_PLOTS_LIMIT`.

    """
    max_plots = check_params(names=["max_plots"], max_plots=max_plots)["max_plots"]
    keep = plots.png_bytes if as_png else (lambda fig: fig)
    fset = get_feature_set(result.feature_set)
    out: dict[str, Any] = {
        "shap_summary_plot": None,
        "outlier_plots": [],
        "trend_plots": [],
        "score_histogram": None,
        "plot_cap": "",
    }
    shap_ok = result.shap_values is not None and not result.outliers.empty
    caps = []
    if summary and shap_ok:
        shown = result.shap_values.head(max_summary_rows)
        out["shap_summary_plot"] = keep(
            plots.shap_summary_plot(shown, result.user_days.loc[shown.index, result.features])
        )
        if len(shown) < len(result.outliers):
            caps.append(
                f"The SHAP summary shows the top {len(shown):,} of {len(result.outliers):,} "
                "outliers."
            )
    if per_outlier and shap_ok:
        top = result.outliers.head(max_plots)
        explained = top[top.index.isin(result.shap_values.index)]
        for idx, row in explained.iterrows():
            title = (
                f"{account_label(row['DstDomain'], row['DstUser'])} "
                f"{pd.Timestamp(row['Date']):%Y-%m-%d} (score {row['score']:.3f})"
            )
            fig = plots.outlier_plot(
                result.shap_values.loc[idx], row[result.features], title, result.expected_value
            )
            out["outlier_plots"].append((_label(row), keep(fig)))
        if len(explained) < len(top):
            caps.append(
                f"Per-outlier SHAP charts are drawn for the {len(explained):,} explained "
                f"outlier(s) among the top {len(top):,} (raise max_explained to explain more)."
            )
    if trends:
        out["trend_plots"] = [
            (label, keep(fig)) for label, fig in _trend_plots(result, fset, max_plots)
        ]
    if histogram and not result.user_days.empty:
        out["score_histogram"] = keep(plots.score_histogram(result.user_days["score"]))
    if len(result.outliers) > max_plots and (per_outlier or trends):
        caps.insert(
            0,
            f"Plots are drawn for the top {max_plots} of {len(result.outliers)} outliers "
            "(raise max_plots to see more).",
        )
    out["plot_cap"] = " ".join(caps)
    return out


def _label(row: pd.Series) -> str:
    return f"{row['DstDomain']}\\{row['DstUser']} {pd.Timestamp(row['Date']):%Y-%m-%d}"


def _trend_plots(result: Hunt, fset: FeatureSet, max_plots: int) -> Iterator[tuple[str, Figure]]:
    """Yield (label, Figure) per account of the top outliers, one figure at a time."""
    accounts = result.outliers.drop_duplicates(["DstDomain", "DstUser"]).head(max_plots)
    if accounts.empty:
        return
    # One pass over all user-days for the plotted accounts, not one per plot.
    users = result.user_days["DstUser"]
    history = result.user_days[users.isin(set(accounts["DstUser"])).to_numpy()]
    for domain, user in zip(accounts["DstDomain"], accounts["DstUser"], strict=True):
        yield f"{domain}\\{user}", trend_figure(result, domain, user, history=history)


def trend_figure(
    result: Any, domain: str, user: str, *, history: pd.DataFrame | None = None
) -> Figure:
    """
    Draw one account's daily trend with its outlier days marked.

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        A finished run (its ``user_days``, ``outliers``, ``features`` and
        ``feature_set`` are used).
    domain, user : str
        The account, as spelled in ``DstDomain`` and ``DstUser``.
    history : pd.DataFrame, optional
        User-days holding at least the account's rows (default: all of
        `result`'s user-days).

    Returns
    -------
    matplotlib.figure.Figure

    """
    fset = get_feature_set(result.feature_set)
    columns = list(fset.trend_columns) or list(result.features)
    outliers = result.outliers
    same = (outliers["DstDomain"] == domain) & (outliers["DstUser"] == user)
    dates = list(pd.to_datetime(outliers.loc[same, "Date"]))
    days = result.user_days if history is None else history
    return plots.trend_plot(days, domain, user, dates, columns)

"""
The hunt, stage by stage, as plain functions over DataFrames.

`hunt` runs prepare → features → score → select → explain → incidents,
each a stage function of its own stage (`summarize.prepare.prepare`, the
feature set, `model.fit_score`, `model.select_outliers`,
`explain.explain_selection`, `incidents.group_incidents`), and returns a
`Hunt`. It needs no msticnb: the
notebooklet, the notebook and the command line all call it, and hand its
result to `msticnb_iforest.present` to draw and write.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from . import explain, windows
from .errors import InputDataError
from .features import FeatureFrame, FeatureSet, get_feature_set
from .incidents import empty_incidents, group_incidents
from .model import ALLOW_LISTED, ModelScores, Selection, fit_score, select_outliers
from .params import (
    DEFAULT_BASELINE_DAYS,
    DEFAULT_MAX_EXPLAINED,
    DEFAULT_MAX_PLOTS,
    DEFAULT_RANDOM_STATE,
    check_params,
)
from .state import step as memory_step
from .summarize.prepare import Prepared, prepare

__all__ = [
    "ALLOW_LISTED",
    "DEFAULT_MAX_EXPLAINED",
    "DEFAULT_MAX_PLOTS",
    "Hunt",
    "hunt",
]


@dataclass
class Hunt:
    """
    Everything one hunt produced (see `hunt`).

    The notebooklet's result carries these same attributes under the same
    names, so whatever reads a `Hunt` reads it too.

    Attributes
    ----------
    user_days : pd.DataFrame
        Every scored user-day: input columns, model features, ``score``,
        ``is_outlier`` and ``suppressed`` (why a flagged day is not
        reported, or ""); in a scheduled hunt (``hunt_days``) also
        ``window``: "baseline" or "hunt" (baseline days are scored
        against the same threshold but never reported).
    outliers : pd.DataFrame
        Reported user-days, highest score first (index: row in user_days),
        with ``incident``: the number of the incident each belongs to.
    features : list of str
        Model features, in model order.
    feature_set : str
        Name of the feature set used.
    model : IsolationForest or None
        The fitted forest (None when there was nothing to score).
    shap_values : pd.DataFrame or None
        SHAP values of the explained outliers (the top `max_explained` by
        score; None when SHAP was not requested).
    shap_expected_value : float or None
        The SHAP explainer's expected value.
    explanations : pd.DataFrame
        Per explained outlier (the top `max_explained` by score): top
        features, evidence, a one-line reason and its ``clauses`` (list of
        dicts, strongest first: feature, label, value, usual_low,
        usual_high, text; see `explain.explain_outliers`).
    incidents : pd.DataFrame
        The outliers grouped by what links them on one day (a password
        spray's failing source, a shared source, the same pattern), one row
        per incident, the most flagged activity first: ``incident``,
        ``kind``, ``lead`` (the sentence to read first), ``n_accounts``,
        ``accounts``, ``first_day``, ``last_day``, ``sources``, ``score``
        (highest member's), ``n_outliers``, ``members`` (labels in
        `outliers`). A lone outlier is an incident of one (kind "single");
        see `msticnb_iforest.incidents.group_incidents`.
    notes : list of str
        Remarks for the analyst (features not computed, empty input, ...).
    dropped_rows : dict
        Input rows removed before scoring, by reason.
    suppressed_outliers : dict
        Model outliers scored but not reported, by reason.
    parameters : dict
        The parameters the hunt ran with.
    timings : dict
        Seconds spent in each stage.
    max_explained : int or None
        The most outliers given SHAP values and reasons (None: all). When
        there were more outliers, `notes` says how many were left out.
    trend_columns : list of str
        The columns an outlier account's trend plot draws per day (the
        feature set's choice, else the features).
    input_files : list of dict
        The files of raw events summarized from disk (path, rows and format
        of each); empty when the hunt was given a DataFrame.
    status_counts, incident_status_counts : dict
        Reported outliers and incidents by ``status`` ({"new": n, "recurring":
        n, "seen": n}): an outlier is "seen" when an earlier run of the state
        store reported its account-day, "recurring" when it reported the same
        account and evidence on another day, else "new" (always, without a
        store); an incident is new if any member is, seen if all are. Outliers
        also carry ``finding``, ``evidence`` (12-hex ids) and ``verdict``.
    verdict_suppressed : pd.DataFrame
        Outliers a benign analyst verdict hides (finding, account, day,
        verdict_id, scope, note); in user_days as "analyst verdict".
    state_path : str or None
        The state store read and written (None: no memory).
    run_id : int or None
        The store's id of this run.

    """

    user_days: pd.DataFrame
    outliers: pd.DataFrame
    features: list[str]
    feature_set: str
    model: Any = None
    shap_values: pd.DataFrame | None = None
    shap_expected_value: float | None = None
    explanations: pd.DataFrame = field(default_factory=pd.DataFrame)
    incidents: pd.DataFrame = field(default_factory=empty_incidents)
    notes: list[str] = field(default_factory=list)
    dropped_rows: dict[str, int] = field(default_factory=dict)
    suppressed_outliers: dict[str, int] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    max_explained: int | None = DEFAULT_MAX_EXPLAINED
    trend_columns: list[str] = field(default_factory=list)
    input_files: list[dict[str, Any]] = field(default_factory=list)
    status_counts: dict[str, int] = field(default_factory=dict)
    incident_status_counts: dict[str, int] = field(default_factory=dict)
    verdict_suppressed: pd.DataFrame = field(default_factory=memory_step.empty_verdict_suppressed)
    state_path: str | None = None
    run_id: int | None = None

    def set_verdict(self, **kwargs: Any) -> pd.DataFrame:
        """
        Record a verdict in the state store; see `msticnb_iforest.state.step.record_verdict`.

        Examples
        --------
        >>> found.set_verdict(incident=2, verdict="benign", note="backup")  # doctest: +SKIP

        """
        return memory_step.record_verdict(self, **kwargs)

    # The names these attributes had before the notebooklet's result and the
    # hunt's were made one; kept so that older notebooks keep working.
    dropped = property(lambda self: self.dropped_rows, doc="Old name of `dropped_rows`.")
    suppressed = property(
        lambda self: self.suppressed_outliers, doc="Old name of `suppressed_outliers`."
    )
    params = property(lambda self: self.parameters, doc="Old name of `parameters`.")
    expected_value = property(
        lambda self: self.shap_expected_value, doc="Old name of `shap_expected_value`."
    )


class _Timer:
    """Record the wall time of named stages."""

    def __init__(self, progress: Callable[[str], None] | None):
        self.timings: dict[str, float] = {}
        self._progress = progress

    def announce(self, message: str) -> None:
        if self._progress:
            self._progress(message)

    def stage(self, name: str, message: str):
        self.announce(message)
        return _Stage(self.timings, name)


class _Stage:
    def __init__(self, timings: dict[str, float], name: str):
        self._timings, self._name = timings, name

    def __enter__(self):
        self._start = time.perf_counter()

    def __exit__(self, *exc):
        self._timings[self._name] = round(time.perf_counter() - self._start, 4)


def hunt(
    data: pd.DataFrame,
    *,
    feature_set: str | FeatureSet | None = None,
    contamination: float | str | None = None,
    n_estimators: int | None = None,
    random_state: int | None = DEFAULT_RANDOM_STATE,
    account: str | None = None,
    shap: bool = True,
    max_explained: int | None = DEFAULT_MAX_EXPLAINED,
    n_jobs: int | None = None,
    progress: Callable[[str], None] | None = None,
    allow_accounts: str | Iterable[str] | None = None,
    min_history_days: int | None = None,
    start: Any = None,
    end: Any = None,
    memory_limit: int | str | None = None,
    hunt_days: int | None = None,
    baseline_days: int = DEFAULT_BASELINE_DAYS,
    max_alerts_per_day: int | None = None,
    state: Any = None,
) -> Hunt:
    r"""
    Score every user-day and explain the outliers.

    Every parameter is checked against `msticnb_iforest.params.PARAMETERS`
    before any work; numbers may be Python or numpy scalars, never strings.

    Parameters
    ----------
    data : pd.DataFrame or EventFiles
        Per-user-day table (columns of the ``user_day_summary`` query), raw
        SecurityEvent logon rows (not modified), or files of raw events
        (`msticnb_iforest.sources.readers.scan_tables`), which are
        summarized from the files themselves, never loaded as one frame.
    feature_set : str or FeatureSet, optional
        ``"seed"`` reproduces the original algorithm exactly. None
        selects the package default.
    contamination : float or "auto", optional
        Expected share of outliers among all user-days, in (0, 0.5]: where
        the reporting threshold lies. None uses the feature set's own
        (`FeatureSet.contamination`: 0.01, and 0.005 for ``habits``).
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
    start, end : datetime, str or Timestamp, optional
        The hunt's window (naive times are UTC): raw events outside it are
        not summarized, table rows of days outside it are dropped (counted
        under ``out_of_range``). None: no bound.
    memory_limit : int or str, optional
        Memory the columnar engine may take while summarizing files of raw
        events (bytes, or a size such as ``"4G"``; at least 64 MiB; None:
        2 GiB). Past it the engine spills to a temporary folder, so a very
        large input is slower rather than fatal.
    hunt_days : int, optional
        Hunt as a scheduled rule does: report only the last this many days
        (1 to 366), judged against the `baseline_days` days before them.
        The window read is ``[end - hunt_days - baseline_days, end)`` in
        whole UTC days, `end` being the midnight after the window's last
        day: the day of `end` is the last hunted one unless `end` is an
        exact midnight (then the day before is); with `end` None, the
        data's last day is.
        Features are computed over the whole window as usual; the forest
        is built from baseline days only, its threshold is the
        `contamination` quantile of the baseline days' scores, and only
        hunt days above it are reported. Baseline days stay in
        ``user_days`` (column ``window``). None (the default): every day of
        the window is scored against the others and may be reported.
    baseline_days : int, default=30
        Days of history before the hunted days, 1 to 90 (only with
        `hunt_days`). A note says when the window or the data holds fewer.
    max_alerts_per_day : int, optional
        Report at most this many outliers per day, highest score first;
        the rest are listed in ``user_days`` with ``suppressed`` "alert
        budget", counted in `Hunt.suppressed_outliers`, and a note says how
        many on which days. None (the default): no cap.
    state : str or os.PathLike, optional
        The SQLite state store of a scheduled hunt (created when missing).
        Outliers covered by an analyst's benign verdict are not reported
        (``suppressed`` "analyst verdict", listed in `Hunt.verdict_suppressed`);
        the others are marked new, recurring or seen against earlier runs,
        and the run is recorded in the store. None (the default): nothing
        is read or written and every outlier is new.

    Returns
    -------
    Hunt

    Raises
    ------
    InputDataError
        If the data is not usable.
    ParameterError
        If a parameter is out of range.

    Examples
    --------
    >>> from msticnb_iforest import hunt
    >>> from msticnb_iforest.sources.demo import generate_demo
    >>> found = hunt(generate_demo(users=80, days=14, seed=1).events)  # doctest: +SKIP
    >>> found.outliers[["Date", "DstUser", "score"]].head(3)  # doctest: +SKIP

    The last day, judged against the 13 before it, at most 5 alerts:

    >>> daily = hunt(
    ...     generate_demo(users=80, days=14, seed=1).events,
    ...     hunt_days=1,
    ...     baseline_days=13,
    ...     max_alerts_per_day=5,
    ... )  # doctest: +SKIP

    """
    given = dict(locals())  # every parameter but the data, checked once, together
    opts = check_params(**{name: value for name, value in given.items() if name != "data"})
    fset, notes = _configured(opts)
    memory = memory_step.open_memory(opts["state"])
    timer = _Timer(opts["progress"])
    ready = _prepared(data, fset, opts, timer)
    notes += ready.notes
    parameters = _parameters(opts, fset)
    window = _scheduled(ready, opts, notes)
    if ready.table.empty:
        return memory_step.remember(_empty_hunt(ready, fset, notes, parameters, timer), memory)

    with timer.stage("features", f"Computing '{fset.name}' features"):
        frame = fset.compute(ready.table)
        reasons = fset.suppressed(ready.table)
    notes += frame.notes
    n_rows = len(frame.values)
    parameters["n_estimators"] = opts["n_estimators"] or fset.n_estimators(*frame.values.shape)

    with timer.stage(
        "model", f"Scoring {n_rows:,} user-days with {parameters['n_estimators']} trees"
    ):
        scores = fit_score(
            frame.values,
            n_estimators=parameters["n_estimators"],
            contamination=parameters["contamination"],
            random_state=opts["random_state"],
            n_jobs=opts["n_jobs"],
            train=None if window is None else window == windows.BASELINE,
            **fset.forest_params(n_rows),
        )

    features = list(frame.values.columns)
    with timer.stage("assemble", "Collecting outliers"):
        picked = _selected(ready.table, frame, scores, reasons, opts, window, memory)
    notes += picked.notes
    limit = opts["max_explained"]

    with timer.stage("explain", f"Explaining {len(picked.outliers.iloc[:limit])} outlier(s)"):
        found = explain.explain_selection(
            fset, scores.model, frame.values, picked, shap=opts["shap"], max_explained=limit
        )
    hunted = Hunt(
        user_days=picked.user_days,
        outliers=picked.outliers,
        features=features,
        feature_set=fset.name,
        model=scores.model,
        shap_values=found.shap_values,
        shap_expected_value=found.expected_value,
        explanations=found.explanations,
        notes=notes + found.notes,
        dropped_rows=ready.dropped,
        suppressed_outliers=picked.suppressed,
        parameters=parameters,
        timings=timer.timings,
        max_explained=limit,
        trend_columns=list(fset.trend_columns) or list(frame.values.columns),
        input_files=ready.inputs,
    )
    _mark_new_accounts(hunted, window)
    return _grouped(hunted, timer, memory)


def _prepared(data: Any, fset: FeatureSet, opts: dict[str, Any], timer: _Timer) -> Prepared:
    """Run `prepare` (the first stage) with the checked options it takes; record its time."""
    timer.announce("Preparing the per-user-day table")
    names = ("start", "end", "memory_limit", "progress")
    given = {name: opts[name] for name in names}
    if opts["hunt_days"] is not None and opts["end"] is not None:
        # only the scheduled window's days are summarized
        days = (opts["hunt_days"], opts["baseline_days"])
        given["start"] = windows.query_start(opts["start"], opts["end"], *days)
    ready = prepare(data, fset.query_name, **given)
    timer.timings.update(ready.timings)
    return ready


def _scheduled(ready: Prepared, opts: dict[str, Any], notes: list[str]) -> Any:
    """
    Cut a scheduled hunt's table to its window, in place, and label its days.

    Returns None for a whole-window hunt (``hunt_days`` None), else, per
    row of the cut table, "baseline" or "hunt" (also its ``window`` column).

    Raises
    ------
    InputDataError
        If there are days to hunt but none in the baseline.

    """
    if opts["hunt_days"] is None:
        return None
    table = ready.table
    last = opts["end"] if opts["end"] is not None else table["Date"].max()
    if pd.isna(last):  # no rows and no end: nothing to cut
        ready.table = table.assign(**{windows.WINDOW_COLUMN: ""})
        return ready.table[windows.WINDOW_COLUMN].to_numpy(dtype=object)
    if opts["end"] is None:
        last = last + pd.Timedelta(hours=12)  # within the data's last day
    span = windows.scheduled_window(last, opts["hunt_days"], opts["baseline_days"])
    split = windows.split_days(table, span, opts["start"])
    notes += split.notes
    if split.outside:
        ready.dropped["out_of_range"] = ready.dropped.get("out_of_range", 0) + split.outside
    ready.table = split.table
    ready.table[windows.WINDOW_COLUMN] = split.window
    if len(split.table) and not (split.window == windows.BASELINE).any():
        raise InputDataError(
            f"No account-days in the baseline ({span.describe()}): there is nothing to judge "
            "the hunt days against; give data (or a window) reaching back baseline_days days "
            "before the hunt_days hunted."
        )
    if not (split.window == windows.HUNT).any():
        notes.append("No account-days in the hunt days: nothing can be reported.")
    return split.window


def _mark_new_accounts(hunted: Hunt, window: Any) -> None:
    """Say which hunt-day accounts have no baseline day: in notes and their reasons."""
    if window is None:  # a whole-window hunt: no baseline to be new to
        return
    new = pd.Series(windows.new_accounts(hunted.user_days, window), index=hunted.user_days.index)
    if not new.any():
        return
    rows = hunted.user_days.loc[new.to_numpy(), ["DstDomain", "DstUser"]].drop_duplicates()
    names = ", ".join(f"{domain}\\{user}" for domain, user in rows.head(5).itertuples(index=False))
    more = f" and {len(rows) - 5:,} more" if len(rows) > 5 else ""
    flagged = int(new.reindex(hunted.outliers.index, fill_value=False).sum())
    hunted.notes.append(
        f"New accounts (hunt days but no baseline day): {names}{more}; "
        f"{flagged:,} of their days reported" + (", their reasons say so." if flagged else ".")
    )
    found = hunted.explanations
    if "reason" in found.columns and len(found):
        mark = new.reindex(found.index, fill_value=False).to_numpy()
        reasons = found["reason"].astype(object).copy()
        reasons[mark] = "New account (no day in the baseline). " + reasons[mark].astype(str)
        found["reason"] = reasons


def _selected(
    table: pd.DataFrame,
    frame: FeatureFrame,
    scores: ModelScores,
    reasons: pd.Series,
    opts: dict,
    window: Any,
    memory: memory_step.Memory,
) -> Selection:
    """
    Run `select_outliers` on the hunt's own table, moving the feature set's columns into it.

    Flagged rows a benign verdict covers are held back first, never taking
    a place of the alert budget (`state.step.verdict_reasons`); the outliers
    then get their ids (`state.step.hold_back`). The columns are moved (not
    copied) unless a context column shares a feature's name; `frame.values`
    then reads the features back from the table, without a copy.
    """
    features = list(frame.values.columns)
    take = not set(features) & set(frame.context.columns)
    candidates = None if window is None else window == windows.HUNT
    reasons = memory_step.verdict_reasons(table, scores.is_outlier, reasons, memory, candidates)
    picked = select_outliers(
        table,
        frame.values,
        frame.context,
        scores,
        reasons,
        allow_accounts=opts["allow_accounts"],
        account=opts["account"],
        take_columns=take,
        candidates=candidates,
        max_alerts_per_day=opts["max_alerts_per_day"],
    )
    if take:
        frame.values = pd.DataFrame({name: picked.user_days[name] for name in features}, copy=False)
    memory_step.hold_back(picked, memory)
    return picked


def _grouped(hunted: Hunt, timer: _Timer, memory: memory_step.Memory) -> Hunt:
    """Group the outliers into incidents, then mark them new, recurring or seen (last stages)."""
    with timer.stage("incidents", "Grouping the outliers into incidents"):
        hunted.incidents, incident = group_incidents(
            hunted.outliers, hunted.user_days, hunted.explanations
        )
    hunted.outliers = hunted.outliers.assign(incident=incident)
    with timer.stage("state", "Marking new, recurring and seen outliers"):
        return memory_step.remember(hunted, memory)


def _configured(opts: dict[str, Any]) -> tuple[FeatureSet, list[str]]:
    """Return the feature set with the run's options applied, and a note on any not applied."""
    fset = get_feature_set(opts["feature_set"])
    days = opts["min_history_days"]
    if days is None:
        return fset, []
    if fset.has_baseline:
        return fset.configured(min_history_days=days), []
    return fset, [
        f"min_history_days does not apply to the '{fset.name}' feature set "
        "(it has no per-account baseline)."
    ]


def _parameters(opts: dict[str, Any], fset: FeatureSet) -> dict[str, Any]:
    """Return the parameters a hunt reports it ran with."""
    return {
        "feature_set": fset.name,
        "contamination": (
            fset.contamination if opts["contamination"] is None else opts["contamination"]
        ),
        "n_estimators": opts["n_estimators"],
        "random_state": opts["random_state"],
        "account": opts["account"],
        "shap": opts["shap"],
        "max_explained": opts["max_explained"],
        "allow_accounts": list(opts["allow_accounts"] or ()),
        "min_history_days": getattr(fset, "min_history_days", None),
        "hunt_days": opts["hunt_days"],
        "baseline_days": opts["baseline_days"] if opts["hunt_days"] is not None else None,
        "max_alerts_per_day": opts["max_alerts_per_day"],
        "state": opts["state"],
    }


def _empty_hunt(
    ready: Prepared, fset: FeatureSet, notes: list[str], parameters: dict, timer: _Timer
) -> Hunt:
    """Return the hunt of a table with no user-days: nothing scored, a note saying why."""
    user_days = ready.table.assign(
        score=pd.Series(dtype="float64"), is_outlier=False, suppressed=""
    )
    none = user_days.iloc[0:0]
    return Hunt(
        user_days=user_days,
        outliers=none.assign(incident=pd.Series(dtype="int64")),
        features=[],
        feature_set=fset.name,
        explanations=explain.explain_outliers(fset, none, pd.DataFrame()),
        notes=notes,
        dropped_rows=ready.dropped,
        parameters=parameters,
        timings=timer.timings,
        max_explained=parameters["max_explained"],
        trend_columns=list(fset.trend_columns),
        input_files=ready.inputs,
    )


def __getattr__(name: str) -> Any:
    """Find the names that moved to other modules (`msticnb_iforest.moved.MOVED_NAMES`)."""
    from .moved import moved_name

    return moved_name(__name__, name)

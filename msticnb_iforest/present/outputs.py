"""
Write a hunt's results to a folder: CSV tables, an HTML report and run.json.

`write_outputs` accepts the `Hunt` returned by `pipeline.hunt` or the
notebooklet's result object, so the command line and a notebook produce the
same files.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._version import VERSION
from ..params import DEFAULT_MAX_PLOTS
from .csvfiles import FORMULA_STARTS, csv_ready, csv_safe_text, write_csv
from .figures import Figures, make_plots
from .folder import MARKER, OUTPUT_FILES, OutputBusyError, OutputError, OutputFolder
from .status import incident_marks, status_summary, statuses

__all__ = [
    "FORMULA_STARTS",
    "OUTPUT_FILES",
    "OutputBusyError",
    "OutputError",
    "OutputFolder",
    "csv_ready",
    "csv_safe_text",
    "incident_table",
    "joined",
    "jsonable",
    "outlier_table",
    "package_versions",
    "run_record",
    "write_csv",
    "write_outputs",
]

#: Distributions whose versions go into run.json and the report.
VERSIONED = ["msticpy", "msticnb", "pandas", "numpy", "scikit-learn", "shap", "matplotlib"]

#: Columns that lead outliers.csv, in this order.
LEAD_COLUMNS = [
    "Date",
    "DstDomain",
    "DstUser",
    "score",
    "reason",
    "top_features",
    "evidence",
    "incident",
    "status",
    "verdict",
    "finding",
    "evidence_id",
]


def joined(value: Any) -> str:
    """Join a list of strings with '; ' (other values as text, missing as "")."""
    if isinstance(value, list | tuple | np.ndarray):
        return "; ".join(str(item) for item in value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def outlier_table(result: Any, only_new: bool = False) -> pd.DataFrame:
    """
    Return the reported outliers with their reasons, ready to save.

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        A finished hunt.
    only_new : bool, default=False
        Only the outliers whose status is "new" (`status.statuses`).

    Returns
    -------
    pd.DataFrame
        Date, DstDomain, DstUser, score, reason, top_features and evidence
        (lists joined with "; "), incident (the number of the outlier's row
        in `incident_table`, when the result has incidents), then, when the
        hunt gave them, ``status``, ``verdict``, ``finding`` and
        ``evidence_id`` (the hunt's ``evidence`` id of the outlier, renamed
        so as not to clash with the explanation's evidence), then every
        other column of the outlier rows (input columns, features,
        context), highest score first.

    """
    outliers = result.outliers
    if only_new:
        outliers = outliers[statuses(outliers) == "new"]
    expl = result.explanations
    table = outliers.copy()
    if "evidence" in table.columns:  # the hunt's id of the evidence, not its wording
        table = table.rename(columns={"evidence": "evidence_id"})
    for col in ("reason", "top_features", "evidence"):
        if col in expl.columns and len(expl):
            table[col] = expl[col].reindex(outliers.index).map(joined).fillna("")
        else:
            table[col] = ""
    lead = [col for col in LEAD_COLUMNS if col in table.columns]
    rest = [col for col in table.columns if col not in lead]
    return table[lead + rest].reset_index(drop=True)


def incident_table(result: Any, only_new: bool = False) -> pd.DataFrame | None:
    """
    Return the result's incidents, ready to save (None for a result without them).

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        A finished hunt.
    only_new : bool, default=False
        Only the incidents whose status is "new" (`status.statuses`).

    Returns
    -------
    pd.DataFrame or None
        One row per incident, as in ``result.incidents`` (``incident``,
        ``kind``, ``lead``, ``n_accounts``, ``accounts``, ``first_day``,
        ``last_day``, ``sources``, ``score``, ``n_outliers``, ``members``,
        and ``status`` when the hunt gave it), the days as dates, plus
        ``finding`` (the member outliers' findings) and ``verdict``
        ("malicious" when a member is known to be) when the outliers carry
        them (`status.incident_marks`); None when the result holds no
        ``incidents``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> import pandas as pd
    >>> found = SimpleNamespace(incidents=pd.DataFrame({
    ...     "incident": [1], "first_day": pd.to_datetime(["2024-03-21"])}))
    >>> incident_table(found).to_dict("records")
    [{'incident': 1, 'first_day': '2024-03-21'}]
    >>> incident_table(SimpleNamespace()) is None
    True

    """
    incidents = getattr(result, "incidents", None)
    if incidents is None:
        return None
    marks = incident_marks(incidents, getattr(result, "outliers", None))
    table = incidents.drop(columns=list(marks.columns), errors="ignore").join(marks)
    if only_new:
        table = table[statuses(table) == "new"]
    table = table.reset_index(drop=True)
    for day in ("first_day", "last_day"):
        if day in table.columns and pd.api.types.is_datetime64_any_dtype(table[day]):
            table[day] = table[day].dt.strftime("%Y-%m-%d")
    return table


def _incident_counts(result: Any) -> dict[str, Any] | None:
    """Count the result's incidents, in all and per kind (None without incidents)."""
    incidents = getattr(result, "incidents", None)
    if incidents is None:
        return None
    kinds = incidents["kind"].value_counts(sort=False) if "kind" in incidents else {}
    return {"count": len(incidents), "kinds": {str(k): int(n) for k, n in dict(kinds).items()}}


def package_versions() -> dict[str, str]:
    """Return the versions of this package, its main dependencies and Python."""
    versions = {"msticnb-iforest": VERSION}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions["python"] = platform.python_version()
    return versions


def jsonable(value: Any) -> Any:
    """
    Convert numpy, pandas and datetime values to plain JSON types, recursively.

    NaN and infinities become None; timestamps become ISO 8601 strings;
    anything else unknown becomes its string form.
    """
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | np.ndarray | pd.Index | pd.Series):
        return [jsonable(item) for item in list(value)]
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date | np.datetime64):
        stamp = pd.Timestamp(value)
        return None if pd.isna(stamp) else stamp.isoformat()
    if isinstance(value, pd.Timedelta | dt.timedelta):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _span(user_days: pd.DataFrame) -> dict[str, str | None]:
    if user_days.empty or "Date" not in user_days.columns:
        return {"start": None, "end": None}
    dates = pd.to_datetime(user_days["Date"])
    return {"start": f"{dates.min():%Y-%m-%d}", "end": f"{dates.max():%Y-%m-%d}"}


def _counts(result: Any) -> dict[str, int]:
    days = result.user_days
    accounts = 0
    if not days.empty and {"DstDomain", "DstUser"} <= set(days.columns):
        accounts = len(days[["DstDomain", "DstUser"]].drop_duplicates())
    flagged = int(days["is_outlier"].sum()) if "is_outlier" in days.columns else 0
    held = int((days["suppressed"] != "").sum()) if "suppressed" in days.columns else 0
    return {
        "user_days": len(days),
        "accounts": accounts,
        "outliers": len(result.outliers),
        "flagged_by_model": flagged + held,
        "suppressed": held,
    }


def run_record(result: Any, run_info: dict[str, Any] | None = None) -> dict[str, Any]:
    """
    Describe a run for run.json: parameters, versions, inputs, counts, timings.

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        A finished hunt.
    run_info : dict, optional
        What the caller knows beyond the result: ``inputs`` (list of
        {"path", "rows", "format"}), ``query`` (text), ``window``
        ({"start", "end"} requested), ``command``, ``plot_cap`` and any
        other JSON-friendly keys, which are kept under ``run_info``;
        ``only_new`` (bool) says the tables list only the new outliers and
        incidents.

    Returns
    -------
    dict
        JSON-serializable.

    """
    info = dict(run_info or {})
    record = {
        "tool": "msticnb-iforest",
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": info.pop("command", None),
        "parameters": {**result.parameters, "feature_set": result.feature_set},
        "features": list(result.features),
        "versions": package_versions(),
        "inputs": info.pop("inputs", []),
        "window": info.pop("window", None),
        "data_span": _span(result.user_days),
        # a notebooklet result also holds the query that ran
        "query": info.pop("query", None) or getattr(result, "query", None),
        "counts": _counts(result),
        "incidents": _incident_counts(result),
        "dropped": result.dropped_rows,
        "suppressed": result.suppressed_outliers,
        **status_summary(result).record(),
        "only_new": bool(info.pop("only_new", False)),
        "notes": [str(note) for note in result.notes],
        "plot_cap": info.pop("plot_cap", None),
        "plot_note": info.pop("plot_note", ""),
        "timings": dict(result.timings),
        "run_info": info,
    }
    return jsonable(record)


def write_outputs(
    result: Any,
    out_dir: str | Path | OutputFolder,
    *,
    figures: Figures | None = None,
    run_info: dict[str, Any] | None = None,
    started: float | None = None,
    labels: pd.DataFrame | None = None,
    only_new: bool = False,
) -> dict[str, Path]:
    """
    Write outliers.csv, incidents.csv, user_days.csv, report.html and run.json.

    The files are written aside and moved into the folder as one set
    (`OutputFolder`): a failed or interrupted call leaves the folder as it
    was, and run.json, written last, marks a complete set.

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        A finished hunt.
    out_dir : str, Path or OutputFolder
        Folder to write into; created if missing. The output files of a
        previous run there are replaced as a set; other files are kept. An
        open `OutputFolder` receives the files and publishes them when its
        owner calls `OutputFolder.publish` (to add files to the set).
    figures : Figures, optional
        The figures for the report (`figures.make_plots`). When None, a
        notebooklet result's own figures are used, and for a `Hunt` the
        default plots (with the score histogram) are drawn. Pass
        ``Figures()`` for a report without plots.
    run_info : dict, optional
        Extra facts for run.json and the report (see `run_record`), e.g.
        ``{"inputs": [...], "query": "...", "title": "..."}``.
    started : float, optional
        ``time.perf_counter()`` when the run began. run.json's ``timings``
        always include ``write_tables`` (the CSV files) and ``report``
        (encoding the figures and writing report.html); with `started`
        they also include ``total``, the run's wall time up to run.json.
    labels : pd.DataFrame, optional
        The demo's labelled attack user-days, written as labels.csv.
    only_new : bool, default=False
        List only the new outliers and incidents (status "new") in
        outliers.csv, incidents.csv and the report; run.json and the
        report's counts still count every one. ``run_info={"only_new":
        True}`` does the same.

    Returns
    -------
    dict of str to Path
        ``outliers``, ``incidents``, ``user_days``, ``report`` and ``run``
        paths (and ``labels``), where the files are once published. A
        result without ``incidents`` (one made before hunts had them)
        writes no incidents.csv.

    Raises
    ------
    OSError
        If the folder cannot be created or written (`OutputError`, naming
        the file), or another run is writing it (`OutputBusyError`).
    ParameterError
        If `out_dir` is an empty or blank string.

    """
    if not isinstance(out_dir, OutputFolder):
        with OutputFolder(out_dir) as folder:
            paths = write_outputs(
                result,
                folder,
                figures=figures,
                run_info=run_info,
                started=started,
                labels=labels,
                only_new=only_new,
            )
            folder.publish()
        return paths

    from .report import render_report  # matplotlib/base64 work only when writing

    folder = out_dir
    info = dict(run_info or {})
    if figures is None:
        figures = Figures.held_by(result)
    if figures is None:  # a Hunt: the default plots, up to run_info's cap
        cap = info.get("plot_cap")
        figures = make_plots(
            result, histogram=True, max_plots=DEFAULT_MAX_PLOTS if cap is None else cap
        )
    info = {"plot_cap": figures.plot_cap, "plot_note": figures.plot_note, **info}
    only_new = bool(only_new or info.pop("only_new", False))
    begin = time.perf_counter()
    paths = {
        "outliers": folder.write_csv("outliers.csv", outlier_table(result, only_new)),
    }
    incidents = incident_table(result, only_new)
    if incidents is not None:
        paths["incidents"] = folder.write_csv("incidents.csv", incidents)
    paths["user_days"] = folder.write_csv("user_days.csv", result.user_days)
    if labels is not None:
        paths["labels"] = folder.write_csv("labels.csv", labels)
    written = {"write_tables": round(time.perf_counter() - begin, 4)}
    title = info.pop("title", None)
    record = run_record(result, {**info, "only_new": only_new})
    begin = time.perf_counter()
    html = render_report(result, record, figures=figures, title=title, only_new=only_new)
    paths["report"] = folder.write_text("report.html", html)
    written["report"] = round(time.perf_counter() - begin, 4)
    if started is not None:
        written["total"] = round(time.perf_counter() - started, 4)
    record["timings"] = {**record.get("timings", {}), **written}
    text = json.dumps(record, indent=2, allow_nan=False) + "\n"
    paths["run"] = folder.write_text(MARKER, text)  # written last, by publish
    return paths

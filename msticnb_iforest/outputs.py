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
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._version import VERSION

__all__ = [
    "FORMULA_STARTS",
    "RunView",
    "csv_safe_text",
    "jsonable",
    "outlier_table",
    "package_versions",
    "run_record",
    "view_of",
    "write_outputs",
]

#: Distributions whose versions go into run.json and the report.
VERSIONED = ["msticpy", "msticnb", "pandas", "numpy", "scikit-learn", "shap", "matplotlib"]

#: Columns that lead outliers.csv, in this order.
LEAD_COLUMNS = ["Date", "DstDomain", "DstUser", "score", "reason", "top_features", "evidence"]


@dataclass
class RunView:
    """
    The parts of a hunt result the writers need, under one set of names.

    Built by `view_of` from a `Hunt` or a notebooklet result.
    """

    user_days: pd.DataFrame
    outliers: pd.DataFrame
    explanations: pd.DataFrame
    features: list[str]
    feature_set: str
    params: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    suppressed: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    query: str | None = None
    has_shap: bool = False


def _first(obj: Any, *names: str, default: Any = None) -> Any:
    """Return the first attribute of `obj` among `names` that is not None."""
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return value
    return default


def view_of(result: Any) -> RunView:
    """
    Read a `Hunt` or a notebooklet result into a `RunView`.

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        A finished hunt.

    Returns
    -------
    RunView

    """
    user_days = _first(result, "user_days", default=pd.DataFrame())
    outliers = _first(result, "outliers", default=user_days.iloc[0:0])
    explanations = _first(result, "explanations", default=pd.DataFrame())
    return RunView(
        user_days=user_days,
        outliers=outliers,
        explanations=explanations,
        features=list(_first(result, "features", default=[])),
        feature_set=str(_first(result, "feature_set", default="")),
        params=dict(_first(result, "params", "parameters", default={})),
        notes=[str(note) for note in _first(result, "notes", default=[])],
        dropped=dict(_first(result, "dropped", "dropped_rows", default={})),
        suppressed=dict(_first(result, "suppressed", "suppressed_outliers", default={})),
        timings=dict(_first(result, "timings", default={})),
        query=_first(result, "query"),
        has_shap=_first(result, "shap_values") is not None,
    )


def _join(value: Any) -> str:
    """Join a list of strings with '; ' (other values as text)."""
    if isinstance(value, list | tuple | np.ndarray):
        return "; ".join(str(item) for item in value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def outlier_table(result: Any) -> pd.DataFrame:
    """
    Return the reported outliers with their reasons, ready to save.

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        A finished hunt.

    Returns
    -------
    pd.DataFrame
        Date, DstDomain, DstUser, score, reason, top_features and evidence
        (lists joined with "; "), then every other column of the outlier
        rows (input columns, features, context), highest score first.

    """
    view = result if isinstance(result, RunView) else view_of(result)
    outliers = view.outliers
    expl = view.explanations
    table = outliers.copy()
    for col in ("reason", "top_features", "evidence"):
        if col in expl.columns and len(expl):
            table[col] = expl[col].reindex(outliers.index).map(_join).fillna("")
        else:
            table[col] = ""
    lead = [col for col in LEAD_COLUMNS if col in table.columns]
    rest = [col for col in table.columns if col not in lead]
    return table[lead + rest].reset_index(drop=True)


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


def _counts(view: RunView) -> dict[str, int]:
    days = view.user_days
    accounts = 0
    if not days.empty and {"DstDomain", "DstUser"} <= set(days.columns):
        accounts = len(days[["DstDomain", "DstUser"]].drop_duplicates())
    flagged = int(days["is_outlier"].sum()) if "is_outlier" in days.columns else 0
    held = int((days["suppressed"] != "").sum()) if "suppressed" in days.columns else 0
    return {
        "user_days": len(days),
        "accounts": accounts,
        "outliers": len(view.outliers),
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
        other JSON-friendly keys, which are kept under ``run_info``.

    Returns
    -------
    dict
        JSON-serializable.

    """
    view = result if isinstance(result, RunView) else view_of(result)
    info = dict(run_info or {})
    query = info.pop("query", None) or view.query
    record = {
        "tool": "msticnb-iforest",
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": info.pop("command", None),
        "parameters": {**view.params, "feature_set": view.feature_set},
        "features": view.features,
        "versions": package_versions(),
        "inputs": info.pop("inputs", []),
        "window": info.pop("window", None),
        "data_span": _span(view.user_days),
        "query": query,
        "counts": _counts(view),
        "dropped": view.dropped,
        "suppressed": view.suppressed,
        "notes": view.notes,
        "plot_cap": info.pop("plot_cap", None),
        "plot_note": info.pop("plot_note", ""),
        "timings": view.timings,
        "run_info": info,
    }
    return jsonable(record)


#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe_text(values: pd.Series) -> pd.Series:
    """
    Neutralize text cells a spreadsheet would run as formulas.

    Account, domain and host names come from the logs, and an attacker
    chooses the account name of a failed logon. A text cell starting with
    one of :data:`FORMULA_STARTS` gets a leading apostrophe, which
    spreadsheets show as plain text; other cells and non-text values are
    unchanged. Only the CSV files are written this way: the result's
    DataFrames, run.json and the report keep the exact names.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    risky = np.array(
        [isinstance(value, str) and value.startswith(FORMULA_STARTS) for value in uniques],
        dtype=bool,
    )
    if not risky.any():
        return values
    fixed = np.array(
        ["'" + value if bad else value for value, bad in zip(uniques, risky, strict=True)],
        dtype=object,
    )
    hit = codes >= 0
    hit[hit] = risky[codes[hit]]
    out = values.to_numpy(dtype=object, copy=True)
    out[hit] = fixed[codes[hit]]
    return pd.Series(out, index=values.index, name=values.name)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    out = frame.copy()
    if "Date" in out.columns and pd.api.types.is_datetime64_any_dtype(out["Date"]):
        out["Date"] = out["Date"].dt.strftime("%Y-%m-%d")
    for position, dtype in enumerate(out.dtypes):
        if pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype):
            out.isetitem(position, csv_safe_text(out.iloc[:, position]))
    out.to_csv(path, index=False)


def write_outputs(
    result: Any,
    out_dir: str | Path,
    *,
    figures: dict[str, Any] | None = None,
    run_info: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """
    Write outliers.csv, user_days.csv, report.html and run.json to a folder.

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        A finished hunt.
    out_dir : str or Path
        Folder to write into; created if missing. Existing files of the
        same names are replaced.
    figures : dict, optional
        Figures as returned by `pipeline.make_plots` (keys
        ``shap_summary_plot``, ``outlier_plots``, ``trend_plots``,
        ``score_histogram``, ``plot_cap``). When None, a notebooklet
        result's own figures are used, and for a `Hunt` the default plots
        (with the score histogram) are drawn. Pass ``{}`` for a report
        without plots.
    run_info : dict, optional
        Extra facts for run.json and the report (see `run_record`), e.g.
        ``{"inputs": [...], "query": "...", "title": "..."}``.

    Returns
    -------
    dict of str to Path
        ``outliers``, ``user_days``, ``report`` and ``run`` paths.

    Raises
    ------
    OSError
        If the folder cannot be created or written.

    """
    from .report import render_report  # matplotlib/base64 work only when writing

    view = view_of(result)
    info = dict(run_info or {})
    if figures is None:
        if info.get("plot_cap") is None and not hasattr(result, "outlier_plots"):
            from .pipeline import DEFAULT_MAX_PLOTS

            info["plot_cap"] = DEFAULT_MAX_PLOTS
        figures = _figures_of(result, info.get("plot_cap"))
    if figures.get("plot_cap") and not info.get("plot_note"):
        info["plot_note"] = figures["plot_cap"]
    cap = getattr(result, "plot_cap", None)
    if info.get("plot_cap") is None and isinstance(cap, int):
        info["plot_cap"] = cap
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "outliers": folder / "outliers.csv",
        "user_days": folder / "user_days.csv",
        "report": folder / "report.html",
        "run": folder / "run.json",
    }
    _write_csv(outlier_table(view), paths["outliers"])
    _write_csv(view.user_days, paths["user_days"])
    title = info.pop("title", None)
    record = run_record(view, info)
    html = render_report(view, record, figures=figures, title=title)
    paths["report"].write_text(html, encoding="utf-8")
    paths["run"].write_text(json.dumps(record, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    return paths


def _figures_of(result: Any, max_plots: int | None) -> dict[str, Any]:
    """Take a notebooklet result's figures, or draw a Hunt's default plots."""
    if hasattr(result, "outlier_plots"):
        return {
            "shap_summary_plot": getattr(result, "shap_summary_plot", None),
            "outlier_plots": list(getattr(result, "outlier_plots", None) or []),
            "trend_plots": list(getattr(result, "trend_plots", None) or []),
            "score_histogram": getattr(result, "score_histogram", None),
            "plot_cap": getattr(result, "plot_note", "") or "",
        }
    from .pipeline import DEFAULT_MAX_PLOTS, make_plots

    cap = DEFAULT_MAX_PLOTS if max_plots is None else int(max_plots)
    return make_plots(result, histogram=True, max_plots=cap)

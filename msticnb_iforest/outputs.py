"""
Write a hunt's results to a folder: CSV tables, an HTML report and run.json.

`write_outputs` accepts the `Hunt` returned by `pipeline.hunt` or the
notebooklet's result object, so the command line and a notebook produce the
same files.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import numbers
import platform
import unicodedata
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
    "csv_ready",
    "csv_safe_text",
    "jsonable",
    "outlier_table",
    "package_versions",
    "run_record",
    "view_of",
    "write_csv",
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

#: Formula characters also recognised after leading whitespace and in their
#: compatibility forms (full-width ``＝＋－＠``, small forms), which some
#: spreadsheets fold to the ASCII character.
_FORMULA_CHARS = frozenset("=+-@")

#: Quoting of the CSV files: every text cell (and the header) is quoted, so a
#: cell holding any line break (CR, LF, CRLF, U+2028, U+2029, VT, FF, NEL ...)
#: stays one cell for every reader that honours quotes; numbers are bare.
CSV_QUOTING = csv.QUOTE_NONNUMERIC

#: dtype kinds that never hold text: bool, integers, floats, complex, times.
_NOT_TEXT_KINDS = frozenset("biufcmM")


def _formula_mask(texts: pd.Series) -> np.ndarray:
    """Return which of `texts` (str or None) a spreadsheet could run as formulas."""
    first = texts.str[:1]
    lead = texts.str.lstrip().str[:1]
    folded = {ch: unicodedata.normalize("NFKC", ch)[:1] for ch in pd.unique(lead.dropna())}
    risky = first.isin(FORMULA_STARTS) | lead.map(folded).isin(_FORMULA_CHARS)
    return risky.to_numpy(dtype=bool)


def _cell_text(value: Any) -> str | None:
    """Return the text pandas writes for a cell value; None for numbers, times, NA."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(
        value, numbers.Number | dt.date | dt.time | dt.timedelta | np.datetime64 | np.timedelta64
    ):
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _neutralized(uniques: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return (risky mask, apostrophe-prefixed texts) for distinct cell values."""
    texts = pd.Series([_cell_text(value) for value in uniques], dtype=object)
    risky = _formula_mask(texts)
    return risky, ("'" + texts[risky]).to_numpy(dtype=object)


def csv_safe_text(values: pd.Series) -> pd.Series:
    """
    Neutralize text cells a spreadsheet would run as formulas.

    Account, domain and host names come from the logs, and an attacker
    chooses the account name of a failed logon. A text cell gets a leading
    apostrophe, which spreadsheets show as plain text, when it starts with
    one of :data:`FORMULA_STARTS`, or when its first character after
    leading whitespace is ``=``, ``+``, ``-`` or ``@`` or a compatibility
    form of one (full-width ``＝＋－＠``). Any dtype is handled (object,
    string, ArrowDtype string, category); the test runs once per distinct
    value. Numbers, times and missing values are unchanged, and so is the
    Series passed in: when no cell is risky it is returned as it is,
    otherwise a new object Series is returned. Only the CSV files are
    written this way: the result's DataFrames, run.json and the report keep
    the exact names.
    """
    if values.dtype.kind in _NOT_TEXT_KINDS:
        return values
    if isinstance(values.dtype, pd.CategoricalDtype):
        risky, fixed = _neutralized(values.cat.categories)
        if not risky.any():
            return values
        codes = values.cat.codes.to_numpy()
        cells = values.cat.categories.to_numpy(dtype=object).copy()
        cells[risky] = fixed
        out = np.append(cells, None)[codes]  # code -1 (missing) takes the None
        return pd.Series(out, index=values.index, name=values.name, dtype=object)
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:  # unhashable cells (lists, dicts): pandas writes their str()
        codes, uniques = np.arange(len(values)), values.to_numpy(dtype=object)
    risky, fixed = _neutralized(uniques)
    if not risky.any():
        return values
    replacement = np.empty(len(uniques), dtype=object)
    replacement[risky] = fixed
    hit = codes >= 0
    hit[hit] = risky[codes[hit]]
    out = values.to_numpy(dtype=object, copy=True)
    out[hit] = replacement[codes[hit]]
    return pd.Series(out, index=values.index, name=values.name, dtype=object)


def csv_ready(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Any]]:
    """
    Return `frame` as the CSV files write it, and its header.

    A datetime ``Date`` column becomes ``YYYY-MM-DD`` text, text cells and
    column names are neutralized with `csv_safe_text`. `frame` is not
    modified; unchanged columns are shared with it, not copied.
    """
    out = frame.copy(deep=False)
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if out.columns[position] == "Date" and column.dtype.kind == "M":
            out.isetitem(position, column.dt.strftime("%Y-%m-%d"))
            continue
        safe = csv_safe_text(column)
        if safe is not column:
            out.isetitem(position, safe)
    names = pd.Series([str(name) for name in frame.columns], dtype=object)
    return out, csv_safe_text(names).tolist()


def write_csv(frame: pd.DataFrame, handle: Any) -> None:
    r"""
    Write `frame` as the output CSV files are written.

    Formula cells neutralized (`csv_safe_text`), every text cell quoted
    (:data:`CSV_QUOTING`), no index, ``\\n`` line ends, UTF-8.

    Parameters
    ----------
    frame : pd.DataFrame
        The table; not modified.
    handle : path or text file
        Where to write (a file opened with ``newline=""``).

    """
    out, header = csv_ready(frame)
    out.to_csv(handle, index=False, header=header, quoting=CSV_QUOTING, lineterminator="\n")


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        write_csv(frame, handle)


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

"""
What the hunting notebook shows of a result: summary lines, notes, incidents, tables, figures.

`msticnb_iforest.frontends.notebook` offers every function here under the
same name; the notebook calls them from there. Text from the data is made
safe with `display.safe_text` and HTML-escaped before it is shown.
"""

from __future__ import annotations

import io
from html import escape
from typing import Any

import pandas as pd

from ..present.display import safe_text
from ..present.remarks import dropped_line, held_line, status_lines

__all__ = [
    "FIGURE_DPI",
    "incident_table",
    "outlier_overview",
    "readable_table",
    "run_remarks",
    "show_figures",
    "show_incidents",
    "show_notes",
    "show_table",
]

#: Resolution of the figures drawn in the notebook.
FIGURE_DPI = 90

#: Text longer than this many characters gets a column wide enough to read.
WIDE_TEXT = 40
#: Text that is a day or a range of days, never broken at its hyphens.
_DAYS = r"\d{4}-\d\d-\d\d( to \d{4}-\d\d-\d\d)?"
#: Most account names an incident row lists (all are in incidents.csv and the browser).
INCIDENT_ACCOUNTS = 6

#: The incident columns shown, with their headings (``members`` is for programs).
INCIDENT_COLUMNS = {
    "incident": "Incident",
    "kind": "Kind",
    "lead": "What happened",
    "n_accounts": "Accounts",
    "accounts": "Account names",
    "first_day": "Days",
    "sources": "Sources",
    "n_outliers": "Outliers",
    "score": "Top score",
}


def outlier_overview(result: Any, limit: int | None = None) -> pd.DataFrame:
    """
    Return the reported outliers with their reasons, highest score first.

    Parameters
    ----------
    result : AnomalousLogonUsersResult
        A finished run.
    limit : int, optional
        Most rows to return.

    Returns
    -------
    pd.DataFrame
        Date, DstDomain, DstUser, score, reason (from outliers.csv's table),
        and the incident of each outlier when the result has incidents.

    """
    from ..present.outputs import outlier_table

    table = outlier_table(result)
    wanted = ("Date", "DstDomain", "DstUser", "score", "incident", "reason")
    columns = [col for col in wanted if col in table]
    table = table[columns]
    return table if limit is None else table.head(limit)


def run_remarks(result: Any) -> list[str]:
    """
    Return the run's remarks as sentences: counts, files, notes, dropped and suppressed rows.

    A run with a state store also says how many outliers and incidents are
    new, recurring and seen (`remarks.status_lines`), after the counts.

    Parameters
    ----------
    result : AnomalousLogonUsersResult
        A finished run.

    """
    days = result.user_days if result.user_days is not None else pd.DataFrame()
    accounts = len(days[["DstDomain", "DstUser"]].drop_duplicates()) if len(days) else 0
    outliers = 0 if result.outliers is None else len(result.outliers)
    lines = [
        f"{outliers:,} outlier user-day(s) among {len(days):,} user-days of {accounts:,} "
        f"account(s), feature set '{result.feature_set}'."
    ]
    lines.extend(status_lines(result))
    for info in result.input_files or []:
        lines.append(f"Read {info['rows']:,} rows from {info['path']} ({info['format']}).")
    lines.extend(f"Note: {note}" for note in result.notes)
    lines.extend(line for line in (dropped_line(result), held_line(result)) if line)
    if result.plot_note:
        lines.append(result.plot_note)
    return lines


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=FIGURE_DPI)
    return buf.getvalue()


def show_figures(figures: Any, *, hide: bool = False, limit: int | None = None) -> None:
    """
    Display figures in the notebook as PNG images.

    The result's figures are plain matplotlib Figures (not pyplot ones), so
    they are rendered here rather than relying on the notebook's matplotlib
    backend.

    Parameters
    ----------
    figures : Figure, list of Figure or of (label, Figure), or None
        What to show; (label, Figure) pairs as the result's plot lists hold.
    hide : bool, default=False
        Do not draw them (the notebook's ``silent`` parameter); a line says so.
    limit : int, optional
        Draw at most this many; a line says where the others are (the
        browser draws any outlier's charts, report.html has them all).

    """
    from IPython.display import Image, display

    if figures is None:
        items: list[Any] = []
    elif isinstance(figures, list | tuple):
        items = [item[1] if isinstance(item, tuple) else item for item in figures]
    else:
        items = [figures]
    items = [fig for fig in items if fig is not None]
    if not items:
        print("No figure: nothing to plot for this run.")
    elif hide:
        print(f"{len(items)} figure(s) not drawn (silent=True); report.html has them.")
    else:
        shown = items if limit is None else items[:limit]
        for fig in shown:
            display(Image(data=_png(fig), format="png"))
        if len(shown) < len(items):
            print(
                f"The first {len(shown)} of {len(items)} figures are shown; the browser above "
                "draws any outlier's, and report.html has them all."
            )


def show_table(frame: pd.DataFrame | None, title: str, limit: int = 20) -> None:
    """
    Print a title with the row count and display the first `limit` rows of `frame`.

    The rows are shown as `readable_table` makes them. A `frame` of None (no
    raw events to show) is reported as not available.
    """
    from IPython.display import display

    if frame is None:
        print(f"{title}: not available (the data source has no raw logon events).")
        return
    more = f", first {limit} shown" if len(frame) > limit else ""
    print(f"{title}: {len(frame):,} row(s){more}.")
    if len(frame):
        display(readable_table(frame, limit))


def _cell_text(value: Any) -> str:
    """Return a cell as one safe line: lists joined with "; ", structured clauses by their text."""
    from ..present.outputs import joined

    if isinstance(value, list | tuple) and value and all(isinstance(v, dict) for v in value):
        value = [item.get("text", "") for item in value]
    return safe_text(joined(value))


def readable_table(frame: pd.DataFrame, limit: int = 20) -> Any:
    """
    Return the first `limit` rows styled for reading: no index, lists joined, text whole.

    Parameters
    ----------
    frame : pd.DataFrame
        Any table (outliers, explanations, incidents, logons). Not modified.
    limit : int, default=20
        Most rows shown.

    Returns
    -------
    pandas.io.formats.style.Styler
        Renders as an HTML table without the row index; list cells (top
        features, evidence; structured clauses by their text) are joined
        with "; ", long text is not cut, text is made safe (`safe_text`)
        and HTML-escaped, days without a time are shown as dates and
        decimals with three places.

    Examples
    --------
    >>> rows = pd.DataFrame({"user": ["bob"], "top_features": [["failed_logons", "new_ips"]]})
    >>> "failed_logons; new_ips" in readable_table(rows).to_html()
    True

    """
    shown = frame.head(limit).reset_index(drop=True)
    for col in shown.select_dtypes(include=["object", "string"]).columns:
        shown[col] = shown[col].map(_cell_text)
    dates = list(shown.select_dtypes(include=["datetime", "datetimetz"]).columns)
    for col in dates:
        days = shown[col]
        if days.notna().any() and (days.dropna() == days.dropna().dt.normalize()).all():
            shown[col] = days.dt.strftime("%Y-%m-%d").fillna("")
    text = [c for c in shown.select_dtypes(include=["object", "string"]).columns if c not in dates]
    dates += [col for col in text if shown[col].str.fullmatch(_DAYS).all()]
    wide = [col for col in text if shown[col].str.len().max() > WIDE_TEXT]
    return (
        shown.style.hide(axis="index")
        .format(precision=3, escape="html")
        .set_table_styles([{"selector": "th", "props": "text-align: left"}])
        .set_properties(subset=text, **{"text-align": "left", "white-space": "normal"})
        .set_properties(subset=wide, **{"min-width": "14em"})
        .set_properties(subset=dates, **{"white-space": "nowrap"})
    )


def incident_table(result: Any) -> pd.DataFrame | None:
    """
    Return the result's incidents with readable headings, or None when it has none.

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        A finished hunt.

    Returns
    -------
    pd.DataFrame or None
        One row per incident, first the one to look at first: Incident, Kind,
        What happened, Accounts, Account names (the first few, and how many
        more), Days (the first, or "first to last"), Sources, Outliers, Top score. None when
        the result holds no ``incidents`` table (made before outliers were
        grouped).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> found = SimpleNamespace(incidents=pd.DataFrame({"incident": [1], "members": ["4"]}))
    >>> list(incident_table(found).columns)
    ['Incident']

    """
    incidents = getattr(result, "incidents", None)
    if not isinstance(incidents, pd.DataFrame):
        return None
    columns = [col for col in INCIDENT_COLUMNS if col in incidents.columns]
    table = incidents[columns]
    if "accounts" in table.columns:
        table = table.assign(accounts=table["accounts"].map(_some_accounts))
    if {"first_day", "last_day"} <= set(incidents.columns):
        first, last = (
            pd.to_datetime(incidents[c]).dt.strftime("%Y-%m-%d") for c in ("first_day", "last_day")
        )
        table = table.assign(first_day=first.where(first == last, first + " to " + last))
    return table.rename(columns=INCIDENT_COLUMNS)


def _some_accounts(names: Any) -> str:
    """Return the first `INCIDENT_ACCOUNTS` of ", "-joined account names, and how many more."""
    parts = str(names).split(", ") if isinstance(names, str) and names else []
    if len(parts) <= INCIDENT_ACCOUNTS:
        return ", ".join(parts)
    return f"{', '.join(parts[:INCIDENT_ACCOUNTS])} and {len(parts) - INCIDENT_ACCOUNTS:,} more"


def show_incidents(result: Any, limit: int = 50) -> None:
    """
    Show the result's incidents: a count, then a table of the first `limit`.

    Parameters
    ----------
    result : AnomalousLogonUsersResult
        A finished run.
    limit : int, default=50
        Most incidents listed.

    """
    table = incident_table(result)
    outliers = 0 if result.outliers is None else len(result.outliers)
    if table is None:
        print("This result does not group its outliers into incidents; see the outliers below.")
    elif table.empty:
        print("No incidents: no account-day was flagged.")
    else:
        more = f" The first {limit:,} are listed." if len(table) > limit else ""
        print(
            f"{len(table):,} incident(s) from {outliers:,} outlier account-day(s); "
            f"the first is the one to look at first.{more}"
        )
        from IPython.display import display

        display(readable_table(table, limit))


def show_notes(result: Any) -> None:
    """
    Show the run's notes (too little data to judge, features not computed, ...) in a box.

    Each note is one item; a run without notes says so. The notes are
    shown as HTML with the same lines as plain text for viewers without it.

    Parameters
    ----------
    result : AnomalousLogonUsersResult
        A finished run.

    """
    from IPython.display import display

    notes = [safe_text(note) for note in (getattr(result, "notes", None) or [])]
    if not notes:
        print("No notes: nothing limited what this run could judge.")
        return
    title = f"{len(notes)} note(s) on this run: read them before the results."
    items = "".join(f"<li>{escape(note)}</li>" for note in notes)
    html = (
        '<div class="alu-notes" style="border-left: 4px solid #d9822b; background: #fff7e6; '
        f'color: #222; padding: 0.4em 0.8em; margin: 0.3em 0"><b>{escape(title)}</b>'
        f'<ul style="margin: 0.3em 0">{items}</ul></div>'
    )
    text = "\n".join([title, *(f"- {note}" for note in notes)])
    display({"text/html": html, "text/plain": text}, raw=True)

r"""
Render a hunt as one self-contained HTML triage page.

The page leads with what to look at first: summary cards, then the
incidents (when the hunt groups its outliers into ``incidents``), the
sortable and filterable outlier table, the charts (each linked from and
back to its table row), the follow-up queries with copy buttons, and the
run's details. It needs nothing but itself: styles and one small script
are inline (`report_page`), figures are embedded as base64 PNG ``data:``
URIs, there are no fonts or links to other sites, and a
Content-Security-Policy forbids loading anything else or running any
script but that one (allowed by its hash). Every string that comes from
the data (account names, reasons, notes, file names, query text) is first
made safe with `display.safe_text` (control, bidi, zero-width and other
invisible characters shown as ``\u202e``-style escapes) and then
HTML-escaped; the text a copy button copies is kept exact.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable
from typing import Any

import pandas as pd

from ..wording import DROP_REASON_TEXT
from .display import TITLE_WIDTH
from .figures import Figures
from .markup import kv as _kv
from .markup import pre as _pre
from .markup import section as _section
from .markup import text as _e
from .report_page import CSS, SCRIPT, content_security_policy
from .status import StatusSummary, listed, status_summary
from .triage import ChartIndex, follow_up, incidents_section, outliers_section, trend_anchor

__all__ = ["figure_to_data_uri", "render_report"]

#: Outlier rows shown in the HTML table (outliers.csv always has all of them);
#: the same number as are explained by default (``pipeline.DEFAULT_MAX_EXPLAINED``).
MAX_TABLE_ROWS = 500


def figure_to_data_uri(fig: Any, dpi: int = 96) -> str:
    """
    Render a matplotlib Figure (or PNG bytes) as a ``data:image/png;base64,...`` URI.

    The PNG carries no metadata (no software name or link).
    """
    if isinstance(fig, bytes | bytearray):
        png = bytes(fig)
    else:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
        png = buffer.getvalue()
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _img(
    fig: Any, caption: str, alt: str | None = None, anchor: str = "", back: Iterable[int] = ()
) -> str:
    """Draw a figure: its image, its caption and links back to its outlier rows."""
    uri = figure_to_data_uri(fig)
    ident = f' id="{anchor}"' if anchor else ""
    links = " ".join(f'<a href="#outlier-{rank}">#{rank}</a>' for rank in back)
    back_html = f' <span class="back">· back to outlier {links}</span>' if links else ""
    return (
        f'<figure{ident}><img src="{uri}" alt="{_e(alt or caption, TITLE_WIDTH)}">'
        f"<figcaption>{_e(caption, TITLE_WIDTH)}{back_html}</figcaption></figure>"
    )


def _fmt_time(value: Any) -> str:
    """Show a window bound: a date at midnight, else the UTC time to the second."""
    if value in (None, ""):
        return "…"
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        return str(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    if stamp == stamp.normalize():
        return f"{stamp:%Y-%m-%d}"
    return f"{stamp:%Y-%m-%d %H:%M:%S} UTC"


def _by_reason(counts: dict[str, Any], unit: str) -> str:
    counts = {reason: count for reason, count in counts.items() if count}
    if not counts:
        return '<span class="muted">none</span>'
    items = "".join(
        f"<tr><td>{_e(DROP_REASON_TEXT.get(str(reason), reason))}</td>"
        f'<td class="num">{int(count):,}</td></tr>'
        for reason, count in counts.items()
    )
    return f'<table><tr><th>Reason</th><th class="num">{_e(unit)}</th></tr>{items}</table>'


def _cards(record: dict[str, Any]) -> str:
    counts = record.get("counts", {})
    span = record.get("data_span") or {}
    params = record.get("parameters", {})
    window = "—"
    if span.get("start"):
        window = f"{span['start']} → {span['end']}"
    n_out = counts.get("outliers", 0)
    marks = record.get("status_counts") or {}
    n_new = int(marks.get("new", n_out) or 0)
    cards = [
        ("Outliers", f"{n_out:,}", " alert" if n_out else ""),
        ("New", f"{n_new:,}", " alert" if n_new else ""),
        ("User-days scored", f"{counts.get('user_days', 0):,}", ""),
        ("Accounts", f"{counts.get('accounts', 0):,}", ""),
        ("Data span", window, " wide"),
        ("Feature set", str(params.get("feature_set", "")), ""),
        ("Contamination", str(params.get("contamination", "")), ""),
    ]
    html = "".join(
        f'<div class="card{kind}"><div class="k">{_e(key)}</div>'
        f'<div class="v{" small" if kind == " wide" else ""}">{_e(value)}</div></div>'
        for key, value, kind in cards
    )
    notes = "".join(f'<div class="note">{_e(note)}</div>' for note in record.get("notes") or [])
    notes_html = f'<div class="card-notes">{notes}</div>' if notes else ""
    return f'<section class="cards">{html}{notes_html}</section>'


def _status_html(summary: StatusSummary, what: str, only_new: bool) -> str:
    """
    Return the line of status counts above a table ("3 new, 2 recurring, 5 seen; ...").

    Under `only_new` it says how many others are not listed; without a
    state store it says that every outlier counts as new.
    """
    counts = summary.outliers if what == "outlier" else summary.incidents or {}
    others = int(counts.get("recurring", 0)) + int(counts.get("seen", 0))
    line = f"{what.capitalize()}s: {summary.line(what)}."
    if only_new:
        line += f" Only the new ones are listed; {others:,} recurring or seen not listed."
    if summary.state_path is None:
        line += " This hunt kept no memory (no state store): every one counts as new."
    return f'<p class="statusline">{_e(line)}</p>'


def _inputs(inputs: list[dict[str, Any]]) -> str:
    if not inputs:
        return '<span class="muted">data passed in directly</span>'
    rows = "".join(
        f'<tr><td class="path">{_e(item.get("path"))}</td><td>{_e(item.get("format", ""))}</td>'
        f'<td class="num">{_e(_count(item.get("rows")))}</td></tr>'
        for item in inputs
    )
    return f"<table><tr><th>File</th><th>Format</th><th>Rows</th></tr>{rows}</table>"


def _count(value: Any) -> str:
    try:
        return f"{int(value):,}"
    except (ValueError, TypeError):
        return str(value)


def _summary(record: dict[str, Any]) -> str:
    params = record.get("parameters", {})
    counts = record.get("counts", {})
    window = record.get("window") or {}
    span = record.get("data_span") or {}
    notes = record.get("notes") or []
    if window:
        requested = _e(f"{_fmt_time(window.get('start'))} → {_fmt_time(window.get('end'))}")
    else:
        requested = '<span class="muted">whole input</span>'
    n_days, n_accounts = counts.get("user_days", 0), counts.get("accounts", 0)
    n_out, n_flagged = counts.get("outliers", 0), counts.get("flagged_by_model", 0)
    reported = f"{n_out:,} (the model flagged {n_flagged:,})"
    if params.get("account"):
        reported = f"{n_out:,} for this account (the model flagged {n_flagged:,} in all accounts)"
    explained = "SHAP" if params.get("shap", True) else "feature rarity (SHAP off)"
    note_html = "".join(f'<div class="note">{_e(note)}</div>' for note in notes)
    plots = record.get("plot_note") or f"up to {record.get('plot_cap') or '—'} of each kind"
    rows = [
        ("Requested window", requested),
        ("Data span (days)", _e(f"{span.get('start') or '—'} → {span.get('end') or '—'}")),
        ("Input", _inputs(record.get("inputs") or [])),
        ("User-days / accounts", _e(f"{n_days:,} / {n_accounts:,}")),
        ("Feature set", _e(params.get("feature_set", ""))),
        ("Contamination", _e(params.get("contamination", ""))),
        (
            "Trees / random state",
            _e(f"{params.get('n_estimators')} / {params.get('random_state')}"),
        ),
        ("Account filter", _e(params.get("account") or "none (all accounts)")),
        ("Explanations", _e(explained)),
        ("Outliers reported", _e(reported)),
        ("Input rows dropped", _by_reason(record.get("dropped") or {}, "Rows")),
        ("Outliers suppressed", _by_reason(record.get("suppressed") or {}, "Outliers")),
        ("Notes", note_html or '<span class="muted">none</span>'),
        ("Plots", _e(plots)),
    ]
    return _section("summary", "Run summary", "", _kv(rows))


def _pairs(items: Any) -> list[tuple[str, Any]]:
    return [(str(label), fig) for label, fig in (items or []) if fig is not None]


def _grid(items: Iterable[str]) -> str:
    return f'<div class="grid">{"".join(items)}</div>'


def _charts(figures: Figures, charts: ChartIndex, has_shap: bool) -> list[tuple[str, str, str]]:
    """Return (anchor, nav label, HTML) for each chart section present, most useful first."""
    parts = []
    cap = figures.plot_note
    cap_html = f'<p class="note">{_e(cap)}</p>' if cap else ""
    population = getattr(figures, "population_plot", None)
    correlated = getattr(figures, "correlation_plot", None)
    if population is not None:
        html = _section(
            "population",
            "Population",
            "Every account-day of the hunt in two dimensions; outliers and incidents are "
            "highlighted. Below it, how the model features move together.",
            _img(population, "All account-days", anchor="fig-population")
            + (
                _img(correlated, "Feature correlations", anchor="fig-correlations")
                if correlated is not None
                else ""
            ),
        )
        parts.append(("population", "Population", html))
    parts += _per_outlier(figures, charts, has_shap, cap_html)
    trends = figures.trend_plots or []
    if any(fig is not None for _, fig in trends):
        imgs = "".join(
            _img(
                fig,
                f"Daily trend of {label}",
                anchor=trend_anchor(charts.trend[pos]) if pos in charts.trend else "",
                back=charts.trend.get(pos, [])[:10],
            )
            for pos, (label, fig) in enumerate(trends)
            if fig is not None
        )
        html = _section(
            "trends",
            "Account trends",
            "Each outlier account's daily values over the whole hunt window (the same dates "
            "for every account); a day without logons is drawn as 0 and the flagged day is "
            "marked in red.",
            ("" if figures.outlier_plots else cap_html) + f'<div class="charts-one">{imgs}</div>',
        )
        parts.append(("trends", "Trends", html))
    summary = figures.shap_summary_plot
    if summary is not None:
        html = _section(
            "shap",
            "What drove the outliers (SHAP)",
            "How much each feature pushed the outliers towards anomalous (left of the line). "
            "With three or more outliers each dot is one outlier, coloured by the feature's "
            "value (red high, blue low); with fewer, each outlier is a bar.",
            _img(summary, "SHAP values of all outliers, per feature", anchor="fig-shap-summary"),
        )
        parts.append(("shap", "SHAP", html))
    hist = figures.score_histogram
    if hist is not None:
        html = _section(
            "scores",
            "Score distribution",
            "Anomaly scores of every user-day (log scale); days right of the red line are flagged.",
            _img(hist, "Anomaly scores of all user-days", anchor="fig-scores"),
        )
        parts.append(("scores", "Scores", html))
    return parts


def _per_outlier(
    figures: Figures, charts: ChartIndex, has_shap: bool, cap_html: str
) -> list[tuple[str, str, str]]:
    """Return the section of per-outlier SHAP charts, each with its row's anchor."""
    plots = figures.outlier_plots or []
    by_pos = {pos: rank for rank, pos in charts.shap.items()}
    if any(fig is not None for _, fig in plots):
        imgs = _grid(
            _img(
                fig,
                str(label),
                f"SHAP values for {label}",
                anchor=f"chart-shap-{by_pos[pos]}" if pos in by_pos else "",
                back=[by_pos[pos]] if pos in by_pos else [],
            )
            for pos, (label, fig) in enumerate(plots)
            if fig is not None
        )
        html = _section(
            "per-outlier",
            "Per-outlier explanations",
            "Each bar is one feature, labelled with the day's real value and the account's "
            "usual range. Red bars push the day towards anomalous, blue bars towards normal; "
            "the longer the bar, the more it counted.",
            cap_html + imgs,
        )
        return [("per-outlier", "Per outlier", html)]
    if not has_shap:
        html = _section(
            "per-outlier",
            "Per-outlier explanations",
            "SHAP was switched off for this run; the outlier table ranks features by how rare "
            "each value is among all user-days.",
            "",
        )
        return [("per-outlier", "Per outlier", html)]
    return []


def _details(record: dict[str, Any]) -> str:
    params = record.get("parameters", {})
    versions = record.get("versions", {})
    timings = record.get("timings", {})
    param_rows = [(key, _e("—" if value is None else value)) for key, value in params.items()]
    if record.get("features"):
        param_rows.append(("features", _e(", ".join(record["features"]))))
    if record.get("command"):
        param_rows.append(("command", f'<span class="path">{_e(record["command"])}</span>'))
    version_rows = [(key, _e(value)) for key, value in versions.items()]
    timing_rows = [(key, _e(f"{float(value):.2f} s")) for key, value in timings.items()]
    query = record.get("query")
    content = (
        f"<h3>Parameters</h3>{_kv(param_rows)}"
        f"<h3>Versions</h3>{_kv(version_rows)}"
        + (f"<h3>Time per stage</h3>{_kv(timing_rows)}" if timing_rows else "")
        + (f"<h3>Query</h3><pre>{_pre(query)}</pre>" if query else "")
    )
    return _section("details", "Parameters and versions", "", content)


def render_report(
    result: Any,
    record: dict[str, Any],
    *,
    figures: Figures | None = None,
    title: str | None = None,
    only_new: bool = False,
) -> str:
    """
    Build the HTML report of a hunt.

    Incidents and outliers are listed new first, then recurring, then seen
    (their order kept within each status), each with its status badge,
    under a line of counts over all of them (and the outliers hidden by an
    analyst's benign verdict).

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        A finished hunt; its ``incidents`` are shown first when it has any.
    record : dict
        The run description from `outputs.run_record`.
    figures : Figures, optional
        The charts to embed (`figures.make_plots`); none by default.
    title : str, optional
        Page title; default "Anomalous logon users".
    only_new : bool, default=False
        List only the new incidents and outliers; the counts still count
        the recurring and seen ones.

    Returns
    -------
    str
        A complete HTML document that loads nothing from elsewhere and runs
        only its own inline script.

    Examples
    --------
    >>> from msticnb_iforest import hunt
    >>> from msticnb_iforest.sources.demo import generate_demo
    >>> found = hunt(generate_demo(users=60, days=14).events)  # doctest: +SKIP
    >>> html = render_report(found, {})  # doctest: +SKIP
    >>> 'id="outlier-table"' in html  # doctest: +SKIP
    True

    """
    figures = figures or Figures()
    title = title or "Anomalous logon users"
    versions = record.get("versions", {})
    created = str(record.get("created", "")).replace("T", " ").replace("+00:00", " UTC")
    subtitle = (
        f"Isolation Forest hunt of Windows network logons · generated {created} · "
        f"msticnb-iforest {versions.get('msticnb-iforest', '')}"
    )
    summary = status_summary(result)
    view = listed(result, only_new)
    shown = view.outliers.head(MAX_TABLE_ROWS)
    charts = ChartIndex.build(shown, figures)
    sections = []
    incident_counts = ""
    if summary.incidents and sum(summary.incidents.values()):
        incident_counts = _status_html(summary, "incident", only_new)
    incidents = incidents_section(view, shown, incident_counts, result.outliers)
    if incidents:
        sections.append(("incidents", "Incidents", incidents))
    outlier_counts = _status_html(summary, "outlier", only_new)
    table = outliers_section(view, shown, charts, MAX_TABLE_ROWS, outlier_counts, only_new)
    sections.append(("outliers", "Outliers", table))
    sections += _charts(figures, charts, result.shap_values is not None)
    if not shown.empty:
        sections.append(("follow-up", "Follow-up", follow_up(shown)))
    sections.append(("summary", "Run summary", _summary(record)))
    sections.append(("details", "Parameters", _details(record)))
    nav = "".join(f'<a href="#{anchor}">{_e(name)}</a>' for anchor, name, _ in sections)
    body = _cards(record) + "".join(html for _, _, html in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{content_security_policy()}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{_e(title)}</h1><p>{_e(subtitle)}</p></header>"
        f"<nav>{nav}</nav><main>{body}</main>"
        "<footer>Generated by msticnb-iforest. This file is self-contained and works offline."
        f"</footer><script>{SCRIPT}</script></body></html>\n"
    )

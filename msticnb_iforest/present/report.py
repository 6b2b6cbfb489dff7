r"""
Render a hunt as one self-contained HTML page.

The page needs nothing but itself: styles are inline, figures are embedded
as base64 PNG ``data:`` URIs, there are no scripts, fonts or links to other
sites, and a Content-Security-Policy forbids loading anything else. Every
string that comes from the data (account names, reasons, notes, file
names, query text) is first made safe with `display.safe_text` (control,
bidi, zero-width and other invisible characters shown as ``\u202e``-style
escapes) and then HTML-escaped.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable
from html import escape
from typing import Any

import pandas as pd

from ..wording import DROP_REASON_TEXT
from .display import TITLE_WIDTH, safe_text
from .figures import Figures

__all__ = ["figure_to_data_uri", "render_report"]

#: Outlier rows shown in the HTML table (outliers.csv always has all of them);
#: the same number as are explained by default (``pipeline.DEFAULT_MAX_EXPLAINED``).
MAX_TABLE_ROWS = 500

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'"

_CSS = """
:root { --ink:#1f2933; --muted:#52606d; --line:#d9e2ec; --bg:#f5f7fa; --card:#ffffff;
  --accent:#243b53; --alert:#b42318; --alert-bg:#fdecea; --ok:#1e7e34; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { background:var(--accent); color:#fff; padding:22px 32px 18px; }
header h1 { margin:0 0 4px; font-size:24px; font-weight:600; }
header p { margin:0; color:#d9e2ec; font-size:13px; }
nav { background:#fff; border-bottom:1px solid var(--line); padding:8px 32px; font-size:13px; }
nav a { color:var(--accent); margin-right:16px; text-decoration:none; }
nav a:hover { text-decoration:underline; }
main { max-width:1180px; margin:0 auto; padding:20px 32px 40px; }
section { background:var(--card); border:1px solid var(--line); border-radius:8px;
  padding:18px 22px; margin:0 0 20px; }
h2 { font-size:18px; margin:0 0 12px; color:var(--accent); }
h3 { font-size:15px; margin:18px 0 8px; }
.cards { display:flex; flex-wrap:wrap; gap:12px; background:none; border:0; padding:0; }
.card { flex:1 1 150px; background:var(--card); border:1px solid var(--line);
  border-radius:8px; padding:12px 16px; }
.card .k { font-size:12px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); }
.card .v.small { font-size:18px; padding-top:3px; }
.card .v { font-size:22px; font-weight:600; margin-top:2px; overflow-wrap:anywhere; }
.card.wide { flex:2 1 230px; }
.card.alert { border-color:#f5c2c0; background:var(--alert-bg); }
.card.alert .v { color:var(--alert); }
table { border-collapse:collapse; width:100%; font-size:13.5px; }
th, td { text-align:left; vertical-align:top; padding:6px 10px;
  border-bottom:1px solid var(--line); }
th { background:#eef2f7; font-weight:600; color:var(--accent); }
th.num { text-align:right; }
table.kv th { width:240px; background:none; color:var(--muted); font-weight:500; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
td.acct { font-family: ui-monospace, "SFMono-Regular", Consolas, "Liberation Mono", monospace;
  font-size:13px; white-space:nowrap; }
td.day { white-space:nowrap; }
td.path, span.path { font-size:13px; overflow-wrap:anywhere;
  font-family: ui-monospace, "SFMono-Regular", Consolas, "Liberation Mono", monospace; }
.scroll { overflow-x:auto; }
tr:nth-child(even) td { background:#fafbfc; }
.tag { display:inline-block; background:#eef2f7; border-radius:4px; padding:0 6px;
  margin:0 4px 2px 0; font-size:12px; white-space:nowrap; }
.muted { color:var(--muted); }
.note { background:#fff8e1; border-left:4px solid #f0b429; padding:8px 12px; margin:8px 0; }
figure { margin:0 0 18px; min-width:0; }
.grid { display:grid; grid-template-columns:repeat(auto-fill, minmax(500px, 1fr)); gap:8px 18px; }
figure img { max-width:100%; height:auto; border:1px solid var(--line); border-radius:4px;
  background:#fff; }
figcaption { font-size:13px; color:var(--muted); margin-top:4px; overflow-wrap:anywhere; }
pre { background:#f0f4f8; border:1px solid var(--line); border-radius:4px; padding:10px;
  overflow:auto; font-size:12.5px; white-space:pre-wrap; overflow-wrap:anywhere; }
details summary { cursor:pointer; color:var(--accent); margin:6px 0; }
footer { text-align:center; color:var(--muted); font-size:12px; padding:0 0 30px; }
@media print { nav { display:none; } section { break-inside:avoid-page; } }
"""


def _e(value: Any, width: int | None = None) -> str:
    """Make any value safe to show (`safe_text`), then escape it for HTML text or an attribute."""
    return escape("" if value is None else safe_text(value, width), quote=True)


def _pre(text: Any) -> str:
    """Escape multi-line text (code, a query) line by line, keeping its line breaks."""
    return "\n".join(_e(line) for line in str(text).split("\n"))


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


def _img(fig: Any, caption: str, alt: str | None = None) -> str:
    uri = figure_to_data_uri(fig)
    return (
        f'<figure><img src="{uri}" alt="{_e(alt or caption, TITLE_WIDTH)}">'
        f"<figcaption>{_e(caption, TITLE_WIDTH)}</figcaption></figure>"
    )


def _fmt_date(value: Any) -> str:
    try:
        return f"{pd.Timestamp(value):%Y-%m-%d}"
    except (ValueError, TypeError):
        return str(value)


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


def _fmt_num(value: Any, digits: int = 4) -> str:
    try:
        return f"{float(value):.{digits}f}"
    except (ValueError, TypeError):
        return str(value)


def _kv(rows: Iterable[tuple[str, str]]) -> str:
    """Build a key/value table; values are HTML already."""
    body = "".join(f"<tr><th>{_e(key)}</th><td>{value}</td></tr>" for key, value in rows)
    return f'<table class="kv">{body}</table>'


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
    cards = [
        ("Outliers", f"{n_out:,}", " alert" if n_out else ""),
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
    return f'<section class="cards">{html}</section>'


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


def _outlier_rows(result: Any) -> str:
    outliers = result.outliers
    expl = result.explanations
    rows = []
    for rank, (idx, row) in enumerate(outliers.head(MAX_TABLE_ROWS).iterrows(), start=1):
        reason, tops, evidence = "", [], []
        if len(expl) and idx in expl.index:
            info = expl.loc[idx]
            reason = info.get("reason", "") or ""
            tops = list(info.get("top_features", []) or [])
            evidence = list(info.get("evidence", []) or [])
        account = f"{_e(row.get('DstDomain', ''))}\\{_e(row.get('DstUser', ''))}"
        tags = "".join(f'<span class="tag">{_e(t)}</span>' for t in tops)
        if not reason and evidence:
            reason = "; ".join(map(str, evidence))
        rows.append(
            f'<tr><td class="num">{rank}</td><td class="day">{_e(_fmt_date(row.get("Date")))}</td>'
            f'<td class="acct">{account}</td><td class="num">{_e(_fmt_num(row.get("score")))}</td>'
            f"<td>{_e(reason)}</td><td>{tags}</td></tr>"
        )
    return "".join(rows)


def _outliers(result: Any) -> str:
    n_out = len(result.outliers)
    if n_out == 0:
        body = '<p class="muted">No user-day was reported as an outlier.</p>'
    else:
        more = ""
        if n_out > MAX_TABLE_ROWS:
            more = (
                f'<p class="note">Showing the top {MAX_TABLE_ROWS:,} of {n_out:,} outliers; '
                "outliers.csv lists them all.</p>"
            )
        body = (
            '<div class="scroll"><table><tr><th>#</th><th>Date</th><th>Account</th>'
            "<th>Score</th><th>Why it stands out</th><th>Top features</th></tr>"
            f"{_outlier_rows(result)}</table></div>{more}"
        )
    return (
        f'<section id="outliers"><h2>Outliers ({n_out:,})</h2>'
        '<p class="muted">Highest score first. A score above 0 means the Isolation Forest '
        "isolated the user-day faster than the chosen share of most unusual days; the reason "
        "compares the day with the account's usual values.</p>"
        f"{body}</section>"
    )


def _pairs(items: Any) -> list[tuple[str, Any]]:
    return [(str(label), fig) for label, fig in (items or []) if fig is not None]


def _grid(items: Iterable[str]) -> str:
    return f'<div class="grid">{"".join(items)}</div>'


def _section(anchor: str, heading: str, intro: str, content: str) -> str:
    """Wrap HTML content in a section; heading and intro are plain text."""
    lead = f'<p class="muted">{_e(intro)}</p>' if intro else ""
    return f'<section id="{anchor}"><h2>{_e(heading)}</h2>{lead}{content}</section>'


def _plots(figures: Figures, has_shap: bool) -> list[tuple[str, str, str]]:
    """Return (anchor, nav label, HTML) for each plot section present."""
    parts = []
    cap = figures.plot_note
    cap_html = f'<p class="note">{_e(cap)}</p>' if cap else ""
    summary = figures.shap_summary_plot
    if summary is not None:
        html = _section(
            "shap",
            "What drove the outliers (SHAP)",
            "Each dot is one outlier. Dots left of the line pushed the day towards anomalous; "
            "the colour shows the feature's value (red high, blue low).",
            _img(summary, "SHAP values of all outliers, per feature"),
        )
        parts.append(("shap", "SHAP", html))
    per = _pairs(figures.outlier_plots)
    if per:
        imgs = _grid(_img(fig, label, f"SHAP values for {label}") for label, fig in per)
        html = _section(
            "per-outlier",
            "Per-outlier explanations",
            "Red bars push the day towards anomalous, blue bars towards normal.",
            cap_html + imgs,
        )
        parts.append(("per-outlier", "Per outlier", html))
    elif not has_shap:
        html = _section(
            "per-outlier",
            "Per-outlier explanations",
            "SHAP was switched off for this run; the outlier table ranks features by how rare "
            "each value is among all user-days.",
            "",
        )
        parts.append(("per-outlier", "Per outlier", html))
    trends = _pairs(figures.trend_plots)
    if trends:
        imgs = _grid(_img(fig, label, f"Daily trend for {label}") for label, fig in trends)
        html = _section(
            "trends",
            "Account trends",
            "Each outlier account's daily values over the window; the flagged day is marked "
            "in red.",
            ("" if per else cap_html) + imgs,
        )
        parts.append(("trends", "Trends", html))
    hist = figures.score_histogram
    if hist is not None:
        html = _section(
            "scores",
            "Score distribution",
            "Anomaly scores of every user-day (log scale); days right of the red line are flagged.",
            _img(hist, "Anomaly scores of all user-days"),
        )
        parts.append(("scores", "Scores", html))
    return parts


def _follow_up(result: Any) -> str:
    from .links import account_links

    links = account_links(result.outliers.head(MAX_TABLE_ROWS))
    blocks = "".join(
        f"<details><summary>{_e(dom)}\\{_e(usr)} · {_e(_fmt_date(day))}</summary>"
        f"<pre>{_pre(code)}</pre></details>"
        for dom, usr, day, code in zip(
            links["DstDomain"], links["DstUser"], links["Date"], links["code"], strict=True
        )
    )
    return _section(
        "follow-up",
        "Follow-up queries",
        "Python to paste into a notebook connected to the workspace: an account summary around "
        "each account's top flagged day and its logons and failed logons on that day.",
        blocks,
    )


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
) -> str:
    """
    Build the HTML report of a hunt.

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        A finished hunt.
    record : dict
        The run description from `outputs.run_record`.
    figures : Figures, optional
        The charts to embed (`figures.make_plots`); none by default.
    title : str, optional
        Page title; default "Anomalous logon users".

    Returns
    -------
    str
        A complete HTML document that loads nothing from elsewhere.

    """
    figures = figures or Figures()
    title = title or "Anomalous logon users"
    versions = record.get("versions", {})
    created = str(record.get("created", "")).replace("T", " ").replace("+00:00", " UTC")
    subtitle = (
        f"Isolation Forest hunt of Windows network logons · generated {created} · "
        f"msticnb-iforest {versions.get('msticnb-iforest', '')}"
    )
    sections = [
        ("summary", "Summary", _summary(record)),
        ("outliers", "Outliers", _outliers(result)),
    ]
    sections += _plots(figures, result.shap_values is not None)
    if not result.outliers.empty:
        sections.append(("follow-up", "Follow-up", _follow_up(result)))
    sections.append(("details", "Parameters", _details(record)))
    nav = "".join(f'<a href="#{anchor}">{_e(name)}</a>' for anchor, name, _ in sections)
    body = _cards(record) + "".join(html for _, _, html in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{_e(title)}</h1><p>{_e(subtitle)}</p></header>"
        f"<nav>{nav}</nav><main>{body}</main>"
        "<footer>Generated by msticnb-iforest. This file is self-contained and works offline."
        "</footer></body></html>\n"
    )

r"""
The report's triage tables: incidents, the outlier table and the follow-up queries.

Each outlier row is ``<tr id="outlier-N">`` (N its rank) and links to its
charts (``#chart-shap-N``, ``#chart-trend-M``) and to its queries
(``#pivot-N``); the charts and queries link back. Incidents
(``result.incidents``, when the hunt has them) link to their member
outliers. Headers that sort carry ``data-sort="num"`` or ``"text"``; a cell
sorts by its ``data-value`` when it has one. Copy buttons carry the exact
text to copy in ``data-copy``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .links import outlier_pivots
from .markup import attr, fmt_date, fmt_num, pre, section, text
from .measures import feature_name
from .status import incident_marks, statuses

__all__ = ["ChartIndex", "follow_up", "incidents_section", "outliers_section", "status_badge"]


def _label(domain: Any, user: Any, day: Any = None) -> str:
    r"""Return the label `figures.make_plots` gives a chart: ``DOMAIN\user`` [``yyyy-mm-dd``]."""
    account = f"{domain}\\{user}"
    return account if day is None else f"{account} {pd.Timestamp(day):%Y-%m-%d}"


@dataclass
class ChartIndex:
    """
    Which chart belongs to which outlier row of the table.

    Attributes
    ----------
    shap : dict
        Rank of an outlier to the position of its SHAP chart in ``outlier_plots``.
    trend : dict
        Position of a trend chart in ``trend_plots`` to the ranks of its
        account's outliers (highest first).

    """

    shap: dict[int, int] = field(default_factory=dict)
    trend: dict[int, list[int]] = field(default_factory=dict)

    @classmethod
    def build(cls, shown: pd.DataFrame, figures: Any) -> ChartIndex:
        """Match the charts' labels to the shown outlier rows (ranks 1..n in order)."""
        index = cls()
        by_day: dict[str, list[int]] = {}
        by_account: dict[str, list[int]] = {}
        keys = zip(shown["DstDomain"], shown["DstUser"], shown["Date"], strict=True)
        for rank, (domain, user, day) in enumerate(keys, start=1):
            by_day.setdefault(_label(domain, user, day), []).append(rank)
            by_account.setdefault(_label(domain, user), []).append(rank)
        for pos, (label, fig) in enumerate(getattr(figures, "outlier_plots", None) or []):
            ranks = by_day.get(str(label)) or []
            free = [rank for rank in ranks if rank not in index.shap]
            if fig is not None and free:
                index.shap[free[0]] = pos
        for pos, (label, fig) in enumerate(getattr(figures, "trend_plots", None) or []):
            if fig is not None and str(label) in by_account:
                index.trend[pos] = by_account[str(label)]
        return index

    def trend_of(self, rank: int) -> int | None:
        """Return the trend chart showing the outlier of this rank, if any."""
        return next((pos for pos, ranks in self.trend.items() if rank in ranks), None)


def trend_anchor(ranks: list[int]) -> str:
    """Return the id of a trend chart: ``chart-trend-<rank of the account's first outlier>``."""
    return f"chart-trend-{ranks[0]}"


# ------------------------------------------------------------------ status
def status_badge(status: Any, verdict: Any = "") -> str:
    """
    Return the badge of an outlier's or incident's status (and of a malicious verdict).

    Examples
    --------
    >>> status_badge("recurring")
    '<span class="status status-recurring">recurring</span>'

    """
    name = text(status)
    badge = f'<span class="status status-{name}">{name}</span>'
    if str(verdict or "") == "malicious":
        badge += (
            ' <span class="status verdict-malicious" title="an earlier verdict">malicious</span>'
        )
    return badge


def _status_cells(frame: pd.DataFrame, verdicts: Any = None) -> list[str]:
    """Return the status cell of each row of `frame` (a missing status reads as new)."""
    if verdicts is None:
        verdicts = frame["verdict"] if "verdict" in frame.columns else [""] * len(frame)
    return [
        f'<td class="state">{status_badge(status, verdict)}</td>'
        for status, verdict in zip(statuses(frame), verdicts, strict=True)
    ]


# ------------------------------------------------------------------ incidents
def _members(members: Any, ranks: dict[str, int]) -> str:
    links = []
    for label in str(members or "").split(","):
        rank = ranks.get(label.strip())
        if rank is not None:
            links.append(f'<a href="#outlier-{rank}">#{rank}</a>')
    return " ".join(links)


#: Accounts of an incident named in its row; the rest fold away (and unfold in print).
SHOWN_ACCOUNTS = 5


def _accounts(accounts: Any) -> str:
    names = [name.strip() for name in str(accounts or "").split(",") if name.strip()]
    head = ", ".join(text(name) for name in names[:SHOWN_ACCOUNTS])
    if len(names) <= SHOWN_ACCOUNTS:
        return head
    rest = ", ".join(text(name) for name in names[SHOWN_ACCOUNTS:])
    return (
        f"{head}, <details><summary>and {len(names) - SHOWN_ACCOUNTS:,} more</summary>"
        f"{rest}</details>"
    )


def incidents_section(
    result: Any, shown: pd.DataFrame, counts: str = "", outliers: pd.DataFrame | None = None
) -> str:
    """
    Render ``result.incidents`` (if the hunt has any) as ``table#incident-table``.

    Each row carries its status badge (`status_badge`), and a malicious one
    when a member of `outliers` (default ``result.outliers``) carries that
    verdict; `counts` (HTML) is shown above the table. Returns "" when the
    result has no incidents attribute or no incident (and no `counts` to
    show).
    """
    incidents = getattr(result, "incidents", None)
    if not isinstance(incidents, pd.DataFrame) or incidents.empty:
        if counts and isinstance(incidents, pd.DataFrame):
            return section("incidents", "Incidents (none listed)", "", counts)
        return ""
    ranks = {str(label): rank for rank, label in enumerate(shown.index, start=1)}
    marks = incident_marks(incidents, result.outliers if outliers is None else outliers)
    states = _status_cells(incidents, marks.get("verdict"))
    rows = []
    # one dict per incident (a row Series each cost a millisecond at thousands of incidents)
    for pos, item in enumerate(incidents.to_dict("records")):
        number = item.get("incident", pos + 1)
        first, last = fmt_date(item.get("first_day")), fmt_date(item.get("last_day"))
        days = first if first == last else f"{first} → {last}"
        n_out = item.get("n_outliers", "")
        rows.append(
            f'<tr id="incident-{text(number)}"><td class="num">{text(number)}</td>{states[pos]}'
            f'<td class="lead">{text(item.get("lead", ""))}</td>'
            f"<td>{text(item.get('kind', ''))}</td>"
            f'<td class="num">{text(item.get("n_accounts", ""))}</td>'
            f'<td class="accounts">{_accounts(item.get("accounts", ""))}</td>'
            f'<td class="day" data-value="{text(first)}">{text(days)}</td>'
            f'<td class="sources">{text(item.get("sources", "")) or "—"}</td>'
            f'<td class="num" data-value="{text(item.get("score", ""))}">'
            f"{text(fmt_num(item.get('score')))}</td>"
            f'<td class="members" data-value="{text(n_out)}">{text(n_out)}: '
            f"{_members(item.get('members'), ranks)}</td></tr>"
        )
    head = (
        '<thead><tr><th data-sort="num">#</th><th>Status</th>'
        '<th data-sort="text">What happened</th>'
        '<th data-sort="text">Kind</th><th data-sort="num">Accounts</th><th>Who</th>'
        '<th data-sort="text">Days</th><th data-sort="text">Sources</th>'
        '<th data-sort="num">Score</th><th data-sort="num">Outliers</th></tr></thead>'
    )
    table = (
        f'<div class="scroll"><table id="incident-table" class="sortable">{head}'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
    return section(
        "incidents",
        f"Incidents ({len(incidents):,})",
        "Outliers that share a source, target computers or a day pattern, grouped; start "
        "at the top. A lone outlier is an incident of one.",
        counts + table,
    )


# ------------------------------------------------------------------ outliers
def _why(info: Any) -> str:
    """Return an outlier's reason in full: its clauses as a list when the hunt has them."""
    if info is None:
        return ""
    reason = str(info.get("reason", "") or "")
    evidence = list(info.get("evidence", []) or [])
    if not reason and evidence:
        reason = "; ".join(map(str, evidence))
    clauses = info.get("clauses") if "clauses" in info.index else None
    if isinstance(clauses, list) and clauses:
        texts = [str(c.get("text", "")) for c in clauses if isinstance(c, dict) and c.get("text")]
        joined = "; ".join(texts)
        if texts and reason.startswith(joined):
            rest = reason[len(joined) :].strip(" ;.")
            items = "".join(f"<li>{text(item)}</li>" for item in texts)
            tail = f'<div class="muted">{text(rest)}</div>' if rest else ""
            return f"<ul>{items}</ul>{tail}"
    return text(reason)


def _links(rank: int, charts: ChartIndex, kql: str) -> str:
    links = []
    if rank in charts.shap:
        links.append(f'<a href="#chart-shap-{rank}">SHAP chart</a>')
    trend = charts.trend_of(rank)
    if trend is not None:
        links.append(f'<a href="#{trend_anchor(charts.trend[trend])}">trend</a>')
    links.append(f'<a href="#pivot-{rank}">queries</a>')
    copy = f'<button type="button" class="copy" data-copy="{attr(kql)}">Copy KQL</button>'
    return "".join(links) + copy


def _outlier_rows(result: Any, shown: pd.DataFrame, charts: ChartIndex, kql: list[str]) -> str:
    expl = result.explanations
    has_incident = "incident" in shown.columns
    states = _status_cells(shown)
    rows = []
    for rank in range(1, len(shown) + 1):
        idx, row = shown.index[rank - 1], shown.iloc[rank - 1]
        info = expl.loc[idx] if len(expl) and idx in expl.index else None
        tops = list(info.get("top_features", []) or []) if info is not None else []
        tags = "".join(f'<span class="tag">{text(feature_name(str(t)))}</span>' for t in tops)
        account = f"{text(row.get('DstDomain', ''))}\\{text(row.get('DstUser', ''))}"
        incident = ""
        if has_incident:
            number = row.get("incident")
            link = f'<a href="#incident-{text(number)}">{text(number)}</a>'
            incident = f'<td class="num" data-value="{text(number)}">{link}</td>'
        day = text(fmt_date(row.get("Date")))
        rows.append(
            f'<tr id="outlier-{rank}"><td class="num">{rank}</td>{states[rank - 1]}'
            f'<td class="day" data-value="{day}">{day}</td><td class="acct">{account}</td>'
            f'<td class="num" data-value="{text(row.get("score"))}">'
            f"{text(fmt_num(row.get('score')))}</td>{incident}"
            f'<td class="why">{_why(info)}<div class="tags">{tags}</div></td>'
            f'<td class="links">{_links(rank, charts, kql[rank - 1])}</td></tr>'
        )
    return "".join(rows)


def outliers_section(
    result: Any,
    shown: pd.DataFrame,
    charts: ChartIndex,
    limit: int,
    counts: str = "",
    only_new: bool = False,
) -> str:
    """
    Render the sortable, filterable ``table#outlier-table`` of the shown outliers.

    Each row carries its status badge (`status_badge`); `counts` (HTML) is
    shown above the table; `only_new` says ``result.outliers`` holds only
    the new ones.
    """
    n_out = len(result.outliers)
    if n_out == 0:
        none = "No user-day was reported as an outlier."
        none = "No new outlier in this run." if only_new else none
        body = f'{counts}<p class="muted">{none}</p>'
    else:
        more = ""
        if n_out > limit:
            more = (
                f'<p class="note">Showing the top {limit:,} of {n_out:,} outliers; '
                "outliers.csv lists them all.</p>"
            )
        incident = '<th data-sort="num">Incident</th>' if "incident" in shown.columns else ""
        head = (
            '<thead><tr><th data-sort="num">#</th><th>Status</th><th data-sort="text">Date</th>'
            '<th data-sort="text">Account</th><th data-sort="num">Score</th>'
            f'{incident}<th data-sort="text">Why it stands out (top features)</th>'
            '<th class="links">Charts, queries</th></tr></thead>'
        )
        kql = list(outlier_pivots(shown)["kql"])
        toolbar = (
            '<div class="toolbar"><input id="outlier-filter" type="search" '
            'placeholder="Filter: account, date, reason…" aria-label="Filter the outliers">'
            f'<span id="outlier-count" class="muted">{len(shown):,} shown</span></div>'
        )
        body = (
            f"{counts}{toolbar}"
            f'<div class="scroll"><table id="outlier-table" class="sortable">{head}'
            f"<tbody>{_outlier_rows(result, shown, charts, kql)}</tbody></table></div>{more}"
        )
    title = f"New outliers ({n_out:,})" if only_new else f"Outliers ({n_out:,})"
    return (
        f'<section id="outliers"><h2>{title}</h2>'
        '<p class="muted">New ones first, then recurring, then seen; highest score first '
        "within each. Click a header to sort. A score above 0 means "
        "the Isolation Forest isolated the user-day faster than the chosen share of most "
        "unusual days; the reason compares the day with the account's usual values.</p>"
        f"{body}</section>"
    )


# ------------------------------------------------------------------ follow-up
def _copy(label: str, value: str) -> str:
    return f'<button type="button" class="copy" data-copy="{attr(value)}">{text(label)}</button>'


def _pivot_blocks(pivots: pd.DataFrame) -> Iterable[str]:
    columns = ("DstDomain", "DstUser", "Date", "code", "kql")
    values = zip(*(pivots[name] for name in columns), strict=True)
    for rank, (dom, usr, day, code, kql) in enumerate(values, start=1):
        yield (
            f'<div class="pivot" id="pivot-{rank}"><h3><a href="#outlier-{rank}">#{rank}</a> '
            f"{text(dom)}\\{text(usr)} · {text(fmt_date(day))}</h3>"
            f"{_copy('Copy KQL', kql)}{_copy('Copy Python', code)}"
            f'<div class="muted">KQL for Sentinel Logs: the day\'s logons and failed logons</div>'
            f'<pre class="kql">{pre(kql)}</pre>'
            f"<details><summary>Python for a notebook (msticnb)</summary>"
            f"<pre>{pre(code)}</pre></details></div>"
        )


def follow_up(shown: pd.DataFrame) -> str:
    """Render each shown outlier's KQL and Python pivots, with copy buttons."""
    blocks = "".join(_pivot_blocks(outlier_pivots(shown)))
    return section(
        "follow-up",
        "Follow-up queries",
        "For each outlier: KQL to paste into Sentinel Logs (the account's logons and failed "
        "logons that day, UTC) and Python for a notebook connected to the workspace (an "
        "account summary around the day, and the same logons).",
        blocks,
    )

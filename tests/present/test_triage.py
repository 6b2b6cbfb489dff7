"""The report as a triage page: page hooks, its one script, KQL pivots, readable charts."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import fields
from html.parser import HTMLParser
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from msticnb_iforest.pipeline import Hunt, hunt
from msticnb_iforest.present.display import safe_text
from msticnb_iforest.present.figures import hunt_window, make_plots, trend_figure
from msticnb_iforest.present.links import kql_literal, kql_string, logons_kql, outlier_pivots
from msticnb_iforest.present.measures import bar_labels
from msticnb_iforest.present.plots import shap_summary_plot
from msticnb_iforest.present.report import render_report
from msticnb_iforest.present.report_page import SCRIPT, content_security_policy

pytest.importorskip("shap")

HOSTILE_NAMES = [
    'quo"te',
    "o'brien",
    "back\\slash",
    "new\nline",
    "cr\rlf",
    "tab\there",
    "ad\u202emin",
    "zero\u200bwidth",
    "fill\u3164er",
    '"); drop table x; ("',
    "ünïcødé",
    "\u202e" * 70,
]


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def found(table) -> Hunt:
    """The default feature set on the demo table at 1 %: two outliers of one account."""
    result = hunt(table, contamination=0.01)
    assert len(result.outliers) == 2
    return result


def _with(result: Hunt, **changes) -> SimpleNamespace:
    """A result with the hunt's attributes, some replaced or added (present reads by name)."""
    values = {item.name: getattr(result, item.name) for item in fields(Hunt)}
    values.update(changes)
    return SimpleNamespace(**values)


@pytest.fixture(scope="module")
def triaged(found) -> SimpleNamespace:
    """The hunt with hand-made incidents (contract 1) and structured reasons (contract 2)."""
    outliers = found.outliers.copy()
    outliers["incident"] = [1, 1]
    first, second = outliers.index
    incidents = pd.DataFrame(
        {
            "incident": [1],
            "kind": ["single"],
            "lead": ["Failed logons of CONTOSO\\SRVACC-04 on 2022-09-16 <b>and</b> 2022-09-25"],
            "n_accounts": [1],
            "accounts": ["CONTOSO\\SRVACC-04"],
            "first_day": [pd.Timestamp("2022-09-16")],
            "last_day": [pd.Timestamp("2022-09-25")],
            "sources": ["10.0.0.1"],
            "score": [float(outliers["score"].max())],
            "n_outliers": [2],
            "members": [f"{first}, {second}"],
        }
    )
    explanations = found.explanations.copy()
    clause = {
        "feature": "failed_logons",
        "label": "failed logons",
        "value": 77.0,
        "usual_low": 0.0,
        "usual_high": 1.0,
        "text": "77 failed logons; usual 0–1 a day",
    }
    explanations["clauses"] = [[clause], []]
    explanations.loc[first, "reason"] = "77 failed logons; usual 0–1 a day. Baseline: 19 day(s)"
    return _with(found, outliers=outliers, incidents=incidents, explanations=explanations)


@pytest.fixture(scope="module")
def figures(triaged):
    return make_plots(triaged, histogram=True)


@pytest.fixture(scope="module")
def page(triaged, figures) -> str:
    return render_report(triaged, {"notes": ["a note"]}, figures=figures)


class _Page(HTMLParser):
    """Collect every element with its attributes, the sections in order and the scripts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.sections: list[dict] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.stack: list[tuple[str, dict]] = []
        self.rows: dict[str, list[str]] = {}  # tr id -> hrefs inside it
        self.figures: dict[str, list[str]] = {}  # figure id -> hrefs inside it

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.elements.append((tag, attrs))
        if tag == "section":
            self.sections.append(attrs)
        if tag == "script":
            self._in_script = True
            self.scripts.append("")
        if tag in ("tr", "figure"):
            self.stack.append((tag, attrs))
        if tag == "a" and self.stack:
            kind, owner = self.stack[-1]
            target = self.rows if kind == "tr" else self.figures
            target.setdefault(owner.get("id", ""), []).append(attrs.get("href", ""))

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False
        if tag in ("tr", "figure") and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data

    def find(self, tag, **attrs) -> list[dict]:
        return [
            found
            for name, found in self.elements
            if name == tag and all(found.get(k) == v for k, v in attrs.items())
        ]


def _parse(html: str) -> _Page:
    parsed = _Page()
    parsed.feed(html)
    return parsed


# ------------------------------------------------------------------ the page
def test_csp_allows_exactly_the_one_inline_script(page):
    parsed = _parse(page)
    assert len(parsed.scripts) == 1
    (meta,) = [m for m in parsed.find("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    policy = meta["content"]
    digest = base64.b64encode(hashlib.sha256(parsed.scripts[0].encode("utf-8")).digest())
    assert f"script-src 'sha256-{digest.decode()}'" in policy
    assert parsed.scripts[0] == SCRIPT
    assert policy == content_security_policy()
    assert "default-src 'none'" in policy and "img-src data:" in policy
    assert "unsafe-eval" not in policy and "'unsafe-inline'" not in policy.split("script-src")[1]
    # No script from elsewhere, no event-handler attribute, no eval.
    assert all("src" not in s for s in parsed.find("script"))
    handlers = [(tag, a) for tag, attrs in parsed.elements for a in attrs if a.startswith("on")]
    assert handlers == []
    assert "eval(" not in SCRIPT and "new Function" not in SCRIPT


def test_page_has_no_url_to_anywhere(page):
    assert re.search(r"https?:", page, flags=re.IGNORECASE) is None
    assert re.search(r"(src|href)=\"//", page) is None
    parsed = _parse(page)
    for attrs in parsed.find("img"):
        assert attrs["src"].startswith("data:image/png;base64,")
    for attrs in parsed.find("a"):
        assert attrs["href"].startswith("#"), attrs["href"]


def test_incidents_come_first_after_the_cards(page):
    parsed = _parse(page)
    assert parsed.sections[0].get("class") == "cards"
    assert parsed.sections[1].get("id") == "incidents"
    ids = [s.get("id") for s in parsed.sections[1:]]
    assert ids.index("incidents") < ids.index("outliers") < ids.index("per-outlier")
    assert ids.index("trends") < ids.index("follow-up") < ids.index("details")
    assert parsed.find("table", id="incident-table")
    (row,) = [a for a in parsed.find("tr") if a.get("id", "").startswith("incident-")]
    assert row["id"] == "incident-1"
    # The lead sentence is escaped; the incident links to its member outliers.
    assert "on 2022-09-16 &lt;b&gt;and&lt;/b&gt; 2022-09-25" in page
    assert parsed.rows["incident-1"] == ["#outlier-1", "#outlier-2"]


@pytest.mark.parametrize("incidents", [None, "empty"])
def test_no_incidents_section_without_incidents(found, incidents):
    if incidents is None:
        result = _with(found)  # a hunt from before incidents: no attribute at all
        vars(result).pop("incidents", None)
    else:
        empty = pd.DataFrame(columns=["incident", "kind", "lead", "score", "members"])
        nothing = {"new": 0, "recurring": 0, "seen": 0}  # and no count says otherwise
        result = _with(found, incidents=empty, incident_status_counts=nothing)
    html = render_report(result, {})
    parsed = _parse(html)
    assert not parsed.find("section", id="incidents")
    assert not parsed.find("table", id="incident-table")
    assert parsed.sections[1].get("id") == "outliers"
    assert parsed.find("table", id="outlier-table")


def test_outlier_table_hooks(page, triaged):
    parsed = _parse(page)
    (table,) = parsed.find("table", id="outlier-table")
    assert "sortable" in table["class"]
    sorts = [a["data-sort"] for a in parsed.find("th") if "data-sort" in a]
    assert set(sorts) <= {"num", "text"} and sorts.count("num") >= 6
    (box,) = parsed.find("input", id="outlier-filter")
    assert box["type"] == "search"
    rows = [a["id"] for a in parsed.find("tr") if a.get("id", "").startswith("outlier-")]
    assert rows == [f"outlier-{n}" for n in range(1, len(triaged.outliers) + 1)]
    # Numbers sort by their value, dates by their ISO text.
    assert [a["data-value"] for a in parsed.find("td", **{"class": "day"})][1:] == [
        "2022-09-16",
        "2022-09-25",
    ]


def test_rows_link_to_their_charts_and_back(page):
    parsed = _parse(page)
    figure_ids = {a["id"] for a in parsed.find("figure") if "id" in a}
    for n in (1, 2):
        hrefs = parsed.rows[f"outlier-{n}"]
        charts = [h for h in hrefs if h.startswith("#chart-")]
        assert f"#chart-shap-{n}" in charts
        assert "#chart-trend-1" in charts  # one trend figure for the account of both
        for href in charts:
            assert href[1:] in figure_ids
            assert f"#outlier-{n}" in parsed.figures[href[1:]]
        assert f"#pivot-{n}" in hrefs
    assert parsed.figures["chart-trend-1"] == ["#outlier-1", "#outlier-2"]
    # Every chart figure links back to an outlier row (summaries are "fig-...", not "chart-...").
    charts = [a["id"] for a in parsed.find("figure") if a.get("id", "").startswith("chart-")]
    assert len(charts) == 3
    for ident in charts:
        assert any(re.fullmatch(r"#outlier-\d+", h) for h in parsed.figures[ident]), ident
    every_id = {attrs["id"] for _, attrs in parsed.elements if "id" in attrs}
    for _, attrs in parsed.elements:
        if attrs.get("href", "").startswith("#"):
            assert attrs["href"][1:] in every_id, attrs["href"]


def test_copy_buttons_carry_the_kql_and_python(page, triaged):
    parsed = _parse(page)
    buttons = [a for a in parsed.find("button") if a.get("class") == "copy"]
    assert all(b.get("type") == "button" and b.get("data-copy") for b in buttons)
    pivots = outlier_pivots(triaged.outliers)
    copied = [b["data-copy"] for b in buttons]
    for kql, code in zip(pivots["kql"], pivots["code"], strict=True):
        assert copied.count(kql) == 2  # in the table row and in the follow-up
        assert code in copied
    assert "EventID in (4624, 4625)" in pivots["kql"].iloc[0]
    # The KQL is printed too, not only copied.
    assert "| where TargetUserName =~ &quot;SRVACC-04&quot;" in page


def test_clauses_are_listed_and_the_rest_of_the_reason_kept(page):
    assert "<ul><li>77 failed logons; usual 0–1 a day</li></ul>" in page
    assert '<div class="muted">Baseline: 19 day(s)</div>' in page


def test_print_styles(page):
    css = page[page.index("@media print") :]
    for hidden in ("nav", ".toolbar", "button.copy"):
        assert hidden in css.split("{")[1]
    assert "tr[hidden] { display:table-row !important; }" in css
    assert "figure, tr, .pivot, pre { break-inside:avoid; }" in css
    assert "beforeprint" in SCRIPT  # folded Python blocks open before printing


def test_population_plot_shown_when_present(found, figures):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 3))
    fig.add_subplot().plot([0, 1], [0, 1])
    figures_with = SimpleNamespace(**{**vars(figures), "population_plot": fig})
    parsed = _parse(render_report(found, {}, figures=figures_with))
    assert parsed.find("section", id="population")
    assert parsed.find("figure", id="fig-population")
    without = SimpleNamespace(**vars(figures))
    vars(without).pop("population_plot", None)  # figures from before the population picture
    parsed = _parse(render_report(found, {}, figures=without))
    assert not parsed.find("section", id="population")


# ------------------------------------------------------------------ KQL
def _kql_value(expr: str) -> str:
    """Evaluate the string expressions `kql_literal` writes (literals, strcat, code points)."""
    pos = 0

    def parse() -> str:
        nonlocal pos
        if expr.startswith('"', pos):
            out, pos = [], pos + 1
            while expr[pos] != '"':
                if expr[pos] == "\\":
                    out.append({"n": "\n", "r": "\r", "\\": "\\", '"': '"'}[expr[pos + 1]])
                    pos += 2
                else:
                    out.append(expr[pos])
                    pos += 1
            pos += 1
            return "".join(out)
        for name in ("strcat(", "unicode_codepoints_to_string("):
            if expr.startswith(name, pos):
                pos += len(name)
                args = []
                while expr[pos] != ")":
                    if name == "strcat(":
                        args.append(parse())
                    else:
                        end = min(i for i in (expr.find(",", pos), expr.find(")", pos)) if i > 0)
                        args.append(chr(int(expr[pos:end])))
                        pos = end
                    if expr.startswith(", ", pos):
                        pos += 2
                pos += 1
                assert len(args) <= 64
                return "".join(args)
        raise AssertionError(f"unexpected KQL at {pos}: {expr[pos:]!r}")

    value = parse()
    assert pos == len(expr)
    return value


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_kql_literal_is_exact_printable_and_closed(name):
    expr = kql_literal(name)
    assert _kql_value(expr) == name
    assert safe_text(expr) == expr  # prints as it is: no bidi, newline or invisible character
    for literal in re.findall(r'"((?:[^"\\]|\\.)*)"', expr):
        assert literal == kql_string(_kql_value(f'"{literal}"'))


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_logons_kql_escapes_hostile_names(name):
    query = logons_kql(f"D{name}", name, pd.Timestamp("2024-03-21"))
    lines = query.split("\n")
    assert len(lines) == 12  # a name cannot add or break lines
    assert safe_text(query.replace("\n", "")) == query.replace("\n", "")
    user = re.match(r"\| where TargetUserName =~ (.*)$", lines[5]).group(1)
    domain = re.match(r"\| where TargetDomainName =~ (.*)$", lines[6]).group(1)
    assert _kql_value(user) == name and _kql_value(domain) == f"D{name}"
    assert lines[2] == "| where TimeGenerated >= datetime(2024-03-21T00:00:00Z)"
    assert lines[3] == "    and TimeGenerated < datetime(2024-03-22T00:00:00Z)"
    assert lines[0].startswith("//") and "\u202e" not in lines[0]


def test_logons_kql_window_is_the_pivot_day():
    aware = pd.Timestamp("2024-03-21 15:00", tz="Europe/Paris")
    query = logons_kql("", "u", aware)
    assert "datetime(2024-03-20T23:00:00Z)" in query  # midnight in Paris, written in UTC
    assert "TargetDomainName" not in query.split("| project")[0]  # no domain: not matched on


def test_hostile_names_through_the_report(found):
    name = 'ev"il\u202e\\x\nname'
    outliers = found.outliers.copy()
    outliers["DstUser"] = name
    html = render_report(_with(found, outliers=outliers, explanations=found.explanations), {})
    assert "\u202e" not in html.replace(SCRIPT, "")  # never raw on the page
    parsed = _parse(html)
    copied = [b["data-copy"] for b in parsed.find("button") if b.get("class") == "copy"]
    kql = logons_kql(outliers["DstDomain"].iloc[0], name, outliers["Date"].iloc[0])
    assert kql in copied  # the exact query, escaped for KQL, not for display


# ------------------------------------------------------------------ charts
def test_trend_figures_share_the_hunt_window_with_integer_ticks(found):
    start, end = hunt_window(found)
    assert (start, end) == (pd.Timestamp("2022-09-06"), pd.Timestamp("2022-09-26"))
    limits = []
    for user in ("ACC-03", "SRVACC-04", "ACC-01"):
        fig = trend_figure(found, "CONTOSO", user)
        for ax in fig.axes:
            lo, hi = ax.get_xlim()
            limits.append((round(lo, 6), round(hi, 6)))
            ticks = [t for t in ax.get_yticks() if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]]
            assert ticks and all(float(t).is_integer() for t in ticks), ticks
            assert ax.get_ylim()[0] == 0 and ax.get_ylim()[1] >= 1
            assert ax.title.get_fontsize() >= 9
            assert all(t.get_fontsize() >= 9 for t in ax.get_yticklabels())
    assert len(set(limits)) == 1  # every panel of every account: the same x-range
    from matplotlib.dates import date2num

    lo, hi = limits[0]
    assert lo == pytest.approx(date2num(start) - 0.5) and hi == pytest.approx(date2num(end) + 0.5)


def test_trend_days_without_logons_are_zero_not_joined(found):
    days = found.user_days
    rows = days[days["DstUser"] == "ACC-03"]
    assert rows["Date"].nunique() == 17  # four days of the 21 have no row
    fig = trend_figure(found, "CONTOSO", "ACC-03")
    panel = next(ax for ax in fig.axes if ax.get_ylabel() == "FailedLogons")
    line = panel.lines[0]
    assert len(line.get_xdata()) == 21  # every day of the window
    expected = (
        rows.groupby("Date")["FailedLogons"]
        .sum()
        .reindex(pd.date_range("2022-09-06", "2022-09-26"), fill_value=0)
    )
    np.testing.assert_array_equal(line.get_ydata(), expected.to_numpy())
    missing = ~expected.index.isin(rows["Date"])
    assert missing.sum() == 4 and (line.get_ydata()[missing] == 0).all()


def test_constant_series_axis_starts_at_zero():
    day = pd.date_range("2024-01-01", periods=5)
    table = pd.DataFrame(
        {"Date": day, "DstDomain": "D", "DstUser": "u", "SuccessfulLogons": 1, "Other": 3}
    )
    from msticnb_iforest.present.plots import trend_plot

    fig = trend_plot(table, "D", "u", [day[2]], ["SuccessfulLogons", "Other"])
    assert [ax.get_ylim()[0] for ax in fig.axes] == [0, 0]
    assert fig.axes[0].get_ylim()[1] >= 1.1  # not 0.95-1.05
    assert [float(t) for t in fig.axes[0].get_yticks() if t <= 1.15] == [0.0, 1.0]
    assert len(fig.axes) == 2  # side by side, not stacked


def test_shap_bars_are_labelled_in_real_units(found, figures):
    first = found.outliers.index[0]
    row = found.outliers.loc[first]
    labels = bar_labels(row, found.features)
    failed = int(row["FailedLogons"])
    low, high = int(row["FailedLogons_usual_low"]), int(row["FailedLogons_usual_high"])
    usual = f"{low}" if low == high else f"{low}–{high}"
    assert labels["failed_logons"] == f"failed logons: {failed:,} (usual {usual})"
    assert failed != round(row["failed_logons"], 2)  # not the model's log value
    assert labels["successes_vs_usual"].startswith("successful logons vs usual: ")
    # The clause of the triaged result (77 failed logons) wins over the row's columns.
    (fig,) = [f for label, f in figures.outlier_plots if label.endswith("2022-09-16")]
    texts = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "failed logons: 77 (usual 0–1)" in texts
    assert not any("=" in t for t in texts)  # every feature in real units
    assert "path length" not in fig.axes[0].get_xlabel()


def test_summary_of_one_outlier_is_a_bar_chart(found):
    shap = found.shap_values.head(1)
    fig = shap_summary_plot(shap, found.user_days.loc[shap.index, found.features])
    (ax,) = fig.axes  # no colour bar
    assert len(ax.patches) == len(found.features)
    assert not ax.collections  # no dots
    np.testing.assert_allclose(
        sorted(p.get_width() for p in ax.patches), sorted(shap.iloc[0].to_numpy())
    )


def test_summary_of_two_outliers_names_them_in_a_legend(found):
    figures = make_plots(found, per_outlier=False, trends=False)
    (ax,) = figures.shap_summary_plot.axes
    assert len(ax.patches) == 2 * len(found.features)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["CONTOSO\\SRVACC-04 2022-09-16", "CONTOSO\\SRVACC-04 2022-09-25"]
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert "failed logons" in names and "failed_logons" not in names  # plain names


def test_bar_labels_of_novelty_sources_and_unknown_features():
    row = pd.Series(
        {
            "new_computers": 1.5,
            "NovelComputer": 23.0,
            "NovelComputer_other_days": 1.0,
            "baseline_days": 15,
            "sources_vs_usual": 2.3,
            "sources_vs_usual_columns": "SrcIps|SrcHosts",
            "SrcIps": 2.0,
            "SrcIps_usual_low": 1.0,
            "SrcIps_usual_high": 1.0,
            "SrcHosts": 202.0,
            "SrcHosts_usual_low": 1.0,
            "SrcHosts_usual_high": 3.0,
            "FailedLogons_zscore": 4.2,
            "FailedLogons": 9.0,
            "FailedLogons_mean": 0.4,
            "odd": 0.5,
        }
    )
    features = ["new_computers", "sources_vs_usual", "FailedLogons_zscore", "odd"]
    assert bar_labels(row, features) == {
        "new_computers": "new computers: 23 (1 new over 15 other days)",
        "sources_vs_usual": "source IPs: 2 (usual 1), source hosts: 202 (usual 1–3)",
        "FailedLogons_zscore": "failed logons vs window: 9 (window average 0.4)",
        "odd": "odd = 0.5",
    }

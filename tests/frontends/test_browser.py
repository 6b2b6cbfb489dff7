"""The outlier browser: its parts and layout, picking, incidents and the AccountSummary button."""

from __future__ import annotations

import io
from types import SimpleNamespace

import ipywidgets as widgets
import pandas as pd
import pytest
from matplotlib.figure import Figure

from msticnb_iforest.frontends.browser import OutlierBrowser, incident_numbers

PNG = b"\x89PNG\r\n\x1a\n"


def _png(width: float, height: float, colour: str) -> bytes:
    fig = Figure(figsize=(width, height))
    fig.add_subplot().plot([0, 1], color=colour)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=40)
    return buf.getvalue()


def _result(incidents: bool = True, incident_column: bool = True) -> SimpleNamespace:
    """Three outliers of three accounts; two belong to one spray, one stands alone."""
    outliers = pd.DataFrame(
        {
            "Date": pd.to_datetime(["2024-03-21", "2024-03-22", "2024-03-21"]),
            "DstDomain": ["CONTOSO", "CONTOSO", "CONTOSO"],
            "DstUser": ["alice", "bob<script>", "carol"],
            "score": [0.30, 0.20, 0.10],
        },
        index=[1865, 42, 7],
    )
    if incident_column:
        outliers["incident"] = [1, 2, 1]
    explanations = outliers[["Date", "DstDomain", "DstUser", "score"]].assign(
        reason=[
            "10.99.60.209 failed against 57 accounts that day; 1 new computer",
            "23 computers not seen for this account",
            "10.99.60.209 failed against 57 accounts that day",
        ],
        clauses=[
            [
                {"feature": "spray_accounts", "text": "10.99.60.209 failed against 57 accounts"},
                {"feature": "new_computers", "text": "1 new computer"},
            ],
            [],
            [],
        ],
    )
    # the first clause list joins to a shorter text than the reason: the rest is kept
    explanations.loc[1865, "reason"] = (
        "10.99.60.209 failed against 57 accounts; 1 new computer. Baseline: 16 day(s)"
    )
    shap_plots = [
        ("CONTOSO\\alice 2024-03-21", _png(4, 2, "red")),
        ("CONTOSO\\bob<script> 2024-03-22", _png(4, 3, "blue")),
        ("CONTOSO\\carol 2024-03-21", _png(4, 2, "green")),
    ]
    trends = [
        ("CONTOSO\\alice", _png(6, 5, "red")),
        ("CONTOSO\\bob<script>", _png(6, 5, "blue")),
        ("CONTOSO\\carol", _png(6, 5, "green")),
    ]
    result = SimpleNamespace(
        outliers=outliers,
        explanations=explanations,
        outlier_plots=shap_plots,
        trend_plots=trends,
        shap_values=None,
        user_days=None,
        parameters={},
    )
    if incidents:
        result.incidents = pd.DataFrame(
            {
                "incident": [1, 2],
                "kind": ["password spray", "single"],
                "lead": [
                    "Password spray from 10.99.60.209 on 2024-03-21: failed against 57 accounts",
                    "CONTOSO\\bob reached 23 new computers on 2024-03-22",
                ],
                "n_accounts": [2, 1],
                "accounts": ["CONTOSO\\alice, CONTOSO\\carol", "CONTOSO\\bob"],
                "first_day": pd.to_datetime(["2024-03-21", "2024-03-22"]),
                "last_day": pd.to_datetime(["2024-03-21", "2024-03-22"]),
                "sources": ["10.99.60.209", ""],
                "score": [0.30, 0.20],
                "n_outliers": [2, 1],
                "members": ["1865, 7", "42"],
            }
        )
    return result


def _parts(box) -> list:
    """Return `box` and every widget inside it, in page order."""
    found = [box]
    for child in getattr(box, "children", ()):
        found.extend(_parts(child))
    return found


def _said(capsys) -> str:
    """Return what was printed, without the line clearing of `Output.clear_output`."""
    return capsys.readouterr().out.replace("\x1b[2K\r", "")


def _classed(box, css_class: str):
    hits = [w for w in _parts(box) if css_class in w._dom_classes]
    assert len(hits) == 1, (css_class, hits)
    return hits[0]


def _px(value) -> float | None:
    """Return a CSS length in pixels (a ``ch`` taken as 10 px, wider than any font's), or None."""
    text = str(value or "")
    if text.endswith("px"):
        return float(text[:-2])
    return 10 * float(text[:-2]) if text.endswith("ch") else None


def test_parts_carry_the_css_classes_page_tests_look_for():
    browser = OutlierBrowser(_result(), print, show=False)
    box = browser.widget
    assert "alu-browser" in box._dom_classes
    assert isinstance(_classed(box, "alu-pick"), widgets.Select)
    assert _classed(box, "alu-pick") is browser.select
    assert isinstance(_classed(box, "alu-incident"), widgets.Dropdown)
    assert _classed(box, "alu-shap") is browser.shap_image
    assert _classed(box, "alu-trend") is browser.trend_image
    assert isinstance(_classed(box, "alu-summary"), widgets.Button)
    assert isinstance(_classed(box, "alu-reason"), widgets.HTML)
    # the incident list comes first, above the pick list; the charts last
    order = [w for w in _parts(box) if w._dom_classes]
    names = [w._dom_classes[0] for w in order]
    assert names.index("alu-incident") < names.index("alu-pick") < names.index("alu-charts")


def test_layout_fits_1366_px_and_keeps_the_charts_aspect():
    box = OutlierBrowser(_result(), print, show=False).widget
    for widget in _parts(box):
        layout = widget.layout
        for prop in ("width", "min_width", "max_width"):
            size = _px(getattr(layout, prop))
            assert size is None or size <= 1366, (widget, prop, getattr(layout, prop))
        if not isinstance(widget, widgets.Image):
            assert layout.height in (None, "", "auto"), (widget, layout.height)
    assert box.layout.max_width == "100%"
    for image in (_classed(box, "alu-shap"), _classed(box, "alu-trend")):
        layout = image.layout
        # never stretched: natural size, shrunk to the width available, height from the width
        assert layout.height == "auto" and layout.max_width == "100%"
        assert layout.width in ("auto", "100%") and layout.object_fit == "contain"
        assert image.width == "" and image.height == ""  # no fixed size attributes
    charts = _classed(box, "alu-charts")
    assert "wrap" in charts.layout.flex_flow and charts.layout.align_items == "flex-start"
    pick = _classed(box, "alu-pick")
    longest = max(len(label) for label, _ in pick.options)
    assert pick.layout.width == f"{max(longest + 4, 34)}ch"  # every label whole
    assert pick.layout.max_width == "100%"
    # a full-width part has no side margin (100% plus a margin scrolls sideways)
    incident = _classed(box, "alu-incident").layout
    assert incident.width == "100%" and incident.margin == "2px 0"
    button = _classed(box, "alu-summary")
    assert button.description == "Run AccountSummary" and button.layout.width == "auto"


def test_picking_another_outlier_changes_both_charts_and_the_reason():
    browser = OutlierBrowser(_result(incidents=False), print, show=False)
    first = (
        bytes(browser.shap_image.value),
        bytes(browser.trend_image.value),
        browser.reason.value,
    )
    assert first[0].startswith(PNG) and first[1].startswith(PNG)
    assert "alice" in first[2]
    browser.select.value = browser.select.options[1][1]
    second = (
        bytes(browser.shap_image.value),
        bytes(browser.trend_image.value),
        browser.reason.value,
    )
    assert second[0] != first[0] and second[1] != first[1]
    assert "bob" in second[2] and "alice" not in second[2]
    # names from the data are escaped in the panel
    assert "<script>" not in second[2] and "bob&lt;script&gt;" in second[2]
    assert browser.incident is None and "#" not in browser.select.options[0][0]


@pytest.mark.parametrize("incident_column", [True, False])
def test_incidents_are_listed_and_filter_the_pick_list(incident_column):
    result = _result(incident_column=incident_column)
    assert incident_numbers(result).tolist() == [1, 2, 1]
    browser = OutlierBrowser(result, print, show=False)
    labels = [label for label, _ in browser.incident.options]
    assert labels[0] == "All 2 incident(s) (3 outliers)"
    assert labels[1].startswith("#1 password spray, 2 outlier(s): Password spray from 10.99")
    assert labels[2].startswith("#2 single, 1 outlier(s): CONTOSO\\bob")
    # grouped by incident: the spray's two outliers first, then the lone one
    assert [value for _, value in browser.select.options] == [1865, 7, 42]
    assert browser.select.options[1][0].startswith("#1  2024-03-21  CONTOSO\\carol")
    assert "<b>Incident 1</b> (password spray, 2 outlier(s), 2 account(s))" in browser.reason.value
    assert "Password spray from 10.99.60.209 on 2024-03-21" in browser.reason.value

    browser.incident.value = 2
    assert [value for _, value in browser.select.options] == [42]
    assert browser.select.value == 42 and "bob" in browser.reason.value
    assert "<b>Incident 2</b>" in browser.reason.value
    browser.incident.value = 0
    assert len(browser.select.options) == 3


def test_results_without_incidents_have_no_incident_list():
    result = _result(incidents=False)
    assert incident_numbers(result) is None
    assert OutlierBrowser(result, print, show=False).incident is None
    result.incidents = _result().incidents.iloc[0:0]  # no outliers, no incidents
    assert OutlierBrowser(result, print, show=False).incident is None


def test_structured_clauses_are_listed_and_the_rest_of_the_reason_kept():
    browser = OutlierBrowser(_result(), print, show=False)
    panel = browser.reason.value
    assert "<li>10.99.60.209 failed against 57 accounts</li><li>1 new computer</li>" in panel
    assert panel.rstrip("</div>").endswith("Baseline: 16 day(s)")
    browser.select.value = 42  # no clauses: the reason as it is
    assert "23 computers not seen for this account" in browser.reason.value
    assert "<li>" not in browser.reason.value


def test_no_outliers_says_so_and_shows_no_empty_images():
    result = _result(incidents=False)
    result.outliers = result.outliers.iloc[0:0]
    browser = OutlierBrowser(result, print, show=False)
    assert browser.select.options == ()
    assert "No outliers to browse" in browser.reason.value
    assert browser.shap_image.layout.display == "none"
    browser._on_summary(None)  # nothing picked: nothing to run


def test_summary_button_shows_an_error_as_one_line(capsys):
    def _fails(account):
        raise RuntimeError(f"workspace\nunreachable for {account}")

    browser = OutlierBrowser(_result(), _fails, show=False)
    browser._on_summary(None)
    said = _said(capsys)
    assert said == "AccountSummary could not run: RuntimeError: workspace unreachable for alice\n"


def test_summary_button_off_sentinel_says_what_the_pivot_cell_says(nb_local, demo_table, capsys):
    from msticnb_iforest.frontends.anomalous_logon_users import AnomalousLogonUsers

    nblt = AnomalousLogonUsers()
    nblt.run(data=demo_table, feature_set="seed", options=["-plot_outliers", "-plot_trends"])
    capsys.readouterr()
    nblt.account_summary()  # what the notebook's pivot cell runs
    pivot = capsys.readouterr().out
    assert pivot.startswith("AccountSummary needs a Microsoft Sentinel workspace, not LocalData")
    browser = OutlierBrowser(nblt._last_result, nblt.account_summary, show=False)
    browser._on_summary(None)
    assert _said(capsys) == pivot
    # the charts of outliers beyond the plot cap are drawn on demand, per outlier
    shap, trend = bytes(browser.shap_image.value), bytes(browser.trend_image.value)
    browser.select.value = browser.select.options[1][1]
    assert bytes(browser.shap_image.value).startswith(PNG)
    assert bytes(browser.trend_image.value).startswith(PNG)
    assert bytes(browser.shap_image.value) != shap and bytes(browser.trend_image.value) != trend

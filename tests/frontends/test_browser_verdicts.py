"""The outlier browser's statuses and verdict controls (note, scope, Benign / Malicious)."""

from __future__ import annotations

import ipywidgets as widgets
import pandas as pd

from msticnb_iforest.frontends.browser import OutlierBrowser

from ..widget_parts import part
from .test_browser import _result

FINDINGS = ["0123456789ab", "ba9876543210", "aaaabbbbcccc"]


class _Recorder:
    """A hunt result's ``set_verdict`` that records its calls (the store is tested elsewhere)."""

    def __init__(self, fails: Exception | None = None):
        self.calls: list[dict] = []
        self.fails = fails

    def __call__(self, **kwargs) -> pd.DataFrame:
        self.calls.append(kwargs)
        if self.fails is not None:
            raise self.fails
        findings = kwargs.get("finding") or FINDINGS[0:3:2]
        return pd.DataFrame({"finding": [findings] if isinstance(findings, str) else findings})


def _stateful(state_path: str | None = "/tmp/hunt.sqlite", fails: Exception | None = None):
    """The browser test's result, given statuses, findings and (optionally) a state store."""
    result = _result()
    result.outliers = result.outliers.assign(
        finding=FINDINGS, status=["new", "recurring", "seen"], verdict=""
    )
    result.incidents = result.incidents.assign(status=["new", "recurring"])
    result.state_path = state_path
    result.set_verdict = _Recorder(fails)
    return result


def test_the_controls_exist_and_are_disabled_without_state():
    browser = OutlierBrowser(_stateful(state_path=None), print, show=False)
    box = browser.widget
    assert isinstance(part(box, "alu-verdict-note"), widgets.Text)
    scope = part(box, "alu-verdict-scope")
    assert isinstance(scope, widgets.Dropdown)
    assert [value for _, value in scope.options] == ["day", "evidence", "account"]
    for name, label in (("alu-benign", "Benign"), ("alu-malicious", "Malicious")):
        button = part(box, name)
        assert button.description == label and button.disabled
        assert "ran without state: pass state=PATH" in button.tooltip
    assert "ran without state" in part(box, "alu-verdict-outcome").value
    browser.verdicts.record("benign")  # even when called, nothing is recorded
    assert browser.result.set_verdict.calls == []
    assert "Verdict not recorded: This hunt ran without state" in browser.verdicts.outcome.value


def test_a_result_without_the_state_attributes_disables_the_buttons():
    browser = OutlierBrowser(_result(), print, show=False)  # a result from before
    assert part(browser.widget, "alu-benign").disabled
    assert "no finding id" in part(browser.widget, "alu-verdict-target").value


def test_buttons_call_set_verdict_for_the_shown_outlier():
    browser = OutlierBrowser(_stateful(), print, show=False)
    benign, malicious = part(browser.widget, "alu-benign"), part(browser.widget, "alu-malicious")
    assert not benign.disabled and not malicious.disabled
    assert "0123456789ab" in browser.verdicts.target_label.value  # alice, the shown one
    browser.verdicts.note.value = "the new file server"
    browser.verdicts.scope.value = "day"
    benign.click()
    browser.select.value = 42  # bob
    browser.verdicts.note.value = ""
    browser.verdicts.scope.value = "account"
    malicious.click()
    assert browser.result.set_verdict.calls == [
        {
            "finding": "0123456789ab",
            "verdict": "benign",
            "note": "the new file server",
            "scope": "day",
        },
        {"finding": "ba9876543210", "verdict": "malicious", "note": "", "scope": "account"},
    ]
    outcome = browser.verdicts.outcome.value
    assert "Recorded <b>malicious</b> (scope account)" in outcome and "ba9876543210" in outcome


def test_a_picked_incident_gets_the_verdict_as_a_whole():
    browser = OutlierBrowser(_stateful(), print, show=False)
    browser.incident.value = 1
    assert "incident 1 (all its outliers)" in browser.verdicts.target_label.value
    part(browser.widget, "alu-benign").click()
    assert browser.result.set_verdict.calls == [
        {"incident": 1, "verdict": "benign", "note": "", "scope": "evidence"}
    ]
    assert "2 finding(s)" in browser.verdicts.outcome.value


def test_an_error_of_set_verdict_is_shown_as_one_line():
    failure = ValueError("unknown finding\n<b>ba98</b>")
    browser = OutlierBrowser(_stateful(fails=failure), print, show=False)
    part(browser.widget, "alu-malicious").click()
    outcome = browser.verdicts.outcome.value
    assert "Verdict not recorded: unknown finding &lt;b&gt;ba98&lt;/b&gt;" in outcome
    assert "\n" not in outcome


def test_option_labels_show_the_status():
    browser = OutlierBrowser(_stateful(), print, show=False)
    labels = [label for label, _ in browser.select.options]
    assert labels[0].startswith("#1  [new]  2024-03-21  CONTOSO\\alice")
    assert labels[1].startswith("#1  [seen]  2024-03-21  CONTOSO\\carol")
    assert labels[2].startswith("#2  [recurring]  2024-03-22")
    incidents = [label for label, _ in browser.incident.options]
    assert incidents[1].startswith("#1 [new] password spray, 2 outlier(s)")
    assert incidents[2].startswith("#2 [recurring] single")
    # a result without statuses keeps its labels as they were
    plain = OutlierBrowser(_result(), print, show=False)
    assert not any("[" in label for label, _ in plain.select.options)


def test_benign_button_records_in_a_real_store_and_the_next_hunt_hides_it(tmp_path):
    from msticnb_iforest import hunt
    from msticnb_iforest.sources.demo import generate_demo

    events = generate_demo(60, 14, seed=3).events
    store = str(tmp_path / "state.sqlite")
    first = hunt(events, state=store, shap=False, n_jobs=1)
    assert len(first.outliers), "the demo must report something to judge"
    from types import SimpleNamespace

    result = SimpleNamespace(**vars(first), outlier_plots=[], trend_plots=[])
    result.set_verdict = first.set_verdict  # the real store behind the buttons
    browser = OutlierBrowser(result, print, show=False)
    shown = first.outliers.index[0]
    browser.select.value = shown
    browser.verdicts.note.value = "known admin work"
    browser.verdicts.scope.value = "day"
    part(browser.widget, "alu-benign").click()
    finding = first.outliers.loc[shown, "finding"]
    outcome = browser.verdicts.outcome.value
    assert finding in outcome and "not recorded" not in outcome

    second = hunt(events, state=store, shap=False, n_jobs=1)
    assert finding not in set(second.outliers["finding"])
    assert second.suppressed_outliers.get("analyst verdict") == 1
    assert list(second.verdict_suppressed["finding"]) == [finding]

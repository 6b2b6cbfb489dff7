"""What the analyst sees of a scheduled hunt's memory: status columns, counts, new first, only new.

The hunts here are real demo hunts whose outliers and incidents are given the
state columns by hand (``status``, ``finding``, ``evidence``, ``verdict``) and
whose counts are set on the object, as a hunt with a state store gives them.
"""

from __future__ import annotations

import dataclasses
import json
import re
from types import SimpleNamespace

import pandas as pd
import pytest

from msticnb_iforest.pipeline import hunt
from msticnb_iforest.present.figures import Figures
from msticnb_iforest.present.outputs import incident_table, outlier_table, write_outputs
from msticnb_iforest.present.remarks import status_lines, summary_lines
from msticnb_iforest.present.report import render_report
from msticnb_iforest.present.status import (
    incident_marks,
    listed,
    new_first,
    status_summary,
    statuses,
)
from msticnb_iforest.sources.demo import generate_demo

STATE_COLUMNS = ["finding", "evidence", "status", "verdict"]
#: Status of the outliers, highest score first: the top one was seen before.
MARKS = ["seen", "new", "recurring"]


@pytest.fixture(scope="module")
def plain():
    """A demo hunt with three outliers, each its own incident, without any state column."""
    demo = generate_demo(n_users=40, n_days=14, seed=3)
    found = hunt(demo.events, shap=False, n_jobs=1)
    assert len(found.outliers) == 3 and len(found.incidents) == 3
    return _unmarked(found)


def _unmarked(found):
    """Return `found` as a hunt made before hunts had a memory: no state columns or counts."""
    outliers = found.outliers.drop(columns=STATE_COLUMNS, errors="ignore")
    incidents = found.incidents.drop(columns=["status"], errors="ignore")
    copy = dataclasses.replace(found, outliers=outliers, incidents=incidents)
    for name in ("status_counts", "incident_status_counts", "state_path", "run_id"):
        if hasattr(copy, name):
            setattr(copy, name, None)
    return copy


@pytest.fixture(scope="module")
def marked(plain):
    """The same hunt as a run with a state store sees it."""
    outliers = plain.outliers.assign(
        finding=["a1" * 6, "b2" * 6, "c3" * 6],
        evidence=["d4" * 6, "e5" * 6, "f6" * 6],
        status=MARKS,
        verdict=["malicious", "", ""],
    )
    by_label = dict(zip(outliers.index.map(str), MARKS, strict=True))
    incidents = plain.incidents.assign(status=plain.incidents["members"].map(by_label))
    found = dataclasses.replace(
        plain,
        outliers=outliers,
        incidents=incidents,
        suppressed_outliers={**plain.suppressed_outliers, "analyst verdict": 4},
    )
    found.status_counts = {"new": 1, "recurring": 1, "seen": 1}
    found.incident_status_counts = {"new": 1, "recurring": 1, "seen": 1}
    found.state_path = "/var/hunt/state.sqlite"
    found.run_id = 7
    return found


def test_missing_status_reads_as_new_and_counts_come_from_the_tables(plain):
    assert statuses(plain.outliers).tolist() == ["new"] * 3
    summary = status_summary(plain)
    assert summary.outliers == {"new": 3, "recurring": 0, "seen": 0}
    assert summary.incidents == {"new": 3, "recurring": 0, "seen": 0}
    assert summary.hidden == 0 and summary.state_path is None and summary.new_incidents == 3
    hand_made = SimpleNamespace(outliers=pd.DataFrame({"score": [0.2]}))
    assert status_summary(hand_made).incidents is None
    assert status_summary(hand_made).new_incidents == 1
    assert listed(plain) is plain  # nothing to order: the result itself


def test_counts_the_hunt_gives_win_over_the_tables(marked):
    summary = status_summary(marked)
    assert summary.line() == "1 new, 1 recurring, 1 seen; 4 hidden by analyst verdicts"
    assert summary.line("incident") == "1 new, 1 recurring, 1 seen"
    other = dataclasses.replace(marked)
    other.status_counts = {"new": 5, "recurring": 0, "seen": 2}
    other.incident_status_counts = {"new": 0, "recurring": 0, "seen": 1}
    assert status_summary(other).outliers == {"new": 5, "recurring": 0, "seen": 2}
    assert status_summary(other).new_incidents == 0


def test_new_first_keeps_the_order_within_each_status(marked):
    frame = pd.DataFrame({"status": ["seen", "new", "recurring", "new", "seen"], "n": range(5)})
    assert new_first(frame)["n"].tolist() == [1, 3, 2, 0, 4]
    assert new_first(frame, only_new=True)["n"].tolist() == [1, 3]
    assert frame["n"].tolist() == [0, 1, 2, 3, 4]  # not modified
    view = listed(marked, only_new=True)
    assert view.outliers["status"].tolist() == ["new"]
    assert view.incidents["status"].tolist() == ["new"]
    assert view.features == marked.features  # everything else is the hunt's


def test_outliers_csv_has_the_state_columns(marked, plain):
    table = outlier_table(marked)
    lead = ["Date", "DstDomain", "DstUser", "score", "reason", "top_features", "evidence"]
    assert list(table.columns[:7]) == lead
    assert list(table.columns[8:12]) == ["status", "verdict", "finding", "evidence_id"]
    assert table["status"].tolist() == MARKS  # the CSV keeps the score order
    assert table["evidence_id"].tolist() == ["d4" * 6, "e5" * 6, "f6" * 6]
    assert table["score"].is_monotonic_decreasing
    assert outlier_table(marked, only_new=True)["finding"].tolist() == ["b2" * 6]
    old = outlier_table(plain)
    assert not {"status", "verdict", "finding", "evidence_id"} & set(old.columns)


def test_incidents_csv_has_status_findings_and_known_malicious(marked, plain):
    table = incident_table(marked)
    assert sorted(table["status"]) == sorted(MARKS)
    top = table.set_index("finding").loc["a1" * 6]
    assert top["status"] == "seen" and top["verdict"] == "malicious"
    assert table["verdict"].tolist().count("") == 2
    assert incident_table(marked, only_new=True)["finding"].tolist() == ["b2" * 6]
    assert "finding" not in incident_table(plain).columns
    # members name several outliers: their findings, joined in member order
    outliers = marked.outliers
    labels = ", ".join(map(str, outliers.index[[2, 0]]))
    marks = incident_marks(pd.DataFrame({"members": [labels]}), outliers)
    assert marks.to_dict("records") == [
        {"finding": f"{'c3' * 6} {'a1' * 6}", "verdict": "malicious"}
    ]


def test_run_json_counts_every_one_even_when_only_new_are_listed(marked, tmp_path):
    paths = write_outputs(marked, tmp_path / "out", figures=Figures(), only_new=True)
    run = json.loads(paths["run"].read_text())
    assert run["status_counts"] == {"new": 1, "recurring": 1, "seen": 1}
    assert run["incident_status_counts"] == {"new": 1, "recurring": 1, "seen": 1}
    assert run["state_path"] == "/var/hunt/state.sqlite" and run["state_run_id"] == 7
    assert run["suppressed"]["analyst verdict"] == 4 and run["verdict_hidden"] == 4
    assert run["only_new"] is True and run["counts"]["outliers"] == 3
    outliers = pd.read_csv(paths["outliers"], keep_default_na=False)
    incidents = pd.read_csv(paths["incidents"], keep_default_na=False)
    assert outliers["status"].tolist() == ["new"] and incidents["status"].tolist() == ["new"]


def test_run_json_of_a_hunt_without_memory(plain, tmp_path):
    paths = write_outputs(plain, tmp_path / "out", figures=Figures())
    run = json.loads(paths["run"].read_text())
    assert run["status_counts"] == {"new": 3, "recurring": 0, "seen": 0}
    assert run["incident_status_counts"] == {"new": 3, "recurring": 0, "seen": 0}
    assert run["state_path"] is None and run["only_new"] is False
    assert len(pd.read_csv(paths["outliers"])) == 3


def _row_statuses(html: str, table: str) -> list[str]:
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<td class="state"><span class="status status-(\w+)">', body)


def test_report_lists_new_first_with_badges_and_the_counts(marked):
    html = render_report(marked, {})
    assert _row_statuses(html, "outlier-table") == ["new", "recurring", "seen"]
    assert _row_statuses(html, "incident-table") == ["new", "recurring", "seen"]
    assert "Outliers: 1 new, 1 recurring, 1 seen; 4 hidden by analyst verdicts." in html
    assert "Incidents: 1 new, 1 recurring, 1 seen." in html
    assert html.count('class="status verdict-malicious"') == 2  # its outlier and incident
    assert "kept no memory" not in html
    # the rows keep their links: the top row is the new outlier, its incident its own
    first = html.split('<tr id="outlier-1">', 1)[1].split("</tr>", 1)[0]
    assert marked.outliers.iloc[1]["DstUser"] in first


def test_report_under_only_new_lists_the_new_and_counts_the_others(marked):
    html = render_report(marked, {}, only_new=True)
    assert _row_statuses(html, "outlier-table") == ["new"]
    assert _row_statuses(html, "incident-table") == ["new"]
    assert "Only the new ones are listed; 2 recurring or seen not listed." in html
    assert "<h2>New outliers (1)</h2>" in html
    nothing_new = dataclasses.replace(
        marked,
        outliers=marked.outliers.assign(status="seen"),
        incidents=marked.incidents.assign(status="seen"),
    )
    nothing_new.status_counts = {"new": 0, "recurring": 0, "seen": 3}
    nothing_new.incident_status_counts = {"new": 0, "recurring": 0, "seen": 3}
    html = render_report(nothing_new, {}, only_new=True)
    assert "No new outlier in this run." in html and "Incidents (none listed)" in html
    assert "3 recurring or seen not listed" in html


def test_report_of_a_hunt_without_memory_says_every_one_is_new(plain):
    html = render_report(plain, {})
    assert _row_statuses(html, "outlier-table") == ["new"] * 3
    assert "Outliers: 3 new, 0 recurring, 0 seen." in html
    assert "kept no memory" in html


def test_console_summary_lists_only_new_and_says_how_many_others(marked, tmp_path):
    paths = {"report": tmp_path / "report.html"}
    lines = summary_lines(marked, paths, only_new=True)
    assert lines[0].startswith("3 outlier(s) among ")
    assert lines[1] == (
        "Status: 1 new, 1 recurring, 1 seen; 4 hidden by analyst verdicts; "
        "incidents 1 new, 1 recurring, 1 seen."
    )
    assert lines[2] == "Listing only the new ones: 1 of 3 outlier(s), 1 of 3 incident(s)."
    listed_rows = [line for line in lines if re.match(r"  \d+\. ", line)]
    assert len(listed_rows) == 1 and listed_rows[0].startswith("  1. [new] ")
    every = [line for line in summary_lines(marked, paths) if re.match(r"  \d+\. ", line)]
    assert [line.split()[1] for line in every] == ["[new]", "[recurring]", "[seen]"]
    quiet = summary_lines(marked, paths, quiet=True, only_new=True)
    assert len(quiet) == 1 and "Listing only the new ones: 1 of 3" in quiet[0]


def test_console_says_nothing_of_status_without_memory(plain, tmp_path):
    assert status_lines(plain) == []
    lines = summary_lines(plain, {"report": tmp_path / "report.html"})
    assert not any(line.startswith("Status:") for line in lines)
    assert not any("[new]" in line for line in lines)
    assert status_lines(plain, only_new=True)[-1] == "No state store: every outlier counts as new."

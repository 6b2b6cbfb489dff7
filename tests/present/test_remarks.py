"""The sentences a run ends with: the terminal summary, held and dropped counts."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from msticnb_iforest.present.figures import Figures
from msticnb_iforest.present.remarks import TOP_SHOWN, summary_lines


def _result(n_outliers: int) -> SimpleNamespace:
    days = pd.DataFrame(
        {
            "Date": pd.to_datetime(["2024-05-01"] * 8),
            "DstDomain": "CONTOSO",
            "DstUser": [f"user{i}" for i in range(8)],
            "score": [0.9 - i / 100 for i in range(8)],
        }
    )
    outliers = days.head(n_outliers)
    return SimpleNamespace(
        outliers=outliers,
        user_days=days,
        feature_set="baseline",
        explanations=pd.DataFrame({"reason": "47 failed logons"}, index=outliers.index),
        suppressed_outliers={"allow-listed account": 2},
        dropped_rows={"machine_account": 3},
        notes=["a note\x1b[31m"],
    )


PATHS = {"report": Path("out/report.html"), "run": Path("out/run.json")}


def test_the_summary_lists_the_top_outliers_then_the_counts_notes_and_files():
    lines = summary_lines(_result(TOP_SHOWN + 2), PATHS)
    assert lines[0] == "7 outlier(s) among 8 user-days of 8 account(s) (feature set 'baseline')."
    assert lines[1].startswith("  1. 2024-05-01  CONTOSO\\user0  score 0.9000  47 failed logons")
    assert len([line for line in lines if line.startswith("  ") and ". 2024" in line]) == TOP_SHOWN
    assert "  ... and 2 more in outliers.csv" in lines
    assert "Flagged by the model but not reported: 2 user-day(s): allow-listed account 2." in lines
    assert any(line.startswith("Dropped 3 input row(s)") for line in lines)
    assert "Note: a note\\x1b[31m" in lines  # escaped, never sent to the terminal as is
    assert lines[-1] == "Files in out: report.html, run.json"


def test_the_quiet_summary_is_one_line_with_the_extra_sentence():
    lines = summary_lines(_result(1), PATHS, quiet=True, extra="Labels: 1 of 1.")
    assert lines == [
        "1 outlier(s) among 8 user-days of 8 account(s) (feature set 'baseline'). "
        "Labels: 1 of 1. Report: out/report.html"
    ]


def test_figures_are_taken_from_a_holder_of_them_only():
    holder = SimpleNamespace(**{name: None for name in Figures.__dataclass_fields__})
    holder.plot_cap = 3
    assert Figures.held_by(holder).plot_cap == 3
    assert Figures.held_by(SimpleNamespace(outliers=None)) is None


def test_the_summary_names_the_incidents_and_the_first_lead_escaped():
    result = _result(TOP_SHOWN + 2)
    result.incidents = pd.DataFrame(
        {"lead": ["Password spray from 10.9.9.9\x1b[31m on 2024-05-01: 7 flagged", "other"]}
    )
    lines = summary_lines(result, PATHS)
    line = "2 incident(s); first: Password spray from 10.9.9.9\\x1b[31m on 2024-05-01: 7 flagged"
    assert lines[lines.index("  ... and 2 more in outliers.csv") + 1] == line
    result.incidents = result.incidents.iloc[0:0]
    assert not any("incident(s)" in text for text in summary_lines(result, PATHS))

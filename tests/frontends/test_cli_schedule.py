"""The command line's --only-new and --fail-on-new, run on the demo (nothing mocked)."""

from __future__ import annotations

import json
from argparse import Namespace
from types import SimpleNamespace

import pandas as pd
import pytest

from msticnb_iforest.frontends.cli import build_parser, main
from msticnb_iforest.frontends.cli_schedule import EXIT_NEW, exit_status

DEMO = ["demo", "--users", "40", "--days", "14", "--seed", "3", "--max-plots", "0", "--no-shap"]


def _run(args, capsys) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_fail_on_new_exits_3_when_the_demo_has_new_incidents(tmp_path, capsys):
    # without a state store every incident is new: the demo's attacks make three
    out = tmp_path / "new"
    code, stdout, stderr = _run([*DEMO, "--out", out, "--fail-on-new"], capsys)
    assert code == EXIT_NEW == 3, stderr
    run = json.loads((out / "run.json").read_text())  # the outputs are written all the same
    assert run["incident_status_counts"]["new"] == run["incidents"]["count"] == 3
    assert run["status_counts"]["new"] == run["counts"]["outliers"] == 3
    assert run["only_new"] is False and run["state_path"] is None
    assert stdout.startswith("3 outlier(s) among ")
    # the same run without the flag ends as usual
    code, _, stderr = _run([*DEMO, "--out", tmp_path / "plain", "-q"], capsys)
    assert code == 0, stderr


def test_fail_on_new_exits_0_without_new_incidents(tmp_path, capsys):
    out = tmp_path / "none"
    args = [*DEMO, "--out", out, "--fail-on-new", "--account", "nobody-here", "-q"]
    code, stdout, stderr = _run(args, capsys)
    assert code == 0, stderr
    run = json.loads((out / "run.json").read_text())
    assert run["counts"]["outliers"] == 0 and run["incident_status_counts"]["new"] == 0
    assert stdout.startswith("0 outlier(s) among ")


def test_only_new_says_so_and_keeps_the_counts(tmp_path, capsys):
    out = tmp_path / "only"
    code, stdout, stderr = _run([*DEMO, "--out", out, "--only-new"], capsys)
    assert code == 0, stderr
    lines = stdout.splitlines()
    assert "Status: 3 new, 0 recurring, 0 seen; incidents 3 new, 0 recurring, 0 seen." in lines
    assert "Listing only the new ones: 3 of 3 outlier(s), 3 of 3 incident(s)." in lines
    assert "No state store: every outlier counts as new." in lines
    assert sum(line.startswith("  ") and ". [new] " in line for line in lines) == 3
    run = json.loads((out / "run.json").read_text())
    assert run["only_new"] is True and run["status_counts"] == {"new": 3, "recurring": 0, "seen": 0}
    assert len(pd.read_csv(out / "outliers.csv")) == 3
    assert "Only the new ones are listed" in (out / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--out", "o", "--fail-on-new", "--users", "many"],
        ["demo", "--out", "o", "--fail-on-new=yes"],
        ["run", "--out", "o", "--only-new"],  # no input
    ],
)
def test_usage_errors_still_exit_2(argv, capsys):
    code, _, stderr = _run(argv, capsys)
    assert code == 2 and stderr.startswith("msticnb-iforest: error: ")


@pytest.mark.parametrize("command", ["demo", "run"])
def test_help_documents_the_flags_and_exit_status(command):
    sub = build_parser()._subparsers._group_actions[0].choices[command]
    text = " ".join(sub.format_help().split())
    assert "--only-new" in text and "--fail-on-new" in text
    assert "exit with status 3 when the run has at least one new incident" in text
    assert "bad arguments still exit with 2" in text


def test_exit_status_reads_the_incident_status_or_else_the_outliers():
    flag = Namespace(fail_on_new=True)
    seen = pd.DataFrame({"status": ["seen", "recurring"]})
    with_new = pd.DataFrame({"status": ["seen", "new"]})
    assert exit_status(SimpleNamespace(outliers=with_new, incidents=seen), flag) == 0
    assert exit_status(SimpleNamespace(outliers=seen, incidents=with_new), flag) == 3
    # no status column: new, as a hunt without state says; no incidents: judged by outliers
    assert exit_status(SimpleNamespace(outliers=pd.DataFrame({"score": [0.1]})), flag) == 3
    assert exit_status(SimpleNamespace(outliers=seen), flag) == 0
    assert exit_status(SimpleNamespace(outliers=with_new), Namespace()) == 0

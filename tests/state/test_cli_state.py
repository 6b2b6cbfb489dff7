"""The command line's memory: --state on demo, state show|export|prune and verdict."""

from __future__ import annotations

import json

import pytest

from msticnb_iforest.frontends.cli import main
from msticnb_iforest.state import StateStore

DEMO = ["demo", "--users", "40", "--days", "12", "--hunt-days", "2", "--baseline-days", "8"]
DEMO += ["--contamination", "0.1", "--no-shap", "--max-plots", "0", "-q"]


def _main(argv, capsys) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """A demo hunt remembered in a fresh store (one run)."""
    folder = tmp_path_factory.mktemp("cli_state")
    store = folder / "state.sqlite"
    assert main([*DEMO, "--out", str(folder / "out1"), "--state", str(store)]) == 0
    return folder, store


def test_usage_errors_exit_2_without_creating_a_store(tmp_path, capsys):
    missing = tmp_path / "missing.sqlite"
    for argv in (
        ["state", "show", "--state", missing],
        ["verdict", "--state", missing, "--finding", "0123456789ab", "--benign"],
        ["state", "export", "--state", missing, "--out", tmp_path / "x.json"],
    ):
        code, _, err = _main(argv, capsys)
        assert code == 2 and "no such file" in err and err.count("\n") == 1
    assert not missing.exists()
    code, _, err = _main(["state", "prune", "--state", missing], capsys)
    assert code == 2 and "--keep-runs" in err
    code, _, err = _main(["verdict", "--state", missing, "--finding", "a"], capsys)
    assert code == 2 and "--benign" in err
    code, _, err = _main(["state", "--state", missing], capsys)
    assert code == 2


def test_show_verdict_rerun_export_and_prune(first_run, capsys):
    folder, store = first_run
    code, out, _ = _main(["state", "show", "--state", store], capsys)
    assert code == 0 and ": 1 run(s)" in out and "Active verdicts: 0" in out
    with StateStore(store, create=False) as opened:
        members = opened.incidents(1)["members"].iloc[0]
    assert members

    for argv, message in (
        (["--finding", "000000000000", "--benign"], "Unknown finding id(s)"),
        (["--incident", "99", "--malicious"], "run 1 has no such incident"),
        (["--incident", "1", "--run", "7", "--benign"], "run 7 has no such incident"),
        (["--finding", members[0], "--run", "1", "--benign"], "--run goes with --incident"),
    ):
        code, _, err = _main(["verdict", "--state", store, *argv], capsys)
        assert code == 2 and message in err, err
    argv = ["verdict", "--state", store, "--incident", "1", "--benign", "--scope", "day"]
    code, out, _ = _main([*argv, "--note", "patch night", "--analyst", "ana"], capsys)
    assert code == 0 and f"Recorded {len(members)} benign verdict(s), scope day" in out
    assert members[0] in out and "patch night" in out

    # the same demo again: what the verdict covers is held back, the rest is "seen"
    assert main([*DEMO, "--out", str(folder / "out2"), "--state", str(store)]) == 0
    capsys.readouterr()
    with StateStore(store, create=False) as opened:
        runs = opened.runs()
        assert runs["id"].tolist() == [1, 2]
        assert runs["verdict_suppressed"].tolist() == [0, len(members)]
        assert runs["outliers"].iloc[1] == runs["outliers"].iloc[0] - len(members)
        assert runs["seen"].iloc[1] == runs["outliers"].iloc[1]
    code, out, _ = _main(["state", "show", "--state", store], capsys)
    assert "Active verdicts: " + str(len(members)) in out and "patch night" in out

    target = folder / "export.json"
    code, out, _ = _main(["state", "export", "--state", store, "--out", target], capsys)
    assert code == 0 and "Wrote" in out
    exported = json.loads(target.read_text())
    assert [len(exported[name]) for name in ("runs", "verdicts")] == [2, len(members)]
    assert {row["finding"] for row in exported["verdicts"]} == set(members)
    assert exported["runs"][0]["parameters"]["hunt_days"] == 2
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []

    code, out, _ = _main(["state", "prune", "--state", store, "--keep-runs", "1"], capsys)
    assert code == 0 and "Dropped 1 runs" in out
    code, out, _ = _main(["state", "prune", "--state", store, "--before", "2000-01-01"], capsys)
    assert code == 0 and "Dropped 0 runs" in out
    with StateStore(store, create=False) as opened:
        assert opened.runs()["id"].tolist() == [2]
        assert len(opened.verdicts()) == len(members)  # verdicts kept without --verdicts
        assert opened.integrity() == "ok"

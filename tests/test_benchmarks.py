"""The benchmark scripts still run against the package (their quick modes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "args",
    [["benchmarks/detection.py", "--quick"], ["benchmarks/scale.py", "--quick", "--no-raw"]],
    ids=["detection", "scale"],
)
def test_benchmark_quick_mode_runs(args, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "|" in proc.stdout  # a results table was printed


def test_an_event_log_and_its_csv_export_give_the_same_account_days(tmp_path):
    log = ROOT.parent / "shared" / "data" / "evtx" / "LM_WMI_4624_4688_TargetHost.evtx"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "benchmarks/evtx_vs_csv.py", str(log)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "8 records, 6 logon events" in proc.stdout
    assert "account-days from the .evtx: 2; from the CSV: 2" in proc.stdout
    assert "same counts: yes" in proc.stdout


@pytest.mark.slow
def test_engine_scale_quick_mode_reports_every_row_and_removes_its_files(tmp_path):
    """
    ``engine_scale.py --quick``: one row per input format and hunt size; no scratch left.

    Slow (30-50 s): three command-line runs of default options, each paying
    interpreter startup, imports and about 7 s of plots even at 20k events.
    """
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    report = tmp_path / "report.md"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", "HOME": str(tmp_path)}
    proc = subprocess.run(
        [
            sys.executable,
            "benchmarks/engine_scale.py",
            "--quick",
            "--tmp-dir",
            str(scratch),
            "--out",
            str(report),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = report.read_text()
    assert text.strip() == proc.stdout.strip()
    for row in ("| Parquet | 20,000 |", "| CSV.gz | 20,000 |", "| JSON lines | 20,000 |"):
        assert row in text
    assert "| 10,000 | " in text  # the hunt row
    assert "failed" not in text.lower()  # every command-line run and peer finished
    assert list(scratch.iterdir()) == []  # generated files and outputs are gone


def test_the_careful_generator_is_deterministic_and_labels_every_kind(monkeypatch):
    """``benchmarks/_careful.py``: equal seeds give equal logs; every kind is planted."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from _careful import KINDS, LAST_DAYS, generate_careful

    one, two = (generate_careful(n_accounts=150, n_days=21, seed=5) for _ in range(2))
    assert one.events.equals(two.events) and one.labels.equals(two.labels)
    assert set(one.labels["attack"]) == set(KINDS)
    last = one.labels["Date"] >= one.labels["Date"].max() - pd.Timedelta(days=LAST_DAYS - 1)
    assert set(one.labels.loc[last, "attack"]) == set(KINDS)  # every kind in the last week
    assert one.events["TimeGenerated"].is_monotonic_increasing

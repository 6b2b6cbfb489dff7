"""The benchmark scripts still run against the package (their quick modes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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

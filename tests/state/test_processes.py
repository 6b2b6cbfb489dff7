"""The store shared by processes: concurrent runs both land; a killed run leaves no trace."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd

from msticnb_iforest.pipeline import hunt
from msticnb_iforest.sources.demo import generate_demo
from msticnb_iforest.state import StateStore
from msticnb_iforest.state.store import PAUSE_ENV

ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import sys, time
from pathlib import Path
import pandas as pd
from msticnb_iforest.state import StateStore

path, go, tag = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
findings = pd.DataFrame({
    "finding": [f"{tag}{i:011d}" for i in range(400)], "evidence": "e" * 12,
    "account_key": "c\\\\a", "account": "C\\\\a", "day": "2024-05-01", "score": 0.1,
    "status": "new", "verdict": "", "items": [()] * 400, "incident": 1,
    "is_incident_member": 0, "reason": "",
})
incidents = pd.DataFrame({"number": [1], "kind": ["single"], "lead": [""], "status": ["new"],
                          "score": [0.1], "members": [["x"]]})
run = {"started": "2024-05-02T00:00:00Z", "finished": "2024-05-02T00:00:01Z", "version": tag,
       "parameters": {}, "user_days": 1, "outliers": 400, "incidents": 1, "new": 400,
       "recurring": 0, "seen": 0, "verdict_suppressed": 0}
with StateStore(path) as store:
    while not go.exists():
        time.sleep(0.01)
    for number in range(15):
        store.write_run(run, findings.assign(finding=findings["finding"] + str(number)), incidents)
"""

HUNTER = """
import sys
import pandas as pd
from msticnb_iforest.pipeline import hunt
from msticnb_iforest.sources.demo import generate_demo

demo = generate_demo(40, 12, seed=5)
end = demo.end - pd.Timedelta(hours=12)
hunt(demo.events, hunt_days=2, baseline_days=8, shap=False, contamination=0.1, end=end,
     state=sys.argv[1])
print("finished without being killed")
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != PAUSE_ENV}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env | extra


def _python(script: str, *args, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *map(str, args)],
        env=_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_writing_runs_at_once_both_land(tmp_path):
    path, go = tmp_path / "state.sqlite", tmp_path / "go"
    StateStore(path).close()
    writers = [_python(WRITER, path, go, tag) for tag in ("a", "b")]
    time.sleep(3)  # both open the store and wait
    go.touch()
    for writer in writers:
        _, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err
    with StateStore(path, create=False) as store:
        runs = store.runs()
        assert sorted(runs["version"].value_counts().items()) == [("a", 15), ("b", 15)]
        assert len(store.findings()) == 30 * 400
        assert store.integrity() == "ok"
        # each run's findings are its own: no run got half of another's rows
        per_run = store.findings().groupby("run_id")["finding"].agg(lambda s: {f[0] for f in s})
        assert all(len(tags) == 1 for tags in per_run)


def test_a_run_killed_while_writing_leaves_the_store_as_it_was(tmp_path):
    path, signal_file = tmp_path / "state.sqlite", tmp_path / "writing"
    demo = generate_demo(40, 12, seed=5)
    end = demo.end - pd.Timedelta(hours=36)
    earlier = hunt(
        demo.events,
        hunt_days=2,
        baseline_days=8,
        shap=False,
        contamination=0.1,
        end=end,
        state=path,
    )
    assert earlier.run_id == 1 and len(earlier.outliers) > 1
    child = _python(HUNTER, path, **{PAUSE_ENV: str(signal_file)})
    deadline = time.monotonic() + 300
    while not signal_file.exists():
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "the child never reached its write"
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    out, _ = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL and "finished" not in out
    with StateStore(path, create=False) as store:
        assert store.integrity() == "ok"
        assert store.runs()["id"].tolist() == [1]
        kept = store.findings(run_id=1)
        assert sorted(kept["finding"]) == sorted(earlier.outliers["finding"])
        assert len(store.findings()) == len(earlier.outliers)
        assert len(store.incidents()) == len(earlier.incidents)
    # and the next run goes on from there
    after = hunt(
        demo.events,
        hunt_days=2,
        baseline_days=8,
        shap=False,
        contamination=0.1,
        end=end,
        state=path,
    )
    assert after.run_id == 2 and set(after.outliers["status"]) == {"seen"}

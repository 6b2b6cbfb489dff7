"""Run the command line in a child process under a memory and time cap.

Hostile-input tests use this so that a regression (a name that multiplies
memory, a decompression bomb, a pathological regex) shows as a failed
assertion instead of taking the whole CI machine down with it.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: Address-space cap for one capped run. Large enough for the interpreter,
#: msticpy, scikit-learn and shap (which map far more than they touch), small
#: enough that a runaway allocation fails fast.
DEFAULT_MEMORY_MB = 4096

#: Wall-clock cap for one capped run.
DEFAULT_TIMEOUT_S = 120

REPO = Path(__file__).resolve().parents[1]


@dataclass
class CappedRun:
    """What a capped command-line run did."""

    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False

    @property
    def error_lines(self) -> list[str]:
        """Non-empty stderr lines."""
        return [line for line in self.stderr.splitlines() if line.strip()]


def _limit(memory_mb: int):
    def _apply() -> None:
        size = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))

    return _apply


def run_cli(
    *args: str | os.PathLike,
    memory_mb: int = DEFAULT_MEMORY_MB,
    timeout: float = DEFAULT_TIMEOUT_S,
    cwd: str | os.PathLike | None = None,
    env: dict[str, str] | None = None,
) -> CappedRun:
    """
    Run ``python -m msticnb_iforest.frontends.cli ARGS`` with an address-space and time cap.

    The child imports this checkout's package (``PYTHONPATH`` is set to the
    repository root) and runs single-threaded BLAS so the cap measures the
    program, not thread arenas.
    """
    child_env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "MPLBACKEND": "Agg",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONIOENCODING": "utf-8",
        **(env or {}),
    }
    command = [sys.executable, "-m", "msticnb_iforest.frontends.cli", *map(str, args)]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="backslashreplace",
            timeout=timeout,
            cwd=cwd,
            env=child_env,
            preexec_fn=_limit(memory_mb),
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as late:
        out = late.stdout or ""
        err = late.stderr or ""
        return CappedRun(
            -9,
            out if isinstance(out, str) else out.decode("utf-8", "backslashreplace"),
            err if isinstance(err, str) else err.decode("utf-8", "backslashreplace"),
            True,
        )
    return CappedRun(done.returncode, done.stdout, done.stderr)


def assert_clean_exit(run: CappedRun, *, allowed: tuple[int, ...] = (0, 2)) -> None:
    """Assert the run finished in time, with an allowed status, and no traceback."""
    assert not run.timed_out, f"timed out; stderr tail: {run.stderr[-2000:]}"
    assert run.returncode in allowed, f"exit {run.returncode}; stderr: {run.stderr[-3000:]}"
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    if run.returncode == 2:
        errors = [line for line in run.error_lines if line.startswith("msticnb-iforest: error:")]
        assert len(errors) == 1, run.stderr[-3000:]

"""CI runs the README's commands verbatim, and the README still says each of them."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARK = "# README"


def _ci_commands() -> list[str]:
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    return [line[: -len(MARK)].strip() for line in lines if line.rstrip().endswith(MARK)]


def _readme_shell_lines() -> set[str]:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:bash|sh|console)\n(.*?)```", text, flags=re.S)
    return {line.split("  #")[0].strip() for block in blocks for line in block.splitlines()}


def test_ci_runs_the_readme_commands():
    commands = _ci_commands()
    kinds = {
        "set-up": "pip install -e",
        "papermill": "papermill notebooks/AnomalousLogonUsers.ipynb",
        "demo": "msticnb-iforest demo",
        "tests": "pytest",
    }
    for kind, needle in kinds.items():
        assert any(needle in command for command in commands), f"CI runs no {kind} command"
    missing = [command for command in commands if command not in _readme_shell_lines()]
    assert not missing, f"README no longer shows these CI commands verbatim: {missing}"


def test_constraints_pin_every_line():
    pins = [
        line
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(pins) > 100
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[^=\s]+", pin) for pin in pins), pins
    assert not any(pin.lower().startswith("msticnb-iforest") for pin in pins)

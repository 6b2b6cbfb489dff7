"""Facts every benchmark report starts with: the commit measured."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def commit() -> str:
    """Return ``git describe --always --dirty`` of the checkout, or ``unknown``."""
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip() or "unknown"
    except OSError:
        return "unknown"

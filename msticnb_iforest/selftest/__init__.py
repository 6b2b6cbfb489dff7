"""
Self-test: would the hunt catch an attack in the user's own data.

Plain functions over DataFrames, usable without msticnb:
`plant_attacks` plants synthetic attacks (`KINDS`) into a copy of raw logon
events, on the data's own accounts, servers, workstations and address
ranges; `self_test` hunts the planted copy with the real hunt's options and
reports, per attack, whether it was caught and its rank; `self_test_figure`
draws the ranks and `write_self_test` writes ``selftest.csv``,
``selftest.png`` and ``selftest.html``.

Examples
--------
>>> from msticnb_iforest.selftest import self_test
>>> found = self_test("exports/", hunt_days=1, baseline_days=30)  # doctest: +SKIP
>>> found.summary  # doctest: +SKIP
"""

from importlib import import_module
from typing import Any

from .names import INTENSITIES, KINDS, LOUD_KINDS

# The rest is imported when first used, so that reading the names stays light.
_WHERE = {
    "SELFTEST_FILES": "output",
    "write_self_test": "output",
    "Planted": "plant",
    "plant_attacks": "plant",
    "SelfTest": "run",
    "load_events": "run",
    "self_test": "run",
    "self_test_figure": "run",
}

__all__ = ["INTENSITIES", "KINDS", "LOUD_KINDS", *_WHERE]


def __getattr__(name: str) -> Any:
    """Import the heavier parts on first use."""
    if name in _WHERE:
        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

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

from .kinds import KINDS, LOUD_KINDS
from .output import SELFTEST_FILES, write_self_test
from .plant import INTENSITIES, Planted, plant_attacks
from .run import SelfTest, load_events, self_test, self_test_figure

__all__ = [
    "INTENSITIES",
    "KINDS",
    "LOUD_KINDS",
    "SELFTEST_FILES",
    "Planted",
    "SelfTest",
    "load_events",
    "plant_attacks",
    "self_test",
    "self_test_figure",
    "write_self_test",
]

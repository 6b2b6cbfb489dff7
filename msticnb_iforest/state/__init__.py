"""
The scheduled hunt's memory: what earlier runs reported and what the analyst said of it.

`fingerprints` gives each reported account-day its stable ids, `memory` says
which are new, recurring or seen and which an analyst's verdict covers, and
`store.StateStore` keeps runs, findings, incidents and verdicts in one SQLite
file. `step` is what `pipeline.hunt` calls when it is given a state path.
"""

from .fingerprints import evidence_items, fingerprints
from .memory import STATUSES, covered, mark, status_counts
from .store import SCHEMA_VERSION, StateStore

__all__ = [
    "SCHEMA_VERSION",
    "STATUSES",
    "StateStore",
    "covered",
    "evidence_items",
    "fingerprints",
    "mark",
    "status_counts",
]

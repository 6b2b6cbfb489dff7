"""Shared fixtures: paths to ../shared data and an initialised msticnb."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

from msticnb_iforest.features import FEATURE_SETS

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
DEMO_CSV = SHARED / "iforest-demo-data.csv"
EXPECTED_JSON = SHARED / "seed_demo_expected.json"
REAL_EVENTS_CSV = SHARED / "real" / "sentinel_securityevent_logons.csv"


@pytest.fixture(scope="session")
def demo_table() -> pd.DataFrame:
    """Return the original algorithm's per-user-day demo table, as exported."""
    return pd.read_csv(DEMO_CSV)


@pytest.fixture(scope="session")
def nb_local():
    """Initialise msticnb with the LocalData provider (no network) and silence it."""
    import msticnb as nb

    import msticnb_iforest  # noqa: F401  (registers the notebooklet)

    nb.init("LocalData", namespace={})
    nb.set_opt("silent", True)
    yield nb
    nb.set_opt("silent", False)


@pytest.fixture(params=sorted(FEATURE_SETS))
def fset(request) -> str:
    """Every registered feature set, so a newly added default is covered too."""
    return request.param


@pytest.fixture
def local_folder(tmp_path, nb_local):
    """Point msticnb's LocalData provider at tmp_path (call the returned init); restore after."""

    def _init():
        nb_local.init("LocalData", LocalData_data_paths=[str(tmp_path)], namespace={})
        nb_local.set_opt("silent", True)

    yield tmp_path, _init
    nb_local.init("LocalData", namespace={})
    nb_local.set_opt("silent", True)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """The per-user-day demo table as exported (M/D/YYYY dates), read once per module."""
    return pd.read_csv(DEMO_CSV)


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    """A small generated company's raw SecurityEvent logon rows (every sixth row)."""
    from msticnb_iforest.sources.demo import generate_demo

    return generate_demo(n_users=6, n_days=5, seed=11).events.iloc[::6]


@pytest.fixture
def no_plots(monkeypatch):
    """Skip drawing figures (a second each); every other step of a run happens."""
    from msticnb_iforest.present import figures

    monkeypatch.setattr(figures, "make_plots", lambda *args, **kwargs: figures.Figures())

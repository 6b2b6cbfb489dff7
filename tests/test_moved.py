"""Names from before the stage layout still import, as the very same objects."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from msticnb_iforest.moved import MOVED, MOVED_NAMES


@pytest.mark.parametrize(("old", "new"), sorted(MOVED.items()))
def test_old_module_names_are_the_new_modules(old, new):
    assert importlib.import_module(f"msticnb_iforest.{old}") is importlib.import_module(
        f"msticnb_iforest.{new}"
    )


@pytest.mark.parametrize(
    ("module", "name", "home"),
    [(module, name, home) for module, names in MOVED_NAMES.items() for name, home in names.items()],
)
def test_moved_names_resolve_from_their_old_module(module, name, home):
    old = importlib.import_module(f"msticnb_iforest.{module}")
    assert getattr(old, name) is getattr(importlib.import_module(f"msticnb_iforest.{home}"), name)


def test_names_that_never_existed_still_raise_attribute_error():
    pipeline = importlib.import_module("msticnb_iforest.pipeline")
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        pipeline.no_such_name  # noqa: B018


def test_the_readme_and_notebook_imports_work():
    from msticnb_iforest import (  # noqa: F401
        AnomalousLogonUsers,
        hunt,
        make_plots,
        user_day_summary,
    )
    from msticnb_iforest import notebook_support as old
    from msticnb_iforest.frontends import notebook

    assert old is notebook
    assert hasattr(notebook, "hunt_window") and hasattr(notebook, "open_data_source")


@pytest.mark.parametrize("module", ["msticnb_iforest", "msticnb_iforest.cli"])
def test_python_dash_m_runs_the_command_line(module):
    """``python -m msticnb_iforest`` and the old ``python -m msticnb_iforest.cli`` both work."""
    from msticnb_iforest import __version__

    ok = subprocess.run(
        [sys.executable, "-m", module, "--version"], capture_output=True, text=True, timeout=120
    )
    assert (ok.returncode, ok.stdout.strip()) == (0, f"msticnb-iforest {__version__}")
    bad = subprocess.run(
        [sys.executable, "-m", module, "--bogus"], capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2 and "unrecognized arguments: --bogus" in bad.stderr

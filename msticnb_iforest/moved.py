"""
Old module names, kept working after the package was laid out by stage.

Until version 0.x every module sat directly under ``msticnb_iforest``;
``import msticnb_iforest.notebook_support`` and ``from msticnb_iforest.demo
import generate_demo`` are in notebooks that users keep. `MOVED` maps each
old name to its module now, and `alias_moved_modules` lets the import system
find a module under its old name. The module found is the same object as
under the new name, so patching either name patches both.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from types import ModuleType
from typing import Any

_PACKAGE = __name__.rsplit(".", 1)[0]

#: Old module name (under the package) -> where it lives now.
MOVED = {
    "account_profile": "summarize.account_days",
    "anomalous_logon_users": "frontends.anomalous_logon_users",
    "browser": "frontends.browser",
    "cli": "frontends.cli",
    "demo": "sources.demo",
    "display": "present.display",
    "events": "summarize.events",
    "evtx": "sources.readers.evtx",
    "links": "present.links",
    "notebook_support": "frontends.notebook",
    "outputs": "present.outputs",
    "plots": "present.plots",
    "query": "sources.query",
    "readers": "sources.readers",
    "registration": "frontends.registration",
    "report": "present.report",
}


#: Names that left a module, by module: old name -> module (under the package)
#: that defines it now. The old module's ``__getattr__`` asks `moved_name`.
MOVED_NAMES = {
    "pipeline": {
        "DEFAULT_MAX_SUMMARY_ROWS": "present.figures",
        "account_mask": "identity",
        "make_plots": "present.figures",
        "trend_figure": "present.figures",
    },
    "sources.query": {
        "LOCAL_FILE_STEMS": "sources.local",
        "find_local_files": "sources.local",
    },
}


def moved_name(module: str, name: str) -> Any:
    """
    Return `name` from where it lives now, for `module`'s ``__getattr__``.

    Raises
    ------
    AttributeError
        If `name` never lived in `module` (what ``__getattr__`` must raise).

    """
    short = module.removeprefix(f"{_PACKAGE}.")
    home = MOVED_NAMES.get(short, {}).get(name)
    if home is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{_PACKAGE}.{home}"), name)


class _AliasLoader(importlib.abc.Loader):
    """Load an old name by importing the new one and reusing its module."""

    def __init__(self, target: str):
        self._target = target

    def create_module(self, spec: Any) -> ModuleType:
        return importlib.import_module(self._target)

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module was executed under its new name."""

    def get_code(self, fullname: str) -> Any:
        """Return what ``python -m <old name>`` runs: the new module, as ``__main__``."""
        text = f"import runpy\nrunpy.run_module({self._target!r}, run_name='__main__')\n"
        return compile(text, f"<{fullname}: {self._target}>", "exec")


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Find ``msticnb_iforest.<old name>`` for every name in `MOVED`."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        prefix, _, old = fullname.rpartition(".")
        if prefix != _PACKAGE or old not in MOVED:
            return None
        new = f"{_PACKAGE}.{MOVED[old]}"
        spec = importlib.util.spec_from_loader(fullname, _AliasLoader(new))
        return spec


def alias_moved_modules() -> None:
    """Let the old module names import (once per process)."""
    if not any(isinstance(finder, _AliasFinder) for finder in sys.meta_path):
        sys.meta_path.append(_AliasFinder())

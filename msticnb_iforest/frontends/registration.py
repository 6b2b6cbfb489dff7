"""
Registration of the `AnomalousLogonUsers` notebooklet with msticnb.

msticnb finds its own notebooklets by reading its package folder; a plugin's
class is added to ``nb.nblts`` and ``nb.nb_index`` by `register`. The
notebooklet module registers its class when it is defined, so it is enough
that the module is imported once msticnb is.

Importing ``msticnb_iforest`` must stay cheap (the command line starts with
it and never needs msticnb), so the package does not import msticnb itself:
if msticnb is already imported, the notebooklet module is imported at once;
otherwise `register_when_msticnb_loads` arranges for it to be imported right
after msticnb is, whichever of the two a notebook imports first.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from functools import partial
from typing import Any

__all__ = [
    "CONTAINER",
    "INDEX_KEY",
    "NOTEBOOKLET_MODULE",
    "register",
    "register_when_msticnb_loads",
]

#: Where the notebooklet appears in msticnb's tree and index.
CONTAINER = "custom"
INDEX_KEY = f"nblts.{CONTAINER}.AnomalousLogonUsers"

#: The module that defines (and on import registers) the notebooklet.
NOTEBOOKLET_MODULE = "msticnb_iforest.frontends.anomalous_logon_users"


def register(cls: type | None = None) -> type:
    """
    Register `AnomalousLogonUsers` with msticnb (idempotent).

    Sets what msticnb's own discovery sets on a notebooklet class (its module
    path, used for metadata, and the documentation builder used by
    ``nb.browse()`` and ``help``), then adds it to ``nb.nblts.custom`` and
    ``nb.nb_index``.

    Parameters
    ----------
    cls : type, optional
        The notebooklet class; by default `AnomalousLogonUsers`.

    Returns
    -------
    type
        The registered class.

    Examples
    --------
    >>> import msticnb as nb
    >>> from msticnb_iforest import register
    >>> register() is nb.nblts.custom.AnomalousLogonUsers
    True

    """
    from msticnb.class_doc import get_class_doc
    from msticnb.common import NBContainer
    from msticnb.read_modules import nb_index, nblts

    if cls is None:
        cls = importlib.import_module(NOTEBOOKLET_MODULE).AnomalousLogonUsers
    cls.module_path = sys.modules[cls.__module__].__file__
    cls._get_doc = partial(get_class_doc, doc_cls=cls)
    container = getattr(nblts, CONTAINER, None)
    if not isinstance(container, NBContainer):
        container = NBContainer()
        setattr(nblts, CONTAINER, container)
    setattr(container, cls.__name__, cls)
    nb_index[INDEX_KEY] = cls
    return cls


class _ImportAfter(importlib.abc.Loader):
    """Run msticnb's own loader, then import the notebooklet module (which registers)."""

    def __init__(self, loader: importlib.abc.Loader):
        self._loader = loader

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)
        try:
            importlib.import_module(NOTEBOOKLET_MODULE)
        except Exception as err:  # never break the user's import of msticnb
            warnings.warn(
                f"AnomalousLogonUsers could not be registered with msticnb: {err}",
                stacklevel=2,
            )


class _MsticnbWatcher(importlib.abc.MetaPathFinder):
    """A one-shot finder that wraps msticnb's loader when msticnb is first imported."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "msticnb":
            return None
        sys.meta_path[:] = [finder for finder in sys.meta_path if finder is not self]
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _ImportAfter(spec.loader)
        return spec


def register_when_msticnb_loads() -> None:
    """
    Register the notebooklet now if msticnb is imported, else right after it is.

    Idempotent: at most one watcher is installed.
    """
    if "msticnb" in sys.modules:
        importlib.import_module(NOTEBOOKLET_MODULE)
    elif not any(isinstance(finder, _MsticnbWatcher) for finder in sys.meta_path):
        sys.meta_path.insert(0, _MsticnbWatcher())

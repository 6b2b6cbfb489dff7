"""
msticnb-iforest: hunt anomalous Windows logon users with an Isolation Forest.

Importing the package registers the ``AnomalousLogonUsers`` notebooklet with
msticnb as ``nb.nblts.custom.AnomalousLogonUsers`` (and in ``nb.nb_index``),
before or after ``nb.init()``. The stages are also usable on their own:
`hunt` and `make_plots` work on DataFrames without msticnb.
"""

from __future__ import annotations

from functools import partial

from ._version import VERSION
from .anomalous_logon_users import AnomalousLogonUsers, AnomalousLogonUsersResult
from .errors import AnomalousLogonsError, InputDataError, ParameterError, QueryError
from .pipeline import Hunt, hunt, make_plots

__version__ = VERSION

#: Where the notebooklet appears in msticnb's tree and index.
CONTAINER = "custom"
INDEX_KEY = f"nblts.{CONTAINER}.AnomalousLogonUsers"


def register() -> type:
    """
    Register `AnomalousLogonUsers` with msticnb (idempotent).

    Sets what msticnb's own discovery sets on a notebooklet class (its module
    path, used for metadata, and the documentation builder used by
    ``nb.browse()`` and ``help``), then adds it to ``nb.nblts.custom`` and
    ``nb.nb_index``.

    Returns
    -------
    type
        The registered class.

    """
    from msticnb.class_doc import get_class_doc
    from msticnb.common import NBContainer
    from msticnb.read_modules import nb_index, nblts

    from . import anomalous_logon_users

    cls = AnomalousLogonUsers
    cls.module_path = anomalous_logon_users.__file__
    cls._get_doc = partial(get_class_doc, doc_cls=cls)
    container = getattr(nblts, CONTAINER, None)
    if not isinstance(container, NBContainer):
        container = NBContainer()
        setattr(nblts, CONTAINER, container)
    setattr(container, cls.__name__, cls)
    nb_index[INDEX_KEY] = cls
    return cls


register()

__all__ = [
    "AnomalousLogonUsers",
    "AnomalousLogonUsersResult",
    "AnomalousLogonsError",
    "Hunt",
    "InputDataError",
    "ParameterError",
    "QueryError",
    "hunt",
    "make_plots",
    "register",
]

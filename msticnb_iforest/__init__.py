"""
msticnb-iforest: hunt anomalous Windows logon users with an Isolation Forest.

Importing the package registers the ``AnomalousLogonUsers`` notebooklet with
msticnb as ``nb.nblts.custom.AnomalousLogonUsers`` (and in ``nb.nb_index``),
whether msticnb is imported before or after this package and before or after
``nb.init()``. The stages are also usable on their own, without msticnb:
`user_day_summary` and `account_day_summary` summarize raw logon events per
account and day, `hunt` scores and explains a summary, `make_plots` draws it.

The package imports its heavy dependencies (msticnb, msticpy, pandas,
scikit-learn, shap) only when one of these names is first used, so the
command line starts quickly.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import VERSION
from .errors import AnomalousLogonsError, InputDataError, ParameterError, QueryError
from .frontends.registration import CONTAINER, INDEX_KEY, register, register_when_msticnb_loads
from .moved import alias_moved_modules

__version__ = VERSION

#: Public names imported on first use, by the module that defines them.
_LAZY = {
    "AnomalousLogonUsers": "frontends.anomalous_logon_users",
    "AnomalousLogonUsersResult": "frontends.anomalous_logon_users",
    "Hunt": "pipeline",
    "hunt": "pipeline",
    "make_plots": "present.figures",
    "user_day_summary": "summarize.user_days",
    "account_day_summary": "summarize.account_days",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


alias_moved_modules()
register_when_msticnb_loads()

__all__ = [
    "CONTAINER",
    "INDEX_KEY",
    "AnomalousLogonUsers",
    "AnomalousLogonUsersResult",
    "AnomalousLogonsError",
    "Hunt",
    "InputDataError",
    "ParameterError",
    "QueryError",
    "account_day_summary",
    "hunt",
    "make_plots",
    "register",
    "user_day_summary",
]

"""
The notebooklet's self-test: ``run(..., self_test=True)`` or option ``self_test``.

After the real hunt, `attach_self_test` plants attacks into a copy of the raw
events the run read (`msticnb_iforest.selftest`), hunts that copy with the
run's options, and sets the result's ``self_test`` (the table) and
``self_test_figure``. The real result's tables never hold planted rows.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..errors import AnomalousLogonsError
from ..schema import is_raw_events

__all__ = ["SELF_TEST_KWARG", "attach_self_test", "wants_self_test"]

#: The ``run`` keyword (and option name) that asks for a self-test.
SELF_TEST_KWARG = "self_test"


def wants_self_test(options: Any, kwargs: dict[str, Any]) -> bool:
    """
    Tell whether a run asked for the self-test (option or keyword); remove the keyword.

    Examples
    --------
    >>> given = {"self_test": True}
    >>> wants_self_test(set(), given), given
    (True, {})

    """
    asked = bool(kwargs.pop(SELF_TEST_KWARG, False))
    return asked or SELF_TEST_KWARG in set(options or ())


def _raw_events(data: Any) -> pd.DataFrame | None:
    """Return the run's raw events as a frame (files are read), or None for a summary table."""
    from ..selftest.run import load_events
    from ..sources.readers import EventFiles

    if isinstance(data, EventFiles):
        return load_events(list(data.paths))
    if isinstance(data, pd.DataFrame) and is_raw_events(data):
        return data
    return None


def attach_self_test(result: Any, data: Any, options: dict[str, Any], show: bool = True) -> None:
    """
    Run the self-test on the run's raw events and attach it to `result`.

    Parameters
    ----------
    result : AnomalousLogonUsersResult
        Gains ``self_test`` (the table; its ``attrs["summary"]`` and
        ``attrs["notes"]`` hold the per-kind summary and the notes) and
        ``self_test_figure``. When the run had only per-user-day rows, a
        note says the self-test needs raw events and nothing else changes.
    data : pd.DataFrame or EventFiles
        What the real hunt read.
    options : dict
        The real hunt's options (`pipeline.hunt` keywords).
    show : bool, default True
        Display the summary and the figure (False when the run is silent).

    Examples
    --------
    >>> attach_self_test(result, events, {"hunt_days": 1})  # doctest: +SKIP

    """
    from msticnb.common import nb_display, nb_markdown

    from ..selftest.run import self_test, self_test_figure

    try:
        events = _raw_events(data)
        if events is None:
            result.notes.append(
                "Self-test not run: it needs raw logon events, and this run had only "
                "per-user-day rows (planted attacks must be summarized with the real events)."
            )
            return
        options = dict(options)
        if "random_state" in options:  # self_test's own random_state seeds the planting
            options["hunt_random_state"] = options.pop("random_state")
        found = self_test(events, **options)
    except AnomalousLogonsError as err:
        result.notes.append(f"Self-test not run: {err}")
        return
    table = found.table
    table.attrs["summary"] = found.summary
    table.attrs["notes"] = list(found.notes)
    result.self_test = table
    result.self_test_figure = self_test_figure(table)
    if show:
        caught = int(table["caught"].sum())
        nb_markdown(
            f"**Self-test**: {caught} of {int(table['id'].notna().sum())} planted attacks "
            "caught (a separate hunt of a copy with planted attacks; the results above "
            "hold none of them)."
        )
        nb_display(found.summary)
        nb_display(result.self_test_figure)

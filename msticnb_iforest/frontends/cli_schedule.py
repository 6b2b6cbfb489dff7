"""
The command line's options for a hunt run every morning: ``--only-new`` and ``--fail-on-new``.

``--only-new`` lists only the outliers and incidents whose status is
``new`` in outliers.csv, incidents.csv, the report and the closing summary,
while the counts (run.json, the report's counts line, the summary's status
line) still count the recurring and seen ones. ``--fail-on-new`` makes the
run end with exit status `EXIT_NEW` (3) when it has at least one new
incident, so that a scheduler or a pipeline can raise an alert; otherwise
the run ends with 0 as usual, and bad arguments still end with 2.

A hunt kept without a state store (no ``--state``) knows nothing of
earlier runs: every outlier and incident is new there.

This module imports nothing heavy at load time, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["EXIT_NEW", "EXIT_OK", "add_schedule_flags", "exit_status", "finish", "only_new"]

#: Exit status of a successful run.
EXIT_OK = 0
#: Exit status of a successful run with ``--fail-on-new`` and at least one new incident.
EXIT_NEW = 3


def add_schedule_flags(parser: argparse.ArgumentParser) -> None:
    """
    Add ``--only-new`` and ``--fail-on-new`` to a ``demo`` or ``run`` parser.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The subcommand's parser.

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_schedule_flags(parser)
    >>> vars(parser.parse_args(["--fail-on-new"]))
    {'only_new': False, 'fail_on_new': True}

    """
    parser.add_argument(
        "--only-new",
        action="store_true",
        help="list only the new outliers and incidents (status 'new') in the tables, the "
        "report and this summary; the counts still include the recurring and seen ones "
        "(without --state every one is new)",
    )
    parser.add_argument(
        "--fail-on-new",
        action="store_true",
        help=f"exit with status {EXIT_NEW} when the run has at least one new incident "
        f"(outputs are written first), else {EXIT_OK}; bad arguments still exit with 2",
    )


def exit_status(result: Any, args: argparse.Namespace) -> int:
    """
    Return the exit status of a finished run: `EXIT_NEW` for new incidents under ``--fail-on-new``.

    Parameters
    ----------
    result : Hunt
        The finished hunt; a missing status reads as new
        (`msticnb_iforest.present.status.status_summary`), and a result
        without incidents is judged by its outliers.
    args : argparse.Namespace
        The parsed command line (``fail_on_new``; absent means False).

    Returns
    -------
    int
        `EXIT_NEW` (3) or `EXIT_OK` (0).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> import pandas as pd
    >>> found = SimpleNamespace(outliers=pd.DataFrame({"status": ["seen"]}),
    ...                         incidents=pd.DataFrame({"status": ["new"]}))
    >>> exit_status(found, argparse.Namespace(fail_on_new=True))
    3
    >>> exit_status(found, argparse.Namespace(fail_on_new=False))
    0

    """
    if not getattr(args, "fail_on_new", False):
        return EXIT_OK
    from ..present.status import status_summary

    return EXIT_NEW if status_summary(result).new_incidents else EXIT_OK


def only_new(args: argparse.Namespace) -> bool:
    """
    Return whether the run lists only the new outliers and incidents (``--only-new``).

    Examples
    --------
    >>> only_new(argparse.Namespace(only_new=True)), only_new(argparse.Namespace())
    (True, False)

    """
    return bool(getattr(args, "only_new", False))


def finish(
    result: Any, paths: Mapping[str, Path], args: argparse.Namespace, extra: str = ""
) -> int:
    """
    Print the closing summary of a ``demo`` or ``run`` and return its exit status.

    Parameters
    ----------
    result : Hunt
        The finished hunt.
    paths : mapping of str to Path
        The files written (`msticnb_iforest.present.outputs.write_outputs`).
    args : argparse.Namespace
        The parsed command line (``quiet``, ``only_new``, ``fail_on_new``).
    extra : str, optional
        A sentence for after the counts (the demo's label match).

    Returns
    -------
    int
        `exit_status`: 3 under ``--fail-on-new`` with a new incident, else 0.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> import pandas as pd
    >>> days = pd.DataFrame({"DstDomain": ["C"], "DstUser": ["u"]})
    >>> found = SimpleNamespace(user_days=days, outliers=days.iloc[:0], feature_set="habits")
    >>> finish(found, {"report": Path("out/report.html")}, argparse.Namespace(quiet=True))
    0 outlier(s) among 1 user-days of 1 account(s) (feature set 'habits'). Report: out/report.html
    0

    """
    from ..present.remarks import summary_lines

    print("\n".join(summary_lines(result, paths, args.quiet, extra, only_new(args))))
    return exit_status(result, args)

"""
Command line: ``msticnb-iforest demo`` and ``msticnb-iforest run``.

``demo`` generates the seeded demo company's logon events and hunts them;
``run`` hunts events or per-user-day tables read from files. Both write
outliers.csv, incidents.csv, user_days.csv, report.html and run.json to
``--out``. Neither needs a Sentinel workspace or ``msticnb.init``.

Bad arguments and unusable input end with exit status 2 and one line on
stderr, ``msticnb-iforest: error: <message>``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._version import VERSION
from ..errors import ParameterError
from ..params import (
    DEFAULT_FEATURE_SET,
    MAX_ALERTS_PER_DAY,
    MAX_BASELINE_DAYS,
    MAX_DEMO_DAYS,
    MAX_DEMO_USERS,
    MAX_ESTIMATORS,
    MAX_EXPLAINED_LIMIT,
    MAX_HISTORY_DAYS,
    MAX_HUNT_DAYS,
    MAX_JOBS,
    MAX_PLOTS_LIMIT,
    PARAMETERS,
    default,
    window_time,
)
from ..present.display import safe_text
from . import cli_args, cli_state
from .sentinel_workspace import add_to_sentinel_flag

__all__ = ["main"]

PROG = "msticnb-iforest"


class _UsageError(Exception):
    """Bad command-line arguments (reported on one line, exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and do not exit."""

    def error(self, message: str):  # type: ignore[override]
        raise _UsageError(message)


class _Progress:
    """Print one-line stage messages to stderr, with the elapsed time."""

    def __init__(self, enabled: bool, started: float | None = None):
        self.enabled = enabled
        self.started = time.perf_counter() if started is None else started

    def __call__(self, message: str) -> None:
        if self.enabled:
            elapsed = time.perf_counter() - self.started
            print(f"[{elapsed:6.1f}s] {_printable(message)}", file=sys.stderr, flush=True)


def _hunt_options(parser: argparse.ArgumentParser) -> None:
    """
    Add the options that `demo` and `run` share.

    Types and defaults come from `params.PARAMETERS`, the table that also
    checks `hunt` and the notebooklet's parameters.
    """
    parser.add_argument(
        "--out",
        "-o",
        required=True,
        type=cli_args.out_folder,
        metavar="DIR",
        help="folder for the output files (replaced as a set; see the README)",
    )
    parser.add_argument(
        "--feature-set",
        type=cli_args.param_type("feature_set"),
        default=default("feature_set"),
        metavar="NAME",
        help=f"feature set: {PARAMETERS['feature_set'].allowed(cli=True)} (default "
        f"{DEFAULT_FEATURE_SET}; 'seed' reproduces the original hunting notebook)",
    )
    parser.add_argument(
        "--contamination",
        type=cli_args.contamination,
        default=default("contamination"),
        metavar="X",
        help="expected share of outliers among user-days, in (0, 0.5], or 'auto' "
        "(default: the feature set's own, 0.01; 0.005 for 'habits')",
    )
    parser.add_argument(
        "--n-estimators",
        type=cli_args.param_type("n_estimators", int),
        default=default("n_estimators"),
        metavar="N",
        help=f"trees in the forest, 1 to {MAX_ESTIMATORS:,} (default: the feature set's rule)",
    )
    parser.add_argument(
        "--random-state",
        type=cli_args.param_type("random_state", int),
        default=default("random_state"),
        metavar="N",
        help=f"model seed, 0 to 2**32-1 (default {default('random_state')})",
    )
    parser.add_argument(
        "--n-jobs",
        type=cli_args.param_type("n_jobs", int),
        default=default("n_jobs"),
        metavar="N",
        help=f"threads, 1 to {MAX_JOBS}, or -1 for every core, -2 all but one, ... "
        "(default: every core; results do not depend on it)",
    )
    _report_options(parser)
    from .cli_schedule import add_schedule_flags  # --only-new, --fail-on-new

    add_schedule_flags(parser)
    _output_options(parser, argparse.SUPPRESS)


def _report_options(parser: argparse.ArgumentParser) -> None:
    """Add the options that choose what is reported and explained (`demo` and `run`)."""
    parser.add_argument(
        "--account", default=None, metavar="NAME", help="report only this account's outliers"
    )
    parser.add_argument(
        "--no-shap",
        action="store_true",
        help="skip SHAP; rank features by how rare their values are instead",
    )
    parser.add_argument(
        "--allow-account",
        dest="allow_accounts",
        action="append",
        default=None,
        metavar="NAME",
        help="known-benign account (user, DOMAIN\\user or user@domain; * and ? are "
        "wildcards, e.g. 'CONTOSO\\svc-*'): scored but never reported, counted as "
        "suppressed; repeat for more",
    )
    parser.add_argument(
        "--min-history-days",
        type=cli_args.param_type("min_history_days", int),
        default=default("min_history_days"),
        metavar="N",
        help="other days an account needs before a day is compared with its usual "
        f"activity, 0 to {MAX_HISTORY_DAYS:,} (default 5; not used by the seed feature set)",
    )
    parser.add_argument(
        "--max-plots",
        type=cli_args.param_type("max_plots", int),
        default=default("max_plots"),
        metavar="N",
        help=f"most per-outlier and trend plots in the report, 0 to {MAX_PLOTS_LIMIT} "
        f"(default {default('max_plots')})",
    )
    parser.add_argument(
        "--max-explained",
        type=cli_args.param_type("max_explained", int, {"all": None}),
        default=default("max_explained"),
        metavar="N",
        help="most outliers given SHAP values and reasons, top by score, 0 to "
        f"{MAX_EXPLAINED_LIMIT:,} or 'all' (default {default('max_explained')})",
    )
    _schedule_options(parser)


def _schedule_options(parser: argparse.ArgumentParser) -> None:
    """Add the scheduled-hunt and alert-budget options (`demo` and `run`)."""
    helps = {
        "hunt_days": f"report only the last N days (1 to {MAX_HUNT_DAYS}), judged against the "
        "--baseline-days before them, as a scheduled rule does (default: every day of the "
        "window, each against the others)",
        "baseline_days": f"days before the hunted ones the model learns from, 1 to "
        f"{MAX_BASELINE_DAYS} (default {default('baseline_days')}; only with --hunt-days)",
        "max_alerts_per_day": "report at most N outliers per day, highest score first, 1 to "
        f"{MAX_ALERTS_PER_DAY:,}; the rest are counted as suppressed (default: no cap)",
    }
    for name, text in helps.items():
        flag = "--" + name.replace("_", "-")
        kind = cli_args.param_type(name, int)
        parser.add_argument(flag, type=kind, default=default(name), metavar="N", help=text)
    cli_state.add_state_option(parser)


def _output_options(parser: argparse.ArgumentParser, default: Any) -> None:
    """Add -q and -v (also accepted after the command name)."""
    parser.add_argument(
        "-q", "--quiet", action="store_true", default=default, help="print only the result line"
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default,
        help="show stage messages even when stderr is not a terminal",
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = _Parser(
        prog=PROG,
        description="Hunt anomalous Windows network-logon users with an Isolation Forest "
        "and write CSV tables, a self-contained HTML report and run.json.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {VERSION}")
    _output_options(parser, False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="hunt a generated demo log with labelled attacks",
        description="Generate the seeded demo company's logon events (with planted, "
        "labelled attacks), hunt them and write the outputs plus labels.csv.",
    )
    demo.add_argument(
        "--users",
        type=cli_args.param_type("demo_users", int),
        default=default("demo_users"),
        metavar="N",
        help=f"human users, 1 to {MAX_DEMO_USERS} (default {default('demo_users')})",
    )
    demo.add_argument(
        "--days",
        type=cli_args.param_type("demo_days", int),
        default=default("demo_days"),
        metavar="N",
        help=f"days of logs, 1 to {MAX_DEMO_DAYS} (default {default('demo_days')})",
    )
    demo.add_argument(
        "--seed",
        type=cli_args.param_type("demo_seed", int),
        default=default("demo_seed"),
        metavar="N",
        help=f"demo data seed, 0 to 2**32-1 (default {default('demo_seed')})",
    )
    _hunt_options(demo)

    run = commands.add_parser(
        "run",
        help="hunt logon events or per-user-day tables from files",
        description="Hunt raw SecurityEvent logon rows or per-user-day summary tables read "
        "from CSV or TSV (optionally gzipped), Parquet or JSON files (JSON lines, arrays or "
        "Log Analytics responses). A folder stands for the supported files in it.",
    )
    run.add_argument("inputs", nargs="+", metavar="INPUT", help="input file(s) or folder(s)")
    run.add_argument(
        "--start",
        metavar="TIME",
        help="keep data from this time (UTC unless an offset is given), e.g. 2024-03-01",
    )
    run.add_argument(
        "--end",
        metavar="TIME",
        help="keep data up to this time, inclusive; a bare date means the end of that day",
    )
    run.add_argument(
        "--max-bytes",
        type=cli_args.size,
        metavar="SIZE",
        help="most text per CSV/TSV/JSON file after decompression, e.g. 8G (default 4G)",
    )
    run.add_argument(
        "--max-rows",
        type=cli_args.positive,
        metavar="N",
        help="most rows per input file (default 1,000,000,000)",
    )
    run.add_argument(
        "--memory-limit",
        type=cli_args.param_type("memory_limit"),
        default=default("memory_limit"),
        metavar="SIZE",
        help="memory for summarizing raw-event files (Parquet, CSV, TSV, .evtx), e.g. 4G; "
        "past it the engine spills to a temporary folder (default 2G)",
    )
    _hunt_options(run)
    _other_commands(commands, demo, run)
    return parser


def _other_commands(commands: Any, demo: argparse.ArgumentParser, run: argparse.ArgumentParser):
    """Add the commands kept in modules of their own: selftest, state, verdict; --to-sentinel."""
    for command in (demo, run):
        add_to_sentinel_flag(command)  # always a usage error: no workspace here
    from .cli_selftest import add_selftest_parser

    add_selftest_parser(commands)
    cli_state.add_commands(commands)


def _printable(value: Any, width: int | None = None) -> str:
    """Make a data value safe to print on a terminal (`display.safe_text`)."""
    return safe_text(value, width or None)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Print a Python warning as one line with control characters escaped."""
    text = _printable(" ".join(str(message).split()), 1000)
    print(f"{PROG}: warning: {text} ({category.__name__})", file=file or sys.stderr)


def _with_warnings_shown_safely(command, args: argparse.Namespace, *rest: Any) -> int:
    """
    Run a command with Python warnings printed by `_show_warning`; none with -q.

    Warnings may quote the data (matplotlib names a glyph it cannot draw), so
    each is one line with control characters escaped. The previous warning
    settings are restored afterwards.
    """
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        if args.quiet:
            warnings.simplefilter("ignore")
        return command(args, *rest)


def hunt_keywords(args: argparse.Namespace, start: Any = None, end: Any = None) -> dict[str, Any]:
    """Return the `hunt` keywords the command line's hunt options give (all but data, progress)."""
    return {
        "feature_set": args.feature_set,
        "contamination": args.contamination,
        "n_estimators": args.n_estimators,
        "random_state": args.random_state,
        "account": args.account,
        "shap": not args.no_shap,
        "max_explained": args.max_explained,
        "n_jobs": args.n_jobs,
        "allow_accounts": args.allow_accounts,
        "min_history_days": args.min_history_days,
        "start": start,
        "end": end,
        "memory_limit": getattr(args, "memory_limit", None),
        "hunt_days": args.hunt_days,
        "baseline_days": args.baseline_days,
        "max_alerts_per_day": args.max_alerts_per_day,
        "state": args.state,
    }


def _hunt(data, args: argparse.Namespace, progress: _Progress, start=None, end=None):
    """Run the hunt (on a frame or `EventFiles`) and draw the plots; return (Hunt, Figures)."""
    from ..pipeline import hunt
    from ..present.figures import make_plots

    result = hunt(data, progress=progress, **hunt_keywords(args, start, end))
    progress(f"Drawing plots (up to {args.max_plots} per kind)")
    begin = time.perf_counter()
    figures = make_plots(result, histogram=True, max_plots=args.max_plots, as_png=True)
    result.timings["plots"] = round(time.perf_counter() - begin, 4)
    return result, figures


def _run_info(args: argparse.Namespace, argv: Sequence[str], **extra: Any) -> dict[str, Any]:
    only_new = getattr(args, "only_new", False)  # --only-new: run.json and write_outputs
    return {"command": " ".join([PROG, *argv]), "only_new": only_new, **extra}


def _check_out(folder: str, inputs: Sequence[str] = ()) -> None:
    """Fail early (before any work) if the output folder cannot be used."""
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"--out {folder}: exists and is not a folder.")
    for given in (Path(name) for name in inputs):
        if given.is_dir() and _is_within(path, given):
            raise ParameterError(
                f"--out {folder} is inside the input folder {given}: the next run would read "
                "this run's user_days.csv as input; write the outputs elsewhere."
            )
    existing = next(p for p in [path, *path.parents] if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(f"--out {folder}: cannot write in {existing}.")


def _is_within(path: Path, folder: Path) -> bool:
    """Tell whether `path` is `folder` or under it (False when a link cannot be followed)."""
    try:
        inner, outer = path.resolve(), folder.resolve()
    except (OSError, RuntimeError):  # a link loop: OutputFolder refuses it with its own message
        return False
    return inner == outer or outer in inner.parents


def _cmd_demo(args: argparse.Namespace, argv: Sequence[str], progress: _Progress, folder) -> int:
    import pandas as pd

    from ..present.outputs import write_outputs
    from ..sources.demo import generate_demo, match_labels
    from .cli_schedule import finish

    progress(f"Generating demo logons: {args.users} users, {args.days} days, seed {args.seed}")
    begin = time.perf_counter()
    demo = generate_demo(n_users=args.users, n_days=args.days, seed=args.seed)
    generate_s = round(time.perf_counter() - begin, 4)
    result, figures = _hunt(demo.events, args, progress)
    result.timings = {"generate": generate_s, **result.timings}
    match = match_labels(result.outliers, demo.labels)
    info = _run_info(
        args,
        argv,
        title="Anomalous logon users: demo data",
        inputs=[{"path": "generated demo events", "rows": len(demo.events), "format": "demo"}],
        window={"start": demo.start, "end": demo.end - pd.Timedelta(1, "ns")},
        demo={"users": args.users, "days": args.days, "seed": args.seed, **match},
    )
    progress(f"Writing outputs to {_printable(args.out)}")
    paths = write_outputs(
        result, folder, figures=figures, run_info=info, started=progress.started, labels=demo.labels
    )
    folder.publish()
    found = (
        f"Labelled attack user-days among the outliers: {match['labelled_in_outliers']:,} of "
        f"{match['labelled_user_days']:,} (labels.csv lists them)."
    )
    return finish(result, paths, args, found)


def _window(args: argparse.Namespace) -> tuple[Any, Any]:
    """Return the --start and --end times as UTC timestamps (None where not given)."""
    start = window_time(args.start, "--start")
    end = window_time(args.end, "--end", end=True)
    if start is not None and end is not None and start > end:
        raise ParameterError(f"--start ({args.start}) is after --end ({args.end}).")
    return start, end


def _cmd_run(args: argparse.Namespace, argv: Sequence[str], progress: _Progress, folder) -> int:
    from ..present.outputs import write_outputs
    from ..schema import collect_input_notes
    from ..sources.readers import scan_tables
    from .cli_schedule import finish

    start, end = args.window
    progress(f"Reading {len(args.inputs)} file(s)")
    begin = time.perf_counter()
    limits = {"max_bytes": args.max_bytes, "max_rows": args.max_rows}
    with collect_input_notes() as file_notes:  # e.g. what an event log held besides logons
        # raw events stay in their files (summarized there); other tables are read here
        data, files = scan_tables(args.inputs, **{k: v for k, v in limits.items() if v})
    read_s = round(time.perf_counter() - begin, 4)
    result, figures = _hunt(data, args, progress, start, end)
    result.timings = {"read": read_s, **result.timings}
    result.notes[:0] = [note for note in file_notes if note not in result.notes]
    window = None
    if start is not None or end is not None:
        window = {"start": start, "end": end}
    info = _run_info(args, argv, inputs=files or result.input_files, window=window)
    progress(f"Writing outputs to {_printable(args.out)}")
    paths = write_outputs(result, folder, figures=figures, run_info=info, started=progress.started)
    folder.publish()
    return finish(result, paths, args)


def _one_line(error: BaseException) -> str:
    """Return an error message as one printable line (no control characters)."""
    text = _printable(" ".join(str(error).split()), 1000)
    return text or type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """
    Run the command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success (3 with --fail-on-new and a new incident), 2 for bad
        arguments or unusable input, 130 when interrupted.

    """
    started = time.perf_counter()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            raise _UsageError("choose a command: demo or run (see --help)")
    except _UsageError as err:
        print(f"{PROG}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except SystemExit as stop:  # --help and --version
        return stop.code if isinstance(stop.code, int) else 0
    if args.command in cli_state.COMMANDS:
        return cli_state.run_command(args)
    try:  # dates need pandas, but nothing heavier, to be checked
        args.window = _window(args) if args.command in ("run", "selftest") else (None, None)
    except ParameterError as err:
        print(f"{PROG}: error: {_one_line(err)}", file=sys.stderr)
        return 2

    import matplotlib

    from ..errors import AnomalousLogonsError
    from ..present.outputs import OutputFolder

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    progress = _Progress(not args.quiet and (args.verbose or sys.stderr.isatty()), started)
    if args.command == "selftest":  # writes its own files (frontends/cli_selftest.py)
        from .cli_selftest import run_selftest

        return _with_warnings_shown_safely(run_selftest, args, progress)
    command = _cmd_demo if args.command == "demo" else _cmd_run
    try:
        _check_out(args.out, args.inputs if args.command == "run" else ())
        with OutputFolder(args.out) as folder:  # held from here: a second run stops now
            return _with_warnings_shown_safely(command, args, argv, progress, folder)
    except (AnomalousLogonsError, OSError) as err:
        print(f"{PROG}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except MemoryError:  # the output folder is left as it was (OutputFolder)
        print(
            f"{PROG}: error: not enough memory for this input (the files in "
            f"{_printable(args.out)} are unchanged); give less data (--start/--end, fewer "
            "files) or run where more memory is available",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""
Command line: ``msticnb-iforest demo`` and ``msticnb-iforest run``.

``demo`` generates the seeded demo company's logon events and hunts them;
``run`` hunts events or per-user-day tables read from files. Both write
outliers.csv, user_days.csv, report.html and run.json to ``--out``. Neither
needs a Sentinel workspace or ``msticnb.init``.

Bad arguments and unusable input end with exit status 2 and one line on
stderr, ``msticnb-iforest: error: <message>``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._version import VERSION
from .features import DEFAULT_FEATURE_SET, FEATURE_SETS
from .pipeline import DEFAULT_MAX_PLOTS

__all__ = ["main"]

PROG = "msticnb-iforest"

#: Outliers listed in the closing summary.
_TOP_SHOWN = 5


class _UsageError(Exception):
    """Bad command-line arguments (reported on one line, exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and do not exit."""

    def error(self, message: str):  # type: ignore[override]
        raise _UsageError(message)


class _Progress:
    """Print one-line stage messages to stderr, with the elapsed time."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._start = time.perf_counter()

    def __call__(self, message: str) -> None:
        if self.enabled:
            elapsed = time.perf_counter() - self._start
            print(f"[{elapsed:6.1f}s] {message}", file=sys.stderr, flush=True)


def _contamination(text: str) -> float | str:
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a number in (0, 0.5] or 'auto', got {text!r}"
        ) from None


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _positive(text: str) -> int:
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be 1 or more, got 0")
    return value


def _size(text: str) -> int:
    from .errors import ParameterError
    from .readers import parse_size

    try:
        return parse_size(text)
    except ParameterError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _hunt_options(parser: argparse.ArgumentParser) -> None:
    """Add the options that `demo` and `run` share."""
    parser.add_argument(
        "--out", "-o", required=True, metavar="DIR", help="folder for the output files"
    )
    parser.add_argument(
        "--feature-set",
        default=None,
        metavar="NAME",
        help=f"feature set: {', '.join(sorted(FEATURE_SETS))} (default {DEFAULT_FEATURE_SET}; "
        "'seed' reproduces the original hunting notebook)",
    )
    parser.add_argument(
        "--contamination",
        type=_contamination,
        default=0.01,
        metavar="X",
        help="expected share of outliers among user-days, or 'auto' (default 0.01)",
    )
    parser.add_argument(
        "--n-estimators",
        type=_positive,
        default=None,
        metavar="N",
        help="trees in the forest (default: the feature set's rule)",
    )
    parser.add_argument(
        "--random-state", type=int, default=42, metavar="N", help="model seed (default 42)"
    )
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
        type=_non_negative,
        default=None,
        metavar="N",
        help="other days an account needs before a day is compared with its usual "
        "activity (default 5; not used by the seed feature set)",
    )
    parser.add_argument(
        "--max-plots",
        type=_non_negative,
        default=DEFAULT_MAX_PLOTS,
        metavar="N",
        help=f"most per-outlier and trend plots in the report (default {DEFAULT_MAX_PLOTS})",
    )
    _output_options(parser, argparse.SUPPRESS)


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
    demo.add_argument("--users", type=_positive, default=150, metavar="N", help="human users")
    demo.add_argument("--days", type=_positive, default=21, metavar="N", help="days of logs")
    demo.add_argument("--seed", type=int, default=7, metavar="N", help="demo data seed")
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
        type=_size,
        metavar="SIZE",
        help="most text per CSV/TSV/JSON file after decompression, e.g. 8G (default 4G)",
    )
    run.add_argument(
        "--max-rows",
        type=_positive,
        metavar="N",
        help="most rows per input file (default 1,000,000,000)",
    )
    _hunt_options(run)
    return parser


def _parse_time(text: str | None, option: str, *, end: bool = False):
    """Parse --start/--end to a UTC timestamp (None if not given)."""
    import pandas as pd

    from .errors import ParameterError

    if text is None:
        return None
    try:
        stamp = pd.Timestamp(text.strip())
    except (ValueError, TypeError):
        stamp = pd.NaT
    if pd.isna(stamp):
        raise ParameterError(f"{option} must be a date or time such as 2024-03-01, got {text!r}.")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    if end and re.fullmatch(r"\s*\d{4}-\d{1,2}-\d{1,2}\s*", text):
        stamp = stamp + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
    return stamp


def _printable(value: Any, width: int | None = None) -> str:
    """Make a data value safe to print on a terminal (no control characters)."""
    text = "".join(
        f"\\x{ord(ch):02x}" if unicodedata.category(ch).startswith("C") else ch for ch in str(value)
    )
    if width and len(text) > width:
        text = text[: width - 1] + "…"
    return text


def _window_table(
    data, start, end, timings: dict[str, float], progress: _Progress, feature_set=None
):
    """Make a per-user-day table from `data`, keeping the window; return it and drops."""
    from . import summarize
    from .features import get_feature_set
    from .schema import is_summary_table, prepare_summary

    if is_summary_table(data):
        if start is None and end is None:
            return data, {}
        table, dropped = prepare_summary(data, return_dropped=True)
        keep = table["Date"].between(
            start.tz_localize(None).normalize() if start is not None else table["Date"].min(),
            end.tz_localize(None) if end is not None else table["Date"].max(),
        )
        outside = int((~keep).sum())
        return table[keep], {**dropped, **({"out_of_range": outside} if outside else {})}
    if summarize.is_raw_events(data):
        progress(f"Summarizing {len(data):,} logon events per account and day")
        begin = time.perf_counter()
        fset = get_feature_set(feature_set)
        table, dropped = fset.summarize_events(data, start=start, end=end)
        timings["summarize"] = round(time.perf_counter() - begin, 4)
        return table, dict(dropped)
    return data, {}  # hunt() names the missing columns


def _hunt(data, args: argparse.Namespace, progress: _Progress, start=None, end=None):
    """Run the hunt and draw the plots; return (Hunt, figures)."""
    from .pipeline import hunt, make_plots
    from .schema import collect_input_notes

    timings: dict[str, float] = {}
    with collect_input_notes() as read_notes:
        table, dropped = _window_table(data, start, end, timings, progress, args.feature_set)
    result = hunt(
        table,
        feature_set=args.feature_set,
        contamination=args.contamination,
        n_estimators=args.n_estimators,
        random_state=args.random_state,
        account=args.account,
        shap=not args.no_shap,
        progress=progress,
        allow_accounts=args.allow_accounts,
        min_history_days=args.min_history_days,
    )
    result.dropped = {**dropped, **result.dropped}
    result.notes = read_notes + result.notes
    progress(f"Drawing plots (up to {args.max_plots} per kind)")
    begin = time.perf_counter()
    figures = make_plots(result, histogram=True, max_plots=args.max_plots)
    plots_s = round(time.perf_counter() - begin, 4)
    result.timings = {**timings, **result.timings, "plots": plots_s}
    return result, figures


def _run_info(args: argparse.Namespace, argv: Sequence[str], **extra: Any) -> dict[str, Any]:
    info = {
        "command": " ".join([PROG, *argv]),
        "plot_cap": args.max_plots,
    }
    info.update(extra)
    return info


def _check_out(folder: str) -> None:
    """Fail early (before any work) if the output folder cannot be used."""
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"--out {folder}: exists and is not a folder.")
    existing = next(p for p in [path, *path.parents] if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(f"--out {folder}: cannot write in {existing}.")


def _write(result, figures, args, info, progress: _Progress) -> dict[str, Path]:
    from .outputs import write_outputs

    progress(f"Writing outputs to {args.out}")
    return write_outputs(result, args.out, figures=figures, run_info=info)


def _summary_lines(result, paths: dict[str, Path], quiet: bool, extra: str = "") -> list[str]:
    outliers = result.outliers
    n_days = len(result.user_days)
    accounts = 0
    if n_days:
        accounts = len(result.user_days[["DstDomain", "DstUser"]].drop_duplicates())
    head = (
        f"{len(outliers):,} outlier(s) among {n_days:,} user-days of {accounts:,} account(s) "
        f"(feature set '{result.feature_set}')."
    )
    if quiet:
        return [" ".join(filter(None, [head, extra, f"Report: {paths['report']}"]))]
    lines = [head, extra] if extra else [head]
    expl = result.explanations
    for rank, (idx, row) in enumerate(outliers.head(_TOP_SHOWN).iterrows(), start=1):
        reason = expl.loc[idx, "reason"] if "reason" in expl.columns and idx in expl.index else ""
        account = _printable(f"{row['DstDomain']}\\{row['DstUser']}", 40)
        lines.append(
            f"  {rank}. {row['Date']:%Y-%m-%d}  {account}  score {row['score']:.4f}  "
            f"{_printable(reason, 110)}"
        )
    if len(outliers) > _TOP_SHOWN:
        lines.append(f"  ... and {len(outliers) - _TOP_SHOWN:,} more in outliers.csv")
    held = sum(result.suppressed.values())
    if held:
        lines.append(f"Suppressed {held:,} model outlier(s): {_counts_text(result.suppressed)}.")
    dropped = sum(result.dropped.values())
    if dropped:
        lines.append(f"Dropped {dropped:,} input row(s): {_counts_text(result.dropped)}.")
    for note in result.notes:
        lines.append(f"Note: {_printable(note)}")
    folder = paths["report"].parent
    names = ", ".join(path.name for path in paths.values())
    lines.append(f"Files in {folder}: {names}")
    return lines


def _counts_text(counts: dict[str, int]) -> str:
    return "; ".join(f"{_printable(reason)} {int(n):,}" for reason, n in counts.items() if n)


def _cmd_demo(args: argparse.Namespace, argv: Sequence[str], progress: _Progress) -> int:
    import pandas as pd

    from .demo import generate_demo, match_labels

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
    paths = _write(result, figures, args, info, progress)
    labels_path = Path(args.out) / "labels.csv"
    labels = demo.labels.copy()
    labels["Date"] = labels["Date"].dt.strftime("%Y-%m-%d")
    labels.to_csv(labels_path, index=False)
    paths["labels"] = labels_path
    found = (
        f"Labelled attack user-days among the outliers: {match['labelled_in_outliers']:,} of "
        f"{match['labelled_user_days']:,} (labels.csv lists them)."
    )
    print("\n".join(_summary_lines(result, paths, args.quiet, found)))
    return 0


def _cmd_run(args: argparse.Namespace, argv: Sequence[str], progress: _Progress) -> int:
    from .readers import read_tables

    start = _parse_time(args.start, "--start")
    end = _parse_time(args.end, "--end", end=True)
    if start is not None and end is not None and start > end:
        from .errors import ParameterError

        raise ParameterError(f"--start ({args.start}) is after --end ({args.end}).")
    progress(f"Reading {len(args.inputs)} file(s)")
    begin = time.perf_counter()
    limits = {"max_bytes": args.max_bytes, "max_rows": args.max_rows}
    data, files = read_tables(args.inputs, **{k: v for k, v in limits.items() if v})
    read_s = round(time.perf_counter() - begin, 4)
    result, figures = _hunt(data, args, progress, start, end)
    result.timings = {"read": read_s, **result.timings}
    window = None
    if start is not None or end is not None:
        window = {"start": start, "end": end}
    info = _run_info(args, argv, inputs=files, window=window)
    paths = _write(result, figures, args, info, progress)
    print("\n".join(_summary_lines(result, paths, args.quiet)))
    return 0


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
        0 on success, 2 for bad arguments or unusable input, 130 when
        interrupted.

    """
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

    import matplotlib

    from .errors import AnomalousLogonsError
    from .features import get_feature_set
    from .model import check_contamination

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    progress = _Progress(not args.quiet and (args.verbose or sys.stderr.isatty()))
    command = _cmd_demo if args.command == "demo" else _cmd_run
    try:
        get_feature_set(args.feature_set)  # fail before reading or generating anything
        check_contamination(args.contamination)
        _check_out(args.out)
        return command(args, argv, progress)
    except (AnomalousLogonsError, OSError) as err:
        print(f"{PROG}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

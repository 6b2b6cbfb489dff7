"""
Command line: ``msticnb-iforest selftest INPUT... --out FOLDER``.

Plants synthetic attacks into a copy of the raw logon events read from
INPUT (as ``run`` reads them), hunts the copy with the given hunt options,
prints which attacks were caught and their rank, and writes
``selftest.csv``, ``selftest.png`` and ``selftest.html`` into ``--out``
(each atomically; other files there are left alone).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["add_selftest_parser", "run_selftest"]


def _names(allowed: Sequence[str], what: str):
    """Return an argparse type for a comma-separated list of `allowed` names."""

    def convert(text: str) -> list[str]:
        names = [name.strip() for name in text.split(",") if name.strip()]
        wrong = [name for name in names if name not in allowed]
        if wrong or not names:
            raise argparse.ArgumentTypeError(
                f"must be {what} among {', '.join(allowed)}, got {text!r}"
            )
        return names

    return convert


def add_selftest_parser(commands: Any) -> argparse.ArgumentParser:
    """
    Add the ``selftest`` subcommand to the command line's subparsers.

    Examples
    --------
    >>> from msticnb_iforest.frontends.cli import build_parser
    >>> build_parser().parse_args(["selftest", "x.csv", "--out", "o"]).command
    'selftest'

    """
    from ..selftest.names import INTENSITIES, KINDS
    from .cli import _hunt_options
    from .cli_args import param_type, positive, size

    parser = commands.add_parser(
        "selftest",
        help="plant synthetic attacks in a copy of your events and see which the hunt catches",
        description="Plant brute force, spray, lateral movement and other attacks on the "
        "accounts, servers and addresses of your own raw logon events (a copy), hunt the "
        "copy with the same options as 'run', and write selftest.csv, selftest.png and "
        "selftest.html. The real results are not touched.",
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="raw event file(s) or folder(s)")
    parser.add_argument("--start", metavar="TIME", help="keep data from this time (as in run)")
    parser.add_argument("--end", metavar="TIME", help="keep data up to this time (as in run)")
    parser.add_argument("--max-bytes", type=size, metavar="SIZE", help="as in run")
    parser.add_argument("--max-rows", type=positive, metavar="N", help="as in run")
    parser.add_argument(
        "--kinds",
        type=_names(KINDS, "attack kinds"),
        default=None,
        metavar="K1,K2",
        help="attack kinds to plant (default: all): " + ", ".join(KINDS),
    )
    parser.add_argument(
        "--intensities",
        type=_names(tuple(INTENSITIES), "intensities"),
        default=list(INTENSITIES),
        metavar="I1,I2",
        help="intensities to plant, among low, medium, high (default: all three)",
    )
    parser.add_argument(
        "--seed",
        type=param_type("demo_seed", int),
        default=0,
        metavar="N",
        help="seed of the planted attacks (default 0)",
    )
    parser.add_argument(
        "--together",
        action="store_true",
        help="hunt every planted attack in one hunt (faster; they compete for the threshold)",
    )
    _hunt_options(parser)
    return parser


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """
    Return the hunt options given on the command line: those of `run` (`cli.hunt_keywords`).

    The hunt's own seed goes as ``hunt_random_state`` (``--seed`` seeds the planting); the
    options the self-test sets itself (account, SHAP, explanations, memory, state) are left out.
    """
    from .cli import hunt_keywords

    options = hunt_keywords(args, *args.window)
    options["hunt_random_state"] = options.pop("random_state")
    for name in ("account", "shap", "max_explained", "memory_limit", "state"):
        options.pop(name)
    return options


def run_selftest(args: argparse.Namespace, progress: Any) -> int:
    """
    Run the ``selftest`` command; return its exit status (0, or 2 with one line on stderr).

    Examples
    --------
    >>> from msticnb_iforest.frontends.cli import main
    >>> main(["selftest", "events.csv", "--out", "out/selftest"])  # doctest: +SKIP
    0

    """
    from ..errors import AnomalousLogonsError
    from ..selftest.output import write_self_test
    from ..selftest.run import load_events, self_test
    from .cli import PROG, _one_line, _printable

    try:
        progress(f"Reading {len(args.inputs)} input(s)")
        limits = {"max_bytes": args.max_bytes, "max_rows": args.max_rows}
        events = load_events(args.inputs, **limits)
        found = self_test(
            events,
            kinds=args.kinds,
            intensities=args.intensities,
            random_state=args.seed,
            together=args.together,
            progress=progress,
            **_options(args),
        )
        progress(f"Writing the self-test files to {_printable(args.out)}")
        paths = write_self_test(found, args.out)
    except (AnomalousLogonsError, OSError) as err:
        print(f"{PROG}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    if not args.quiet:
        shown = found.table.drop(columns=["threshold", "note"])
        for frame in (shown, found.summary):
            for line in frame.to_string(index=False, na_rep="-").splitlines():
                print(_printable(line, 1000))
            print()
        for note in found.notes:
            print(f"note: {_printable(note)}")
    caught = int(found.table["caught"].sum())
    planted = int(found.table["id"].notna().sum())
    print(f"Self-test: {caught} of {planted} planted attacks caught; wrote "
          + ", ".join(str(p) for p in paths.values()))  # fmt: skip
    return 0

"""
Command line of the state store: ``state show|export|prune`` and ``verdict``.

``msticnb-iforest run ... --state PATH`` (and ``demo``) remembers each run in
a SQLite file; these commands read and tend that file:

* ``state show --state PATH``: the runs, their counts and the active verdicts;
* ``state export --state PATH --out FILE.json``: every table as JSON;
* ``state prune --state PATH (--keep-runs N | --before DATE) [--verdicts]``:
  drop old runs with their findings and incidents (and old verdicts);
* ``verdict --state PATH (--finding ID ... | --incident N [--run RUN_ID])
  (--benign | --malicious) [--note TEXT] [--scope day|evidence|account]``:
  record an analyst's verdict (see `msticnb_iforest.state.memory`).

None of them creates a store: a missing file is a usage error (exit 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import AnomalousLogonsError, ParameterError
from ..params import PARAMETERS, short_repr, window_time
from ..present.display import safe_text
from . import cli_args

__all__ = ["COMMANDS", "add_commands", "add_state_option", "run_command"]

PROG = "msticnb-iforest"

#: The commands this module runs.
COMMANDS = ("state", "verdict")


def _store_path(text: str) -> str:
    try:
        return PARAMETERS["state"].check(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must name a file, got {short_repr(text)}") from None


def add_state_option(parser: argparse.ArgumentParser) -> None:
    """
    Add ``--state PATH`` (the hunt's ``state``) to `parser` (``run`` and ``demo``).

    Examples
    --------
    >>> add_state_option(argparse.ArgumentParser())

    """
    parser.add_argument(
        "--state",
        type=_store_path,
        default=PARAMETERS["state"].default,
        metavar="PATH",
        help="SQLite file remembering earlier runs and analyst verdicts (created when "
        "missing): outliers marked benign are not reported, the others are new, recurring "
        "or seen",
    )


def _required_store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state", required=True, type=_store_path, metavar="PATH", help="the state store"
    )


def add_commands(commands: Any) -> None:
    """
    Add the ``state`` and ``verdict`` commands to the command line's subparsers.

    Examples
    --------
    >>> add_commands(argparse.ArgumentParser().add_subparsers())

    """
    state = commands.add_parser(
        "state",
        help="show, export or prune a state store (--state of run and demo)",
        description="Read and tend the state store of scheduled hunts.",
    )
    actions = state.add_subparsers(dest="state_command", metavar="ACTION")
    actions.required = True
    show = actions.add_parser("show", help="list the runs, their counts and active verdicts")
    _required_store(show)
    export = actions.add_parser("export", help="write runs, findings, incidents, verdicts")
    _required_store(export)
    export.add_argument("--out", required=True, metavar="FILE.json", help="the JSON file")
    prune = actions.add_parser("prune", help="drop old runs (and, asked, old verdicts)")
    _required_store(prune)
    which = prune.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--keep-runs", type=cli_args.positive, metavar="N", help="keep the latest N runs"
    )
    which.add_argument("--before", metavar="DATE", help="drop the runs started before DATE")
    prune.add_argument(
        "--verdicts", action="store_true", help="also drop the verdicts older than the runs kept"
    )
    _verdict_command(commands)


def _verdict_command(commands: Any) -> None:
    verdict = commands.add_parser(
        "verdict",
        help="record an analyst's verdict on findings of a run",
        description="Record a benign or malicious verdict on findings (ids from the "
        "outliers' finding column) or on an incident of a run (the latest by default).",
    )
    _required_store(verdict)
    what = verdict.add_mutually_exclusive_group(required=True)
    what.add_argument("--finding", nargs="+", metavar="ID", help="finding id(s)")
    what.add_argument("--incident", type=cli_args.positive, metavar="N", help="an incident number")
    verdict.add_argument(
        "--run", type=cli_args.positive, metavar="RUN_ID", help="the run of --incident"
    )
    said = verdict.add_mutually_exclusive_group(required=True)
    said.add_argument("--benign", dest="verdict", action="store_const", const="benign")
    said.add_argument("--malicious", dest="verdict", action="store_const", const="malicious")
    verdict.add_argument("--note", default="", metavar="TEXT", help="why")
    verdict.add_argument(
        "--scope",
        choices=("day", "evidence", "account"),
        default="evidence",
        help="what a benign verdict hides later: that account-day, that account with the "
        "same evidence (default), or that account unless it shows a new named source",
    )
    verdict.add_argument("--analyst", default=None, metavar="NAME", help="who says so")


def _text(value: Any, width: int = 60) -> str:
    return safe_text("" if value is None else value, width)


def _table(rows: list[dict[str, Any]], columns: list[str]) -> list[str]:
    """Format rows as a plain text table (values made printable)."""
    cells = [[_text(row.get(name)) for name in columns] for row in rows]
    widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(columns)]
    lines = ["  ".join(name.ljust(w) for name, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return [line.rstrip() for line in lines]


def _show(store: Any) -> int:
    runs = store.runs()
    print(f"State store {_text(str(store.path), 200)}: {len(runs)} run(s)")
    if len(runs):
        runs = runs.assign(
            days=runs["data_start"].fillna("") + " to " + runs["data_end"].fillna(""),
            verdicts=runs["verdict_suppressed"],
        )
        columns = [
            "id",
            "started",
            "version",
            "days",
            "hunt_start",
            "user_days",
            "outliers",
            "incidents",
        ]
        columns += ["new", "recurring", "seen", "verdicts"]
        print("\n".join(_table(runs.to_dict("records"), columns)))
    verdicts = store.verdicts()
    print(f"\nActive verdicts: {len(verdicts)}")
    if len(verdicts):
        columns = [
            "id",
            "created",
            "verdict",
            "scope",
            "account",
            "day",
            "finding",
            "note",
            "analyst",
        ]
        print("\n".join(_table(verdicts.to_dict("records"), columns)))
    return 0


def _write_json(path: Path, content: Any) -> None:
    """Write JSON to `path` atomically (`present.folder.write_file_atomically`)."""
    from ..present.folder import write_file_atomically  # pandas: not for --help

    folder = path.parent if str(path.parent) else Path(".")
    text = json.dumps(content, indent=1)
    write_file_atomically(folder / path.name, text.encode("utf-8"))


def _export(store: Any, out: str) -> int:
    content = store.export()
    _write_json(Path(out), content)
    sizes = ", ".join(f"{len(rows)} {name}" for name, rows in content.items())
    print(f"Wrote {_text(out, 200)}: {sizes}.")
    return 0


def _prune(store: Any, args: argparse.Namespace) -> int:
    before = None
    if args.before is not None:
        stamp = window_time(args.before, "--before")
        before = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    dropped = store.prune(keep_runs=args.keep_runs, before=before, verdicts=args.verdicts)
    print("Dropped " + ", ".join(f"{n} {name}" for name, n in dropped.items()) + ".")
    return 0


def _verdict(store: Any, args: argparse.Namespace) -> int:
    from ..state.step import verdict_rows

    findings, run_id = args.finding, args.run
    if args.incident is not None:
        run_id = args.run if args.run is not None else store.latest_run()
        if run_id is None:
            raise ParameterError(f"--incident: the store {store.path} holds no run.")
        incidents = store.incidents(run_id)
        chosen = incidents[incidents["number"] == args.incident]
        if chosen.empty:
            raise ParameterError(
                f"--incident {args.incident}: run {run_id} has no such incident "
                f"(it has {len(incidents)})."
            )
        findings = list(chosen["members"].iloc[0])
    elif args.run is not None:
        raise ParameterError("--run goes with --incident (a finding id names its run).")
    written = verdict_rows(
        store,
        findings,
        verdict=args.verdict,
        scope=args.scope,
        note=args.note,
        analyst=args.analyst,
        run_id=run_id,
    )
    print(f"Recorded {len(written)} {args.verdict} verdict(s), scope {args.scope}:")
    columns = ["id", "verdict", "scope", "account", "day", "finding", "evidence", "note"]
    print("\n".join(_table(written.to_dict("records"), columns)))
    return 0


def run_command(args: argparse.Namespace) -> int:
    """
    Run ``state`` or ``verdict`` (parsed `args`); return the exit status.

    0 on success; 2, with one line on stderr, for a missing or unusable
    store, an unknown finding or incident, or a file that cannot be written.

    Examples
    --------
    >>> args = build_parser().parse_args(["state", "show", "--state", "s.db"])  # doctest: +SKIP
    >>> run_command(args)  # doctest: +SKIP
    0

    """
    from ..state import StateStore

    try:
        with StateStore(args.state, create=False) as store:
            if args.command == "verdict":
                return _verdict(store, args)
            if args.state_command == "show":
                return _show(store)
            if args.state_command == "export":
                return _export(store, args.out)
            return _prune(store, args)
    except (AnomalousLogonsError, OSError) as err:
        text = safe_text(" ".join(str(err).split()), 1000) or type(err).__name__
        print(f"{PROG}: error: {text}", file=sys.stderr)
        return 2

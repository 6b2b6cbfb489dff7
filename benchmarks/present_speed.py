"""
Time the command line's fixed costs after a hunt: drawing the plots and writing the outputs.

Usage::

    python benchmarks/present_speed.py --rows 100k                # hunt, then time both
    python benchmarks/present_speed.py --rows 1M --repeat 3 --out /tmp/present-1M
    python benchmarks/present_speed.py --rows 100k --profile plots  # cProfile one stage

A synthetic account-day table (``_synth.user_days``) is hunted once with
default options (the hunt is cached as a pickle under ``--cache``, so later
runs skip it); then ``make_plots(result, histogram=True, max_plots=10,
as_png=True)`` and ``write_outputs`` are timed as the command line's
``run`` calls them, ``--repeat`` times each, and the best and every time
are printed with the load average. With ``--out`` the last outputs are kept
there, to compare the files of two versions of the package.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pickle
import pstats
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def parse_count(text: str) -> int:
    """Read ``"100k"``, ``"1M"`` or ``"200000"`` as a whole number."""
    text = text.strip().lower()
    scale = {"k": 10**3, "m": 10**6}.get(text[-1:], 1)
    return int(float(text[:-1] if scale != 1 else text) * scale)


def hunted(rows: int, cache: Path):
    """Return the hunt of `rows` synthetic account-days (seed 1), cached as a pickle."""
    path = cache / f"hunt-{rows}.pkl"
    if path.exists():
        with path.open("rb") as handle:
            return pickle.load(handle)
    from _synth import user_days

    from msticnb_iforest.pipeline import hunt

    result = hunt(user_days(rows, seed=1, account_day=True))
    cache.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return result


def main(argv: list[str] | None = None) -> int:
    """Time make_plots and write_outputs on a cached synthetic hunt."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=parse_count, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--out", type=Path, help="keep the last run's outputs here")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/present-speed-cache"))
    parser.add_argument("--profile", choices=["plots", "write"], help="cProfile one stage")
    args = parser.parse_args(argv)

    from msticnb_iforest.present.figures import make_plots
    from msticnb_iforest.present.outputs import write_outputs

    result = hunted(args.rows, args.cache)
    print(f"{len(result.user_days):,} account-days, {len(result.outliers):,} outliers")
    out = args.out or args.cache / f"out-{args.rows}"
    times: dict[str, list[float]] = {"plots": [], "write": []}
    for _ in range(args.repeat):
        profiler = cProfile.Profile() if args.profile == "plots" else None
        begin = time.perf_counter()
        if profiler:
            profiler.enable()
        figures = make_plots(result, histogram=True, max_plots=10, as_png=True)
        if profiler:
            profiler.disable()
        times["plots"].append(time.perf_counter() - begin)
        profiler = profiler or (cProfile.Profile() if args.profile == "write" else None)
        info = {"inputs": [{"path": "synthetic", "rows": args.rows, "format": "table"}]}
        begin = time.perf_counter()
        if profiler and args.profile == "write":
            profiler.enable()
        write_outputs(result, out, figures=figures, run_info=info)
        if profiler and args.profile == "write":
            profiler.disable()
        times["write"].append(time.perf_counter() - begin)
    for stage, spent in times.items():
        listed = ", ".join(f"{s:.2f}" for s in spent)
        print(f"{stage}: best {min(spent):.2f} s ({listed})")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; outputs in {out}")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

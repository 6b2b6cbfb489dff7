"""
Records per second of the EVTX reader, on copies of the real sample logs.

    python benchmarks/evtx_speed.py [--copies 300] [--chunks 2000] [--log LOG ...] [--cli]

The inputs, built in a temporary folder:

* a folder of ``--copies`` copies of each of the three files in
  ``../shared/data/evtx`` (many small files: per-file costs count);
* with ``--log``, a folder of ``--copies`` copies of each log given (say
  the DeepBlueCLI project's 3,561-event
  ``smb-password-guessing-security.evtx``: many real logs of ordinary size);
* one file of ``--chunks`` chunks (the records chunk of the logon sample
  repeated behind one file header: a large log, no per-file costs).

For each it times :func:`msticnb_iforest.sources.evtx.read_evtx` alone on each file,
then :func:`msticnb_iforest.sources.readers.read_tables` on the files (reading and
stacking) plus :func:`msticnb_iforest.summarize.user_days.user_day_summary` (what
the command line does before the model), and the parser alone (iterating
``records_json()`` without decoding anything) as the floor. Best of
``--repeat`` runs, in wall-clock and in CPU time of this process (all of it
runs in one thread, so CPU time is the cost without other load's share).
With ``--cli``, also the wall time of the whole command line
(``python -m msticnb_iforest run FOLDER --out OUT -q``, start-up, model, report
and plots included) on each folder, as a child process.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evtx import PyEvtxParser

import msticnb_iforest
from msticnb_iforest.sources.readers import read_tables
from msticnb_iforest.sources.readers.evtx import read_evtx
from msticnb_iforest.summarize.user_days import user_day_summary

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "evtx"


def _best(func, repeat):
    """Best wall and CPU seconds of `repeat` runs (CPU time is steadier on a busy machine)."""
    wall = cpu = None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = func()
        elapsed, elapsed_cpu = time.perf_counter() - start, time.process_time() - start_cpu
        wall = elapsed if wall is None else min(wall, elapsed)
        cpu = elapsed_cpu if cpu is None else min(cpu, elapsed_cpu)
    return (wall, cpu), result


def _parser_only(files):
    count = 0
    for path in files:
        for _ in PyEvtxParser(str(path), number_of_threads=1, indent=False).records_json():
            count += 1
    return count


def _read(files):
    frames, records = [], 0
    for path in files:
        frame, info = read_evtx(path)
        frames.append(frame)
        records += info["records_read"]
    return frames, records


def _cli_path(files):
    events, _ = read_tables(files)
    user_day_summary(events)


def _command_line(folder, out):
    """Wall and CPU seconds of the whole command line on `folder`, in a child process."""
    root = Path(msticnb_iforest.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "MPLBACKEND": "Agg"}
    command = [sys.executable, "-m", "msticnb_iforest", "run", str(folder), "--out", str(out)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([*command, "-q"], cwd=root, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


def _report(label, files, repeat, cli_out=None):
    floor, records = _best(lambda: _parser_only(files), repeat)
    read, (frames, _) = _best(lambda: _read(files), repeat)
    rows = sum(len(frame) for frame in frames)
    cli, _ = _best(lambda: _cli_path(files), repeat)
    print(f"{label}: {records:,} records ({rows:,} logon rows) in {len(files):,} file(s)")
    for name, (wall, cpu) in (("parser only", floor), ("read_evtx", read), ("read+summary", cli)):
        print(
            f"  {name:<13} wall {wall:7.3f} s {records / wall:10,.0f} records/s"
            f"   cpu {cpu:7.3f} s {records / cpu:10,.0f} records/s"
        )
    if cli_out is not None:
        runs = [_command_line(files[0].parent, cli_out) for _ in range(repeat)]
        wall, cpu = min(run[0] for run in runs), min(run[1] for run in runs)
        print(
            f"  {'command line':<13} wall {wall:7.3f} s {records / wall:10,.0f} records/s"
            f"   cpu {cpu:7.3f} s {records / cpu:10,.0f} records/s (all threads)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--copies", type=int, default=300)
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--log", type=Path, action="append", default=[], help="more real logs")
    parser.add_argument("--cli", action="store_true", help="also time the whole command line")
    args = parser.parse_args()
    samples = sorted(SAMPLES.glob("*.evtx"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "many"
        folder.mkdir()
        for copy in range(args.copies):
            for sample in samples:
                shutil.copy(sample, folder / f"{copy:04d}_{sample.name}")
        out = Path(tmp) / "out" if args.cli else None
        _report("many files", sorted(folder.glob("*.evtx")), args.repeat, out)
        if args.log:
            logs = Path(tmp) / "logs"
            logs.mkdir()
            for copy in range(args.copies):
                for log in args.log:
                    shutil.copy(log, logs / f"{copy:04d}_{log.name}")
            _report("many copies of --log", sorted(logs.glob("*.evtx")), args.repeat, out)
        data = (SAMPLES / "LM_WMI_4624_4688_TargetHost.evtx").read_bytes()
        big = Path(tmp) / "big.evtx"
        big.write_bytes(data[:4096] + data[4096:] * args.chunks)
        _report("one large file", [big], args.repeat)  # the folder holds other files


if __name__ == "__main__":
    main()

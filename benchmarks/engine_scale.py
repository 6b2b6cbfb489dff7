"""
End-to-end scale benchmark of the command line on raw-event files, 2M to 200M events.

Usage::

    python benchmarks/engine_scale.py                      # full run (about an hour)
    python benchmarks/engine_scale.py --out results.md     # also write the report
    python benchmarks/engine_scale.py --quick              # smoke test, well under a minute
    python benchmarks/engine_scale.py --sizes 2M,20M --no-hunt

It measures what a user gets: ``python -m msticnb_iforest run FILE --out DIR -q``
with default options, as a subprocess, so whatever the command line does
with raw events (pandas today, the embedded engine later) is what is timed.
Nothing but the command line and public functions of the package is used.

Three parts:

* **raw events** - seeded SecurityEvent logon events are generated with
  numpy and pyarrow, chunk by chunk, into one Parquet file per size (row
  groups of ``--chunk-rows``), so 200M events never sit in memory. One size
  (``--text-size``, 20M) is also written as gzipped CSV and as JSON lines
  (converted from its Parquet file by DuckDB, with ISO 8601 times as Log
  Analytics exports them). Each file is hunted by the command line; beside
  it, a plain DuckDB query in its own process does the equivalent
  per-user-day aggregation on the same file (the peer).
* **hunt** - ``msticnb_iforest.pipeline.hunt`` with default options and no
  plots on a synthetic per-account-day table (``_synth.user_days``, with the
  ``account_day_summary`` columns when the default feature set needs them);
  beside it, scikit-learn's own ``IsolationForest`` fit and
  ``score_samples`` on a random float matrix of the same shape, with the
  same number of trees and rows per tree (the peer).
* **machine** - cores, memory, load average, package versions and commit.

Every measurement is one subprocess; wall time is measured around it and
peak RSS is the child's own high-water mark (``os.wait4``), or, for the hunt
and its peer, the high-water mark after the input was built (``VmHWM``
reset through ``/proc/self/clear_refs``), so it covers the stage and its
input but not the input's generation. Generated files and outputs live in
a temporary folder (under ``--tmp-dir`` if given) that is removed at the
end, also on an error or Ctrl-C. A run that fails or exceeds ``--timeout``
is reported as such and the benchmark goes on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

M = 1_000_000
FULL_SIZES = [2 * M, 20 * M, 200 * M]
FULL_TEXT_SIZE = 20 * M
FULL_HUNT_SIZES = [1 * M, 10 * M]
QUICK_SIZES = [20_000]
QUICK_TEXT_SIZE = 20_000
QUICK_HUNT_SIZES = [10_000]

#: (format, events) -> (seconds, peak GB) targets of the command line.
EVENT_TARGETS = {("parquet", 20 * M): (20.0, 1.5), ("parquet", 200 * M): (150.0, 4.0)}
#: account-days -> (seconds, peak GB or None) targets of ``hunt``.
HUNT_TARGETS = {1 * M: (5.0, None), 10 * M: (45.0, 8.0)}

FORMATS = {"parquet": "Parquet", "csv.gz": "CSV.gz", "jsonl": "JSON lines"}
#: ``--max-bytes`` for text inputs: the reader's 4 GiB default refuses a
#: 20M-event JSON lines file (about 9 GB), and the point is to time it.
TEXT_MAX_BYTES = "1T"

DAYS = 30
START = "2024-03-01"
DOMAINS = ["CONTOSO", "FABRIKAM", "WOODGROVE"]
LOGON_TYPES = {3: "3 - Network", 2: "2 - Interactive", 10: "10 - RemoteInteractive"}
PACKAGES = ["NTLM", "Kerberos", "Negotiate"]
LOGON_PROCESSES = ["NtLmSsp ", "Kerberos", "Negotiate"]


# --------------------------------------------------------------------------
# Sizes and small helpers
# --------------------------------------------------------------------------
def parse_count(text: str) -> int:
    """Read ``"2M"``, ``"20k"``, ``"1.5M"``, ``"1G"`` or ``"200000"`` as a whole number."""
    text = text.strip().lower().replace("_", "").replace(",", "")
    scale = {"k": 10**3, "m": 10**6, "g": 10**9, "b": 10**9}.get(text[-1:], 1)
    number = float(text[:-1] if scale != 1 else text)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return int(round(number * scale))


def parse_counts(text: str) -> list[int]:
    """Read a comma-separated list of counts (``"2M,20M"``), sorted and unique."""
    try:
        return sorted({parse_count(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected counts such as 2M,20M; got {text!r}") from None


def human(count: int) -> str:
    """``20000000`` -> ``"20M"``, ``20000`` -> ``"20k"`` (for file names and labels)."""
    for unit, size in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if count >= size and count % size == 0:
            return f"{count // size}{unit}"
    return str(count)


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


# --------------------------------------------------------------------------
# Raw events: a seeded, vectorized generator written chunk by chunk
# --------------------------------------------------------------------------
@dataclass
class World:
    """
    The accounts, hosts and addresses events are drawn from (small arrays).

    Account ``i`` has a domain, a user name, a heavy-tailed activity
    weight, a usual server, workstation and address, and a propensity to
    fail. Names are pyarrow string arrays indexed by integer codes, so a
    chunk of events is a handful of integer draws and ``take``s.
    """

    n_accounts: int
    cum_weight: object  # np.ndarray, cumulative activity weights
    domain: object  # np.ndarray of domain codes per account
    home_server: object
    fail_rate: object
    users: object  # pa.Array: account names, then machine accounts, then specials
    domains: object  # pa.Array: DOMAINS + ["NT AUTHORITY"]
    computers: object  # pa.Array: server names
    ips: object  # pa.Array: one address per account, then a shared outside pool, then "-"
    workstations: object  # pa.Array: one name per account, then "-"


def make_world(n_events: int, seed: int) -> World:
    """
    Draw the accounts and hosts for `n_events` events.

    About one account per 400 events, between 50 and 50,000 (tens of
    thousands of accounts at 20M events and beyond); 3 % are service
    accounts with 50 times the usual activity; activity is log-normal (a few
    very busy accounts, a long tail of rare ones).
    """
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng([seed, 1])
    n_accounts = int(min(50_000, max(50, n_events // 400)))
    n_servers = max(10, n_accounts // 25)
    ids = np.arange(n_accounts)
    service = rng.random(n_accounts) < 0.03
    weight = rng.lognormal(0.0, 1.4, n_accounts) * np.where(service, 50.0, 1.0)
    digits = np.char.zfill(ids.astype(str), 6)
    names = np.where(service, np.char.add("svc-app", digits), np.char.add("user", digits))
    machines = np.char.add(
        np.char.add("SRV", np.char.zfill(np.arange(n_servers).astype(str), 5)), "$"
    )
    octets = [(ids >> shift) & 255 for shift in (16, 8, 0)]
    home_ip = np.char.add("10.", octets[0].astype(str))
    for octet in octets[1:]:
        home_ip = np.char.add(np.char.add(home_ip, "."), octet.astype(str))
    pool = np.arange(4096)
    outside = np.char.add(
        np.char.add("198.51.", (pool >> 8).astype(str)), np.char.add(".", (pool & 255).astype(str))
    )
    servers = np.char.add(
        np.char.add("SRV", np.char.zfill(np.arange(n_servers).astype(str), 5)), ".contoso.com"
    )
    return World(
        n_accounts=n_accounts,
        cum_weight=np.cumsum(weight),
        domain=rng.choice(len(DOMAINS), n_accounts, p=[0.8, 0.15, 0.05]),
        home_server=rng.integers(0, n_servers, n_accounts),
        fail_rate=np.minimum(0.5, rng.beta(0.5, 20.0, n_accounts)),
        users=pa.array([*names.tolist(), *machines.tolist(), "ANONYMOUS LOGON", "SYSTEM"]),
        domains=pa.array([*DOMAINS, "NT AUTHORITY"]),
        computers=pa.array(servers.tolist()),
        ips=pa.array([*home_ip.tolist(), *outside.tolist(), "-"]),
        workstations=pa.array([*np.char.add("WS-", digits).tolist(), "-"]),
    )


def event_schema():
    """The pyarrow schema of the generated events (Sentinel's SecurityEvent names)."""
    import pyarrow as pa

    text = pa.string()
    return pa.schema(
        [
            ("TimeGenerated", pa.timestamp("us", tz="UTC")),
            ("EventID", pa.int32()),
            ("Computer", text),
            ("Account", text),
            ("AccountDomain", text),
            ("TargetUserName", text),
            ("TargetDomainName", text),
            ("LogonType", pa.int32()),
            ("LogonTypeName", text),
            ("LogonProcessName", text),
            ("AuthenticationPackageName", text),
            ("WorkstationName", text),
            ("IpAddress", text),
            ("Status", text),
            ("SubStatus", text),
        ]
    )


def event_chunk(world: World, rng, n: int, t0_us: int, t1_us: int):
    """
    Return `n` events with times in ``[t0_us, t1_us)`` as a pyarrow Table.

    Shape: about 5 % failures (2.5 % plus a per-account propensity; status
    ``0xc000006d`` with a wrong password or an unknown user), 8 %
    interactive or remote-interactive logons, 2 % machine accounts
    (``SRV00012$``) and 1 % ``NT AUTHORITY\\ANONYMOUS LOGON`` network
    successes, which the query's filters drop; 10 % of logons come from an
    outside address and 3 % without address or workstation name. Times
    are sorted, as in an export.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    account = np.searchsorted(world.cum_weight, rng.random(n) * world.cum_weight[-1], side="right")
    account = np.minimum(account, world.n_accounts - 1)
    failed = rng.random(n) < (0.025 + world.fail_rate[account])
    kind = rng.random(n)
    machine = kind < 0.02
    anonymous = (kind >= 0.02) & (kind < 0.03)
    failed &= ~anonymous
    n_machines = len(world.users) - world.n_accounts - 2
    server = (world.home_server[account] + rng.geometric(0.6, n) - 1) % len(world.computers)

    user = account.copy()
    user[machine] = world.n_accounts + server[machine] % n_machines
    user[anonymous] = len(world.users) - 2
    domain = world.domain[account]
    domain[anonymous] = len(DOMAINS)

    logon_type = np.where(rng.random(n) < 0.92, 3, np.where(rng.random(n) < 0.6, 2, 10))
    logon_type[anonymous] = 3
    type_names = pa.array([LOGON_TYPES[3], LOGON_TYPES[2], LOGON_TYPES[10]])
    type_code = np.select([logon_type == 3, logon_type == 2], [0, 1], 2)

    where = rng.random(n)
    outside = world.n_accounts + rng.integers(0, 4096, n)
    ip = np.where(where < 0.87, account, outside)
    ip[where >= 0.97] = len(world.ips) - 1
    ip[anonymous] = len(world.ips) - 1
    workstation = np.where(where < 0.97, account, len(world.workstations) - 1)
    package = rng.choice(3, n, p=[0.45, 0.45, 0.10])
    status = np.where(failed, 0, -1)
    substatus = np.where(failed, np.where(rng.random(n) < 0.8, 0, 1), -1)

    def take(values, codes):
        return pc.take(values, pa.array(codes))

    def optional(values, codes):
        return pc.take(values, pa.array(codes, mask=codes < 0))

    times = np.sort(rng.integers(t0_us, t1_us, n))
    target_user = take(world.users, user)
    target_domain = take(world.domains, domain)
    columns = {
        "TimeGenerated": pa.array(times, type=pa.timestamp("us", tz="UTC")),
        "EventID": pa.array(np.where(failed, 4625, 4624), type=pa.int32()),
        "Computer": take(world.computers, server),
        "Account": pc.binary_join_element_wise(target_domain, target_user, "\\"),
        "AccountDomain": target_domain,
        "TargetUserName": target_user,
        "TargetDomainName": target_domain,
        "LogonType": pa.array(logon_type, type=pa.int32()),
        "LogonTypeName": take(type_names, type_code),
        "LogonProcessName": take(pa.array(LOGON_PROCESSES), package),
        "AuthenticationPackageName": take(pa.array(PACKAGES), package),
        "WorkstationName": take(world.workstations, workstation),
        "IpAddress": take(world.ips, ip),
        "Status": optional(pa.array(["0xc000006d"]), status),
        "SubStatus": optional(pa.array(["0xc000006a", "0xc0000064"]), substatus),
    }
    return pa.table(columns, schema=event_schema())


def write_events(path: Path, n_events: int, *, seed: int = 7, chunk_rows: int = 2 * M) -> dict:
    """
    Write `n_events` generated events to a Parquet file, one row group per chunk.

    Chunks cover consecutive slices of the 30 days, so the file is in time
    order; only one chunk is in memory at a time. Returns the number of
    events, accounts, seconds taken and bytes written.
    """
    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq

    begin = time.perf_counter()
    world = make_world(n_events, seed)
    rng = np.random.default_rng([seed, 2, n_events])
    start = pd.Timestamp(START, tz="UTC").value // 1000
    span = DAYS * 86_400 * 10**6
    chunks = max(1, -(-n_events // chunk_rows))
    written = 0
    with pq.ParquetWriter(path, event_schema(), compression="snappy") as writer:
        for index in range(chunks):
            n = min(chunk_rows, n_events - written)
            t0 = start + span * index // chunks
            t1 = start + span * (index + 1) // chunks
            writer.write_table(event_chunk(world, rng, n, t0, t1), row_group_size=n)
            written += n
    return {
        "events": written,
        "accounts": world.n_accounts,
        "seconds": time.perf_counter() - begin,
        "bytes": path.stat().st_size,
    }


def convert_events(parquet: Path, path: Path, fmt: str) -> dict:
    """
    Copy a generated Parquet file to gzipped CSV or JSON lines with DuckDB.

    Times are written as Log Analytics exports them (ISO 8601, UTC, ``Z``).
    """
    import duckdb

    begin = time.perf_counter()
    options = "FORMAT CSV, HEADER, COMPRESSION GZIP" if fmt == "csv.gz" else "FORMAT JSON"
    select = (
        "SELECT * REPLACE (strftime(TimeGenerated, '%Y-%m-%dT%H:%M:%S.%fZ') AS TimeGenerated) "
        "FROM read_parquet(?)"
    )
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(
            f"COPY ({select.replace('?', _sql_text(parquet))}) TO {_sql_text(path)} ({options})"
        )
    return {"seconds": time.perf_counter() - begin, "bytes": path.stat().st_size}


def _sql_text(path: Path) -> str:
    """A path as an SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"


# --------------------------------------------------------------------------
# Measuring a subprocess
# --------------------------------------------------------------------------
def measure(cmd: list[str], log: Path, timeout: float) -> dict:
    """
    Run `cmd`, wait for it and return wall seconds, peak RSS (GB) and status.

    Output goes to `log` (stdout, then stderr appended); the last JSON line
    of stdout, if any, is returned as ``result``. A Python command runs
    under `_peak.py`, and its peak RSS is its own ``VmHWM``: a child's
    ``ru_maxrss`` from ``os.wait4`` (used otherwise, None where the platform
    lacks it) starts from this process's resident size, which holds
    generated events. A child still running after `timeout` seconds is
    killed; Ctrl-C kills it too and is raised again.
    """
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(HERE)]), MPLBACKEND="Agg")
    env["PYTHONWARNINGS"] = "ignore"
    out, err = log.with_suffix(".out"), log.with_suffix(".err")
    peak_file = log.with_suffix(".peak")
    peak_file.unlink(missing_ok=True)
    if cmd[0] == sys.executable:
        cmd = [sys.executable, str(HERE / "_peak.py"), *cmd[1:]]
        env["PEAK_FILE"] = str(peak_file)
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        begin = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, cwd=ROOT, env=env)
        status, peak = _wait(child, timeout)
        seconds = time.perf_counter() - begin
    if peak_file.exists():
        peak = int(peak_file.read_text()) / 1e9
    lines = out.read_text(errors="replace").strip().splitlines()
    result = None
    if lines and lines[-1].startswith("{"):
        result = json.loads(lines[-1])
    outcome = {"seconds": seconds, "peak_gb": peak, "status": status, "result": result}
    if status != 0:
        outcome["error"] = (err.read_text(errors="replace").strip().splitlines() or [""])[-1][:300]
    return outcome


def _wait(child: subprocess.Popen, timeout: float) -> tuple[int | str, float | None]:
    """Wait for `child`; return its exit status (or "timeout"/"signal N") and peak RSS GB."""
    deadline = time.monotonic() + timeout
    try:
        if not hasattr(os, "wait4"):
            code = child.wait(timeout=timeout)
            return code, None
        while True:
            pid, raw, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                child.returncode = os.waitstatus_to_exitcode(raw)
                break
            if time.monotonic() > deadline:
                child.kill()
                child.wait()
                return "timeout", None
            time.sleep(0.05)
    except BaseException:
        if child.poll() is None:
            child.kill()
            child.wait()
        raise
    peak = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024) / 1e9
    code = child.returncode
    return (f"signal {signal.Signals(-code).name}" if code < 0 else code), peak


def _self(*args: str) -> list[str]:
    """The command that runs this script as a worker."""
    return [sys.executable, str(Path(__file__).resolve()), "--worker", *args]


# --------------------------------------------------------------------------
# Workers (run in a subprocess; print one JSON line)
# --------------------------------------------------------------------------
def peer_sql(source: str) -> str:
    """
    The peer's per-user-day aggregation over `source` (a DuckDB table function).

    The query's filters (events 4624/4625, network logons, no anonymous or
    system successes, no machine accounts) and grouping (day, domain, user),
    with logon counts, first and last time and four distinct counts.
    """
    return f"""
        SELECT CAST(TimeGenerated AS DATE) AS Date, TargetDomainName, TargetUserName,
               count(*) AS AttemptedLogons,
               count(*) FILTER (WHERE EventID = 4624) AS SuccessfulLogons,
               count(*) FILTER (WHERE EventID = 4625) AS FailedLogons,
               min(TimeGenerated) AS MIN_TimeGenerated,
               max(TimeGenerated) AS MAX_TimeGenerated,
               count(DISTINCT Computer) AS ComputersAccessed,
               count(DISTINCT IpAddress) AS DistinctSrcIp,
               count(DISTINCT WorkstationName) AS DistinctSrcHostName,
               count(DISTINCT AuthenticationPackageName) AS DistinctAuthenticationPackage
        FROM {source}
        WHERE EventID IN (4624, 4625) AND LogonTypeName = '3 - Network'
          AND NOT (EventID = 4624 AND upper(TargetDomainName)
                   IN ('NT AUTHORITY', 'ANONYMOUS LOGON'))
          AND NOT ends_with(TargetUserName, '$')
        GROUP BY ALL
    """


def work_duckdb(path: str, fmt: str) -> dict:
    """Run the peer query on one file with DuckDB's defaults; return its row count."""
    import duckdb

    readers = {
        "parquet": "read_parquet({})",
        "csv.gz": "read_csv({})",
        "jsonl": "read_json({}, format = 'newline_delimited')",
    }
    source = readers[fmt].format(_sql_text(Path(path)))
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        threads = con.sql("SELECT current_setting('threads')").fetchall()[0][0]
        relation = con.sql(peer_sql(source))
        # DuckDB 2 names it to_arrow_table; 1.x, arrow.
        fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
        return {"groups": fetch().num_rows, "threads": threads}


def _reset_peak() -> bool:
    """Reset this process's peak-RSS mark (Linux); tell whether it worked."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _peak_gb() -> float:
    """Peak RSS of this process since the last reset (``VmHWM``), in GB."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e9
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def _hunt_table(rows: int, seed: int):
    """A synthetic table of `rows` rows for the default feature set."""
    from _synth import user_days

    from msticnb_iforest.features import get_feature_set

    needs = get_feature_set(None).query_name == "account_day_summary"
    return user_days(rows, seed=seed, account_day=needs)


def work_hunt(rows: int) -> dict:
    """Time ``pipeline.hunt`` (default options, no plots) on `rows` account-days."""
    from msticnb_iforest.pipeline import hunt

    hunt(_hunt_table(600, 99), max_explained=5)  # imports and first-call costs
    table = _hunt_table(rows, 1)
    exact = _reset_peak()
    begin = time.perf_counter()
    result = hunt(table)
    seconds = time.perf_counter() - begin
    model = result.model
    return {
        "seconds": seconds,
        "peak_gb": _peak_gb(),
        "peak_after_input": exact,
        "feature_set": result.feature_set,
        "features": len(result.features),
        "n_estimators": int(model.n_estimators),
        "max_samples": int(model.max_samples_),
        "outliers": len(result.outliers),
    }


def work_iforest(rows: int, features: int, n_estimators: int, max_samples: int) -> dict:
    """Time scikit-learn's IsolationForest fit + score_samples on a random matrix."""
    import numpy as np
    from sklearn.ensemble import IsolationForest

    IsolationForest(n_estimators=2).fit(np.zeros((10, 2)))  # imports
    matrix = np.random.default_rng(0).standard_normal((rows, features))
    exact = _reset_peak()
    begin = time.perf_counter()
    forest = IsolationForest(
        n_estimators=n_estimators, max_samples=min(max_samples, rows), n_jobs=-1, random_state=42
    ).fit(matrix)
    forest.score_samples(matrix)
    return {
        "seconds": time.perf_counter() - begin,
        "peak_gb": _peak_gb(),
        "peak_after_input": exact,
    }


# --------------------------------------------------------------------------
# Machine facts
# --------------------------------------------------------------------------
def machine_facts(tmp_parent: str) -> dict:
    """Cores, CPU model, memory, load average, free disk, versions and commit."""
    from importlib import metadata

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    cpu, memory = platform.processor() or platform.machine(), None
    try:
        with open("/proc/cpuinfo") as handle:
            names = [line.split(":", 1)[1].strip() for line in handle if "model name" in line]
        cpu = names[0] if names else cpu
        with open("/proc/meminfo") as handle:
            memory = next(
                int(line.split()[1]) * 1024 / 1e9 for line in handle if line.startswith("MemTotal:")
            )
    except (OSError, StopIteration):
        pass
    names = ["msticnb-iforest", "pandas", "numpy", "pyarrow", "duckdb", "scikit-learn", "shap"]
    versions = []
    for name in names:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return {
        "cores": cores,
        "cpu": cpu,
        "memory_gb": memory,
        "load": _load(),
        "disk_free_gb": shutil.disk_usage(tmp_parent).free / 1e9,
        "python": platform.python_version(),
        "versions": ", ".join(versions),
        "commit": _commit(),
    }


def _load() -> str:
    try:
        return " / ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "n/a"


def _commit() -> str:
    from _facts import commit

    return commit()


# --------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------
def run_events(args, tmp: Path, say) -> list[dict]:
    """Generate each input, hunt it with the command line, then run the peer on it."""
    plan = [("parquet", n) for n in args.sizes]
    if args.text_size:
        plan += [(fmt, args.text_size) for fmt in ("csv.gz", "jsonl")]
    parquet: dict[int, dict] = {}
    rows = []
    for step, (fmt, n) in enumerate(plan):
        if n not in parquet:
            path = tmp / f"events_{human(n)}.parquet"
            say(f"generating {n:,} events")
            parquet[n] = {
                "path": path,
                **write_events(path, n, seed=args.seed, chunk_rows=args.chunk_rows),
            }
            say(f"  {parquet[n]['seconds']:.1f} s, {parquet[n]['bytes'] / 1e9:.2f} GB")
        base = parquet[n]
        path, made = base["path"], {"seconds": base["seconds"], "bytes": base["bytes"]}
        if fmt != "parquet":
            path = tmp / f"events_{human(n)}.{fmt}"
            say(f"writing {n:,} events as {FORMATS[fmt]}")
            made = convert_events(base["path"], path, fmt)
        row = {"format": fmt, "events": n, "accounts": base["accounts"], "made": made}
        row["cli"] = run_cli(path, fmt, tmp, args.timeout)
        say(f"  command line: {_outcome(row['cli'])}")
        row["peer"] = measure(_self("duckdb", str(path), fmt), tmp / "peer", args.timeout)
        say(f"  DuckDB peer: {_outcome(row['peer'])}")
        rows.append(row)
        if fmt != "parquet":
            path.unlink()
        if not any(later == n for _, later in plan[step + 1 :]):
            base["path"].unlink()  # no later run reads it: free the disk
    return rows


def run_cli(path: Path, fmt: str, tmp: Path, timeout: float) -> dict:
    """Run ``python -m msticnb_iforest run PATH --out DIR -q``; read run.json's counts."""
    out = tmp / "out"
    cmd = [sys.executable, "-m", "msticnb_iforest", "run", str(path), "--out", str(out), "-q"]
    if fmt != "parquet":
        cmd += ["--max-bytes", TEXT_MAX_BYTES]
    outcome = measure(cmd, tmp / "cli", timeout)
    record = out / "run.json"
    if outcome["status"] == 0 and record.exists():
        run = json.loads(record.read_text())
        outcome["user_days"] = run.get("counts", {}).get("user_days")
        outcome["outliers"] = run.get("counts", {}).get("outliers")
        outcome["dropped"] = sum((run.get("dropped") or {}).values())
        outcome["timings"] = run.get("timings") or {}
    shutil.rmtree(out, ignore_errors=True)
    return outcome


def run_hunts(args, tmp: Path, say) -> list[dict]:
    """Time hunt() at each size, then scikit-learn's forest on a matrix of the same shape."""
    rows = []
    for n in args.hunt_sizes:
        say(f"hunt on {n:,} account-days")
        ours = measure(_self("hunt", str(n)), tmp / "hunt", args.timeout)
        say(f"  hunt: {_outcome(ours)}")
        peer = None
        if ours["result"]:
            r = ours["result"]
            spec = [str(n), str(r["features"]), str(r["n_estimators"]), str(r["max_samples"])]
            peer = measure(_self("iforest", *spec), tmp / "iforest", args.timeout)
            say(f"  scikit-learn: {_outcome(peer)}")
        rows.append({"rows": n, "hunt": ours, "peer": peer})
    return rows


def _outcome(run: dict) -> str:
    """One line for progress: seconds and peak GB, or how the run failed."""
    if run["status"] != 0:
        return f"FAILED ({run['status']}): {run.get('error', '')}"
    seconds, peak = _seconds_peak(run)
    return f"{seconds:.1f} s, {_fmt(peak, 2)} GB"


def _seconds_peak(run: dict) -> tuple[float, float | None]:
    """A worker's own measurement when it made one (hunt stages), else the process's."""
    result = run.get("result") or {}
    return result.get("seconds", run["seconds"]), result.get("peak_gb", run["peak_gb"])


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------
def _verdict(seconds: float, peak: float | None, target: tuple | None) -> tuple[str, str]:
    """Target text and met/MISSED for one measurement."""
    if not target:
        return "-", "-"
    max_s, max_gb = target
    text = f"<= {max_s:g} s" + (f", <= {max_gb:g} GB" if max_gb else "")
    ok = seconds <= max_s and (max_gb is None or (peak is not None and peak <= max_gb))
    return text, "met" if ok else "**MISSED**"


def _cells(run: dict | None) -> tuple[str, str]:
    """Seconds and peak GB cells of a measured run (or its failure)."""
    if run is None:
        return "-", "-"
    if run["status"] != 0:
        return f"failed ({run['status']})", "-"
    seconds, peak = _seconds_peak(run)
    return f"{seconds:.2f}", _fmt(peak, 2)


def events_table(rows: list[dict]) -> str:
    """The raw-event table: command line against target and DuckDB peer."""
    lines = [
        "| input | events | accounts | file GB | generated s | **CLI s** | CLI s per M events "
        "| **CLI peak GB** | target | verdict | DuckDB s | DuckDB peak GB | CLI / DuckDB time "
        "| user-days (CLI) | groups (DuckDB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        cli, peer = row["cli"], row["peer"]
        cli_s, cli_gb = _cells(cli)
        peer_s, peer_gb = _cells(peer)
        target, verdict = "-", "-"
        per_m = ratio = "-"
        if cli["status"] == 0:
            per_m = f"{cli['seconds'] / row['events'] * M:.2f}"
            target, verdict = _verdict(
                cli["seconds"], cli["peak_gb"], EVENT_TARGETS.get((row["format"], row["events"]))
            )
            if peer["status"] == 0:
                ratio = f"{cli['seconds'] / peer['seconds']:.1f}x"
        elif (row["format"], row["events"]) in EVENT_TARGETS:
            target, _ = _verdict(0, 0, EVENT_TARGETS[(row["format"], row["events"])])
            verdict = "**MISSED**"
        groups = (peer.get("result") or {}).get("groups")
        lines.append(
            f"| {FORMATS[row['format']]} | {row['events']:,} | {row['accounts']:,} "
            f"| {row['made']['bytes'] / 1e9:.2f} | {row['made']['seconds']:.1f} | **{cli_s}** "
            f"| {per_m} | **{cli_gb}** | {target} | {verdict} | {peer_s} | {peer_gb} | {ratio} "
            f"| {_count(cli.get('user_days'))} | {_count(groups)} |"
        )
    return "\n".join(lines) + "\n"


#: The command line's stages (run.json ``timings``) shown, and the keys summed for each.
CLI_STAGES = {
    "read": ["read"],
    "summarize": ["summarize"],
    "hunt": ["prepare", "features", "model", "assemble", "explain", "incidents"],
    "plots": ["plots"],
    "write": ["write_tables", "report"],
}


def stages_table(rows: list[dict]) -> str:
    """Where each successful command-line run spent its time (its own run.json timings)."""
    done = [row for row in rows if row["cli"].get("timings")]
    if not done:
        return ""
    names = " | ".join(f"{name} s" for name in CLI_STAGES)
    lines = [
        f"| input | events | {names} | startup and rest s |",
        "|---|---:|" + "---:|" * (len(CLI_STAGES) + 1),
    ]
    for row in done:
        timings = row["cli"]["timings"]
        spent = [sum(timings.get(key, 0.0) for key in keys) for keys in CLI_STAGES.values()]
        rest = row["cli"]["seconds"] - sum(spent)
        cells = " | ".join(f"{value:.2f}" for value in spent)
        lines.append(f"| {FORMATS[row['format']]} | {row['events']:,} | {cells} | {rest:.2f} |")
    return "\n".join(lines) + "\n"


def hunt_table(rows: list[dict]) -> str:
    """The hunt table: hunt() against target and scikit-learn's own forest."""
    lines = [
        "| account-days | features | trees (rows per tree) | **hunt s** | **hunt peak GB** "
        "| target | verdict | scikit-learn fit + score s | scikit-learn peak GB "
        "| hunt / scikit-learn time | outliers |",
        "|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        ours, peer = row["hunt"], row["peer"]
        r = ours.get("result") or {}
        hunt_s, hunt_gb = _cells(ours)
        peer_s, peer_gb = _cells(peer)
        target, verdict, ratio = "-", "-", "-"
        if ours["status"] == 0:
            target, verdict = _verdict(r["seconds"], r["peak_gb"], HUNT_TARGETS.get(row["rows"]))
            if peer and peer["status"] == 0:
                ratio = f"{r['seconds'] / peer['result']['seconds']:.1f}x"
        elif row["rows"] in HUNT_TARGETS:
            target, _ = _verdict(0, 0, HUNT_TARGETS[row["rows"]])
            verdict = "**MISSED**"
        trees = f"{r['n_estimators']} ({r['max_samples']:,})" if r else "-"
        lines.append(
            f"| {row['rows']:,} | {r.get('features', '-')} | {trees} | **{hunt_s}** "
            f"| **{hunt_gb}** | {target} | {verdict} | {peer_s} | {peer_gb} | {ratio} "
            f"| {_count(r.get('outliers'))} |"
        )
    return "\n".join(lines) + "\n"


def _count(value) -> str:
    return "-" if value is None else f"{value:,}"


def _linearity(rows: list[dict]) -> str:
    """One sentence: seconds per million Parquet events from the smallest size to the largest."""
    done = [r for r in rows if r["format"] == "parquet" and r["cli"]["status"] == 0]
    if len(done) < 2:
        return ""
    per_m = [r["cli"]["seconds"] / r["events"] * M for r in done]
    sizes = ", ".join(f"{human(r['events'])}: {p:.2f}" for r, p in zip(done, per_m, strict=True))
    return (
        f"Seconds per million Parquet events ({sizes}); largest over smallest "
        f"{per_m[-1] / per_m[0]:.2f} (1.00 is linear; startup and the hunt of the summary "
        "weigh more at small sizes).\n"
    )


def _failures(rows: list[dict]) -> str:
    """Failed runs with the last line of their stderr."""
    lines = []
    for row in rows:
        for who in ("cli", "peer", "hunt"):
            run = row.get(who)
            if run and run["status"] != 0:
                label = (
                    f"{FORMATS[row['format']]} {row['events']:,}"
                    if "format" in row
                    else f"hunt {row['rows']:,}"
                )
                lines.append(f"- {label}, {who}: {run['status']}: `{run.get('error', '')}`")
    return ("Failed runs:\n\n" + "\n".join(lines) + "\n") if lines else ""


def report(args, facts: dict, events: list[dict], hunts: list[dict], seconds: float) -> str:
    """The Markdown report."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    memory = f"{facts['memory_gb']:.1f} GB" if facts["memory_gb"] else "unknown"
    parts = [
        "# Local engine at scale: end-to-end benchmark\n",
        f"Measured {stamp} at commit `{facts['commit']}` on {facts['cores']} cores "
        f"({facts['cpu']}), {memory} of memory, {facts['disk_free_gb']:.0f} GB free for "
        f"scratch; Python {facts['python']}; {facts['versions']}. Load average (1/5/15 min) "
        f"before: {facts['load']}; after: {_load()}. Total benchmark time {seconds:.0f} s.\n",
        f"Rerun: `python benchmarks/engine_scale.py{' --quick' if args.quick else ''}`.\n",
    ]
    if events:
        parts += [
            "## Raw events through the command line\n",
            "`python -m msticnb_iforest run FILE --out DIR -q` with default options "
            "(reading, summarizing, the hunt, plots, report and outputs), one process per "
            f"file; text inputs also get `--max-bytes {TEXT_MAX_BYTES}` (the 4 GiB default "
            "would refuse them). Seconds are wall time of the whole process, startup "
            "included; peak GB is its highest resident memory. Events: seeded and "
            f"generated chunk by chunk ({args.chunk_rows:,} rows per Parquet row group), "
            f"{DAYS} days, log-normal activity per account, about 5 % failures, 8 % "
            "non-network logons, 2 % machine accounts and 1 % anonymous logons ("
            "*generated s*: writing the Parquet file, or for CSV.gz and JSON lines "
            "converting it). The peer: "
            "DuckDB (default settings, its own process) running the query's filters and "
            "per-user-day grouping with counts, first/last time and four "
            "`count(DISTINCT ...)`s on the same file, fetched as an Arrow table.\n",
            events_table(events),
            _linearity(events),
            "Where the command line's time went, from its own run.json `timings` (hunt: "
            "prepare to incidents; write: tables and report; the rest is interpreter "
            "startup, imports and what the stages do not cover):\n",
            stages_table(events),
        ]
    if hunts:
        parts += [
            "## The hunt on per-account-day tables\n",
            "`msticnb_iforest.pipeline.hunt` with default options, no plots, on "
            "`_synth.user_days` tables (with the `account_day_summary` columns when the "
            "default feature set needs them), imports and first-call costs done "
            "beforehand; peak GB is the highest resident memory during the hunt, its input "
            "included. The peer: scikit-learn's `IsolationForest` (same trees and rows per "
            "tree, `n_jobs=-1`) `fit` + `score_samples` on all rows of a random float "
            "matrix of the same shape, its own process.\n",
            hunt_table(hunts),
        ]
    parts.append(_failures(events + hunts))
    return "\n".join(part for part in parts if part)


def _terminated(signum, frame) -> None:
    """Turn SIGTERM into an exception, so ``finally`` and ``with`` blocks clean up."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the benchmark in a temporary folder and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--sizes", type=parse_counts, help="Parquet event counts, e.g. 2M,20M")
    parser.add_argument("--max-size", type=parse_count, help="skip event counts above this")
    parser.add_argument(
        "--text-size", type=parse_count, help="events as CSV.gz and JSON lines (20M)"
    )
    parser.add_argument(
        "--no-text", action="store_true", help="skip the CSV.gz and JSON lines runs"
    )
    parser.add_argument("--no-events", action="store_true", help="skip the raw-event part")
    parser.add_argument("--hunt-sizes", type=parse_counts, help="account-day counts, e.g. 1M,10M")
    parser.add_argument("--no-hunt", action="store_true", help="skip the hunt part")
    parser.add_argument("--chunk-rows", type=parse_count, default=2 * M, help="rows per row group")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated events")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per measured run")
    parser.add_argument("--tmp-dir", type=Path, default=None, help="parent of the scratch folder")
    parser.add_argument("--out", type=Path, default=None, help="also write the report here")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        kind, *rest = args.worker
        workers = {
            "duckdb": lambda path, fmt: work_duckdb(path, fmt),
            "hunt": lambda rows: work_hunt(int(rows)),
            "iforest": lambda *ints: work_iforest(*map(int, ints)),
        }
        print(json.dumps(workers[kind](*rest)))
        return 0

    args.sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    args.hunt_sizes = (
        []
        if args.no_hunt
        else args.hunt_sizes or (QUICK_HUNT_SIZES if args.quick else FULL_HUNT_SIZES)
    )
    text_size = args.text_size or (QUICK_TEXT_SIZE if args.quick else FULL_TEXT_SIZE)
    args.text_size = None if args.no_text else text_size
    if args.max_size:
        args.sizes = [n for n in args.sizes if n <= args.max_size]
        if args.text_size and args.text_size > args.max_size:
            args.text_size = None
    if args.no_events:
        args.sizes, args.text_size = [], None
    args.timeout = args.timeout or (300.0 if args.quick else 3600.0)

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    # A terminated benchmark (SIGTERM) unwinds like Ctrl-C: children killed, scratch removed.
    signal.signal(signal.SIGTERM, _terminated)
    parent = args.tmp_dir or Path(tempfile.gettempdir())
    facts = machine_facts(str(parent))
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="engine_scale_", dir=parent) as scratch:
            say(f"scratch folder {scratch} (removed at the end)")
            tmp = Path(scratch)
            events = run_events(args, tmp, say) if (args.sizes or args.text_size) else []
            hunts = run_hunts(args, tmp, say)
    except KeyboardInterrupt:
        say("interrupted; the running measurement was stopped and the scratch folder removed")
        return 130
    text = report(args, facts, events, hunts, time.perf_counter() - started)
    print(text)
    if args.out:
        args.out.write_text(text)
        say(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

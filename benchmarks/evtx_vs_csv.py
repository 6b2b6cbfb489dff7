"""
An event log and the same events exported to CSV give the same account-days.

    python benchmarks/evtx_vs_csv.py Security.evtx [more.evtx ...]

For each log this exports its logon events (4624 and 4625) to a CSV file
with SecurityEvent's column names, by its own plain reading of the
``evtx`` package's JSON records (no code of this project), then runs
``msticnb-iforest run`` once on the ``.evtx`` and once on the CSV, and
compares the two ``user_days.csv`` tables: the same account-days, with the
same logon counts and distinct counts. It prints the counts and exits 1 on
any difference. Everything is written in a temporary folder, removed after.

The DeepBlueCLI project's ``evtx/smb-password-guessing-security.evtx``
(an SMB brute force: 3,561 events, one account) is the log this was made
for; any Security log works.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
from evtx import PyEvtxParser

FIELDS = [
    "TargetUserName",
    "TargetDomainName",
    "IpAddress",
    "WorkstationName",
    "LogonType",
    "AuthenticationPackageName",
    "LogonProcessName",
    "Status",
    "SubStatus",
]
LOGON_TYPE_NAMES = {2: "2 - Interactive", 3: "3 - Network", 8: "8 - NetworkCleartext"}
COUNTS = [
    "AttemptedLogons",
    "SuccessfulLogons",
    "FailedLogons",
    "DistinctSrcIp",
    "DistinctSrcHost",
    "ComputersSuccessfulAccess",
]


def _text(value) -> str:
    if isinstance(value, dict):  # an element with attributes: its text
        value = value.get("#text", "")
    return "" if value is None else str(value)


def export_csv(log: Path, out: Path) -> tuple[int, int]:
    """Write the log's 4624/4625 events to `out`; return (records, logon events)."""
    records = logons = 0
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["TimeGenerated", "EventID", "Computer", "LogonTypeName", *FIELDS])
        for record in PyEvtxParser(str(log)).records_json():
            records += 1
            event = json.loads(record["data"])["Event"]
            system = event["System"]
            event_id = int(_text(system["EventID"]))
            if event_id not in (4624, 4625):
                continue
            logons += 1
            data = event.get("EventData") or {}
            values = [_text(data.get(name)) for name in FIELDS]
            logon_type = int(values[FIELDS.index("LogonType")] or -1)
            name = LOGON_TYPE_NAMES.get(logon_type, f"{logon_type} - Other")
            created = system["TimeCreated"]["#attributes"]["SystemTime"]
            writer.writerow([created, event_id, _text(system["Computer"]), name, *values])
    return records, logons


def _run(path: Path, out: Path) -> pd.DataFrame:
    subprocess.run(
        [sys.executable, "-m", "msticnb_iforest", "run", str(path), "--out", str(out), "-q"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    table = pd.read_csv(out / "user_days.csv", dtype={"Date": str, "DstUser": str})
    keys = ["Date", "DstDomain", "DstUser"]
    have = [c for c in COUNTS if c in table.columns]
    return table[keys + have].sort_values(keys).reset_index(drop=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("logs", nargs="+", type=Path)
    args = parser.parse_args(argv)
    failed = False
    for log in args.logs:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            exported = work / (log.stem + ".csv")
            records, logons = export_csv(log, exported)
            from_evtx = _run(log, work / "from-evtx")
            from_csv = _run(exported, work / "from-csv")
            same = from_evtx.equals(from_csv)
            failed |= not same
            print(f"{log.name}: {records:,} records, {logons:,} logon events (4624/4625)")
            print(f"  account-days from the .evtx: {len(from_evtx):,}", end="")
            print(f"; from the CSV: {len(from_csv):,}")
            print(from_evtx.to_string(index=False))
            print("  same counts: " + ("yes" if same else "NO"))
            if not same:
                print(from_csv.to_string(index=False))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Windows .evtx logs as inputs: the command line, folders of several hosts' logs, LocalData."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from msticnb_iforest.frontends.cli import main
from msticnb_iforest.sources.local import LOCAL_FILE_STEMS, find_local_files
from msticnb_iforest.sources.readers import read_tables

from ..conftest import SHARED

EVTX = SHARED / "evtx"
FILES = sorted(EVTX.glob("*.evtx"))
FAST = ["--no-shap", "--max-plots", "0", "--n-estimators", "20", "-q"]


def test_a_folder_of_event_logs_is_read_as_raw_events():
    events, info = read_tables([EVTX])
    assert [entry["format"] for entry in info] == ["evtx"] * 3
    assert set(events["EventID"]) <= {4624, 4625}
    assert sum(entry["rows"] for entry in info) == len(events) == 6 + 10 + 7


def test_the_command_line_hunts_event_logs_and_notes_what_they_held(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(EVTX), "--out", str(out), *FAST]) == 0, capsys.readouterr().err
    record = json.loads((out / "run.json").read_text())
    assert [entry["format"] for entry in record["inputs"]] == ["evtx"] * 3
    notes = " ".join(record["notes"])
    assert "4688" in notes and "not logon events" in notes  # other records are counted
    days = pd.read_csv(out / "user_days.csv")
    assert {"admmig", "Administrator"} <= set(days["DstUser"].str.lstrip("'"))


def test_a_cut_event_log_is_read_as_far_as_it_goes_and_said(tmp_path, capsys):
    cut = tmp_path / "cut.evtx"
    data = FILES[0].read_bytes()
    cut.write_bytes(data[: 4096 + 65536 // 2])
    out = tmp_path / "out"
    code = main(["run", str(cut), "--out", str(out), *FAST])
    err = capsys.readouterr().err
    if code == 2:  # nothing readable before the cut: one line naming the file
        assert err.count("\n") == 1 and str(cut) in err
    else:
        notes = " ".join(json.loads((out / "run.json").read_text())["notes"])
        assert str(cut) in notes


def test_localdata_finds_event_logs_for_raw_events_only(tmp_path):
    stem = LOCAL_FILE_STEMS["network_logon_events"]
    shutil.copy(FILES[0], tmp_path / f"{stem}_host1.evtx")
    shutil.copy(FILES[1], tmp_path / f"{stem}_host2.evtx")
    found = find_local_files([tmp_path], stem)
    assert [path.name for path in found] == [f"{stem}_host1.evtx", f"{stem}_host2.evtx"]
    for other in ("user_day_summary", "account_day_summary"):
        shutil.copy(FILES[2], tmp_path / f"{LOCAL_FILE_STEMS[other]}.evtx")
        assert find_local_files([tmp_path], LOCAL_FILE_STEMS[other]) == []


@pytest.mark.parametrize("limit", [1, 5])
def test_max_rows_stops_an_event_log_with_a_message(tmp_path, capsys, limit):
    out = tmp_path / "out"
    assert main(["run", str(FILES[0]), "--out", str(out), "--max-rows", str(limit), *FAST]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "max_rows" in err

"""The .evtx reader: real Security logs, Sentinel shapes, damaged and hostile files."""

from __future__ import annotations

import random
import struct
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import msticnb_iforest.sources.readers.evtx as evtx_module
from msticnb_iforest.errors import InputDataError, ParameterError
from msticnb_iforest.sources.readers import read_table
from msticnb_iforest.sources.readers.evtx import EVTX_COLUMNS, LOGON_TYPE_NAMES, read_evtx
from msticnb_iforest.summarize.user_days import RAW_REQUIRED_COLUMNS, user_day_summary

from ..conftest import REAL_EVENTS_CSV, SHARED

EVTX = SHARED / "evtx"
LATERAL = EVTX / "LM_WMI_4624_4688_TargetHost.evtx"
GOLDEN = EVTX / "ID4624-Success_login_with_Golden_ticket.evtx"
SSH = EVTX / "ID4625-OpenSSH_brutforce_with_valid_users.evtx"
SAMPLES = [LATERAL, GOLDEN, SSH]

HEADER, CHUNK = 4096, 65536
TEXT_COLUMNS = [c for c in EVTX_COLUMNS if c not in ("TimeGenerated", "EventID", "LogonType")]


def _record_offsets(data: bytes) -> list[tuple[int, int]]:
    """(offset, size) of each record of the first chunk, from the record headers."""
    offsets, offset = [], HEADER + 512
    while data[offset : offset + 4] == b"\x2a\x2a\x00\x00":
        size = struct.unpack_from("<I", data, offset + 4)[0]
        offsets.append((offset, size))
        offset += size
    return offsets


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _frames_equal(left: pd.DataFrame, right: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        left.reset_index(drop=True), right.reset_index(drop=True), check_exact=True
    )


# --------------------------------------------------------------------------
# The three real logs: the facts shared/README.md states about them
# --------------------------------------------------------------------------
def test_lateral_movement_log():
    events, info = read_evtx(LATERAL)
    assert len(events) == 6
    assert (events["EventID"] == 4624).all()
    assert (events["LogonType"] == 3).all()
    assert (events["LogonTypeName"] == "3 - Network").all()
    assert Counter(events["TargetUserName"]) == {
        "Administrator": 3,
        "user01": 1,
        "WIN-77LTAPHIQ1R$": 2,
    }
    assert set(events["TargetDomainName"]) == {"EXAMPLE"}
    assert set(events["Computer"]) == {"WIN-77LTAPHIQ1R.example.corp"}
    # The people come from one source; the machine account from the host itself.
    people = events[~events["TargetUserName"].str.endswith("$")]
    assert set(people["IpAddress"]) == {"10.0.2.17"}
    machine = events[events["TargetUserName"].str.endswith("$")]
    assert list(machine["IpAddress"]) == ["fe80::79bf:8ee2:433c:2567", "::1"]
    assert events["TimeGenerated"].iloc[0] == pd.Timestamp("2019-03-18 22:15:36.036376", tz="UTC")
    assert info["records_read"] == 8
    assert info["dropped_event_ids"] == {4688: 2}
    assert info["rows"] == 6
    assert info["format"] == "evtx" and info["path"] == str(LATERAL)
    assert info["problems"] == [] and info["unreadable_records"] == 0
    assert (info["chunks"], info["chunks_skipped"], info["bytes_skipped"]) == (1, 0, 0)
    assert not info["truncated"] and not info["stopped_at_max_records"]


def test_golden_ticket_log():
    events, info = read_evtx(GOLDEN)
    assert len(events) == 10
    assert (events["EventID"] == 4624).all()
    assert (events["LogonType"] == 3).all()
    assert set(events["AuthenticationPackageName"]) == {"Kerberos"}
    assert Counter(events["TargetUserName"]) == {"admmig": 9, "not_existing_user": 1}
    assert set(events["TargetDomainName"]) == {"OFFSEC"}
    assert set(events["Computer"]) == {"fs02.offsec.lan"}
    assert info["records_read"] == 10 and info["dropped_event_ids"] == {}


def test_ssh_brute_force_log():
    events, info = read_evtx(SSH)
    assert len(events) == 7
    failed = events[events["EventID"] == 4625]
    assert len(failed) == 5
    assert (failed["LogonType"] == 8).all()
    assert (failed["LogonTypeName"] == "8 - NetworkCleartext").all()
    assert set(failed["TargetUserName"]) == {"admmig@offsec.lan"}
    assert set(failed["TargetDomainName"]) == {""}
    assert set(failed["Status"]) == {"0xc000006d"}
    assert set(failed["SubStatus"]) == {"0xc000006a"}
    success = events[events["EventID"] == 4624]
    assert sorted(success["LogonType"]) == [3, 5]
    assert sorted(success["LogonTypeName"]) == ["3 - Network", "5 - Service"]
    # A 4624 carries no Status: empty, as Sentinel holds it.
    assert set(success["Status"]) == {""} and set(success["SubStatus"]) == {""}
    assert info["records_read"] == 11
    assert info["dropped_event_ids"] == {4648: 2, 4688: 2}


# --------------------------------------------------------------------------
# Sentinel's shapes: the rows read like an export of the same events
# --------------------------------------------------------------------------
@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_columns_and_types(path):
    events, _ = read_evtx(path)
    assert list(events.columns) == EVTX_COLUMNS
    assert set(RAW_REQUIRED_COLUMNS) <= set(events.columns)
    assert isinstance(events.index, pd.RangeIndex)
    assert str(events["TimeGenerated"].dtype) == "datetime64[ns, UTC]"
    assert events["EventID"].dtype == np.int64 and events["LogonType"].dtype == np.int64
    for name in TEXT_COLUMNS:
        assert events[name].dtype == object
        assert all(type(value) is str for value in events[name]), name


def test_value_shapes_match_the_real_sentinel_export():
    real = read_table(REAL_EVENTS_CSV)
    events = pd.concat([read_evtx(path)[0] for path in SAMPLES], ignore_index=True)
    for name in set(real.columns) & set(events.columns):
        assert events[name].dtype == real[name].dtype, name
    # Placeholders and padding are kept as Sentinel keeps them.
    assert "-" in set(events["WorkstationName"]) and "-" in set(real["WorkstationName"])
    assert "-" in set(events["IpAddress"]) and "-" in set(real["IpAddress"])
    assert "Advapi  " in set(events["LogonProcessName"]) & set(real["LogonProcessName"])
    assert "NtLmSsp " in set(events["LogonProcessName"]) & set(real["LogonProcessName"])
    # Every LogonTypeName the export holds for a named type is spelled the same.
    for logon_type, name in zip(real["LogonType"], real["LogonTypeName"], strict=True):
        if " - " in name:
            assert LOGON_TYPE_NAMES[logon_type] == name


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_an_exported_csv_of_the_rows_reads_back_identical(path, tmp_path):
    events, _ = read_evtx(path)
    export = events.copy()
    export["TimeGenerated"] = export["TimeGenerated"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    csv = tmp_path / "anomalous_logons_events.csv"
    export.to_csv(csv, index=False)
    back = read_table(csv)
    # IpPort is text in Sentinel (and here); the CSV reader types an all-digit
    # column as numbers, so it is compared as text.
    assert list(back["IpPort"].astype(str)) == list(events["IpPort"])
    _frames_equal(back.drop(columns="IpPort"), events.drop(columns="IpPort"))


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_fast_decoding_equals_decoding_each_record_whole(path, monkeypatch):
    fast, fast_info = read_evtx(path)
    monkeypatch.setattr(evtx_module, "_fast_fields", lambda text: None)
    monkeypatch.setattr(evtx_module, "_event_id", lambda text: None)
    whole, whole_info = read_evtx(path)
    _frames_equal(fast, whole)
    assert fast_info == whole_info


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_batches_and_small_inputs_build_the_same_frame(path, monkeypatch):
    # Big logs are turned into columns in batches and small ones without
    # pandas' factorize; both must give the frame of the direct build.
    expected, _ = read_evtx(path)
    monkeypatch.setattr(evtx_module, "_BATCH_ROWS", 3)
    monkeypatch.setattr(evtx_module, "_SMALL", 0)
    batched, _ = read_evtx(path)
    _frames_equal(batched, expected)
    for name in TEXT_COLUMNS:  # one shared str per distinct value, across batches
        assert len({id(v) for v in batched[name]}) == batched[name].nunique(), name


def test_logon_type_names_and_odd_values():
    numbers, names = evtx_module._logon_types([3, 8, 0, 99, None, "10", {"#text": 2}])
    assert list(names) == [
        "3 - Network",
        "8 - NetworkCleartext",
        "0 - System",
        "99",
        "",
        "10 - RemoteInteractive",
        "2 - Interactive",
    ]
    assert numbers.dtype == np.float64 and np.isnan(numbers[4])
    text = evtx_module._text(["a", None, 3, {"#text": "x"}, [1, 2], True])
    assert list(text) == ["a", "", "3", "x", "[1, 2]", "true"]
    many = evtx_module._text(["a", None, 3, {"#text": "x"}, [1, 2], True] * 400)
    assert list(many[:6]) == list(text)


def test_times_outside_the_datetime_range_are_missing_not_wrapped():
    # A blank record carries FILETIME 0 (1601-01-01); numpy's nanosecond
    # parser would silently wrap it to 2185.
    values = ["1601-01-01T00:00:00.000000Z", "2019-03-18T22:15:36.036376Z", None, "x"]
    stamps = evtx_module._times_ns(values).view("datetime64[ns]")
    assert np.isnat(stamps[0]) and np.isnat(stamps[2]) and np.isnat(stamps[3])
    assert stamps[1] == np.datetime64("2019-03-18T22:15:36.036376")
    assert np.isnat(evtx_module._times_ns(values[:1]).view("datetime64[ns]")[0])


# --------------------------------------------------------------------------
# End to end: the account-days each log gives
# --------------------------------------------------------------------------
_COUNTS = [
    "Date",
    "DstDomain",
    "DstUser",
    "AttemptedLogons",
    "SuccessfulLogons",
    "FailedLogons",
    "ComputersSuccessfulAccess",
    "SrcIpSuccessfulAccess",
    "SrcHostNameSuccessfulAccess",
    "DistinctAuthenticationPackage",
    "ActiveMilliseconds",
]


def _summary(path: Path) -> tuple[list[tuple], dict[str, int]]:
    events, _ = read_evtx(path)
    table, dropped = user_day_summary(events, return_dropped=True)
    assert set(table["LogonTypeName"]) <= {"3 - Network"}
    return [tuple(row) for row in table[_COUNTS].itertuples(index=False)], dropped


def test_lateral_movement_account_days():
    rows, dropped = _summary(LATERAL)
    # Administrator: 3 Kerberos/NTLM logons from 10.0.2.17, workstation "" twice
    # and PC01 once, 22:15:49.583 to 22:15:49.614; user01 once; the machine
    # account's two logons are not counted.
    assert rows == [
        ("2019-03-18", "EXAMPLE", "Administrator", 3, 3, 0, 1, 1, 2, 2, 31),
        ("2019-03-18", "EXAMPLE", "user01", 1, 1, 0, 1, 1, 1, 1, 0),
    ]
    assert dropped["machine_account"] == 2
    assert sum(dropped.values()) == 2


def test_golden_ticket_account_days():
    rows, dropped = _summary(GOLDEN)
    # admmig 15:42:54.177 to 15:43:36.582; the forged not_existing_user once.
    assert rows == [
        ("2020-08-20", "OFFSEC", "admmig", 9, 9, 0, 1, 1, 1, 1, 42405),
        ("2020-08-20", "OFFSEC", "not_existing_user", 1, 1, 0, 1, 1, 1, 1, 0),
    ]
    assert sum(dropped.values()) == 0


def test_ssh_brute_force_account_days():
    rows, dropped = _summary(SSH)
    # The five failures are type 8 (cleartext), not network logons, and so is
    # the type 5 service logon: one network logon of admmig is left.
    assert rows == [("2021-05-21", "OFFSEC", "admmig", 1, 1, 0, 1, 1, 1, 1, 0)]
    assert dropped["not_network_logon"] == 6
    assert sum(dropped.values()) == 6


# --------------------------------------------------------------------------
# Files that are not EVTX, or cut inside the file header: one clear error
# --------------------------------------------------------------------------
def test_missing_empty_and_not_evtx_files(tmp_path):
    with pytest.raises(InputDataError, match="file not found"):
        read_evtx(tmp_path / "Security.evtx")
    with pytest.raises(InputDataError, match="not a regular file"):
        read_evtx(tmp_path)
    empty = _write(tmp_path, "empty.evtx", b"")
    with pytest.raises(InputDataError, match=r"empty\.evtx: file is empty"):
        read_evtx(empty)
    text = _write(tmp_path, "export.evtx", b"TimeGenerated,EventID\n2024-01-01,4624\n")
    with pytest.raises(InputDataError, match=r"export\.evtx: not an EVTX file .*ElfFile"):
        read_evtx(text)
    short = _write(tmp_path, "short.evtx", b"Elf")
    with pytest.raises(InputDataError, match=r"short\.evtx: not an EVTX file"):
        read_evtx(short)


def test_file_cut_inside_its_header(tmp_path):
    cut = _write(tmp_path, "cut.evtx", LATERAL.read_bytes()[:2000])
    with pytest.raises(InputDataError, match=r"cut\.evtx: truncated inside its 4096-byte"):
        read_evtx(cut)


def test_bad_max_records():
    for bad in (0, -1, 1.5, True, "10"):
        with pytest.raises(ParameterError, match="max_records"):
            read_evtx(LATERAL, max_records=bad)


def test_max_records_stops_and_says_so():
    events, info = read_evtx(LATERAL, max_records=3)
    intact, _ = read_evtx(LATERAL)
    _frames_equal(events, intact.head(3))
    assert info["records_read"] == 3 and info["stopped_at_max_records"]
    assert any("max_records=3" in problem for problem in info["problems"])


# --------------------------------------------------------------------------
# Damage inside a valid file costs only what it touches, and is reported
# --------------------------------------------------------------------------
@pytest.mark.parametrize("complete", [1, 2, 4, 7])
def test_truncated_file_keeps_the_complete_records(tmp_path, complete):
    data = LATERAL.read_bytes()
    records = _record_offsets(data)
    assert len(records) == 8
    offset, size = records[complete]  # cut 100 bytes into the next record
    path = _write(tmp_path, "Security.evtx", data[: offset + min(100, size - 1)])
    events, info = read_evtx(path)
    intact, _ = read_evtx(LATERAL)
    # Records 5 and 6 are the two 4688s: the logons among the first records.
    logons = [0, 1, 2, 3, 3, 3, 4, 5][complete - 1] + 1
    _frames_equal(events, intact.head(logons))
    assert info["truncated"] and info["records_read"] == complete
    assert info["unreadable_records"] == 8 - complete
    assert info["bytes_skipped"] == 100
    assert info["chunks"] == 1 and info["chunks_skipped"] == 0
    assert any(
        problem.startswith(f"{path}: the file ends") and "truncated" in problem
        for problem in info["problems"]
    )
    assert any(f"{8 - complete} record(s) could not be read" in p for p in info["problems"])


def test_file_cut_after_its_last_record_loses_nothing(tmp_path):
    data = LATERAL.read_bytes()
    path = _write(tmp_path, "Security.evtx", data[:-1000])
    events, info = read_evtx(path)
    _frames_equal(events, read_evtx(LATERAL)[0])
    assert info["truncated"] and info["unreadable_records"] == 0 and info["bytes_skipped"] == 0
    assert len(info["problems"]) == 1 and "truncated" in info["problems"][0]


def test_file_cut_before_any_record_is_an_error(tmp_path):
    path = _write(tmp_path, "Security.evtx", LATERAL.read_bytes()[: HEADER + 100])
    with pytest.raises(InputDataError, match=r"Security\.evtx: no event record could be read"):
        read_evtx(path)


def test_damaged_record_is_skipped_and_reported(tmp_path):
    data = bytearray(LATERAL.read_bytes())
    offset, _ = _record_offsets(bytes(data))[2]
    data[offset + 60 : offset + 110] = bytes(range(200, 250))
    path = _write(tmp_path, "Security.evtx", bytes(data))
    events, info = read_evtx(path)
    intact, _ = read_evtx(LATERAL)
    _frames_equal(events, intact.drop(index=2))
    assert info["unreadable_records"] == 1 and info["records_read"] == 7
    (problem,) = info["problems"]
    assert problem.startswith(f"{path}: at least 1 record(s) could not be read")
    assert "record number 3" in problem


def test_damaged_record_header_loses_the_rest_of_its_chunk(tmp_path):
    data = bytearray(LATERAL.read_bytes())
    offset, _ = _record_offsets(bytes(data))[2]
    data[offset : offset + 4] = b"XXXX"
    path = _write(tmp_path, "Security.evtx", bytes(data))
    events, info = read_evtx(path)
    _frames_equal(events, read_evtx(LATERAL)[0].head(2))
    assert info["unreadable_records"] == 6
    (problem,) = info["problems"]
    assert "6 record(s) could not be read (the chunks hold 8, 2 were read)" in problem
    assert "record header magic" in problem


def test_damaged_chunk_is_skipped_and_the_others_read(tmp_path):
    data = LATERAL.read_bytes()
    header, chunk = data[:HEADER], data[HEADER:]
    path = _write(tmp_path, "Security.evtx", header + b"XXXXXXXX" + chunk[8:] + chunk)
    events, info = read_evtx(path)
    _frames_equal(events, read_evtx(LATERAL)[0])
    assert (info["chunks"], info["chunks_skipped"], info["bytes_skipped"]) == (2, 1, CHUNK)
    assert info["unreadable_records"] == 8
    assert f"{path}: chunk 0 (at byte 4,096) skipped: its header is damaged." in info["problems"]


def test_a_damaged_chunk_header_is_not_a_silent_loss(tmp_path):
    # The parser trusts the chunk header's free-space offset (where its records
    # end); damaged to 0 it reads nothing from the chunk and says nothing. The
    # header checksum tells, and the records are counted by their own headers.
    data = LATERAL.read_bytes()
    header, chunk = data[:HEADER], bytearray(data[HEADER:])
    struct.pack_into("<I", chunk, 48, 0)
    path = _write(tmp_path, "Security.evtx", header + bytes(chunk) + data[HEADER:])
    events, info = read_evtx(path)
    _frames_equal(events, read_evtx(LATERAL)[0])
    assert info["unreadable_records"] == 8 and info["records_read"] == 8
    (problem,) = info["problems"]
    assert problem.startswith(f"{path}: 8 record(s) could not be read (the chunks hold 16")
    assert "damaged header of chunk(s) 0" in problem


def test_a_blank_chunk_header_over_records_is_damage(tmp_path):
    data = LATERAL.read_bytes()
    header, chunk = data[:HEADER], data[HEADER:]
    path = _write(tmp_path, "Security.evtx", header + chunk + bytes(512) + chunk[512:])
    events, info = read_evtx(path)
    _frames_equal(events, read_evtx(LATERAL)[0])
    assert info["chunks_skipped"] == 1 and info["unreadable_records"] == 8


def test_unused_chunks_are_not_damage(tmp_path):
    data = LATERAL.read_bytes()
    header, chunk = data[:HEADER], data[HEADER:]
    path = _write(tmp_path, "Security.evtx", header + bytes(CHUNK) + chunk + bytes(CHUNK))
    events, info = read_evtx(path)
    _frames_equal(events, read_evtx(LATERAL)[0])
    assert info["problems"] == [] and info["chunks_skipped"] == 0 and info["chunks"] == 3


def test_only_damaged_chunks_is_an_error(tmp_path):
    data = LATERAL.read_bytes()
    path = _write(tmp_path, "Security.evtx", data[:HEADER] + b"XXXXXXXX" + data[HEADER + 8 :])
    with pytest.raises(InputDataError) as caught:
        read_evtx(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: no event record could be read: chunk 0")
    assert "\n" not in message


def test_a_log_with_no_records_is_empty_not_an_error(tmp_path):
    path = _write(tmp_path, "Security.evtx", LATERAL.read_bytes()[:HEADER])
    events, info = read_evtx(path)
    assert events.empty and list(events.columns) == EVTX_COLUMNS
    assert str(events["TimeGenerated"].dtype) == "datetime64[ns, UTC]"
    assert events["EventID"].dtype == np.int64
    assert info["rows"] == 0 and info["records_read"] == 0 and info["problems"] == []
    table = user_day_summary(events)
    assert table.empty


@pytest.mark.parametrize("seed", range(40))
def test_random_damage_never_escapes_as_a_traceback(tmp_path, seed):
    rng = random.Random(seed)
    data = bytearray(rng.choice(SAMPLES).read_bytes())
    end = _record_offsets(bytes(data))[-1][0] + 600
    for _ in range(rng.choice([1, 4, 16, 64])):
        position = rng.randrange(HEADER, end)
        data[position] = rng.randrange(256)
    if rng.random() < 0.3:
        data = data[: rng.randrange(HEADER, len(data))]
    path = _write(tmp_path, "Security.evtx", bytes(data))
    try:
        events, info = read_evtx(path)
    except InputDataError as exc:
        assert str(exc).startswith(f"{path}: ") and "\n" not in str(exc)
        return
    assert list(events.columns) == EVTX_COLUMNS and len(events) <= 10
    assert info["records_read"] >= len(events)
    assert set(events["EventID"]) <= {4624, 4625}
    for problem in info["problems"]:
        assert problem.startswith(f"{path}: ") and "\n" not in problem
    try:  # whatever was read summarizes, or is refused with one clear error
        user_day_summary(events)
    except InputDataError as exc:
        assert "TimeGenerated" in str(exc)

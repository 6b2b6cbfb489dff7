"""The .evtx reader's batch decoding gives the rows of a plain record-by-record reading."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from evtx import PyEvtxParser

import msticnb_iforest.sources.readers.evtx as evtx_module
from msticnb_iforest.errors import InputDataError
from msticnb_iforest.schema import collect_input_notes
from msticnb_iforest.sources.readers import read_tables
from msticnb_iforest.sources.readers.evtx import EVTX_COLUMNS, LOGON_TYPE_NAMES, read_evtx
from msticnb_iforest.sources.readers.evtx_table import event_data_table, to_frame

from ..conftest import SHARED

SAMPLES = sorted((SHARED / "evtx").glob("*.evtx"))
HEADER = 4096
TEXT_FIELDS = evtx_module._TEXT_FIELDS

# How a batch's logon events are decoded: Arrow's JSON reader for any batch,
# one json call for any batch, or each record on its own (the reference).
MODES = ["arrow", "json", "each"]


def _use(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if mode == "arrow":
        monkeypatch.setattr(evtx_module, "_BULK_ROWS", 1)
    elif mode == "json":
        monkeypatch.setattr(evtx_module, "_BULK_ROWS", 10**9)
    else:
        monkeypatch.setattr(evtx_module, "_split_records", lambda texts: None)


def _read(path: Path) -> tuple[pd.DataFrame, dict] | str:
    try:
        return read_evtx(path)
    except InputDataError as exc:
        return str(exc)


def _plain_frame(path: Path) -> pd.DataFrame:
    """The logon rows of a log, read with json one record at a time and nothing else."""
    rows = []
    for record in PyEvtxParser(str(path)).records_json():
        event = json.loads(record["data"])["Event"]
        system, data = event["System"], event.get("EventData") or {}
        if system["EventID"] not in (4624, 4625):
            continue
        logon_type = data.get("LogonType")
        row = {name: "" if data.get(name) is None else data[name] for name in EVTX_COLUMNS}
        row.update(
            TimeGenerated=pd.Timestamp(system["TimeCreated"]["#attributes"]["SystemTime"]),
            EventID=system["EventID"],
            Computer=system["Computer"],
            LogonType=logon_type,
            LogonTypeName=LOGON_TYPE_NAMES.get(logon_type, str(logon_type)),
        )
        rows.append(row)
    frame = pd.DataFrame(rows, columns=EVTX_COLUMNS)
    frame["TimeGenerated"] = frame["TimeGenerated"].dt.as_unit("ns")
    return frame


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_every_decoding_gives_the_rows_of_a_plain_reading(path, mode, monkeypatch):
    _use(mode, monkeypatch)
    monkeypatch.setattr(evtx_module, "_BATCH_ROWS", 4)  # several batches per log
    events, _ = read_evtx(path)
    pd.testing.assert_frame_equal(events, _plain_frame(path), check_exact=True)


def _damaged(tmp_path: Path, seed: int) -> Path:
    rng = random.Random(seed)
    data = bytearray(rng.choice(SAMPLES).read_bytes())
    for _ in range(rng.choice([1, 4, 16, 64])):
        position = rng.randrange(HEADER, HEADER + 12_000)
        data[position] = rng.randrange(256)
    if rng.random() < 0.3:
        data = data[: rng.randrange(HEADER, len(data))]
    path = tmp_path / f"damaged_{seed}.evtx"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("seed", range(30))
def test_damaged_logs_read_alike_in_batches_and_record_by_record(tmp_path, seed, monkeypatch):
    path = _damaged(tmp_path, seed)
    results = {}
    for mode in MODES:
        with monkeypatch.context() as patch:
            _use(mode, patch)
            patch.setattr(evtx_module, "_BATCH_ROWS", [3, 5, 8192][seed % 3])
            results[mode] = _read(path)
    reference = results.pop("each")
    for mode, result in results.items():
        if isinstance(reference, str):
            assert result == reference, mode
            continue
        pd.testing.assert_frame_equal(result[0], reference[0], check_exact=True)
        assert result[1] == reference[1], mode


def _texts(path: Path) -> list[str]:
    return [record["data"] for record in PyEvtxParser(str(path)).records_json()]


def _odd_records(text: str) -> list[str]:
    """Valid variants of a logon record that a batch must not decode in bulk."""
    head, _, body = text.partition('"EventData":')
    data = json.loads(body[:-2])
    variants = []
    for change in (
        {"TargetUserName": 42},  # a number where text is expected
        {"IpAddress": {"#text": "10.0.0.1"}},  # an element with attributes
        {"LogonType": "3"},  # a number as text
        {"LogonType": 3.0},
        {"WorkstationName": True},
        {"IpPort": None},
    ):
        variants.append(head + '"EventData":' + json.dumps({**data, **change}) + "}}")
    variants.append(head + '"EventData":null}}')
    variants.append(head + '"EventData":' + body[:-3] + ',"TargetUserName":"twice"}}}')
    qualified = '"EventID":{"#attributes":{"Qualifiers":0},"#text":4624}'
    variants.append(text.replace('"EventID":4624', qualified))
    return variants


def _batch(texts: list[str], mode: str, monkeypatch: pytest.MonkeyPatch) -> tuple:
    with monkeypatch.context() as patch:
        _use(mode, patch)
        reader = evtx_module._RecordReader(Path("Security.evtx"), None, evtx_module._Columns())
        reader._add_batch(texts)
        frame = to_frame(reader.columns.table())
    return frame, reader.dropped, reader.unreadable, reader.reasons


@pytest.mark.parametrize("mode", ["arrow", "json"])
def test_a_batch_with_an_odd_record_is_decoded_as_record_by_record(mode, monkeypatch):
    texts = _texts(SAMPLES[0]) + _texts(SAMPLES[1])
    logon = next(text for text in texts if '"EventID":4624' in text)
    for odd in _odd_records(logon):
        batch = [*texts[:5], odd, *texts[5:]]
        got = _batch(batch, mode, monkeypatch)
        expected = _batch(batch, "each", monkeypatch)
        pd.testing.assert_frame_equal(got[0], expected[0], check_exact=True)
        assert got[1:] == expected[1:]


def test_bulk_decoding_declines_what_json_would_read_otherwise():
    fields = ["TargetUserName", "IpAddress"]
    assert event_data_table(['{"TargetUserName":1}'], fields) is None
    assert event_data_table(['{"TargetUserName":"a","TargetUserName":"b"}'], fields) is None
    assert event_data_table(['{"TargetUserName":"\\ud800"}'], fields) is None
    assert event_data_table(['{"IpAddress":"a"} {"IpAddress":"b"}'], fields) is None
    assert event_data_table(['{"LogonType":"3"}'], fields) is None
    assert event_data_table(['{"LogonType":3.5}'], fields) is None
    assert event_data_table(['{"LogonType":99999999999999999999}'], fields) is None
    assert event_data_table(['{"IpAddress":"a"},"More":{}'], fields) is None
    bodies = [
        '{"TargetUserName":"Jos\\u00e9 \\"x\\"\\\\y","LogonType":3,"Other":[1,{"a":null}]}',
        '{"IpAddress":null,"LogonType":null,"TargetUserName":"\\ud83d\\ude00"}',
        "{}",
    ]
    table = event_data_table(bodies, fields)
    decoded = [json.loads(body) for body in bodies]
    for name in [*fields, "LogonType"]:
        assert table.column(name).to_pylist() == [item.get(name) for item in decoded], name


# --------------------------------------------------------------------------
# A folder of logs: read onto one stack, the frame stacking their frames gives
# --------------------------------------------------------------------------
def _folder_of_logs(tmp_path: Path) -> Path:
    folder = tmp_path / "logs"
    folder.mkdir()
    for copy in range(2):
        for sample in SAMPLES:
            shutil.copy(sample, folder / f"{copy}_{sample.name}")
    data = SAMPLES[0].read_bytes()
    (folder / "2_empty.evtx").write_bytes(data[:HEADER])  # a log without records
    (folder / "3_cut.evtx").write_bytes(data[: len(data) - 60_000])  # truncated
    return folder


def test_a_folder_of_logs_reads_as_its_logs_stacked(tmp_path):
    folder = _folder_of_logs(tmp_path)
    with collect_input_notes() as notes:
        events, info = read_tables([folder])
    logs = sorted(folder.iterdir())
    frames = [read_evtx(path)[0] for path in logs]
    expected = pd.concat(frames, ignore_index=True, sort=False)
    pd.testing.assert_frame_equal(events, expected, check_exact=True)
    assert info == [
        {"path": str(path), "rows": len(frame), "format": "evtx"}
        for path, frame in zip(logs, frames, strict=True)
    ]
    assert any("3_cut.evtx" in note and "truncated" in note for note in notes)
    for name in TEXT_FIELDS:  # one str per distinct value across the logs
        assert len({id(value) for value in events[name]}) == events[name].nunique(), name


def test_stacked_tables_give_the_frame_of_stacked_frames():
    # A log whose rows all carry LogonType gives int64, one where some lack it
    # float64 with NaN, a log without rows int64: stacked, as pandas stacks them.
    columns = evtx_module._Columns()
    evtx_module._read_into(SAMPLES[0], None, columns)
    full = columns.table()
    lacking = full.set_column(
        EVTX_COLUMNS.index("LogonType"),
        "LogonType",
        pa.array([None] + full.column("LogonType").to_pylist()[1:], pa.int64()),
    )
    empty = full.slice(0, 0)
    for tables in ([full, lacking], [empty, full], [lacking, empty, full], [empty, empty]):
        expected = pd.concat([to_frame(t) for t in tables], ignore_index=True, sort=False)
        got = to_frame(pa.concat_tables(tables))
        pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_a_missing_log_in_a_list_of_logs_is_named(tmp_path):
    with pytest.raises(InputDataError, match=r"gone\.evtx: file not found"):
        read_tables([SAMPLES[0], tmp_path / "gone.evtx"])
    (tmp_path / "empty.evtx").write_bytes(b"")
    with pytest.raises(InputDataError, match=r"empty\.evtx: file is empty"):
        read_tables([SAMPLES[0], tmp_path / "empty.evtx"])

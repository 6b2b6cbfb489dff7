"""Raw-event files summarized where they are: scan_tables, EventFiles and the way in."""

from __future__ import annotations

import gzip
import json
import re
import shutil

import pandas as pd
import pytest
from msticpy.common.timespan import TimeSpan

from msticnb_iforest.errors import InputDataError
from msticnb_iforest.frontends.cli import main
from msticnb_iforest.pipeline import hunt
from msticnb_iforest.sources.demo import generate_demo
from msticnb_iforest.sources.readers import EventFiles, read_tables, scan_tables
from msticnb_iforest.summarize.columnar import engine_summary
from msticnb_iforest.summarize.prepare import SUMMARIZERS, prepare

from ..conftest import SHARED

EVTX = sorted((SHARED / "evtx").glob("*.evtx"))
TABLES = sorted(SUMMARIZERS)


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return generate_demo(n_users=25, n_days=8, seed=5).events


@pytest.fixture
def files(tmp_path, events):
    """The demo's events split over a Parquet, a gzipped CSV and a TSV file, in a folder."""
    folder = tmp_path / "in"
    folder.mkdir()
    third = len(events) // 3
    events.iloc[:third].to_parquet(folder / "a.parquet", index=False)
    events.iloc[third : 2 * third].to_csv(folder / "b.csv.gz", index=False)
    events.iloc[2 * third :].to_csv(folder / "c.tsv", index=False, sep="\t")
    return folder


def test_raw_event_files_are_scanned_not_read(files):
    found, info = scan_tables(files)
    assert isinstance(found, EventFiles)
    assert found.formats == ("parquet", "csv.gz", "tsv")
    assert [p.name for p in found.paths] == ["a.parquet", "b.csv.gz", "c.tsv"]
    assert info == []  # rows are counted as the engine reads them


@pytest.mark.parametrize("table", TABLES)
def test_files_summarize_as_the_frame_read_from_them(files, table):
    scanned, _ = scan_tables(files)
    frame, info = read_tables(files)
    found = engine_summary(scanned, table, start="2024-03-02", end="2024-03-06 12:00")
    oracle, dropped = SUMMARIZERS[table](
        frame, start="2024-03-02", end="2024-03-06 12:00", return_dropped=True
    )
    pd.testing.assert_frame_equal(found.table, oracle, check_exact=True)
    assert found.dropped == dropped
    assert found.inputs == info  # the same path, rows and format per file


@pytest.mark.parametrize("table", TABLES)
def test_event_logs_summarize_as_the_frame_read_from_them(table):
    scanned, _ = scan_tables(EVTX)
    assert scanned.formats == ("evtx",) * len(EVTX)
    frame, info = read_tables(EVTX)
    found = engine_summary(scanned, table)
    oracle, dropped = SUMMARIZERS[table](frame, return_dropped=True)
    pd.testing.assert_frame_equal(found.table, oracle, check_exact=True)
    assert found.dropped == dropped
    assert found.inputs == info


def test_event_logs_and_csv_stack_with_their_nanoseconds(tmp_path):
    frame, _ = read_tables(EVTX[:1])
    exported = frame.assign(
        TimeGenerated=frame["TimeGenerated"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    )
    exported.to_csv(tmp_path / "export.csv", index=False)
    scanned, _ = scan_tables([*EVTX, tmp_path / "export.csv"])
    both = pd.concat([read_tables(EVTX)[0], exported], ignore_index=True)
    found = engine_summary(scanned, "user_day_summary")
    oracle = SUMMARIZERS["user_day_summary"](both)
    pd.testing.assert_frame_equal(found.table, oracle, check_exact=True)


def _rest_response(frame: pd.DataFrame) -> dict:
    """A Log Analytics query response holding `frame`."""
    columns = [{"name": name, "type": "string"} for name in frame.columns]
    rows = json.loads(frame.to_json(orient="values", date_format="iso"))
    return {"tables": [{"name": "PrimaryResult", "columns": columns, "rows": rows}]}


@pytest.mark.parametrize("table", TABLES)
def test_json_files_summarize_as_the_frame_read_from_them(tmp_path, events, table):
    part = events.head(3000)
    part.to_json(tmp_path / "a.jsonl", orient="records", lines=True, date_format="iso")
    part.to_json(tmp_path / "b.json", orient="records", date_format="iso", indent=1)
    with gzip.open(tmp_path / "c.ndjson.gz", "wt") as handle:
        handle.write(part.to_json(orient="records", lines=True, date_format="epoch"))
    scanned, info = scan_tables(tmp_path)
    assert isinstance(scanned, EventFiles) and info == []
    assert scanned.formats == ("jsonl", "json", "ndjson.gz")
    frame, info = read_tables(tmp_path)
    found = engine_summary(scanned, table)
    oracle, dropped = SUMMARIZERS[table](frame, return_dropped=True)
    pd.testing.assert_frame_equal(found.table, oracle, check_exact=True)
    assert found.dropped == dropped
    assert found.inputs == info  # the reader's layout names: jsonl, json, jsonl.gz


def test_tables_and_rest_responses_are_read_as_before(tmp_path, events, demo_table):
    demo_table.to_csv(tmp_path / "days.csv", index=False)
    found, info = scan_tables(tmp_path / "days.csv")
    assert isinstance(found, pd.DataFrame) and info[0]["rows"] == len(demo_table)
    demo_table.to_json(tmp_path / "days.jsonl", orient="records", lines=True)
    found, info = scan_tables(tmp_path / "days.jsonl")
    assert isinstance(found, pd.DataFrame) and info[0]["format"] == "jsonl"
    response = tmp_path / "response.json"
    response.write_text(json.dumps(_rest_response(events.head(40))))
    found, info = scan_tables(response)
    assert isinstance(found, pd.DataFrame) and info[0]["format"] == "json-tables"


def test_json_limits_apply_as_each_file_is_read(tmp_path, events):
    events.head(200).to_json(tmp_path / "a.jsonl", orient="records", lines=True)
    scanned, _ = scan_tables(tmp_path, max_bytes=1000)  # a JSON file is measured as read
    with pytest.raises(InputDataError, match=r"a\.jsonl: more than 1,000 bytes of text"):
        engine_summary(scanned)


def test_raw_events_and_a_summary_table_are_refused_together(files, demo_table):
    demo_table.to_csv(files / "days.csv", index=False)
    with pytest.raises(InputDataError, match="days.csv is a per-user-day summary"):
        scan_tables(files)


def test_limits_are_checked_before_any_work(files, tmp_path):
    with pytest.raises(InputDataError, match=r"a\.parquet: .* more than the limit of 10 per file"):
        scan_tables(files, max_rows=10)
    with pytest.raises(InputDataError, match=r"b\.csv\.gz: more than .* after decompression"):
        scan_tables(files / "b.csv.gz", max_bytes=1000)
    (tmp_path / "x.csv").write_bytes("\ufeffa,b".encode("utf-16"))
    with pytest.raises(InputDataError, match="x.csv: cannot read as csv: the text is UTF-16"):
        scan_tables(tmp_path / "x.csv")


def test_max_rows_of_a_csv_file_is_checked_once_its_rows_are_counted(files, events):
    scanned, _ = scan_tables(files / "c.tsv", max_rows=10)  # a header tells no row count
    with pytest.raises(InputDataError, match=r"c\.tsv: [\d,]+ rows, more than the limit of 10"):
        prepare(scanned, "account_day_summary")


def test_a_damaged_file_is_named(tmp_path, events):
    path = tmp_path / "events.parquet"
    events.head(100).to_parquet(path, index=False)
    path.write_bytes(path.read_bytes()[:-200])  # footer cut
    with pytest.raises(InputDataError, match="events.parquet"):
        scan_tables(path)
    good = tmp_path / "good.csv.gz"
    events.head(100).to_csv(good, index=False)
    data = gzip.decompress(good.read_bytes())
    (tmp_path / "cut.csv.gz").write_bytes(gzip.compress(data)[:-30])
    scanned, _ = scan_tables(tmp_path / "good.csv.gz")
    cut = EventFiles((tmp_path / "cut.csv.gz",), ("csv.gz",), scanned.limits)
    with pytest.raises(InputDataError, match="cut.csv.gz"):
        engine_summary(cut, "user_day_summary")


def test_hunting_files_equals_hunting_the_frame_and_lists_them(files):
    scanned, _ = scan_tables(files)
    frame, info = read_tables(files)
    messages: list[str] = []
    on_files = hunt(scanned, progress=messages.append, max_explained=20)
    on_frame = hunt(frame, max_explained=20)
    pd.testing.assert_frame_equal(on_files.user_days, on_frame.user_days)
    pd.testing.assert_frame_equal(on_files.outliers, on_frame.outliers)
    assert on_files.input_files == info and on_frame.input_files == []
    assert any(m.startswith("Reading file 1 of 3: a.parquet") for m in messages)
    total = sum(item["rows"] for item in info)
    assert f"Summarizing {total:,} events from 3 file(s)" in messages
    assert f"Summarized into {len(on_frame.user_days):,} account-days" in messages


def test_the_command_line_summarizes_files_in_the_engine(files, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(files), "--out", str(out), "-v", "--memory-limit", "64M"]) == 0
    err = capsys.readouterr().err
    assert "Reading file 1 of 3: a.parquet (parquet)" in err
    assert "events from 3 file(s)" in err
    run = json.loads((out / "run.json").read_text())
    assert [item["format"] for item in run["inputs"]] == ["parquet", "csv.gz", "tsv"]
    assert all(item["rows"] > 0 for item in run["inputs"])
    frame_out = tmp_path / "frame"
    frame, _ = read_tables(files)
    frame.to_json(tmp_path / "events.jsonl", orient="records", lines=True, date_format="iso")
    assert main(["run", str(tmp_path / "events.jsonl"), "--out", str(frame_out), "-q"]) == 0
    assert "Reading file" not in capsys.readouterr().err
    pd.testing.assert_frame_equal(
        pd.read_csv(out / "user_days.csv"), pd.read_csv(frame_out / "user_days.csv")
    )


def test_the_command_line_refuses_a_small_memory_limit(files, tmp_path, capsys):
    assert main(["run", str(files), "--out", str(tmp_path / "o"), "--memory-limit", "1M"]) == 2
    err = capsys.readouterr().err
    assert "--memory-limit: must be a size such as '4G' (at least 64 MiB)" in err


def test_localdata_hands_raw_event_files_to_the_engine(local_folder, events, monkeypatch):
    import msticnb as nb

    from msticnb_iforest.sources import local

    folder, init = local_folder
    events.to_parquet(folder / "anomalous_logons_events.parquet", index=False)
    shutil.copy(EVTX[0], folder / "anomalous_logons_events_dc01.evtx")
    found, info = local.scan_local([folder], "account_day_summary")
    assert isinstance(found, EventFiles) and info == []

    def no_frame(*args, **kwargs):
        raise AssertionError("raw events were read into one frame")

    monkeypatch.setattr(local, "read_tables", no_frame)
    init()
    result = nb.nblts.custom.AnomalousLogonUsers().run(
        timespan=TimeSpan(start=events["TimeGenerated"].min(), end=events["TimeGenerated"].max()),
        options=["-plot_outliers", "-plot_trends", "-plot_population"],
        memory_limit="256M",
    )
    formats = [item["format"] for item in result.input_files]
    assert sorted(formats) == ["evtx", "parquet"]
    assert sum(item["rows"] for item in result.input_files) == len(events) + 10
    assert len(result.user_days) > 0


@pytest.mark.parametrize("batch", [1, 12, 10**6])
def test_decoded_files_are_written_in_batches_with_the_same_summary(tmp_path, monkeypatch, batch):
    from msticnb_iforest.summarize.columnar import inputs

    logs = [tmp_path / f"{i}-{path.name}" for i in range(3) for path in EVTX]
    for log, path in zip(logs, EVTX * 3, strict=True):
        shutil.copy(path, log)
    written: list[int] = []
    flush = inputs._Decoded._flush

    def counted(self):
        written.append(self.rows)
        flush(self)

    monkeypatch.setattr(inputs._Decoded, "batch", batch)
    monkeypatch.setattr(inputs._Decoded, "_flush", counted)
    scanned, _ = scan_tables(tmp_path)
    found = engine_summary(scanned, "account_day_summary")
    frame, info = read_tables(tmp_path)
    oracle = SUMMARIZERS["account_day_summary"](frame)
    pd.testing.assert_frame_equal(found.table, oracle, check_exact=True)
    assert found.inputs == info
    full = [rows for rows in written if rows]  # rows of each file written
    assert sum(full) == sum(item["rows"] for item in info)
    assert all(rows >= batch for rows in full[:-1])  # a file is written once a batch is full
    assert len(full) == (len(logs) if batch == 1 else 1 if batch > sum(full) else len(full))
    assert batch != 12 or 1 < len(full) < len(logs)


def test_the_notebook_prints_progress_unless_msticnb_is_silent(nb_local, capsys):
    from msticnb_iforest.frontends import notebook as nbs

    nb_local.set_opt("silent", False)
    try:
        show = nbs.progress_printer()
        show("Reading file 1 of 2: a.evtx (evtx)")
        assert re.fullmatch(
            r"\[\s+\d+\.\ds\] Reading file 1 of 2: a\.evtx \(evtx\)\n", capsys.readouterr().err
        )
    finally:
        nb_local.set_opt("silent", True)
    assert nbs.progress_printer() is None


def test_a_silent_notebooklet_run_still_tells_its_own_progress(local_folder, events):
    import msticnb as nb

    folder, init = local_folder
    events.to_parquet(folder / "anomalous_logons_events.parquet", index=False)
    init()
    told: list[str] = []
    nb.nblts.custom.AnomalousLogonUsers().run(
        timespan=TimeSpan(start=events["TimeGenerated"].min(), end=events["TimeGenerated"].max()),
        options=["-plot_outliers", "-plot_trends", "-plot_population"],
        silent=True,
        progress=told.append,
    )
    assert told[0] == "Preparing the per-user-day table"
    assert any(m.startswith("Summarizing ") and m.endswith(" events from 1 file(s)") for m in told)
    assert "Grouping the outliers into incidents" in told

"""
Hostile files, counts and dates.

* Stated limits (decompressed size, rows, columns, JSON depth) end a bomb in
  one `InputDataError` naming the file, the limit and how to raise it; the
  bombs that used to crash the process run through the capped command line.
* Numbers that do not fit a count are an error naming the column.
* One day/month order per date column, decided from the whole column.
* A flagged day at either end of the accepted date range goes end to end.
* Every spelling of a missing count is taken as missing, from any format.
* Arguments of `read_table(s)` that are not paths are documented errors.
* A small fuzz pass over the readers through the command line.
"""

from __future__ import annotations

import gzip
import io
import json
import random
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from msticpy.common.timespan import TimeSpan

from msticnb_iforest import AnomalousLogonUsers
from msticnb_iforest.errors import InputDataError, ParameterError
from msticnb_iforest.frontends.cli import main
from msticnb_iforest.pipeline import hunt
from msticnb_iforest.present.figures import make_plots
from msticnb_iforest.present.links import account_links
from msticnb_iforest.present.outputs import write_outputs
from msticnb_iforest.schema import MAX_COUNT, collect_input_notes, parse_dates, prepare_summary
from msticnb_iforest.sources import readers
from msticnb_iforest.sources.readers import (
    MAX_DEPTH,
    delimited,
    jsonfiles,
    limits,
    read_table,
    read_tables,
)
from msticnb_iforest.summarize.user_days import user_day_summary

from ..bad_input_cases import TREES, set_cells
from ..capped import assert_clean_exit, run_cli

FAST = {"n_estimators": TREES, "shap": False}


def _one_line_error(code: int, err: str, *needles: str) -> str:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("msticnb-iforest: error: "), err
    for needle in needles:
        assert re.search(needle, lines[0]), lines[0]
    return lines[0]


def _cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


# --------------------------------------------------------------------------
# 1. Limits
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.jsonl", _nested(200) + "\n"),
        ("deep_array.json", "[" * 100_000 + "]" * 100_000),
        ("deep_pretty.json", "{\n" + _nested(100).replace(":", ":\n") + "\n}"),
        (
            "deep_rest.json",
            json.dumps({"tables": [{"columns": [{"name": "a"}], "rows": [[1]]}]}).replace(
                "[[1]]", "[[" + "[" * 100 + "1" + "]" * 100 + "]]"
            ),
        ),
    ],
)
def test_deep_json_is_refused_before_any_parser(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputDataError, match=rf"{name}: JSON nested deeper than 64 .*max_depth"):
        read_table(path)


def test_depth_limit_is_stated_and_can_be_raised(tmp_path):
    assert MAX_DEPTH == 64
    at_limit = tmp_path / "at_limit.jsonl"
    at_limit.write_text(_nested(MAX_DEPTH) + "\n")
    assert read_table(at_limit).shape == (1, 1)
    deeper = tmp_path / "deeper.jsonl.gz"
    deeper.write_bytes(gzip.compress((_nested(MAX_DEPTH + 1) + "\n").encode()))
    with pytest.raises(InputDataError, match=r"deeper\.jsonl\.gz: .*than 64 levels \(line 1\)"):
        read_table(deeper)
    assert read_table(deeper, max_depth=MAX_DEPTH + 1).shape == (1, 1)


def test_brackets_and_escaped_quotes_in_strings_do_not_nest(tmp_path):
    value = '[[[{{{ \\" ]]] \\\\" ' * 50  # brackets, an escaped quote, an escaped backslash
    rows = [{"TargetUserName": value, "n": i} for i in range(3)]
    path = tmp_path / "strings.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert read_table(path)["TargetUserName"].tolist() == [value] * 3


def test_broken_json_is_refused_by_the_scan(tmp_path):
    over = tmp_path / "over.jsonl"
    over.write_text('{"a": "x\ny"}\n')
    with pytest.raises(InputDataError, match=r"over\.jsonl: invalid JSON: a string runs over"):
        read_table(over)
    closing = tmp_path / "closing.jsonl"
    closing.write_text('{"a": 1}\n' + "]" * 10 + "\n" + "[" * 10_000 + "\n")
    with pytest.raises(InputDataError, match=r"more closing than opening brackets on line 2"):
        read_table(closing)


def _reference_nesting(data: bytes, limit: int):
    """What `_JsonNesting` must find, one byte at a time: (problem, line) or None."""
    depth, inside, line, backslashes = 0, False, 1, 0
    for byte in data:
        char = chr(byte)
        escaped = backslashes % 2 == 1
        backslashes = backslashes + 1 if char == "\\" else 0
        if char == '"' and not escaped:
            inside = not inside
        elif char == "\n":
            if inside:
                return "string", line
            line += 1
        elif not inside and char in "[{":
            depth += 1
            if depth > limit:
                return "deeper", line
        elif not inside and char in "]}":
            depth -= 1
            if depth < 0:
                return "closing", line
    return None


def test_nesting_scan_agrees_with_a_byte_by_byte_reference():
    rng = random.Random(12)
    alphabet = '{}[]"' + "\\" * 8 + "a\n "
    for _ in range(3000):
        data = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 120))).encode()
        limit = rng.randint(1, 6)
        cuts = sorted(rng.randint(0, len(data)) for _ in range(rng.randint(0, 4)))
        scan = limits._JsonNesting(Path("f"), limit)
        found = None
        try:
            for start, stop in zip([0, *cuts], [*cuts, len(data)], strict=True):
                scan.feed(data[start:stop])
        except InputDataError as exc:
            kind = next(k for k in ("string", "deeper", "closing") if k in str(exc))
            found = kind, int(re.search(r"line (\d+)", str(exc))[1])
        assert found == _reference_nesting(data, limit), (data, limit, cuts)


def _gzip_bomb(path: Path, header: str, line: str, members: int, member_bytes: int) -> Path:
    """A gzip of `members` copies of one compressed member: tiny on disk, huge inside."""
    member = gzip.compress((line * (member_bytes // len(line))).encode(), compresslevel=9)
    with open(path, "wb") as handle:
        handle.write(gzip.compress(header.encode()))
        for _ in range(members):
            handle.write(member)
    return path


SUMMARY_HEADER = (
    "Date,DstDomain,DstUser,SuccessfulLogons,FailedLogons,"
    "ComputersSuccessfulAccess,SrcIpSuccessfulAccess\n"
)
SUMMARY_LINE = "9/19/2022,CONTOSO,ACC-01,1,0,1,1\n"


@pytest.mark.parametrize("suffix", [".csv.gz", ".jsonl.gz"])
def test_decompressed_size_is_limited(tmp_path, suffix):
    path = tmp_path / f"bomb{suffix}"
    if suffix == ".csv.gz":
        _gzip_bomb(path, SUMMARY_HEADER, SUMMARY_LINE, 3, 1 << 20)
    else:
        _gzip_bomb(path, "", '{"a": 1}\n', 3, 1 << 20)
    with pytest.raises(
        InputDataError,
        match=rf"bomb{re.escape(suffix)}: more than 1 MiB of text after decompression.*"
        r"max_bytes \(command line: --max-bytes\)",
    ):
        read_table(path, max_bytes=1 << 20)
    assert len(read_table(path, max_bytes=4 << 20)) > 90_000


def test_uncompressed_size_is_limited_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    path.write_text(SUMMARY_HEADER + SUMMARY_LINE * 100)
    monkeypatch.setattr(delimited.pa_csv, "read_csv", None)  # never reached
    with pytest.raises(InputDataError, match=r"big\.csv: more than 1 KiB of text, the limit"):
        read_table(path, max_bytes=1024)


@pytest.mark.parametrize("suffix", [".csv", ".json", ".jsonl", ".parquet"])
def test_row_limit(tmp_path, suffix):
    frame = pd.DataFrame({"a": range(11), "b": ["x"] * 11})
    path = tmp_path / f"rows{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_json(path, orient="records", lines=suffix == ".jsonl")
    with pytest.raises(
        InputDataError, match=r"rows\.\w+: 11 rows, more than the limit of 10 .*--max-rows"
    ):
        read_table(path, max_rows=10)
    assert len(read_table(path, max_rows=11)) == 11


def test_parquet_limits_are_read_from_the_footer(tmp_path, monkeypatch):
    path = tmp_path / "wide.parquet"
    pd.DataFrame({f"c{i}": [1, 2] for i in range(12)}).to_parquet(path)
    monkeypatch.setattr(pq, "read_table", None)  # the data is never read
    with pytest.raises(InputDataError, match=r"wide\.parquet: 2 rows, more than the limit of 1"):
        read_table(path, max_rows=1)
    with pytest.raises(InputDataError, match=r"wide\.parquet: 12 columns, more than .* 10 "):
        read_table(path, max_columns=10)


def test_a_csv_with_100k_columns_is_refused_after_its_header(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(100_000)) + "\n" + "1," * 99_999 + "1\n")
    with pytest.raises(InputDataError, match=r"wide\.csv: 100,000 columns, more than .* 10,000"):
        read_table(path)


def test_limits_must_be_positive_whole_numbers(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a\n1\n")
    for bad in (0, -1, 1.5, True, "4G", None):
        with pytest.raises(ParameterError, match=r"max_rows must be a whole number"):
            read_tables([path], max_rows=bad)
    assert readers.parse_size("4G") == 4 * 2**30
    assert readers.parse_size("500 MiB") == 500 * 2**20
    assert readers.parse_size("1024") == 1024
    with pytest.raises(ParameterError, match="size"):
        readers.parse_size("lots")


def test_running_out_of_memory_is_an_input_error(tmp_path, monkeypatch):
    path = tmp_path / "array.json"
    path.write_text(json.dumps([{"a": 1}]))

    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(jsonfiles.json, "load", exhausted)
    with pytest.raises(InputDataError, match=r"array\.json: not enough memory to read it"):
        read_table(path)


@pytest.mark.parametrize("value", [10**20, 10**400, -(10**30)])
def test_json_integers_beyond_int64_are_read(tmp_path, value):
    path = tmp_path / "big_int.json"
    rows = [{"DstUser": value, "FailedLogons": value}, {"DstUser": "x", "FailedLogons": 1}]
    path.write_text(json.dumps(rows))
    frame = read_table(path)
    assert frame["DstUser"].tolist() == [str(value), "x"]  # a text column keeps the digits
    assert abs(frame["FailedLogons"].iloc[0]) >= 1e20 and frame["FailedLogons"].iloc[1] == 1


def test_an_empty_json_array_is_no_rows(tmp_path, table, capsys):
    empty = tmp_path / "data" / "b_empty.json"
    empty.parent.mkdir()
    empty.write_text("[ ]\n")
    assert read_table(empty).shape == (0, 0)
    found = hunt(read_table(empty))
    assert found.notes == ["No user-days to score: the input has no rows."]
    table.to_csv(empty.parent / "a_summary.csv", index=False)  # stacks with other files
    frame, info = read_tables([empty.parent])
    assert len(frame) == len(table) and [i["rows"] for i in info] == [len(table), 0]


def test_utf16_text_is_named(tmp_path, table):
    path = tmp_path / "excel_unicode.tsv"
    path.write_bytes(table.to_csv(index=False, sep="\t").encode("utf-16"))
    with pytest.raises(
        InputDataError, match=r"unicode\.tsv: .*the text is UTF-16; save it as UTF-8"
    ):
        read_table(path)


# Bombs that crashed the process: through the command line under a memory cap.
@pytest.mark.slow
def test_json_lines_nested_10000_deep_through_the_cli(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text(_nested(10_000) + "\n")  # 60 KB; crashed the JSON parser
    run = run_cli("run", path, "--out", tmp_path / "out", "-q")
    assert_clean_exit(run, allowed=(2,))
    assert "deep.jsonl: JSON nested deeper than 64 levels" in run.stderr


@pytest.mark.slow
def test_gzip_bomb_through_the_cli(tmp_path):
    # 13 MB on disk, 4.7 GB inside: more than the 4 GiB default, and more than
    # the capped child could ever hold.
    path = _gzip_bomb(tmp_path / "bomb.csv.gz", SUMMARY_HEADER, SUMMARY_LINE, 70, 64 << 20)
    assert path.stat().st_size < 20 << 20
    run = run_cli("run", path, "--out", tmp_path / "out", "-q", timeout=300)
    assert_clean_exit(run, allowed=(2,))
    assert "bomb.csv.gz: more than 4 GiB of text after decompression" in run.stderr
    assert "--max-bytes" in run.stderr
    small = run_cli("run", path, "--out", tmp_path / "out", "-q", "--max-bytes", "1M")
    assert_clean_exit(small, allowed=(2,))
    assert "more than 1 MiB of text" in small.stderr


@pytest.mark.slow
def test_json_too_big_for_memory_through_the_cli(tmp_path):
    path = tmp_path / "objects.json"
    path.write_bytes(b"[" + b'{"a":1},' * 10_000_000 + b'{"a":1}]')  # 80 MB of tiny objects
    run = run_cli("run", path, "--out", tmp_path / "out", "-q", memory_mb=1536, timeout=300)
    assert_clean_exit(run, allowed=(2,))
    assert "objects.json: not enough memory to read it" in run.stderr


# --------------------------------------------------------------------------
# 2. Numbers that do not fit a count
# --------------------------------------------------------------------------
TOO_LARGE = ["1e308", "inf", "9" * 400, "1e20", str(MAX_COUNT + 2)]


def _write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        records = json.loads(frame.to_json(orient="records"))
        # Numbers as JSON numbers, not strings.
        for row in records:
            for key, value in row.items():
                if isinstance(value, str) and re.fullmatch(r"[0-9.e+]+|inf", value):
                    row[key] = float("inf") if value == "inf" else json.loads(value)
        if path.suffix == ".jsonl":
            path.write_text("".join(json.dumps(row) + "\n" for row in records))
        else:
            path.write_text(json.dumps(records))
    return path


@pytest.mark.parametrize("source", ["frame", ".csv", ".json", ".jsonl"])
@pytest.mark.parametrize("value", TOO_LARGE, ids=["1e308", "inf", "400_digits", "1e20", "2**53+2"])
def test_numbers_too_large_for_a_count(tmp_path, table, source, value):
    data = set_cells(table, "FailedLogons", 3, value)
    if source != "frame":
        data = read_table(_write(data, tmp_path / f"t{source}"))
    with pytest.raises(InputDataError, match=r"'FailedLogons' must hold counts of at most .*53"):
        prepare_summary(data)
    with pytest.raises(InputDataError, match=r"'FailedLogons'.*(larger|infinite)"):
        hunt(data, **FAST)


def test_python_ints_too_large_for_a_float(table):
    data = set_cells(table, "SuccessfulLogons", 2, 10**400)
    with pytest.raises(InputDataError, match=r"'SuccessfulLogons' must hold counts of at most"):
        hunt(data, **FAST)


def test_the_largest_count_is_accepted_and_plotted(table, tmp_path):
    data = set_cells(table, "FailedLogons", 3, MAX_COUNT)
    data = set_cells(data, "SuccessfulLogons", 4, float(MAX_COUNT))
    found = hunt(data, feature_set="seed")
    assert np.isfinite(found.user_days["score"]).all()
    figures = make_plots(found, summary=False, histogram=True, max_plots=2)
    write_outputs(found, tmp_path, figures=figures)


@pytest.mark.parametrize("suffix", [".csv", ".json"])
@pytest.mark.parametrize("column", ["EventID", "LogonType"])
def test_raw_fields_too_large_for_a_number(tmp_path, events, suffix, column):
    data = set_cells(events, column, events.index[:3], "9" * 400)
    data["TimeGenerated"] = data["TimeGenerated"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    path = tmp_path / f"events{suffix}"
    if suffix == ".csv":
        data.to_csv(path, index=False)
    else:
        records = data.to_dict(orient="records")
        text = json.dumps(records).replace('"' + "9" * 400 + '"', "9" * 400)
        path.write_text(text)
    summary, dropped = user_day_summary(read_table(path), return_dropped=True)
    if column == "EventID":  # an ID that is no number matches no event
        assert dropped["not_4624_4625"] == (events["EventID"] % 1 == 0).sum() - (
            events["EventID"].isin([4624, 4625]).sum() - 3
        )
    assert int(summary["AttemptedLogons"].sum()) + sum(dropped.values()) == len(events)


# --------------------------------------------------------------------------
# 3. Dates: one day/month order per column
# --------------------------------------------------------------------------
def _day_first(table: pd.DataFrame) -> pd.DataFrame:
    days = pd.to_datetime(table["Date"], format="%m/%d/%Y")
    return table.assign(Date=days.dt.strftime("%d/%m/%Y"))


def test_a_day_first_column_is_read_day_first(table):
    data = _day_first(table)  # 06/09/2022 ... 26/09/2022
    assert (data["Date"] == "06/09/2022").any()
    reference = hunt(table, **FAST)
    found = hunt(data, **FAST)
    assert (found.user_days["Date"] == reference.user_days["Date"]).all()
    np.testing.assert_allclose(found.user_days["score"], reference.user_days["score"])
    assert not any("month/day" in note for note in found.notes)


@pytest.mark.parametrize("separator", ["/", ".", "-"])
def test_order_is_decided_from_the_whole_column(separator):
    def parse(*values):
        text = pd.Series([v.replace("/", separator) for v in values], dtype=object)
        return parse_dates(text).dt.strftime("%Y-%m-%d").tolist()

    assert parse("03/04/2024", "13/04/2024") == ["2024-04-03", "2024-04-13"]
    assert parse("03/04/2024", "04/13/2024") == ["2024-03-04", "2024-04-13"]
    assert parse("03/04/2024 10:00:00", "13/04/2024, 11:29:46.297 PM") == [
        "2024-04-03",
        "2024-04-13",
    ]


def test_mixed_orders_in_one_column_are_an_error(table):
    data = set_cells(set_cells(table, "Date", 0, "13/09/2022"), "Date", 1, "9/14/2022")
    with pytest.raises(
        InputDataError, match=r"'Date' mixes day-first and month-first dates, e.g. '13/09/2022'"
    ):
        hunt(data, **FAST)


def test_an_ambiguous_column_is_read_month_first_with_a_note(table, tmp_path, capsys):
    early = table[pd.to_datetime(table["Date"], format="%m/%d/%Y").dt.day <= 12]
    data = early.assign(Date=pd.to_datetime(early["Date"]).dt.strftime("%m/%d/%Y"))
    found = hunt(data, **FAST)
    assert found.user_days["Date"].dt.month.eq(9).all()
    notes = [note for note in found.notes if "Column 'Date'" in note]
    assert len(notes) == 1 and "read as month/day" in notes[0], found.notes
    # The note reaches run.json, with and without a window.
    path = tmp_path / "early.csv"
    data.to_csv(path, index=False)
    for window in ([], ["--start", "2022-09-06", "--end", "2022-09-12"]):
        out = tmp_path / f"out{len(window)}"
        code, _, err = _cli(capsys, "run", path, "--out", out, "--no-shap", "-q", *window)
        assert code == 0, err
        run = json.loads((out / "run.json").read_text())
        assert sum("read as month/day" in note for note in run["notes"]) == 1, run["notes"]


def test_the_local_data_window_and_the_hunt_read_one_order(table, local_folder):
    folder, init = local_folder
    _day_first(table).to_csv(folder / "anomalous_logons_user_days.csv", index=False)
    init()
    # Inside this window every date is ambiguous alone (06/09 ... 12/09); the
    # whole file says day first.
    span = TimeSpan(start="2022-09-06T00:00:00+00:00", end="2022-09-12T23:59:59+00:00")
    result = AnomalousLogonUsers().run(
        timespan=span, feature_set="seed", n_estimators=TREES, options=["-shap"]
    )
    days = result.user_days["Date"]
    expected = pd.to_datetime(table["Date"], format="%m/%d/%Y")
    assert len(days) == expected.between("2022-09-06", "2022-09-12").sum()
    assert days.between("2022-09-06", "2022-09-12").all()
    assert not any("month/day" in note for note in result.notes)
    # A file that never says is read month first, and the result says so.
    early = table[expected.dt.day <= 12]
    early.to_csv(folder / "anomalous_logons_user_days.csv", index=False)
    result = AnomalousLogonUsers().run(
        timespan=span, feature_set="seed", n_estimators=TREES, options=["-shap"]
    )
    assert len(result.user_days) == len(early)
    assert sum("Column 'Date'" in note and "month/day" in note for note in result.notes) == 1


def _raw_time_text(events: pd.DataFrame, form: str, shift_days: int) -> pd.DataFrame:
    times = (events["TimeGenerated"] - pd.Timedelta(days=shift_days)).dt.floor("s")
    return events.assign(TimeGenerated=times.dt.strftime(form).astype(object)), times


def test_raw_times_one_order_per_column(events):
    # 2024-03-10 .. 14: "10/03/2024" alone reads as 3 October.
    data, times = _raw_time_text(events, "%d/%m/%Y %H:%M:%S", 17)
    reference = user_day_summary(events.assign(TimeGenerated=times))
    found = user_day_summary(data)
    pd.testing.assert_frame_equal(found, reference)
    conflict = set_cells(data, "TimeGenerated", events.index[:1], "03/14/2024 10:00:00")
    with pytest.raises(InputDataError, match=r"'TimeGenerated' mixes day-first and month-first"):
        user_day_summary(conflict)


def test_raw_times_ambiguous_column_note(events):
    data, times = _raw_time_text(events, "%m/%d/%Y, %I:%M:%S %p", 20)  # 03/07 .. 03/11
    found = hunt(data, **FAST)
    assert any("Column 'TimeGenerated'" in note and "month/day" in note for note in found.notes)
    reference = hunt(events.assign(TimeGenerated=times), **FAST)
    assert (found.user_days["Date"] == reference.user_days["Date"]).all()


def test_notes_are_collected_only_inside_the_block():
    values = pd.Series(["01/02/2024"], dtype=object)
    parse_dates(values)  # nobody collects: no error, no note kept
    with collect_input_notes() as notes:
        parse_dates(values)
        parse_dates(values)
    assert len(notes) == 1


# --------------------------------------------------------------------------
# 4. The first and last accepted day, end to end
# --------------------------------------------------------------------------
EDGE_DAYS = ["1677-09-22", "2262-04-11"]


@pytest.fixture(scope="module")
def top_seed_outlier(table) -> int:
    return int(hunt(table, feature_set="seed").outliers.index[0])


@pytest.mark.parametrize("day", EDGE_DAYS)
def test_flagged_day_at_either_end_of_the_range(table, top_seed_outlier, day, tmp_path):
    data = set_cells(table, "Date", top_seed_outlier, day)
    found = hunt(data, feature_set="seed")
    assert str(found.outliers["Date"].iloc[0].date()) == day
    links = account_links(found.outliers)
    assert day in links["code"].iloc[0]
    figures = make_plots(found, max_plots=2)
    write_outputs(found, tmp_path, figures=figures)


def test_a_late_time_on_the_last_day_is_that_day(table):
    data = set_cells(table, "Date", 0, "2262-04-11T23:59:00")
    assert str(prepare_summary(data)["Date"].iloc[0].date()) == "2262-04-11"


@pytest.mark.parametrize("day", EDGE_DAYS)
def test_flagged_edge_day_through_the_notebooklet(table, top_seed_outlier, day, nb_local):
    data = set_cells(table, "Date", top_seed_outlier, day)
    result = AnomalousLogonUsers().run(data=data, feature_set="seed", options=["account_links"])
    assert day in result.account_links["code"].iloc[0]


@pytest.mark.slow
@pytest.mark.parametrize("day", EDGE_DAYS)
def test_flagged_edge_day_through_the_capped_cli(table, top_seed_outlier, day, tmp_path):
    path = tmp_path / "edge.csv"
    set_cells(table, "Date", top_seed_outlier, day).to_csv(path, index=False)
    run = run_cli("run", path, "--out", tmp_path / "out", "--feature-set", "seed", "-q")
    assert_clean_exit(run, allowed=(0,))
    outliers = pd.read_csv(tmp_path / "out" / "outliers.csv")
    assert outliers["Date"].iloc[0] == day
    assert (tmp_path / "out" / "report.html").exists()


# --------------------------------------------------------------------------
# 5. Missing counts, every spelling, every format
# --------------------------------------------------------------------------
SPELLINGS = ["", "NaN", "nan", "null", "NULL", "None", "NA", "N/A", "<NA>", " null "]


@pytest.fixture(scope="module")
def missing_reference(table):
    return hunt(set_cells(table, "FailedLogons", [3, 9], None), **FAST).user_days["score"]


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("source", ["frame", ".csv"])
def test_missing_count_spellings(tmp_path, table, missing_reference, spelling, source):
    data = set_cells(table, "FailedLogons", [3, 9], spelling)
    if source == ".csv":
        path = tmp_path / "t.csv"
        data.to_csv(path, index=False)
        data = read_table(path)
    found = hunt(data, **FAST)
    np.testing.assert_allclose(found.user_days["score"], missing_reference)


@pytest.mark.parametrize("literal", ["null", "NaN"])
@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_missing_counts_in_json(tmp_path, table, missing_reference, literal, suffix):
    records = json.loads(table.to_json(orient="records"))
    lines = [json.dumps(row) for row in records]
    for pos in (3, 9):
        lines[pos] = re.sub(r'"FailedLogons": \d+', f'"FailedLogons": {literal}', lines[pos])
    path = tmp_path / f"t{suffix}"
    path.write_text("\n".join(lines) if suffix == ".jsonl" else "[" + ",\n".join(lines) + "]")
    found = hunt(read_table(path), **FAST)
    np.testing.assert_allclose(found.user_days["score"], missing_reference)


def test_missing_dates_spelled_out_drop_their_rows(table):
    data = set_cells(set_cells(table, "Date", 2, "null"), "Date", 5, "N/A")
    found = hunt(data, **FAST)
    assert found.dropped["no_date"] == 2


# --------------------------------------------------------------------------
# 6. Arguments that are not paths
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("paths", "match"),
    [
        (None, r"file or folder path .* got NoneType None"),
        (5, r"got int 5"),
        (b"/tmp/data.csv", r"got bytes"),
        ([None], r"must be str or pathlib\.Path, got NoneType"),
        ([{"path": "x.csv"}], r"got dict"),
        ({"x.csv": 1}, r"got dict"),
        ([b"x.csv"], r"got bytes .*decode"),
        ("", r"An input path is empty \(''\)"),
        ("   ", r"An input path is empty"),
        (["ok.csv", " "], r"An input path is empty"),
        (["a\x00b.csv"], r"NUL character"),
    ],
)
def test_paths_that_are_not_paths(paths, match):
    with pytest.raises(ParameterError, match=match):
        read_tables(paths)
    if not isinstance(paths, list):
        with pytest.raises(ParameterError, match=match):
            read_table(paths)


def test_a_folder_that_cannot_be_listed(tmp_path, monkeypatch):
    folder = tmp_path / "locked"
    folder.mkdir()

    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "iterdir", denied)
    with pytest.raises(InputDataError, match=r"locked: cannot list the folder \(Permission"):
        read_tables([folder])


def test_a_path_that_cannot_be_examined(tmp_path):
    with pytest.raises(InputDataError, match=r"cannot open \(File name too long\)"):
        read_table(tmp_path / ("x" * 5000 + ".csv"))


# --------------------------------------------------------------------------
# Fuzz: hostile files through the command line (in process, plots skipped)
# --------------------------------------------------------------------------
def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


def _parquet_table(frame: pd.DataFrame, **columns: pa.Array) -> bytes:
    """Parquet of `frame` with some columns replaced by Arrow arrays of other types."""
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    for name, values in columns.items():
        arrow = arrow.set_column(arrow.column_names.index(name), name, values)
    buffer = io.BytesIO()
    pq.write_table(arrow, buffer)
    return buffer.getvalue()


def _fuzz_files(table: pd.DataFrame) -> dict[str, bytes]:
    text = table.to_csv(index=False)
    parquet = _parquet_bytes(table)
    packed = gzip.compress(text.encode())
    records = json.loads(table.to_json(orient="records"))
    columns = [{"name": name, "type": "string"} for name in table.columns]
    return {
        "truncated.parquet": parquet[: len(parquet) // 2],
        "footer_cut.parquet": parquet[:-10],
        "truncated.csv.gz": packed[: len(packed) // 2],
        "parquet_named.csv": parquet,
        "csv_named.parquet": text.encode(),
        "gzip_named.csv": packed,
        "plain_named.csv.gz": text.encode(),
        "bom.csv": b"\xef\xbb\xbf" + text.encode(),
        "two_boms.csv": b"\xef\xbb\xbf\xef\xbb\xbf" + text.encode(),
        "utf16.csv": text.encode("utf-16"),
        "nul_in_field.csv": text[:500].encode() + b"\x00\x00" + text[500:].encode(),
        "nul_in_header.csv": b"Date\x00" + text[4:].encode(),
        "only_nul.csv": b"\x00" * 10_000,
        "cr_only.csv": text.replace("\n", "\r").encode(),
        "header_only.csv": (",".join(table.columns) + "\n").encode(),
        "empty_array.json": b"[]",
        "empty_array_lines.json": b"[\n]\n",
        "rest_no_rows.json": json.dumps({"tables": [{"columns": columns, "rows": []}]}).encode(),
        "rest_tables_of_text.json": json.dumps({"tables": ["x"]}).encode(),
        "rest_rows_not_lists.json": json.dumps(
            {"tables": [{"columns": [{"name": "a"}], "rows": [1, 2]}]}
        ).encode(),
        "rest_columns_text.json": json.dumps({"tables": [{"columns": "abc", "rows": []}]}).encode(),
        "rest_short_rows.json": json.dumps(
            {"tables": [{"columns": columns, "rows": [[1]]}]}
        ).encode(),
        "array_of_numbers.json": b"[1, 2, 3]",
        "array_mixed.json": b'[{"a": 1}, 2]',
        "json_string.json": b'"abc"',
        "lines_truncated.jsonl": b'{"a": 1}\n{"a":',
        "lines_with_array.jsonl": b'{"a": 1}\n[1, 2]\n',
        "dates_are_objects.json": json.dumps(
            [dict(records[0], Date={"x": 1}), records[1]]
        ).encode(),
        "counts_are_lists.json": json.dumps(
            [dict(records[0], FailedLogons=[1, 2]), records[1]]
        ).encode(),
        "long_line.csv": b"a,b\n" + b"x" * (40 << 20) + b",1\n",
        "struct_dates.parquet": _parquet_bytes(
            pd.DataFrame({**{c: table[c].iloc[:2] for c in table}, "Date": [{"x": 1}, {"x": 2}]})
        ),
        "decimal_counts.parquet": _parquet_table(
            table.iloc[:3], FailedLogons=pa.array([1, 2, 3], pa.decimal128(38, 0))
        ),
        "uint64_counts.parquet": _parquet_table(
            table.iloc[:3], FailedLogons=pa.array([2**64 - 1, 0, 1], pa.uint64())
        ),
        "far_dates.parquet": _parquet_table(
            table.iloc[:1], Date=pa.array([10**17], pa.timestamp("us"))
        ),
        "whitespace.csv": b"   \n\n  \n",
    }


@pytest.mark.slow
def test_fuzz_the_readers_through_the_cli(table, tmp_path, capsys, no_plots):
    for name, content in _fuzz_files(table).items():
        path = tmp_path / name
        path.write_bytes(content)
        code, out, err = _cli(
            capsys, "run", path, "--out", tmp_path / "out" / name, "--no-shap", "-q"
        )
        assert code in (0, 2), (name, err)
        if code == 2:
            line = _one_line_error(code, err)
            assert all(ch.isprintable() for ch in line), (name, line)
        else:
            assert err == "", (name, err)
            assert (tmp_path / "out" / name / "run.json").exists(), name
        path.unlink()


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs are POSIX")
def test_special_files(tmp_path, capsys):
    import os

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    loop = tmp_path / "loop.csv"
    loop.symlink_to(loop)
    for path, needle in ((fifo, "not a regular file"), (loop, "not found|cannot open")):
        with pytest.raises(InputDataError, match=needle):
            read_table(path)
        code, _, err = _cli(capsys, "run", path, "--out", tmp_path / "out", "-q")
        _one_line_error(code, err, needle)

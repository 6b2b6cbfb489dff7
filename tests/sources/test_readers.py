"""Tests for reading exported tables from files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msticnb_iforest.errors import InputDataError
from msticnb_iforest.sources.readers import is_text_column, read_table, read_tables
from msticnb_iforest.summarize.user_days import user_day_summary

from ..conftest import SHARED

RECORDS = [
    {
        "TimeGenerated": "2024-01-05T10:00:00.1234567Z",
        "EventID": 4624,
        "TargetUserName": "00123",
        "TargetDomainName": "CONTOSO",
        "LogonType": 3,
        "LogonTypeName": "3 - Network",
        "Computer": "srv1",
        "IpAddress": "10.0.0.1",
        "WorkstationName": "WKS1",
        "AuthenticationPackageName": "NTLM",
        "Status": "0x0",
        "SubStatus": "",
    },
    {
        "TimeGenerated": "2024-01-05T11:00:00Z",
        "EventID": 4625,
        "TargetUserName": "NA",
        "TargetDomainName": "",
        "LogonType": 3,
        "LogonTypeName": "3 - Network",
        "Computer": "srv2",
        "IpAddress": "-",
        "WorkstationName": "1234",
        "AuthenticationPackageName": "NTLM",
        "Status": "0xc000006d",
        "SubStatus": "0xc0000064",
    },
]
EXPECTED_TIMES = pd.to_datetime(
    ["2024-01-05 10:00:00.1234567", "2024-01-05 11:00:00"], format="ISO8601"
).tz_localize("UTC")


def check_records(frame: pd.DataFrame) -> None:
    """Assert `frame` holds RECORDS with the reader's column types."""
    assert list(frame.columns) == list(RECORDS[0])
    assert frame.index.equals(pd.RangeIndex(2))
    assert str(frame["TimeGenerated"].dtype) == "datetime64[ns, UTC]"
    assert frame["TimeGenerated"].tolist() == list(EXPECTED_TIMES)
    assert frame["EventID"].dtype == np.int64
    assert frame["EventID"].tolist() == [4624, 4625]
    assert frame["LogonType"].tolist() == [3, 3]
    # Text stays text, even when it looks like a number or a missing value.
    assert frame["TargetUserName"].tolist() == ["00123", "NA"]
    assert frame["WorkstationName"].tolist() == ["WKS1", "1234"]
    assert frame["Status"].tolist() == ["0x0", "0xc000006d"]
    assert frame["SubStatus"].tolist() == ["", "0xc0000064"]
    assert frame["TargetDomainName"].tolist() == ["CONTOSO", ""]
    for name in ("TargetUserName", "Computer", "Status", "LogonTypeName"):
        assert frame[name].dtype == object
        assert all(isinstance(value, str) for value in frame[name])
    # Equal text is one shared object (the summarizer relies on it for speed).
    assert frame["LogonTypeName"].iloc[0] is frame["LogonTypeName"].iloc[1]


def write(path: Path, text: str, compress: bool = False) -> Path:
    if compress:
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def csv_text(sep: str = ",") -> str:
    return pd.DataFrame(RECORDS).to_csv(index=False, sep=sep)


def jsonl_text() -> str:
    return "".join(json.dumps(row) + "\n" for row in RECORDS)


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize(
    ("suffix", "maker"),
    [
        (".csv", csv_text),
        (".tsv", lambda: csv_text("\t")),
        (".jsonl", jsonl_text),
        (".ndjson", jsonl_text),
        (".json", jsonl_text),
        (".json", lambda: json.dumps(RECORDS, indent=2)),
    ],
    ids=["csv", "tsv", "jsonl", "ndjson", "json_lines", "json_array"],
)
def test_round_trip_text_formats(tmp_path, suffix, maker, compress):
    path = tmp_path / ("events" + suffix + (".gz" if compress else ""))
    write(path, maker(), compress)
    check_records(read_table(path))


def test_round_trip_parquet(tmp_path):
    frame = pd.DataFrame(RECORDS)
    for suffix in (".parquet", ".pq"):
        path = tmp_path / f"events{suffix}"
        frame.set_index(pd.Index([10, 20])).to_parquet(path)
        check_records(read_table(path))


def test_parquet_keeps_types(tmp_path):
    frame = pd.DataFrame(RECORDS)
    frame["TimeGenerated"] = EXPECTED_TIMES
    frame["Computer"] = frame["Computer"].astype("category")
    path = tmp_path / "typed.parquet"
    frame.to_parquet(path)
    check_records(read_table(path))


def test_log_analytics_rest_shape(tmp_path):
    names = list(RECORDS[0])
    document = {
        "tables": [
            {
                "name": "PrimaryResult",
                "columns": [{"name": name, "type": "string"} for name in names],
                "rows": [[row[name] for name in names] for row in RECORDS],
            }
        ]
    }
    path = write(tmp_path / "rest.json", json.dumps(document))
    frame, info = read_tables([path])
    check_records(frame)
    assert info == [{"path": str(path), "rows": 2, "format": "json-tables"}]


def test_json_with_mixed_value_types(tmp_path):
    rows = [dict(RECORDS[0]), dict(RECORDS[1], EventID="4625", TargetUserName=123)]
    path = write(tmp_path / "mixed.jsonl", "\n".join(json.dumps(r) for r in rows))
    frame = read_table(path)
    assert frame["TargetUserName"].tolist() == ["00123", "123"]
    assert frame["EventID"].tolist() == [4624, 4625]


def test_missing_text_is_empty_and_numbers_with_gaps_are_float(tmp_path):
    path = write(tmp_path / "gaps.csv", "TargetUserName,EventID,Extra\nalice,4624,x\n,,\n")
    frame = read_table(path)
    assert frame["TargetUserName"].tolist() == ["alice", ""]
    assert frame["EventID"].dtype == np.float64
    assert frame["EventID"].iloc[0] == 4624 and np.isnan(frame["EventID"].iloc[1])
    assert frame["Extra"].tolist() == ["x", ""]


def test_portal_times_stay_text(tmp_path):
    path = write(
        tmp_path / "portal.csv",
        'TimeGenerated [UTC],EventID\n"9/19/2022, 11:29:46.297 PM",4624\n',
    )
    frame = read_table(path)
    assert frame["TimeGenerated [UTC]"].tolist() == ["9/19/2022, 11:29:46.297 PM"]


def test_directory_and_several_files(tmp_path):
    write(tmp_path / "b.csv", csv_text())
    write(tmp_path / "a.jsonl", jsonl_text())
    write(tmp_path / "notes.txt", "not data")
    frame, info = read_tables([tmp_path])
    assert [Path(i["path"]).name for i in info] == ["a.jsonl", "b.csv"]
    assert [i["format"] for i in info] == ["jsonl", "csv"]
    assert [i["rows"] for i in info] == [2, 2]
    assert len(frame) == 4 and frame.index.equals(pd.RangeIndex(4))
    assert frame["TargetUserName"].tolist() == ["00123", "NA", "00123", "NA"]
    assert len(read_table(tmp_path)) == 4


def test_reader_output_summarizes(tmp_path):
    path = write(tmp_path / "events.csv.gz", csv_text(), compress=True)
    summary = user_day_summary(read_table(path))
    assert summary[["DstDomain", "DstUser", "AttemptedLogons"]].values.tolist() == [
        ["", "NA", 1],
        ["CONTOSO", "00123", 1],
    ]


def test_demo_summary_file_types():
    frame = read_table(SHARED / "iforest-demo-data.csv")
    assert len(frame) == 135
    assert frame.columns[0] == "Date"  # byte-order mark removed
    assert frame["DistinctSrcHostName"].dtype == np.int64
    assert frame["DstUser"].iloc[0] == "ACC-01"


def test_is_text_column():
    assert is_text_column("TargetUserName")
    assert is_text_column("IpAddress")
    assert is_text_column("SubStatus")
    assert not is_text_column("EventID")
    assert not is_text_column("DistinctSrcHostName")


def gz_bytes(text: str) -> bytes:
    return gzip.compress(text.encode())


BAD_FILES = {
    "truncated.csv": csv_text().encode()[:-40],
    "truncated.csv.gz": gz_bytes(csv_text() * 50)[:-30],
    "truncated.jsonl": jsonl_text().encode()[:-20],
    "truncated.json": json.dumps(RECORDS).encode()[:-15],
    "truncated.parquet": None,  # filled in by the test
    "garbage.parquet": b"this is not parquet at all\n" * 5,
    "garbage.csv": bytes(range(256)) * 4,
    "garbage.json": b"hello, world\n",
    "notgzip.csv.gz": csv_text().encode(),
    "json_named.csv": json.dumps(RECORDS).encode(),
    "empty.csv": b"",
    "empty.jsonl": b"   \n",
    "numbers.json": b"[1, 2, 3]",
    "bad_tables.json": b'{"tables": [{"columns": [{"nom": "x"}], "rows": [[1]]}]}',
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_raise_input_data_error(tmp_path, name):
    path = tmp_path / name
    content = BAD_FILES[name]
    if content is None:
        pd.DataFrame(RECORDS).to_parquet(tmp_path / "whole.parquet")
        content = (tmp_path / "whole.parquet").read_bytes()[:-100]
    path.write_bytes(content)
    with pytest.raises(InputDataError) as caught:
        read_table(path)
    message = str(caught.value)
    assert name in message
    assert "\n" not in message


@pytest.mark.parametrize("name", ["missing.csv", "data.xlsx", "nowhere"])
def test_missing_or_unsupported_paths(tmp_path, name):
    with pytest.raises(InputDataError, match=name):
        read_table(tmp_path / name)


def test_empty_inputs(tmp_path):
    with pytest.raises(InputDataError, match="No input files"):
        read_tables([])
    with pytest.raises(InputDataError, match="no supported data files"):
        read_tables([tmp_path])


def test_files_of_different_kinds_are_not_stacked(tmp_path):
    write(tmp_path / "a.csv", csv_text())
    write(tmp_path / "b.csv", csv_text())
    summary = SHARED / "iforest-demo-data.csv"
    with pytest.raises(InputDataError, match="iforest-demo-data.csv is a per-user-day summary"):
        read_tables([tmp_path / "a.csv", tmp_path / "b.csv", summary])

"""
The DuckDB summarizer equals the pandas one, row for row, on every raw-event input we have.

`engine_user_day_summary` must return exactly what
`summarize.user_days.user_day_summary` returns (columns, dtypes, order,
values, dropped-row counts), or raise the same error, for frames and for
the same events read from files.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from msticnb_iforest.errors import InputDataError, ParameterError
from msticnb_iforest.sources.demo import generate_demo
from msticnb_iforest.sources.readers import read_table
from msticnb_iforest.summarize.columnar import engine_user_day_summary
from msticnb_iforest.summarize.columnar.inputs import _engine_frame
from msticnb_iforest.summarize.user_days import user_day_summary

from ..bad_input_cases import RAW_CASES, Err
from . import test_real_shapes, test_summarize
from .test_summarize import REAL_EVENTS


def assert_same(data, oracle: pd.DataFrame | None = None, **kwargs) -> pd.DataFrame:
    """Both summarizers on `data` (the pandas one on `oracle` when given): equal results."""
    oracle = data if oracle is None else oracle
    expected, expected_dropped = user_day_summary(oracle, return_dropped=True, **kwargs)
    found, dropped = engine_user_day_summary(data, return_dropped=True, **kwargs)
    pd.testing.assert_frame_equal(found, expected, check_exact=True)
    assert dropped == expected_dropped
    return found


def assert_same_error(data, **kwargs) -> None:
    """Both summarizers raise the same kind of error with the same message start."""
    with pytest.raises((InputDataError, ParameterError)) as expected:
        user_day_summary(data, **kwargs)
    with pytest.raises(type(expected.value)) as found:
        engine_user_day_summary(data, **kwargs)
    assert str(found.value).split(",")[0] == str(expected.value).split(",")[0]


# --------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------
@pytest.mark.parametrize(("make", "expect"), RAW_CASES)
def test_bad_input_matrix(make, expect, events):
    data = make(events)
    before = data.copy(deep=True)
    if isinstance(expect, Err):
        assert_same_error(data)
    else:
        assert_same(data)
    pd.testing.assert_frame_equal(data, before)


@pytest.mark.parametrize("time_kind", ["text", "objects"])
@pytest.mark.parametrize(
    "bounds",
    [{}, {"start": "2024-01-05 10:00", "end": "2024-01-06T00:00:00Z"}, {"end": "2024-01-05"}],
)
def test_hand_made_rows(time_kind, bounds):
    frame = test_summarize.events(time_kind).drop(columns="Row")
    found = assert_same(frame, **bounds)
    if not bounds:
        pd.testing.assert_frame_equal(found, test_summarize.EXPECTED)


def test_real_sentinel_rows():
    frame = pd.read_csv(REAL_EVENTS)
    found = assert_same(frame)
    assert found["AttemptedLogons"].sum() == 18  # the real file's network logons


def test_shapes_of_real_logs():
    assert_same(test_real_shapes.shapes.__wrapped__())


def test_generated_company():
    events = generate_demo(n_users=40, n_days=7, seed=5).events
    first = events["TimeGenerated"].min().normalize()
    found = assert_same(
        events, start=first + pd.Timedelta(days=1), end=first + pd.Timedelta(days=4.5)
    )
    assert len(found) > 100
    assert found["Date"].nunique() == 4


def _hostile() -> pd.DataFrame:
    base = {
        "TimeGenerated": "2024-02-01T10:00:00.123456789Z",
        "EventID": 4624,
        "TargetUserName": "alice",
        "TargetDomainName": "CONTOSO",
        "LogonType": 3,
        "LogonTypeName": "3 - Network",
        "Computer": "SRV1",
        "IpAddress": "10.0.0.1",
        "WorkstationName": "WKS1",
        "AuthenticationPackageName": "NTLM",
    }
    changes = [
        {"TargetUserName": "al\x00ice", "IpAddress": "10.0.0.\x002"},
        {"TargetDomainName": "nt AUTHORITY"},
        {"TargetDomainName": "nt AUTHORITY", "EventID": 4625},
        {"TargetDomainName": "Nt Virtual Machine", "LogonType": 7},
        {"TargetDomainName": "system", "LogonType": 5},
        {"TargetDomainName": "system", "LogonType": "5"},
        {"TargetDomainName": "window manager", "LogonType": 2, "TargetUserName": "dWm-7"},
        {"TargetDomainName": "window manager", "LogonType": 2, "TargetUserName": "xdwm-7"},
        {"IpAddress": "-", "WorkstationName": "-"},
        {"IpAddress": None, "WorkstationName": ""},
        {"TargetUserName": "WKS9$"},
        {"TargetUserName": "WKS9$ "},
        {"TargetUserName": "Zoë", "TargetDomainName": "Contoso"},
        {"TargetUserName": "名前", "TimeGenerated": "2024-02-01 23:59:59.9999999"},
        {"EventID": "4624.0", "LogonType": " 3 "},
        {"EventID": True},
        {"EventID": "x"},
        {"LogonTypeName": "3 - NETWORK"},
        {"LogonTypeName": 3},
        {"TimeGenerated": "2024-02-02T01:30:00+05:30"},
        {"TimeGenerated": "2024-02-02 01:30-0800"},
        {"TimeGenerated": "2024-02-30T01:30:00Z"},
        {"TimeGenerated": "2024-02-02 24:00:00"},
        {"TimeGenerated": " 2/3/2024, 1:02:03.004 PM "},
        {"TimeGenerated": "\t2024-02-03T10:00:00Z\n"},
        {"TimeGenerated": ""},
        {"TimeGenerated": None},
        {"TargetUserName": 12345, "Computer": 7.0, "AuthenticationPackageName": None},
        {"WorkstationName": 3.5, "IpAddress": float("nan")},
    ]
    return pd.DataFrame([{**base, **change} for change in changes])


def test_hostile_values():
    frame = _hostile()
    found = assert_same(frame)
    assert "al\x00ice" in set(found["DstUser"])
    assert "12345" in set(found["DstUser"])
    assert {789, 900} <= set(found["MAX_TimeGenerated"].dt.nanosecond)


@pytest.mark.parametrize(
    "dtype",
    [
        "string[python]",
        "string[pyarrow]",
        "category",
        pd.ArrowDtype(__import__("pyarrow").string()),
    ],
)
def test_text_dtypes(dtype):
    frame = test_summarize.events().drop(columns="Row")
    text = ["TargetUserName", "TargetDomainName", "Computer", "IpAddress", "WorkstationName"]
    typed = frame.astype({name: dtype for name in [*text, "LogonTypeName", "TimeGenerated"]})
    assert_same(typed)


def test_time_dtypes():
    events = generate_demo(n_users=8, n_days=3, seed=2).events
    stamps = events["TimeGenerated"] + pd.to_timedelta(np.arange(len(events)) % 999, unit="ns")
    for times in (stamps, stamps.dt.tz_localize(None), stamps.dt.tz_convert("Asia/Tokyo")):
        assert_same(events.assign(TimeGenerated=times))
    objects = pd.Series([t.to_pydatetime() for t in stamps.dt.floor("us")], dtype=object)
    assert_same(events.assign(TimeGenerated=objects))
    with_nat = stamps.where(np.arange(len(stamps)) % 7 != 0)
    assert_same(events.assign(TimeGenerated=with_nat))


def test_lists_in_a_text_column_are_an_error():
    frame = _hostile()
    frame["Computer"] = [["a"]] * len(frame)
    assert_same_error(frame)


def test_empty_and_missing():
    assert_same(pd.DataFrame())
    frame = _hostile()
    assert_same(frame.iloc[:0])
    assert_same(frame.drop(columns=[]).assign(LogonTypeName="2 - Interactive"))
    assert_same_error(frame.drop(columns="Computer"))
    assert_same_error(frame, start="2024-03-05", end="2024-03-01")
    assert_same_error(frame, start="yesterday")


def test_frame_not_modified_and_account_domain_optional():
    frame = generate_demo(n_users=10, n_days=3, seed=4).events
    before = frame.copy(deep=True)
    assert_same(frame.drop(columns="AccountDomain"))
    assert_same(frame.rename(columns={"TimeGenerated": "TimeGenerated [UTC]"}))
    pd.testing.assert_frame_equal(frame, before)


# --------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------
def _write(frame: pd.DataFrame, path) -> None:
    name = str(path)
    if name.endswith((".parquet", ".pq")):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False, sep="\t" if ".tsv" in name else ",")


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".csv.gz", ".tsv", ".tsv.gz"])
def test_files_equal_the_readers_then_pandas(tmp_path, suffix):
    events = generate_demo(n_users=20, n_days=5, seed=8).events
    path = tmp_path / f"events{suffix}"
    _write(events, path)
    assert_same(path, read_table(path))
    assert_same(str(path), read_table(path), start="2024-03-01 12:00")


def test_real_and_hostile_files(tmp_path):
    path = tmp_path / "real.csv"
    path.write_bytes(REAL_EVENTS.read_bytes())
    assert_same(path, read_table(path))
    hostile = _hostile().drop(index=[0])  # NUL is not CSV text
    text = {name: str for name in hostile.columns}
    hostile = hostile.fillna("").astype(text)
    for name in ("hostile.csv", "hostile.parquet", "hostile.tsv.gz"):
        _write(hostile, tmp_path / name)
        assert_same(tmp_path / name, read_table(tmp_path / name))


def test_folders_globs_and_lists(tmp_path):
    events = generate_demo(n_users=12, n_days=4, seed=9).events
    half = len(events) // 2
    _write(events.iloc[:half], tmp_path / "a.parquet")
    _write(events.iloc[half:], tmp_path / "b.csv.gz")
    (tmp_path / "notes.txt").write_text("not data")
    oracle = pd.concat(
        [read_table(tmp_path / "a.parquet"), read_table(tmp_path / "b.csv.gz")], ignore_index=True
    )
    assert_same(tmp_path, oracle)
    assert_same(str(tmp_path / "*.parquet"), read_table(tmp_path / "a.parquet"))
    assert_same([tmp_path / "a.parquet", tmp_path / "b.csv.gz"], oracle)
    with pytest.raises(InputDataError, match="no file to read"):
        engine_user_day_summary(tmp_path / "missing*.csv")


def test_export_column_suffix_in_a_file(tmp_path):
    events = generate_demo(n_users=6, n_days=3, seed=1).events
    path = tmp_path / "export.csv"
    _write(events.rename(columns={"TimeGenerated": "TimeGenerated [UTC]"}), path)
    assert_same(path, read_table(path))


# --------------------------------------------------------------------------
# Size
# --------------------------------------------------------------------------
@pytest.mark.slow
def test_a_million_generated_events(tmp_path):
    events = generate_demo(n_users=1_500, n_days=21, seed=3).events.iloc[:1_000_000]
    assert len(events) == 1_000_000
    assert_same(events)
    path = tmp_path / "events.parquet"
    events.to_parquet(path, index=False)
    assert_same(path, events)


def test_python_times_of_several_kinds():
    frame = test_summarize.events().drop(columns="Row")
    frame["TimeGenerated"] = [
        dt.datetime(2024, 1, 5, 10, 0) if i % 3 == 0 else value
        for i, value in enumerate(frame["TimeGenerated"])
    ]
    assert_same(frame)


def test_a_parquet_file_is_summarized_as_its_events_are(tmp_path):
    events = generate_demo(n_users=6, n_days=3, seed=6).events
    pd.testing.assert_frame_equal(engine_user_day_summary(events), user_day_summary(events))
    path = tmp_path / "events.parquet"
    events.to_parquet(path, index=False)
    found, dropped = engine_user_day_summary(path, return_dropped=True)
    pd.testing.assert_frame_equal(found, user_day_summary(events))
    assert dropped["machine_account"] > 0


def test_frame_numbers_and_times_are_not_copied():
    events = generate_demo(n_users=6, n_days=3, seed=6).events
    table = _engine_frame(events)
    event_ids = table.column("EventID").chunk(0).to_numpy()
    assert np.shares_memory(event_ids, events["EventID"].to_numpy())
    times = table.column("TimeGenerated").chunk(0).to_numpy()
    assert np.shares_memory(times, events["TimeGenerated"].array.asi8)
    users = table.column("TargetUserName").chunk(0)
    # Each spelling once, and "" (what a missing value reads as).
    assert users.dictionary.to_pylist() == [*events["TargetUserName"].unique(), ""]

"""
The DuckDB account-day profile equals the pandas one, row for row, on every input we have.

`engine_account_day_summary` must return exactly what
`summarize.account_days.account_day_summary` returns (columns, dtypes,
order, values, dropped-row counts), or raise the same error, for frames and
for the same events read from files.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from msticnb_iforest.errors import InputDataError, ParameterError
from msticnb_iforest.sources.demo import generate_demo
from msticnb_iforest.sources.readers import read_table
from msticnb_iforest.summarize.account_days import (
    ACCOUNT_DAY_COLUMNS,
    NAME_COLUMNS,
    NEW_NAMES_MAX,
    account_day_summary,
)
from msticnb_iforest.summarize.account_extras import EXTRA_COLUMNS
from msticnb_iforest.summarize.columnar import engine_account_day_summary

from ..bad_input_cases import RAW_CASES, Err
from . import test_account_profile, test_real_shapes, test_summarize
from .test_engine_parity import _hostile, _write
from .test_summarize import REAL_EVENTS


def assert_same(data, oracle: pd.DataFrame | None = None, **kwargs) -> pd.DataFrame:
    """Both profilers on `data` (the pandas one on `oracle` when given): equal results."""
    oracle = data if oracle is None else oracle
    expected, expected_dropped = account_day_summary(oracle, return_dropped=True, **kwargs)
    found, dropped = engine_account_day_summary(data, return_dropped=True, **kwargs)
    assert list(found.columns) == ACCOUNT_DAY_COLUMNS
    assert set(EXTRA_COLUMNS) <= set(found.columns)  # compared with the rest
    pd.testing.assert_frame_equal(found, expected, check_exact=True)
    assert dropped == expected_dropped
    assert_names_match_counts(found)
    return found


def assert_names_match_counts(table: pd.DataFrame) -> None:
    """Each ``New*`` column lists min(count, 10) distinct sorted names of its ``Novel*`` count."""
    for novel, column in zip(
        ("NovelSrcIp", "NovelSrcHost", "NovelComputer"), NAME_COLUMNS, strict=True
    ):
        assert table[column].map(type).eq(str).all(), column
        for count, names in zip(table[novel].tolist(), table[column].tolist(), strict=True):
            listed = names.split(",") if count else []
            assert names == ",".join(listed), (column, count, names)
            assert len(listed) == min(count, NEW_NAMES_MAX), (column, count, names)
            assert listed == sorted(set(listed)), (column, names)


def assert_same_error(data, **kwargs) -> None:
    """Both profilers raise the same kind of error with the same message start."""
    with pytest.raises((InputDataError, ParameterError)) as expected:
        account_day_summary(data, **kwargs)
    with pytest.raises(type(expected.value)) as found:
        engine_account_day_summary(data, **kwargs)
    assert str(found.value).split(",")[0] == str(expected.value).split(",")[0]


def _spellings() -> pd.DataFrame:
    """One account under several spellings, local accounts, placeholder and local sources."""
    frame = test_account_profile.small_events.__wrapped__().copy()
    n = len(frame)
    users = ["THESHIRE\\Bob", "bob@theshire.local", "bob", " Bob ", "Administrator", "admin"]
    domains = ["", "", "theshire.local", "THESHIRE", ".", "."]
    frame["TargetUserName"] = [users[i % len(users)] for i in range(n)]
    frame["TargetDomainName"] = [domains[i % len(domains)] for i in range(n)]
    frame["Computer"] = [["FS1", "fs1.theshire.local", "DC1 "][i % 3] for i in range(n)]
    ips = ["10.0.0.5", " 10.0.0.5", "::1", "127.0.0.1", "0.0.0.0", "::", "-", "", "FE80::1"]
    frame.loc[frame.index[::4], "IpAddress"] = [ips[i % len(ips)] for i in range(len(frame[::4]))]
    frame.loc[frame.index[::5], "WorkstationName"] = "lt-alice "
    return frame


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


@pytest.mark.parametrize(
    "bounds", [{}, {"start": "2024-01-05 10:00", "end": "2024-01-06T00:00:00Z"}]
)
def test_hand_made_rows(bounds):
    assert_same(test_summarize.events("text").drop(columns="Row"), **bounds)


def test_hand_checked_profile():
    found = assert_same(test_account_profile.small_events.__wrapped__())
    row = found.set_index(["Date", "DstUser"])
    assert row.loc[("2024-05-03", "alice"), "FailedSrcIp"] == "203.0.113.7"
    assert row.loc[("2024-05-03", "alice"), "SrcIpFailedAccounts"] == 3
    assert row.loc[("2024-05-04", "dave"), ["SrcIpHosts", "HostsSrcIp"]].tolist() == [
        25,
        "198.51.100.2",
    ]
    # 09:00-12:59 UTC, all NTLM; bob's 203.0.113.7 failed on days 1 and 2.
    assert row.loc[("2024-05-04", "alice"), ["SuccessHours", "NtlmLogons"]].tolist() == [7680, 4]
    assert row.loc[("2024-05-03", "bob"), "FailedSrcIpDays"] == 2
    # dave's 25 invented workstation names: counted in full, the first 10 named.
    dave = row.loc[("2024-05-04", "dave")]
    assert dave["NovelSrcHost"] == 25
    assert dave["NewSrcHosts"].split(",") == sorted(dave["NewSrcHosts"].split(","))
    assert len(dave["NewSrcHosts"].split(",")) == 10


def test_spellings_and_sources():
    found = assert_same(_spellings())
    assert "theshire\\bob" in set(found["AccountKey"])
    assert found["LocalSrcIpLogons"].sum() > 0 and found["NoSrcIpLogons"].sum() > 0
    assert found["SuccessHours"].gt(0).any() and found["NovelSrcNet"].sum() > 0


def test_real_sentinel_rows():
    found = assert_same(pd.read_csv(REAL_EVENTS))
    assert found["AttemptedLogons"].sum() == 18  # the real file's network logons


def test_shapes_of_real_logs():
    assert_same(test_real_shapes.shapes.__wrapped__())


@pytest.mark.parametrize("window", [False, True])
def test_generated_company(window):
    events = generate_demo(n_users=40, n_days=7, seed=5).events
    first = events["TimeGenerated"].min().normalize()
    bounds = {"start": first + pd.Timedelta(days=1), "end": first + pd.Timedelta(days=4.5)}
    found = assert_same(events, **(bounds if window else {}))
    assert len(found) > 100
    assert found["Date"].nunique() == (4 if window else 7)
    assert found["SrcIpFailedAccounts"].max() > 0 and found["NovelSrcIp"].sum() > 0
    # The whole generated week exercises every new column (in the shorter window
    # every failing address also succeeds that day, so FailedSrcIpDays stays 0).
    used = EXTRA_COLUMNS[:-1] if window else EXTRA_COLUMNS
    assert (found[used] > 0).any().all(), found[EXTRA_COLUMNS].max()
    assert (found[list(NAME_COLUMNS)] != "").any().all()


def test_hostile_values():
    found = assert_same(_hostile())
    assert "al\x00ice" in set(found["DstUser"])
    assert "12345" in set(found["DstUser"])


def test_lists_in_a_text_column_are_an_error():
    frame = _hostile()
    frame["Computer"] = [["a"]] * len(frame)
    assert_same_error(frame)


def test_empty_and_missing():
    assert_same(pd.DataFrame())
    frame = _hostile()
    assert_same(frame.iloc[:0])
    assert_same(frame.assign(LogonTypeName="2 - Interactive"))
    assert_same(frame.drop(columns="AccountDomain", errors="ignore"))
    assert_same_error(frame.drop(columns="Computer"))
    assert_same_error(frame, start="2024-03-05", end="2024-03-01")
    assert_same_error(frame.assign(TimeGenerated="never"))


def test_frame_not_modified_and_account_domain_optional():
    frame = generate_demo(n_users=10, n_days=3, seed=4).events
    before = frame.copy(deep=True)
    assert_same(frame.drop(columns="AccountDomain"))
    assert_same(frame.rename(columns={"TimeGenerated": "TimeGenerated [UTC]"}))
    pd.testing.assert_frame_equal(frame, before)


# --------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".parquet", ".csv.gz", ".tsv"])
def test_files_equal_the_readers_then_pandas(tmp_path, suffix):
    events = generate_demo(n_users=20, n_days=5, seed=8).events
    path = tmp_path / f"events{suffix}"
    _write(events, path)
    assert_same(path, read_table(path))
    assert_same(str(path), read_table(path), start="2024-03-01 12:00")


def test_real_spelling_and_hostile_files(tmp_path):
    path = tmp_path / "real.csv.gz"
    pd.read_csv(REAL_EVENTS).to_csv(path, index=False)
    assert_same(path, read_table(path))
    hostile = _hostile().drop(index=[0])  # NUL is not CSV text
    hostile = hostile.fillna("").astype({name: str for name in hostile.columns})
    spellings = _spellings().astype({"TimeGenerated": str})
    for frame, name in ((hostile, "hostile"), (spellings, "spellings")):
        for suffix in (".csv", ".parquet", ".csv.gz"):
            _write(frame, tmp_path / f"{name}{suffix}")
            assert_same(tmp_path / f"{name}{suffix}", read_table(tmp_path / f"{name}{suffix}"))


def test_folders_and_lists(tmp_path):
    events = generate_demo(n_users=12, n_days=4, seed=9).events
    half = len(events) // 2
    _write(events.iloc[:half], tmp_path / "a.parquet")
    _write(events.iloc[half:], tmp_path / "b.csv.gz")
    oracle = pd.concat(
        [read_table(tmp_path / "a.parquet"), read_table(tmp_path / "b.csv.gz")], ignore_index=True
    )
    assert_same(tmp_path, oracle)
    assert_same([tmp_path / "a.parquet", tmp_path / "b.csv.gz"], oracle)


# --------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------
def test_a_parquet_file_is_profiled_as_its_events_are(tmp_path):
    events = generate_demo(n_users=6, n_days=3, seed=6).events
    expected = account_day_summary(events)
    pd.testing.assert_frame_equal(engine_account_day_summary(events), expected)
    path = tmp_path / "events.parquet"
    events.to_parquet(path, index=False)
    found, dropped = engine_account_day_summary(path, return_dropped=True)
    pd.testing.assert_frame_equal(found, expected)
    assert dropped["machine_account"] > 0


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


# --------------------------------------------------------------------------
# Column types of a frame
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "dtype", ["string[python]", "string[pyarrow]", "category", pd.ArrowDtype(pa.string())]
)
def test_text_dtypes(dtype):
    frame = _spellings()
    text = ["TargetUserName", "TargetDomainName", "Computer", "IpAddress", "WorkstationName"]
    assert_same(frame.astype({name: dtype for name in [*text, "LogonTypeName"]}))


def test_time_dtypes():
    events = generate_demo(n_users=8, n_days=3, seed=2).events
    stamps = events["TimeGenerated"] + pd.to_timedelta(np.arange(len(events)) % 999, unit="ns")
    for times in (stamps, stamps.dt.tz_localize(None), stamps.dt.tz_convert("Asia/Tokyo")):
        assert_same(events.assign(TimeGenerated=times))
    assert_same(events.assign(TimeGenerated=stamps.where(np.arange(len(stamps)) % 7 != 0)))

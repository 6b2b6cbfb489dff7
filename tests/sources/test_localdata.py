"""LocalData: a folder of exported files is hunted like a workspace."""

from __future__ import annotations

import pandas as pd
import pytest
from msticpy.common.timespan import TimeSpan

from msticnb_iforest import AnomalousLogonUsers, QueryError
from msticnb_iforest.sources.demo import generate_demo
from msticnb_iforest.sources.local import LOCAL_FILE_STEMS

from ..conftest import DEMO_CSV


def test_raw_events_folder_is_summarized_within_timespan(local_folder):
    folder, init = local_folder
    demo = generate_demo(40, 14, seed=3)
    half = len(demo.events) // 2
    stem = LOCAL_FILE_STEMS["network_logon_events"]
    demo.events.iloc[:half].to_parquet(folder / f"{stem}.parquet")
    demo.events.iloc[half:].to_csv(folder / f"{stem}_part2.csv.gz", index=False)
    init()
    last_week = TimeSpan(start=demo.end - pd.Timedelta(days=7), end=demo.end)
    result = AnomalousLogonUsers().run(timespan=last_week, feature_set="seed", options=["-shap"])
    assert sorted(f["format"] for f in result.input_files) == ["csv.gz", "parquet"]
    assert sum(f["rows"] for f in result.input_files) == len(demo.events)
    days = pd.to_datetime(result.user_days["Date"])
    assert days.min() >= (demo.end - pd.Timedelta(days=7)).tz_localize(None).normalize()
    assert result.dropped_rows["out_of_range"] > 0
    assert result.dropped_rows["machine_account"] > 0
    assert len(result.user_days) > 100


def test_summary_table_folder(local_folder):
    folder, init = local_folder
    table = pd.read_csv(DEMO_CSV)
    table.to_csv(folder / f"{LOCAL_FILE_STEMS['user_day_summary']}.csv", index=False)
    init()
    span = TimeSpan(start="2022-09-06T00:00:00+00:00", end="2022-09-27T00:00:00+00:00")
    result = AnomalousLogonUsers().run(timespan=span, feature_set="seed", options=["-shap"])
    assert list(result.outliers["DstUser"]) == ["SVC-ACC-02", "SRVACC-04"]
    narrow = TimeSpan(start="2022-09-20T00:00:00+00:00", end="2022-09-27T00:00:00+00:00")
    result = AnomalousLogonUsers().run(timespan=narrow, feature_set="seed", options=["-shap"])
    assert pd.to_datetime(result.user_days["Date"]).min() == pd.Timestamp("2022-09-20")
    assert result.dropped_rows["out_of_range"] > 0


def test_empty_folder_names_the_expected_files(local_folder):
    _, init = local_folder
    init()
    with pytest.raises(QueryError, match="anomalous_logons_events.csv"):
        AnomalousLogonUsers().run(timespan=TimeSpan(start="2024-01-01", end="2024-01-05"))


def test_every_readable_format_is_found_and_pickles_are_not(tmp_path):
    from msticnb_iforest.sources.local import find_local_files
    from msticnb_iforest.sources.readers import SUPPORTED_SUFFIXES

    (tmp_path / "deep" / "er").mkdir(parents=True)
    for stem in (LOCAL_FILE_STEMS["user_day_summary"], LOCAL_FILE_STEMS["network_logon_events"]):
        for suffix in SUPPORTED_SUFFIXES:
            (tmp_path / "deep" / "er" / f"{stem}_part{suffix}").write_bytes(b"")
        (tmp_path / f"{stem}.pkl").write_bytes(b"")
        (tmp_path / f"{stem}.txt").write_bytes(b"")
    # an event log (.evtx) holds raw events, never a per-user-day table
    tables = [suffix for suffix in SUPPORTED_SUFFIXES if suffix != ".evtx"]
    for stem, suffixes in (
        (LOCAL_FILE_STEMS["user_day_summary"], tables),
        (LOCAL_FILE_STEMS["network_logon_events"], SUPPORTED_SUFFIXES),
    ):
        found = find_local_files([tmp_path], stem)
        names = sorted(p.name for p in found)
        assert names == sorted(f"{stem}_part{suffix}" for suffix in suffixes)
    assert {".tsv.gz", ".ndjson.gz", ".evtx"} <= {suffix for suffix in SUPPORTED_SUFFIXES}


def test_a_pickled_table_is_named_but_not_loaded(local_folder):
    folder, init = local_folder
    pd.read_csv(DEMO_CSV).to_pickle(folder / f"{LOCAL_FILE_STEMS['user_day_summary']}.pkl")
    init()
    with pytest.raises(QueryError, match="pickle, which is not read"):
        AnomalousLogonUsers().run(timespan=TimeSpan(start="2022-09-06", end="2022-09-27"))


def test_local_folders_reads_msticpy_localdata_paths(tmp_path):
    """The one private read of msticpy: a LocalData provider's data folders."""
    from msticpy.data import QueryProvider

    from msticnb_iforest.sources.local import local_folders

    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    provider = QueryProvider("LocalData", data_paths=[str(first), str(second)])
    # If msticpy moves the folders off `_query_provider._paths`, this fails.
    assert [p.resolve() for p in local_folders(provider)] == [first.resolve(), second.resolve()]
    assert local_folders(object()) == []

"""
Big workspaces: results beyond the service's row cap come back complete with split_query_by.

A fake msticpy driver (a real ``DriverBase`` subclass on a real
``QueryProvider``, so msticpy's own split logic runs) holds raw logon events,
answers the ``user_day_summary`` KQL for the time range written in the query
text, records every range, and cuts results at a row cap like Log Analytics'
500,000-row limit (scaled down with the data).
"""

from __future__ import annotations

import logging
import re
import warnings
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest
from msticpy.common.exceptions import MsticpyDataQueryError
from msticpy.data import QueryProvider
from msticpy.data.drivers.driver_base import DriverBase, DriverProps

from msticnb_iforest.errors import ParameterError, QueryError
from msticnb_iforest.schema import SUMMARY_COLUMNS
from msticnb_iforest.sources.query import ensure_queries, fetch_user_days, split_windows

CAP = 150  # rows per query; 30 accounts x 9.4 days is about 280 rows
KEYS = ["Date", "DstDomain", "DstUser", "LogonTypeName"]
START = datetime(2024, 3, 1, 9, 30, tzinfo=timezone.utc)  # not at midnight
END = datetime(2024, 3, 10, 18, 0, tzinfo=timezone.utc)
_RANGE = re.compile(
    r"TimeGenerated >= datetime\(([^)]+)\) and TimeGenerated <= datetime\(([^)]+)\)"
)


def _events(seed: int = 0) -> pd.DataFrame:
    """Network logons of 30 accounts, every hour of every day, some near midnight."""
    rng = np.random.default_rng(seed)
    hours = pd.date_range("2024-02-29", "2024-03-12", freq="h", tz="UTC", inclusive="left")
    accounts = [f"user{i:02d}" for i in range(30)]
    times = np.repeat(hours.tz_localize(None).to_numpy(), len(accounts))
    users = np.tile(accounts, len(hours))
    jitter = rng.integers(0, 3_600 * 10**9, len(times)).astype("timedelta64[ns]")
    near_midnight = rng.random(len(times)) < 0.05  # crowd the day boundaries
    jitter[near_midnight] = np.timedelta64(3_599_999_999_999, "ns")
    failed = rng.random(len(times)) < 0.1
    return pd.DataFrame(
        {
            "TimeGenerated": pd.DatetimeIndex(times + jitter, tz="UTC"),
            "EventID": np.where(failed, 4625, 4624),
            "TargetDomainName": "CONTOSO",
            "TargetUserName": users,
            "Computer": rng.choice([f"srv{i}" for i in range(6)], len(times)),
            "IpAddress": rng.choice([f"10.0.0.{i}" for i in range(5)], len(times)),
            "WorkstationName": rng.choice([f"ws{i}" for i in range(5)], len(times)),
            "AuthenticationPackageName": rng.choice(["NTLM", "Kerberos"], len(times)),
            "AccountDomain": "CONTOSO",
        }
    )


def _summarize(events: pd.DataFrame) -> pd.DataFrame:
    """What the user_day_summary KQL returns for these (already filtered) events."""
    ev = events.assign(
        Date=events["TimeGenerated"].dt.strftime("%Y-%m-%d"),
        DstDomain=events["TargetDomainName"],
        DstUser=events["TargetUserName"],
        LogonTypeName="3 - Network",
        ok=events["EventID"] == 4624,
    )
    good = ev[ev["ok"]]
    grouped = ev.groupby(KEYS)
    out = grouped.agg(
        AttemptedLogons=("EventID", "size"),
        MAX_TimeGenerated=("TimeGenerated", "max"),
        MIN_TimeGenerated=("TimeGenerated", "min"),
        SuccessfulLogons=("ok", "sum"),
        ComputerDomainsAccessed=("TargetDomainName", "nunique"),
        DistinctAuthenticationPackage=("AuthenticationPackageName", "nunique"),
        ComputersAccessed=("Computer", "nunique"),
        DistinctSrcIp=("IpAddress", "nunique"),
        DistinctSrcHostName=("WorkstationName", "nunique"),
    )
    out["FailedLogons"] = out["AttemptedLogons"] - out["SuccessfulLogons"]
    ok = good.groupby(KEYS).agg(
        ComputersSuccessfulAccess=("Computer", "nunique"),
        ComputerDomainsSuccessfulAccess=("AccountDomain", "nunique"),
        SrcIpSuccessfulAccess=("IpAddress", "nunique"),
        SrcHostNameSuccessfulAccess=("WorkstationName", "nunique"),
    )
    out = out.join(ok).fillna(0).reset_index()
    out["ActiveMilliseconds"] = (
        out["MAX_TimeGenerated"] - out["MIN_TimeGenerated"]
    ).dt.total_seconds() * 1000
    return out[SUMMARY_COLUMNS]


class CappedDriver(DriverBase):
    """Answer the summary query from raw events; cut results at `cap` rows."""

    def __init__(self, events: pd.DataFrame, cap: int, **kwargs):
        super().__init__(**kwargs)
        self.events = events
        self.cap = cap
        self.ranges: list[tuple[pd.Timestamp, pd.Timestamp]] = []
        self.fail_on: pd.Timestamp | None = None
        self._loaded = True

    def connect(self, connection_str: str | None = None, **kwargs):
        self._connected = True

    def query(self, query: str, query_source=None, **kwargs) -> pd.DataFrame:
        found = _RANGE.search(query)
        assert found, query
        lo, hi = (pd.Timestamp(text) for text in found.groups())
        lo = lo.tz_localize("UTC") if lo.tzinfo is None else lo
        hi = hi.tz_localize("UTC") if hi.tzinfo is None else hi
        self.ranges.append((lo, hi))
        if self.fail_on is not None and lo <= self.fail_on <= hi:
            raise MsticpyDataQueryError("Query timed out (simulated).")
        times = self.events["TimeGenerated"]
        rows = _summarize(self.events[(times >= lo) & (times <= hi)])
        return rows.head(self.cap).reset_index(drop=True)

    def query_with_results(self, query: str, **kwargs):
        return self.query(query, **kwargs), None


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return _events()


@pytest.fixture(scope="module")
def truth(events) -> pd.DataFrame:
    """The complete answer: the query over the whole window, no cap."""
    times = events["TimeGenerated"]
    return _summarize(events[(times >= START) & (times <= END)])


@pytest.fixture(scope="module")
def provider(events):
    driver = CappedDriver(events, CAP)
    qry_prov = QueryProvider("MSSentinel", driver=driver)
    ensure_queries(qry_prov)
    qry_prov.connect()
    return qry_prov


@pytest.fixture
def driver(provider):
    drv = provider._query_provider
    drv.ranges.clear()
    drv.cap, drv.fail_on = CAP, None
    drv.set_driver_property(DriverProps.SUPPORTS_THREADING, False)
    return drv


def _sorted(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.sort_values(KEYS, kind="stable").reset_index(drop=True)


def test_the_fake_service_is_capped(truth):
    assert len(truth) > 1.5 * CAP  # the unsplit query cannot return it all
    assert truth.groupby("Date").size().max() < CAP  # one day fits in a query


def test_unsplit_result_is_truncated_and_noted(provider, driver, truth):
    notes: list[str] = []
    rows, _ = fetch_user_days(provider, START, END, row_limit=CAP, notes=notes)
    assert len(rows) == CAP < len(truth)
    assert len(driver.ranges) == 1
    assert len(notes) == 1 and "split_query_by='1D'" in notes[0] and f"{CAP:,}" in notes[0]
    # Without a notes list, the same remark is a warning.
    with pytest.warns(UserWarning, match="probably cut off"):
        fetch_user_days(provider, START, END, row_limit=CAP)


@pytest.mark.parametrize("threaded", [False, True])
def test_split_by_day_is_complete_and_exact(provider, driver, truth, threaded):
    driver.set_driver_property(DriverProps.SUPPORTS_THREADING, threaded)
    notes: list[str] = []
    rows, text = fetch_user_days(
        provider, START, END, split_query_by="1D", row_limit=CAP, notes=notes
    )
    assert notes == []
    assert not rows.duplicated(KEYS).any()
    pd.testing.assert_frame_equal(_sorted(rows), _sorted(truth), check_dtype=False)
    assert "datetime(2024-03-01T09:30:00" in text  # the returned text is the unsplit query
    # Ranges: the first starts at `start`, every other one at a UTC midnight; together
    # they tile [start, end] without gaps or overlaps.
    ranges = sorted(driver.ranges)
    assert ranges[0][0] == pd.Timestamp(START)
    assert ranges[-1][1] == pd.Timestamp(END)
    for (_, hi), (lo, _) in zip(ranges[:-1], ranges[1:], strict=True):
        assert lo == lo.normalize() and hi == lo - pd.Timedelta(1, "ns")
    assert len(ranges) == 10  # 1 partial first day, 8 whole days, 1 partial last day


def test_window_starting_at_midnight_goes_to_msticpy_in_one_call(provider, driver, events):
    start = datetime(2024, 3, 2, tzinfo=timezone.utc)
    times = events["TimeGenerated"]
    truth = _summarize(events[(times >= start) & (times <= END)])
    rows, _ = fetch_user_days(provider, start, END, split_query_by="1D", notes=[])
    pd.testing.assert_frame_equal(_sorted(rows), _sorted(truth), check_dtype=False)
    assert all(lo == lo.normalize() for lo, _ in driver.ranges) and len(driver.ranges) == 9


def test_msticpy_split_alone_splits_days_when_start_is_not_midnight(provider, driver, truth):
    # The reason for aligning: msticpy cuts at start + k x 1 day, so each UTC day
    # is queried in two parts and its rows come back twice with partial counts.
    rows = provider.AnomalousLogons.user_day_summary(
        start=START, end=END, split_query_by="1D", progress=False
    )
    assert rows.duplicated(KEYS).any()
    assert rows["AttemptedLogons"].sum() == truth["AttemptedLogons"].sum()
    assert len(rows) > len(truth)


def test_multi_day_chunks_and_sub_day_sizes(provider, driver, truth):
    notes: list[str] = []
    rows, _ = fetch_user_days(provider, START, END, split_query_by="3D", notes=notes)
    assert notes == []
    pd.testing.assert_frame_equal(_sorted(rows), _sorted(truth), check_dtype=False)
    assert [lo.normalize() == lo for lo, _ in sorted(driver.ranges)[1:]] == [True] * 3
    driver.ranges.clear()
    rows, _ = fetch_user_days(provider, START, END, split_query_by="6h", notes=notes)
    assert len(notes) == 1 and "rounded to 1 day" in notes[0]
    pd.testing.assert_frame_equal(_sorted(rows), _sorted(truth), check_dtype=False)


def test_a_full_chunk_is_noted(provider, driver, truth):
    driver.cap = int(truth.groupby("Date").size().max())  # the busiest day hits the cap
    notes: list[str] = []
    fetch_user_days(provider, START, END, split_query_by="1D", row_limit=driver.cap, notes=notes)
    assert notes and all("probably cut off" in note for note in notes)


def test_a_failed_chunk_fails_the_fetch(provider, driver, caplog):
    # msticpy only logs a chunk that fails; the fetch must not return partial data.
    caplog.set_level(logging.WARNING)
    driver.fail_on = pd.Timestamp("2024-03-05 12:00", tz="UTC")
    with pytest.raises(QueryError, match="1 part.*failed"):
        fetch_user_days(provider, START, END, split_query_by="1D", notes=[])
    # Watching for failures does not leak msticpy's INFO messages to the caller's logs.
    assert not [rec for rec in caplog.records if rec.levelno < logging.WARNING]


def test_short_windows_and_bad_sizes(provider, driver, truth):
    # A window shorter than the chunk size runs as one query (msticpy itself fails there).
    end = datetime(2024, 3, 2, 6, 0, tzinfo=timezone.utc)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows, _ = fetch_user_days(provider, START, end, split_query_by="7D")
    assert not rows.duplicated(KEYS).any()
    assert len(driver.ranges) == 1
    driver.ranges.clear()
    fetch_user_days(provider, START, end, split_query_by="1D")
    assert len(driver.ranges) == 2  # rest of day 1, then the start of day 2
    with pytest.raises(ParameterError, match="split_query_by"):
        fetch_user_days(provider, START, END, split_query_by="often")
    with pytest.raises(ParameterError, match="positive"):
        split_windows(START, END, "-1D")


def test_split_windows_grid():
    windows, days = split_windows(
        datetime(2024, 1, 1, 10, tzinfo=timezone.utc), datetime(2024, 1, 22), "7D"
    )
    assert days == 7
    starts = [str(lo) for lo, _ in windows]
    assert starts == [
        "2024-01-01 10:00:00+00:00",
        "2024-01-08 00:00:00+00:00",
        "2024-01-15 00:00:00+00:00",
    ]
    assert windows[-1][1] == pd.Timestamp("2024-01-22", tz="UTC")  # end stays inclusive

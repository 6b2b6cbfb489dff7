"""The Azure Data Explorer (Kusto) queries render offline and match the Sentinel KQL."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pandas as pd
import pytest
import yaml
from msticpy.data import QueryProvider

from msticnb_iforest.sources.query import QUERY_DIR, ensure_queries, fetch_user_days, query_file_for

from .test_split_query import CappedDriver, _events

START = datetime(2024, 1, 1, tzinfo=timezone.utc)
END = datetime(2024, 1, 22, tzinfo=timezone.utc)
QUERIES = ("user_day_summary", "network_logon_events")


@pytest.fixture(scope="module")
def kusto() -> QueryProvider:
    # The real Kusto provider: no cluster configured, never connected (no network).
    provider = QueryProvider("Kusto")
    ensure_queries(provider)
    return provider


@pytest.fixture(scope="module")
def sentinel() -> QueryProvider:
    provider = QueryProvider("MSSentinel")
    ensure_queries(provider)
    return provider


def _render(provider: QueryProvider, name: str, **kwargs) -> str:
    query = getattr(provider.AnomalousLogons, name)
    return re.sub(r"\s+", " ", query("print", start=START, end=END, **kwargs)).strip()


def test_kusto_provider_loads_the_kusto_file(kusto):
    assert query_file_for("Kusto").name == "anomalous_logons_kusto.yaml"
    assert kusto.environment == "Kusto" and not kusto.connected
    assert {f"AnomalousLogons.{name}" for name in QUERIES} <= set(kusto.list_queries())


@pytest.mark.parametrize("name", QUERIES)
def test_kql_equals_the_sentinel_kql(kusto, sentinel, name):
    kql = _render(kusto, name)
    assert kql == _render(sentinel, name)
    assert kql.startswith("SecurityEvent |")
    assert "datetime(2024-01-01T00:00:00+00:00)" in kql
    # The table is the only part that names where the data lives.
    other = _render(kusto, name, table="WinSecurity")
    assert other.startswith("WinSecurity |")
    assert other.replace("WinSecurity", "SecurityEvent", 1) == kql


def test_query_files_differ_only_in_metadata():
    kusto = yaml.safe_load((QUERY_DIR / "anomalous_logons_kusto.yaml").read_text())
    sentinel = yaml.safe_load((QUERY_DIR / "anomalous_logons.yaml").read_text())
    assert kusto["sources"] == sentinel["sources"]
    assert kusto["defaults"] == sentinel["defaults"]
    meta = kusto["metadata"]
    assert meta["data_environments"] == ["Kusto"]
    assert meta["data_families"] == ["AnomalousLogons"]
    # No cluster is pinned, so the queries stay usable on whatever cluster is connected.
    assert not {"cluster", "clusters", "cluster_groups", "database"} & set(meta)


def test_database_is_passed_to_the_driver():
    # A fake driver in the Kusto data environment stands in for a cluster.
    events = _events()
    seen: list[dict] = []

    class KustoLike(CappedDriver):
        def query(self, query, query_source=None, **kwargs):
            seen.append(kwargs)
            return super().query(query, query_source=query_source)

    driver = KustoLike(events, cap=10_000, data_environment="Kusto")
    provider = QueryProvider("Kusto", driver=driver)
    ensure_queries(provider)
    provider.connect()
    start = pd.Timestamp("2024-03-02 06:00", tz="UTC")
    rows, text = fetch_user_days(
        provider,
        start,
        start + pd.Timedelta(days=3),
        split_query_by="1D",
        query_options={"database": "SecurityLogs"},
        notes=[],
    )
    assert len(seen) == 4 and all(opts.get("database") == "SecurityLogs" for opts in seen)
    assert not rows.duplicated(["Date", "DstDomain", "DstUser"]).any()
    assert text.strip().startswith("SecurityEvent |")

"""
The Azure Data Explorer (Kusto) queries render offline and are the Sentinel KQL.

Sentinel and Kusto share one query file. msticpy decides which queries a provider
gets in two places: ``QueryProvider.import_query_file`` (what `ensure_queries`
calls) adds every query of the file it is given, and the folder route
(``QueryDefinitions: Custom`` or ``query_paths``, ``QueryStore.import_files``) keeps
a query for a provider when the file's ``metadata.data_environments`` meets the
driver's ``query_attach_spec`` (the Kusto driver's is ``{"Kusto"}``). Both are
tested here with the real Kusto driver, offline.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pandas as pd
import pytest
import yaml
from msticpy.data import QueryProvider
from msticpy.data.core.query_defns import DataEnvironment
from msticpy.data.drivers.azure_kusto_driver import AzureKustoDriver

from msticnb_iforest.sources.query import (
    _FILES,
    QUERY_DIR,
    ensure_queries,
    fetch_user_days,
    query_file_for,
)

from .test_split_query import CappedDriver, _events

START = datetime(2024, 1, 1, tzinfo=timezone.utc)
END = datetime(2024, 1, 22, tzinfo=timezone.utc)
QUERIES = ("user_day_summary", "network_logon_events")
TEMPLATES = ("user_day_summary", "account_day_summary", "network_logon_events")


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


def _print(provider: QueryProvider, name: str, **kwargs) -> str:
    return getattr(provider.AnomalousLogons, name)("print", start=START, end=END, **kwargs)


def _render(provider: QueryProvider, name: str, **kwargs) -> str:
    return re.sub(r"\s+", " ", _print(provider, name, **kwargs)).strip()


def test_kusto_provider_loads_the_sentinel_file(kusto):
    assert query_file_for("Kusto") == query_file_for("MSSentinel")
    assert query_file_for("Kusto").name == "anomalous_logons.yaml"
    assert isinstance(kusto._query_provider, AzureKustoDriver)
    assert kusto.environment == "Kusto" and not kusto.connected
    assert {f"AnomalousLogons.{name}" for name in TEMPLATES} <= set(kusto.list_queries())


@pytest.mark.parametrize("alias", ["AzureDataExplorer", "Kusto_New"])
def test_kusto_aliases_get_the_same_queries(alias, kusto):
    provider = QueryProvider(alias)
    assert provider.environment == "Kusto"
    ensure_queries(provider, "account_day_summary")
    for name in TEMPLATES:
        assert _print(provider, name) == _print(kusto, name)


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


def test_one_file_serves_sentinel_and_kusto():
    text = (QUERY_DIR / "anomalous_logons.yaml").read_text(encoding="utf-8")
    meta = yaml.safe_load(text)["metadata"]
    assert {"MSSentinel", "LogAnalytics", "Kusto"} <= set(meta["data_environments"])
    assert meta["data_families"] == ["AnomalousLogons"]
    # No cluster is pinned, so the queries stay usable on whatever cluster is connected.
    assert not {"cluster", "clusters", "cluster_groups", "database"} & set(meta)
    # No copy: every KQL file of the package is this one, the rest is LocalData.
    kql_files = [
        path.name
        for path in sorted(QUERY_DIR.glob("*.yaml"))
        if yaml.safe_load(path.read_text(encoding="utf-8"))["metadata"]["data_environments"]
        != ["LocalData"]
    ]
    assert kql_files == ["anomalous_logons.yaml"]


@pytest.mark.parametrize("environment", sorted(_FILES))
def test_each_file_lists_the_environments_it_is_loaded_for(environment):
    meta = yaml.safe_load(query_file_for(environment).read_text(encoding="utf-8"))["metadata"]
    listed = {DataEnvironment.parse(env).name for env in meta["data_environments"]}
    assert DataEnvironment.parse(environment).name in listed


@pytest.mark.parametrize("environment", ["Kusto", "MSSentinel"])
def test_the_query_folder_route_keeps_the_queries_for_the_driver(environment, sentinel):
    # msticpy's folder import keeps a query when metadata.data_environments meets the
    # driver's attach spec: the real Kusto driver's is {"Kusto"}.
    provider = QueryProvider(environment, query_paths=[str(QUERY_DIR)])
    spec = provider._query_provider.query_attach_spec["data_environments"]
    meta = yaml.safe_load((QUERY_DIR / "anomalous_logons.yaml").read_text(encoding="utf-8"))
    assert spec & set(meta["metadata"]["data_environments"])
    if environment == "Kusto":
        assert spec == {"Kusto"}
    for name in TEMPLATES:
        assert _print(provider, name) == _print(sentinel, name)


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

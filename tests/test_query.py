"""The KQL templates render offline and hold every filter and column."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from msticpy.data import QueryProvider

from msticnb_iforest.schema import SUMMARY_COLUMNS
from msticnb_iforest.sources.query import QUERY_DIR, ensure_queries, query_file_for

START = datetime(2024, 1, 1, tzinfo=timezone.utc)
END = datetime(2024, 1, 22, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def sentinel() -> QueryProvider:
    provider = QueryProvider("MSSentinel")
    ensure_queries(provider)
    return provider


def _render(provider, **kwargs) -> str:
    text = provider.AnomalousLogons.user_day_summary("print", start=START, end=END, **kwargs)
    return re.sub(r"\s+", " ", text)


def test_renders_without_connection(sentinel):
    assert not sentinel.connected
    kql = _render(sentinel)
    assert kql.strip().startswith("SecurityEvent |")
    assert "datetime(2024-01-01T00:00:00" in kql and "datetime(2024-01-22T00:00:00" in kql


def test_filters(sentinel):
    kql = _render(sentinel)
    for clause in (
        "where EventID in (4624, 4625)",
        'where LogonTypeName == "3 - Network"',
        'DstDomain =~ "NT AUTHORITY"',
        'DstDomain =~ "ANONYMOUS LOGON"',
        'DstDomain =~ "SYSTEM"',
        'DstDomain =~ "WINDOW MANAGER" and DstUser startswith "DWM-"',
        'DstDomain =~ "NT VIRTUAL MACHINE"',
        'where not(DstUser endswith "$")',
        "LogonType == 3",
        "LogonType == 5",
        "LogonType == 2",
        "where not(EventID == 4624 and (",
        'Date = format_datetime(TimeGenerated, "yyyy-MM-dd")',
        "DstDomain = TargetDomainName",
        "DstUser = TargetUserName",
    ):
        assert clause in kql, clause


def test_aggregations_and_columns(sentinel):
    kql = _render(sentinel)
    for expr in (
        "AttemptedLogons = count()",
        "MAX_TimeGenerated = max(TimeGenerated)",
        "MIN_TimeGenerated = min(TimeGenerated)",
        "SuccessfulLogons = countif(EventID == 4624)",
        "FailedLogons = countif(EventID == 4625)",
        "ComputerDomainsAccessed = dcount(TargetDomainName)",
        "DistinctAuthenticationPackage = dcount(AuthenticationPackageName)",
        "ComputersAccessed = dcount(Computer)",
        "DistinctSrcIp = dcount(IpAddress)",
        "DistinctSrcHostName = dcount(WorkstationName)",
        "ComputersSuccessfulAccess = dcountif(Computer, EventID == 4624)",
        "ComputerDomainsSuccessfulAccess = dcountif(AccountDomain, EventID == 4624)",
        "SrcIpSuccessfulAccess = dcountif(IpAddress, EventID == 4624)",
        "SrcHostNameSuccessfulAccess = dcountif(WorkstationName, EventID == 4624)",
        "by Date, DstDomain, DstUser, LogonTypeName",
        'ActiveMilliseconds = datetime_diff("millisecond", MAX_TimeGenerated, MIN_TimeGenerated)',
    ):
        assert expr in kql, expr
    projected = kql.rsplit("| project ", 1)[1]
    assert [c.strip() for c in projected.split(",")] == SUMMARY_COLUMNS


def test_parameters_substitute(sentinel):
    kql = _render(sentinel, table="MySecurityEvents", add_query_items="| where Computer has 'dc'")
    assert kql.strip().startswith("MySecurityEvents |")
    assert "| where Computer has 'dc' | summarize" in kql


def test_raw_event_query_has_same_filters(sentinel):
    raw = sentinel.AnomalousLogons.network_logon_events("print", start=START, end=END)
    raw = re.sub(r"\s+", " ", raw)
    for clause in (
        "where EventID in (4624, 4625)",
        'where LogonTypeName == "3 - Network"',
        'TargetDomainName =~ "NT VIRTUAL MACHINE"',
        'where not(TargetUserName endswith "$")',
    ):
        assert clause in raw
    assert "summarize" not in raw


def test_ensure_queries_is_idempotent_and_custom_setting_works(sentinel):
    before = len(sentinel.list_queries())
    ensure_queries(sentinel)
    assert len(sentinel.list_queries()) == before
    assert "AnomalousLogons.user_day_summary" in sentinel.list_queries()
    # The folder can be listed under msticpy's "QueryDefinitions: Custom" setting.
    custom = QueryProvider("MSSentinel", query_paths=[str(QUERY_DIR)])
    assert "AnomalousLogons.user_day_summary" in custom.list_queries()


def test_unknown_environment_is_named():
    with pytest.raises(ValueError, match="Splunk"):
        query_file_for("Splunk")

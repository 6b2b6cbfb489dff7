"""The KQL templates render offline and hold every filter and column."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
import yaml
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


TEMPLATES = ("user_day_summary", "account_day_summary", "network_logon_events")


def test_the_network_logon_filter_is_written_once():
    text = (QUERY_DIR / "anomalous_logons.yaml").read_text(encoding="utf-8")
    for piece, times in {
        "EventID in (4624, 4625)": 1,
        'LogonTypeName == "3 - Network"': 1,
        '"NT AUTHORITY"': 2,  # both in the one exclusion (logon types 3 and 5)
        '"ANONYMOUS LOGON"': 1,
        '"SYSTEM"': 1,
        '"WINDOW MANAGER"': 1,
        '"DWM-"': 1,
        '"NT VIRTUAL MACHINE"': 1,
        'endswith "$"': 1,
    }.items():
        assert text.count(piece) == times, piece
    for name in TEMPLATES:
        source = yaml.safe_load(text)["sources"][name]
        assert "$<account_exclusions>$" in source["args"]["query"], name
        assert "{event_filter}" in source["args"]["query"], name
        assert "{logon_type_filter}" in source["args"]["query"], name


@pytest.mark.parametrize(
    ("name", "columns"),
    [
        ("user_day_summary", ("EventID", "LogonType", "DstDomain", "DstUser")),
        ("account_day_summary", ("EventNo", "LogonNo", "DstDomain", "DstUser")),
        ("network_logon_events", ("EventID", "LogonType", "TargetDomainName", "TargetUserName")),
    ],
)
def test_each_query_applies_the_exclusions_to_its_own_columns(sentinel, name, columns):
    event, logon_type, domain, user = columns
    kql = re.sub(
        r"\s+", " ", getattr(sentinel.AnomalousLogons, name)("print", start=START, end=END)
    )
    assert (
        f"| where not({event} == 4624 and ( ({logon_type} == 3 and ({domain} =~ "
        f'"NT AUTHORITY" or {domain} =~ "ANONYMOUS LOGON"))'
    ) in kql
    assert f'{logon_type} == 2 and {domain} =~ "WINDOW MANAGER" and {user} startswith "DWM-"' in kql
    assert f'or {domain} =~ "NT VIRTUAL MACHINE")) | where not({user} endswith "$")' in kql
    assert kql.count('| where LogonTypeName == "3 - Network"') == 1
    assert "$<" not in kql and "{" not in kql


def test_the_filter_pieces_are_parameters_with_defaults(sentinel):
    for name in TEMPLATES:
        params = sentinel.query_store.get_query(f"AnomalousLogons.{name}").params
        for param in ("event_filter", "logon_type_filter"):
            assert params[param]["type"] == "str" and params[param]["default"].startswith(
                "| where "
            ), (name, param)
    kql = _render(sentinel, logon_type_filter='| where LogonTypeName == "10 - RemoteInteractive"')
    assert 'where LogonTypeName == "10 - RemoteInteractive" | extend DstDomain' in kql
    assert "3 - Network" not in kql

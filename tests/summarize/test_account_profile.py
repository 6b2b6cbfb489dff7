"""The account_day_summary query and its local twin: KQL text, hand-checked columns, splits."""

from __future__ import annotations

import re
import warnings
from datetime import datetime, timezone

import pandas as pd
import pytest
from msticpy.data import QueryProvider
from msticpy.data.drivers.driver_base import DriverBase, DriverProps
from sklearn.metrics import average_precision_score

from msticnb_iforest.identity import LOCAL_IP, LOCAL_IP_PREFIXES, NO_HOST, NO_IP
from msticnb_iforest.pipeline import hunt
from msticnb_iforest.schema import SUMMARY_COLUMNS
from msticnb_iforest.sources.demo import generate_demo
from msticnb_iforest.sources.query import ensure_queries, fetch_user_days
from msticnb_iforest.summarize.account_days import (
    ACCOUNT_DAY_COLUMNS,
    PROFILE_COLUMNS,
    account_day_summary,
)
from msticnb_iforest.summarize.user_days import user_day_summary

START = datetime(2024, 1, 1, tzinfo=timezone.utc)
END = datetime(2024, 1, 22, tzinfo=timezone.utc)
KEYS = ["Date", "DstDomain", "DstUser", "LogonTypeName"]


@pytest.fixture(scope="module")
def sentinel() -> QueryProvider:
    provider = QueryProvider("MSSentinel")
    ensure_queries(provider, "account_day_summary")
    return provider


def _render(provider, **kwargs) -> str:
    text = provider.AnomalousLogons.account_day_summary("print", start=START, end=END, **kwargs)
    return re.sub(r"\s+", " ", text)


# --------------------------------------------------------------------------
# KQL
# --------------------------------------------------------------------------
def test_kql_window_defaults_to_the_rows_window(sentinel):
    kql = _render(sentinel)
    assert 'let history_start = coalesce(todatetime(""), datetime(2024-01-01T00:00:00' in kql
    assert 'let history_end = coalesce(todatetime(""), datetime(2024-01-22T00:00:00' in kql
    assert "| where TimeGenerated >= history_start and TimeGenerated <= history_end" in kql
    rows = kql.rsplit("let host_bursts", 1)[1]
    assert "where TimeGenerated >= datetime(2024-01-01T00:00:00" in rows
    kql = _render(sentinel, window_start="2023-12-01T00:00:00+00:00")
    assert 'coalesce(todatetime("2023-12-01T00:00:00+00:00"), datetime(2024-01-01' in kql


def test_kql_keeps_the_summary_filters_and_columns(sentinel):
    kql = _render(sentinel)
    for clause in (
        "where EventNo == 4624 or EventNo == 4625",
        'where LogonTypeName == "3 - Network"',
        'DstDomain =~ "NT AUTHORITY"',
        'where not(DstUser endswith "$")',
        "SrcIpSuccessfulAccess = dcountif(IpAddress, EventNo == 4624)",
    ):
        assert clause in kql, clause
    projected = [c.strip() for c in kql.rsplit("| project ", 1)[1].split(",")]
    assert projected == ACCOUNT_DAY_COLUMNS
    assert ACCOUNT_DAY_COLUMNS == SUMMARY_COLUMNS + PROFILE_COLUMNS


def test_kql_novelty_and_population_expressions(sentinel):
    kql = _render(sentinel)
    for source, column in (("SrcIp", "NovelSrcIp"), ("SrcHost", "NovelSrcHost")):
        assert (
            f'| where {source} != "" | summarize First = min(Day), Last = max(Day) by '
            f"AccountKey, {source} | where First == Last | summarize {column} = "
            f"count(), New{source}s = make_set({source}) "
            'by Date = format_datetime(First, "yyyy-MM-dd"), AccountKey' in kql
        )
    assert (
        "summarize First = min(Day), Last = max(Day) by AccountKey, ComputerKey "
        "| where First == Last | summarize NovelComputer = count()" in kql
    )
    assert "let window_days = toscalar(logons | summarize dcount(Day))" in kql
    assert '| where EventNo == 4625 and SrcIp != "" | distinct Date, SrcIp, AccountKey' in kql
    assert (
        "SrcIpFailedAccountsUsual = todouble(SourceTotal - SrcIpFailedAccounts) "
        "/ max_of(window_days - 1, 1)" in kql
    )
    assert (
        "summarize arg_max(Excess, SrcIpFailedAccounts, SrcIpFailedAccountsUsual, "
        "FailedSrcIp) by Date, AccountKey" in kql
    )
    assert "summarize SrcIpHosts = dcount(SrcHost) by Date, AccountKey, SrcIp" in kql
    for column in (
        "NovelSrcIp",
        "NovelSrcHost",
        "NovelComputer",
        "SrcIpFailedAccounts",
        "NovelSrcNet",
        "NovelSrcHostOthers",
        "FailedSrcIpDays",
    ):
        assert f"{column} = coalesce({column}, long(0))" in kql
    for expr in (
        'SrcIps = dcountif(SrcIp, SrcIp != "")',
        'SrcHosts = dcountif(SrcHost, SrcHost != "")',
        'NoSrcIpLogons = countif(SrcKind == "none")',
        'LocalSrcIpLogons = countif(SrcKind == "local")',
        'NoSrcHostLogons = countif(SrcHost == "")',
        "by Date, AccountKey, LogonTypeName",
        "join kind=inner shown on AccountKey",
    ):
        assert expr in kql, expr


def test_kql_source_rules_equal_the_local_ones(sentinel):
    kql = _render(sentinel)
    found = re.search(r'SrcKind = case\(IpText in \(([^)]*)\), "none", (.*?), "local"', kql)
    assert found, kql
    listed = tuple(item.strip().strip('"') for item in found.group(1).split(","))
    assert listed == NO_IP
    assert found.group(2) == (
        f'IpText == "{LOCAL_IP}" or IpText startswith "{LOCAL_IP_PREFIXES[0]}" '
        f'or IpText startswith "{LOCAL_IP_PREFIXES[1]}"'
    )
    assert 'IpText = trim_start(@"::ffff:", tolower(trim(@"\\s+", tostring(IpAddress))))' in kql
    hosts = ", ".join(f'"{h}"' for h in NO_HOST)
    assert f'SrcHost = iff(HostText in ({hosts}), "", HostText)' in kql


def test_kusto_file_has_the_same_query():
    kusto = QueryProvider("Kusto")
    ensure_queries(kusto, "account_day_summary")
    sentinel = QueryProvider("MSSentinel")
    ensure_queries(sentinel, "account_day_summary")
    assert _render(kusto) == _render(sentinel)


# --------------------------------------------------------------------------
# Local profile, by hand
# --------------------------------------------------------------------------
def _event(day: int, hour: int, user: str, ip: str, host: str, computer: str, ok=True) -> dict:
    return {
        "TimeGenerated": pd.Timestamp("2024-05-01", tz="UTC") + pd.Timedelta(days=day, hours=hour),
        "EventID": 4624 if ok else 4625,
        "TargetUserName": user,
        "TargetDomainName": "CONTOSO",
        "LogonType": 3,
        "LogonTypeName": "3 - Network",
        "Computer": computer,
        "IpAddress": ip,
        "WorkstationName": host,
        "AuthenticationPackageName": "NTLM",
    }


@pytest.fixture(scope="module")
def small_events() -> pd.DataFrame:
    rows = []
    for day in range(4):  # alice: same laptop and file server every day
        rows.append(_event(day, 9, "alice", "10.0.0.5", "LT-ALICE", "FS1"))
    # Day 3: alice also from a new address and host to a new server, plus Kerberos "-".
    rows.append(_event(3, 10, "alice", "10.9.9.9", "EVIL", "SRV9"))
    rows.append(_event(3, 11, "alice", "-", "-", "FS1"))
    rows.append(_event(3, 12, "alice", "fe80::1", "", "FS1"))
    # Day 2: one source fails against three accounts; bob's own typo elsewhere.
    for user in ("alice", "bob", "carol"):
        rows.append(_event(2, 3, user, "203.0.113.7", "KALI", "DC1", ok=False))
    rows.append(_event(2, 9, "bob", "10.0.0.6", "LT-BOB", "FS1", ok=False))
    rows.append(_event(0, 9, "bob", "10.0.0.6", "LT-BOB", "FS1"))
    # Day 1: the same attacker source fails once against bob only (its usual).
    rows.append(_event(1, 3, "bob", "203.0.113.7", "KALI", "DC1", ok=False))
    # Day 3: dave sends a new workstation name on every attempt from one address.
    for i in range(25):
        rows.append(_event(3, 4, "dave", "198.51.100.2", f"RND{i:04d}", "FS1", ok=False))
    return pd.DataFrame(rows)


def test_local_novelty_columns_by_hand(small_events):
    table = account_day_summary(small_events)
    assert list(table.columns) == ACCOUNT_DAY_COLUMNS
    row = table.set_index(["Date", "DstUser"])
    # alice day 3: 10.9.9.9 / EVIL / SRV9 used on no other day; "-", "" and fe80:: never count.
    assert row.loc[
        ("2024-05-04", "alice"), ["NovelSrcIp", "NovelSrcHost", "NovelComputer"]
    ].tolist() == [1, 1, 1]
    # alice day 2: the attacker's address, host and DC1 are new that day too.
    assert row.loc[
        ("2024-05-03", "alice"), ["NovelSrcIp", "NovelSrcHost", "NovelComputer"]
    ].tolist() == [1, 1, 1]
    # alice days 0 and 1: nothing new (her laptop appears on four days).
    assert row.loc[
        ("2024-05-01", "alice"), ["NovelSrcIp", "NovelSrcHost", "NovelComputer"]
    ].tolist() == [0, 0, 0]
    # bob: the attacker source appears on days 1 and 2, so it is new on neither.
    assert row.loc[("2024-05-03", "bob"), "NovelSrcIp"] == 0
    # dave has one day only: everything he used is new.
    assert row.loc[("2024-05-04", "dave"), ["NovelSrcIp", "NovelSrcHost"]].tolist() == [1, 25]
    # The seed columns still count the placeholders as values, like dcount does.
    assert row.loc[("2024-05-04", "alice"), "DistinctSrcIp"] == 4


def test_local_extra_columns_by_hand(small_events):
    row = account_day_summary(small_events).set_index(["Date", "DstUser"])
    # alice day 3: successes at 09:00, 10:00, 11:00 and 12:00, every one NTLM.
    alice = row.loc[("2024-05-04", "alice")]
    assert alice["SuccessHours"] == (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12)
    assert alice[["NtlmLogons", "KerberosLogons"]].tolist() == [4, 0]
    # alice day 3: 10.9.9.9 is a new /24 (10.0.0.5 is hers every day).
    assert alice["NovelSrcNet"] == 1 and alice["NovelSrcHostOthers"] == 0
    # Failures only: no hours, no packages.
    assert row.loc[("2024-05-04", "dave"), ["SuccessHours", "NtlmLogons"]].tolist() == [0, 0]
    # bob day 2: 203.0.113.7 failed for him on days 1 and 2, 10.0.0.6 on day 2 only.
    assert row.loc[("2024-05-03", "bob"), "FailedSrcIpDays"] == 2
    assert row.loc[("2024-05-03", "alice"), "FailedSrcIpDays"] == 1
    assert row.loc[("2024-05-01", "alice"), "FailedSrcIpDays"] == 0


def test_local_population_columns_by_hand(small_events):
    row = account_day_summary(small_events).set_index(["Date", "DstUser"])
    window_days = 4
    # 203.0.113.7 failed against 3 accounts on day 2 and 1 on day 1: usual (1+0)/(4-1).
    for user in ("alice", "bob", "carol"):
        got = row.loc[("2024-05-03", user)]
        assert got["SrcIpFailedAccounts"] == 3
        assert got["SrcIpFailedAccountsUsual"] == pytest.approx(1 / (window_days - 1))
        assert got["FailedSrcIp"] == "203.0.113.7"
    assert row.loc[("2024-05-02", "bob"), "SrcIpFailedAccounts"] == 1
    assert row.loc[("2024-05-02", "bob"), "SrcIpFailedAccountsUsual"] == pytest.approx(1.0)
    assert row.loc[("2024-05-01", "alice"), "SrcIpFailedAccounts"] == 0
    assert row.loc[("2024-05-01", "alice"), "FailedSrcIp"] == ""
    assert row.loc[("2024-05-04", "dave"), ["SrcIpHosts", "HostsSrcIp"]].tolist() == [
        25,
        "198.51.100.2",
    ]
    assert row.loc[("2024-05-04", "alice"), "SrcIpHosts"] == 1
    assert (row["WindowDays"] == window_days).all()


def test_local_profile_keeps_the_user_day_summary_columns():
    demo = generate_demo(60, 10, seed=5)
    keys = ["Date", "DstDomain", "DstUser"]
    profile = account_day_summary(demo.events).sort_values(keys, ignore_index=True)
    summary = user_day_summary(demo.events).sort_values(keys, ignore_index=True)
    pd.testing.assert_frame_equal(profile[SUMMARY_COLUMNS], summary)
    empty, dropped = account_day_summary(demo.events.iloc[:0], return_dropped=True)
    assert list(empty.columns) == ACCOUNT_DAY_COLUMNS and empty.empty


# --------------------------------------------------------------------------
# A split query still measures novelty against the whole window
# --------------------------------------------------------------------------
_ROWS = re.compile(r"TimeGenerated >= datetime\(([^)]+)\) and TimeGenerated <= datetime\(([^)]+)\)")
_WINDOW = re.compile(r'coalesce\(todatetime\("([^"]*)"\), datetime\(([^)]+)\)\)')


def _utc(text: str) -> pd.Timestamp:
    stamp = pd.Timestamp(text)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp


class ProfileDriver(DriverBase):
    """Answer account_day_summary like the service would, from raw events."""

    def __init__(self, events: pd.DataFrame, **kwargs):
        super().__init__(**kwargs)
        self.events = events
        self._loaded = True

    def connect(self, connection_str=None, **kwargs):
        self._connected = True

    def query(self, query: str, query_source=None, **kwargs) -> pd.DataFrame:
        lo, hi = (_utc(t) for t in _ROWS.search(query).groups())
        times = self.events["TimeGenerated"]
        if "AccountKey" not in query:  # the seed's user_day_summary
            return user_day_summary(self.events[(times >= lo) & (times <= hi)])
        (w_lo, d_lo), (w_hi, d_hi) = _WINDOW.findall(query)
        w_lo, w_hi = _utc(w_lo or d_lo), _utc(w_hi or d_hi)
        window = account_day_summary(self.events[(times >= w_lo) & (times <= w_hi)])
        rows = account_day_summary(self.events[(times >= lo) & (times <= hi)])
        profile = [c for c in PROFILE_COLUMNS if c != "AccountKey"]
        return rows[SUMMARY_COLUMNS + ["AccountKey"]].merge(
            window[["Date", "AccountKey", *profile]], on=["Date", "AccountKey"]
        )

    def query_with_results(self, query: str, **kwargs):
        return self.query(query, **kwargs), None


def test_split_query_measures_novelty_over_the_whole_window():
    demo = generate_demo(30, 8, seed=9)
    provider = QueryProvider("MSSentinel", driver=ProfileDriver(demo.events))
    ensure_queries(provider, "account_day_summary")
    provider.connect()
    provider._query_provider.set_driver_property(DriverProps.SUPPORTS_THREADING, False)
    start, end = demo.start.to_pydatetime(), (demo.end - pd.Timedelta(1, "s")).to_pydatetime()

    def fetch(**kwargs) -> pd.DataFrame:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows, _ = fetch_user_days(
                provider, start, end, query_name="account_day_summary", **kwargs
            )
        return rows.sort_values(KEYS).reset_index(drop=True)

    whole, split = fetch(), fetch(split_query_by="1D")
    pd.testing.assert_frame_equal(split, whole, check_dtype=False)
    assert whole["NovelSrcIp"].sum() < len(whole) / 2
    # Without the window parameters each one-day chunk would call everything new.
    query = provider.AnomalousLogons.account_day_summary
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        naive = query(start=start, end=end, split_query_by="1D")
    assert naive["NovelComputer"].sum() > 2 * whole["NovelComputer"].sum()


# --------------------------------------------------------------------------
# Detection smoke test
# --------------------------------------------------------------------------
def test_small_demo_attacks_rank_at_the_top():
    demo = generate_demo(120, 14, seed=21, attacks=["brute_force", "password_spray"])
    result = hunt(demo.events, shap=False, max_explained=20)
    days = result.user_days.assign(Date=pd.to_datetime(result.user_days["Date"]))
    marked = days.merge(demo.labels, how="left", on=["Date", "DstDomain", "DstUser"])
    order = marked["score"].rank(ascending=False, method="first")
    best = order.groupby(marked["attack"]).min()
    assert best["brute_force"] <= 3
    assert best["password_spray"] <= 5
    # The victims, dormant ones included, rank above (nearly) every benign user-day.
    attacked = marked["attack"].notna()
    assert average_precision_score(attacked, marked["score"]) > 0.9
    reasons = " ".join(result.explanations["reason"])
    assert "failed against" in reasons and "Baseline:" in reasons


def test_notebooklet_queries_the_feature_set_query(nb_local):
    from msticpy.common.timespan import TimeSpan

    from msticnb_iforest.frontends.anomalous_logon_users import _get_user_days

    demo = generate_demo(20, 5, seed=2)
    provider = QueryProvider("MSSentinel", driver=ProfileDriver(demo.events))
    ensure_queries(provider)
    provider.connect()
    span = TimeSpan(start=demo.start, end=demo.end - pd.Timedelta(1, "s"))
    table, text, _ = _get_user_days(provider, span, [])
    assert "AccountKey" in table.columns and "let history_start" in text
    table, text, _ = _get_user_days(provider, span, [], feature_set="seed")
    assert "AccountKey" not in table.columns and "let history_start" not in text
    assert "by Date, DstDomain, DstUser, LogonTypeName" in re.sub(r"\s+", " ", text)

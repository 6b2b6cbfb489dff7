"""
The later account-day columns, by hand: hours, packages, networks, others' desks, failing days.

Every table here comes from both local profilers (`assert_same`: the pandas
path and the DuckDB engine must agree row for row) and is then checked
against values worked out by hand from the events below.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from msticnb_iforest.summarize.account_days import NAME_COLUMNS, NEW_NAMES_MAX, PROFILE_COLUMNS
from msticnb_iforest.summarize.account_extras import (
    EXTRA_COLUMNS,
    IPV4_OCTET,
    hour_masks,
    source_networks,
)

from .test_account_profile import _render, sentinel  # noqa: F401 (a fixture)
from .test_engine_parity_accounts import assert_same

DAY0 = pd.Timestamp("2024-05-01", tz="UTC")
D = ["2024-05-01", "2024-05-02", "2024-05-03", "2024-05-04"]


def _logon(day, time, user, ip, host, ok=True, package="Kerberos") -> dict:
    return {
        "TimeGenerated": DAY0 + pd.Timedelta(days=day) + pd.Timedelta(time),
        "EventID": 4624 if ok else 4625,
        "TargetUserName": user,
        "TargetDomainName": "CONTOSO",
        "LogonType": 3,
        "LogonTypeName": "3 - Network",
        "Computer": "FS1",
        "IpAddress": ip,
        "WorkstationName": host,
        "AuthenticationPackageName": package,
    }


def _events() -> pd.DataFrame:
    rows = [
        # alice, day 0: successes at midnight, 09:30, 12:00 and 23:59:59.999 under
        # four package spellings; a failure at 05:00 counts in no column here.
        _logon(0, "0h", "alice", "10.1.1.10", "LT-ALICE", package="NTLM"),
        _logon(0, "9h30min", "alice", "10.1.1.10", "LT-ALICE", package=" ntlm "),
        _logon(0, "12h", "alice", "10.1.1.10", "LT-ALICE", package="Negotiate"),
        _logon(0, "23h59min59.999s", "alice", "10.1.1.10", "LT-ALICE", package="KERBEROS"),
        _logon(0, "5h", "alice", "10.1.1.10", "LT-ALICE", ok=False, package="NTLM"),
        # alice, day 1: one success just after midnight (the next day's bit 0).
        _logon(1, "0h0min1s", "alice", "10.1.1.10", "LT-ALICE"),
        # alice, day 2: a new address in her /24 and two in a new /24.
        _logon(2, "8h", "alice", "10.1.1.20", " lt-alice "),
        _logon(2, "8h", "alice", "192.168.7.1", "LT-ALICE"),
        _logon(2, "8h", "alice", "192.168.7.2", "LT-ALICE", package="MICROSOFT_AUTH"),
        # bob: LT-BOB and A-SPARE on two days each (a tie: a-spare is his usual).
        _logon(0, "8h", "bob", "2001:db8:0:1::5", "LT-BOB"),
        _logon(1, "8h", "bob", "2001:DB8:0:1:abcd::9", "LT-BOB"),
        _logon(1, "9h", "bob", "2001:0db8:0000:0001::5", "A-SPARE"),
        _logon(2, "8h", "bob", "2001:db8:0:2::1", "a-spare"),
        # carol: one day only (no usual workstation); odd address text.
        _logon(0, "8h", "carol", "10.5.5.5", "LT-CAROL"),
        _logon(0, "8h", "carol", "10.5.5.6", "LT-CAROL"),
        _logon(0, "8h", "carol", "not-an-ip", "LT-CAROL"),
        _logon(0, "8h", "carol", "10.5.5.500", "LT-CAROL"),
        _logon(0, "8h", "carol", "010.5.5.7", "LT-CAROL"),
        _logon(0, "8h", "carol", "-", "-"),
        _logon(0, "8h", "carol", "::1", ""),
        # svc: its own host on days 0 and 2; on day 2 four new names.
        _logon(0, "8h", "svc", "10.9.0.1", "SVC-HOST"),
        _logon(2, "8h", "svc", "10.9.0.1", "SVC-HOST"),
        _logon(2, "1h", "svc", "10.9.0.1", "\\\\LT-Alice", ok=False),  # alice's usual
        _logon(2, "3h", "svc", "10.9.0.1", "LT-BOB"),  # bob's, not his usual (tie)
        _logon(2, "4h", "svc", "10.9.0.1", "LT-CAROL"),  # carol's only day
        _logon(2, "5h", "svc", "10.9.0.1", "NEWBOX"),
        # ops: one day, from bob's usual workstation.
        _logon(2, "8h", "ops", "10.9.0.2", "A-Spare"),
    ]
    # erin: 198.51.100.1 fails on all three days and succeeds on day 2;
    # 203.0.113.9 fails on days 1 and 2; placeholders never count.
    for day in range(3):
        rows.append(_logon(day, "6h", "erin", "198.51.100.1", "KALI", ok=False))
    rows.append(_logon(2, "7h", "erin", "198.51.100.1", "KALI"))
    rows.append(_logon(1, "6h", "erin", " 203.0.113.9", "KALI", ok=False))
    rows.append(_logon(2, "6h", "erin", "203.0.113.9", "KALI", ok=False))
    rows.append(_logon(0, "6h", "erin", "-", "KALI", ok=False))
    # dave: 203.0.113.9 fails for him on day 0 only (erin's days are hers).
    rows.append(_logon(0, "6h", "dave", "203.0.113.9", "KALI", ok=False))
    # frank: his desk 192.0.2.20 works on day 0, then fails on days 1-3 (a stale
    # password: it had worked before); 192.0.2.10 fails on day 2 only (it worked
    # for gina on day 0, which is hers).
    rows.append(_logon(0, "8h", "frank", "192.0.2.20", "FRANK-PC"))
    for day in (1, 2, 3):
        rows.append(_logon(day, "8h", "frank", "192.0.2.20", "FRANK-PC", ok=False))
    rows.append(_logon(2, "9h", "frank", "192.0.2.10", "FRANK-PC", ok=False))
    rows.append(_logon(0, "5h", "gina", "192.0.2.10", "GINA-PC"))
    # gina: 192.0.2.30 fails on days 0-2 and first works on day 3; 192.0.2.40 fails
    # on all four days and works on day 3, an hour after that day's failure.
    for day in range(4):
        if day < 3:
            rows.append(_logon(day, "6h", "gina", "192.0.2.30", "GINA-PC", ok=False))
        rows.append(_logon(day, "6h", "gina", "192.0.2.40", "GINA-PC", ok=False))
    rows.append(_logon(3, "7h", "gina", "192.0.2.30", "GINA-PC"))
    rows.append(_logon(3, "7h", "gina", "192.0.2.40", "GINA-PC"))
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return assert_same(_events()).set_index(["Date", "DstUser"])


def _bits(*hours: int) -> int:
    return sum(1 << h for h in hours)


def test_columns_are_appended_in_order():
    assert PROFILE_COLUMNS[-len(NAME_COLUMNS) :] == NAME_COLUMNS
    assert NAME_COLUMNS == ["NewSrcIps", "NewSrcHosts", "NewComputers"]
    assert NEW_NAMES_MAX == 10
    assert (
        PROFILE_COLUMNS[-len(EXTRA_COLUMNS) - len(NAME_COLUMNS) : -len(NAME_COLUMNS)]
        == EXTRA_COLUMNS
        == [
            "SuccessHours",
            "NtlmLogons",
            "KerberosLogons",
            "NovelSrcNet",
            "NovelSrcHostOthers",
            "FailedSrcIpDays",
        ]
    )


def test_success_hours(table):
    assert table.loc[(D[0], "alice"), "SuccessHours"] == _bits(0, 9, 12, 23) == 8_393_217
    assert table.loc[(D[1], "alice"), "SuccessHours"] == 1
    assert table.loc[(D[2], "svc"), "SuccessHours"] == _bits(3, 4, 5, 8)
    # Failures only: no bit.
    assert table.loc[(D[0], "dave"), "SuccessHours"] == 0
    assert table.loc[(D[1], "erin"), "SuccessHours"] == 0
    assert table.loc[(D[2], "erin"), "SuccessHours"] == _bits(7)
    assert table["SuccessHours"].dtype == np.int64


def test_package_counts(table):
    row = table.loc[(D[0], "alice")]
    # NTLM and " ntlm " count, the failed NTLM does not; Negotiate is neither.
    assert row[["NtlmLogons", "KerberosLogons", "SuccessfulLogons"]].tolist() == [2, 1, 4]
    row = table.loc[(D[2], "alice")]
    assert row[["NtlmLogons", "KerberosLogons", "SuccessfulLogons"]].tolist() == [0, 2, 3]
    assert table.loc[(D[0], "dave"), ["NtlmLogons", "KerberosLogons"]].tolist() == [0, 0]


def test_novel_networks(table):
    # alice day 2: three new addresses, but 10.1.1.20 is in her usual /24.
    assert table.loc[(D[2], "alice"), ["NovelSrcIp", "NovelSrcNet"]].tolist() == [3, 1]
    assert table.loc[(D[0], "alice"), ["NovelSrcIp", "NovelSrcNet"]].tolist() == [0, 0]
    # bob: his day-0 and day-1 addresses share one /64 (written three ways; as
    # addresses the three texts are three, as networks one).
    assert table.loc[(D[0], "bob"), ["NovelSrcIp", "NovelSrcNet"]].tolist() == [1, 0]
    assert table.loc[(D[1], "bob"), ["NovelSrcIp", "NovelSrcNet"]].tolist() == [2, 0]
    assert table.loc[(D[2], "bob"), ["NovelSrcIp", "NovelSrcNet"]].tolist() == [1, 1]
    # carol: 10.5.5.5 and .6 are one network; "not-an-ip", "10.5.5.500" and
    # "010.5.5.7" are not IPv4 literals, each a network of its own; "-" and ::1 never count.
    assert table.loc[(D[0], "carol"), ["NovelSrcIp", "NovelSrcNet"]].tolist() == [5, 4]


def test_novel_hosts_that_are_another_accounts_usual_one(table):
    # Usual workstations: alice lt-alice (3 days), bob a-spare (2 days, tied with
    # lt-bob: the smallest name), svc svc-host (2 days); carol, erin, ops none.
    # svc day 2, new: lt-alice (alice's usual), lt-bob, lt-carol, newbox.
    assert table.loc[(D[2], "svc"), ["NovelSrcHost", "NovelSrcHostOthers"]].tolist() == [4, 1]
    assert table.loc[(D[2], "ops"), ["NovelSrcHost", "NovelSrcHostOthers"]].tolist() == [1, 1]
    # bob used a-spare and lt-bob on two days each: neither is new.
    assert table.loc[(D[1], "bob"), ["NovelSrcHost", "NovelSrcHostOthers"]].tolist() == [0, 0]
    # carol's one day: everything is new, but lt-carol is nobody's usual one.
    assert table.loc[(D[0], "carol"), ["NovelSrcHost", "NovelSrcHostOthers"]].tolist() == [1, 0]


def _svc_and_ops(events: pd.DataFrame) -> list[list[int]]:
    table = assert_same(events.reset_index(drop=True)).set_index(["Date", "DstUser"])
    columns = ["NovelSrcHost", "NovelSrcHostOthers"]
    return [table.loc[(D[2], user), columns].tolist() for user in ("svc", "ops")]


def test_usual_host_ties_and_the_two_day_minimum():
    events = _events()
    # A third LT-BOB day breaks bob's tie: lt-bob is his usual one, a-spare nobody's.
    extra = pd.DataFrame([_logon(2, "10h", "bob", "2001:db8:0:2::1", "LT-BOB")])
    assert _svc_and_ops(pd.concat([events, extra])) == [[4, 2], [1, 0]]
    # bob on LT-BOB on day 0 only (one day is not enough): no usual one.
    bob = events["TargetUserName"] == "bob"
    assert _svc_and_ops(events[~bob | (events["TimeGenerated"] < DAY0 + pd.Timedelta(days=1))]) == [
        [4, 1],
        [1, 0],
    ]
    # Failed logons do not make a usual workstation: bob's a-spare days fail.
    failing = events.copy()
    failing.loc[bob & (failing["WorkstationName"].str.lower() == "a-spare"), "EventID"] = 4625
    assert _svc_and_ops(failing) == [[4, 2], [1, 0]]


def test_failed_source_days(table):
    # Day 2: 198.51.100.1 also succeeded, so only 203.0.113.9 (days 1 and 2) counts.
    assert table.loc[(D[2], "erin"), "FailedSrcIpDays"] == 2
    # Days 0 and 1: 198.51.100.1 failed on all three days and had not succeeded yet.
    assert table.loc[(D[1], "erin"), "FailedSrcIpDays"] == 3
    assert table.loc[(D[0], "erin"), "FailedSrcIpDays"] == 3
    # dave's 203.0.113.9 failed for him on one day (erin's failures are hers).
    assert table.loc[(D[0], "dave"), "FailedSrcIpDays"] == 1
    # alice's failing address succeeded that day; svc's failing name came with an address
    # that succeeded too.
    assert table.loc[(D[0], "alice"), "FailedSrcIpDays"] == 0
    assert table.loc[(D[2], "svc"), "FailedSrcIpDays"] == 0
    assert table.loc[(D[0], "carol"), "FailedSrcIpDays"] == 0


def test_failed_sources_that_worked_before_do_not_count(table):
    # frank's 192.0.2.20 worked on day 0: its failures on days 1-3 never count.
    assert table.loc[(D[0], "frank"), "FailedSrcIpDays"] == 0
    assert table.loc[(D[1], "frank"), "FailedSrcIpDays"] == 0
    assert table.loc[(D[3], "frank"), "FailedSrcIpDays"] == 0
    # Day 2: only 192.0.2.10 counts (one day); its success for gina is not frank's.
    assert table.loc[(D[2], "frank"), "FailedSrcIpDays"] == 1


def test_failed_sources_count_until_their_first_success(table):
    # gina's 192.0.2.40 fails on four days and 192.0.2.30 on three; both first work
    # on day 3, so both count on days 0-2 (the larger, 4, is reported)...
    for day in D[:3]:
        assert table.loc[(day, "gina"), "FailedSrcIpDays"] == 4
    # ...and neither on day 3, although 192.0.2.40 failed before it worked that day.
    assert table.loc[(D[3], "gina"), "FailedSrcIpDays"] == 0
    # Without 192.0.2.40, 192.0.2.30's three days are reported.
    events = _events()
    events = events[events["IpAddress"] != "192.0.2.40"].reset_index(drop=True)
    row = assert_same(events).set_index(["Date", "DstUser"])
    assert [row.loc[(day, "gina"), "FailedSrcIpDays"] for day in D] == [3, 3, 3, 0]


def test_the_window_is_the_history():
    found = assert_same(_events(), start="2024-05-02", end="2024-05-03T23:59:59")
    row = found.set_index(["Date", "DstUser"])
    assert row.loc[(D[1], "erin"), "FailedSrcIpDays"] == 2  # day 0 is outside
    # frank's day-0 success is outside too: in this window 192.0.2.20 never worked.
    assert row.loc[(D[1], "frank"), "FailedSrcIpDays"] == 2
    assert row.loc[(D[2], "frank"), "FailedSrcIpDays"] == 2
    assert row.loc[(D[1], "alice"), "SuccessHours"] == 1
    # Without day 0: svc-host is new to svc; bob's usual is a-spare alone (lt-bob
    # has one day left); alice still has lt-alice on two days.
    assert row.loc[(D[2], "svc"), ["NovelSrcHost", "NovelSrcHostOthers"]].tolist() == [5, 1]
    assert row.loc[(D[2], "ops"), ["NovelSrcHost", "NovelSrcHostOthers"]].tolist() == [1, 1]


# --------------------------------------------------------------------------
# The names of the new sources and computers
# --------------------------------------------------------------------------
def _names(row) -> list[str]:
    return [row["NewSrcIps"], row["NewSrcHosts"], row["NewComputers"]]


def test_new_names_of_the_fixture(table):
    # carol's one day: placeholders and the machine's own address are never named;
    # odd address text is named as written (lower-cased), in code point order.
    carol = table.loc[(D[0], "carol")]
    assert carol["NewSrcIps"] == "010.5.5.7,10.5.5.5,10.5.5.500,10.5.5.6,not-an-ip"
    assert carol["NovelSrcIp"] == 5
    assert _names(carol)[1:] == ["lt-carol", "fs1"]
    # alice: the addresses new on day 2 are named on day 2 only; her workstation,
    # under three spellings, on every day is never new.
    assert [table.loc[(day, "alice"), "NewSrcIps"] for day in D[:3]] == [
        "",
        "",
        "10.1.1.20,192.168.7.1,192.168.7.2",
    ]
    assert [table.loc[(day, "alice"), "NewSrcHosts"] for day in D[:3]] == ["", "", ""]
    # svc, day 2: "\\LT-Alice" is named as alice's lt-alice.
    assert table.loc[(D[2], "svc"), "NewSrcHosts"] == "lt-alice,lt-bob,lt-carol,newbox"


def test_more_than_ten_new_names_keeps_the_first_ten_sorted():
    # 12 hosts, addresses and computers on day 0; day 1 only repeats two of each.
    hosts = [f"WS-{i}" for i in range(12)]  # code point order: ws-0, ws-1, ws-10, ws-11, ws-2...
    rows = [
        {**_logon(0, f"{i}min", "zed", f"10.0.{i}.1", host), "Computer": f"SRV{i:02d}"}
        for i, host in enumerate(hosts)
    ]
    rows += [
        {**_logon(1, "8h", "zed", f"10.0.{i}.1", hosts[i]), "Computer": f"SRV{i:02d}"}
        for i in (0, 11)
    ]
    row = assert_same(pd.DataFrame(rows)).set_index("Date")
    day0 = row.loc[D[0]]
    assert day0[["NovelSrcIp", "NovelSrcHost", "NovelComputer"]].tolist() == [10, 10, 10]
    expected_hosts = sorted(h.lower() for h in hosts[1:11])
    assert day0["NewSrcHosts"] == ",".join(expected_hosts)
    assert expected_hosts[:3] == ["ws-1", "ws-10", "ws-2"]
    assert day0["NewSrcIps"] == ",".join(sorted(f"10.0.{i}.1" for i in range(1, 11)))
    assert day0["NewComputers"] == ",".join(f"srv{i:02d}" for i in range(1, 11))
    # Past the cap: 12 new names on a day, the first NEW_NAMES_MAX listed.
    rows = [_logon(0, f"{i}min", "yan", "10.9.9.9", f"H{i:02d}") for i in range(12)]
    day = assert_same(pd.DataFrame(rows)).iloc[0]
    assert day["NovelSrcHost"] == 12
    assert day["NewSrcHosts"].split(",") == [f"h{i:02d}" for i in range(10)]  # h10, h11 cut


def test_placeholders_and_local_addresses_are_never_named():
    sources = ["-", "", "0.0.0.0", "::", "::1", "127.0.0.1", "fe80::1", " - "]
    rows = [
        _logon(0, "8h", "kim", ip, host)
        for ip, host in zip(sources, ["-", "", " ", "-"] * 2, strict=True)
    ]
    rows.append(_logon(0, "9h", "kim", "::ffff:10.2.2.2", "LT-KIM"))
    day = assert_same(pd.DataFrame(rows)).iloc[0]
    assert _names(day) == ["10.2.2.2", "lt-kim", "fs1"]
    assert day[["NovelSrcIp", "NovelSrcHost", "NovelComputer"]].tolist() == [1, 1, 1]


def test_spelling_variants_give_one_name_on_the_day_it_is_new():
    spellings = [
        ("LT-X", "10.3.3.3", "FS1"),
        (" lt-x ", " 10.3.3.3", "fs1 "),
        ("\\\\Lt-X", "10.3.3.3 ", " Fs1"),
    ]
    rows = [_logon(0, "8h", "lee", "10.3.3.1", "LT-OLD")]
    rows += [{**_logon(1, "8h", "lee", ip, host), "Computer": comp} for host, ip, comp in spellings]
    rows.append(_logon(2, "8h", "lee", "10.3.3.1", "LT-OLD"))
    row = assert_same(pd.DataFrame(rows)).set_index("Date")
    assert _names(row.loc[D[1]]) == ["10.3.3.3", "lt-x", ""]  # fs1 was seen on day 0
    assert _names(row.loc[D[0]]) == _names(row.loc[D[2]]) == ["", "", ""]


# --------------------------------------------------------------------------
# The pieces
# --------------------------------------------------------------------------
def test_hour_masks():
    times = pd.to_datetime(
        [
            "2024-05-01 00:00:00",
            "2024-05-01 00:59:59.999",
            "2024-05-01 23:00:00",
            "1969-12-31 23:30:00",
        ],
        format="ISO8601",
    ).as_unit("ns")
    assert hour_masks(times.asi8).tolist() == [1, 1, 1 << 23, 1 << 23]


def test_source_networks():
    labels = np.array(
        [
            "10.0.0.1",
            "10.0.0.255",
            "10.0.1.1",
            "010.0.0.1",
            "256.0.0.1",
            "2001:db8::1",
            "2001:0db8:0:0:ffff::2",
            "2001:db8:0:1::1",
            "2001:db8::1/64",
            "fe:80:zz::1",
            "1:2:3:4:5:6:7:8:9",
            "",
        ],
        dtype=object,
    )
    codes, n = source_networks(labels)
    same = codes[:, None] == codes[None, :]
    assert same[0, 1] and not same[0, 2] and not same[0, 3]
    assert same[5, 6] and not same[5, 7]
    # Not literals: each its own network.
    assert len(set(codes[3:5]) | set(codes[8:])) == 6 and n == len(set(codes))


# --------------------------------------------------------------------------
# KQL
# --------------------------------------------------------------------------
def test_kql_extra_columns(sentinel):  # noqa: F811
    kql = _render(sentinel)
    for expr in (
        "SuccessHours = binary_all_or(iff(EventNo == 4624, "
        "binary_shift_left(long(1), hourofday(TimeGenerated)), long(0)))",
        'NtlmLogons = countif(EventNo == 4624 and Package == "ntlm")',
        'KerberosLogons = countif(EventNo == 4624 and Package == "kerberos")',
        'Package = tolower(trim(@"\\s+", tostring(AuthenticationPackageName)))',
        '| where SrcNet != "" | summarize First = min(Day), Last = max(Day) by AccountKey, '
        "SrcNet | where First == Last | summarize NovelSrcNet = count()",
        '| where EventNo == 4624 and SrcHost != "" | distinct AccountKey, SrcHost, Day',
        "| where HostDays == MostDays and MostDays >= 2 "
        "| summarize UsualHost = min(SrcHost) by AccountKey",
        "| where First == Last and SrcHost in (usual_hosts)",
        "FailedDays = countif(Failed > 0), FirstSuccess = minif(Day, Succeeded > 0) "
        "by AccountKey, SrcIp;",
        "| where Failed > 0 | join kind=inner failed_source_days on AccountKey, SrcIp "
        "| where isnull(FirstSuccess) or Day < FirstSuccess "
        "| summarize FailedSrcIpDays = max(FailedDays)",
        'strcat("6|", substring(SrcIpv6, 0, 19))',
    ):
        assert expr in kql, expr
    for column in ("NovelSrcNet", "NovelSrcHostOthers", "FailedSrcIpDays"):
        assert f"{column} = coalesce({column}, long(0))" in kql
    ipv4 = re.search(r'SrcIp matches regex @"\^([^"]*)\$"', kql.split("SrcNet = case", 1)[1])
    assert ipv4 and ipv4.group(1) == "\\.".join([IPV4_OCTET] * 4)
    assert 'SrcIp matches regex @"^[0-9a-f:.]+$"' in kql


def test_kql_name_columns(sentinel):  # noqa: F811
    kql = _render(sentinel)
    for novel, column, value in (
        ("NovelSrcIp", "NewSrcIps", "SrcIp"),
        ("NovelSrcHost", "NewSrcHosts", "SrcHost"),
        ("NovelComputer", "NewComputers", "ComputerKey"),
    ):
        # The values the count counts, every one (no make_set limit), sorted, the first 10.
        assert f"| summarize {novel} = count(), {column} = make_set({value}) by Date" in kql
        assert (
            f'| extend {column} = strcat_array(array_slice(array_sort_asc({column}), 0, 9), ",");'
        ) in kql
    assert kql.rstrip().endswith("NewSrcIps, NewSrcHosts, NewComputers")

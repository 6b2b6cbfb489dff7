"""Tests for the local per-user-day summary of raw logon events."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from msticnb_iforest.errors import InputDataError, ParameterError
from msticnb_iforest.schema import SUMMARY_COLUMNS, prepare_summary
from msticnb_iforest.sources.readers import read_table
from msticnb_iforest.summarize.user_days import (
    DROP_REASONS,
    RAW_REQUIRED_COLUMNS,
    filter_network_logons,
    is_raw_events,
    user_day_summary,
)

from ..conftest import SHARED

REAL_EVENTS = SHARED / "real" / "sentinel_securityevent_logons.csv"

NET = "3 - Network"
COLUMNS = [
    "Row",
    "TimeGenerated",
    "EventID",
    "TargetUserName",
    "TargetDomainName",
    "LogonType",
    "LogonTypeName",
    "Computer",
    "IpAddress",
    "WorkstationName",
    "AuthenticationPackageName",
    "AccountDomain",
]
# Row ids name the case each row covers; the comment says what happens to it.
# fmt: off
ROWS = [
    # kept: alice on 2024-01-05 (five rows, one failure, one duplicate)
    ("R1", "2024-01-05T10:00:00Z", 4624, "alice", "CONTOSO", 3, NET, "SRV1", "10.0.0.1", "WKS1", "NTLM", "CONTOSO"),  # noqa: E501
    ("R2", "2024-01-05 12:30:00.250", "4624", "alice", "CONTOSO", "3", NET, "SRV2", "10.0.0.2", "WKS1", "Kerberos", "CONTOSO"),  # noqa: E501
    ("R3", "2024-01-05T08:00:00+02:00", 4625, "alice", "CONTOSO", 3, NET, "SRV3", "10.0.0.9", None, "NTLM", ""),  # noqa: E501
    ("R4", "2024-01-05T10:00:00Z", 4624, "alice", "CONTOSO", 3, NET, "SRV1", "10.0.0.1", "WKS1", "NTLM", "CONTOSO"),  # noqa: E501
    # kept: failure on an excluded domain (the exclusions apply to 4624 only)
    ("R5", "2024-01-05T09:00:00Z", 4625, "SYSTEM", "NT AUTHORITY", 3, NET, "SRV1", "-", "-", "NTLM", ""),  # noqa: E501
    # kept: null and empty TargetDomainName group together as ""
    ("R6", "2024-01-06T01:00:00-05:00", 4624, "svc", None, 3, NET, "SRV1", None, "-", "NTLM", None),  # noqa: E501
    ("R7", "2024-01-06T07:00:00", 4624, "svc", "", 3, NET, "SRV2", "", "-", "Negotiate", ""),  # noqa: E501
    # kept: DWM- user under Window Manager but logon type 3 (the rule needs type 2)
    ("R8", "2024-01-05T11:00:00Z", 4624, "dwm-1", "Window Manager", 3, NET, "SRV1", "10.0.0.5", "WKS5", "Negotiate", ""),  # noqa: E501
    # dropped (system_or_anonymous): DWM rule, case-insensitive, type 2 labelled network
    ("R9", "2024-01-05T11:00:00Z", 4624, "Dwm-2", "window MANAGER", 2, NET, "SRV1", "10.0.0.5", "WKS5", "Negotiate", ""),  # noqa: E501
    # dropped (not_network_logon): a real interactive DWM logon
    ("R10", "2024-01-05T11:00:00Z", 4624, "DWM-3", "Window Manager", 2, "2 - Interactive", "SRV1", "-", "-", "Negotiate", ""),  # noqa: E501
    # dropped (system_or_anonymous): anonymous / NT AUTHORITY in any case, virtual machine
    ("R11", "2024-01-05T12:00:00Z", 4624, "ANONYMOUS LOGON", "Anonymous Logon", 3, NET, "SRV1", "10.0.0.3", "WKS3", "NTLM", ""),  # noqa: E501
    ("R12", "2024-01-05T12:00:00Z", 4624, "bob", "nt authority", 3, NET, "SRV1", "10.0.0.3", "WKS3", "NTLM", ""),  # noqa: E501
    ("R13", "2024-01-05T12:00:00Z", 4624, "x", "NT Virtual Machine", 3, NET, "SRV1", "10.0.0.3", "WKS3", "NTLM", ""),  # noqa: E501
    # kept: failure on the virtual machine domain
    ("R14", "2024-01-05T13:00:00Z", 4625, "y", "NT Virtual Machine", 3, NET, "SRV1", "10.0.0.6", "WKS6", "NTLM", ""),  # noqa: E501
    # dropped (machine_account): success and failure, mixed case
    ("R15", "2024-01-05T12:00:00Z", 4624, "WKS01$", "CONTOSO", 3, NET, "SRV1", "10.0.0.3", "WKS3", "NTLM", ""),  # noqa: E501
    ("R16", "2024-01-05T12:00:00Z", 4625, "Srv02$", "CONTOSO", 3, NET, "SRV1", "10.0.0.3", "WKS3", "NTLM", ""),  # noqa: E501
    # dropped (not_network_logon): == is case-sensitive
    ("R17", "2024-01-05T12:00:00Z", 4624, "carol", "CONTOSO", 3, "3 - network", "SRV1", "10.0.0.3", "WKS3", "NTLM", ""),  # noqa: E501
    # dropped (not_4624_4625): logoff, unreadable event id
    ("R18", "2024-01-05T12:00:00Z", 4634, "alice", "CONTOSO", 3, NET, "SRV1", "10.0.0.3", "WKS3", "NTLM", ""),  # noqa: E501
    ("R19", "2024-01-05T12:00:00Z", "abc", "alice", "CONTOSO", 3, NET, "SRV1", "10.0.0.3", "WKS3", "NTLM", ""),  # noqa: E501
    # kept: a user with failures only, event ids as padded text and as float
    ("R20", "2024-01-06T09:00:00Z", " 4625 ", "dave", "CONTOSO", 3, NET, "SRV1", "10.0.0.7", "WKS7", "NTLM", "CONTOSO"),  # noqa: E501
    ("R21", "2024-01-06T09:00:01.5Z", 4625.0, "dave", "CONTOSO", 3, NET, "SRV1", "10.0.0.8", "WKS7", "NTLM", ""),  # noqa: E501
    # dropped (system_or_anonymous): service logon type on the SYSTEM domain
    ("R22", "2024-01-05T12:00:00Z", 4624, "svc5", "system", 5, NET, "SRV1", "10.0.0.3", "WKS3", "NTLM", ""),  # noqa: E501
    # kept: SYSTEM domain is only excluded for logon type 5
    ("R23", "2024-01-05T14:00:00Z", 4624, "sysuser", "SYSTEM", 3, NET, "SRV2", "10.0.0.1", "WKS1", "Kerberos", ""),  # noqa: E501
    # dropped (no_time): unreadable time on an otherwise kept row
    ("R25", "not a time", 4624, "alice", "CONTOSO", 3, NET, "SRV1", "10.0.0.1", "WKS1", "NTLM", ""),  # noqa: E501
    # kept: portal export time (last of alice's day), and alice on the next day
    ("R26", "1/5/2024, 11:59:59.999 PM", 4624, "alice", "CONTOSO", 3, NET, "SRV1", "10.0.0.1", "WKS1", "NTLM", "contoso"),  # noqa: E501
    ("R27", "2024-01-06T00:00:00.000Z", 4624, "alice", "CONTOSO", 3, NET, "SRV1", "10.0.0.1", "WKS1", "NTLM", "CONTOSO"),  # noqa: E501
]
# fmt: on
KEPT = ["R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R14", "R20", "R21", "R23", "R26", "R27"]
DROPPED = {
    "not_4624_4625": 2,
    "not_network_logon": 2,
    "system_or_anonymous": 5,
    "machine_account": 2,
    "no_time": 1,
    "out_of_range": 0,
}


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# Worked out by hand from ROWS (see the comments there).
# fmt: off
EXPECTED = pd.DataFrame(
    [
        # Date, DstDomain, DstUser, Attempted, MAX, MIN, Success, Failed, CompDomains, AuthPkgs,
        # Computers, SrcIps, SrcHosts, CompsOK, CompDomainsOK, SrcIpsOK, SrcHostsOK, ActiveMs
        ("2024-01-05", "CONTOSO", "alice", 5, utc("2024-01-05 23:59:59.999"), utc("2024-01-05 06:00"), 4, 1, 1, 2, 3, 3, 2, 2, 2, 2, 1, 64_799_999),  # noqa: E501
        ("2024-01-05", "NT AUTHORITY", "SYSTEM", 1, utc("2024-01-05 09:00"), utc("2024-01-05 09:00"), 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0),  # noqa: E501
        ("2024-01-05", "NT Virtual Machine", "y", 1, utc("2024-01-05 13:00"), utc("2024-01-05 13:00"), 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0),  # noqa: E501
        ("2024-01-05", "SYSTEM", "sysuser", 1, utc("2024-01-05 14:00"), utc("2024-01-05 14:00"), 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0),  # noqa: E501
        ("2024-01-05", "Window Manager", "dwm-1", 1, utc("2024-01-05 11:00"), utc("2024-01-05 11:00"), 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0),  # noqa: E501
        ("2024-01-06", "", "svc", 2, utc("2024-01-06 07:00"), utc("2024-01-06 06:00"), 2, 0, 1, 2, 2, 1, 1, 2, 1, 1, 1, 3_600_000),  # noqa: E501
        ("2024-01-06", "CONTOSO", "alice", 1, utc("2024-01-06 00:00"), utc("2024-01-06 00:00"), 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0),  # noqa: E501
        ("2024-01-06", "CONTOSO", "dave", 2, utc("2024-01-06 09:00:01.5"), utc("2024-01-06 09:00"), 0, 2, 1, 1, 1, 2, 1, 0, 0, 0, 0, 1_500),  # noqa: E501
    ],
    columns=[
        "Date", "DstDomain", "DstUser", "AttemptedLogons", "MAX_TimeGenerated",
        "MIN_TimeGenerated", "SuccessfulLogons", "FailedLogons", "ComputerDomainsAccessed",
        "DistinctAuthenticationPackage", "ComputersAccessed", "DistinctSrcIp",
        "DistinctSrcHostName", "ComputersSuccessfulAccess", "ComputerDomainsSuccessfulAccess",
        "SrcIpSuccessfulAccess", "SrcHostNameSuccessfulAccess", "ActiveMilliseconds",
    ],
)
# fmt: on
EXPECTED.insert(3, "LogonTypeName", NET)
EXPECTED = EXPECTED[SUMMARY_COLUMNS]


def events(time_kind: str = "text") -> pd.DataFrame:
    """Build the hand-made raw events with TimeGenerated in one representation."""
    frame = pd.DataFrame(ROWS, columns=COLUMNS).astype(object)
    if time_kind == "objects":
        # The same instants as Python objects of different kinds.
        objects = {
            "R1": pd.Timestamp("2024-01-05 10:00", tz="UTC"),
            "R2": dt.datetime(2024, 1, 5, 12, 30, 0, 250_000),
            "R3": pd.Timestamp("2024-01-05 08:00", tz="Europe/Helsinki"),  # UTC+2 in winter
            "R6": pd.Timestamp("2024-01-06 01:00", tz="US/Eastern"),
            "R7": pd.Timestamp("2024-01-06 07:00"),
        }
        frame["TimeGenerated"] = [
            objects.get(row, text)
            for row, text in zip(frame["Row"], frame["TimeGenerated"], strict=True)
        ]
    return frame


def summary_of(frame: pd.DataFrame, **kwargs) -> pd.DataFrame:
    return user_day_summary(frame.drop(columns="Row"), **kwargs)


def test_summary_matches_hand_computed_table():
    result, dropped = summary_of(events(), return_dropped=True)
    pd.testing.assert_frame_equal(result, EXPECTED)
    assert dropped == DROPPED
    assert list(result.columns) == SUMMARY_COLUMNS


def test_time_objects_give_same_summary():
    pd.testing.assert_frame_equal(summary_of(events("objects")), EXPECTED)


@pytest.mark.parametrize("dtype", ["string[pyarrow]", "string[python]", "category"])
def test_text_dtypes_give_same_summary(dtype):
    frame = events().drop(columns="Row")
    text = [c for c in frame.columns if c not in ("EventID", "LogonType")]
    frame = frame.astype({c: dtype for c in text})
    pd.testing.assert_frame_equal(user_day_summary(frame), EXPECTED)


def test_dtypes_of_result():
    result = summary_of(events())
    for name in ("Date", "DstDomain", "DstUser", "LogonTypeName"):
        assert result[name].dtype == object
    for name in ("MAX_TimeGenerated", "MIN_TimeGenerated"):
        assert str(result[name].dtype) == "datetime64[ns, UTC]"
    counts = SUMMARY_COLUMNS[4:5] + SUMMARY_COLUMNS[7:]
    assert len(counts) == 13
    assert all(result[c].dtype == np.int64 for c in counts)


def test_input_not_modified():
    frame = events().drop(columns="Row")
    before = frame.copy(deep=True)
    user_day_summary(frame)
    filter_network_logons(frame)
    pd.testing.assert_frame_equal(frame, before)


def test_row_order_does_not_matter():
    frame = events().drop(columns="Row")
    shuffled = frame.sample(frac=1.0, random_state=7)
    pd.testing.assert_frame_equal(user_day_summary(shuffled), EXPECTED)
    reversed_rows = frame.iloc[::-1].set_index(np.arange(len(frame)) * 3)
    pd.testing.assert_frame_equal(user_day_summary(reversed_rows), EXPECTED)


def test_absent_account_domain_counts_empty_string():
    frame = events().drop(columns=["Row", "AccountDomain"])
    result = user_day_summary(frame)
    # "" is one distinct value on every day with a success, none without.
    assert result["ComputerDomainsSuccessfulAccess"].tolist() == [1, 0, 0, 1, 1, 1, 1, 0]
    other = [c for c in SUMMARY_COLUMNS if c != "ComputerDomainsSuccessfulAccess"]
    pd.testing.assert_frame_equal(result[other], EXPECTED[other])


def test_time_column_variants_agree():
    base = pd.DataFrame(
        {
            "EventID": [4624, 4624, 4625],
            "TargetUserName": ["u1", "u1", "u1"],
            "TargetDomainName": ["D", "D", "D"],
            "LogonType": [3, 3, 3],
            "LogonTypeName": [NET] * 3,
            "Computer": ["c1", "c2", "c1"],
            "IpAddress": ["1.1.1.1"] * 3,
            "WorkstationName": ["w"] * 3,
            "AuthenticationPackageName": ["NTLM"] * 3,
        }
    )
    instants = pd.to_datetime(
        ["2024-03-01 23:30:00.125", "2024-03-02 00:15:00", "2024-03-01 01:00:00"], format="ISO8601"
    )
    variants = {
        "naive": instants,
        "aware": instants.tz_localize("UTC").tz_convert("Asia/Tokyo"),
        "iso_z": instants.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "iso_plain": instants.strftime("%Y-%m-%d %H:%M:%S.%f"),
        "portal": instants.strftime("%-m/%-d/%Y, %-I:%M:%S.%f").str[:-3] + instants.strftime(" %p"),
    }
    results = [
        user_day_summary(base.assign(TimeGenerated=list(values))) for values in variants.values()
    ]
    first = results[0]
    assert first["Date"].tolist() == ["2024-03-01", "2024-03-02"]
    assert first["AttemptedLogons"].tolist() == [2, 1]
    assert first["ActiveMilliseconds"].tolist() == [81_000_125, 0]
    for other in results[1:]:
        pd.testing.assert_frame_equal(other, first)


def test_active_milliseconds_counts_boundaries_like_datetime_diff():
    # datetime_diff("millisecond", .200100, .100900) is 100 in KQL, not 99.
    frame = pd.DataFrame(
        {
            "TimeGenerated": ["2017-10-30T23:00:00.2001Z", "2017-10-30T23:00:00.1009Z"],
            "EventID": [4624, 4624],
            "TargetUserName": ["u", "u"],
            "TargetDomainName": ["d", "d"],
            "LogonType": [3, 3],
            "LogonTypeName": [NET, NET],
            "Computer": ["c", "c"],
            "IpAddress": ["i", "i"],
            "WorkstationName": ["w", "w"],
            "AuthenticationPackageName": ["a", "a"],
        }
    )
    assert user_day_summary(frame)["ActiveMilliseconds"].tolist() == [100]


def test_unreadable_logon_type_never_matches():
    # LogonType "n/a" == 3 is false, so the NT AUTHORITY rule does not apply.
    frame = (
        events()
        .drop(columns="Row")
        .iloc[[0]]
        .assign(TargetDomainName="NT AUTHORITY", LogonType="n/a")
    )
    result = user_day_summary(frame)
    assert result["DstDomain"].tolist() == ["NT AUTHORITY"]


def test_start_end_are_inclusive():
    result, dropped = summary_of(
        events(),
        start="2024-01-05T23:59:59.999Z",
        end=dt.datetime(2024, 1, 6, 6, 0),
        return_dropped=True,
    )
    assert list(zip(result["Date"], result["DstDomain"], result["DstUser"], strict=True)) == [
        ("2024-01-05", "CONTOSO", "alice"),
        ("2024-01-06", "", "svc"),
        ("2024-01-06", "CONTOSO", "alice"),
    ]
    assert result["AttemptedLogons"].tolist() == [1, 1, 1]
    assert dropped == {**DROPPED, "out_of_range": 11}


def test_bad_bounds():
    with pytest.raises(ParameterError, match="after"):
        summary_of(events(), start="2024-01-06", end="2024-01-05")
    with pytest.raises(ParameterError, match="start"):
        summary_of(events(), start="yesterday-ish")


def test_filter_network_logons_keeps_query_rows():
    frame = events()
    kept, dropped = filter_network_logons(frame.drop(columns="Row"))
    assert dropped == DROPPED
    assert len(kept) == len(KEPT)
    # Kept rows stay in input order; R25 (no time) is not among them.
    assert kept["TimeGenerated"].iloc[0] == utc("2024-01-05 10:00")
    assert kept["EventID"].tolist() == [
        4624, 4624, 4625, 4624, 4625, 4624, 4624, 4624, 4625, 4625, 4625, 4624, 4624, 4624
    ]  # fmt: skip
    assert kept["EventID"].dtype == np.int64
    assert str(kept["LogonType"].dtype) == "Int64"
    assert str(kept["TimeGenerated"].dtype) == "datetime64[ns, UTC]"
    assert kept["TargetDomainName"].tolist()[5:7] == ["", ""]
    assert kept["IpAddress"].tolist()[5:7] == ["", ""]
    assert kept["WorkstationName"].tolist()[2] == ""
    assert kept["TargetUserName"].tolist() == [
        "alice", "alice", "alice", "alice", "SYSTEM", "svc", "svc", "dwm-1", "y", "dave",
        "dave", "sysuser", "alice", "alice",
    ]  # fmt: skip


def test_missing_columns_are_named():
    frame = events().drop(columns=["Row", "LogonType", "IpAddress"])
    assert not is_raw_events(frame)
    with pytest.raises(InputDataError, match="LogonType, IpAddress"):
        user_day_summary(frame)
    with pytest.raises(InputDataError, match="DataFrame"):
        user_day_summary([1, 2, 3])


def test_export_suffix_in_column_name():
    frame = events().drop(columns="Row").rename(columns={"TimeGenerated": "TimeGenerated [UTC]"})
    assert is_raw_events(frame)
    pd.testing.assert_frame_equal(user_day_summary(frame), EXPECTED)


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame(),
        pd.DataFrame(columns=RAW_REQUIRED_COLUMNS),
        events().drop(columns="Row").query("EventID == 4634"),
    ],
    ids=["no_columns", "no_rows", "all_filtered"],
)
def test_empty_results_have_schema(frame):
    result, dropped = user_day_summary(frame, return_dropped=True)
    assert result.empty
    pd.testing.assert_series_equal(result.dtypes, EXPECTED.dtypes)
    assert set(dropped) == set(DROP_REASONS)
    kept, _ = filter_network_logons(frame)
    assert kept.empty and "TimeGenerated" in kept.columns


def test_all_times_unreadable_is_an_error():
    frame = events().drop(columns="Row").assign(TimeGenerated="soon")
    with pytest.raises(InputDataError, match="TimeGenerated"):
        user_day_summary(frame)


def test_result_feeds_prepare_summary():
    table = prepare_summary(summary_of(events()))
    assert len(table) == len(EXPECTED)
    assert table["Date"].dt.strftime("%Y-%m-%d").tolist() == EXPECTED["Date"].tolist()


def test_real_sentinel_rows():
    frame = read_table(REAL_EVENTS)
    result, dropped = user_day_summary(frame, return_dropped=True)
    # 291 rows: 18 are "3 - Network" logons, all successful, none excluded.
    assert dropped == {
        "not_4624_4625": 0,
        "not_network_logon": 273,
        "system_or_anonymous": 0,
        "machine_account": 0,
        "no_time": 0,
        "out_of_range": 0,
    }
    # Checked against the file: rows grouped by UTC day and account, times
    # truncated to milliseconds before subtracting.
    expected = [
        ("2019-01-15", "MSTICAlertsWin1", "adm1nistrator", 1, 0),
        ("2019-02-12", "MSTICAlertsWin1", "MSTICAdmin", 4, 56_030),
        ("2021-06-26", "MSTICAlertsWin1", "MSTICAdmin", 4, 56_030),
        ("2021-06-27", "MSTICAlertsWin1", "MSTICAdmin", 2, 2_037),
        ("2021-06-27", "MSTICAlertsWin1", "ian", 3, 118_517),
        ("2021-06-29", "MSTICAlertsWin1", "MSTICAdmin", 2, 3_137),
        ("2021-06-29", "MSTICAlertsWin1", "ian", 2, 2_230),
    ]
    got = result[["Date", "DstDomain", "DstUser", "AttemptedLogons", "ActiveMilliseconds"]]
    assert list(got.itertuples(index=False, name=None)) == expected
    assert (result["SuccessfulLogons"] == result["AttemptedLogons"]).all()
    assert (result["FailedLogons"] == 0).all()
    assert result["MIN_TimeGenerated"].iloc[1] == utc("2019-02-12 04:37:25.340")
    assert result["MAX_TimeGenerated"].iloc[4] == utc("2021-06-27 14:57:09.846799")
    # One host, address, workstation and package per account-day; AccountDomain
    # is absent, so its "" counts once on each day with a success.
    for name in SUMMARY_COLUMNS[9:18]:
        assert result[name].tolist() == [1] * 7, name
    assert result["DistinctSrcIp"].tolist() == [1] * 7
    kept, _ = filter_network_logons(frame)
    assert kept["IpAddress"].iloc[0] == "fe80::38dc:e4a9:61bd:b458"


@pytest.mark.parametrize("objects", ["shared", "fresh", "two_per_value"])
def test_large_repeated_frame(objects):
    # 10,000 copies of every row: above the size where text columns may be
    # factorized by object identity. "shared" reuses one str object per value,
    # "fresh" makes a new object per row, "two_per_value" gives "alice" a
    # second, equal object in odd copies (equal values must still merge).
    copies = 10_000
    frame = events().drop(columns="Row")
    big = pd.DataFrame({c: np.tile(frame[c].to_numpy(dtype=object), copies) for c in frame})
    if objects == "fresh":
        for name in ("TargetUserName", "IpAddress", "Computer"):
            big[name] = [v.encode().decode() if isinstance(v, str) else v for v in big[name]]
    elif objects == "two_per_value":
        alice = frame["TargetUserName"].iloc[0]
        other_alice = "".join(["ali", "ce"])  # equal value, distinct object
        assert other_alice == alice and other_alice is not alice
        odd = (np.arange(len(big)) // len(frame)) % 2 == 1
        users = big["TargetUserName"].to_numpy(dtype=object).copy()
        users[odd & (users == "alice")] = other_alice
        big["TargetUserName"] = users
    result, dropped = user_day_summary(big, return_dropped=True)
    expected = EXPECTED.copy()
    for name in ("AttemptedLogons", "SuccessfulLogons", "FailedLogons"):
        expected[name] *= copies
    pd.testing.assert_frame_equal(result, expected)
    assert dropped == {key: value * copies for key, value in DROPPED.items()}


def test_bare_numbers_are_not_times():
    frame = events().drop(columns="Row").iloc[[0, 1]]
    frame["TimeGenerated"] = pd.Series([1704448800, pd.Timestamp("2024-01-05 11:00")], dtype=object)
    result, dropped = user_day_summary(frame.reset_index(drop=True), return_dropped=True)
    assert result["AttemptedLogons"].tolist() == [1]
    assert result["MIN_TimeGenerated"].tolist() == [utc("2024-01-05 11:00")]
    assert dropped["no_time"] == 1

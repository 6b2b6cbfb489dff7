"""Real-world log shapes: identities, placeholders, padded and typed fields, KQL parity."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest
from msticpy.data import QueryProvider

from msticnb_iforest.features.baseline import BaselineFeatures
from msticnb_iforest.identity import (
    SOURCE_LOCAL,
    SOURCE_NONE,
    SOURCE_REAL,
    account_keys,
    allow_list_mask,
    normalize_hosts,
    normalize_ips,
)
from msticnb_iforest.pipeline import hunt
from msticnb_iforest.schema import prepare_summary
from msticnb_iforest.sources.query import ensure_queries
from msticnb_iforest.summarize.account_days import account_day_summary
from msticnb_iforest.summarize.user_days import user_day_summary

from ..conftest import REAL_EVENTS_CSV

DAY0 = pd.Timestamp("2024-06-03", tz="UTC")


def _logon(day, user, domain, ip="10.0.0.5", host="WS01", computer="FS1.theshire.local", **kw):
    row = {
        "TimeGenerated": DAY0 + pd.Timedelta(days=day, hours=9, seconds=kw.pop("second", 0)),
        "EventID": 4624,
        "TargetUserName": user,
        "TargetDomainName": domain,
        "LogonType": 3,
        "LogonTypeName": "3 - Network",
        "Computer": computer,
        "IpAddress": ip,
        "WorkstationName": host,
        "AuthenticationPackageName": "Kerberos",
        "LogonProcessName": "Kerberos",
    }
    row.update(kw)
    return row


@pytest.fixture(scope="module")
def shapes() -> pd.DataFrame:
    """One fixture with every shape: spellings, placeholders, padding, types, tool names."""
    rows = []
    for day in range(6):
        # bob: Kerberos success in the DNS form, a typo in the lower-case DNS form,
        # the NetBIOS form with an upper-case user, Kerberos "-" source fields.
        rows.append(_logon(day, "bob", "THESHIRE.LOCAL", ip="-", host="-"))
        rows.append(_logon(day, "bob", "theshire.local", EventID=4625, second=1))
        rows.append(_logon(day, "Bob", "THESHIRE", ip=" 10.0.0.5 ", host="ws01 ", second=2))
        # admmig: a UPN with an empty domain and the NetBIOS form of the same account.
        rows.append(_logon(day, "admmig@offsec.lan", "", computer="DC1.offsec.lan"))
        rows.append(_logon(day, "ADMMIG", "OFFSEC", computer="DC1.offsec.lan", second=1))
        # Local administrators of two servers: "." is the computer.
        rows.append(_logon(day, "Administrator", ".", ip="::1", computer="SRV1.theshire.local"))
        rows.append(_logon(day, "administrator", ".", ip="127.0.0.1", computer="SRV2"))
        # carol: loopback and link-local sources, MSV1_0 next to NTLM, padded processes.
        rows.append(
            _logon(
                day,
                "carol",
                "THESHIRE",
                ip="fe80::38dc:e4a9:61bd:b458",
                host="",
                AuthenticationPackageName="MICROSOFT_AUTHENTICATION_PACKAGE_V1_0",
                LogonProcessName="NtLmSsp ",
            )
        )
        rows.append(_logon(day, "carol", "THESHIRE", AuthenticationPackageName="NTLM", second=1))
    # On the last day a tool tries 3,000 random workstation names from one address.
    rng = np.random.default_rng(0)
    names = ["".join(rng.choice(list("ABCDEFGHJKLMNPQRSTUVWXYZ23456789"), 16)) for _ in range(3000)]
    for i, name in enumerate(names):
        rows.append(
            _logon(5, "bob", "THESHIRE", ip="198.51.100.7", host=name, EventID=4625, second=i % 600)
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------
# Identity
# --------------------------------------------------------------------------
def test_account_keys_by_hand():
    users = ["bob", "Bob ", "admmig@offsec.lan", "OFFSEC\\admmig", "Administrator", "x", "y"]
    domains = ["THESHIRE.LOCAL", "theshire", "", "-", ".", "", "-"]
    computers = ["a", "a", "a", "a", "SRV1.theshire.local", "a", "a"]
    assert list(account_keys(users, domains, computers)) == [
        "theshire\\bob",
        "theshire\\bob",
        "offsec\\admmig",
        "offsec\\admmig",
        "srv1\\administrator",
        "\\x",
        "\\y",
    ]


def test_one_row_per_account_day_with_an_original_spelling(shapes):
    table = account_day_summary(shapes)
    day0 = table[table["Date"] == "2024-06-03"].set_index("AccountKey")
    assert sorted(day0.index) == [
        "offsec\\admmig",
        "srv1\\administrator",
        "srv2\\administrator",
        "theshire\\bob",
        "theshire\\carol",
    ]
    bob = day0.loc["theshire\\bob"]
    assert bob["AttemptedLogons"] == 3 and bob["FailedLogons"] == 1
    # Display: one of the spellings the logs used (here all three once a day;
    # on the last day the tool's 3,000 "THESHIRE\bob" attempts make it the most used).
    assert (bob["DstDomain"], bob["DstUser"]) == ("THESHIRE", "bob")
    assert bob["ComputerDomainsAccessed"] == 3  # the raw spellings, seed definition
    admmig = day0.loc["offsec\\admmig"]
    assert admmig["AttemptedLogons"] == 2
    assert (admmig["DstDomain"], admmig["DstUser"]) in {
        ("", "admmig@offsec.lan"),
        ("OFFSEC", "ADMMIG"),
    }
    assert day0.loc["srv1\\administrator", "DstDomain"] == "SRV1"
    assert day0.loc["srv2\\administrator", "DstDomain"] == "SRV2"
    # The seed's user_day_summary keeps the original grouping: one row per spelling.
    seed = user_day_summary(shapes)
    assert len(seed[seed["Date"] == "2024-06-03"]) == 8


def test_placeholders_and_local_addresses_are_not_sources(shapes):
    table = account_day_summary(shapes).set_index(["Date", "AccountKey"])
    bob = table.loc[("2024-06-03", "theshire\\bob")]
    # "-" and the padded " 10.0.0.5 " / "ws01 ": one real address, one real host.
    assert bob[["SrcIps", "SrcHosts", "NoSrcIpLogons", "NoSrcHostLogons"]].tolist() == [1, 1, 1, 1]
    assert bob["DistinctSrcIp"] == 3  # the seed column counts "-" and the padding
    carol = table.loc[("2024-06-03", "theshire\\carol")]
    assert carol[["SrcIps", "LocalSrcIpLogons", "NoSrcHostLogons"]].tolist() == [1, 1, 1]
    for local in ("srv1\\administrator", "srv2\\administrator"):
        row = table.loc[("2024-06-03", local)]
        assert row[["SrcIps", "LocalSrcIpLogons", "NovelSrcIp"]].tolist() == [0, 1, 0]
    # Nothing is new on a normal day; placeholders never are.
    assert table.xs("2024-06-04", level="Date")[["NovelSrcIp", "NovelSrcHost"]].sum().sum() == 0


def test_random_workstation_names_are_recognised(shapes):
    table = account_day_summary(shapes)
    last = table.set_index(["Date", "AccountKey"]).loc[("2024-06-08", "theshire\\bob")]
    assert last["SrcIpHosts"] == 3000 and last["HostsSrcIp"] == "198.51.100.7"
    assert last["NovelSrcHost"] == 3000 and last["NovelSrcIp"] == 1
    result = hunt(shapes, shap=False)
    reason = result.explanations.set_index("DstUser").loc["bob", "reason"]
    assert "3,000 distinct workstation names from one address (198.51.100.7)" in reason
    assert "not thousands of real hosts" in reason


def test_text_typed_and_padded_fields_give_the_same_table(shapes):
    typed = account_day_summary(shapes)
    text = shapes.assign(
        EventID=shapes["EventID"].map(lambda v: f" {v} "),
        LogonType=shapes["LogonType"].astype(str),
        IpAddress=shapes["IpAddress"].astype(str) + "  ",
        WorkstationName=" " + shapes["WorkstationName"].astype(str),
    )
    padded = account_day_summary(text)
    same = [c for c in typed.columns if c not in ("DistinctSrcIp", "DistinctSrcHostName")]
    same = [c for c in same if "SrcIpSuccess" not in c and "SrcHostNameSuccess" not in c]
    pd.testing.assert_frame_equal(padded[same], typed[same])


def test_package_spellings_do_not_change_the_features(shapes):
    renamed = shapes.assign(
        AuthenticationPackageName=shapes["AuthenticationPackageName"].replace(
            "MICROSOFT_AUTHENTICATION_PACKAGE_V1_0", "NTLM"
        )
    )
    fset = BaselineFeatures()
    a = fset.compute(prepare_summary(account_day_summary(shapes))).values
    b = fset.compute(prepare_summary(account_day_summary(renamed))).values
    pd.testing.assert_frame_equal(a, b)


def test_spellings_share_one_baseline(shapes):
    table = prepare_summary(account_day_summary(shapes))
    frame = BaselineFeatures().compute(table)
    # Six days of one bob, not three accounts of six days (or 18 of two).
    assert set(frame.context.loc[table["AccountKey"] == "theshire\\bob", "baseline_days"]) == {5}
    # A table without AccountKey (seed columns only) is keyed the same way from the names.
    seed = prepare_summary(user_day_summary(shapes))
    context = BaselineFeatures().compute(seed).context
    bob = seed["DstUser"].str.lower() == "bob"
    assert set(context.loc[bob, "baseline_days"]) == {5}


def test_allow_list_matches_every_spelling(shapes):
    table = account_day_summary(shapes)
    mask = allow_list_mask(table, ["admmig@OFFSEC.LAN"])
    assert set(table.loc[mask, "AccountKey"]) == {"offsec\\admmig"}
    mask = allow_list_mask(table, ["theshire\\BOB"])
    assert set(table.loc[mask, "AccountKey"]) == {"theshire\\bob"}
    assert allow_list_mask(table, ["srv1\\admin*"]).sum() == 6


# --------------------------------------------------------------------------
# The real Sentinel rows
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_events() -> pd.DataFrame:
    return pd.read_csv(REAL_EVENTS_CSV)


def test_real_rows_by_hand(real_events):
    table, dropped = account_day_summary(real_events, return_dropped=True)
    assert dropped["not_network_logon"] == len(real_events) - 18
    assert table["AttemptedLogons"].sum() == 18
    row = table.set_index(["Date", "AccountKey"])
    assert sorted(set(table["AccountKey"])) == [
        "msticalertswin1\\adm1nistrator",
        "msticalertswin1\\ian",
        "msticalertswin1\\msticadmin",
    ]
    # The link-local source is the machine itself: no source, nothing new.
    adm = row.loc[("2019-01-15", "msticalertswin1\\adm1nistrator")]
    assert adm[["SrcIps", "LocalSrcIpLogons", "NovelSrcIp", "NovelSrcHost"]].tolist() == [
        0,
        1,
        0,
        1,
    ]
    # MSTICAdmin always comes from the same address and host: never new.
    admin = table[table["AccountKey"] == "msticalertswin1\\msticadmin"]
    assert len(admin) == 4 and admin["NovelSrcIp"].eq(0).all() and admin["NovelSrcHost"].eq(0).all()
    # ian uses a different address and host on each of his two days.
    ian = table[table["AccountKey"] == "msticalertswin1\\ian"]
    assert ian["NovelSrcIp"].tolist() == [1, 1] and ian["NovelSrcHost"].tolist() == [1, 1]
    assert (table["WindowDays"] == 5).all()
    assert (table["DstDomain"] == "MSTICAlertsWin1").all()


def test_real_rows_as_text_exports(real_events):
    as_text = real_events.astype({"EventID": str, "LogonType": str})
    as_text["EventID"] = " " + as_text["EventID"]
    pd.testing.assert_frame_equal(account_day_summary(as_text), account_day_summary(real_events))


def test_real_rows_hunt_end_to_end(real_events):
    result = hunt(real_events, shap=False)
    assert len(result.user_days) == 7
    assert result.dropped["not_network_logon"] == len(real_events) - 18
    if not result.explanations.empty:
        assert result.explanations["reason"].str.contains("Baseline").all()


def test_real_rows_are_too_little_data_to_judge(real_events):
    # 7 account-days of 3 accounts over two and a half years: the hunt says so, as does
    # the reason of its outlier.
    result = hunt(real_events, shap=False)
    notes = [note for note in result.notes if note.startswith("Too little data to judge")]
    assert len(notes) == 1
    assert (
        "only 0 of 7 account-days (3 accounts, with data on 5 days between 2019-01-15 and "
        "2021-06-29)" in notes[0]
    )
    assert len(result.explanations) == 1
    reason = result.explanations["reason"].iloc[0]
    assert "too little data to judge" in reason


# --------------------------------------------------------------------------
# The KQL template normalizes like the local code
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def kql() -> str:
    provider = QueryProvider("MSSentinel")
    ensure_queries(provider, "account_day_summary")
    start, end = (
        datetime(2024, 1, 1, tzinfo=timezone.utc),
        datetime(2024, 1, 22, tzinfo=timezone.utc),
    )
    text = provider.AnomalousLogons.account_day_summary("print", start=start, end=end)
    return re.sub(r"\s+", " ", text)


def _kql_string_list(text: str) -> list[str]:
    return [item.strip().strip('"') for item in text.split(",")]


def test_kql_account_key_rules_agree_with_local(kql):
    """Evaluate the KQL's own regexes and lists in Python and compare with account_keys."""
    at = re.search(r'AtUser = extract\(@"([^"]+)", 1, UserText\)', kql).group(1)
    slash = re.search(r'SlashDomain = extract\(@"([^"]+)", 1, UserText\)', kql).group(1)
    none = _kql_string_list(re.search(r"DomainText !in \(([^)]*)\)", kql).group(1))
    assert 'UserText = trim(@"\\s+", tostring(TargetUserName))' in kql
    assert 'ComputerShort = tostring(split(trim(@"\\s+", tostring(Computer)), ".")[0])' in kql
    assert (
        'AccountKey = strcat( tolower(tostring(split(iff(NamedDomain == ".", ComputerShort, '
        'NamedDomain), ".")[0])), @"\\", tolower(BareUser))' in kql
    )

    def kql_key(user: str, domain: str, computer: str) -> str:
        user_text, domain_text = user.strip(" \t\n\r\f"), domain.strip(" \t\n\r\f")
        short = computer.strip(" \t\n\r\f").split(".")[0]
        at_match, slash_match = re.match(at, user_text), re.match(slash, user_text)
        bare = at_match[1] if at_match else slash_match[2] if slash_match else user_text
        if domain_text not in none:
            named = domain_text
        else:
            named = at_match[2] if at_match else slash_match[1] if slash_match else ""
        return (short if named == "." else named).split(".")[0].lower() + "\\" + bare.lower()

    cases = [
        ("bob", "THESHIRE.LOCAL", "x"),
        (" Bob", "theshire ", "x"),
        ("admmig@offsec.lan", "", "x"),
        ("admmig@offsec.lan", "-", "x"),
        ("a@b@corp.com", "", "x"),
        ("CORP\\eve", "", "x"),
        (".\\admin", "", "SRV9.corp.com"),
        ("Administrator", ".", " SRV1.theshire.local "),
        ("svc", "", "x"),
    ]
    users, domains, computers = zip(*cases, strict=True)
    local = account_keys(users, domains, computers)
    assert list(local) == [kql_key(*case) for case in cases]


def test_kql_source_rules_agree_with_local(kql):
    none = _kql_string_list(re.search(r'IpText in \(([^)]*)\), "none"', kql).group(1))
    local_rule = re.search(r'"none", (.*?), "local"', kql).group(1)
    prefixes = re.findall(r'IpText startswith "([^"]+)"', local_rule)
    exact = re.findall(r'IpText == "([^"]+)"', local_rule)
    mapped = re.search(r'IpText = trim_start\(@"([^"]+)", tolower', kql).group(1)
    no_host = _kql_string_list(re.search(r"SrcHost = iff\(HostText in \(([^)]*)\)", kql).group(1))
    assert (
        'HostText = trim_start(@"\\\\+", tolower(trim(@"\\s+", tostring(WorkstationName))))' in kql
    )

    def kql_ip(value: str) -> tuple[str, int]:
        text = value.strip(" \t\n\r\f").lower()
        text = text[len(mapped) :] if text.startswith(mapped) else text
        if text in none:
            return "", SOURCE_NONE
        if text in exact or text.startswith(tuple(prefixes)):
            return "", SOURCE_LOCAL
        return text, SOURCE_REAL

    values = ["-", "", " ", "0.0.0.0", "::", "::1", "127.0.0.1", "127.5.5.5", "FE80::1%12"]
    values += ["::ffff:10.1.2.3", " 10.0.0.5 ", "2001:DB8::1", "198.51.100.7"]
    text, kind = normalize_ips(values)
    assert list(zip(text, kind, strict=True)) == [kql_ip(v) for v in values]
    hosts = ["-", "", "WS01 ", "\\\\WS01", "ws01"]
    expected = [h.strip(" \t\n\r\f").lower().lstrip("\\") for h in hosts]
    assert list(normalize_hosts(hosts)) == ["" if h in no_host else h for h in expected]

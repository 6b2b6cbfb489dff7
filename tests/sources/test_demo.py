"""Tests of the seeded demo enterprise generator."""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pandas as pd
import pytest

from msticnb_iforest.errors import ParameterError
from msticnb_iforest.sources.demo import (
    ATTACK_KINDS,
    EVENT_COLUMNS,
    LABEL_COLUMNS,
    DemoData,
    demo_labels,
    generate_demo,
    iter_demo_events,
)

KEY = ["Date", "DstDomain", "DstUser"]
STRING_COLUMNS = [
    "Computer",
    "TargetUserName",
    "TargetDomainName",
    "LogonTypeName",
    "IpAddress",
    "WorkstationName",
    "AuthenticationPackageName",
    "AccountDomain",
    "LogonProcessName",
    "Status",
    "SubStatus",
]


def query_filter(events: pd.DataFrame) -> pd.DataFrame:
    """The filters of the network_logon_events query, in pandas."""
    e = events[events["EventID"].isin([4624, 4625]) & (events["LogonTypeName"] == "3 - Network")]
    dom = e["TargetDomainName"].str.upper()
    user = e["TargetUserName"]
    system = (
        ((e["LogonType"] == 3) & dom.isin(["NT AUTHORITY", "ANONYMOUS LOGON"]))
        | ((e["LogonType"] == 5) & dom.isin(["NT AUTHORITY", "SYSTEM"]))
        | ((e["LogonType"] == 2) & (dom == "WINDOW MANAGER") & user.str.startswith("DWM-"))
        | (dom == "NT VIRTUAL MACHINE")
    )
    return e[~((e["EventID"] == 4624) & system) & ~user.str.endswith("$")]


def with_keys(events: pd.DataFrame) -> pd.DataFrame:
    out = events.copy()
    out["Date"] = out["TimeGenerated"].dt.tz_localize(None).dt.normalize()
    out["DstDomain"] = out["TargetDomainName"]
    out["DstUser"] = out["TargetUserName"]
    return out


@pytest.fixture(scope="module")
def default() -> DemoData:
    return generate_demo()


@pytest.fixture(scope="module")
def small() -> DemoData:
    return generate_demo(80, 10, seed=3)


@pytest.fixture(scope="module")
def loud() -> DemoData:
    return generate_demo(200, 28, seed=5, incidents_per_kind=2)


def attack_rows(data: DemoData, kind: str) -> pd.DataFrame:
    return with_keys(data.events[(data.event_attack == kind).to_numpy()])


def test_same_seed_gives_identical_frames(small):
    again = generate_demo(80, 10, seed=3)
    pd.testing.assert_frame_equal(again.events, small.events)
    pd.testing.assert_frame_equal(again.labels, small.labels)
    pd.testing.assert_frame_equal(again.incidents, small.incidents)
    pd.testing.assert_series_equal(again.event_attack, small.event_attack)


def test_different_seed_differs(small):
    other = generate_demo(80, 10, seed=4)
    assert len(other.events) != len(small.events) or not other.events.equals(small.events)
    assert set(other.events["TargetUserName"]) != set(small.events["TargetUserName"])
    assert not other.labels["DstUser"].equals(small.labels["DstUser"])


def test_columns_and_dtypes(default):
    events = default.events
    assert list(events.columns) == EVENT_COLUMNS
    assert str(events["TimeGenerated"].dtype) == "datetime64[ns, UTC]"
    assert events["EventID"].dtype == np.int64
    assert events["LogonType"].dtype == np.int64
    for col in STRING_COLUMNS:
        assert events[col].dtype == object, col
        assert events[col].map(type).eq(str).all(), col
    assert isinstance(events.index, pd.RangeIndex)
    assert events.index[0] == 0 and events.index[-1] == len(events) - 1
    assert events["TimeGenerated"].is_monotonic_increasing
    assert set(events["EventID"]) == {4624, 4625}


def test_value_shapes(default):
    events = default.events
    ok = events["EventID"] == 4624
    assert (events.loc[ok, "Status"] == "").all()
    assert (events.loc[ok, "SubStatus"] == "").all()
    hex_code = re.compile(r"^0x[0-9a-f]+$")
    assert events.loc[~ok, "Status"].map(lambda s: bool(hex_code.match(s))).all()
    assert events.loc[~ok, "SubStatus"].map(lambda s: bool(hex_code.match(s))).all()
    bad_password = events["SubStatus"] == "0xc000006a"
    assert (events.loc[bad_password, "Status"] == "0xc000006d").all()
    prefix = events["LogonTypeName"].str.split(" - ").str[0]
    assert (prefix == events["LogonType"].astype(str)).all()
    assert set(events["LogonTypeName"]) >= {
        "3 - Network",
        "2 - Interactive",
        "5 - Service",
        "10 - RemoteInteractive",
    }
    assert events["Computer"].str.fullmatch(r"[A-Z0-9-]+\.contoso\.com").all()
    assert (events["AccountDomain"] == events["TargetDomainName"]).all()
    assert set(events["AuthenticationPackageName"]) == {"Kerberos", "NTLM", "Negotiate"}
    net = events["LogonTypeName"] == "3 - Network"
    process = events.loc[net, "LogonProcessName"]
    assert set(process) == {"Kerberos", "NtLmSsp "}
    kerberos = net & (events["AuthenticationPackageName"] == "Kerberos")
    assert (events.loc[kerberos, "LogonProcessName"] == "Kerberos").all()
    humans = events["TargetUserName"].str.fullmatch(r"[a-z]+\.[a-z]+\d*")
    assert humans.sum() > 10_000
    assert events.loc[net & humans, "IpAddress"].str.startswith("10.").mean() > 0.99


def test_window_and_default_end(default):
    assert default.start == pd.Timestamp("2024-03-11", tz="UTC")
    assert default.end == pd.Timestamp("2024-04-01", tz="UTC")
    times = default.events["TimeGenerated"]
    assert times.min() >= default.start and times.max() < default.end
    days = times.dt.tz_localize(None).dt.normalize().nunique()
    assert days == 21
    moved = generate_demo(20, 3, end=date(2023, 1, 5), attacks=[])
    assert moved.start == pd.Timestamp("2023-01-03", tz="UTC")
    assert moved.end == pd.Timestamp("2023-01-06", tz="UTC")
    same = generate_demo(20, 3, end="2023-01-05", attacks=[])
    pd.testing.assert_frame_equal(same.events, moved.events)


def test_default_size_and_all_kinds(default):
    assert 50_000 <= len(default.events) <= 300_000
    assert set(default.labels["attack"]) == set(ATTACK_KINDS)
    assert set(default.event_attack.dropna()) == set(ATTACK_KINDS)


def test_label_table_shape(default):
    labels = default.labels
    assert list(labels.columns) == LABEL_COLUMNS
    assert labels["Date"].dtype == "datetime64[ns]"
    assert (labels["Date"] == labels["Date"].dt.normalize()).all()
    assert not labels.duplicated(KEY).any()
    assert (labels["DstDomain"] == "CONTOSO").all()
    assert not labels["DstUser"].str.endswith("$").any()
    assert labels["detail"].str.len().gt(10).all()
    # Attacks come after some history: no label on the first day.
    assert (labels["Date"] > default.start.tz_localize(None)).all()


@pytest.mark.parametrize("kind", ATTACK_KINDS)
def test_each_kind_labelled_and_present(kind):
    data = generate_demo(100, 14, seed=21, attacks=[kind])
    assert set(data.labels["attack"]) == {kind}
    assert set(data.event_attack.dropna()) == {kind}
    rows = attack_rows(data, kind)
    # Labels are exactly the user-days that have attack events.
    event_keys = set(map(tuple, rows[KEY].drop_duplicates().to_numpy()))
    label_keys = set(map(tuple, data.labels[KEY].to_numpy()))
    assert event_keys == label_keys
    # Every attack row is a network logon the query keeps.
    kept = query_filter(data.events)
    assert rows.index.isin(kept.index).all()
    assert (rows["LogonTypeName"] == "3 - Network").all()
    assert (rows["LogonType"] == 3).all()


def test_labels_only_real_network_user_days(loud):
    kept = with_keys(query_filter(loud.events))
    surviving = set(map(tuple, kept[KEY].drop_duplicates().to_numpy()))
    assert set(map(tuple, loud.labels[KEY].to_numpy())) <= surviving
    noise_users = set(loud.events["TargetUserName"]) - set(kept["TargetUserName"])
    assert not set(loud.labels["DstUser"]) & noise_users


def test_brute_force_model(loud):
    rows = attack_rows(loud, "brute_force")
    events = with_keys(loud.events)
    for _, burst in rows.groupby(loud.event_incident[rows.index]):
        user = burst["DstUser"].iloc[0]
        fails = burst[burst["EventID"] == 4625]
        assert 40 <= len(fails) <= 400
        assert burst["IpAddress"].nunique() == 1 and burst["WorkstationName"].nunique() == 1
        assert burst["Computer"].nunique() == 1
        assert (burst["EventID"] == 4624).sum() <= 1
        span = burst["TimeGenerated"].max() - burst["TimeGenerated"].min()
        assert span <= pd.Timedelta(minutes=61)
        own = events[(events["DstUser"] == user) & ~events.index.isin(burst.index)]
        assert not own["IpAddress"].isin(burst["IpAddress"]).any()
        assert not own["WorkstationName"].isin(burst["WorkstationName"]).any()


def test_brute_force_random_hosts_model(loud):
    rows = attack_rows(loud, "brute_force_random_hosts")
    for _, burst in rows.groupby(loud.event_incident[rows.index]):
        assert burst["IpAddress"].nunique() == 1
        assert burst["WorkstationName"].nunique() == len(burst)
        assert burst["WorkstationName"].str.fullmatch(r"[A-Z0-9]{16}").all()
        assert (burst["EventID"] == 4625).sum() >= 40


def test_password_spray_model(loud):
    rows = attack_rows(loud, "password_spray")
    events = with_keys(loud.events)
    for incident, spray in rows.groupby(loud.event_incident[rows.index]):
        targets = spray["DstUser"].unique()
        assert 20 <= len(targets) <= 60
        assert spray["IpAddress"].nunique() == 1 and spray["Computer"].nunique() == 1
        assert spray.groupby("DstUser").size().max() <= 3
        assert (spray["EventID"] == 4625).mean() > 0.9
        assert (spray["EventID"] == 4624).sum() <= 1
        labelled = loud.labels[loud.labels["incident"] == incident]
        assert set(labelled["DstUser"]) == set(targets)
        day = spray["Date"].iloc[0]
        others = events[(events["Date"] == day) & ~events.index.isin(spray.index)]
        idle = set(targets) - set(others["DstUser"])
        assert len(idle) >= 0.2 * len(targets)


def test_lateral_movement_model(loud):
    rows = attack_rows(loud, "lateral_movement")
    events = with_keys(loud.events)
    for _, hop in rows.groupby(loud.event_incident[rows.index]):
        user = hop["DstUser"].iloc[0]
        assert (hop["EventID"] == 4624).all()
        assert 10 <= hop["Computer"].nunique() <= 30
        assert hop["IpAddress"].nunique() == 1
        span = hop["TimeGenerated"].max() - hop["TimeGenerated"].min()
        assert span <= pd.Timedelta(minutes=92)
        own = events[(events["DstUser"] == user) & ~events.index.isin(hop.index)]
        assert not own["Computer"].isin(hop["Computer"]).any()
        assert not own["IpAddress"].isin(hop["IpAddress"]).any()


def test_service_new_host_model(loud):
    rows = attack_rows(loud, "service_new_host")
    events = with_keys(query_filter(loud.events))
    for _, moved in rows.groupby(loud.event_incident[rows.index]):
        user = moved["DstUser"].iloc[0]
        assert user.startswith("svc-")
        assert moved["WorkstationName"].nunique() == 1 and moved["IpAddress"].nunique() == 1
        own = events[events["DstUser"] == user]
        normal = own[~own.index.isin(moved.index)]
        assert not normal["IpAddress"].isin(moved["IpAddress"]).any()
        assert not normal["WorkstationName"].isin(moved["WorkstationName"]).any()
        assert set(moved["Computer"]) <= set(normal["Computer"])
        daily = own.groupby("Date").size()
        day = moved["Date"].iloc[0]
        usual = daily.drop(day).median()
        assert abs(daily[day] - usual) <= 0.2 * usual


def test_intensity_scales_attack_size():
    def sizes(intensity: float) -> pd.Series:
        data = generate_demo(150, 14, seed=9, attack_intensity=intensity)
        return data.event_attack.value_counts()

    quiet, loud = sizes(0.5), sizes(2.0)
    for kind in ("brute_force", "brute_force_random_hosts", "password_spray", "lateral_movement"):
        assert loud[kind] > 2.5 * quiet[kind], kind


def test_large_sprays_do_not_starve_other_kinds():
    data = generate_demo(60, 14, seed=8, attack_intensity=4.0, incidents_per_kind=3)
    counts = data.labels.groupby("attack")["incident"].nunique()
    assert counts.to_dict() == dict.fromkeys(ATTACK_KINDS, 3)
    assert not data.labels.duplicated(KEY).any()
    single = data.labels[data.labels["attack"] != "password_spray"]
    assert not single["DstUser"].duplicated().any()
    sprayed = data.labels[data.labels["attack"] == "password_spray"]
    assert not sprayed["DstUser"].isin(single["DstUser"]).any()


def test_noise_rows_present_and_removable(small):
    events = small.events
    users = events["TargetUserName"]
    assert users.str.endswith("$").any()
    anonymous = (users == "ANONYMOUS LOGON") & (events["TargetDomainName"] == "NT AUTHORITY")
    assert (anonymous & (events["LogonType"] == 3) & (events["EventID"] == 4624)).any()
    dwm = users.str.startswith("DWM-") & (events["TargetDomainName"] == "Window Manager")
    assert (dwm & (events["LogonType"] == 2)).any()
    system = (users == "SYSTEM") & (events["LogonType"] == 5)
    assert (system & (events["TargetDomainName"] == "NT AUTHORITY")).any()
    assert events["LogonType"].isin([2, 10]).any()
    quiet = generate_demo(80, 10, seed=3, noise=False)
    assert len(query_filter(quiet.events)) == len(quiet.events)
    assert not quiet.events["TargetUserName"].str.endswith("$").any()
    pd.testing.assert_frame_equal(quiet.labels, small.labels)
    merged = quiet.events.merge(events, on=EVENT_COLUMNS, how="left", indicator=True)
    assert (merged["_merge"] == "both").all()
    # Everything noise adds is dropped by the query.
    assert len(query_filter(events)) == len(quiet.events)


def test_background_does_not_depend_on_attacks(small):
    benign = generate_demo(80, 10, seed=3, attacks=[])
    assert benign.labels.empty and list(benign.labels.columns) == LABEL_COLUMNS
    assert benign.event_attack.isna().all()
    background = small.events[(small.event_incident < 0).to_numpy()]
    merged = benign.events.merge(background, on=EVENT_COLUMNS, how="left", indicator=True)
    missing = merged[merged["_merge"] == "left_only"]
    moved = int((small.event_attack == "service_new_host").sum())
    assert len(missing) == moved
    assert missing["TargetUserName"].str.startswith("svc-").all()


def test_size_scales_with_users_and_days():
    base = len(generate_demo(60, 7, seed=2, attacks=[]).events)
    more_users = len(generate_demo(120, 7, seed=2, attacks=[]).events)
    more_days = len(generate_demo(60, 14, seed=2, attacks=[]).events)
    assert 1.6 * base < more_users < 2.5 * base
    assert 1.7 * base < more_days < 2.3 * base


def test_day_background_same_in_every_window():
    short = generate_demo(60, 7, seed=2, attacks=[]).events
    long = generate_demo(60, 14, seed=2, attacks=[]).events
    tail = long[long["TimeGenerated"] >= pd.Timestamp("2024-03-25", tz="UTC")]
    pd.testing.assert_frame_equal(tail.reset_index(drop=True), short)


def test_iter_matches_generate(small):
    chunks = list(iter_demo_events(80, 10, seed=3, chunk_days=3))
    assert len(chunks) == 4
    for chunk in chunks:
        assert chunk["TimeGenerated"].is_monotonic_increasing
        assert chunk["TimeGenerated"].dt.tz_localize(None).dt.normalize().nunique() <= 3
    pd.testing.assert_frame_equal(pd.concat(chunks), small.events)
    pd.testing.assert_frame_equal(demo_labels(80, 10, seed=3), small.labels)


def test_incident_table(default):
    incidents = default.incidents
    assert len(incidents) == 5
    assert set(incidents["attack"]) == set(ATTACK_KINDS)
    counts = default.labels.groupby("incident").size()
    assert (incidents.set_index("incident")["accounts"] == counts).all()
    assert (incidents["start"] <= incidents["end"]).all()
    assert (incidents["start"].dt.tz_localize(None).dt.normalize() == incidents["Date"]).all()
    assert (incidents["end"].dt.tz_localize(None).dt.normalize() == incidents["Date"]).all()


def test_service_accounts_are_steady(default):
    kept = with_keys(query_filter(default.events))
    background = kept[~kept.index.isin(default.event_incident[default.event_incident >= 0].index)]
    svc = background[background["DstUser"].str.startswith("svc-")]
    daily = svc.groupby(["DstUser", "Date"]).size().groupby(level=0)
    assert (daily.std() / daily.mean()).max() < 0.1
    assert svc["DstUser"].nunique() == 6
    humans = background[~background["DstUser"].str.startswith("svc-")]
    per_day = humans.groupby(["DstUser", "Date"]).size().groupby(level=0)
    assert (per_day.std() / per_day.mean()).median() > 0.3


def test_no_service_accounts():
    data = generate_demo(40, 7, seed=1, n_service_accounts=0)
    assert "service_new_host" not in set(data.labels["attack"])
    assert not data.events["TargetUserName"].str.startswith("svc-").any()
    with pytest.raises(ParameterError, match="service_new_host"):
        generate_demo(40, 7, n_service_accounts=0, attacks=["service_new_host"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_users": 0}, "n_users"),
        ({"n_days": 0}, "n_days"),
        ({"seed": -1}, "seed"),
        ({"n_users": True}, "n_users"),
        ({"attacks": ["ddos"]}, "Unknown attack"),
        ({"attack_intensity": 0}, "attack_intensity"),
        ({"attack_intensity": float("nan")}, "attack_intensity"),
        ({"end": "not a date"}, "end"),
        ({"domain": ""}, "domain"),
        ({"n_service_accounts": -1}, "n_service_accounts"),
    ],
)
def test_bad_parameters(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        generate_demo(**{"n_users": 20, "n_days": 3, **kwargs})


def test_bad_chunk_days_raises_at_call():
    with pytest.raises(ParameterError, match="chunk_days"):
        iter_demo_events(20, 3, chunk_days=0)


def test_single_attack_string_and_custom_domain():
    data = generate_demo(30, 6, seed=4, attacks="brute_force", domain="FABRIKAM")
    assert set(data.labels["attack"]) == {"brute_force"}
    assert (data.labels["DstDomain"] == "FABRIKAM").all()
    assert data.events["Computer"].str.endswith(".fabrikam.com").all()

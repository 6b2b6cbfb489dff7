"""Confirmed incidents to Microsoft Sentinel: content, and msticpy's calls to a fake endpoint."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import inspect
import json
import os
import re
import socket
import time
from datetime import datetime

import pandas as pd
import pytest
from msticpy.common.timespan import TimeSpan

from msticnb_iforest import AnomalousLogonUsers, ParameterError, hunt
from msticnb_iforest.frontends import sentinel as snt
from msticnb_iforest.frontends.cli import main
from msticnb_iforest.frontends.sentinel_workspace import SentinelError, WorkspaceNeededError
from msticnb_iforest.sources.demo import generate_demo

from .fake_sentinel import API_VERSION, TOKEN, FakeSentinel

SUB = "00000000-0000-0000-0000-00000000c0de"
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture(scope="module")
def found():
    """A demo hunt with a password spray (incident 1) and single-account incidents."""
    events = generate_demo(n_users=80, n_days=14, seed=1).events
    return hunt(events, contamination=0.02, shap=False)


def _spray(found) -> int:
    (number,) = found.incidents.loc[found.incidents["kind"] == "password spray", "incident"]
    return int(number)


def test_content_of_a_spray_incident(found):
    number = _spray(found)
    row = found.incidents.set_index("incident").loc[number]
    members = found.outliers[found.outliers["incident"] == number]
    content = snt.sentinel_content(found, [number])
    assert list(content.columns) == snt.CONTENT_COLUMNS and len(content) == 1
    item = content.iloc[0]
    assert item["name"] == f"Anomalous logons: {row['lead']}"
    assert item["labels"] == ["msticnb-iforest", "password spray"]
    assert item["accounts"] == row["accounts"].split(", ") and len(item["accounts"]) == len(members)
    assert "203.0.113.152" in item["ips"]
    # the account-day summary names the new hosts: the spray's tool host and the target
    assert item["hosts"] == ["dc04.contoso.com", "kali"]
    assert item["start"] == pd.Timestamp("2024-03-28", tz="UTC")
    assert item["end"] == pd.Timestamp("2024-03-29", tz="UTC") - pd.Timedelta(1, "ns")
    assert item["start"] <= item["first_activity"] <= item["last_activity"] <= item["end"]
    # the notes: the lead, every member's reason, the entities
    notes = item["notes"]
    assert notes.startswith(row["lead"])
    for reason in found.explanations.loc[members.index, "reason"]:
        assert reason[:200] in notes
    assert "Hosts: dc04.contoso.com, kali" in notes and "IP addresses: 203.0.113.152" in notes
    rows = json.loads(item["query_result"])
    assert [r["Account"] for r in rows] == item["accounts"]
    assert {r["Date"] for r in rows} == {"2024-03-28"}


def test_query_is_the_package_events_query_rendered_offline(found, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("rendering the query tried the network")

    snt._events_query.cache_clear()
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    query = snt.sentinel_content(found, [_spray(found)]).loc[0, "query"]
    first, text = query.split("\n", 1)
    assert first.startswith("// msticnb-iforest incident 1: network logons of its 15 account(s)")
    assert text.startswith(
        "SecurityEvent | where TimeGenerated >= datetime(2024-03-28T00:00:00+00:00) and "
        "TimeGenerated <= datetime(2024-03-28T23:59:59.999999999+00:00)"
    )
    for part in (
        "| where EventID in (4624, 4625)",
        '| where LogonTypeName == "3 - Network"',
        '| where not(TargetUserName endswith "$")',
        '| where TargetUserName in~ ("elena.brown", "mark.morris", ',
        "| project TimeGenerated, EventID, Computer, TargetUserName, TargetDomainName,",
    ):
        assert part in text
    assert (
        snt.sentinel_content(found, [1], table="SecurityEvent_CL")
        .loc[0, "query"]
        .split("\n")[1]
        .startswith("SecurityEvent_CL | where")
    )
    with pytest.raises(ParameterError, match="table"):
        snt.sentinel_content(found, [1], table="SecurityEvent | take 1")


def _renamed(found, number: int, user: str):
    """The hunt with the members of incident `number` renamed to `user`."""
    outliers = found.outliers.copy()
    outliers.loc[outliers["incident"] == number, "DstUser"] = user
    incidents = found.incidents.copy()
    lead = f"CONTOSO\\{user} on 2024-03-27: 17 computers new to this account"
    incidents.loc[incidents["incident"] == number, "lead"] = lead
    return dataclasses.replace(found, outliers=outliers, incidents=incidents)


def test_hostile_names_are_escaped(found):
    number = int(found.incidents.loc[found.incidents["kind"] == "single", "incident"].iloc[0])
    bad = _renamed(found, number, 'o"brien\u202e\nadmin')
    item = snt.sentinel_content(bad, [number]).iloc[0]
    assert "\u202e" not in item["name"] + item["notes"] and "\\u202e" in item["name"]
    assert item["name"].count("\n") == 0
    assert 'strcat("o\\"brien", unicode_codepoints_to_string(8238, 10), "admin")' in item["query"]
    assert item["query"].count("\n") == 1  # the heading comment, then the query's one line


def test_which_incidents(found):
    numbers = [int(n) for n in found.incidents["incident"]]
    assert snt.select_incidents(found, 2) == [2]
    assert snt.select_incidents(found, [3, 1, 3]) == [3, 1]
    for bad, message in (
        ([99], "no incident 99; its incidents are 1 to 5"),
        ([], "No incident named"),
        ([True], "incident numbers"),
        ([1.5], "incident numbers"),
        ("all", "numbers or 'malicious'"),
        ("malicious", "No incident of this hunt has an outlier with verdict 'malicious'"),
    ):
        with pytest.raises(ParameterError, match=message):
            snt.select_incidents(found, bad)
    assert numbers == [1, 2, 3, 4, 5]
    outliers = found.outliers.assign(verdict="")
    spray_member = outliers.index[outliers["incident"] == 1][3]
    outliers.loc[spray_member, "verdict"] = "malicious"
    outliers.loc[outliers["incident"] == 4, "verdict"] = "malicious"
    marked = dataclasses.replace(found, outliers=outliers)
    assert snt.select_incidents(marked, "malicious") == [1, 4]
    assert list(snt.sentinel_content(marked, "malicious")["incident"]) == [1, 4]


@pytest.fixture
def fake_sentinel():
    """The fake endpoint, with msticpy's Azure settings aimed at it (restored after)."""
    from msticpy.common import pkg_config

    settings = pkg_config.get_settings()
    saved = copy.deepcopy(dict(settings))
    try:
        with FakeSentinel() as fake:
            pkg_config.set_config("Azure.resource_manager_url", fake.base_url, create_path=True)
            yield fake
    finally:
        settings.clear()
        settings.update(saved)


class _NoCredential:
    """An Azure credential that is never asked for a token (the test passes one)."""

    def get_token(self, *scopes, **kwargs):
        from azure.core.credentials import AccessToken

        return AccessToken(TOKEN, int(time.time()) + 3600)


@contextlib.contextmanager
def _cloud_settings_read():
    """
    Let msticpy read its Azure cloud settings while a client is made and connected.

    msticpy takes any pytest run for its own unit tests (PYTEST_CURRENT_TEST is
    set) and then uses its built-in public-cloud endpoints, ignoring
    ``resource_manager_url``; its public ``set_unit_testing(False)`` lifts that.
    """
    from msticpy.common.utility.package import set_unit_testing

    was = os.environ.get("PYTEST_CURRENT_TEST")
    set_unit_testing(False)
    try:
        yield
    finally:
        if was is not None:
            os.environ["PYTEST_CURRENT_TEST"] = was


def _connected(fake) -> object:
    from msticpy.context.azure import MicrosoftSentinel

    with _cloud_settings_read():
        sentinel = MicrosoftSentinel(
            subscription_id=SUB, resource_group="soc-rg", workspace_name="ws1"
        )
        sentinel.connect(credential=_NoCredential(), token=TOKEN)
    # msticpy reads the Resource Manager address from its public Azure setting; if it
    # stops doing so, the calls would leave for Azure: fail here instead.
    assert sentinel.base_url == fake.base_url, "msticpy no longer honours resource_manager_url"
    assert sentinel.url.startswith(fake.base_url.rstrip("/") + f"/subscriptions/{SUB}/")
    return sentinel


def _write_path(kind: str, workspace: str = "ws1", sub: str = SUB, group: str = "soc-rg") -> str:
    return (
        f"^/subscriptions/{sub}/resourcegroups/{group}/providers/"
        f"Microsoft.OperationalInsights/workspaces/{workspace}/providers/"
        f"Microsoft.SecurityInsights/{kind}/{GUID}$"
    )


def test_bookmarks_through_msticpy(found, fake_sentinel):
    sent = snt.send_to_sentinel(found, [1, 3], _connected(fake_sentinel))
    content = snt.sentinel_content(found, [1, 3])
    writes = fake_sentinel.writes
    assert len(writes) == 2 and all(w["method"] == "PUT" for w in writes)
    assert list(sent.columns) == snt.SENT_COLUMNS
    assert list(sent["incident"]) == [1, 3] and set(sent["created"]) == {"bookmark"}
    for write, (_, item), ident in zip(writes, content.iterrows(), sent["id"], strict=True):
        assert pd.Series([write["path"]]).str.match(_write_path("bookmarks")).all()
        assert write["path"].endswith("/" + ident)  # the id is the GUID Sentinel answered
        assert write["query"]["api-version"] == [API_VERSION]
        assert write["authorization"] == f"Bearer {TOKEN}"
        assert set(write["body"]) == {"properties"}
        props = write["body"]["properties"]
        assert props == {
            "displayName": item["name"],
            "query": item["query"],
            "queryResult": item["query_result"],
            "notes": item["notes"],
            "labels": item["labels"],
        }
    assert "entityMappings" not in writes[0]["raw"]  # not in msticpy's API version


def test_incidents_through_msticpy(found, fake_sentinel):
    sent = snt.send_to_sentinel(
        found, [2], _connected(fake_sentinel), as_="incident", severity="high"
    )
    (write,) = fake_sentinel.writes
    assert pd.Series([write["path"]]).str.match(_write_path("incidents")).all()
    assert write["query"]["api-version"] == [API_VERSION]
    item = snt.sentinel_content(found, [2]).iloc[0]
    props = write["body"]["properties"]
    assert props["title"] == item["name"] and props["severity"] == "High"
    assert props["status"] == "New"
    assert props["description"].startswith(item["notes"]) and item["query"] in props["description"]
    assert props["labels"] == [
        {"labelName": "msticnb-iforest", "labelType": "User"},
        {"labelName": "single", "labelType": "User"},
    ]
    assert pd.Timestamp(props["firstActivityTimeUtc"]) == item["first_activity"]
    assert pd.Timestamp(props["lastActivityTimeUtc"]) == item["last_activity"]
    assert sent.loc[0, "created"] == "incident" and write["path"].endswith(sent.loc[0, "id"])


def test_a_refused_write_says_what_was_created(found, fake_sentinel):
    fake_sentinel.refuse = {2}
    with pytest.raises(SentinelError, match="did not create the bookmark for incident 3") as err:
        snt.send_to_sentinel(found, [1, 3, 4], _connected(fake_sentinel))
    assert "refused by the test" in str(err.value)
    assert re.search(rf"Created before it: incident 1 \(bookmark {GUID}\)\.?$", str(err.value))
    assert list(err.value.created["incident"]) == [1]
    assert len(fake_sentinel.writes) == 2  # nothing after the refused one


def test_bad_arguments_are_told_before_any_call(found, fake_sentinel):
    sentinel = _connected(fake_sentinel)
    for kwargs, message in (
        ({"as_": "alert"}, "as_ must be one of bookmark, incident"),
        ({"severity": "urgent"}, "severity must be one of"),
    ):
        with pytest.raises(ParameterError, match=message):
            snt.send_to_sentinel(found, [1], sentinel, **kwargs)
    with pytest.raises(ParameterError, match="Name the incidents"):
        snt.send_to_sentinel(found, None, sentinel)
    with pytest.raises(ParameterError, match="MicrosoftSentinel"):
        snt.send_to_sentinel(found, [1], object())
    assert fake_sentinel.writes == []


def test_msticpy_methods_take_what_is_sent():
    from msticpy.context.azure import MicrosoftSentinel

    bookmark = inspect.signature(MicrosoftSentinel.create_bookmark).parameters
    assert {"name", "query", "results", "notes", "labels"} <= set(bookmark)
    incident = inspect.signature(MicrosoftSentinel.create_incident).parameters
    wanted = {"title", "severity", "status", "description", "labels"}
    assert wanted | {"first_activity_time", "last_activity_time"} <= set(incident)


class _Family:
    def __init__(self, rows):
        self.rows = rows

    def user_day_summary(self, *args, **kwargs):
        return "KQL of the hunt" if "print" in args else self.rows


class _SentinelProvider:
    """Stands in for a QueryProvider connected to workspace `name` (the network edge)."""

    environment = "MSSentinel"
    connected = True

    def __init__(self, rows, name):
        self.AnomalousLogons = _Family(rows)
        self.connection_string = name


def _workspace_result(demo_table, name="SocWs"):
    nblt = AnomalousLogonUsers()
    nblt.query_provider = _SentinelProvider(demo_table, name)
    span = TimeSpan(start=datetime(2022, 9, 6), end=datetime(2022, 9, 27))
    return nblt.run(timespan=span, feature_set="seed", options=["-shap"])


def test_result_sends_to_the_workspace_it_hunted(nb_local, demo_table, fake_sentinel, no_plots):
    from msticpy.common import pkg_config

    workspace = {
        "WorkspaceId": "11111111-2222-3333-4444-555555555555",
        "TenantId": "66666666-7777-8888-9999-000000000000",
        "SubscriptionId": SUB,
        "ResourceGroup": "hunt-rg",
        "WorkspaceName": "soc-workspace",
    }
    pkg_config.set_config("AzureSentinel.Workspaces.SocWs", workspace, create_path=True)
    result = _workspace_result(demo_table)
    with _cloud_settings_read():
        sent = result.to_sentinel(incidents=[1], credential=_NoCredential(), token=TOKEN)
    (write,) = fake_sentinel.writes
    path = _write_path("bookmarks", workspace="soc-workspace", group="hunt-rg")
    assert pd.Series([write["path"]]).str.match(path).all()
    assert write["body"]["properties"]["displayName"].startswith("Anomalous logons: ")
    assert list(sent["incident"]) == [1]
    # the workspace found by its id too (msticnb connects with a connection string)
    by_id = _workspace_result(demo_table, workspace["WorkspaceId"])
    with _cloud_settings_read():
        by_id.to_sentinel(incidents=[2], as_="incident", credential=_NoCredential(), token=TOKEN)
    assert "/workspaces/soc-workspace/" in fake_sentinel.writes[-1]["path"]
    del workspace["ResourceGroup"]
    pkg_config.set_config("AzureSentinel.Workspaces.SocWs", workspace)
    with pytest.raises(SentinelError, match="'SocWs' in msticpyconfig.yaml lacks ResourceGroup"):
        result.to_sentinel(incidents=[1], credential=_NoCredential(), token=TOKEN)
    with pytest.raises(SentinelError, match="no entry under AzureSentinel: Workspaces"):
        _workspace_result(demo_table, "Elsewhere").to_sentinel(incidents=[1])
    assert len(fake_sentinel.writes) == 2


def test_non_sentinel_sources_need_a_workspace(nb_local, demo_table, found, no_plots):
    local = AnomalousLogonUsers().run(data=demo_table, feature_set="seed", options=["-shap"])
    with pytest.raises(WorkspaceNeededError) as err:
        local.to_sentinel(incidents=[1])
    text = str(err.value)
    assert text.startswith("Sending incidents to Microsoft Sentinel needs a Microsoft Sentinel")
    assert "set data_source to a workspace name" in text and "sentinel=sentinel" in text
    with pytest.raises(WorkspaceNeededError, match="not run by the notebooklet on a workspace"):
        snt.to_sentinel(found, [1])
    given = AnomalousLogonUsers()
    given.query_provider = _SentinelProvider(demo_table, "SocWs")
    handed = given.run(data=demo_table, feature_set="seed", options=["-shap"])
    with pytest.raises(WorkspaceNeededError, match="given its data"):
        handed.to_sentinel(incidents=[1])
    with pytest.raises(ParameterError, match="no incident 9"):  # told before the workspace
        local.to_sentinel(incidents=[9])


@pytest.mark.parametrize("command", [["demo"], ["run", "events.csv"]])
def test_cli_to_sentinel_exits_2_saying_why(tmp_path, capsys, command):
    out = tmp_path / "out"
    code = main([*command, "--out", str(out), "--to-sentinel"])
    assert code == 2 and not out.exists()
    err = capsys.readouterr().err
    assert err.startswith("msticnb-iforest: error: --to-sentinel: sending incidents to Microsoft")
    assert "needs a Microsoft Sentinel workspace" in err and err.count("\n") == 1

"""
Attacker-chosen names in the data path.

An attacker chooses the user name of a failed logon and the workstation name
it sends, so names can be very long, crafted against the allow-list's
wildcards, or start with white space. None of that may multiply memory, hang
a match or change the name an analyst sees and pivots on.
"""

from __future__ import annotations

import fnmatch
import json
import tracemalloc

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msticnb_iforest.identity import account_keys, allow_list_mask
from msticnb_iforest.intkeys import sorted_codes
from msticnb_iforest.pipeline import hunt
from msticnb_iforest.present.links import account_links
from msticnb_iforest.sources.query import ensure_queries
from msticnb_iforest.summarize.account_days import account_day_summary
from msticnb_iforest.summarize.user_days import user_day_summary

from ..capped import assert_clean_exit, run_cli

DAY0 = pd.Timestamp("2024-03-01", tz="UTC")

#: Address-space cap for the long-name runs: the whole CLI fits under this
#: (about 2.6 GB of address space on the test input, 0.36 GB resident: the
#: columnar engine's threads reserve about 0.7 GB of address space they do not
#: touch), while one label array padded to the longest name (2 GB and more
#: here) does not.
NAME_CAP_MB = 3072


def _events(n_accounts: int, n_hosts: int, n_rows: int, days: int = 4) -> pd.DataFrame:
    """Raw network logons: accounts and workstation names cycled over `n_rows` rows."""
    row = np.arange(n_rows)
    account, host = row % n_accounts, row % n_hosts
    seconds = (row * 7919) % (days * 86_400)
    return pd.DataFrame(
        {
            "TimeGenerated": (DAY0 + pd.to_timedelta(seconds, unit="s")).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "EventID": np.where(row % 5 == 0, 4625, 4624),
            "TargetUserName": pd.Series(account).map("user{}".format).astype(object),
            "TargetDomainName": "CONTOSO",
            "LogonType": 3,
            "LogonTypeName": "3 - Network",
            "Computer": "srv1.contoso.com",
            "IpAddress": pd.Series(host).map(lambda h: f"10.0.{h // 250}.{h % 250}"),
            "WorkstationName": pd.Series(host).map("WS{}".format).astype(object),
            "AuthenticationPackageName": "NTLM",
        }
    )


def _long_user(n_accounts: int, length: int) -> pd.DataFrame:
    """`n_accounts` accounts; one failed logon's user name is `length` characters."""
    events = _events(n_accounts, 50, 3 * n_accounts)
    events.loc[0, ["TargetUserName", "EventID"]] = ["u" * length, 4625]
    return events


def _long_host(n_hosts: int, length: int) -> pd.DataFrame:
    """`n_hosts` workstation names, one of them `length` characters."""
    events = _events(200, n_hosts, n_hosts)
    events.loc[0, "WorkstationName"] = "H" * length
    return events


# --------------------------------------------------------------------------
# 1. One long name must not multiply memory
# --------------------------------------------------------------------------
def _peak_bytes(func, *args, **kwargs) -> int:
    """Peak memory traced while `func` runs (numpy buffers included)."""
    tracemalloc.start()
    try:
        func(*args, **kwargs)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_sorted_codes_sorts_text_without_padding():
    labels = np.array(["b", "a", "x" * 200_000, "", "ab", "B", "é", "a\x00"], dtype=object)
    labels = np.concatenate([labels, np.array([f"n{i}" for i in range(500)], dtype=object)])
    codes = np.arange(len(labels))[::-1]
    peak = _peak_bytes(sorted_codes, codes, labels)
    # Padded to the longest label, the labels alone take 500 x 800 kB.
    assert peak < 20 * 2**20
    new_codes, ordered = sorted_codes(codes, labels)
    assert list(ordered) == sorted(labels)
    assert ordered.dtype == object
    assert list(ordered[new_codes]) == list(labels[codes])


def test_text_order_handles_text_utf8_cannot_encode():
    from msticnb_iforest.intkeys import text_order

    labels = np.array(["b", "a\udcff", "a", ""], dtype=object)
    assert list(labels[text_order(labels)]) == sorted(labels)


@pytest.mark.parametrize("summarize", [user_day_summary, account_day_summary])
def test_summaries_do_not_pad_names_to_the_longest(summarize):
    n_accounts, length = 1_000, 20_000
    events = _long_user(n_accounts, length)
    events.loc[1, "WorkstationName"] = "H" * length
    peak = _peak_bytes(summarize, events)
    # One label array padded to the longest name would take n x length x 4 bytes.
    assert peak < n_accounts * length * 4 // 4
    table = summarize(events)
    assert ("u" * length) in set(table["DstUser"])


@pytest.mark.slow
@pytest.mark.parametrize("fset", ["baseline", "seed"])
def test_cli_one_long_user_name_among_many_accounts(fset, tmp_path):
    path = tmp_path / "events.csv"
    _long_user(5_000, 100_000).to_csv(path, index=False)
    out = tmp_path / "out"
    args = ["--feature-set", fset, "--no-shap", "--n-estimators", "20", "--max-plots", "0"]
    run = run_cli("run", path, "--out", out, *args, "-q", memory_mb=NAME_CAP_MB, timeout=300)
    assert_clean_exit(run, allowed=(0,))
    assert json.loads((out / "run.json").read_text())["counts"]["user_days"] > 5_000


@pytest.mark.slow
def test_cli_one_long_workstation_name_among_many_hosts(tmp_path):
    path = tmp_path / "events.csv"
    _long_host(20_000, 32_767).to_csv(path, index=False)
    out = tmp_path / "out"
    args = ["--no-shap", "--n-estimators", "20", "--max-plots", "0"]
    run = run_cli("run", path, "--out", out, *args, "-q", memory_mb=NAME_CAP_MB, timeout=300)
    assert_clean_exit(run, allowed=(0,))
    days = pd.read_csv(out / "user_days.csv", usecols=["AccountKey"])
    assert days["AccountKey"].nunique() == 200


# --------------------------------------------------------------------------
# 2. Allow-list wildcards: fnmatch semantics, no backtracking
# --------------------------------------------------------------------------
def _wildcard_match(pattern: str, name: str) -> bool:
    from msticnb_iforest.identity import Wildcard

    return Wildcard(pattern).match(name)


# "[" is literal in allow-list entries, so the alphabets leave it out of fnmatch's way.
PATTERNS = st.text(alphabet="ab-.*?\n", max_size=8)
NAMES_TEXT = st.text(alphabet="ab-.\n", max_size=10)


@settings(max_examples=400, deadline=None)
@given(pattern=PATTERNS, name=NAMES_TEXT)
def test_wildcard_matches_like_fnmatch(pattern, name):
    assert _wildcard_match(pattern, name) == fnmatch.fnmatchcase(name, pattern)


@settings(max_examples=60, deadline=None)
@given(
    users=st.lists(NAMES_TEXT.filter(lambda u: "@" not in u), min_size=1, max_size=8),
    domains=st.lists(st.sampled_from(["CONTOSO", "contoso.com", "FABRIKAM", "", "-"]), min_size=1),
    # Entries are typed on one line; names may hold line breaks.
    user_pattern=PATTERNS.filter(lambda p: p.strip() == p and p != "" and "\n" not in p),
    with_domain=st.booleans(),
)
def test_allow_list_is_fnmatch_on_canonical_keys(users, domains, user_pattern, with_domain):
    table = pd.DataFrame(
        {"DstUser": users, "DstDomain": [domains[i % len(domains)] for i in range(len(users))]}
    )
    entry = f"CONTOSO\\{user_pattern}" if with_domain else user_pattern
    keys = account_keys(table["DstUser"], table["DstDomain"])
    expected = []
    for key in keys:
        dom, usr = key.split("\\", 1)
        hit = fnmatch.fnmatchcase(usr, user_pattern.lower())
        expected.append(hit and (dom == "contoso" if with_domain else True))
    assert list(allow_list_mask(table, [entry])) == expected
    # The same with the canonical keys given, as account_day_summary returns them.
    assert list(allow_list_mask(table.assign(AccountKey=keys), [entry])) == expected


def test_allow_list_documented_semantics():
    table = pd.DataFrame(
        {
            "DstUser": ["svc-x@contoso.com", "SVC-Y", "svc-z", "svc-a", "ab", "abc"],
            "DstDomain": ["", "CONTOSO.local", "FABRIKAM", "contoso", "", ""],
        }
    )
    assert list(allow_list_mask(table, ["CONTOSO\\svc-*"])) == [1, 1, 0, 1, 0, 0]
    assert list(allow_list_mask(table, ["svc-?"])) == [1, 1, 1, 1, 0, 0]
    assert list(allow_list_mask(table, ["a?"])) == [0, 0, 0, 0, 1, 0]
    assert list(allow_list_mask(table, ["SVC-X@CONTOSO.COM"])) == [1, 0, 0, 0, 0, 0]
    crafted = pd.DataFrame({"DstUser": ["svc-" + "-" * 300, "svc-" + "-" * 300 + "prod"]})
    crafted["DstDomain"] = "CONTOSO"
    assert list(allow_list_mask(crafted, ["CONTOSO\\svc-*-*-*-prod"])) == [0, 1]
    # A key column without the "domain\\user" form: the value is the user.
    keys = pd.DataFrame({"AccountKey": ["bob", "BOB2"], "DstUser": "x", "DstDomain": "y"})
    assert list(allow_list_mask(keys, ["bob*"])) == [1, 1]


@pytest.mark.slow
def test_cli_crafted_name_against_allow_list_wildcards(tmp_path):
    victim = "svc-" + "-" * 8_000
    events = _events(20, 20, 400)
    events.loc[:9, "TargetUserName"] = victim
    events.loc[10:19, "TargetUserName"] = "svc-a-b-c-prod"
    path = tmp_path / "events.csv"
    events.to_csv(path, index=False)
    out = tmp_path / "out"
    args = ["--no-shap", "--n-estimators", "20", "--max-plots", "0", "--contamination", "0.5"]
    entry = "CONTOSO\\svc-*-*-*-prod"
    # Backtracking made this one match take minutes; the timeout catches a regression.
    run = run_cli("run", path, "--out", out, *args, "-q", "--allow-account", entry, timeout=120)
    assert_clean_exit(run, allowed=(0,))
    days = pd.read_csv(out / "user_days.csv", keep_default_na=False)
    allowed = days["suppressed"] == "allow-listed account"
    assert set(days.loc[allowed, "DstUser"]) == {"svc-a-b-c-prod"}
    assert (days["DstUser"] == victim).any()


# --------------------------------------------------------------------------
# 3. The displayed spelling is one the logs hold
# --------------------------------------------------------------------------
def _spelled(rows: list[tuple[str, str, str, int]]) -> pd.DataFrame:
    """Events for (user, domain, computer, logons) spellings, one day each, plus a crowd."""
    events = _events(30, 10, 300)
    extra = []
    for user, domain, computer, count in rows:
        for i in range(count):
            row = events.iloc[i % len(events)].copy()
            row["TargetUserName"], row["TargetDomainName"], row["Computer"] = user, domain, computer
            extra.append(row)
    return pd.concat([events, pd.DataFrame(extra)], ignore_index=True)


SPELLINGS = [
    ("\t=1+1", "CONTOSO", "srv1.contoso.com", 3),
    ("=1+1", "CONTOSO", "srv1.contoso.com", 1),
    (" Alice", " CONTOSO ", "srv1.contoso.com", 2),
    ("alice ", "contoso", "srv1.contoso.com", 1),
    ("Admin ", " . ", "SRV7.contoso.com", 2),
]


def _shown(table: pd.DataFrame) -> dict[str, tuple[str, str]]:
    first = table.drop_duplicates("AccountKey")
    rows = zip(first["AccountKey"], first["DstDomain"], first["DstUser"], strict=True)
    return {key: (domain, user) for key, domain, user in rows}


def test_account_profile_shows_the_logged_spelling():
    events = _spelled(SPELLINGS)
    shown = _shown(account_day_summary(events))
    # The most used spelling of each account, exactly as logged (white space kept).
    assert shown["contoso\\=1+1"] == ("CONTOSO", "\t=1+1")
    assert shown["contoso\\alice"] == (" CONTOSO ", " Alice")
    # A "." domain is the computer's short name, as Windows writes local accounts.
    assert shown["srv7\\admin"] == ("SRV7", "Admin ")


@pytest.mark.parametrize("fset", ["baseline", "seed"])
def test_results_and_pivots_use_only_logged_names(fset):
    events = _spelled(SPELLINGS)
    result = hunt(events, feature_set=fset, n_estimators=20, shap=False, contamination=0.2)
    users, domains = set(events["TargetUserName"]), set(events["TargetDomainName"]) | {"SRV7"}
    for frame in (result.user_days, result.outliers, result.explanations):
        if "DstUser" in frame.columns:
            assert set(frame["DstUser"]) <= users
            assert set(frame["DstDomain"]) <= domains
    assert "\t=1+1" in set(result.user_days["DstUser"])
    links = account_links(result.outliers)
    assert set(links["DstUser"]) <= users
    for code, user in zip(links["code"], links["DstUser"], strict=True):
        assert repr(user) in code


def test_seed_summary_keeps_every_spelling():
    summary = user_day_summary(_spelled(SPELLINGS))
    pairs = set(zip(summary["DstDomain"], summary["DstUser"], strict=True))
    assert {(d, u) for u, d, _, _ in SPELLINGS} <= pairs


@pytest.fixture(scope="module")
def kql() -> str:
    import re
    from datetime import datetime, timezone

    from msticpy.data import QueryProvider

    provider = QueryProvider("MSSentinel")
    ensure_queries(provider, "account_day_summary")
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    end = datetime(2024, 1, 22, tzinfo=timezone.utc)
    text = provider.AnomalousLogons.account_day_summary("print", start=start, end=end)
    return re.sub(r"\s+", " ", text)


def test_kql_display_spelling_agrees_with_local(kql):
    """The query shows the most used (ShownDomain, DstUser) with DstUser = TargetUserName."""
    assert "DstDomain = TargetDomainName, DstUser = TargetUserName" in kql
    assert 'ShownDomain = iff(DomainText == ".", ComputerShort, DstDomain)' in kql
    assert "summarize Logons = count() by AccountKey, ShownDomain, DstUser" in kql
    assert "summarize arg_max(Logons, ShownDomain, DstUser) by AccountKey" in kql
    assert "project AccountKey, DstDomain = ShownDomain, DstUser;" in kql

    def kql_shown(user: str, domain: str, computer: str) -> tuple[str, str]:
        short = computer.strip(" \t\n\r\f").split(".")[0]
        return (short if domain.strip(" \t\n\r\f") == "." else domain), user

    events = _spelled(SPELLINGS)
    keys = account_keys(events["TargetUserName"], events["TargetDomainName"], events["Computer"])
    counts: dict[str, dict[tuple[str, str], int]] = {}
    for key, user, domain, computer in zip(
        keys, events["TargetUserName"], events["TargetDomainName"], events["Computer"], strict=True
    ):
        spelled = counts.setdefault(key, {})
        shown = kql_shown(user, domain, computer)
        spelled[shown] = spelled.get(shown, 0) + 1
    expected = {key: max(spelled, key=spelled.get) for key, spelled in counts.items()}
    assert _shown(account_day_summary(events)) == expected


@pytest.mark.parametrize("function", ["hunt", "user_day_summary", "account_day_summary"])
@pytest.mark.parametrize(
    "column", ["EventID", "LogonType", "TargetUserName", "IpAddress", "TimeGenerated"]
)
def test_cells_holding_lists_or_mappings_are_named(function, column):
    """A list or dict in a raw column is an InputDataError naming it, never a TypeError."""
    import msticnb_iforest
    from msticnb_iforest.errors import InputDataError
    from msticnb_iforest.sources.demo import generate_demo

    events = generate_demo(n_users=6, n_days=4, seed=3).events
    values = events[column].astype(object).tolist()
    values[:2] = [[1], {"a": 1}]
    events[column] = pd.Series(values, index=events.index, dtype=object)
    before = events.copy(deep=True)
    with pytest.raises(InputDataError, match=f"Column '{column}' must hold text, numbers"):
        getattr(msticnb_iforest, function)(events)
    pd.testing.assert_frame_equal(events, before)

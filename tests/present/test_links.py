"""Pivot code and query values are safe whatever the account names hold."""

from __future__ import annotations

import ast

import pandas as pd
import pytest

from msticnb_iforest.errors import ParameterError
from msticnb_iforest.present.links import account_links, check_table_name, kql_string

HOSTILE = [
    "o'brien",
    'quote"d',
    "back\\slash",
    "new\nline",
    "tri'''ple",
    '"); drop table x; ("',
    "ünïcødé",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_generated_code_is_valid_and_carries_the_name(name):
    outliers = pd.DataFrame(
        {
            "Date": [pd.Timestamp("2024-02-03")],
            "DstDomain": ["DOM\\x"],
            "DstUser": [name],
            "score": [0.1],
        }
    )
    code = account_links(outliers).loc[0, "code"]
    tree = ast.parse(code)
    values = [
        kw.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for kw in node.keywords
        if kw.arg in ("value", "account_name")
    ]
    assert values[0] == name  # AccountSummary gets the real name
    assert values[1] == values[2] == kql_string(name)  # KQL gets the escaped one


@pytest.mark.parametrize("name", HOSTILE)
def test_kql_string_cannot_close_the_literal(name):
    escaped = kql_string(name)
    # Every double quote is preceded by an odd number of backslashes.
    i = 0
    while i < len(escaped):
        if escaped[i] == "\\":
            i += 2
            continue
        assert escaped[i] not in '"\n\r'
        i += 1


def test_table_name_validation():
    assert check_table_name("SecurityEvent") == "SecurityEvent"
    for bad in ("SecurityEvent | take 1", "x;y", "", "a b", "1abc", None):
        with pytest.raises(ParameterError):
            check_table_name(bad)


def test_one_link_per_account_highest_first():
    outliers = pd.DataFrame(
        {
            "Date": pd.to_datetime(["2024-02-03", "2024-02-01", "2024-02-02"]),
            "DstDomain": ["D", "D", "D"],
            "DstUser": ["a", "b", "a"],
            "score": [0.3, 0.2, 0.1],
        }
    )
    links = account_links(outliers)
    assert list(links["DstUser"]) == ["a", "b"]
    assert links.loc[0, "Date"] == pd.Timestamp("2024-02-03")
    assert account_links(outliers.iloc[0:0]).empty

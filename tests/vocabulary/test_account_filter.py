"""The account filter (`value` / --account) finds every spelling of an account."""

from __future__ import annotations

import pandas as pd
import pytest

from msticnb_iforest.pipeline import account_mask

TABLE = pd.DataFrame(
    {
        "DstUser": ["admmig@offsec.lan", "ADMMIG", "bob", "bob"],
        "DstDomain": ["", "OFFSEC", "X", "OTHER"],
        "AccountKey": ["offsec\\admmig", "offsec\\admmig", "x\\bob", "other\\bob"],
    }
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("admmig@offsec.lan", [True, True, False, False]),
        ("admmig", [True, True, False, False]),
        ("OFFSEC\\admmig", [True, True, False, False]),
        ("offsec.lan\\Admmig", [True, True, False, False]),
        ("bob", [False, False, True, True]),
        ("x\\bob", [False, False, True, False]),
        ("offsec\\bob", [False, False, False, False]),
        ("nobody", [False, False, False, False]),
    ],
)
def test_every_spelling_matches(value, expected):
    assert account_mask(TABLE, value).tolist() == expected


def test_without_account_key_display_names_are_used():
    table = TABLE.drop(columns="AccountKey")
    assert account_mask(table, "OFFSEC\\admmig").tolist() == [False, True, False, False]
    assert account_mask(table, "BOB").tolist() == [False, False, True, True]

"""
Query safety and headless failures.

Values substituted into KQL are validated (`table`) or escaped (account
names) so a hostile value cannot change a query's meaning; generated pivot
code quotes names safely; with no provider, an unconnected one or a failing
query the notebooklet raises one `QueryError` with a clear message.
"""

import ast

import numpy as np
import pandas as pd
import pytest

from msticnb_iforest import AnomalousLogonUsers
from msticnb_iforest.errors import AnomalousLogonsError, ParameterError, QueryError
from msticnb_iforest.present.links import account_links, check_table_name, kql_string
from msticnb_iforest.sources.query import fetch_user_days

from ..bad_input_cases import FEATURE_SET_NAMES, HOSTILE


@pytest.fixture(params=FEATURE_SET_NAMES)
def fset(request) -> str:
    """Every registered feature set, so a newly added default is covered too."""
    return request.param


# --------------------------------------------------------------------------
# Query parameters and generated code
# --------------------------------------------------------------------------
def _kql_literal(text: str) -> tuple[str, str]:
    """
    Read one double-quoted KQL string literal at the start of `text`.

    Returns the decoded value and the text after the closing quote.
    """
    assert text[0] == '"'
    escapes = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "'": "'"}
    value, pos = [], 1
    while True:
        char = text[pos]
        if char == "\\":
            value.append(escapes[text[pos + 1]])
            pos += 2
        elif char == '"':
            return "".join(value), text[pos + 1 :]
        else:
            assert char not in "\r\n", "a raw line break inside a KQL literal"
            value.append(char)
            pos += 1


NASTY = [
    *HOSTILE,
    'x" or 1==1 or "',
    'end\\" | take 10 //',
    "a\\",
    '"""',
    "'''",
    "tab\tand\u2028sep",
]


@pytest.mark.parametrize("value", NASTY)
def test_kql_string_keeps_hostile_values_inside_one_literal(value):
    template = 'SecurityEvent | where Account has "{}" | take 5'
    query = template.format(kql_string(value))
    head = query.index('"')
    decoded, rest = _kql_literal(query[head:])
    assert decoded == value
    assert rest == " | take 5"


@pytest.mark.parametrize(
    "table_name",
    [
        "SecurityEvent | take 1",
        "SecurityEvent;drop",
        "Security Event",
        "SecurityEvent\n| where 1 == 1",
        "workspace('x').SecurityEvent",
        "",
        "1Table",
        None,
        42,
    ],
)
def test_hostile_table_names_are_rejected_before_any_query(table_name):
    with pytest.raises(ParameterError, match="plain table name"):
        check_table_name(table_name)

    class Untouchable:
        environment = "MSSentinel"
        connected = True

        def __getattr__(self, name):
            raise AssertionError(f"the provider was used ({name})")

    with pytest.raises(ParameterError):
        fetch_user_days(
            Untouchable(), pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02"), table=table_name
        )


def test_add_query_items_is_documented_as_raw_kql_for_trusted_users():
    doc = " ".join(fetch_user_days.__doc__.split())
    assert "Raw KQL" in doc and "Trusted input only" in doc
    nb_doc = " ".join(AnomalousLogonUsers.run.__doc__.split())
    assert "Raw KQL" in nb_doc and "trusted users only" in nb_doc


def _literals(code: str) -> dict[str, str]:
    """Keyword string arguments of the calls in generated code."""
    found = {}
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                    found[kw.arg] = kw.value.value
    return found


def test_account_links_quote_names_safely():
    outliers = pd.DataFrame(
        {
            "DstDomain": ["DOM\\x", 'D"Q', "LINE\nDOM"] + ["CONTOSO"] * (len(NASTY) - 3),
            "DstUser": NASTY,
            "Date": pd.Timestamp("2024-03-05"),
            "score": np.linspace(0.2, 0.1, len(NASTY)),
        }
    )
    links = account_links(outliers)
    assert len(links) == len(NASTY)
    for user, code in zip(NASTY, links["code"], strict=True):
        args = _literals(code)
        assert args["value"] == user
        assert args["account_name"] == kql_string(user)
        assert _kql_literal('"' + args["account_name"] + '"') == (user, "")
        assert len(code.splitlines()) == 20  # no name adds a line


# --------------------------------------------------------------------------
# Headless: provider not connected or query failing
# --------------------------------------------------------------------------
class _Family:
    def __init__(self, mode: str):
        self.mode = mode

    def user_day_summary(self, *args, **kwargs):
        if "print" in args:
            if self.mode == "template":
                raise KeyError("table")
            return "KQL text"
        if self.mode == "raise":
            raise ConnectionError("HTTP 403: the token has expired")
        if self.mode == "none":
            return None
        return "Query failed: semantic error"

    account_day_summary = user_day_summary


class _Provider:
    """A msticpy QueryProvider stand-in at the network edge."""

    environment = "MSSentinel"

    def __init__(self, mode: str, connected: bool = True):
        self.connected = connected
        self.AnomalousLogons = _Family(mode)


@pytest.mark.parametrize(
    ("provider", "needle"),
    [
        (None, "No query provider: initialise msticnb first"),
        (_Provider("raise", connected=False), "not connected; connect it first"),
        (_Provider("raise"), "query failed: HTTP 403: the token has expired"),
        (_Provider("template"), "Cannot prepare the .* query with this provider: KeyError"),
        (_Provider("none"), "query returned no table"),
        (_Provider("text"), "query returned no table"),
    ],
    ids=["no_provider", "not_connected", "query_raises", "template_fails", "none", "text"],
)
def test_headless_query_failures_are_one_query_error(provider, needle, fset, nb_local, capsys):
    nblt = AnomalousLogonUsers()
    nblt.query_provider = provider
    with pytest.raises(QueryError, match=needle) as caught:
        nblt.run(feature_set=fset)
    assert isinstance(caught.value, AnomalousLogonsError) and isinstance(caught.value, ValueError)
    assert capsys.readouterr().out == ""  # nothing half-drawn before the error

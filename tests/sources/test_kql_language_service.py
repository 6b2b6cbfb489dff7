"""
Every KQL query the package renders passes Microsoft's Kusto language service.

The queries are rendered here in Python, as the package renders them (msticpy's
"print" mode, and a recording driver for the chunks of a split query), and checked
in one Node process by ``tests/kql/check_kql.js``: Kusto.Language, the parser and
semantic analyzer behind the Azure Data Explorer web UI, parses each one and binds
it against the ``SecurityEvent`` columns of Microsoft's table reference
(``tests/kql/securityevent_schema.json``). Any error diagnostic (syntax, unknown
column, type mismatch) fails the test, and the result columns it infers for the
package's queries must be the package's own column lists.

Set up with ``bash .ci/kql_setup.sh`` (Node, then ``npm ci --prefix tests/kql``).
Without it the tests skip, except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from msticpy.data import QueryProvider
from msticpy.data.drivers.driver_base import DriverBase, DriverProps

from msticnb_iforest import AnomalousLogonUsers
from msticnb_iforest.present.links import account_links
from msticnb_iforest.schema import (
    COUNT_COLUMNS,
    EVENT_COLUMNS,
    REQUIRED_SUMMARY_COLUMNS,
    SUMMARY_COLUMNS,
)
from msticnb_iforest.sources.query import ensure_queries, fetch_user_days, split_windows
from msticnb_iforest.summarize.account_days import ACCOUNT_DAY_COLUMNS

from .test_query_safety import NASTY

pytestmark = pytest.mark.slow  # one Node process: about ten seconds

KQL_DIR = Path(__file__).resolve().parents[1] / "kql"
CHECKER = KQL_DIR / "check_kql.js"
SCHEMA = KQL_DIR / "securityevent_schema.json"
SERVICE = KQL_DIR / "node_modules" / "@kusto" / "language-service-next"

START = datetime(2024, 1, 1, tzinfo=timezone.utc)
END = datetime(2024, 1, 22, tzinfo=timezone.utc)
SPLIT_START = datetime(2024, 3, 1, 9, 30, tzinfo=timezone.utc)  # not at midnight
SPLIT_END = datetime(2024, 3, 4, 18, 0, tzinfo=timezone.utc)
TEMPLATES = ("user_day_summary", "account_day_summary", "network_logon_events")
SUMMARIES = ("user_day_summary", "account_day_summary")
PIVOTS = ("list_logons_by_account", "list_logon_failures_by_account")
COLUMNS = {
    "user_day_summary": SUMMARY_COLUMNS,
    "account_day_summary": ACCOUNT_DAY_COLUMNS,
    "network_logon_events": EVENT_COLUMNS,
}
CUSTOM_TABLE = "WinSecurityEvents"  # a custom table holding SecurityEvent rows
CLAUSE = '| where Computer has "x"'


# --------------------------------------------------------------------------
# Rendering: every query the package builds
# --------------------------------------------------------------------------
def _query(name: str, text: str, template: str | None, table: str = "SecurityEvent") -> dict:
    return {"name": name, "query": str(text), "template": template, "table": table}


def _print(provider: QueryProvider, template: str, **params) -> str:
    query = getattr(provider.AnomalousLogons, template)
    if template == "account_day_summary":
        # As fetch_user_days sets them (ISO text, UTC) for the novelty window.
        params.setdefault("window_start", START.isoformat())
        params.setdefault("window_end", END.isoformat())
    return query("print", start=START, end=END, **params)


def _templates(environment: str, **params) -> Callable[[dict], list[dict]]:
    def render(providers: dict) -> list[dict]:
        table = params.get("table", "SecurityEvent")
        provider = providers[environment]
        return [
            _query(f"{environment}.{name}", _print(provider, name, **params), name, table)
            for name in TEMPLATES
        ]

    return render


class _Recorder(DriverBase):
    """A driver at the network edge: keeps every query text, answers no rows."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.queries: list[str] = []
        self._loaded = True
        self.set_driver_property(DriverProps.SUPPORTS_THREADING, False)

    def connect(self, connection_str: str | None = None, **kwargs):
        self._connected = True

    def query(self, query: str, query_source=None, **kwargs) -> pd.DataFrame:
        self.queries.append(query)
        return pd.DataFrame(columns=ACCOUNT_DAY_COLUMNS)

    def query_with_results(self, query: str, **kwargs):
        return self.query(query, **kwargs), None


def _split(environment: str) -> Callable[[dict], list[dict]]:
    """The chunk queries a split fetch sends (msticpy's own split logic runs)."""

    def render(providers: dict) -> list[dict]:
        found = []
        for template in SUMMARIES:
            driver = _Recorder(data_environment=environment)
            provider = QueryProvider(environment, driver=driver)
            ensure_queries(provider, template)
            provider.connect()
            fetch_user_days(
                provider,
                SPLIT_START,
                SPLIT_END,
                split_query_by="1D",
                query_name=template,
                add_query_items=CLAUSE,
                notes=[],
            )
            # One query per chunk: the partial first day, then msticpy's daily chunks.
            assert len(driver.queries) == len(split_windows(SPLIT_START, SPLIT_END, "1D")[0])
            found += [
                _query(f"{environment}.{template}.chunk{pos}", text, template)
                for pos, text in enumerate(driver.queries)
            ]
        return found

    return render


def _outliers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "DstDomain": "CONTOSO",
            "DstUser": NASTY,
            "Date": pd.Timestamp("2024-03-05"),
            "score": [0.5 - pos / 100 for pos in range(len(NASTY))],
        }
    )


def _pivot_code(providers: dict) -> list[dict]:
    """The queries the ready-to-run code of `account_links` would run, for hostile names."""
    found = []
    for row, code in enumerate(account_links(_outliers())["code"]):
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in PIVOTS:
                kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords}
                pivot = getattr(providers["MSSentinel"].WindowsSecurity, node.func.attr)
                text = pivot("print", **kwargs)
                found.append(_query(f"links.{node.func.attr}.{row}", text, None))
    return found


def _pivot_methods(providers: dict) -> list[dict]:
    """The queries `logons()` and `failed_logons()` run, for hostile names."""
    windows = providers["MSSentinel"].WindowsSecurity

    class _Printing:
        def __getattr__(self, name):
            return lambda **kwargs: getattr(windows, name)("print", **kwargs)

    nblt = AnomalousLogonUsers()
    nblt.query_provider = SimpleNamespace(WindowsSecurity=_Printing())
    found = []
    for row, outlier in _outliers().iterrows():
        # Each hostile name as the top outlier, the one the methods pivot to by default.
        nblt._last_result = SimpleNamespace(outliers=outlier.to_frame().T)
        found.append(_query(f"logons.{row}", nblt.logons(), None))
        found.append(_query(f"failed_logons.{row}", nblt.failed_logons(), None))
    return found


CASES: dict[str, Callable[[dict], list[dict]]] = {
    "sentinel_defaults": _templates("MSSentinel"),
    "kusto_defaults": _templates("Kusto"),
    "sentinel_table": _templates("MSSentinel", table=CUSTOM_TABLE),
    "kusto_table": _templates("Kusto", table=CUSTOM_TABLE),
    "sentinel_add_query_items": _templates("MSSentinel", add_query_items=CLAUSE),
    "kusto_add_query_items": _templates("Kusto", add_query_items=CLAUSE),
    "sentinel_split_chunks": _split("MSSentinel"),
    "kusto_split_chunks": _split("Kusto"),
    "pivot_code": _pivot_code,
    "pivot_methods": _pivot_methods,
}


# --------------------------------------------------------------------------
# The check: one Node process for every query
# --------------------------------------------------------------------------
def _node() -> str:
    node = shutil.which("node")
    missing = []
    if node is None:
        missing.append("node")
    if not SERVICE.is_dir():
        missing.append(str(SERVICE.relative_to(KQL_DIR.parents[1])))
    if missing:
        message = (
            f"The KQL check needs {' and '.join(missing)}: run `bash .ci/kql_setup.sh` "
            "(installs Node if needed, then `npm ci --prefix tests/kql`)."
        )
        if os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)
    return node


def _broken(text: str) -> dict[str, str]:
    """The default user_day_summary made wrong in three ways the check must catch."""
    filters, column, times = (
        "| where EventID in (4624, 4625)",
        "dcount(Computer)",
        "MAX_TimeGenerated, MIN_TimeGenerated)",
    )
    assert filters in text and column in text and times in text
    return {
        "broken.syntax": text.replace(filters, "| where EventID in (4624"),
        "broken.unknown_column": text.replace(column, "dcount(ComputerName)"),
        "broken.type_mismatch": text.replace(times, "MAX_TimeGenerated, AttemptedLogons)"),
    }


@pytest.fixture(scope="module")
def rendered(nb_local) -> dict[str, list[dict]]:
    providers = {}
    for environment in ("MSSentinel", "Kusto"):
        providers[environment] = QueryProvider(environment)
        ensure_queries(providers[environment])
    found = {case: render(providers) for case, render in CASES.items()}
    for case, queries in found.items():
        for query in queries:
            query["name"] = f"{case}:{query['name']}"
    return found


@pytest.fixture(scope="module")
def checked(rendered) -> dict[str, dict]:
    """The language service's verdict on every query, by query name."""
    node = _node()
    queries = [query for found in rendered.values() for query in found]
    default = rendered["sentinel_defaults"][0]
    assert default["template"] == "user_day_summary"
    queries += [_query(name, text, None) for name, text in _broken(default["query"]).items()]
    names = [query["name"] for query in queries]
    assert len(set(names)) == len(names)
    run = subprocess.run(
        [node, str(CHECKER)],
        input=json.dumps(queries),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    results = json.loads(run.stdout)
    assert [result["name"] for result in results] == names
    return {result["name"]: result for result in results}


def _errors(result: dict) -> list[dict]:
    return [diag for diag in result["diagnostics"] if diag["severity"] == "Error"]


def _describe(query: dict, diagnostics: list[dict]) -> str:
    lines = [f"{query['name']}:"]
    for diag in diagnostics:
        before = query["query"][: diag["start"]]
        where = f"line {before.count(chr(10)) + 1}, column {len(before.split(chr(10))[-1]) + 1}"
        lines.append(
            f"  {diag['source']} {diag['severity']} {diag['code']} at {where}: "
            f"{diag['message']} (at {diag['text']!r})"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------
@pytest.mark.parametrize("case", sorted(CASES))
def test_rendered_queries_have_no_errors(case, rendered, checked):
    queries = rendered[case]
    assert queries, f"{case} rendered no query"
    failures = [
        _describe(query, _errors(checked[query["name"]]))
        for query in queries
        if _errors(checked[query["name"]])
    ]
    assert not failures, "Kusto language service errors:\n" + "\n".join(failures)


def test_the_options_reach_the_checked_text(rendered):
    # Guards the cases above: each option really is in the text the service analyzed.
    for case, found in rendered.items():
        for query in found:
            text = query["query"]
            if "table" in case:
                assert f"{CUSTOM_TABLE} |" in text, query["name"]
                assert not re.search(r"\bSecurityEvent\b", text), query["name"]
            if "add_query_items" in case or "split" in case:
                assert CLAUSE in text, query["name"]
    chunks = [q["query"] for q in rendered["sentinel_split_chunks"]]
    bounds = {re.search(r"TimeGenerated >= datetime\(([^)]+)\)", text)[1] for text in chunks}
    assert len(chunks) == 2 * len(split_windows(SPLIT_START, SPLIT_END, "1D")[0])
    assert len(bounds) == len(chunks) // 2 and "2024-03-01T09:30:00+00:00" in bounds
    pivots = rendered["pivot_code"] + rendered["pivot_methods"]
    assert len(pivots) == 4 * len(NASTY)
    assert any('Account has "o\'brien \\"q\\" \\\\x"' in q["query"] for q in pivots)


@pytest.mark.parametrize("template", TEMPLATES)
def test_inferred_result_columns_are_the_package_columns(template, rendered, checked):
    queries = [q for found in rendered.values() for q in found if q["template"] == template]
    assert queries
    for query in queries:
        columns = checked[query["name"]]["columns"]
        assert columns is not None, query["name"]
        assert [name for name, _ in columns] == COLUMNS[template], query["name"]
        types = dict(columns)
        if template in SUMMARIES:
            assert set(REQUIRED_SUMMARY_COLUMNS) <= set(types)
            assert types["Date"] == "string"
            assert types["MAX_TimeGenerated"] == types["MIN_TimeGenerated"] == "datetime"
            assert {types[col] for col in [*COUNT_COLUMNS, "ActiveMilliseconds"]} == {"long"}


def test_package_templates_have_no_warnings_either(rendered, checked):
    queries = [q for found in rendered.values() for q in found if q["template"]]
    noisy = [
        _describe(query, checked[query["name"]]["diagnostics"])
        for query in queries
        if checked[query["name"]]["diagnostics"]
    ]
    assert not noisy, "Kusto language service diagnostics:\n" + "\n".join(noisy)


@pytest.mark.parametrize(
    ("name", "code", "needle"),
    [
        ("broken.syntax", "KS005", "Expected: )"),
        ("broken.unknown_column", "KS142", "'ComputerName' does not refer to any known column"),
        ("broken.type_mismatch", "KS107", "A value of type datetime expected"),
    ],
)
def test_the_check_reports_broken_queries(name, code, needle, checked):
    errors = _errors(checked[name])
    assert any(e["code"] == code and needle in e["message"] for e in errors), errors


def test_schema_is_the_reference_table():
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    columns = {col["name"]: col["type"] for col in schema["columns"]}
    assert schema["table"] == "SecurityEvent" and "learn.microsoft.com" in schema["_source"]
    assert len(columns) == len(schema["columns"]) == 228
    assert set(columns.values()) <= {"string", "int", "long", "real", "datetime", "bool", "guid"}
    assert columns["TimeGenerated"] == "datetime"
    assert columns["EventID"] == columns["LogonType"] == "int"
    assert set(EVENT_COLUMNS) <= set(columns)

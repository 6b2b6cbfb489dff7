"""The notebooklet registers with msticnb and is discoverable like a built-in one."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import msticnb_iforest
from msticnb_iforest import AnomalousLogonUsers


def _run(code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.parametrize("order", ["package-first", "import-first", "init-first"])
def test_registered_before_or_after_init(order):
    steps = {
        "package-first": "import msticnb_iforest\nimport msticnb as nb\n"
        "nb.init('LocalData', namespace={})",
        "import-first": "import msticnb as nb\nimport msticnb_iforest\n"
        "nb.init('LocalData', namespace={})",
        "init-first": "import msticnb as nb\nnb.init('LocalData', namespace={})\n"
        "import msticnb_iforest",
    }[order]
    out = _run(
        f"""
{steps}
cls = nb.nblts.custom.AnomalousLogonUsers
assert nb.nb_index["nblts.custom.AnomalousLogonUsers"] is cls
names = [name for name, c in nb.nblts.iter_classes() if c is cls]
assert names == ["AnomalousLogonUsers"], names
import importlib; importlib.reload(msticnb_iforest)  # re-registration stays single
names = [name for name, c in nb.nblts.iter_classes() if c.__name__ == "AnomalousLogonUsers"]
assert len(names) == 1, names
print("OK", cls.__module__)
"""
    )
    assert "OK msticnb_iforest.frontends.anomalous_logon_users" in out


def test_import_is_light_and_names_are_public():
    out = _run(
        """
import sys
import msticnb_iforest
heavy = [m for m in ("msticnb", "msticpy", "pandas", "sklearn", "shap") if m in sys.modules]
assert not heavy, heavy
from msticnb_iforest import account_day_summary, hunt, user_day_summary
from msticnb_iforest.summarize.account_days import account_day_summary as profile
from msticnb_iforest.summarize.user_days import user_day_summary as summary
assert user_day_summary is summary and account_day_summary is profile
print("OK", sorted(set(msticnb_iforest.__all__) - set(dir(msticnb_iforest))))
"""
    )
    assert "OK []" in out


def test_queries_render_right_after_the_notebooklet_is_created(nb_local):
    from msticpy.data import QueryProvider

    provider = QueryProvider("MSSentinel")
    assert not hasattr(provider, "AnomalousLogons")
    try:
        nb_local.init(query_provider=provider, namespace={})
        AnomalousLogonUsers()
        family = provider.AnomalousLogons
        kql = family.user_day_summary("print", start="2024-03-01", end="2024-03-22")
        assert kql.lstrip().startswith("SecurityEvent") and "datetime(2024-03-01" in kql
        assert "summarize" in family.account_day_summary("print", start="2024-03-01")
        assert "4625" in family.network_logon_events("print", start="2024-03-01")
    finally:
        nb_local.init("LocalData", namespace={})
        nb_local.set_opt("silent", True)


def test_find_lists_it(nb_local):
    found = [cls for _, cls in nb_local.find("anomalous logon")]
    assert AnomalousLogonUsers in found
    assert AnomalousLogonUsers in [cls for _, cls in nb_local.find("isolation forest")]


def test_metadata_and_options():
    meta = AnomalousLogonUsers.metadata
    assert meta.name == "AnomalousLogonUsers"
    assert set(AnomalousLogonUsers.default_options()) == {
        "shap",
        "plot_outliers",
        "plot_trends",
        "plot_population",
        "account_links",
    }
    assert set(AnomalousLogonUsers.all_options()) == {
        "shap",
        "plot_outliers",
        "plot_trends",
        "plot_population",
        "account_links",
        "account_summary",
        "score_histogram",
        "self_test",
    }
    for word in ("logon", "account", "anomaly", "isolation forest", "windows"):
        assert word in meta.keywords
    assert meta.entity_types == ["account"]
    assert meta.req_providers == ["AzureSentinel|LocalData"]


def test_help_and_docs_show_options(nb_local, capsys):
    assert AnomalousLogonUsers.module_path.endswith("anomalous_logon_users.py")
    doc = AnomalousLogonUsers.get_help()
    assert "AnomalousLogonUsersResult" in doc
    for attr in ("user_days", "outliers", "shap_values", "explanations", "account_links"):
        assert attr in doc
    help(AnomalousLogonUsers)
    text = capsys.readouterr().out
    for option in ("plot_trends", "account_summary", "score_histogram"):
        assert option in text
    AnomalousLogonUsers()  # instantiating adds the option list to run()'s doc
    assert "Default Options" in AnomalousLogonUsers.run.__doc__


def test_browse_builds_widgets_and_a_working_code_sample(nb_local, demo_table):
    browser = nb_local.browse()
    browser.nb_select.value = AnomalousLogonUsers
    assert "AnomalousLogonUsers" in browser.nb_doc.value
    assert "Default Options" in browser.nb_run_doc.value or "shap" in browser.nb_run_doc.value
    code = browser._create_code_sample(AnomalousLogonUsers)
    assert "nb.nblts.custom.AnomalousLogonUsers()" in code
    # The sample runs: with data passed in (no workspace here) and the sample's value.
    namespace = {"nb": nb_local}
    sample = textwrap.dedent(code).replace(
        "timespan=timespan)", "timespan=timespan, data=demo, feature_set='seed')"
    )
    namespace["demo"] = demo_table
    exec(compile(sample, "<sample>", "exec"), namespace)
    result = [v for k, v in namespace.items() if k.endswith("_rslt")][0]
    assert result.outliers is not None and result.outliers.empty  # "my_host" is no account
    assert any("no user-days" in note for note in result.notes)


def test_register_is_idempotent():
    import msticnb as nb

    msticnb_iforest.register()
    msticnb_iforest.register()
    assert sum(1 for _, c in nb.nblts.iter_classes() if c is AnomalousLogonUsers) == 1

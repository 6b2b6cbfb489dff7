"""The hunting notebook runs under papermill, and its support functions behave."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from msticpy.common.timespan import TimeSpan

from msticnb_iforest import ParameterError
from msticnb_iforest.frontends import notebook as nbs
from msticnb_iforest.sources.demo import generate_demo
from msticnb_iforest.sources.local import LOCAL_FILE_STEMS
from msticnb_iforest.summarize.user_days import user_day_summary

from ..conftest import SHARED

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "AnomalousLogonUsers.ipynb"
DEMO_ARGS = {"demo_users": 40, "demo_days": 14, "demo_seed": 7}

# A msticpyconfig.yaml that lists one (fake) workspace, so a run never picks up
# the machine's real configuration.
MSTICPY_CONFIG = """\
AzureSentinel:
  Workspaces:
    OtherWorkspace:
      WorkspaceId: "11111111-2222-3333-4444-555555555555"
      TenantId: "66666666-7777-8888-9999-000000000000"
"""


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """
    Make papermill's "python3" kernel this interpreter, on any machine.

    A kernel spec named python3 that runs ``sys.executable -m ipykernel_launcher``
    goes into a temporary folder listed first in JUPYTER_PATH, so it wins over any
    python3 spec installed for another interpreter; MSTICPYCONFIG points at a
    config with one fake workspace.
    """
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3",
                "language": "python",
            }
        )
    )
    config = root / "msticpyconfig.yaml"
    config.write_text(MSTICPY_CONFIG)
    paths = [str(root), *filter(None, [os.environ.get("JUPYTER_PATH")])]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", os.pathsep.join(paths))
        patch.setenv("MSTICPYCONFIG", str(config))
        yield root


def _execute(tmp_path: Path, **parameters):
    import papermill

    output = tmp_path / "executed.ipynb"
    try:
        papermill.execute_notebook(
            str(NOTEBOOK),
            str(output),
            parameters=parameters,
            kernel_name="python3",
            cwd=str(tmp_path),
            progress_bar=False,
            execution_timeout=240,
        )
    finally:
        executed = nbformat.read(output, as_version=4) if output.exists() else None
    return executed


def _errors(notebook) -> list:
    return [
        out
        for cell in notebook.cells
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]


def _stdout(notebook, cell_id: str) -> str:
    cell = next(c for c in notebook.cells if c.get("id") == cell_id)
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")


def test_saved_notebook_is_clean():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    tagged = [cell for cell in code if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1
    names = ("data_source", "start", "end", "contamination", "feature_set", "output_dir")
    names += ("hunt_days", "baseline_days", "max_alerts_per_day")
    for name in names:
        assert f"\n{name} = " in f"\n{tagged[0].source}"
    run = next(cell.source for cell in code if "hunter.run(" in cell.source)
    written = next(cell.source for cell in code if "write_notebook_outputs(" in cell.source)
    for name in ("hunt_days", "baseline_days", "max_alerts_per_day"):
        assert f"{name}={name}" in run and f'"{name}": {name}' in written, name
    assert 'data_source = "demo"' in tagged[0].source


@pytest.mark.slow
def test_demo_runs_top_to_bottom_and_writes_the_cli_files(kernel_env, tmp_path):
    out = tmp_path / "out"
    executed = _execute(tmp_path, data_source="demo", output_dir=str(out), silent=True, **DEMO_ARGS)

    assert _errors(executed) == []
    assert all(c.execution_count for c in executed.cells if c.cell_type == "code")

    outliers = pd.read_csv(out / "outliers.csv")
    assert len(outliers) > 0
    assert outliers["reason"].fillna("").str.len().gt(10).all()
    assert list(outliers.columns[:5]) == ["Date", "DstDomain", "DstUser", "score", "reason"]
    assert outliers["score"].is_monotonic_decreasing
    run = json.loads((out / "run.json").read_text())
    user_days = pd.read_csv(out / "user_days.csv")
    assert run["counts"]["outliers"] == len(outliers)
    assert run["counts"]["user_days"] == len(user_days) > 300
    assert run["command"] == "notebook AnomalousLogonUsers.ipynb"
    assert run["window"]["start"].startswith("2024-03-18T00:00:00")
    assert run["data_span"] == {"start": "2024-03-18", "end": "2024-03-31"}
    labels = pd.read_csv(out / "labels.csv")
    assert run["run_info"]["demo"]["labelled_user_days"] == len(
        labels.drop_duplicates(["Date", "DstDomain", "DstUser"])
    )
    assert run["run_info"]["demo"]["users"] == DEMO_ARGS["demo_users"]
    report = (out / "report.html").read_text(encoding="utf-8")
    assert report.lstrip().lower().startswith("<!doctype html") and len(report) > 10_000

    head = f"{len(outliers):,} outlier user-day(s) among {len(user_days):,} user-days of "
    assert _stdout(executed, "run").startswith(head)
    assert _stdout(executed, "remarks").startswith(head)
    demo = run["run_info"]["demo"]
    assert (
        f"{demo['labelled_in_outliers']} of {demo['labelled_user_days']} labelled attack "
        f"account-days are among the {len(outliers)} reported outliers."
    ) in _stdout(executed, "demo-match")

    # The local pivot lists exactly the top outlier's successes and failures that day.
    top = outliers.iloc[0]
    pivot = _stdout(executed, "pivot-logons")
    assert f"Successful logons on the flagged day: {int(top['SuccessfulLogons']):,} row(s)" in pivot
    assert f"Failed logons on the flagged day: {int(top['FailedLogons']):,} row(s)" in pivot
    assert "figure(s) not drawn (silent=True)" in _stdout(executed, "trends")
    assert _stdout(executed, "pivot-summary").startswith(
        "AccountSummary needs a Microsoft Sentinel workspace, not LocalData; "
    )  # what the browser's AccountSummary button says there too
    _assert_browser_follows_the_summary(executed)

    # Same files as the command line's demo with the same company.
    from msticnb_iforest.frontends.cli import main

    cli_out = tmp_path / "cli"
    argv = ["demo", "--users", "40", "--days", "14", "--seed", "7", "--out", str(cli_out), "-q"]
    assert main(argv) == 0
    for name in ("outliers.csv", "incidents.csv", "user_days.csv", "labels.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(out / name), pd.read_csv(cli_out / name))
    cli_run = json.loads((cli_out / "run.json").read_text())
    assert cli_run["counts"] == run["counts"]
    assert cli_run["run_info"]["demo"] == run["run_info"]["demo"]


def _assert_browser_follows_the_summary(executed) -> None:
    """The first outputs are the summary, notes and incidents, then the browser widget."""
    shown = [
        (cell.get("id"), out)
        for cell in executed.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if cell.get("id") not in ("setup", None)
        and "parameters" not in cell.metadata.get("tags", [])
    ]
    ids = [cid for cid, _ in shown]
    at = next(i for i, (_, out) in enumerate(shown) if _WIDGET in out.get("data", {}))
    assert ids[at] == "browse"
    assert set(ids[:at]) <= {"run", "notes", "incidents"} and ids[0] == "run", ids[:at]
    assert not any("image/png" in out.get("data", {}) for _, out in shown[:at])
    # the static charts and tables come after it
    assert ids.index("outliers") > at and ids.index("shap-summary") > at
    state = executed.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    classes = {c for model in state.values() for c in model["state"].get("_dom_classes", [])}
    assert {"alu-browser", "alu-pick", "alu-shap", "alu-trend", "alu-summary"} <= classes


_WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.mark.slow
def test_unconfigured_workspace_stops_at_setup_with_one_message(kernel_env, tmp_path):
    import papermill

    out = tmp_path / "out"
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        _execute(tmp_path, data_source="NoSuchWorkspace", output_dir=str(out), silent=True)
    err = caught.value
    assert err.ename == "DataSourceError"
    assert "'NoSuchWorkspace' is not configured" in err.evalue
    assert "lists these workspaces: OtherWorkspace." in err.evalue and "'demo'" in err.evalue
    assert str(kernel_env / "msticpyconfig.yaml") in err.evalue
    frames = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(err.traceback))
    assert frames.count("\nFile ") == 1 and ", in open_data_source(" in frames  # short traceback

    executed = nbformat.read(tmp_path / "executed.ipynb", as_version=4)
    assert len(_errors(executed)) == 1
    code = [c for c in executed.cells if c.cell_type == "code"]
    at = next(i for i, c in enumerate(code) if c.execution_count == err.exec_count)
    failed, later = code[at], code[at + 1 :]
    assert failed.get("id") == "setup" and "open_data_source(" in failed.source
    assert _errors(executed)[0] in failed.outputs
    assert later and all(c.execution_count is None and not c.outputs for c in later)
    assert not out.exists()


# Support functions, in process.


def test_hunt_window_defaults_and_bounds():
    demo = generate_demo(8, 5, seed=1)
    span = nbs.hunt_window(demo=demo)
    assert pd.Timestamp(span.start) == demo.start
    assert pd.Timestamp(span.end) == demo.end - pd.Timedelta(1, "us")
    span = nbs.hunt_window("2024-03-01", "2024-03-10")
    assert pd.Timestamp(span.start) == pd.Timestamp("2024-03-01", tz="UTC")
    assert pd.Timestamp(span.end) == pd.Timestamp("2024-03-10 23:59:59.999999", tz="UTC")
    span = nbs.hunt_window(end="2024-03-10T12:00:00+01:00")
    assert pd.Timestamp(span.end) == pd.Timestamp("2024-03-10 11:00", tz="UTC")
    assert pd.Timestamp(span.end) - pd.Timestamp(span.start) == pd.Timedelta(days=21)
    with pytest.raises(ParameterError, match="before end"):
        nbs.hunt_window("2024-03-10", "2024-03-01")
    with pytest.raises(ParameterError, match="start must be a date"):
        nbs.hunt_window("last tuesday")


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda tmp: tmp / "missing", "does not exist"),
        (lambda tmp: tmp, "holds no AnomalousLogons data: expected .*anomalous_logons_events.csv"),
        (lambda tmp: (tmp / "a.csv").write_text("x\n") and tmp / "a.csv", "is a file"),
    ],
)
def test_unusable_folder_is_one_clear_error(tmp_path, make, needle):
    with pytest.raises(nbs.DataSourceError, match=needle):
        nbs.open_data_source(str(make(tmp_path)))


def test_unconfigured_and_unreachable_workspace(monkeypatch):
    import msticpy.common.pkg_config

    monkeypatch.setattr(nbs, "configured_workspaces", lambda: {"SecOps": {}})
    monkeypatch.setattr(msticpy.common.pkg_config, "current_config_path", lambda: "/c/mp.yaml")
    with pytest.raises(nbs.DataSourceError) as caught:
        nbs.open_data_source("Other")
    assert str(caught.value).startswith(
        "Sentinel workspace 'Other' is not configured: /c/mp.yaml lists these workspaces: "
        "SecOps. Set data_source to "
    )

    import msticpy.data

    class Unreachable:
        connected = False

        def __init__(self, environment):
            assert environment == "MSSentinel"

        def connect(self, workspace):
            assert workspace == "SecOps"  # matched case-insensitively
            raise ConnectionError("tenant not found", "more detail")

    monkeypatch.setattr(msticpy.data, "QueryProvider", Unreachable)
    with pytest.raises(nbs.DataSourceError) as caught:
        nbs.open_data_source("secops")
    assert str(caught.value) == (
        "Could not connect to Sentinel workspace 'SecOps': ConnectionError: "
        "tenant not found more detail"
    )
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_show_figures_draws_png_or_says_why_not(capsys):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1))
    fig.add_subplot().plot([0, 1])
    nbs.show_figures([("label", fig), fig])
    assert capsys.readouterr().out.count("IPython.core.display.Image object") == 2
    nbs.show_figures(fig, hide=True)
    assert capsys.readouterr().out == "1 figure(s) not drawn (silent=True); report.html has them.\n"
    nbs.show_figures([])
    assert "No figure" in capsys.readouterr().out
    assert nbs._png(fig).startswith(b"\x89PNG")


def test_account_events_match_the_day_summary(tmp_path):
    demo = generate_demo(30, 7, seed=5)
    table = user_day_summary(demo.events)
    row = table.sort_values(["FailedLogons", "SuccessfulLogons"], ascending=False).iloc[0]
    assert row["FailedLogons"] > 0
    span = TimeSpan(start=demo.start.to_pydatetime(), end=demo.end.to_pydatetime())
    source = nbs.DataSource(kind="demo", label="demo", timespan=span, demo=demo)
    logons, failed = nbs.account_events(source, row)
    assert (len(logons), len(failed)) == (row["SuccessfulLogons"], row["FailedLogons"])
    assert set(logons["EventID"]) == {4624} and set(failed["EventID"]) == {4625}
    assert logons["TimeGenerated"].is_monotonic_increasing
    assert (logons["TargetUserName"] == row["DstUser"]).all()
    assert (logons["TimeGenerated"].dt.strftime("%Y-%m-%d") == row["Date"]).all()

    # The same from a LocalData folder with the events split over two files.
    stem = LOCAL_FILE_STEMS["network_logon_events"]
    half = len(demo.events) // 2
    demo.events.iloc[:half].to_csv(tmp_path / f"{stem}.csv", index=False)
    demo.events.iloc[half:].to_parquet(tmp_path / f"{stem}_2.parquet")
    local = nbs.DataSource(kind="local", label="folder", timespan=span, folder=tmp_path)
    logons2, failed2 = nbs.account_events(local, row)
    assert (len(logons2), len(failed2)) == (len(logons), len(failed))
    only_table = nbs.DataSource(kind="local", label="t", timespan=span, folder=tmp_path / "x")
    assert nbs.account_events(only_table, row) is None


def test_local_folder_opens_msticnb(tmp_path, nb_local):
    demo = generate_demo(8, 5, seed=2)
    demo.events.to_parquet(tmp_path / f"{LOCAL_FILE_STEMS['network_logon_events']}.parquet")
    try:
        source = nbs.open_data_source(str(tmp_path), start="2024-03-27", end="2024-03-31")
        assert source.kind == "local" and not source.is_sentinel
        assert source.query_provider.environment == "LocalData"
        assert nb_local.DataProviders.current().query_provider is source.query_provider
        assert pd.Timestamp(source.timespan.start) == pd.Timestamp("2024-03-27", tz="UTC")
        assert "2024-03-31 23:59:59" in source.describe()
    finally:
        nb_local.init("LocalData", namespace={})
        nb_local.set_opt("silent", True)


def test_setup_keeps_msticnb_providers_and_pivots(nb_local):
    """Our setup leaves msticnb whole: default providers loaded, every pivot registered."""
    from msticpy.datamodel.entities import Account, IpAddress

    try:
        source = nbs.open_data_source("demo", **DEMO_ARGS)
        providers = set(map(str, nb_local.DataProviders.current().providers))
        assert {"LocalData", "geolitelookup", "tilookup"} <= providers
        assert source.query_provider is nb_local.DataProviders.current().query_provider
        # nb.init created every notebooklet, IpAddressSummary (needs geo-IP) included
        assert callable(IpAddress.nblt.ip_address_summary)
        assert callable(Account.nblt.account_summary)
        assert callable(Account.nblt.anomalous_logon_users)
    finally:
        nb_local.init("LocalData", namespace={})
        nb_local.set_opt("silent", True)


def test_msticnb_init_failure_is_one_data_source_error(tmp_path, nb_local, monkeypatch):
    from msticnb.common import MsticnbDataProviderError

    def _refuse(*args, **kwargs):
        raise MsticnbDataProviderError("Required data provider(s) x not loaded.", "Class Y")

    demo = generate_demo(8, 5, seed=2)
    demo.events.to_parquet(tmp_path / f"{LOCAL_FILE_STEMS['network_logon_events']}.parquet")
    monkeypatch.setattr(nb_local, "init", _refuse)
    with pytest.raises(nbs.DataSourceError) as caught:
        nbs.open_data_source(str(tmp_path))
    text = str(caught.value)
    assert "msticnb could not be initialised" in text and "x not loaded" in text
    # one short traceback: this test, then open_data_source re-raising
    frames = [entry.name for entry in caught.traceback]
    assert frames[1:] == ["open_data_source"], frames


@pytest.mark.slow
def test_failing_query_stops_at_the_run_cell_with_one_message(kernel_env, tmp_path):
    """A query that fails after setup (here: a saved table without dates) stops the run there."""
    import papermill

    folder = tmp_path / "exports"
    folder.mkdir()
    table = pd.read_csv(SHARED / "iforest-demo-data.csv")
    stem = LOCAL_FILE_STEMS["account_day_summary"]
    table.drop(columns=["Date"]).to_csv(folder / f"{stem}.csv", index=False)
    out = tmp_path / "out"
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        _execute(
            tmp_path,
            data_source=str(folder),
            start="2022-09-06",
            end="2022-09-27",
            output_dir=str(out),
            silent=True,
        )
    err = caught.value
    assert err.ename == "QueryError"
    assert f"{stem}.csv has no Date column" in err.evalue
    frames = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(err.traceback))
    assert "in AnomalousLogonUsers.run(" in frames
    assert "query.py" not in frames and "_get_user_days" not in frames  # short traceback
    executed = nbformat.read(tmp_path / "executed.ipynb", as_version=4)
    assert len(_errors(executed)) == 1
    code = [c for c in executed.cells if c.cell_type == "code"]
    at = next(i for i, c in enumerate(code) if c.execution_count == err.exec_count)
    assert "hunter.run(" in code[at].source
    assert all(c.execution_count is None and not c.outputs for c in code[at + 1 :])
    assert not out.exists()


def test_tables_are_readable_no_index_no_list_reprs_whole_reasons():
    reason = "201 failed logons against 57 accounts from 203.0.113.9; " * 8
    frame = pd.DataFrame(
        {"DstUser": ["bob", "eve"], "top_features": [["failed_logons", "spray"], ["new_ips"]]},
        index=[4711, 42],
    ).assign(reason=[reason, "x"])
    html = nbs.readable_table(frame).to_html()
    assert "failed_logons; spray" in html and "['failed_logons'" not in html
    assert reason.strip() in html  # not cut at pandas' 50 characters
    assert ">4711<" not in html and ">42<" not in html  # no row index
    assert frame["top_features"].iloc[0] == ["failed_logons", "spray"]  # not modified
    assert len(nbs.readable_table(frame, limit=1).data) == 1


def test_saved_notebook_leads_with_summary_incidents_and_the_browser():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    ids = [cell.get("id") for cell in notebook.cells]
    order = ["run", "notes", "incidents", "browse", "details-md", "outliers", "shap-outliers"]
    assert [ids.index(name) for name in order] == sorted(ids.index(name) for name in order)
    assert ids.index("browse") == ids.index("incidents") + 2  # only its heading between
    cells = {cell.get("id"): cell.source for cell in notebook.cells}
    assert "nbs.show_notes(result)" in cells["notes"]
    assert "nbs.show_incidents(result)" in cells["incidents"]
    assert "limit=3" in cells["shap-outliers"] and "limit=3" in cells["trends"]
    assert "population_plot" in cells["population"]
    # the pivot cell asks the notebooklet, which says why off Sentinel (as the browser does)
    assert "hunter.account_summary()" in cells["pivot-summary"]
    assert "is_sentinel" not in cells["pivot-summary"]


def test_introduction_describes_the_default_feature_set():
    intro = nbformat.read(NOTEBOOK, as_version=4).cells[0].source
    assert "`habits`" in intro and "same account's other days" in intro
    assert "NTLM where it uses Kerberos" in intro and "quiet spell" in intro
    assert "Baseline: 16 days" in intro  # the example reason is a baseline one
    # claims only true of the seed feature set are gone, seed is named as the original
    default = intro[: intro.index('feature_set="seed"')]
    assert "window mean" not in default and "sd 1.1" not in default
    assert "not reported" not in default
    assert "Days without a successful logon are reported like any other" in intro
    seed = intro[intro.index('feature_set="seed"') :]
    assert "original hunting notebook's exact algorithm" in seed


def _incident_result(rows: int = 2):
    from types import SimpleNamespace

    incidents = pd.DataFrame(
        {
            "incident": [1, 2],
            "kind": ["password spray", "single"],
            "lead": [
                "Password spray from 10.99.60.209 on 2024-03-21: failed against 57 accounts "
                "(usually 0-1 a day), 20 flagged",
                "CONTOSO\\<b>eve</b> logged on to 23 new computers",
            ],
            "n_accounts": [20, 1],
            "accounts": ["CONTOSO\\a, CONTOSO\\b", "CONTOSO\\<b>eve</b>"],
            "first_day": pd.to_datetime(["2024-03-21", "2024-03-22"]),
            "last_day": pd.to_datetime(["2024-03-21", "2024-03-24"]),
            "sources": ["10.99.60.209", ""],
            "score": [0.31234, 0.2],
            "n_outliers": [20, 1],
            "members": ["5, 6", "7"],
        }
    ).head(rows)
    outliers = pd.DataFrame({"score": [0.3] * 3}, index=[5, 6, 7]).head(rows and 3)
    return SimpleNamespace(incidents=incidents, outliers=outliers, notes=[])


def test_incidents_are_shown_as_a_readable_table(capsys, monkeypatch):
    table = nbs.incident_table(_incident_result())
    assert list(table.columns) == [
        "Incident",
        "Kind",
        "What happened",
        "Accounts",
        "Account names",
        "Days",
        "Sources",
        "Outliers",
        "Top score",
    ]
    html = nbs.readable_table(table).to_html()
    assert "20 flagged" in html and ">2024-03-21<" in html and "00:00:00" not in html
    assert ">2024-03-22 to 2024-03-24<" in html and "white-space: nowrap" in html
    assert "&lt;b&gt;eve&lt;/b&gt;" in html and "<b>eve" not in html  # escaped
    assert ">0.312<" in html and "5, 6" not in html  # members are for programs
    assert nbs.incident_table(type("R", (), {})()) is None
    assert "text-align: left" in html and "min-width: 14em" in html  # long text readable
    days = pd.DataFrame({"Date": pd.to_datetime(["2024-03-21"]), "user": ["bob"]})
    dated = nbs.readable_table(days).to_html()
    assert ">2024-03-21<" in dated and "white-space: nowrap" in dated  # not broken at hyphens
    many = _incident_result()
    many.incidents.loc[0, "accounts"] = ", ".join(f"C\\u{i}" for i in range(20))
    names = nbs.incident_table(many)["Account names"]
    assert names[0] == "C\\u0, C\\u1, C\\u2, C\\u3, C\\u4, C\\u5 and 14 more"
    assert names[1] == "CONTOSO\\<b>eve</b>"

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append(obj))
    nbs.show_incidents(_incident_result())
    assert capsys.readouterr().out.startswith(
        "2 incident(s) from 3 outlier account-day(s); the first is the one to look at first."
    )
    assert "Password spray from 10.99.60.209" in shown[0].to_html()
    nbs.show_incidents(_incident_result(), limit=1)
    assert capsys.readouterr().out.rstrip().endswith("look at first. The first 1 are listed.")
    assert len(shown) == 2 and len(shown[1].data) == 1
    nbs.show_incidents(_incident_result(rows=0))
    assert capsys.readouterr().out == "No incidents: no account-day was flagged.\n"


def test_notes_are_shown_in_a_box_including_too_little_data(capsys, monkeypatch):
    result = _incident_result()
    nbs.show_notes(result)
    assert capsys.readouterr().out == "No notes: nothing limited what this run could judge.\n"
    result.notes = [
        "Too little data to judge: 7 account-days of 3 accounts over 2.5 years.",
        "new_source_ips could not be computed: <no SrcIps column>",
    ]
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append(obj))
    nbs.show_notes(result)
    html, text = shown[0]["text/html"], shown[0]["text/plain"]
    assert "2 note(s) on this run: read them before the results." in html
    assert "<li>Too little data to judge: 7 account-days" in html
    assert "&lt;no SrcIps column&gt;" in html and "<no SrcIps" not in html
    assert text.splitlines()[1] == (
        "- Too little data to judge: 7 account-days of 3 accounts over 2.5 years."
    )


def test_tables_show_structured_clauses_by_their_text():
    frame = pd.DataFrame(
        {
            "clauses": [[{"feature": "failed_logons", "text": "201 failed logons"}, {"text": "x"}]],
            "user": ["bad\x1bname"],
        }
    )
    html = nbs.readable_table(frame).to_html()
    assert "201 failed logons; x" in html and "feature" not in html
    assert "bad\\x1bname" in html and "\x1b" not in html


def test_show_figures_limits_the_static_charts(capsys):
    from matplotlib.figure import Figure

    figures = [(f"f{i}", Figure(figsize=(1, 1))) for i in range(5)]
    nbs.show_figures(figures, limit=2)
    said = capsys.readouterr().out
    assert said.count("IPython.core.display.Image object") == 2
    assert "The first 2 of 5 figures are shown; the browser above draws any outlier's" in said

"""The notebook's state_path and only_new parameters reach the run and the output writer."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pandas as pd
import pytest

from msticnb_iforest.frontends import notebook as nbs
from msticnb_iforest.pipeline import hunt
from msticnb_iforest.sources.demo import generate_demo

from . import test_notebook
from .test_notebook import DEMO_ARGS, _errors, _execute

kernel_env = test_notebook.kernel_env  # the fixture that runs the notebook on this interpreter

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "AnomalousLogonUsers.ipynb"


def _code(notebook) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def test_parameters_sit_next_to_the_window_and_reach_run_and_writer():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = _code(notebook)
    tagged = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    lines = tagged.source.splitlines()
    at = lines.index("baseline_days = 30")
    assert lines[at - 1] == "hunt_days = None"
    assert lines[at + 1 : at + 3] == ["state_path = None", "only_new = False"]
    run = next(cell for cell in code if "hunter.run(" in cell)
    assert "state=state_path," in run
    written = next(cell for cell in code if "write_notebook_outputs(" in cell)
    assert "only_new=only_new," in written
    assert '"state_path": state_path' in written and '"only_new": only_new' in written
    described = notebook.cells[1].source  # the parameters' explanation
    assert "* `state_path`:" in described and "* `only_new`:" in described


@pytest.fixture(scope="module")
def demo_run():
    demo = generate_demo(n_users=40, n_days=14, seed=3)
    found = hunt(demo.events, shap=False, n_jobs=1)
    by_score = ["seen", "new", "recurring"]
    outliers = found.outliers.assign(status=by_score[: len(found.outliers)])
    statuses = dict(zip(outliers.index.map(str), outliers["status"], strict=True))
    incidents = found.incidents.assign(status=found.incidents["members"].map(statuses))
    result = SimpleNamespace(**vars(found))
    result.outliers, result.incidents = outliers, incidents
    result.status_counts = {"new": 1, "recurring": 1, "seen": 1}
    for name in ("score_histogram", "shap_summary_plot", "population_plot"):
        setattr(result, name, None)
    result.outlier_plots, result.trend_plots = [], []
    result.plot_cap, result.plot_note = 0, ""  # a notebooklet result's figures: none drawn
    source = SimpleNamespace(
        timespan=SimpleNamespace(start=demo.start, end=demo.end),
        workspace=None,
        demo=demo,
        settings={"users": 40, "days": 14, "seed": 3},
        kind="demo",
    )
    return result, source


def test_only_new_reaches_the_files_and_the_counts_stay_whole(demo_run, tmp_path):
    result, source = demo_run
    paths = nbs.write_notebook_outputs(
        result, source, tmp_path, parameters={"only_new": True}, only_new=True
    )
    outliers = pd.read_csv(paths["outliers"])
    assert outliers["status"].tolist() == ["new"]
    run = json.loads(paths["run"].read_text())
    assert run["only_new"] is True and run["run_info"]["notebook"]["only_new"] is True
    assert run["status_counts"] == {"new": 1, "recurring": 1, "seen": 1}
    assert run["counts"]["outliers"] == 3


@pytest.mark.slow
def test_the_daily_papermill_run_remembers_the_morning_before(kernel_env, tmp_path):
    """The README's daily run, twice: the second run has seen everything, and lists only new."""
    store = tmp_path / "state.sqlite"
    daily = {"hunt_days": 2, "baseline_days": 10, "state_path": str(store), "silent": True}
    daily["contamination"] = 0.05  # a small demo: enough reported days to remember
    runs = []
    for morning, only_new in (("first", False), ("second", True)):
        out = tmp_path / morning
        executed = _execute(
            tmp_path,
            data_source="demo",
            output_dir=str(out),
            only_new=only_new,
            **daily,
            **DEMO_ARGS,
        )
        assert _errors(executed) == []
        runs.append((json.loads((out / "run.json").read_text()), pd.read_csv(out / "outliers.csv")))
    (first, first_rows), (second, second_rows) = runs
    reported = first["status_counts"]["new"]
    assert reported > 0 and first["status_counts"] == {"new": reported, "recurring": 0, "seen": 0}
    assert set(first_rows["status"]) == {"new"}
    assert (first["state_run_id"], second["state_run_id"]) == (1, 2)
    assert second["status_counts"] == {"new": 0, "recurring": 0, "seen": reported}
    assert second["only_new"] is True and second_rows.empty  # nothing new to list
    assert first["parameters"]["hunt_days"] == 2 == second["parameters"]["hunt_days"]

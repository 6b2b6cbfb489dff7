"""The output files: self-contained, escaped HTML report; run.json; CSV tables."""

from __future__ import annotations

import base64
import io
import json
import re
from types import SimpleNamespace

import matplotlib.image as mpimg
import pandas as pd
import pytest

from msticnb_iforest.pipeline import hunt
from msticnb_iforest.present.figures import Figures
from msticnb_iforest.present.outputs import jsonable, outlier_table, write_outputs

SCRIPT_USER = "<script>alert(1)</script>"
QUOTED_DOMAIN = "CON\"TO'SO&<b>"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
QUERY = 'SecurityEvent | where TargetUserName == "</pre><script>x()</script>"'


@pytest.fixture(scope="module")
def hostile_table(demo_table) -> pd.DataFrame:
    """The shared demo table with the two outlier accounts renamed to hostile text."""
    table = demo_table.copy()
    table.loc[table["DstUser"] == "SVC-ACC-02", "DstUser"] = SCRIPT_USER
    table.loc[table["DstUser"] == "SRVACC-04", "DstDomain"] = QUOTED_DOMAIN
    return table


@pytest.fixture(scope="module")
def written(hostile_table, tmp_path_factory):
    result = hunt(hostile_table, feature_set="seed")
    out = tmp_path_factory.mktemp("report")
    info = {
        "inputs": [{"path": "in<put>.csv", "rows": len(hostile_table), "format": "csv"}],
        "query": QUERY,
        "title": "Hunt <i>report</i>",
        "plot_cap": 1,
    }
    paths = write_outputs(result, out, run_info=info)
    return result, paths, paths["report"].read_text(encoding="utf-8")


def test_files_written(written):
    _, paths, _ = written
    assert sorted(paths) == ["incidents", "outliers", "report", "run", "user_days"]
    for path in paths.values():
        assert path.is_file() and path.stat().st_size > 100


def test_outliers_csv(written, hostile_table):
    result, paths, _ = written
    table = pd.read_csv(paths["outliers"])
    assert list(table.columns[:5]) == ["Date", "DstDomain", "DstUser", "score", "reason"]
    assert list(table["DstUser"]) == [SCRIPT_USER, "SRVACC-04"]
    assert list(table["Date"]) == ["2022-09-25", "2022-09-16"]
    assert table.loc[1, "DstDomain"] == QUOTED_DOMAIN
    assert table["reason"].str.contains("failed logons").all()
    for col in [*result.features, "FailedLogons", "SuccessfulLogons"]:
        assert col in table.columns
    days = pd.read_csv(paths["user_days"])
    assert len(days) == len(hostile_table)
    assert int(days["is_outlier"].sum()) == 2


def test_report_has_no_external_references(written):
    _, _, html = written
    for bad in ("http://", "https://", "//cdn", 'src="http', "@import url(", "<link", "url("):
        assert bad not in html, bad
    # The page's one inline script (sorting, filtering, copy buttons) is its only script.
    from msticnb_iforest.present.report_page import SCRIPT

    assert html.lower().count("<script") == 1
    assert f"<script>{SCRIPT}</script>" in html
    assert html.startswith("<!DOCTYPE html>")
    assert "Content-Security-Policy" in html


def test_report_images_are_valid_pngs(written):
    _, _, html = written
    tags = re.findall(r"<img [^>]*>", html)
    uris = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    # Population picture + feature correlations + SHAP summary + 1 per-outlier + 1 trend
    # (plot cap 1) + score histogram
    assert len(tags) == len(uris) == 6
    for uri in uris:
        data = base64.b64decode(uri, validate=True)
        assert data.startswith(PNG_SIGNATURE)
        pixels = mpimg.imread(io.BytesIO(data), format="png")
        assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 300


def test_report_escapes_data(written):
    _, _, html = written
    assert SCRIPT_USER not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert QUOTED_DOMAIN not in html
    assert "CON&quot;TO&#x27;SO&amp;&lt;b&gt;" in html
    assert "in&lt;put&gt;.csv" in html
    assert "Hunt &lt;i&gt;report&lt;/i&gt;" in html
    assert "&lt;/pre&gt;&lt;script&gt;x()" in html


def test_report_content(written):
    _, _, html = written
    for text in (
        "Run summary",
        "Outliers (2)",
        "2022-09-06 → 2022-09-26",
        "2022-09-25",
        "What drove the outliers (SHAP)",
        "Account trends",
        "Score distribution",
        "Parameters and versions",
        "scikit-learn",
        "Plots are drawn for the top 1 of 2 outliers",
    ):
        assert text in html, text
    # the higher-scoring outlier comes first in the table
    assert html.index("&lt;script&gt;alert(1)") < html.index("SRVACC-04")


def test_run_json(written):
    result, paths, _ = written
    record = json.loads(paths["run"].read_text(encoding="utf-8"))
    for key in (
        "parameters",
        "versions",
        "inputs",
        "data_span",
        "query",
        "dropped",
        "suppressed",
        "notes",
        "timings",
        "counts",
    ):
        assert key in record, key
    assert record["parameters"]["feature_set"] == "seed"
    assert record["parameters"]["n_estimators"] == 294
    assert record["parameters"]["contamination"] == 0.01
    for name in ("msticnb-iforest", "msticpy", "msticnb", "pandas", "numpy", "scikit-learn"):
        assert re.match(r"^\d+\.\d+", record["versions"][name]), name
    assert {"shap", "python"} <= set(record["versions"])
    assert record["inputs"] == [{"path": "in<put>.csv", "rows": 135, "format": "csv"}]
    assert record["data_span"] == {"start": "2022-09-06", "end": "2022-09-26"}
    assert record["query"] == QUERY
    assert record["counts"] == {
        "user_days": 135,
        "accounts": 5,
        "outliers": 2,
        "flagged_by_model": 2,
        "suppressed": 0,
    }
    assert record["dropped"] == {} and record["suppressed"] == {}
    assert set(result.timings) <= set(record["timings"])
    assert record["plot_cap"] == 1
    assert record["plot_note"].startswith("Plots are drawn for the top 1 of 2")


def test_no_outliers_report(demo_table, tmp_path):
    result = hunt(demo_table, feature_set="seed", account="nobody", shap=False)
    paths = write_outputs(result, tmp_path / "out", figures=Figures(), run_info={})
    html = paths["report"].read_text(encoding="utf-8")
    assert "No user-day was reported as an outlier." in html
    assert "<img" not in html
    assert "Account &#x27;nobody&#x27; has no user-days in the data." in html
    assert len(pd.read_csv(paths["outliers"])) == 0
    record = json.loads(paths["run"].read_text())
    assert record["counts"]["outliers"] == 0 and record["counts"]["flagged_by_model"] == 2
    assert record["parameters"]["shap"] is False


def test_notebooklet_style_result(demo_table, tmp_path):
    """A result with the notebooklet's attribute names is written the same way."""
    hunted = hunt(demo_table, feature_set="seed", shap=False)
    nb_result = SimpleNamespace(
        user_days=hunted.user_days,
        outliers=hunted.outliers,
        explanations=hunted.explanations,
        features=hunted.features,
        feature_set="seed",
        shap_values=None,
        parameters={"contamination": 0.01, "random_state": 42},
        dropped_rows={"machine account": 3},
        suppressed_outliers={"no successful logon": 1},
        notes=["a note"],
        timings={"model": 0.5},
        query="SecurityEvent | take 10",
        shap_summary_plot=None,
        outlier_plots=[],
        trend_plots=[],
        score_histogram=None,
        plot_cap=4,
        plot_note="",
    )
    paths = write_outputs(nb_result, tmp_path, run_info={})
    record = json.loads(paths["run"].read_text())
    assert record["query"] == "SecurityEvent | take 10"
    assert record["dropped"] == {"machine account": 3}
    assert record["suppressed"] == {"no successful logon": 1}
    assert record["plot_cap"] == 4
    assert record["notes"] == ["a note"]
    assert list(outlier_table(nb_result)["DstUser"]) == ["SVC-ACC-02", "SRVACC-04"]
    html = paths["report"].read_text()
    assert "machine account" in html and "no successful logon" in html


def test_jsonable_converts_numpy_and_pandas():
    import numpy as np

    value = {
        "a": np.int64(3),
        "b": np.float32(0.5),
        "c": float("nan"),
        "d": pd.Timestamp("2024-01-02"),
        "e": [np.bool_(True), pd.NaT],
        1: np.array([1, 2]),
    }
    assert jsonable(value) == {
        "a": 3,
        "b": 0.5,
        "c": None,
        "d": "2024-01-02T00:00:00",
        "e": [True, None],
        "1": [1, 2],
    }
    json.dumps(jsonable(value), allow_nan=False)


def test_report_table_shows_exactly_the_explained_outliers_by_default():
    from msticnb_iforest.pipeline import DEFAULT_MAX_EXPLAINED
    from msticnb_iforest.present.report import MAX_TABLE_ROWS

    assert MAX_TABLE_ROWS == DEFAULT_MAX_EXPLAINED


def test_outliers_csv_names_the_new_sources(tmp_path):
    from msticnb_iforest.sources.demo import generate_demo
    from msticnb_iforest.summarize.account_days import NAME_COLUMNS

    events = generate_demo(n_users=20, n_days=6, seed=2).events
    result = hunt(events, feature_set="baseline", shap=False)
    assert set(NAME_COLUMNS) <= set(result.outliers.columns)
    paths = write_outputs(result, tmp_path, figures=Figures())
    expected = outlier_table(result)
    table = pd.read_csv(paths["outliers"], keep_default_na=False, dtype=str)
    for col in NAME_COLUMNS:
        assert table[col].tolist() == expected[col].tolist(), col
    novel = expected[["NovelSrcIp", "NovelSrcHost", "NovelComputer"]].to_numpy()
    named = (expected[NAME_COLUMNS] != "").to_numpy()
    assert len(expected) > 0 and named.any()
    assert (named == (novel > 0)).all()

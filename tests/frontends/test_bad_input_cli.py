"""
Bad input through the command line: unreadable files, mixed folders, bad tables.

User errors end with exit status 2 and one printable line naming the file,
column or problem, never a traceback; dropped rows are counted in run.json.
CSV outputs neutralize cells a spreadsheet would run as formulas.
"""

import gzip
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from msticnb_iforest.errors import InputDataError
from msticnb_iforest.frontends.cli import main
from msticnb_iforest.pipeline import hunt
from msticnb_iforest.present.figures import Figures, make_plots
from msticnb_iforest.present.outputs import FORMULA_STARTS, write_outputs
from msticnb_iforest.sources.readers import read_tables

from ..bad_input_cases import (
    FEATURE_SET_NAMES,
    HOSTILE,
    SUMMARY_CASES,
    TREES,
    Err,
    counted_rows,
    hostile_names,
    set_cells,
)


# --------------------------------------------------------------------------
# Command line: files written to tmp_path
# --------------------------------------------------------------------------
def _cli(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _cli_run(paths, out: Path, fset: str, capsys, *extra, quiet=True) -> tuple[int, str, str]:
    argv = ["run", *paths, "--out", out, "--no-shap", "--n-estimators", TREES]
    return _cli([*argv, "--feature-set", fset, *extra, *(["-q"] if quiet else [])], capsys)


def _assert_one_line_error(code: int, out: str, err: str, *needles: str) -> None:
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("msticnb-iforest: error: ")
    assert "Traceback" not in err
    assert all(ch.isprintable() for ch in lines[0]), lines[0]
    for needle in needles:
        assert re.search(needle, lines[0]), lines[0]


# Cases whose meaning survives a CSV round trip (all the errors, a few results:
# the others are covered through hunt and the notebooklet).
CLI_CASES = [
    "original_duplicate_keys",
    "dates_several_formats",
    "empty_with_columns",
    "hostile_names",
    "nan_row",
    "none_in_DstUser",
    "missing_column_Date",
    "missing_column_FailedLogons",
    "all_dates_empty",
    "negative_count",
    "fractional_count",
    "count_too_large",
    "text_count",
    "date_year_2999",
    "unreadable_date",
]


@pytest.mark.parametrize(
    ("make", "expect"), [case for case in SUMMARY_CASES if case.id in CLI_CASES]
)
def test_cli_summary_matrix(make, expect, fset, table, tmp_path, capsys, no_plots):
    path = tmp_path / "table.csv"
    make(table).to_csv(path, index=False)
    out = tmp_path / "out"
    code, stdout, stderr = _cli_run([path], out, fset, capsys)
    if isinstance(expect, Err):
        _assert_one_line_error(code, stdout, stderr, expect.match)
        assert not (out / "run.json").exists()
        return
    assert code == 0, stderr
    run = json.loads((out / "run.json").read_text())
    if expect.rows is not None:
        assert run["counts"]["user_days"] == expect.rows
    for reason, count in expect.dropped.items():
        assert run["dropped"][reason] == count
    outliers = pd.read_csv(out / "outliers.csv", keep_default_na=False)
    assert len(outliers) == run["counts"]["outliers"]
    if run["counts"]["outliers"] == 0:
        assert any("No user-day" in note for note in run["notes"])


def test_cli_raw_events_drops_are_counted_in_run_json(events, fset, tmp_path, capsys, no_plots):
    data = events.astype({"TimeGenerated": str})
    data = set_cells(data, "TimeGenerated", counted_rows(events, 3), "not a time")
    path = tmp_path / "events.csv"
    data.to_csv(path, index=False)
    code, _, stderr = _cli_run([path], tmp_path / "out", fset, capsys)
    assert code == 0, stderr
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["dropped"]["no_time"] == 3
    assert run["inputs"][0]["rows"] == len(events)
    if "AttemptedLogons" in pd.read_csv(tmp_path / "out" / "user_days.csv", nrows=1).columns:
        days = pd.read_csv(tmp_path / "out" / "user_days.csv")
        assert days["AttemptedLogons"].sum() + sum(run["dropped"].values()) == len(events)


def _bad_files(folder: Path, table: pd.DataFrame) -> dict[str, tuple[Path, str]]:
    """Files that are truncated or not what their extension says: path, message needle."""
    text = table.to_csv(index=False)
    table.to_parquet(folder / "good.parquet")
    parquet = (folder / "good.parquet").read_bytes()
    files = {
        "truncated.csv": text[: len(text) // 3],
        "truncated.json": table.to_json(orient="records")[:2000],
        "truncated.jsonl": table.to_json(orient="records", lines=True)[:2000],
        "truncated.parquet": parquet[: len(parquet) // 2],
        "truncated.csv.gz": gzip.compress(text.encode())[:400],
        "parquet_named.csv": parquet,
        "csv_named.json": text,
        "csv_named.parquet": text,
        "plain_named.csv.gz": text,
        "binary.csv": bytes(range(256)) * 8,
        "latin1.csv": text.replace("ACC-01", "Müller").encode("latin-1"),
        "utf16.csv": text.encode("utf-16"),
        "empty.csv": "",
        "json_array_of_numbers.json": "[1, 2, 3]",
    }
    out = {}
    for name, content in files.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        out[name] = (path, re.escape(name))
    (folder / "good.parquet").unlink()
    return out


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory, table):
    return _bad_files(tmp_path_factory.mktemp("bad_files"), table)


BAD_FILE_NAMES = [
    "truncated.csv",
    "truncated.json",
    "truncated.jsonl",
    "truncated.parquet",
    "truncated.csv.gz",
    "parquet_named.csv",
    "csv_named.json",
    "csv_named.parquet",
    "plain_named.csv.gz",
    "binary.csv",
    "latin1.csv",
    "utf16.csv",
    "empty.csv",
    "json_array_of_numbers.json",
]


@pytest.mark.parametrize("name", BAD_FILE_NAMES)
def test_unreadable_files(name, bad_files, tmp_path, capsys):
    path, needle = bad_files[name]
    with pytest.raises(InputDataError, match=needle):
        read_tables([path])
    code, out, err = _cli_run([path], tmp_path / "out", FEATURE_SET_NAMES[0], capsys)
    _assert_one_line_error(code, out, err, needle)
    assert not (tmp_path / "out").exists()


def test_folder_of_mixed_shapes_names_the_odd_file(table, events, tmp_path, capsys):
    folder = tmp_path / "data"
    folder.mkdir()
    table.to_csv(folder / "a_summary.csv", index=False)
    (folder / "b_settings.json").write_text(json.dumps({"settings": {"n": 1}, "rows": [1, 2]}))
    with pytest.raises(InputDataError, match=r"b_settings\.json is neither.*columns: settings"):
        read_tables([folder])
    code, out, err = _cli_run([folder], tmp_path / "out", FEATURE_SET_NAMES[0], capsys)
    _assert_one_line_error(code, out, err, r"columns differ", r"b_settings\.json")
    assert "a_summary.csv" not in err  # only the odd file is named

    # A summary beside raw events is refused too, naming the minority kind.
    events.iloc[:50].to_csv(folder / "c_events.csv", index=False)
    (folder / "b_settings.json").unlink()
    table.to_csv(folder / "d_summary.csv", index=False)
    with pytest.raises(InputDataError, match=r"c_events\.csv is raw logon events"):
        read_tables([folder])
    # Files of one kind still stack.
    (folder / "c_events.csv").unlink()
    frame, info = read_tables([folder])
    assert len(frame) == 2 * len(table) and len(info) == 2


def test_cli_prints_hostile_names_as_printable_lines(table, tmp_path, capsys, no_plots):
    path = tmp_path / "hostile.csv"
    hostile_names(table).to_csv(path, index=False)
    trees = ["--n-estimators", "294"]  # the seed's own rule: its two outliers
    code, stdout, stderr = _cli_run([path], tmp_path / "out", "seed", capsys, *trees, quiet=False)
    assert code == 0, stderr
    listed = [line for line in stdout.splitlines() if line.startswith("  ")]
    assert len(listed) == 2  # the two outliers, one line each
    assert all(ch.isprintable() for line in stdout.splitlines() for ch in line)
    assert "<b>tag</b>-名前" in listed[0] or "<b>tag</b>-名前" in listed[1]


def test_hostile_names_through_plots_report_and_csv(table, tmp_path):
    """Names with "$", quotes, markup and line breaks: plots draw, HTML escapes, CSV reads back."""
    found = hunt(hostile_names(table), feature_set="seed")  # SHAP on: outlier plots are titled
    assert set(found.outliers["DstUser"]) == {HOSTILE[3], HOSTILE[4]}
    figures = make_plots(found, summary=False, histogram=False, max_plots=2)
    assert len(figures.outlier_plots) == len(figures.trend_plots) == 2
    paths = write_outputs(found, tmp_path, figures=figures)
    report = paths["report"].read_text(encoding="utf-8")
    assert "<b>tag</b>" not in report and "&lt;b&gt;tag&lt;/b&gt;-名前" in report
    back = pd.read_csv(paths["user_days"], keep_default_na=False)
    expected = {
        "'" + name if name.startswith(FORMULA_STARTS) else name
        for name in found.user_days["DstUser"]
    }
    assert set(back["DstUser"]) == expected


# --------------------------------------------------------------------------
# CSV cells that a spreadsheet would run as formulas
# --------------------------------------------------------------------------
def test_csv_cells_are_neutralized_only_in_the_files(table, tmp_path):
    data = table.copy()
    risky = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]
    accounts = sorted(data["DstUser"].unique())
    data["DstUser"] = data["DstUser"].replace(dict(zip(accounts, risky, strict=False)))
    found = hunt(data, feature_set="seed", n_estimators=TREES, shap=False, account=risky[1])
    paths = write_outputs(found, tmp_path, figures=Figures())
    assert set(risky[:5]) <= set(found.user_days["DstUser"])  # data stays exact
    days = pd.read_csv(paths["user_days"], keep_default_na=False)
    written = set(days["DstUser"])
    assert not any(name.startswith(FORMULA_STARTS) for name in written)
    for name in risky[:4]:
        assert "'" + name in written
    # run.json keeps the exact name (no prefix) where it lists parameters.
    record = json.loads(paths["run"].read_text())
    assert record["parameters"]["account"] == "+1+1"

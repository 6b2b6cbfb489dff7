"""
Hostile names on the output side.

CSV cells an attacker chooses (account names of failed logons) must not run
as spreadsheet formulas nor break rows, whatever their dtype.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest

from msticnb_iforest import outputs
from msticnb_iforest.cli import main
from msticnb_iforest.outputs import FORMULA_STARTS, csv_ready, csv_safe_text, write_outputs
from msticnb_iforest.pipeline import hunt

from .conftest import DEMO_CSV

#: A quick run: the seed feature set, no SHAP, no per-outlier plots.
FAST = ["--feature-set", "seed", "--no-shap", "--max-plots", "0", "--n-estimators", "20"]

#: Names built to escape quoting, split rows or run as formulas.
HOSTILE_CELLS = [
    "y\r@SUM(1+1)*cmd|' /C calc'!A0",  # a bare CR, then a formula
    '=HYPERLINK("http://evil","x")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\tcmd",
    "\r=cmd",
    " =1+1",  # leading whitespace before the formula character
    "\u3000+cmd",  # ideographic space
    "\uff1dcmd",  # full-width =
    "\uff0b1",  # full-width +
    "\uff0d1",  # full-width -
    "\uff20SUM(A1)",  # full-width @
    "a\nb",
    "c\r\nd",
    "e\u2028=f",
    "g\u2029h",
    "i\x0bj",
    "k\x0cl",
    "m\x85n",
    "o\x1cp",
    'q"r,s',
    "plain",
]


def _formula_leading(cell: str) -> bool:
    """A cell a spreadsheet (or one that folds full-width forms) could run."""
    lead = cell.lstrip()[:1]
    return cell.startswith(FORMULA_STARTS) or (
        bool(lead) and unicodedata.normalize("NFKC", lead)[:1] in "=+-@"
    )


def _expected(cell: str) -> str:
    return "'" + cell if _formula_leading(cell) else cell


def _read_every_way(path: Path, rows: int) -> list[list[str]]:
    """Read a written CSV with csv, pandas and pyarrow; each sees `rows` rows. Return csv's."""
    with open(path, newline="", encoding="utf-8") as handle:
        parsed = list(csv.reader(handle))
    header, body = parsed[0], parsed[1:]
    assert len(body) == rows, path.name
    assert all(len(row) == len(header) for row in body), path.name
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert frame.shape == (rows, len(header)), path.name
    table = pa_csv.read_csv(path)
    assert (table.num_rows, table.num_columns) == (rows, len(header)), path.name
    # A reader that splits lines on every Unicode break still keeps the rows whole.
    text = path.read_text(encoding="utf-8")
    assert len(list(csv.reader(text.splitlines()))) == rows + 1, path.name
    for row in parsed:
        for cell in row:
            assert not (_formula_leading(cell) and not _number(cell)), (path.name, cell)
    return parsed


def _number(cell: str) -> bool:
    """A numeric cell such as -0.25 (a text cell like '-1' would have been prefixed)."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _column(parsed: list[list[str]], name: str) -> list[str]:
    at = parsed[0].index(name)
    return [row[at] for row in parsed[1:]]


def _hostile_table() -> pd.DataFrame:
    table = pd.read_csv(DEMO_CSV)
    names = [HOSTILE_CELLS[i % len(HOSTILE_CELLS)] for i in range(len(table))]
    table["DstUser"] = names
    table["DstDomain"] = ["=DOM" if i % 3 == 0 else "CONTOSO" for i in range(len(table))]
    return table


def _run(*argv) -> int:
    return main([str(arg) for arg in argv])


# --------------------------------------------------------------------------
# 1. CSV cells: quoted line breaks, formulas neutralized in every dtype
# --------------------------------------------------------------------------
def test_cli_csvs_keep_rows_and_neutralize_formulas(tmp_path, capsys):
    source = tmp_path / "hostile.json"
    _hostile_table().to_json(source, orient="records", lines=True)
    out = tmp_path / "out"
    code = _run("run", source, "--out", out, *FAST, "--contamination", "0.05", "-q")
    assert code == 0, capsys.readouterr().err
    counts = json.loads((out / "run.json").read_text())["counts"]
    assert counts["outliers"] > 0
    days = _read_every_way(out / "user_days.csv", counts["user_days"])
    found = _read_every_way(out / "outliers.csv", counts["outliers"])
    assert sorted(_column(days, "DstUser")) == sorted(
        _expected(n) for n in _hostile_table().DstUser
    )
    assert {_expected(n) for n in HOSTILE_CELLS} >= set(_column(found, "DstUser"))
    assert set(_column(days, "DstDomain")) == {"'=DOM", "CONTOSO"}


@pytest.fixture(scope="module")
def found():
    return hunt(_hostile_table(), feature_set="seed", n_estimators=20, shap=False)


@pytest.mark.parametrize(
    "dtype",
    ["object", "string", "string[pyarrow]", "category", pd.ArrowDtype(pa.string())],
    ids=str,
)
def test_every_text_dtype_is_neutralized_and_result_kept(found, dtype, tmp_path):
    days = found.user_days.astype({"DstUser": dtype, "DstDomain": dtype})
    days = days.rename(columns={"LogonTypeName": "=Header", "AttemptedLogons": "@count"})
    kept = days.copy(deep=True)
    result = type("Result", (), {})()
    result.user_days = days
    result.outliers = days.iloc[:3]
    result.explanations = pd.DataFrame()
    paths = write_outputs(result, tmp_path / "out", figures={})
    parsed = _read_every_way(paths["user_days"], len(days))
    assert parsed[0][parsed[0].index("'=Header")] == "'=Header"
    assert "'@count" in parsed[0]
    assert sorted(_column(parsed, "DstUser")) == sorted(_expected(n) for n in kept.DstUser)
    _read_every_way(paths["outliers"], 3)
    pd.testing.assert_frame_equal(days, kept)  # the caller's frame is untouched
    assert days.dtypes.equals(kept.dtypes)


def test_mixed_object_cells_and_missing_values():
    values = pd.Series([1, True, 1.0, "-1", -1, None, float("nan"), "=a", "=a", ["=x"]])
    ready, header = csv_ready(pd.DataFrame({"v": values, "=h": 0}))
    assert header == ["v", "'=h"]
    cells = ready["v"].tolist()
    assert cells[:3] == [1, True, 1.0] and type(cells[1]) is bool
    assert cells[3] == "'-1" and cells[4] == -1 and cells[7] == cells[8] == "'=a"
    assert cells[5] is None and pd.isna(cells[6])
    assert cells[9] == ["=x"]  # written as "['=x']", which is not a formula
    assert values.tolist()[3] == "-1"  # not modified


def test_neutralizing_looks_at_each_distinct_value_once(monkeypatch):
    seen = []
    real = outputs._cell_text
    monkeypatch.setattr(outputs, "_cell_text", lambda value: seen.append(value) or real(value))
    names = pd.Series(["=a", "b", "+c"] * 20_000)
    for values in (names, names.astype("category"), names.astype(pd.ArrowDtype(pa.string()))):
        seen.clear()
        safe = csv_safe_text(values)
        assert len(seen) == 3
        assert safe.iloc[:3].tolist() == ["'=a", "b", "'+c"]
    untouched = pd.Series(["a", "b"] * 10)
    assert csv_safe_text(untouched) is untouched


def test_csv_text_round_trips_exactly(tmp_path):
    """Quoted cells come back exactly (the apostrophe aside) through every reader."""
    frame = pd.DataFrame({"name": HOSTILE_CELLS, "n": range(len(HOSTILE_CELLS))})
    buffer = io.StringIO(newline="")
    outputs.write_csv(frame, buffer)
    path = tmp_path / "t.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    parsed = _read_every_way(path, len(frame))
    assert _column(parsed, "name") == [_expected(cell) for cell in HOSTILE_CELLS]
    back = pa_csv.read_csv(path).column("name").to_pylist()
    assert back == [_expected(cell) for cell in HOSTILE_CELLS]

"""
Hostile names and hostile files on the output side.

CSV cells an attacker chooses (account names of failed logons) must not run
as spreadsheet formulas nor break rows, whatever their dtype; and a run
writes its files into --out as one set: a failed, interrupted, killed or
concurrent run never leaves a mix of two runs' files.
"""

from __future__ import annotations

import csv
import dataclasses
import errno
import io
import json
import os
import resource
import signal
import subprocess
import sys
import textwrap
import time
import unicodedata
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest

from msticnb_iforest.errors import ParameterError
from msticnb_iforest.frontends.cli import main
from msticnb_iforest.pipeline import hunt
from msticnb_iforest.present import csvfiles, folder, outputs
from msticnb_iforest.present.figures import Figures
from msticnb_iforest.present.outputs import (
    FORMULA_STARTS,
    OutputBusyError,
    OutputFolder,
    csv_ready,
    csv_safe_text,
    write_outputs,
)

from ..capped import DEFAULT_MEMORY_MB, REPO
from ..conftest import DEMO_CSV

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
    result = dataclasses.replace(
        found, user_days=days, outliers=days.iloc[:3], explanations=pd.DataFrame()
    )
    paths = write_outputs(result, tmp_path / "out", figures=Figures())
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
    real = csvfiles._cell_text
    monkeypatch.setattr(csvfiles, "_cell_text", lambda value: seen.append(value) or real(value))
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


# --------------------------------------------------------------------------
# 2. Outputs are written as one set
# --------------------------------------------------------------------------
def _snapshot(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under `folder`: bytes, modification time and inode."""
    return {
        str(path.relative_to(folder)): (
            path.read_bytes(),
            path.stat().st_mtime_ns,
            path.stat().st_ino,
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def previous(tmp_path, capsys):
    """An output folder holding a finished run's files (as a demo: with labels.csv)."""
    out = tmp_path / "out"
    assert _run("run", DEMO_CSV, "--out", out, *FAST, "-q") == 0
    (out / "labels.csv").write_text("Date,DstUser\n", encoding="utf-8")
    capsys.readouterr()
    return out


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("msticnb-iforest: error: "), captured.err
    assert all(ch.isprintable() for ch in lines[0])
    return lines[0]


def _only(folder: Path, *names: str) -> None:
    """The parent of --out holds these entries and nothing else (no temp folder, no lock)."""
    assert sorted(os.listdir(folder)) == sorted(names)


@pytest.mark.parametrize(
    "code", [errno.ENOSPC, errno.EACCES, errno.EROFS], ids=["ENOSPC", "EACCES", "EROFS"]
)
def test_write_error_names_the_file_and_keeps_the_previous_set(previous, code, monkeypatch, capsys):
    before = _snapshot(previous)
    real = folder.write_csv  # what OutputFolder writes each CSV file with

    def failing(frame, handle):
        if str(getattr(handle, "name", handle)).endswith("user_days.csv"):
            raise OSError(code, os.strerror(code))
        return real(frame, handle)

    monkeypatch.setattr(folder, "write_csv", failing)
    assert _run("run", DEMO_CSV, "--out", previous, *FAST, "--contamination", "0.05") == 2
    line = _one_error_line(capsys)
    assert f"{previous / 'user_days.csv'}" in line and os.strerror(code) in line
    assert _snapshot(previous) == before
    _only(previous.parent, "out")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files anyway")
def test_read_only_file_in_out_is_replaced_with_the_set(previous, capsys):
    (previous / "user_days.csv").chmod(0o444)
    assert _run("run", DEMO_CSV, "--out", previous, *FAST, "--contamination", "0.05") == 0
    record = json.loads((previous / "run.json").read_text())
    assert "0.05" in record["command"]
    assert len(pd.read_csv(previous / "user_days.csv")) == record["counts"]["user_days"]


@pytest.fixture
def tiny_disk(tmp_path):
    """A 1 MB tmpfs (root only; skipped where mounting is not permitted)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_real_disk_full_keeps_the_previous_set(tiny_disk, capsys):
    out = tiny_disk / "out"
    few_days = ["--start", "2022-09-20", "--end", "2022-09-21"]  # a small previous set
    assert _run("run", DEMO_CSV, "--out", out, *FAST, *few_days, "-q") == 0
    capsys.readouterr()
    before = _snapshot(out)
    stats = os.statvfs(tiny_disk)
    room = stats.f_bavail * stats.f_frsize
    (tiny_disk / "filler").write_bytes(b"\0" * max(0, room - 24 * 1024))
    assert _run("run", DEMO_CSV, "--out", out, *FAST, "--contamination", "0.05") == 2
    line = _one_error_line(capsys)
    assert "No space left on device" in line and f"cannot write {out}{os.sep}" in line
    assert _snapshot(out) == before
    _only(tiny_disk, "out", "filler")
    (tiny_disk / "filler").unlink()
    assert _run("run", DEMO_CSV, "--out", out, *FAST, "--contamination", "0.05", "-q") == 0
    assert "0.05" in json.loads((out / "run.json").read_text())["command"]


def test_mount_point_out_is_written_in_place(tiny_disk, capsys):
    for contamination in ("0.01", "0.05"):
        assert (
            _run("run", DEMO_CSV, "--out", tiny_disk, *FAST, "--contamination", contamination) == 0
        )
        assert os.path.ismount(tiny_disk)
        assert sorted(os.listdir(tiny_disk)) == [
            "incidents.csv",
            "outliers.csv",
            "report.html",
            "run.json",
            "user_days.csv",
        ]
    assert "0.05" in json.loads((tiny_disk / "run.json").read_text())["command"]


def test_current_folder_is_not_swapped_away(previous, monkeypatch, capsys):
    monkeypatch.chdir(previous)
    folder_inode = previous.stat().st_ino
    assert _run("run", DEMO_CSV, "--out", ".", *FAST, "--contamination", "0.05", "-q") == 0
    assert previous.stat().st_ino == folder_inode and os.path.samefile(".", previous)
    assert "0.05" in json.loads(Path("run.json").read_text())["command"]
    assert sorted(os.listdir(".")) == [
        "incidents.csv",
        "outliers.csv",
        "report.html",
        "run.json",
        "user_days.csv",
    ]
    _only(previous.parent, "out")


def test_previous_set_is_replaced_as_a_whole(previous, capsys, monkeypatch):
    before = _snapshot(previous)
    folder_inode = previous.stat().st_ino
    seen = {}
    real = folder._exchange

    def exchange(staging, target):
        # At the swap the output folder still holds the previous set, untouched,
        # and the staging folder the complete new one, run.json included.
        seen["target"] = _snapshot(target)
        seen["staging"] = sorted(os.listdir(staging))
        return real(staging, target)

    monkeypatch.setattr(folder, "_exchange", exchange)
    assert _run("run", DEMO_CSV, "--out", previous, *FAST, "--contamination", "0.05", "-q") == 0
    assert seen["target"] == before
    assert seen["staging"] == [
        "incidents.csv",
        "outliers.csv",
        "report.html",
        "run.json",
        "user_days.csv",
    ]
    assert sorted(os.listdir(previous)) == seen["staging"]  # labels.csv went with its set
    assert previous.stat().st_ino != folder_inode
    assert "0.05" in json.loads((previous / "run.json").read_text())["command"]
    _only(previous.parent, "out")


def test_two_renames_where_the_folders_cannot_be_exchanged(previous, capsys, monkeypatch):
    monkeypatch.setattr(folder, "_exchange", lambda staging, target: False)
    assert _run("run", DEMO_CSV, "--out", previous, *FAST, "--contamination", "0.05", "-q") == 0
    assert sorted(os.listdir(previous)) == [
        "incidents.csv",
        "outliers.csv",
        "report.html",
        "run.json",
        "user_days.csv",
    ]
    _only(previous.parent, "out")


def test_other_files_in_out_are_kept_untouched(previous, capsys):
    (previous / "notes.txt").write_text("my notes", encoding="utf-8")
    (previous / "case").mkdir()
    (previous / "case" / "ticket.txt").write_text("4711", encoding="utf-8")
    (previous / ".keep").write_text("", encoding="utf-8")
    mine = {k: v for k, v in _snapshot(previous).items() if k in {"notes.txt", ".keep"} or "/" in k}
    folder_inode = previous.stat().st_ino
    assert _run("run", DEMO_CSV, "--out", previous, *FAST, "--contamination", "0.05", "-q") == 0
    after = _snapshot(previous)
    assert {k: after[k] for k in mine} == mine
    assert "labels.csv" not in after  # the previous run's set is replaced as a set
    assert {"outliers.csv", "user_days.csv", "report.html", "run.json"} <= set(after)
    assert "0.05" in json.loads((previous / "run.json").read_text())["command"]
    assert previous.stat().st_ino == folder_inode  # not swapped: files moved in one by one
    _only(previous.parent, "out")
    assert sorted(os.listdir(previous)) == [
        ".keep",
        "case",
        "incidents.csv",
        "notes.txt",
        "outliers.csv",
        "report.html",
        "run.json",
        "user_days.csv",
    ]


def test_in_place_moves_put_run_json_last(previous, monkeypatch):
    (previous / "notes.txt").write_text("my notes", encoding="utf-8")
    moves = []
    real = os.replace

    def replace(src, dst):
        moves.append((Path(dst).name, (previous / "run.json").exists()))
        return real(src, dst)

    monkeypatch.setattr(folder.os, "replace", replace)
    result = hunt(pd.read_csv(DEMO_CSV), feature_set="seed", n_estimators=20, shap=False)
    write_outputs(result, previous, figures=Figures())
    assert moves[-1] == ("run.json", False)
    assert all(not marker for _, marker in moves)  # the old run.json went first


def test_second_run_on_the_same_out_stops_with_one_line(previous, tmp_path, capsys):
    before = _snapshot(previous)
    alias = tmp_path / "alias"
    alias.symlink_to(previous)
    with OutputFolder(previous) as holder:
        for target in (previous, alias):
            assert _run("run", DEMO_CSV, "--out", target, *FAST) == 2
            line = _one_error_line(capsys)
            assert "is being written by another run" in line
        assert _snapshot(previous) == before
        holder.write_text("run.json", "{}\n")
        holder.publish()
    assert json.loads((previous / "run.json").read_text()) == {}
    with pytest.raises(OutputBusyError), OutputFolder(previous), OutputFolder(previous):
        pass
    assert sorted(os.listdir(tmp_path)) == ["alias", "out"]  # lock file removed


def test_failed_or_interrupted_api_write_keeps_the_previous_set(previous, monkeypatch):
    from msticnb_iforest.present import report

    result = hunt(pd.read_csv(DEMO_CSV), feature_set="seed", n_estimators=20, shap=False)
    before = _snapshot(previous)
    for error in (ValueError("render failed"), KeyboardInterrupt()):

        def fail(*args, error=error, **kwargs):
            raise error

        monkeypatch.setattr(report, "render_report", fail)
        with pytest.raises(type(error)):
            write_outputs(result, previous, figures=Figures())
        assert _snapshot(previous) == before
        _only(previous.parent, "out")
        # A folder that did not exist is not left behind, nor are the parents made for it.
        with pytest.raises(type(error)):
            write_outputs(result, previous.parent / "new" / "deeper" / "out", figures=Figures())
        _only(previous.parent, "out")


def test_api_returns_the_final_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = hunt(pd.read_csv(DEMO_CSV), feature_set="seed", n_estimators=20, shap=False)
    out = tmp_path / "a" / "b"
    paths = write_outputs(result, out, figures=Figures())
    assert paths == {
        "outliers": out / "outliers.csv",
        "incidents": out / "incidents.csv",
        "user_days": out / "user_days.csv",
        "report": out / "report.html",
        "run": out / "run.json",
    }
    assert all(path.is_file() for path in paths.values())
    _only(tmp_path / "a", "b")
    with pytest.raises(ParameterError, match="must be named"):
        write_outputs(result, " ", figures=Figures())
    assert os.listdir(tmp_path) == ["a"]


def test_symlinked_out_stays_a_link(previous, tmp_path, capsys):
    link = tmp_path / "link"
    link.symlink_to(previous)
    assert _run("run", DEMO_CSV, "--out", link, *FAST, "--contamination", "0.05", "-q") == 0
    assert link.is_symlink() and link.resolve() == previous.resolve()
    assert "0.05" in json.loads((previous / "run.json").read_text())["command"]


def test_leftovers_of_a_killed_run_are_tidied(previous, capsys):
    before = _snapshot(previous)
    staging = previous.parent / ".out.tmp-12345-0badc0de"
    staging.mkdir()
    (staging / "outliers.csv").write_text("half", encoding="utf-8")
    with OutputFolder(previous):
        pass
    _only(previous.parent, "out")
    # Killed between the two renames of the fallback: the previous set is put back.
    previous.rename(previous.parent / ".out.old-12345-0badc0de")
    with OutputFolder(previous):
        pass
    assert _snapshot(previous) == before
    _only(previous.parent, "out")


# --------------------------------------------------------------------------
# Killed while writing: a child process stopped in the middle of the set
# --------------------------------------------------------------------------
_CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from msticnb_iforest.frontends.cli import main
    from msticnb_iforest.present import folder

    real = folder.write_csv  # what OutputFolder writes each CSV file with

    def stalled(frame, handle):
        done = real(frame, handle)
        Path(sys.argv[1]).write_text("one file of the set is written")
        time.sleep(600)
        return done

    folder.write_csv = stalled
    sys.exit(main(sys.argv[2:]))
    """
)


def _cap_memory() -> None:
    size = DEFAULT_MEMORY_MB * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (size, size))


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_killed_mid_write_leaves_the_previous_set(previous, tmp_path, sig, capsys):
    before = _snapshot(previous)
    ready = tmp_path / "ready"
    env = {**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    argv = ["run", str(DEMO_CSV), "--out", str(previous), *FAST, "--contamination", "0.05"]
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(ready), *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        preexec_fn=_cap_memory,
    )
    try:
        waited = 0.0
        while not ready.exists() and child.poll() is None and waited < 240:
            time.sleep(0.2)
            waited += 0.2
        assert ready.exists(), child.communicate(timeout=60)
        child.send_signal(sig)
        _, stderr = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert _snapshot(previous) == before
    if sig == signal.SIGINT:
        assert child.returncode == 130 and "interrupted" in stderr
        _only(previous.parent, "out", "ready")
        return
    assert child.returncode == -signal.SIGKILL
    left = sorted(p.name for p in previous.parent.iterdir() if p.name.startswith(".out.tmp-"))
    assert len(left) == 1 and not (previous.parent / left[0] / "run.json").exists()
    assert _run("run", DEMO_CSV, "--out", previous, *FAST, "--contamination", "0.05", "-q") == 0
    assert "0.05" in json.loads((previous / "run.json").read_text())["command"]
    _only(previous.parent, "out", "ready")


# --------------------------------------------------------------------------
# 3 and 4. --out must name a folder, and is printed escaped
# --------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["", "   ", "\t"], ids=["empty", "spaces", "tab"])
def test_blank_out_is_a_usage_error(value, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert _run("run", DEMO_CSV, "--out", value, *FAST) == 2
    line = _one_error_line(capsys)
    assert "--out" in line and "must name a folder" in line
    assert os.listdir(tmp_path) == []


def test_out_path_is_printed_escaped(tmp_path, capsys):
    out = tmp_path / "o\x1b[2Jut\x07"
    assert _run("run", DEMO_CSV, "--out", out, *FAST, "-v") == 0
    captured = capsys.readouterr()
    for text in (captured.out, captured.err):
        assert "\x1b" not in text and "\x07" not in text
    assert "o\\x1b[2Jut\\x07" in captured.out and "o\\x1b[2Jut\\x07" in captured.err
    assert (out / "run.json").is_file()
    assert _run("run", DEMO_CSV, "--out", out, *FAST, "-q") == 0
    quiet = capsys.readouterr().out
    assert "\x1b" not in quiet and quiet.rstrip().endswith("o\\x1b[2Jut\\x07/report.html")


@pytest.mark.parametrize("kind", ["loop", "dangling"])
def test_out_that_is_a_link_to_nowhere_is_refused(tmp_path, capsys, kind):
    """A symbolic link loop or a dangling link as --out: exit 2 naming it, nothing left behind."""
    link = tmp_path / "out"
    if kind == "loop":
        (tmp_path / "other").symlink_to(link)
        link.symlink_to(tmp_path / "other")
    else:
        link.symlink_to(tmp_path / "missing")
    before = sorted(os.listdir(tmp_path))
    assert _run("run", DEMO_CSV, "--out", link, *FAST, "-q") == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and str(link) in err[0], err
    assert sorted(os.listdir(tmp_path)) == before  # no staging folder, no lock


def test_the_tool_reads_its_own_csv_back_with_line_breaks_in_names(tmp_path, monkeypatch):
    """user_days.csv quotes names holding CR/LF; the CSV reader keeps them one cell."""
    from msticnb_iforest.sources.readers import limits, read_table

    monkeypatch.setattr(limits, "_BLOCK", 4096)  # many blocks: breaks may fall inside quotes
    table = pd.read_csv(DEMO_CSV)
    table["DstUser"] = table["DstUser"].astype(object)
    table.loc[::7, "DstUser"] = "two\nlines"
    table.loc[1::7, "DstUser"] = "carriage\rreturn"
    out = tmp_path / "out"
    table.to_json(tmp_path / "days.json", orient="records", lines=True)
    assert _run("run", tmp_path / "days.json", "--out", out, *FAST, "-q") == 0
    back = read_table(out / "user_days.csv")
    frame = back[0] if isinstance(back, tuple) else back
    assert len(frame) == len(table)
    assert {"two\nlines", "carriage\rreturn"} <= set(frame["DstUser"])


def test_running_out_of_memory_is_one_line_and_leaves_the_folder(tmp_path, capsys, monkeypatch):
    """A MemoryError anywhere in a run (here: building the report) is exit 2 with one line."""
    from msticnb_iforest.present import report

    out = tmp_path / "out"
    assert _run("run", DEMO_CSV, "--out", out, *FAST, "-q") == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()

    def _no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(report, "render_report", _no_memory)
    assert _run("run", DEMO_CSV, "--out", out, *FAST, "-q") == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "not enough memory" in err[0], err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

"""The msticnb-iforest command line: demo and run, file formats, errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pandas as pd
import pytest

from msticnb_iforest import __version__
from msticnb_iforest.frontends.cli import main
from msticnb_iforest.sources.demo import generate_demo
from msticnb_iforest.summarize.user_days import user_day_summary

from ..conftest import DEMO_CSV

USERS, DAYS, SEED = 40, 14, 3
FILES = ["outliers.csv", "user_days.csv", "report.html", "run.json"]
KEYS = ["Date", "DstDomain", "DstUser"]


@pytest.fixture(scope="module")
def demo():
    return generate_demo(n_users=USERS, n_days=DAYS, seed=SEED)


@pytest.fixture(scope="module")
def event_files(demo, tmp_path_factory):
    """The demo events written as CSV, Parquet, JSON lines and gzipped CSV."""
    folder = tmp_path_factory.mktemp("events")
    events = demo.events
    paths = {
        "csv": folder / "events.csv",
        "parquet": folder / "events.parquet",
        "jsonl": folder / "events.jsonl",
        "csv.gz": folder / "events.csv.gz",
    }
    events.to_csv(paths["csv"], index=False)
    events.to_parquet(paths["parquet"], index=False)
    events.to_json(paths["jsonl"], orient="records", lines=True, date_format="iso")
    events.to_csv(paths["csv.gz"], index=False, compression="gzip")
    return paths


def _run(args, capsys) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_demo_writes_outputs_and_labels(tmp_path, capsys, demo):
    out = tmp_path / "demo"
    code, stdout, stderr = _run(
        ["demo", "--out", out, "--users", USERS, "--days", DAYS, "--seed", SEED]
        + ["--max-plots", 1, "--n-estimators", 100],
        capsys,
    )
    assert code == 0, stderr
    for name in [*FILES, "labels.csv"]:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    labels = pd.read_csv(out / "labels.csv")
    assert len(labels) == len(demo.labels) > 0
    assert list(labels.columns[:3]) == KEYS
    outliers = pd.read_csv(out / "outliers.csv")
    hits = labels[KEYS].drop_duplicates().merge(outliers[KEYS].drop_duplicates(), on=KEYS)
    record = json.loads((out / "run.json").read_text())
    match = record["run_info"]["demo"]
    assert match["labelled_in_outliers"] == len(hits)
    assert match["labelled_user_days"] == len(labels[KEYS].drop_duplicates())
    assert match["outliers"] == len(outliers) == record["counts"]["outliers"]
    assert (
        f"Labelled attack user-days among the outliers: {len(hits)} of "
        f"{match['labelled_user_days']}" in stdout
    )
    assert f"{len(outliers)} outlier(s) among" in stdout
    assert "report.html" in stdout
    assert record["dropped"]["machine_account"] > 0  # the demo log holds noise rows
    assert record["inputs"][0]["rows"] == len(demo.events)
    timings = record["timings"]
    stages = {"generate", "summarize", "model", "plots", "write_tables", "report"}
    assert stages <= set(timings)
    # every stage the user waited for is inside the run's total, one after another
    assert sum(timings[name] for name in stages) <= timings["total"]
    html = (out / "report.html").read_text()
    assert "https://" not in html and "http://" not in html
    # population, feature correlations, SHAP summary, 1 outlier, 1 trend, histogram
    assert html.count("<img ") == 6
    assert stderr == ""  # not a terminal and no -v: no progress lines


def test_demo_writes_fewer_incidents_than_outliers(tmp_path, capsys):
    out = tmp_path / "demo"
    args = ["demo", "--out", out, "--users", 80, "--days", 14, "--seed", 1]
    # At 1 % (the default set reports 0.5 %) so that the spray has several members.
    code, stdout, stderr = _run(
        [*args, "--no-shap", "--max-plots", 0, "--contamination", 0.01], capsys
    )
    assert code == 0, stderr
    outliers = pd.read_csv(out / "outliers.csv")
    incidents = pd.read_csv(out / "incidents.csv", keep_default_na=False)
    assert 0 < len(incidents) < len(outliers)
    assert list(incidents.columns[:3]) == ["incident", "kind", "lead"]
    assert incidents["incident"].tolist() == list(range(1, len(incidents) + 1))
    assert incidents["n_outliers"].sum() == len(outliers)
    assert sorted(set(outliers["incident"])) == incidents["incident"].tolist()
    (spray,) = [row for _, row in incidents.iterrows() if row["kind"] == "password spray"]
    assert spray["n_outliers"] > 1
    assert spray["lead"].startswith(f"Password spray from {spray['sources'].split(', ')[0]} on ")
    assert spray["first_day"] == spray["last_day"]  # dates, written as days
    assert len(spray["first_day"]) == len("2024-03-21")
    record = json.loads((out / "run.json").read_text())
    assert record["incidents"]["count"] == len(incidents)
    assert record["incidents"]["kinds"]["password spray"] == 1
    first = incidents.iloc[0]["lead"]
    assert f"{len(incidents)} incident(s); first: {first}" in stdout.splitlines()


FAST = ["--no-shap", "--max-plots", "0", "--n-estimators", "50", "-q"]


@pytest.fixture(scope="module")
def format_runs(event_files, tmp_path_factory):
    """Run the hunt once per event file format; keep (exit code, stdout, stderr, out dir)."""
    runs = {}
    for fmt, path in event_files.items():
        out = tmp_path_factory.mktemp("run") / fmt
        code = main(["run", str(path), "--out", str(out), *FAST])
        runs[fmt] = (code, out)
    return runs


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl", "csv.gz"])
def test_run_on_event_files(fmt, format_runs, event_files, demo):
    code, out = format_runs[fmt]
    assert code == 0
    for name in FILES:
        assert (out / name).is_file(), name
    expected = user_day_summary(demo.events)
    days = pd.read_csv(out / "user_days.csv")
    assert len(days) == len(expected)
    record = json.loads((out / "run.json").read_text())
    assert record["inputs"][0]["rows"] == len(demo.events)
    assert record["inputs"][0]["path"].endswith(event_files[fmt].name)
    assert record["parameters"]["shap"] is False
    assert record["parameters"]["n_estimators"] == 50
    assert record["data_span"] == {
        "start": f"{demo.start:%Y-%m-%d}",
        "end": f"{demo.end - pd.Timedelta(days=1):%Y-%m-%d}",
    }


def test_formats_give_the_same_outliers(format_runs):
    tables = {
        fmt: pd.read_csv(out / "outliers.csv")[[*KEYS, "score", "reason"]]
        for fmt, (_, out) in format_runs.items()
    }
    assert len(tables["csv"]) > 0
    for fmt in ("parquet", "jsonl", "csv.gz"):
        pd.testing.assert_frame_equal(tables["csv"], tables[fmt], obj=fmt)


def test_quiet_prints_one_line(tmp_path, capsys):
    code, stdout, stderr = _run(["run", DEMO_CSV, "--out", tmp_path, *FAST], capsys)
    assert code == 0 and stderr == ""
    assert stdout.splitlines() == [
        f"1 outlier(s) among 135 user-days of 5 account(s) (feature set 'habits'). "
        f"Report: {tmp_path / 'report.html'}"
    ]


def test_run_on_summary_table_seed(tmp_path, capsys):
    out = tmp_path / "seed"
    code, stdout, stderr = _run(
        ["run", DEMO_CSV, "--out", out, "--feature-set", "seed", "--no-shap", "--max-plots", 1],
        capsys,
    )
    assert code == 0, stderr
    outliers = pd.read_csv(out / "outliers.csv")
    assert list(outliers.loc[0, KEYS]) == ["2022-09-25", "CONTOSO", "SVC-ACC-02"]
    assert list(outliers["DstUser"]) == ["SVC-ACC-02", "SRVACC-04"]
    lines = stdout.splitlines()
    assert lines[0].startswith("2 outlier(s) among 135 user-days of 5 account(s)")
    assert lines[1].startswith("  1. 2022-09-25  CONTOSO\\SVC-ACC-02  score 0.02")
    assert "failed logons" in lines[1]
    assert lines[2].startswith("  2. 2022-09-16  CONTOSO\\SRVACC-04")
    assert lines[-1].startswith(f"Files in {out}:")
    record = json.loads((out / "run.json").read_text())
    assert record["parameters"]["n_estimators"] == 294
    assert record["inputs"][0]["rows"] == 135
    assert record["window"] is None
    assert record["plot_cap"] == 1


def test_run_table_window(tmp_path, capsys):
    out = tmp_path / "window"
    code, _, stderr = _run(
        ["run", DEMO_CSV, "--out", out, "--start", "2022-09-10", "--end", "2022-09-20", *FAST],
        capsys,
    )
    assert code == 0, stderr
    days = pd.read_csv(out / "user_days.csv")
    assert days["Date"].min() == "2022-09-10" and days["Date"].max() == "2022-09-20"
    full = pd.read_csv(DEMO_CSV)
    record = json.loads((out / "run.json").read_text())
    assert record["dropped"] == {"out_of_range": len(full) - len(days)}
    assert record["window"]["start"].startswith("2022-09-10T00:00:00")
    assert record["window"]["end"].startswith("2022-09-20T23:59:59")


def test_run_events_window(event_files, demo, tmp_path, capsys):
    out = tmp_path / "events-window"
    first = demo.start + pd.Timedelta(days=3)
    last = demo.start + pd.Timedelta(days=8)
    code, _, stderr = _run(
        ["run", event_files["parquet"], "--out", out, *FAST]
        + ["--start", f"{first:%Y-%m-%d}", "--end", f"{last:%Y-%m-%d}"],
        capsys,
    )
    assert code == 0, stderr
    days = pd.read_csv(out / "user_days.csv")
    assert days["Date"].min() == f"{first:%Y-%m-%d}"
    assert days["Date"].max() == f"{last:%Y-%m-%d}"
    assert json.loads((out / "run.json").read_text())["dropped"]["out_of_range"] > 0


def test_progress_messages(tmp_path, capsys):
    code, _, stderr = _run(
        ["run", DEMO_CSV, "--out", tmp_path, "--no-shap", "--max-plots", 0, "--n-estimators", 20]
        + ["-v"],
        capsys,
    )
    assert code == 0
    assert "Reading 1 file(s)" in stderr and "Scoring 135 user-days" in stderr
    assert "Writing outputs" in stderr


def test_version(capsys):
    code, stdout, _ = _run(["--version"], capsys)
    assert code == 0 and stdout.strip() == f"msticnb-iforest {__version__}"


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory, event_files):
    folder = tmp_path_factory.mktemp("bad")
    wrong = folder / "wrong.csv"
    wrong.write_text("a,b,c\n1,2,3\n")
    truncated = folder / "truncated.parquet"
    data = event_files["parquet"].read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    return {"wrong": wrong, "truncated": truncated, "missing": folder / "no-such-file.csv"}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "{missing}"], "no-such-file.csv"),
        (["run", "{wrong}"], "missing"),
        (["run", "{truncated}"], "truncated.parquet"),
        (["run", DEMO_CSV, "--contamination", "3"], "contamination"),
        (["run", DEMO_CSV, "--contamination", "lots"], "contamination"),
        (["run", DEMO_CSV, "--feature-set", "nope"], "nope"),
        (["run", DEMO_CSV, "--start", "yesterday-ish"], "--start"),
        (["run", DEMO_CSV, "--start", "2022-09-20", "--end", "2022-09-10"], "after"),
        (["run", DEMO_CSV, "--max-plots", "-1"], "max-plots"),
        (["run", DEMO_CSV, "--out", "{wrong}"], "not a folder"),
        (["run"], "INPUT"),
        ([], "command"),
        (["hunt"], "invalid choice"),
    ],
)
def test_errors_are_one_line(args, needle, bad_files, tmp_path, capsys):
    argv = [str(a).format(**bad_files) for a in args]
    if argv and "--out" not in argv:
        argv += ["--out", str(tmp_path / "out")]
    code, stdout, stderr = _run(argv, capsys)
    assert code == 2
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("msticnb-iforest: error: ")
    assert needle.lower() in lines[0].lower()
    assert "Traceback" not in stderr and stdout == ""
    assert not (tmp_path / "out" / "report.html").exists()


@pytest.mark.slow
def test_console_script(tmp_path):
    exe = shutil.which("msticnb-iforest")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("msticnb-iforest is not on PATH: CI must run inside the venv it built")
        pytest.skip("the package is not installed (pip install -e .)")
    out = tmp_path / "script"
    proc = subprocess.run(
        [exe, "run", str(DEMO_CSV), "--out", str(out), "--n-estimators", "20"]
        + ["--no-shap", "--max-plots", "0", "-q"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("1 outlier(s) among 135 user-days")
    assert "Traceback" not in proc.stderr
    assert (out / "report.html").is_file()


def test_out_inside_an_input_folder_is_refused_before_any_work(tmp_path, capsys):
    data = tmp_path / "exports"
    data.mkdir()
    pd.read_csv(DEMO_CSV).to_csv(data / "days.csv", index=False)
    for out in (data, data / "results"):
        assert main(["run", str(data), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert "inside the input folder" in err and "user_days.csv" in err
    assert sorted(p.name for p in data.iterdir()) == ["days.csv"]  # nothing written
    assert main(["run", str(data / "days.csv"), "--out", str(data / "results"), *FAST]) == 0

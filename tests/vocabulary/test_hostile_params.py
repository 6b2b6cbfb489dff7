"""
Absurd parameters: refused once, before any work, with one clear message.

Every hunt parameter is checked against one table (`msticnb_iforest.params`)
by `pipeline.hunt`, the notebooklet's ``run`` and the command line, so each
says the same range. The table is also the only place the defaults live.
"""

from __future__ import annotations

import argparse
import inspect
import json
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from msticpy.common.timespan import TimeSpan

from msticnb_iforest import AnomalousLogonUsers, ParameterError, params
from msticnb_iforest.features import FeatureSet, get_feature_set
from msticnb_iforest.features.baseline import BaselineFeatures
from msticnb_iforest.frontends.anomalous_logon_users import (
    RUN_PARAMETERS,
    AnomalousLogonUsersResult,
)
from msticnb_iforest.frontends.cli import build_parser, main
from msticnb_iforest.model import fit_score, n_threads
from msticnb_iforest.params import PARAMETERS, check_params
from msticnb_iforest.pipeline import hunt

from ..capped import assert_clean_exit, run_cli
from ..conftest import DEMO_CSV

REPO = Path(__file__).resolve().parents[2]
FAST = ["-shap", "-plot_outliers", "-plot_trends", "-account_links"]
TREES = 10

#: (parameter, absurd Python value) through hunt(); each must be a ParameterError.
HUNT_ABSURD = [
    ("n_estimators", 1_000_000_000),  # was a numpy memory error
    ("n_estimators", 10**23),  # was an OverflowError
    ("n_estimators", 0),  # silently meant the default
    ("n_estimators", -5),
    ("n_estimators", True),
    ("n_estimators", 2.5),
    ("n_estimators", "300"),
    ("random_state", 2**32),  # was scikit-learn's own error
    ("random_state", -1),
    ("random_state", True),
    ("random_state", "42"),
    ("contamination", float("nan")),
    ("contamination", float("inf")),
    ("contamination", 0),
    ("contamination", 0.6),
    ("contamination", True),
    ("contamination", "0.1"),
    ("n_jobs", "x"),  # was a bare ValueError from int()
    ("n_jobs", 0),
    ("n_jobs", 10**6),
    ("n_jobs", 1.5),
    ("progress", 5),  # was a TypeError deep in the run
    ("progress", "print"),
    ("max_explained", -1),
    ("max_explained", 10**30),
    ("max_explained", True),
    ("min_history_days", 10**30),
    ("min_history_days", -1),
    ("min_history_days", True),
    ("allow_accounts", 5),
    ("allow_accounts", ["ok", ""]),
    ("account", 5),
    ("account", ""),
    ("shap", "yes"),
    ("shap", 1),
    ("feature_set", "nope"),
    ("feature_set", 5),
]


def _id(case) -> str:
    name, value = case[0], case[1]
    return f"{name}={str(value)[:12]}"


@pytest.mark.parametrize("case", HUNT_ABSURD, ids=_id)
def test_hunt_refuses_absurd_values_before_any_work(case):
    name, value = case
    # data=None would be an InputDataError: the ParameterError proves the check came first.
    with pytest.raises(ParameterError) as err:
        hunt(None, **{name: value})
    message = str(err.value)
    assert message.startswith(f"{name} must be ")
    assert PARAMETERS[name].allowed() in message
    assert params.short_repr(value) in message


def test_messages_show_a_long_value_cut_short():
    with pytest.raises(ParameterError) as err:
        check_params(n_estimators="9" * 5000)
    assert len(str(err.value)) < 200
    assert "(5,002 characters)" in str(err.value)


def test_numpy_scalars_are_accepted_and_give_the_same_result(demo_table):
    plain = hunt(
        demo_table,
        n_estimators=TREES,
        random_state=7,
        contamination=0.05,
        max_explained=3,
        min_history_days=4,
        shap=False,
    )
    numpy = hunt(
        demo_table,
        n_estimators=np.int64(TREES),
        random_state=np.uint32(7),
        contamination=np.float64(0.05),
        max_explained=np.int16(3),
        min_history_days=np.int8(4),
        shap=np.bool_(False),
        n_jobs=np.int32(1),
    )
    pd.testing.assert_series_equal(numpy.user_days["score"], plain.user_days["score"])
    assert numpy.params == plain.params
    assert type(numpy.params["random_state"]) is int
    json.dumps(numpy.params)  # plain Python values, ready for run.json


def test_params_table_checks_the_model_too():
    table = pd.DataFrame({"a": np.arange(50.0), "b": np.arange(50.0) % 7})
    for kwargs in ({"n_estimators": 10**9}, {"random_state": 2**32}, {"fit_rows": 10**30}):
        with pytest.raises(ParameterError, match=next(iter(kwargs))):
            fit_score(table, **kwargs)
    for bad in (10**30, True, 0):
        with pytest.raises(ParameterError, match="fit_rows must be None or an integer in"):
            BaselineFeatures(fit_rows=bad)
    with pytest.raises(ParameterError, match="min_history_days"):
        BaselineFeatures(min_history_days=10**30)
    with pytest.raises(ParameterError, match=r"n_jobs must be None or a non-zero integer"):
        n_threads("x")
    assert n_threads(np.int64(2)) == 2


# --------------------------------------------------------------------------
# The notebooklet
# --------------------------------------------------------------------------
class _NoQueries:
    """A query provider that fails the test if the notebooklet touches it."""

    environment = "MSSentinel"

    def __getattr__(self, name):
        raise AssertionError(f"the provider was used ({name}) before the parameters were checked")


RUN_ABSURD = [
    ({"n_estimators": 1_000_000_000}, "n_estimators must be None or an integer in [1, 10000]"),
    ({"random_state": 4294967296}, "random_state must be None or an integer in [0, 4294967295]"),
    ({"contamination": float("nan")}, "contamination must be None, 'auto' or a number in (0, 0.5]"),
    ({"max_plots": -1}, "max_plots must be an integer in [0, 100]"),
    ({"max_plots": 10**30}, "max_plots must be an integer in [0, 100]"),
    ({"max_plots": True}, "max_plots must be"),
    ({"max_explained": -1}, "max_explained must be None or an integer in [0, 1000000]"),
    ({"min_history_days": 10**30}, "min_history_days must be None or an integer in [0, 10000]"),
    ({"max_account_summaries": -1}, "max_account_summaries must be an integer in [0, 50]"),
    ({"split_query_by": "x"}, "split_query_by must be None or a positive time span"),
    ({"split_query_by": "0D"}, "split_query_by must be"),
    ({"split_query_by": "100000D"}, "at most 366 days"),
    ({"split_query_by": 5}, "split_query_by must be"),
    ({"n_jobs": "x"}, "n_jobs must be None or a non-zero integer"),
    ({"n_estimators": "300"}, "n_estimators must be"),
    ({"table": "SecurityEvent\n"}, "table must be a plain table name"),
    ({"query_options": 5}, "query_options must be None or a dict"),
    ({"start": "2024-01-01", "end": "9999-12-31"}, "end must be None or a date or time from"),
    ({"start": "2024-01-01", "end": "2262-04-10"}, "from 1677-09-23 to 2262-04-09"),
    ({"start": "1677-09-22", "end": "2024-01-01"}, "start must be None or a date or time"),
    ({"start": "2024-01-09", "end": "2024-01-01"}, "is after end"),
    ({"start": "2024-01-01"}, "end is missing"),
    ({"contamnation": 0.2}, "Unknown parameter 'contamnation' (did you mean 'contamination'?)"),
    ({"value": ""}, "value must be None or a non-empty string"),
    ({"timespan": TimeSpan(start=datetime(1, 1, 2), end=datetime(2024, 1, 1))}, "timespan start"),
    ({"timespan": (datetime(2024, 1, 1), "9999-12-31")}, "timespan end must be a date"),
    ({"timespan": TimeSpan(start="2024-01-09", end="2024-01-01")}, "after its end"),
    ({"timespan": "last week"}, "timespan must be a TimeSpan"),
]


@pytest.mark.parametrize(("kwargs", "needle"), RUN_ABSURD, ids=lambda x: str(x)[:40])
def test_notebooklet_refuses_absurd_values_before_querying(nb_local, kwargs, needle):
    nblt = AnomalousLogonUsers()
    nblt.query_provider = _NoQueries()
    with pytest.raises(ParameterError) as err:
        nblt.run(options=FAST, **kwargs)
    assert needle in str(err.value)
    assert err.value.__cause__ is None  # a short traceback: raised afresh in run


def test_notebooklet_with_data_refuses_absurd_values(nb_local, demo_table):
    with pytest.raises(ParameterError, match=r"n_estimators must be None or an integer"):
        AnomalousLogonUsers().run(data=demo_table, options=FAST, n_estimators=10**23)
    with pytest.raises(ParameterError, match=r"timespan end"):
        span = TimeSpan(start=datetime(2022, 9, 1), end=datetime(9999, 12, 31))
        AnomalousLogonUsers().run(data=demo_table, options=FAST, timespan=span)


def test_notebooklet_accepts_numpy_integers_and_new_keywords(nb_local, demo_table):
    res = AnomalousLogonUsers().run(
        data=demo_table,
        feature_set="seed",
        options=FAST,
        max_plots=np.int64(1),
        max_explained=np.int64(1),
        n_estimators=np.int32(TREES),
        random_state=np.uint32(3),
        n_jobs=1,
        start="2022-09-01",
        end=datetime(2022, 10, 1),
    )
    assert res.plot_cap == 1 and type(res.plot_cap) is int
    assert res.parameters["n_estimators"] == TREES
    assert res.parameters["random_state"] == 3
    assert len(res.explanations) == 1


# --------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------
CLI_ABSURD = [
    (["--n-estimators", "1000000000"], "n_estimators"),
    (["--n-estimators", "1" * 23], "n_estimators"),
    (["--n-estimators", "0"], "n_estimators"),
    (["--n-estimators", "9" * 5000], "n_estimators"),
    (["--random-state", "4294967296"], "random_state"),
    (["--random-state", "-1"], "random_state"),
    (["--contamination", "nan"], "contamination"),
    (["--contamination", "0"], "contamination"),
    (["--max-plots", "-1"], "max_plots"),
    (["--max-plots", "1000000"], "max_plots"),
    (["--max-explained", "-1"], "max_explained"),
    (["--max-explained", "lots"], "max_explained"),
    (["--min-history-days", "99999999999999999999"], "min_history_days"),
    (["--n-jobs", "0"], "n_jobs"),
    (["--n-jobs", "x"], "n_jobs"),
    (["--feature-set", "nope"], "feature_set"),
    (["--end", "9999-12-31"], "end"),
    (["--end", "2262-04-11"], "end"),
    (["--end", "2262-04-10"], "end"),
    (["--start", "1677-09-22"], "start"),
]


def _main(argv, capsys) -> tuple[int, list[str], str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.err.splitlines(), captured.out


@pytest.mark.parametrize(("extra", "name"), CLI_ABSURD, ids=lambda x: str(x)[:30])
def test_cli_refuses_absurd_values_in_one_line(extra, name, tmp_path, capsys):
    out = tmp_path / "out"
    code, lines, stdout = _main(["run", DEMO_CSV, "--out", out, *extra], capsys)
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("msticnb-iforest: error: "), lines
    assert len(lines[0]) < 300
    flag = extra[0]
    assert flag in lines[0]
    # The same words as Python's message (less what only Python can pass).
    assert PARAMETERS[name].allowed(cli=True) in lines[0]
    assert stdout == "" and not out.exists()


def test_demo_takes_the_same_checks(tmp_path, capsys):
    code, lines, _ = _main(["demo", "--out", tmp_path / "d", "--n-estimators", "10" * 12], capsys)
    assert code == 2 and len(lines) == 1 and "--n-estimators" in lines[0]


def test_cli_new_flags_reach_the_hunt(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["run", DEMO_CSV, "--out", out, "--feature-set", " Seed ", "--n-estimators", " 20 "]
    argv += ["--max-explained", "1", "--n-jobs", "-1", "--max-plots", "0", "-q"]
    code, lines, _ = _main(argv, capsys)
    assert code == 0, lines
    run = json.loads((out / "run.json").read_text())
    text = json.dumps(run)
    assert '"max_explained": 1' in text and '"n_estimators": 20' in text
    assert '"feature_set": "seed"' in text


@pytest.mark.slow
@pytest.mark.parametrize(
    "extra", [["--n-estimators", "1000000000"], ["--end", "9999-12-31"]], ids=["trees", "end"]
)
def test_cli_refuses_in_a_real_process(extra, tmp_path):
    run = run_cli("run", DEMO_CSV, "--out", tmp_path / "out", *extra)
    assert_clean_exit(run, allowed=(2,))
    assert extra[0] in run.error_lines[0]


# --------------------------------------------------------------------------
# One table of defaults and ranges
# --------------------------------------------------------------------------
def test_hunt_defaults_are_the_tables():
    for name, parameter in inspect.signature(hunt).parameters.items():
        if name != "data":
            assert parameter.default == PARAMETERS[name].default, name
    fit = inspect.signature(fit_score).parameters
    assert fit["random_state"].default == PARAMETERS["random_state"].default
    # No contamination means the feature set's own; the model's default is the base one.
    assert PARAMETERS["contamination"].default is None
    assert fit["contamination"].default == params.DEFAULT_CONTAMINATION
    assert FeatureSet.contamination == params.DEFAULT_CONTAMINATION
    base = BaselineFeatures()
    assert base.min_history_days == params.DEFAULT_MIN_HISTORY_DAYS
    assert base.fit_rows == PARAMETERS["fit_rows"].default == params.DEFAULT_FIT_ROWS


def test_cli_defaults_and_flags_are_the_tables():
    parser = build_parser()
    args = parser.parse_args(["run", "x", "--out", "o"])
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    flags = {action.dest: action for action in commands.choices["run"]._actions}
    python_only = {"data", "progress"}  # no text form
    spelled = {"shap": "no_shap"}
    for name in inspect.signature(hunt).parameters:
        if name in python_only:
            continue
        dest = spelled.get(name, name)
        assert dest in flags, f"hunt's {name} has no command-line flag"
        if name in PARAMETERS and name not in spelled:
            assert getattr(args, dest) == PARAMETERS[name].default, name
    assert args.max_plots == PARAMETERS["max_plots"].default
    assert "--max-explained" in flags["max_explained"].option_strings
    assert "--n-jobs" in flags["n_jobs"].option_strings


def test_notebooklet_defaults_are_the_tables(nb_local, demo_table):
    assert AnomalousLogonUsersResult().plot_cap == params.DEFAULT_MAX_PLOTS
    res = AnomalousLogonUsers().run(data=demo_table, feature_set="seed", options=FAST)
    for name in ("random_state", "max_explained"):
        assert res.parameters[name] == PARAMETERS[name].default, name
    assert res.parameters["contamination"] == get_feature_set("seed").contamination
    assert res.plot_cap == PARAMETERS["max_plots"].default
    assert set(RUN_PARAMETERS) <= set(PARAMETERS)
    doc = AnomalousLogonUsers.run.__doc__
    for name in ("random_state", "max_plots", "max_explained"):
        assert f"default {PARAMETERS[name].default}" in doc, name
    assert "by default the feature\n            set's own" in doc


def test_notebook_parameter_cell_uses_the_tables_defaults():
    notebook = json.loads((REPO / "notebooks" / "AnomalousLogonUsers.ipynb").read_text())
    cell = next(c for c in notebook["cells"] if "parameters" in c["metadata"].get("tags", []))
    values: dict = {}
    exec("".join(cell["source"]), {}, values)  # literal assignments only
    assert values["contamination"] is PARAMETERS["contamination"].default is None


def test_every_bound_is_a_valid_value_and_one_past_it_is_not():
    for name, low, high in [
        ("n_estimators", 1, params.MAX_ESTIMATORS),
        ("random_state", 0, 2**32 - 1),
        ("max_plots", 0, params.MAX_PLOTS_LIMIT),
        ("max_explained", 0, params.MAX_EXPLAINED_LIMIT),
        ("min_history_days", 0, params.MAX_HISTORY_DAYS),
        ("fit_rows", 1, params.MAX_FIT_ROWS),
        ("n_jobs", -params.MAX_JOBS, params.MAX_JOBS),
    ]:
        assert check_params(**{name: low}) == {name: low}
        assert check_params(**{name: high}) == {name: high}
        for outside in (low - 1, high + 1):
            with pytest.raises(ParameterError, match=name):
                check_params(**{name: outside})
    assert check_params(contamination=0.5) == {"contamination": 0.5}


def test_accepted_times_keep_a_day_of_margin_inside_pandas_range():
    first = params.check_time(params.EARLIEST, "start")
    last = params.check_time(f"{params.LATEST} 23:59:59.999999999", "end")
    # A day either side of any accepted time is still a nanosecond Timestamp.
    assert (first - pd.Timedelta(days=1)).as_unit("ns") >= pd.Timestamp.min.tz_localize("UTC")
    assert (last + pd.Timedelta(days=1)).as_unit("ns") <= pd.Timestamp.max.tz_localize("UTC")
    just_before = (pd.Timestamp(params.EARLIEST) - pd.Timedelta(1, "ns")).isoformat()
    just_after = (pd.Timestamp(params.LATEST) + pd.Timedelta(days=1)).isoformat()
    for outside in (just_before, just_after, "9999-12-31", "0001-01-01", datetime(1, 1, 2)):
        with pytest.raises(ParameterError, match="must be a date or time from"):
            params.check_time(outside, "start")
    assert params.check_time("2024-03-01T10:00:00+02:00", "x") == pd.Timestamp(
        "2024-03-01 08:00", tz="UTC"
    )
    for number in (20240301, 1.5e9, True):
        with pytest.raises(ParameterError):
            params.check_time(number, "x")


def test_params_module_imports_nothing_heavy():
    # Load params (and errors) without the package's __init__, which loads msticnb.
    code = textwrap.dedent(
        f"""
        import sys, types
        pkg = types.ModuleType("msticnb_iforest")
        pkg.__path__ = [{str(REPO / "msticnb_iforest")!r}]
        sys.modules["msticnb_iforest"] = pkg
        import msticnb_iforest.params as p
        assert p.check_params(n_estimators=5) == {{"n_estimators": 5}}
        heavy = [m for m in ("pandas", "numpy", "sklearn", "msticpy") if m in sys.modules]
        print(heavy)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("chunk", ["1D", "30D", f"{params.MAX_SPLIT_DAYS}D"])
def test_split_windows_at_the_last_accepted_day_do_not_overflow(chunk):
    from msticnb_iforest.sources.query import split_windows

    start = params.check_time("2262-01-01 10:00", "start")
    end = params.check_time(f"{params.LATEST} 23:59:59", "end")
    windows, _ = split_windows(start, end, chunk)
    assert windows[0][0] == start and windows[-1][1] == end
    for (_, hi), (lo, _) in zip(windows[:-1], windows[1:], strict=True):
        assert lo - hi == pd.Timedelta(1, "ns")  # contiguous, no gap, no overlap


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--users", "10000000"), ("--users", "0"), ("--days", "100000"), ("--seed", "-1")],
)
def test_demo_size_is_bounded_before_any_work(flag, value, capsys, tmp_path):
    from msticnb_iforest.frontends.cli import main

    assert main(["demo", "--out", str(tmp_path / "o"), flag, value]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and flag in err[0] and "must be an integer in [" in err[0], err
    assert not (tmp_path / "o").exists()


def test_notebook_demo_size_is_checked(nb_local):
    from msticnb_iforest.frontends import notebook as nbs

    with pytest.raises(ParameterError, match="demo_users"):
        nbs.open_data_source("demo", demo_users=10_000_000)

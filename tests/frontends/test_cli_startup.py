"""--help, --version and argument errors answer without importing the heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from msticnb_iforest.features import DEFAULT_FEATURE_SET, FEATURE_SETS
from msticnb_iforest.params import DEFAULT_FEATURE_SET as PARAMS_DEFAULT
from msticnb_iforest.params import FEATURE_SET_NAMES

HEAVY = ("pandas", "numpy", "sklearn", "scipy", "shap", "matplotlib", "msticpy", "msticnb")


def _modules_after(argv: list[str]) -> dict:
    code = textwrap.dedent(
        f"""
        import contextlib, io, json, sys
        from msticnb_iforest.frontends.cli import main
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main({argv!r})
        heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)
        print(json.dumps({{"code": code, "heavy": heavy, "out": out.getvalue(),
                          "err": err.getvalue()}}))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(proc.stdout)


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["--help"], 0),
        (["--version"], 0),
        (["demo", "--help"], 0),
        (["run", "--help"], 0),
        ([], 2),
        (["hunt"], 2),
        (["run", "x.csv", "--out", "o", "--feature-set", "bogus"], 2),
        (["run", "x.csv", "--out", "o", "--n-estimators", "0"], 2),
        (["run", "x.csv", "--out", "o", "--contamination", "2"], 2),
        (["demo", "--out", "o", "--users", "many"], 2),
        (["run", "x.csv", "--out", "o", "--start", "tomorrow-ish"], 2),
    ],
)
def test_answers_without_heavy_imports(argv, code):
    result = _modules_after(argv)
    assert result["code"] == code, result
    # a date is parsed by pandas; nothing heavier is needed to refuse one
    light = {"pandas", "numpy"} if "--start" in argv else set()
    assert set(result["heavy"]) <= light, f"{argv} imported {result['heavy']}"
    if code == 2:
        assert result["err"].count("\n") == 1 and result["err"].startswith("msticnb-iforest: ")


def test_help_names_every_feature_set_and_the_default():
    text = " ".join(_modules_after(["run", "--help"])["out"].split())
    for name in FEATURE_SETS:
        assert repr(name) in text
    assert f"default {DEFAULT_FEATURE_SET}" in text


def test_feature_set_names_match_the_registered_sets():
    assert tuple(sorted(FEATURE_SETS)) == tuple(sorted(FEATURE_SET_NAMES))
    assert PARAMS_DEFAULT == DEFAULT_FEATURE_SET

"""
The engine keeps to its memory limit and spills into a scratch folder it removes.

`memory_limit` and `temp_directory` of the columnar summarizers: the limit
is the one the engine runs with, a tight limit gives the same summary as
the default, scratch files go under the folder given and are gone after,
and bad values are refused before any work with a message naming them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msticnb_iforest.errors import ParameterError
from msticnb_iforest.sources.demo import generate_demo
from msticnb_iforest.summarize.columnar import (
    DEFAULT_MEMORY_LIMIT,
    engine_account_day_summary,
    engine_memory_limit,
    engine_user_day_summary,
)
from msticnb_iforest.summarize.columnar.inputs import _run
from msticnb_iforest.summarize.user_days import empty_summary

SUMMARIZERS = [engine_user_day_summary, engine_account_day_summary]


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return generate_demo(n_users=60, n_days=10, seed=3).events


def _settings(con, types, start_ns, end_ns):
    """A stand-in summary that reports the engine's settings instead."""
    row = con.execute(
        "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
    ).fetchone()
    return row, {}


def test_the_engine_runs_with_the_limit_given(events):
    (limit, spill), _, _ = _run(events, None, None, _settings, empty_summary, "256MiB")
    assert limit.replace(" ", "") in {"256.0MiB", "256MiB", "268.4MB"}
    assert Path(spill).name == "spill"


def test_the_default_limit_is_two_gibibytes(events):
    (limit, _), _, _ = _run(events, None, None, _settings, empty_summary)
    assert DEFAULT_MEMORY_LIMIT == "2GiB"
    assert limit.replace(" ", "") in {"2.0GiB", "2GiB"}


@pytest.mark.parametrize("summarize", SUMMARIZERS)
def test_a_tight_limit_gives_the_same_summary(events, summarize, tmp_path):
    path = tmp_path / "events.parquet"
    events.to_parquet(path)
    expected = summarize(path, return_dropped=True)
    found = summarize(path, return_dropped=True, memory_limit="64MiB")
    pd.testing.assert_frame_equal(found[0], expected[0], check_exact=True)
    assert found[1] == expected[1]


@pytest.mark.parametrize("summarize", SUMMARIZERS)
def test_scratch_goes_under_temp_directory_and_is_removed(events, summarize, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (_, spill), _, _ = _run(events, None, None, _settings, empty_summary, None, scratch)
    assert Path(spill).parent.parent == scratch
    assert list(scratch.iterdir()) == []  # removed with the engine
    summarize(events, temp_directory=scratch)
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize(
    "value, words",
    [
        ("0", "A size must be"),
        ("lots", "A size must be"),
        (True, "memory_limit must be a number of bytes"),
        (1.5e9, "memory_limit must be a number of bytes"),
        (1000, "at least 64 MiB"),
        ("10M", "at least 64 MiB"),
    ],
)
def test_bad_limits_are_refused_by_name(events, value, words):
    with pytest.raises(ParameterError, match=words):
        engine_user_day_summary(events, memory_limit=value)


def test_a_temp_directory_that_is_not_a_folder_is_refused(events, tmp_path):
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(ParameterError, match="temp_directory .*is not a folder"):
        engine_account_day_summary(events, temp_directory=afile)


def test_sizes_read_as_powers_of_1024():
    assert engine_memory_limit("1G") == 2**30
    assert engine_memory_limit(np.int64(2**27)) == 2**27
    assert engine_memory_limit(None) == 2 * 2**30


def test_the_engine_draws_no_progress_bar_of_its_own(events):
    def bar(con, types, start_ns, end_ns):
        return con.execute("SELECT current_setting('enable_progress_bar')").fetchone(), {}

    (shown,), _, _ = _run(events, None, None, bar, empty_summary)
    assert shown is False  # a terminal run with -q stays silent; progress goes to `progress`

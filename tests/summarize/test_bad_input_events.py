"""
Bad raw SecurityEvent rows through ``summarize.user_day_summary`` and ``pipeline.hunt``.

Every input row is either counted in a user-day's ``AttemptedLogons`` or
dropped under a named reason; bad input is one documented error naming the
column. Each case runs with every registered feature set.
"""

import pandas as pd
import pytest

from msticnb_iforest.errors import ParameterError
from msticnb_iforest.pipeline import hunt
from msticnb_iforest.summarize.user_days import user_day_summary

from ..bad_input_cases import (
    RAW_CASES,
    TREES,
    Err,
    accounted,
    check_ok,
)


@pytest.mark.parametrize(("make", "expect"), RAW_CASES)
def test_user_day_summary_raw_matrix(make, expect, events):
    data = make(events)
    before = data.copy(deep=True)
    if isinstance(expect, Err):
        match = expect.match.replace("missing: ", "missing column\\(s\\): ")
        with pytest.raises(expect.kind, match=match):
            user_day_summary(data)
    else:
        summary, dropped = user_day_summary(data, return_dropped=True)
        accounted(data, summary, dropped)
        assert (
            summary["AttemptedLogons"] == summary["SuccessfulLogons"] + summary["FailedLogons"]
        ).all()
        for reason, count in expect.dropped.items():
            assert dropped[reason] == count
        if expect.same_scores:  # the same table as from the original events
            pd.testing.assert_frame_equal(summary, user_day_summary(events))
    pd.testing.assert_frame_equal(data, before)


@pytest.mark.parametrize(("make", "expect"), RAW_CASES)
def test_hunt_raw_matrix(make, expect, fset, events):
    data = make(events)
    before = data.copy(deep=True)
    if isinstance(expect, Err):
        with pytest.raises(expect.kind, match=expect.match):
            hunt(data, feature_set=fset, n_estimators=TREES, shap=False)
    else:
        found = hunt(data, feature_set=fset, n_estimators=TREES, shap=False)
        reference = None
        if expect.same_scores:
            reference = hunt(events, feature_set=fset, n_estimators=TREES, shap=False)
            reference = reference.user_days["score"]
        check_ok(expect, found.user_days, found.outliers, found.notes, found.dropped, reference)
        if "AttemptedLogons" in found.user_days.columns:
            accounted(data, found.user_days, found.dropped)
    pd.testing.assert_frame_equal(data, before)


def test_start_after_end_is_a_parameter_error(events):
    with pytest.raises(ParameterError, match="after end"):
        user_day_summary(events, start="2024-03-05", end="2024-03-01")
    with pytest.raises(ParameterError, match="start must be a date/time"):
        user_day_summary(events, start="yesterday")

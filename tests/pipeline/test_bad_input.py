"""
Bad per-user-day tables through ``pipeline.hunt`` and the notebooklet's ``run(data=...)``.

Every case of `bad_input_cases.SUMMARY_CASES` runs with every registered feature
set (so a new default is covered when it lands): a clean result, possibly empty
with a note saying why and dropped rows counted, or one documented
``AnomalousLogonsError`` whose message names the column or problem. The caller's
frame is never modified.
"""

import ast

import pandas as pd
import pytest

from msticnb_iforest import AnomalousLogonUsers
from msticnb_iforest.errors import InputDataError
from msticnb_iforest.pipeline import hunt
from msticnb_iforest.summarize.user_days import user_day_summary

from ..bad_input_cases import (
    FEATURE_SET_NAMES,
    SUMMARY_CASES,
    TREES,
    Err,
    check_ok,
)


@pytest.fixture(scope="module")
def reference(table) -> dict[str, pd.Series]:
    """Scores of the unmodified table per feature set (for `same_scores`)."""
    return {
        name: hunt(table, feature_set=name, n_estimators=TREES, shap=False).user_days["score"]
        for name in FEATURE_SET_NAMES
    }


@pytest.mark.parametrize(("make", "expect"), SUMMARY_CASES)
def test_hunt_summary_matrix(make, expect, fset, table, reference):
    data = make(table)
    before = data.copy(deep=True)
    if isinstance(expect, Err):
        with pytest.raises(expect.kind, match=expect.match):
            hunt(data, feature_set=fset, n_estimators=TREES, shap=False)
    else:
        found = hunt(data, feature_set=fset, n_estimators=TREES, shap=False)
        check_ok(
            expect, found.user_days, found.outliers, found.notes, found.dropped, reference[fset]
        )
    pd.testing.assert_frame_equal(data, before)  # the caller's frame is untouched


@pytest.mark.parametrize(("make", "expect"), SUMMARY_CASES)
def test_notebooklet_summary_matrix(make, expect, fset, table, reference, nb_local):
    data = make(table)
    before = data.copy(deep=True)
    nblt = AnomalousLogonUsers()
    run = dict(data=data, feature_set=fset, n_estimators=TREES, options=["account_links"])
    if isinstance(expect, Err):
        with pytest.raises(expect.kind, match=expect.match):
            nblt.run(**run)
    else:
        res = nblt.run(**run)
        check_ok(expect, res.user_days, res.outliers, res.notes, res.dropped_rows, reference[fset])
        for code in res.account_links["code"]:
            ast.parse(code)  # names from the data never break the generated code
    pd.testing.assert_frame_equal(data, before)


def test_not_a_dataframe_is_one_clear_error(nb_local):
    with pytest.raises(InputDataError, match="Expected a pandas DataFrame, got list"):
        hunt([1, 2, 3])
    with pytest.raises(InputDataError, match="got dict"):
        user_day_summary({"TimeGenerated": []})
    with pytest.raises(InputDataError, match="DataFrame"):
        AnomalousLogonUsers().run(data=[{"Date": "2024-01-01"}])


def test_no_columns_at_all_is_an_empty_result(fset):
    found = hunt(pd.DataFrame(), feature_set=fset)
    assert found.user_days.empty and found.outliers.empty
    assert found.notes == ["No user-days to score: the input has no rows."]

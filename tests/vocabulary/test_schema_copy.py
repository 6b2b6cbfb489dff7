"""prepare_summary copies its input, however the input frame is laid out in memory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msticnb_iforest.schema import prepare_summary


def _column_by_column(frame: pd.DataFrame) -> pd.DataFrame:
    """The same frame assembled one column at a time (one memory block per column)."""
    built = pd.DataFrame(index=pd.Index(np.arange(len(frame)) * 3 + 7))  # not a RangeIndex
    for name in frame.columns:
        built[name] = frame[name].to_numpy(copy=True)
    return built


@pytest.mark.parametrize("layout", ["as read", "column by column"])
def test_prepared_table_is_a_copy_with_a_fresh_index(demo_table, layout):
    source = demo_table if layout == "as read" else _column_by_column(demo_table)
    before = source.copy(deep=True)
    prepared = prepare_summary(source)
    assert prepared.index.equals(pd.RangeIndex(len(source)))
    # Writing into every column of the result leaves the input untouched.
    for name in prepared.columns:
        values = prepared[name].to_numpy()
        if values.dtype.kind == "f" and values.flags.writeable:
            values[:] = -1.0
        prepared.loc[0, name] = prepared[name].iloc[-1]
    pd.testing.assert_frame_equal(source, before)


def test_both_layouts_prepare_to_the_same_table(demo_table):
    plain = prepare_summary(demo_table)
    rebuilt = prepare_summary(_column_by_column(demo_table))
    pd.testing.assert_frame_equal(plain, rebuilt)


def test_export_suffixes_are_removed_in_either_layout(demo_table):
    renamed = demo_table.rename(columns={"Date": "Date [UTC]"})
    for source in (renamed, _column_by_column(renamed)):
        assert "Date" in prepare_summary(source).columns


@pytest.mark.parametrize("layout", ["as read", "column by column"])
def test_prepared_columns_share_no_memory_with_the_input(demo_table, layout):
    source = demo_table if layout == "as read" else _column_by_column(demo_table)
    prepared = prepare_summary(source)
    for name in source.columns:
        if name in prepared.columns:
            assert not np.shares_memory(prepared[name].to_numpy(), source[name].to_numpy()), name


@pytest.mark.parametrize("layout", ["as read", "column by column"])
def test_no_rows_and_extension_dtypes_in_either_layout(demo_table, layout):
    typed = demo_table.copy()
    typed["DstUser"] = typed["DstUser"].astype("category")
    typed["FailedLogons"] = typed["FailedLogons"].astype("Int64")
    for frame in (typed, typed.iloc[0:0]):
        source = frame if layout == "as read" else _column_by_column(frame)
        before = source.copy(deep=True)
        prepared = prepare_summary(source)
        assert prepared.index.equals(pd.RangeIndex(len(source)))
        assert prepared["FailedLogons"].dtype == "float64"
        assert prepared["DstUser"].tolist() == [str(v) for v in source["DstUser"]]
        pd.testing.assert_frame_equal(source, before)

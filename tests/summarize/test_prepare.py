"""The one way in: what `prepare` says when nothing is left to score."""

from __future__ import annotations

import numpy as np
import pandas as pd

from msticnb_iforest.summarize.prepare import prepare


def test_preparing_to_nothing_says_why():
    rows = pd.DataFrame(
        {
            "Date": ["2024-05-01", "2024-05-02"],
            "DstDomain": "CONTOSO",
            "DstUser": "alice",
            "SuccessfulLogons": 1,
            "FailedLogons": 0,
            "ComputersSuccessfulAccess": 1,
            "SrcIpSuccessfulAccess": 1,
        }
    )
    found = prepare(rows, start=pd.Timestamp("2025-01-01", tz="UTC"))
    assert found.table.empty
    assert found.notes[-1].startswith("No user-days to score: all 2 input row(s) were dropped (")
    assert found.dropped == {"out_of_range": 2}


def test_a_summary_it_owns_is_prepared_without_a_copy_and_alike():
    from msticnb_iforest.schema import prepare_summary
    from msticnb_iforest.sources.demo import generate_demo
    from msticnb_iforest.summarize.account_days import account_day_summary

    summary = account_day_summary(generate_demo(n_users=20, n_days=6, seed=2).events)
    copied = prepare_summary(summary, copy=True)
    taken = prepare_summary(summary.copy(), copy=False)
    pd.testing.assert_frame_equal(copied, taken, check_exact=True)
    owned = summary.copy()
    taken = prepare_summary(owned, copy=False)
    assert np.shares_memory(taken["AccountKey"].to_numpy(), owned["AccountKey"].to_numpy())


def _profile() -> pd.DataFrame:
    from msticnb_iforest.sources.demo import generate_demo
    from msticnb_iforest.summarize.account_days import account_day_summary

    return account_day_summary(generate_demo(n_users=20, n_days=6, seed=2).events)


def test_name_columns_read_back_from_files_are_text(tmp_path):
    from msticnb_iforest.sources.readers import read_table
    from msticnb_iforest.summarize.account_days import NAME_COLUMNS

    summary = _profile()
    names = summary[NAME_COLUMNS]
    assert (names != "").any().all() and (names == "").any().all()
    summary.to_csv(tmp_path / "days.csv", index=False)
    summary.to_parquet(tmp_path / "days.parquet", index=False)
    for loaded in (
        pd.read_csv(tmp_path / "days.csv"),  # "" comes back as NaN
        read_table(tmp_path / "days.csv"),
        read_table(tmp_path / "days.parquet"),
    ):
        table = prepare(loaded).table
        for col in NAME_COLUMNS:
            assert table[col].map(type).eq(str).all(), col
            assert table[col].tolist() == summary[col].tolist(), col


def test_name_columns_of_digits_or_all_missing_stay_text(tmp_path):
    frame = pd.DataFrame(
        {
            "Date": ["2024-05-01", "2024-05-02", "2024-05-03"],
            "DstDomain": "CONTOSO",
            "DstUser": "alice",
            "SuccessfulLogons": 1,
            "FailedLogons": 0,
            "ComputersSuccessfulAccess": 1,
            "SrcIpSuccessfulAccess": 1,
            "NewSrcHosts": ["1234", "", "0042"],
            "NewComputers": "",
        }
    )
    path = tmp_path / "days.csv"
    frame.to_csv(path, index=False)
    loaded = pd.read_csv(path)  # 1234.0, NaN, 42.0 and an all-NaN column
    table = prepare(loaded).table
    assert table["NewSrcHosts"].tolist() == ["1234", "", "42"]
    assert table["NewComputers"].tolist() == ["", "", ""]
    assert "NewSrcIps" not in table.columns  # absent stays absent
    from msticnb_iforest.sources.readers import read_table

    # The package's reader keeps them as written.
    assert prepare(read_table(path)).table["NewSrcHosts"].tolist() == ["1234", "", "0042"]


def test_features_ignore_the_name_columns():
    from msticnb_iforest.features import FEATURE_SETS, get_feature_set
    from msticnb_iforest.summarize.account_days import NAME_COLUMNS

    with_names = prepare(_profile()).table
    without = prepare(_profile().drop(columns=NAME_COLUMNS)).table
    for name in FEATURE_SETS:
        found = get_feature_set(name).compute(with_names).values
        expected = get_feature_set(name).compute(without).values
        pd.testing.assert_frame_equal(found, expected, check_exact=True)

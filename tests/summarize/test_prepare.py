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

"""The one way in: what `prepare` says when nothing is left to score."""

from __future__ import annotations

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

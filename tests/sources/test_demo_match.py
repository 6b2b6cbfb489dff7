"""
``demo.match_labels``: the demo's labelled attack user-days among a hunt's outliers.
"""

from __future__ import annotations

import pandas as pd

from msticnb_iforest.sources.demo import match_labels

LABELS = pd.DataFrame(
    {
        "Date": pd.to_datetime(["2024-03-04", "2024-03-04", "2024-03-05", "2024-03-06"]),
        "DstDomain": ["CONTOSO", "CONTOSO", "CONTOSO", "CONTOSO"],
        "DstUser": ["alice", "bob", "alice", "carol"],
        "attack": ["password_spray", "password_spray", "brute_force", "brute_force"],
        "detail": ["", "", "", ""],
        "incident": [0, 0, 1, 2],
    }
)


def test_counts_hits_by_day_and_case_folded_account():
    outliers = pd.DataFrame(
        {
            # dates as text (like outliers.csv), one user-day twice
            "Date": ["2024-03-04", "2024-03-05", "2024-03-05", "2024-03-07"],
            "DstDomain": ["contoso", "Contoso", "CONTOSO", "CONTOSO"],
            "DstUser": ["ALICE", "alice", "alice", "carol"],
        }
    )
    before = outliers.copy()
    match = match_labels(outliers, LABELS)
    assert match == {
        "labelled_user_days": 4,
        "labelled_in_outliers": 2,  # alice on the 4th and on the 5th
        "outliers": 3,  # the two rows of alice on the 5th are one user-day
        "by_attack": {
            "brute_force": {"labelled": 2, "found": 1},
            "password_spray": {"labelled": 2, "found": 1},
        },
    }
    pd.testing.assert_frame_equal(outliers, before)


def test_tz_aware_outlier_days_are_utc_days():
    outliers = pd.DataFrame(
        {
            # 2024-03-06 01:00 at +05:00 is 2024-03-05 20:00 UTC
            "Date": pd.to_datetime(["2024-03-06T01:00:00+05:00"]),
            "DstDomain": ["CONTOSO"],
            "DstUser": ["alice"],
        }
    )
    match = match_labels(outliers, LABELS)
    assert match["labelled_in_outliers"] == 1
    assert match["by_attack"]["brute_force"] == {"labelled": 2, "found": 1}


def test_no_outliers_finds_nothing():
    empty = pd.DataFrame({"Date": pd.to_datetime([]), "DstDomain": [], "DstUser": []})
    match = match_labels(empty, LABELS)
    assert match["labelled_in_outliers"] == 0 and match["outliers"] == 0
    assert all(counts["found"] == 0 for counts in match["by_attack"].values())

"""Per-user-day tables for the feature tests: a few accounts, partial rows, the rest usual."""

from __future__ import annotations

import pandas as pd

from msticnb_iforest.schema import prepare_summary

DAYS = pd.date_range("2024-03-01", periods=8, freq="D")


def account_day_table(rows: list[dict]) -> pd.DataFrame:
    """A prepared per-user-day table from partial rows (a column a row leaves out: as below)."""
    base = {
        "DstDomain": "CONTOSO",
        "SuccessfulLogons": 10,
        "FailedLogons": 0,
        "ComputersAccessed": 2,
        "ComputersSuccessfulAccess": 2,
        "DistinctSrcIp": 1,
        "SrcIpSuccessfulAccess": 1,
        "DistinctSrcHostName": 1,
        "SrcHostNameSuccessfulAccess": 1,
        "NovelSrcIp": 0,
        "NovelSrcHost": 0,
        "NovelComputer": 0,
        "SrcIpFailedAccounts": 0,
        "SrcIpFailedAccountsUsual": 0.0,
        "FailedSrcIp": "",
        "SrcIpHosts": 1,
        "HostsSrcIp": "",
        "SuccessHours": (1 << 9) | (1 << 10) | (1 << 14),
        "NtlmLogons": 0,
        "KerberosLogons": 10,
        "NovelSrcNet": 0,
        "NovelSrcHostOthers": 0,
        "FailedSrcIpDays": 0,
    }
    return prepare_summary(pd.DataFrame([{**base, **row} for row in rows]))

r"""
The per-account-day profile with DuckDB reading, filtering and decoding the events.

:func:`engine_account_day_summary` returns exactly what
`msticnb_iforest.summarize.account_days.account_day_summary` returns. The
engine reads the source (files or a frame, as in
:func:`engine_user_day_summary`), decodes every column and applies the
filters with the SQL of `.query`, and keeps the surviving rows in a
temporary table of its own (which it may spill to disk). The profile is
then computed by the integer-code aggregation of `account_days` over one
column of that table at a time, each fetched as codes over its distinct
text: the raw frame is never rebuilt in pandas, only integer arrays of the
kept rows are. The identity and source normalization of
`msticnb_iforest.identity` therefore runs once per distinct value, in
Python, with the same functions and the same tie-breaking as the pandas
path.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ...intkeys import sorted_codes
from ..account_days import _empty, _profile
from .inputs import _run
from .query import _dropped, _stage

__all__ = ["engine_account_day_summary"]

# The kept rows' columns (aliases of `.inputs._TEXT`) under the pandas path's names.
_COLUMNS = {
    "Computer": "comp",
    "IpAddress": "ip",
    "WorkstationName": "host",
    "AuthenticationPackageName": "pkg",
    "AccountDomain": "adom",
}


def engine_account_day_summary(
    source: pd.DataFrame | str | os.PathLike | Iterable[str | os.PathLike],
    *,
    start: Any = None,
    end: Any = None,
    return_dropped: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, dict[str, int]]:
    r"""
    Profile raw logon events per account and day, reading them with DuckDB.

    Parameters
    ----------
    source : pd.DataFrame, path or iterable of paths
        Raw ``SecurityEvent`` rows: a DataFrame (handed over without a copy, not
        modified), or files (:data:`ENGINE_SUFFIXES`), folders (their files
        with those endings) and glob patterns.
    start, end : datetime-like, optional
        Inclusive bounds on ``TimeGenerated``; naive values are UTC.
    return_dropped : bool, optional
        Also return the number of dropped rows per reason.

    Returns
    -------
    pd.DataFrame or tuple[pd.DataFrame, dict[str, int]]
        The table `msticnb_iforest.summarize.account_days.account_day_summary`
        returns for the same events, row for row.

    Raises
    ------
    InputDataError
        If the input lacks required columns, no path matches, a file
        cannot be read, or no candidate row has a readable time.
    ParameterError
        If `start` or `end` is not a time, or `start` is after `end`.

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({
    ...     "TimeGenerated": ["2024-05-01 10:00", "2024-05-01 11:30", "2024-05-02 09:00"],
    ...     "EventID": [4624, 4625, 4624], "LogonType": 3, "LogonTypeName": "3 - Network",
    ...     "TargetUserName": "bob", "TargetDomainName": "CONTOSO", "Computer": "web01",
    ...     "IpAddress": ["10.0.0.5", "10.0.0.6", "10.0.0.5"], "WorkstationName": "LAPTOP1",
    ...     "AuthenticationPackageName": "NTLM",
    ... })
    >>> columns = ["Date", "AccountKey", "AttemptedLogons", "NovelSrcIp", "WindowDays"]
    >>> engine_account_day_summary(events)[columns]
             Date   AccountKey  AttemptedLogons  NovelSrcIp  WindowDays
    0  2024-05-01  contoso\bob                2           1           2
    1  2024-05-02  contoso\bob                1           0           2

    """
    table, dropped = _run(source, start, end, _summarize_accounts, _empty)
    return (table, dropped) if return_dropped else table


def _summarize_accounts(
    con: duckdb.DuckDBPyConnection, types: dict[str, str], start_ns: int | None, end_ns: int | None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Filter and decode the view ``raw``, then profile the kept rows; return it and the drops."""
    _stage(con, types, start_ns, end_ns)
    counts = con.execute("SELECT reason, count(*) FROM kept GROUP BY reason").fetchnumpy()
    reason = np.asarray(counts["reason"], dtype=np.int64)
    dropped = _dropped(con, reason, np.asarray(counts["count_star()"], dtype=np.int64))
    if not (reason == 0).any():
        return _empty(), dropped
    aliases = ", ".join(_COLUMNS.values())
    con.execute(
        "CREATE TEMP TABLE profiled AS SELECT t, ev = 4624 AS ok, dom, usr, "
        f"{aliases} FROM kept WHERE reason = 0"
    )

    def fetch(alias: str) -> pa.ChunkedArray:
        return con.sql(f"SELECT {alias} FROM profiled").to_arrow_table().column(0)

    def text(alias: str) -> tuple[np.ndarray, np.ndarray]:
        return _codes(fetch(alias))

    time_ns = fetch("t").to_numpy().astype(np.int64, copy=False)
    success = fetch("ok").to_numpy().astype(bool, copy=False)

    def column(name: str) -> tuple[np.ndarray, np.ndarray]:
        return text(_COLUMNS[name])

    table = _profile(time_ns, success, text("dom"), text("usr"), column)
    return table, dropped


def _codes(values: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Return int64 codes over the sorted distinct text of `values` (no missing values)."""
    encoded = pc.dictionary_encode(values.combine_chunks())
    labels = encoded.dictionary.to_numpy(zero_copy_only=False).astype(object)
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return sorted_codes(codes, labels)

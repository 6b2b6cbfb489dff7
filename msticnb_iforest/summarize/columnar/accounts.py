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

from ...intkeys import text_order
from ..account_days import empty_account_days, profile_rows
from .inputs import _NS_PER_DAY, _run
from .query import _dropped, _stage

_NS_PER_HOUR = 3_600 * 10**9

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
    memory_limit: int | str | None = None,
    temp_directory: str | os.PathLike | None = None,
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
    memory_limit : int or str, optional
        The most memory the engine takes, in bytes or as a size such as
        ``"4G"`` (at least 64 MiB; default `DEFAULT_MEMORY_LIMIT`, 2 GiB).
        Past it the engine spills its sorts and aggregations to
        `temp_directory` instead of exhausting RAM; the summary is the same
        either way. It does not bound the returned table itself.
    temp_directory : path, optional
        Where the engine's scratch files (spills, CSV read once as Parquet)
        go: a subfolder of it, removed when the summary returns. By default
        one of the system's temporary folder (``TMPDIR``).

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
    table, dropped, _ = _run(
        source, start, end, _summarize_accounts, empty_account_days, memory_limit, temp_directory
    )
    return (table, dropped) if return_dropped else table


def _summarize_accounts(
    con: duckdb.DuckDBPyConnection, types: dict[str, str], start_ns: int | None, end_ns: int | None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Filter and decode the view ``raw``, then profile the kept rows; return it and the drops."""
    _stage(con, types, start_ns, end_ns)
    counts = con.execute("SELECT reason, count(*) AS n FROM kept GROUP BY reason").fetchnumpy()
    reason = np.asarray(counts["reason"], dtype=np.int64)
    dropped = _dropped(con, reason, np.asarray(counts["n"], dtype=np.int64))
    if not (reason == 0).any():
        return empty_account_days(), dropped
    labels = _code_tables(con)
    codes = ", ".join(f"c_{alias}.v AS {alias}" for alias in labels)
    joins = " ".join(f"JOIN c_{alias} ON kept.{alias} = c_{alias}.k" for alias in labels)
    # Logons of one day alike in every column the profile reads are one row, with
    # their count, first and last times and UTC hours as a mask of bits (the
    # profile weighs each row by the count; `account_extras.hour_masks`).
    hour = f"(t % {_NS_PER_DAY} + {_NS_PER_DAY}) % {_NS_PER_DAY} // {_NS_PER_HOUR}"
    con.execute(
        f"CREATE TEMP TABLE profiled AS SELECT min(t) AS t, max(t) AS t_last, count(*) AS n, ok, "
        f"bit_or(CAST(1 AS BIGINT) << CAST({hour} AS INTEGER)) AS hours, "
        f"{', '.join(labels)} FROM (SELECT t, t // {_NS_PER_DAY} AS day, ev = 4624 AS ok, {codes} "
        f"FROM kept {joins} WHERE reason = 0) GROUP BY day, ok, {', '.join(labels)}"
    )

    def fetch(alias: str) -> np.ndarray:
        return con.sql(f"SELECT {alias} FROM profiled").fetchnumpy()[alias]

    def text(alias: str) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(fetch(alias), dtype=np.int64), labels[alias]

    def column(name: str) -> tuple[np.ndarray, np.ndarray]:
        return text(_COLUMNS[name])

    time_ns = np.asarray(fetch("t"), dtype=np.int64)
    latest_ns = np.asarray(fetch("t_last"), dtype=np.int64)
    weight = np.asarray(fetch("n"), dtype=np.int64)
    success = np.asarray(fetch("ok"), dtype=bool)
    hours = np.asarray(fetch("hours"), dtype=np.int64)
    table = profile_rows(
        time_ns,
        success,
        text("dom"),
        text("usr"),
        column,
        weight=weight,
        latest_ns=latest_ns,
        hours=hours,
    )
    return table, dropped


def _code_tables(con: duckdb.DuckDBPyConnection) -> dict[str, np.ndarray]:
    """
    Give the distinct text of each kept column numbers in code point order, in one pass.

    Registers ``c_<alias>`` (k: text, v: its number) for every alias and
    returns each alias's text in number order.
    """
    aliases = ["dom", "usr", *_COLUMNS.values()]
    sets = ", ".join(f"({alias})" for alias in aliases)
    found = con.execute(
        f"SELECT {', '.join(aliases)}, GROUPING({', '.join(aliases)}) AS g "
        f"FROM kept WHERE reason = 0 GROUP BY GROUPING SETS ({sets})"
    ).df()
    every = (1 << len(aliases)) - 1
    labels = {}
    for i, alias in enumerate(aliases):
        values = found.loc[found["g"] == every ^ (1 << (len(aliases) - 1 - i)), alias]
        text = np.asarray(values, dtype=object)
        text = text[text_order(text)]
        labels[alias] = text
        con.register(
            f"c_{alias}_df", pd.DataFrame({"k": text, "v": np.arange(len(text), dtype=np.int64)})
        )
        con.execute(
            f"CREATE TEMP TABLE c_{alias} AS SELECT k, CAST(v AS INTEGER) AS v FROM c_{alias}_df"
        )
    return labels

r"""
The per-user-day summary computed by DuckDB, streaming from files or a frame.

(The per-account-day profile reads, decodes and filters the same way; see
`.accounts`.)

:func:`engine_user_day_summary` returns exactly what
`msticnb_iforest.summarize.user_days.user_day_summary` returns (same rows,
columns, dtypes and order), but the events are filtered, decoded and
aggregated by an embedded DuckDB database reading the files themselves
(Parquet, CSV, TSV, optionally gzipped) or a pandas DataFrame handed over
without copying its rows: events read from files are never loaded into
pandas. Values are read the way the readers in
`msticnb_iforest.sources.readers` and the decoders in
`msticnb_iforest.summarize.decode` read them; whatever needs Python's rules
(numbers written as text, upper-casing of domains, unusual time formats,
text of non-text values) is decided once per distinct value in Python and
joined back, never once per event.

What the pandas path does (and this module reproduces)
------------------------------------------------------
Filters (`summarize.events.select_network_logons`), in this order; a row
dropped is counted under the first reason that applies:

1. ``not_4624_4625``: ``EventID`` read as a number (numbers as they are;
   text stripped and parsed, ``" 4624 "`` is 4624; booleans and unreadable
   values are NaN) must be 4624 or 4625.
2. ``not_network_logon``: ``LogonTypeName == "3 - Network"``, case-sensitive
   (KQL ``==``); a value that is not text never matches.
3. ``system_or_anonymous`` (the query's ``account_exclusions``), only for
   successes (4624), with ``LogonType`` read as a number and the domain
   compared upper-cased (KQL ``=~``): logon type 3 with domain
   ``NT AUTHORITY`` or ``ANONYMOUS LOGON``; type 5 with ``NT AUTHORITY`` or
   ``SYSTEM``; type 2 with ``WINDOW MANAGER`` and a user starting with
   ``DWM-`` in any case (KQL ``startswith``); any type with
   ``NT VIRTUAL MACHINE``.
4. ``machine_account``: the user ends with ``$`` (KQL ``endswith``).
5. ``no_time``: ``TimeGenerated`` cannot be read. Datetimes are taken as
   they are (naive ones are UTC); text is trimmed and read as ISO 8601
   (with a zone or without, then UTC); other text (portal exports such as
   ``"9/19/2022, 11:29:46.297 PM"``) is parsed one distinct value at a time,
   numeric dates in one day/month order for all such values of the kept
   rows (`schema.numeric_dates_month_first`). Bare numbers are not times.
   If no row left by the filters above has a readable time, that is an
   error (`InputDataError`), not an empty result.
6. ``out_of_range``: outside ``start <= TimeGenerated <= end`` (inclusive,
   naive bounds are UTC).

Normalization: no identity normalization at all in this table. Text
columns are read as KQL strings: a missing value is ``""`` (the same value
as a real empty string), other non-text values are their text (a whole
float without ``.0``). ``DstDomain``/``DstUser`` are ``TargetDomainName`` and
``TargetUserName`` exactly as written (no trimming, case kept).

Aggregation, per (``Date`` = UTC day of ``TimeGenerated`` as
``yyyy-MM-dd``, ``DstDomain``, ``DstUser``, ``LogonTypeName`` = the constant
``"3 - Network"``), rows sorted by those keys (text by code point):
``AttemptedLogons`` rows; ``SuccessfulLogons``/``FailedLogons`` rows of 4624
and 4625; ``MAX_``/``MIN_TimeGenerated`` (UTC, nanoseconds kept);
``ComputerDomainsAccessed`` 1 (``TargetDomainName`` is a key);
exact distinct counts of ``AuthenticationPackageName``, ``Computer``,
``IpAddress`` and ``WorkstationName`` over all rows, and of ``Computer``,
``AccountDomain`` (a constant ``""`` when the column is absent),
``IpAddress`` and ``WorkstationName`` over successes (``""`` counts as a
value); ``ActiveMilliseconds`` = whole milliseconds of the latest minus
those of the earliest time (KQL ``datetime_diff("millisecond", ...)``).

How the engine is used
----------------------
Each column gets one SQL expression chosen by its type in DuckDB. Plain
text is compared and counted as it is (``coalesce(x, '')``). One first
pass (an aggregation with grouping sets) finds the distinct values that
need Python: ``EventID`` and ``LogonType`` written as text (read by
`decode._numbers`), text columns of other types (`decode.text_codes`),
the domains (their exclusion flags, from Python's upper-casing) and the
(domain, user) accounts, numbered in output order. These small
dictionaries are joined back. ISO 8601 times are read by the engine (only
the strict forms; a zoned time is its wall time minus its offset); other
time text of the kept rows is parsed once per distinct value by
`decode._parse_distinct`. A second pass counts the dropped rows by reason
and aggregates the kept ones: groups are keyed by (day, account number),
and each distinct count is a grouping set of (day, account, value), not a
per-group ``DISTINCT`` set. A CSV or TSV file is parsed once, into a
temporary Parquet file (its times read there) that the passes read.

A frame is handed over as an Arrow table: numbers as they are (no copy),
datetimes as their int64 UTC nanoseconds (a view), text columns of any
kind as dictionary arrays, codes over their distinct KQL text
(`decode.text_codes`, which factorizes shared string objects quickly), so
the engine never converts a Python string per row.

Known differences from the pandas path, all on hostile input only: a
frame column that is neither plain text nor numbers nor datetimes is
decoded on all its rows, not only the rows kept by the filters, so a value
of a dropped row that cannot be decoded at all (a list) is an error here;
an object column of mixed time values is read as a whole for the same
reason. Text that is not valid Unicode (lone surrogates) cannot be given
to the engine. CSV and TSV files are parsed by the engine's own reader, so
a damaged file may be refused with another message than the readers of
`msticnb_iforest.sources.readers` give. The readers' limits apply to
files that come as `EventFiles` from `sources.readers.scan_tables`
(``max_bytes`` and ``max_columns`` before any work, ``max_rows`` once a
file's rows are counted), not to paths given directly. A column named
``__TimeGenerated_ns`` is reserved.

Files of raw events
-------------------
`engine_summary` takes `EventFiles` (what the command line, LocalData and
`hunt` hand over): Parquet files are read where they are, CSV and TSV
files are staged once as above, and an event log's logon records are
decoded by `EventFiles.read_evtx` one file at a time and written to a
Parquet file of their own (times as nanosecond timestamps), so every part
stacks by column name. It returns each file's rows and format too.

Memory
------
Each summary runs in its own engine with a memory limit
(``memory_limit``, default :data:`DEFAULT_MEMORY_LIMIT`): what does not
fit spills to a scratch folder (``temp_directory``), which is removed with
the engine, so a very large input is slower rather than fatal.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import pandas as pd

from ...errors import ParameterError
from ...sources.readers.scan import EventFiles
from ..account_days import empty_account_days
from ..user_days import empty_summary
from .accounts import _summarize_accounts, engine_account_day_summary
from .inputs import DEFAULT_MEMORY_LIMIT, ENGINE_SUFFIXES, _run, engine_memory_limit
from .query import _summarize

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "ENGINE_SUFFIXES",
    "EngineSummary",
    "engine_account_day_summary",
    "engine_memory_limit",
    "engine_summary",
    "engine_user_day_summary",
]


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------
def engine_user_day_summary(
    source: pd.DataFrame | str | os.PathLike | Iterable[str | os.PathLike],
    *,
    start: Any = None,
    end: Any = None,
    return_dropped: bool = False,
    memory_limit: int | str | None = None,
    temp_directory: str | os.PathLike | None = None,
) -> pd.DataFrame | tuple[pd.DataFrame, dict[str, int]]:
    """
    Summarize raw logon events per account per day with DuckDB.

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
        The table `msticnb_iforest.summarize.user_days.user_day_summary`
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
    >>> columns = ["Date", "DstUser", "SuccessfulLogons", "FailedLogons", "DistinctSrcIp"]
    >>> engine_user_day_summary(events)[columns]
             Date DstUser  SuccessfulLogons  FailedLogons  DistinctSrcIp
    0  2024-05-01     bob                 1             1              2
    1  2024-05-02     bob                 1             0              1

    """
    summary, dropped, _ = _run(
        source, start, end, _summarize, empty_summary, memory_limit, temp_directory
    )
    return (summary, dropped) if return_dropped else summary


class EngineSummary(NamedTuple):
    """What `engine_summary` returns: the table, the rows dropped and the files read."""

    table: pd.DataFrame
    dropped: dict[str, int]
    inputs: list[dict[str, Any]]


def engine_summary(
    source: pd.DataFrame | EventFiles | str | os.PathLike | Iterable[str | os.PathLike],
    table: str = "user_day_summary",
    *,
    start: Any = None,
    end: Any = None,
    memory_limit: int | str | None = None,
    temp_directory: str | os.PathLike | None = None,
    progress: Callable[[str], None] | None = None,
) -> EngineSummary:
    """
    Summarize raw logon events into the table a feature set needs, with DuckDB.

    Parameters
    ----------
    source : pd.DataFrame, EventFiles, path or iterable of paths
        Raw ``SecurityEvent`` rows: a DataFrame, the files
        `msticnb_iforest.sources.readers.scan_tables` found (checked
        against its limits, event logs included), or files, folders and
        globs as `engine_user_day_summary` takes them.
    table : {"user_day_summary", "account_day_summary"}
        The table to compute (a feature set's ``query_name``).
    start, end : datetime-like, optional
        Inclusive bounds on ``TimeGenerated``; naive values are UTC.
    memory_limit, temp_directory : optional
        As in `engine_user_day_summary`.
    progress : callable, optional
        Told, at most every two seconds, which file is being read, and how
        many events are then summarized.

    Returns
    -------
    EngineSummary
        ``table``, ``dropped`` (rows per drop reason) and ``inputs`` (one
        ``{"path", "rows", "format"}`` entry per file read; none for a frame).

    Raises
    ------
    InputDataError
        If the input lacks required columns, a file cannot be read (the
        message names it) or is over ``max_rows``, or no candidate row has
        a readable time.
    ParameterError
        If `table` is not one of the two, or a bound or the memory limit is
        not valid.

    Examples
    --------
    >>> from msticnb_iforest.sources.readers import scan_tables
    >>> files, _ = scan_tables("exports/")  # doctest: +SKIP
    >>> found = engine_summary(files, "account_day_summary")  # doctest: +SKIP
    >>> [(item["format"], item["rows"]) for item in found.inputs]  # doctest: +SKIP
    [('parquet', 2000000), ('evtx', 3561)]

    """
    summarizers = {
        "user_day_summary": (_summarize, empty_summary),
        "account_day_summary": (_summarize_accounts, empty_account_days),
    }
    if table not in summarizers:
        raise ParameterError(f"table must be one of {sorted(summarizers)}, got {table!r}.")
    summarize, empty = summarizers[table]
    return EngineSummary(
        *_run(source, start, end, summarize, empty, memory_limit, temp_directory, progress)
    )

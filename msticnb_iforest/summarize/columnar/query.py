"""
The SQL of the engine's summary: decoded columns, filters, time text and the aggregation.

`_summarize` builds views over ``raw`` (see `.inputs`): ``decoded`` (one
expression per column, chosen by its DuckDB type, with small dictionaries
joined where Python's rules decide), ``staged`` (the first four drop
reasons), ``timed`` and ``kept`` (times and the last two reasons), then
counts the drops and aggregates the kept rows in one pass.
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ...errors import InputDataError
from ...schema import NETWORK_LOGON
from ..decode import _NAT, _numbers, _parse_distinct, text_codes
from ..events import DROP_REASONS
from ..user_days import _empty_summary, _utc_series
from .inputs import _NUMBER, _TEXT, _nullable_ns, _quote

_NS_PER_DAY = 86_400 * 10**9
_NS_PER_MS = 10**6

# Bits of the domain flags, from the upper-cased domain (KQL =~).
_DOMAIN_FLAGS = {
    "NT AUTHORITY": 1,
    "ANONYMOUS LOGON": 2,
    "SYSTEM": 4,
    "WINDOW MANAGER": 8,
    "NT VIRTUAL MACHINE": 16,
}

# ISO 8601 text the engine reads itself (stricter than the pandas path's
# patterns: valid hours, minutes and seconds only); other text is parsed
# once per distinct value in Python.
_HMS = r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?"
_ISO_NAIVE = rf"\d{{4}}-\d{{2}}-\d{{2}}([T ]{_HMS})?"
_ISO_ZONED = rf"(\d{{4}}-\d{{2}}-\d{{2}}[T ]{_HMS})(Z|([+-])([01]\d|2[0-3])(:?([0-5]\d))?)"


def _is_text(kind: str) -> bool:
    return kind == "VARCHAR"


def _is_number(kind: str) -> bool:
    return kind in (
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "FLOAT",
        "DOUBLE",
    ) or kind.startswith("DECIMAL")


def _dictionary(
    con: duckdb.DuckDBPyConnection, table: str, column: str, decode: Any, value_type: str
) -> str:
    """
    Register ``table`` (k, v): each distinct value of `column` and `decode` of it.

    `decode` takes a pandas Series of the distinct values (as the engine
    returns them) and returns one decoded value per entry. Returns the SQL
    of the joined value.
    """
    distinct = con.execute(f"SELECT DISTINCT {_quote(column)} AS k FROM raw").df()["k"]
    decoded = decode(distinct.astype(object) if distinct.dtype.kind == "O" else distinct)
    mapping = pd.DataFrame({"k": distinct, "v": decoded})
    con.register(table + "_df", mapping)
    con.execute(
        f"CREATE TEMP TABLE {table} AS SELECT k, CAST(v AS {value_type}) AS v FROM {table}_df"
    )
    return f"{table}.v"


def _columns_sql(con: duckdb.DuckDBPyConnection, types: dict[str, str]) -> tuple[list, list]:
    """Return the SELECT list of the decoded columns and the joins it needs."""
    select, joins = [], []

    def join(table: str, column: str) -> None:
        joins.append(f"LEFT JOIN {table} ON raw.{_quote(column)} = {table}.k")

    for column, alias in _NUMBER.items():
        kind = types[column]
        if _is_number(kind):
            select.append(f"CAST(raw.{_quote(column)} AS DOUBLE) AS {alias}")
        elif _is_text(kind):
            value = _dictionary(con, f"d_{alias}", column, _numbers, "DOUBLE")
            join(f"d_{alias}", column)
            select.append(f"{value} AS {alias}")
        else:
            select.append(f"CAST(NULL AS DOUBLE) AS {alias}")
    kind = types["LogonTypeName"]
    if _is_text(kind):
        select.append(f"coalesce(raw.\"LogonTypeName\" = '{NETWORK_LOGON}', false) AS net")
    elif kind == "BOOLEAN":
        select.append('coalesce(raw."LogonTypeName", false) AS net')
    else:
        select.append("false AS net")
    for column, alias in _TEXT.items():
        kind = types.get(column)
        if kind is None:  # absent AccountDomain: the constant ""
            select.append(f"'' AS {alias}")
        elif _is_text(kind):
            select.append(f"coalesce(raw.{_quote(column)}, '') AS {alias}")
        elif kind.startswith("ENUM"):
            select.append(f"coalesce(CAST(raw.{_quote(column)} AS VARCHAR), '') AS {alias}")
        else:

            def labels(values: pd.Series) -> np.ndarray:
                text = text_codes(values)
                return text.labels[text.codes]

            value = _dictionary(con, f"d_{alias}", column, labels, "VARCHAR")
            join(f"d_{alias}", column)
            select.append(f"coalesce({value}, '') AS {alias}")
    select.extend(_time_sql(types["TimeGenerated"]))
    return select, joins


def _time_sql(kind: str) -> list[str]:
    """Return the time as UTC nanoseconds where the engine reads it (``t_sql``), and its text."""
    column = 'raw."TimeGenerated"'
    if _is_number(kind):  # nanoseconds handed over by _frame_times
        return [f"CAST({column} AS BIGINT) AS t_sql", "CAST(NULL AS VARCHAR) AS t_txt"]
    if kind.startswith("TIMESTAMP"):
        return [f"epoch_ns({column}) AS t_sql", "CAST(NULL AS VARCHAR) AS t_txt"]
    if not _is_text(kind):
        return ["CAST(NULL AS BIGINT) AS t_sql", "CAST(NULL AS VARCHAR) AS t_txt"]
    text = f"trim({column})"
    tail = r"([+-])(\d{2}):?(\d{2})?$"
    offset = (
        f"(CASE WHEN regexp_extract({text}, '{tail}', 1) = '-' THEN -1 ELSE 1 END)"
        f" * (CAST(regexp_extract({text}, '{tail}', 2) AS BIGINT) * 3600"
        f" + coalesce(TRY_CAST(regexp_extract({text}, '{tail}', 3) AS BIGINT), 0) * 60)"
        " * 1000000000"
    )
    base = rf"regexp_replace({text}, '(Z|[+-]\d{{2}}(:?\d{{2}})?)$', '')"
    return [
        f"CASE WHEN regexp_full_match({text}, '{_ISO_NAIVE}')"
        f" THEN epoch_ns(TRY_CAST({text} AS TIMESTAMP_NS))"
        f" WHEN regexp_full_match({text}, '{_ISO_ZONED}')"
        f" THEN epoch_ns(TRY_CAST({base} AS TIMESTAMP_NS))"
        f" - CASE WHEN ends_with({text}, 'Z') THEN 0 ELSE {offset} END END AS t_sql",
        f"{column} AS t_txt",
    ]


# --------------------------------------------------------------------------
# Filters and aggregation
# --------------------------------------------------------------------------
# The account exclusions of the query (reason 3), on the decoded columns.
_EXCLUDED = """ev = 4624 AND (
    (lt = 3 AND (bits & 3) <> 0)
    OR (lt = 5 AND (bits & 5) <> 0)
    OR (lt = 2 AND (bits & 8) <> 0 AND regexp_matches(usr, '^[dD][wW][mM]-'))
    OR (bits & 16) <> 0)"""

# One pass: the day-account groups and, as grouping sets, their distinct values.
_AGGREGATE = """
WITH sets AS (
    SELECT day, dom, usr, GROUPING(pkg, comp, ip, host, adom) AS g,
        count(*) AS n, count(*) FILTER (WHERE ok) AS n_ok, bool_or(ok) AS any_ok,
        max(t) AS latest, min(t) AS earliest
    FROM (SELECT t // {day} AS day, ev = 4624 AS ok, * FROM kept WHERE reason = 0)
    GROUP BY GROUPING SETS ((day, dom, usr), (day, dom, usr, pkg), (day, dom, usr, comp),
        (day, dom, usr, ip), (day, dom, usr, host), (day, dom, usr, adom))
)
SELECT day, dom, usr,
    sum(n) FILTER (WHERE g = 31) AS attempted,
    sum(n_ok) FILTER (WHERE g = 31) AS successful,
    max(latest) AS latest, min(earliest) AS earliest,
    count(*) FILTER (WHERE g = 15) AS packages,
    count(*) FILTER (WHERE g = 23) AS computers,
    count(*) FILTER (WHERE g = 27) AS src_ips,
    count(*) FILTER (WHERE g = 29) AS src_hosts,
    count(*) FILTER (WHERE g = 23 AND any_ok) AS computers_ok,
    count(*) FILTER (WHERE g = 30 AND any_ok) AS account_domains_ok,
    count(*) FILTER (WHERE g = 27 AND any_ok) AS src_ips_ok,
    count(*) FILTER (WHERE g = 29 AND any_ok) AS src_hosts_ok
FROM sets GROUP BY day, dom, usr ORDER BY day, dom, usr
"""


def _summarize(
    con: duckdb.DuckDBPyConnection, types: dict[str, str], start_ns: int | None, end_ns: int | None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Filter, decode and aggregate the view ``raw``; return the summary and the drops."""
    select, joins = _columns_sql(con, types)
    con.execute(
        f"CREATE TEMP VIEW decoded AS SELECT {', '.join(select)} FROM raw {' '.join(joins)}"
    )
    _domain_flags(con)
    con.execute(
        f"""CREATE TEMP VIEW staged AS SELECT d.*, coalesce(f.v, 0) AS bits,
            CASE WHEN NOT coalesce(ev = 4624 OR ev = 4625, false) THEN 1
                WHEN NOT net THEN 2
                WHEN coalesce({_EXCLUDED}, false) THEN 3
                WHEN ends_with(usr, '$') THEN 4
                ELSE 0 END AS pre
            FROM decoded d LEFT JOIN d_flags f ON d.dom = f.k"""
    )
    time_join = _text_times(con)
    bounds = []
    if start_ns is not None:
        bounds.append(f"t < {int(start_ns)}")
    if end_ns is not None:
        bounds.append(f"t > {int(end_ns)}")
    outside = " OR ".join(bounds) if bounds else "false"
    time_value = "coalesce(s.t_sql, tm.v)" if time_join else "s.t_sql"
    join = "LEFT JOIN d_time tm ON s.t_txt = tm.k" if time_join else ""
    con.execute(f"""CREATE TEMP VIEW timed AS SELECT s.*, {time_value} AS t FROM staged s {join}""")
    con.execute(
        f"""CREATE TEMP VIEW kept AS SELECT *, CASE WHEN pre <> 0 THEN pre
                WHEN t IS NULL THEN 5 WHEN {outside} THEN 6 ELSE 0 END AS reason
            FROM timed"""
    )
    counts = dict(con.execute("SELECT reason, count(*) FROM kept GROUP BY reason").fetchall())
    dropped = {name: int(counts.get(i + 1, 0)) for i, name in enumerate(DROP_REASONS)}
    timed_rows = counts.get(0, 0) + counts.get(5, 0) + counts.get(6, 0)
    if timed_rows and timed_rows == counts.get(5, 0):
        sample = [row[0] for row in con.execute(_SAMPLE).fetchall()]
        raise InputDataError(
            "Column 'TimeGenerated' has no readable date/time values among the "
            f"{timed_rows} network logon row(s), e.g. {sample!r}."
        )
    if not counts.get(0, 0):
        return _empty_summary(), dropped
    found = con.sql(_AGGREGATE.format(day=_NS_PER_DAY)).to_arrow_table()
    return _table(found), dropped


_SAMPLE = "SELECT coalesce(t_txt, CAST(t_sql AS VARCHAR)) FROM kept WHERE reason = 5 LIMIT 3"


def _domain_flags(con: duckdb.DuckDBPyConnection) -> None:
    """Register ``d_flags`` (k, v): the exclusion flags of each distinct domain (if any)."""
    domains = [row[0] for row in con.execute("SELECT DISTINCT dom FROM decoded").fetchall()]
    upper = {name: bit for name, bit in _DOMAIN_FLAGS.items()}
    flagged = [(name, upper[name.upper()]) for name in domains if name.upper() in upper]
    mapping = pd.DataFrame(flagged or [("", 0)], columns=["k", "v"]).astype({"v": np.int64})
    con.register("d_flags_df", mapping if flagged else mapping.iloc[:0])
    con.execute("CREATE TEMP TABLE d_flags AS SELECT k, v FROM d_flags_df")


def _text_times(con: duckdb.DuckDBPyConnection) -> bool:
    """
    Parse the time text the engine could not read, once per distinct value.

    Only rows kept by the filters count (as in the pandas path, which reads
    times on the kept rows): their distinct text is parsed by
    `summarize.decode` (day/month order decided over all of it) and
    registered as ``d_time`` (k, v). Returns whether there was any.
    """
    query = (
        "SELECT DISTINCT t_txt FROM staged WHERE pre = 0 AND t_sql IS NULL AND t_txt IS NOT NULL"
    )
    texts = [row[0] for row in con.execute(query).fetchall()]
    if not texts:
        return False
    raw = pa.chunked_array([pa.array(texts, type=pa.string())])
    trimmed = pc.utf8_trim_whitespace(raw)
    blank = np.asarray(pc.equal(trimmed, "").to_numpy(), dtype=bool)
    parsed = np.full(len(texts), _NAT, dtype=np.int64)
    readable = np.flatnonzero(~blank)
    if len(readable):
        parsed[readable] = _parse_distinct(trimmed.take(pa.array(readable)))
    mapping = pd.DataFrame({"k": pd.Series(texts, dtype=object), "v": _nullable_ns(parsed)})
    con.register("d_time_df", mapping)
    con.execute("CREATE TEMP TABLE d_time AS SELECT k, v FROM d_time_df WHERE v IS NOT NULL")
    return True


def _table(found: pa.Table) -> pd.DataFrame:
    """Turn the engine's groups into the summary, with the pandas path's columns and dtypes."""

    def ints(name: str) -> np.ndarray:
        return found.column(name).to_numpy().astype(np.int64)

    days = ints("day")
    latest, earliest = ints("latest"), ints("earliest")
    attempted, successful = ints("attempted"), ints("successful")
    n_groups = len(days)
    columns = {
        "Date": np.datetime_as_string(days.astype("datetime64[D]")).astype(object),
        "DstDomain": np.asarray(found.column("dom").to_pylist(), dtype=object),
        "DstUser": np.asarray(found.column("usr").to_pylist(), dtype=object),
        "LogonTypeName": np.full(n_groups, NETWORK_LOGON, dtype=object),
        "AttemptedLogons": attempted,
        "MAX_TimeGenerated": _utc_series(latest),
        "MIN_TimeGenerated": _utc_series(earliest),
        "SuccessfulLogons": successful,
        "FailedLogons": attempted - successful,
        "ComputerDomainsAccessed": np.ones(n_groups, dtype=np.int64),
        "DistinctAuthenticationPackage": ints("packages"),
        "ComputersAccessed": ints("computers"),
        "DistinctSrcIp": ints("src_ips"),
        "DistinctSrcHostName": ints("src_hosts"),
        "ComputersSuccessfulAccess": ints("computers_ok"),
        "ComputerDomainsSuccessfulAccess": ints("account_domains_ok"),
        "SrcIpSuccessfulAccess": ints("src_ips_ok"),
        "SrcHostNameSuccessfulAccess": ints("src_hosts_ok"),
        "ActiveMilliseconds": np.floor_divide(latest, _NS_PER_MS)
        - np.floor_divide(earliest, _NS_PER_MS),
    }
    return pd.DataFrame(columns, copy=False)

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
from ...intkeys import sorted_codes
from ...schema import NETWORK_LOGON
from ..decode import _NAT, _numbers, _parse_distinct, text_codes
from ..events import DROP_REASONS
from ..user_days import empty_summary, utc_series
from .inputs import _NUMBER, _TEXT, _nullable_ns, _quote, _text_time_ns

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


def _distinct_values(
    con: duckdb.DuckDBPyConnection, columns: list[str]
) -> tuple[dict[str, pd.Series], pd.DataFrame]:
    """
    Return the distinct values of each of `columns` and the distinct accounts, in one pass.

    The accounts are the (``TargetDomainName``, ``TargetUserName``) pairs;
    everything is found by one aggregation with grouping sets.
    """
    pair = ["TargetDomainName", "TargetUserName"]
    names = list(dict.fromkeys([*columns, *pair]))
    quoted = [_quote(column) for column in names]
    sets = ", ".join([*(f"({_quote(c)})" for c in columns), f"({', '.join(map(_quote, pair))})"])
    found = con.execute(
        f"SELECT {', '.join(quoted)}, GROUPING({', '.join(quoted)}) AS g FROM raw "
        f"GROUP BY GROUPING SETS ({sets})"
    ).df()
    every = (1 << len(names)) - 1

    def bit(column: str) -> int:
        return 1 << (len(names) - 1 - names.index(column))

    def values(rows: pd.Series, column: str) -> pd.Series:
        taken = found.loc[rows, column].reset_index(drop=True)
        return taken.astype(object) if taken.dtype.kind == "O" else taken

    out = {column: values(found["g"] == every ^ bit(column), column) for column in columns}
    accounts = found["g"] == every ^ bit(pair[0]) ^ bit(pair[1])
    return out, pd.DataFrame({name: values(accounts, name) for name in pair})


def _labels(values: pd.Series) -> np.ndarray:
    """Return the KQL text of each value (`text_codes`: missing is ``""``)."""
    text = text_codes(values)
    return text.labels[text.codes]


def _register(
    con: duckdb.DuckDBPyConnection, table: str, keys: Any, values: Any, value_type: str
) -> None:
    """Register the dictionary ``table`` (k, v) in the engine."""
    con.register(f"{table}_df", pd.DataFrame({"k": keys, "v": values}))
    con.execute(
        f"CREATE TEMP TABLE {table} AS SELECT k, CAST(v AS {value_type}) AS v FROM {table}_df"
    )


def _columns_sql(con: duckdb.DuckDBPyConnection, types: dict[str, str]) -> tuple[list, list]:
    """
    Return the SELECT list of the decoded columns and the joins it needs.

    Numbers written as text, text of other types and the domains' flags
    come from dictionaries of distinct values, all found in one pass and
    decoded by `summarize.decode`; ``d_flags`` (domain text -> flag bits)
    is registered here too.
    """
    numbers = [c for c in _NUMBER if _is_text(types[c])]
    other_text = [
        c
        for c in _TEXT
        if c in types and not _is_text(types[c]) and not types[c].startswith("ENUM")
    ]
    wanted = list(dict.fromkeys([*numbers, *other_text, "TargetDomainName"]))
    distinct, accounts = _distinct_values(con, wanted)
    select, joins = [], []
    for column, alias in _NUMBER.items():
        kind = types[column]
        if _is_number(kind):
            select.append(f"CAST(raw.{_quote(column)} AS DOUBLE) AS {alias}")
        elif column in numbers:
            _register(con, f"d_{alias}", distinct[column], _numbers(distinct[column]), "DOUBLE")
            joins.append(f"LEFT JOIN d_{alias} ON raw.{_quote(column)} = d_{alias}.k")
            select.append(f"d_{alias}.v AS {alias}")
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
            _register(con, f"d_{alias}", distinct[column], _labels(distinct[column]), "VARCHAR")
            joins.append(f"LEFT JOIN d_{alias} ON raw.{_quote(column)} = d_{alias}.k")
            select.append(f"coalesce(d_{alias}.v, '') AS {alias}")
    domains = pd.unique(_labels(distinct["TargetDomainName"]))
    flags = np.array([_DOMAIN_FLAGS.get(name.upper(), 0) for name in domains], dtype=np.int64)
    _register(
        con, "d_flags", pd.Series(domains[flags > 0], dtype=object), flags[flags > 0], "BIGINT"
    )
    select.extend(_time_sql(types["TimeGenerated"], types))
    return select, joins, _accounts(con, accounts)


def _accounts(con: duckdb.DuckDBPyConnection, pairs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """
    Give the accounts (domain and user text) numbers in output order; register ``d_acc``.

    Returns the domain and user text of each account number. Groups are
    keyed by the number, so text is hashed once per row, not once per
    grouping set, and ordering by it orders by (domain, user) text.
    """
    domains = _labels(pairs["TargetDomainName"])
    users = _labels(pairs["TargetUserName"])
    domain_codes, domain_text = sorted_codes(*_factorized(domains))
    user_codes, user_text = sorted_codes(*_factorized(users))
    width = max(len(user_text), 1)
    keys = np.unique(domain_codes * width + user_codes)
    domain_of, user_of = domain_text[keys // width], user_text[keys % width]
    ids = np.arange(len(keys), dtype=np.int64)
    frame = pd.DataFrame({"a_dom": domain_of, "a_usr": user_of, "acc": ids})
    con.register("d_acc_df", frame)
    con.execute("CREATE TEMP TABLE d_acc AS SELECT a_dom, a_usr, acc FROM d_acc_df")
    return domain_of, user_of


def _factorized(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return codes and distinct values of an object array of str."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object))
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def _time_sql(kind: str, types: dict[str, str]) -> list[str]:
    """Return the time as UTC nanoseconds where the engine reads it (``t_sql``), and its text."""
    column = 'raw."TimeGenerated"'
    if _is_number(kind):  # nanoseconds handed over by _frame_times
        return [f"CAST({column} AS BIGINT) AS t_sql", "CAST(NULL AS VARCHAR) AS t_txt"]
    if kind.startswith("TIMESTAMP"):
        return [f"epoch_ns({column}) AS t_sql", "CAST(NULL AS VARCHAR) AS t_txt"]
    if not _is_text(kind):
        return ["CAST(NULL AS BIGINT) AS t_sql", "CAST(NULL AS VARCHAR) AS t_txt"]
    text_ns = _text_time_ns(column)
    if "__TimeGenerated_ns" in types:  # read once while a text file was staged
        staged = 'raw."__TimeGenerated_ns"'
        text_ns = f"CASE WHEN {staged} IS NOT NULL THEN {staged} ELSE {text_ns} END"
    return [f"{text_ns} AS t_sql", f"{column} AS t_txt"]


# --------------------------------------------------------------------------
# Filters and aggregation
# --------------------------------------------------------------------------
# The account exclusions of the query (reason 3), on the decoded columns.
_EXCLUDED = """ev = 4624 AND (
    (lt = 3 AND (bits & 3) <> 0)
    OR (lt = 5 AND (bits & 5) <> 0)
    OR (lt = 2 AND (bits & 8) <> 0 AND regexp_matches(usr, '^[dD][wW][mM]-'))
    OR (bits & 16) <> 0)"""

# One pass: the day-account groups of the kept rows and, as grouping sets, their
# distinct values; dropped rows (reason > 0) fall into one group per reason.
_AGGREGATE = """
WITH rows AS (
    SELECT reason, ev = 4624 AS ok, t,
        CASE WHEN reason = 0 THEN t // {day} END AS day,
        CASE WHEN reason = 0 THEN acc END AS acc,
        CASE WHEN reason = 0 THEN pkg END AS pkg, CASE WHEN reason = 0 THEN comp END AS comp,
        CASE WHEN reason = 0 THEN ip END AS ip, CASE WHEN reason = 0 THEN host END AS host,
        CASE WHEN reason = 0 THEN adom END AS adom
    FROM kept
), sets AS (
    SELECT reason, day, acc, GROUPING(pkg, comp, ip, host, adom) AS g,
        count(*) AS n, count(*) FILTER (WHERE ok) AS n_ok, bool_or(ok) AS any_ok,
        max(t) AS latest, min(t) AS earliest
    FROM rows
    GROUP BY GROUPING SETS ((reason, day, acc, pkg), (reason, day, acc, comp),
        (reason, day, acc, ip), (reason, day, acc, host), (reason, day, acc, adom))
)
SELECT reason, day, acc,
    sum(n) FILTER (WHERE g = 30) AS attempted,
    sum(n_ok) FILTER (WHERE g = 30) AS successful,
    max(latest) AS latest, min(earliest) AS earliest,
    count(*) FILTER (WHERE g = 15) AS packages,
    count(*) FILTER (WHERE g = 23) AS computers,
    count(*) FILTER (WHERE g = 27) AS src_ips,
    count(*) FILTER (WHERE g = 29) AS src_hosts,
    count(*) FILTER (WHERE g = 23 AND any_ok) AS computers_ok,
    count(*) FILTER (WHERE g = 30 AND any_ok) AS account_domains_ok,
    count(*) FILTER (WHERE g = 27 AND any_ok) AS src_ips_ok,
    count(*) FILTER (WHERE g = 29 AND any_ok) AS src_hosts_ok
FROM sets GROUP BY reason, day, acc ORDER BY reason, day, acc
"""


def _summarize(
    con: duckdb.DuckDBPyConnection, types: dict[str, str], start_ns: int | None, end_ns: int | None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Filter, decode and aggregate the view ``raw``; return the summary and the drops."""
    accounts = _stage(con, types, start_ns, end_ns)
    found = con.sql(_AGGREGATE.format(day=_NS_PER_DAY)).to_arrow_table()
    reason = found.column("reason").to_numpy()
    dropped = _dropped(con, reason, found.column("attempted").to_numpy())
    if not (reason == 0).any():
        return empty_summary(), dropped
    return _table(found.filter(pc.equal(found.column("reason"), 0)), accounts), dropped


def _stage(
    con: duckdb.DuckDBPyConnection, types: dict[str, str], start_ns: int | None, end_ns: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """
    Make the views ``decoded``, ``staged``, ``timed`` and ``kept`` over ``raw``.

    ``kept`` has every row with its drop ``reason`` (0: kept, else the
    1-based index in `DROP_REASONS`). Returns the accounts of `_accounts`.
    """
    select, joins, accounts = _columns_sql(con, types)
    con.execute(
        f"CREATE TEMP VIEW decoded AS SELECT {', '.join(select)} FROM raw {' '.join(joins)}"
    )
    con.execute(
        f"""CREATE TEMP VIEW staged AS SELECT d.*, a.acc, coalesce(f.v, 0) AS bits,
            CASE WHEN NOT coalesce(ev = 4624 OR ev = 4625, false) THEN 1
                WHEN NOT net THEN 2
                WHEN coalesce({_EXCLUDED}, false) THEN 3
                WHEN ends_with(usr, '$') THEN 4
                ELSE 0 END AS pre
            FROM decoded d LEFT JOIN d_flags f ON d.dom = f.k
            LEFT JOIN d_acc a ON d.dom = a.a_dom AND d.usr = a.a_usr"""
    )
    time_join = _is_text(types["TimeGenerated"]) and _text_times(con)
    bounds = []
    if start_ns is not None:
        bounds.append(f"t < {int(start_ns)}")
    if end_ns is not None:
        bounds.append(f"t > {int(end_ns)}")
    outside = " OR ".join(bounds) if bounds else "false"
    time_value = "coalesce(s.t_sql, tm.v)" if time_join else "s.t_sql"
    join = "LEFT JOIN d_time tm ON s.t_txt = tm.k" if time_join else ""
    con.execute(f"CREATE TEMP VIEW timed AS SELECT s.*, {time_value} AS t FROM staged s {join}")
    con.execute(
        f"""CREATE TEMP VIEW kept AS SELECT *, CASE WHEN pre <> 0 THEN pre
                WHEN t IS NULL THEN 5 WHEN {outside} THEN 6 ELSE 0 END AS reason
            FROM timed"""
    )
    return accounts


def _dropped(
    con: duckdb.DuckDBPyConnection, reason: np.ndarray, attempted: np.ndarray
) -> dict[str, int]:
    """
    Return the dropped rows per reason from row counts per `reason` (0: kept).

    Raises `InputDataError` when no row left by the first four filters has a
    readable time, as the pandas path does.
    """
    counts = {
        int(r): int(n) for r, n in zip(reason[reason > 0], attempted[reason > 0], strict=True)
    }
    dropped = {name: counts.get(i + 1, 0) for i, name in enumerate(DROP_REASONS)}
    timed_rows = int(attempted[reason == 0].sum()) + dropped["no_time"] + dropped["out_of_range"]
    if timed_rows and timed_rows == dropped["no_time"]:
        sample = [row[0] for row in con.execute(_SAMPLE).fetchall()]
        raise InputDataError(
            "Column 'TimeGenerated' has no readable date/time values among the "
            f"{timed_rows} network logon row(s), e.g. {sample!r}."
        )
    return dropped


_SAMPLE = "SELECT coalesce(t_txt, CAST(t_sql AS VARCHAR)) FROM kept WHERE reason = 5 LIMIT 3"


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


def _table(found: pa.Table, accounts: tuple[np.ndarray, np.ndarray]) -> pd.DataFrame:
    """Turn the engine's groups into the summary, with the pandas path's columns and dtypes."""

    def ints(name: str) -> np.ndarray:
        return found.column(name).to_numpy().astype(np.int64)

    days, account = ints("day"), ints("acc")
    latest, earliest = ints("latest"), ints("earliest")
    attempted, successful = ints("attempted"), ints("successful")
    n_groups = len(days)
    columns = {
        "Date": np.datetime_as_string(days.astype("datetime64[D]")).astype(object),
        "DstDomain": accounts[0][account],
        "DstUser": accounts[1][account],
        "LogonTypeName": np.full(n_groups, NETWORK_LOGON, dtype=object),
        "AttemptedLogons": attempted,
        "MAX_TimeGenerated": utc_series(latest),
        "MIN_TimeGenerated": utc_series(earliest),
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

"""
Pivots from a flagged user-day: safe query values and ready-to-run code.

Names come from the data being hunted, so they may hold quotes, backslashes
or newlines. Values substituted into KQL go through `kql_string`; names in
generated Python go through `repr`, which always yields a valid literal.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from ..params import check_table_name
from .display import safe_text

__all__ = [
    "account_links",
    "check_table_name",
    "kql_literal",
    "kql_string",
    "logons_kql",
    "outlier_pivots",
    "pivot_window",
]


def kql_string(value: str) -> str:
    """
    Escape a value for use inside a double-quoted KQL string literal.

    Backslashes, double quotes and line breaks are escaped so the value
    cannot end the literal or change the query's meaning.
    """
    text = str(value)
    for char, escaped in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r")):
        text = text.replace(char, escaped)
    return text


#: Most arguments a KQL ``strcat`` or ``unicode_codepoints_to_string`` call takes.
_KQL_MAX_ARGS = 64


def kql_literal(value: str) -> str:
    r"""
    Write a value as a KQL string expression that shows every character it holds.

    Runs of printable characters become double-quoted literals escaped with
    `kql_string`; characters that print as nothing or move text around (line
    breaks, tabs, bidi controls, zero-width characters) are written as their
    code points with ``unicode_codepoints_to_string``, joined with
    ``strcat``. So the query text matches the exact value, yet prints and
    pastes as plain visible text.

    Examples
    --------
    >>> kql_literal('o"brien')
    '"o\\"brien"'
    >>> kql_literal("ad\u202emin")
    'strcat("ad", unicode_codepoints_to_string(8238), "min")'

    """
    text = str(value)
    if safe_text(text) == text:
        return f'"{kql_string(text)}"'
    parts: list[str] = []
    run: list[str] = []
    codes: list[int] = []

    def flush() -> None:
        if run:
            parts.append(f'"{kql_string("".join(run))}"')
            run.clear()
        for start in range(0, len(codes), _KQL_MAX_ARGS):
            chunk = ", ".join(map(str, codes[start : start + _KQL_MAX_ARGS]))
            parts.append(f"unicode_codepoints_to_string({chunk})")
        codes.clear()

    for char in text:
        if safe_text(char) == char:
            if codes:
                flush()
            run.append(char)
        else:
            if run:
                flush()
            codes.append(ord(char))
    flush()
    while len(parts) > 1:
        groups = [parts[i : i + _KQL_MAX_ARGS] for i in range(0, len(parts), _KQL_MAX_ARGS)]
        parts = [g[0] if len(g) == 1 else f"strcat({', '.join(g)})" for g in groups]
    return parts[0]


# The first and last instants pandas can hold, to the microsecond (what a
# Python datetime keeps), as aware UTC datetimes.
_FIRST = pd.Timestamp.min.ceil("us").tz_localize("UTC").to_pydatetime()
_LAST = pd.Timestamp.max.floor("us").tz_localize("UTC").to_pydatetime()


def pivot_window(date: pd.Timestamp, days_before: int = 1, days_after: int = 1) -> tuple:
    """
    Return (start, end) datetimes around a flagged day for follow-up queries.

    The window is cut at the first and last instants pandas can hold, so a
    day at either end of the accepted range (1677-09-22, 2262-04-11) still
    gives a window that every downstream use can turn into a timestamp.
    """
    day = pd.Timestamp(date).normalize()
    if day.tzinfo is None:
        day = day.tz_localize("UTC")
    zone, day = day.tzinfo, day.tz_convert("UTC").to_pydatetime()
    start = max(day - timedelta(days=days_before), _FIRST)
    end = min(day + timedelta(days=1 + days_after), _LAST)
    return start.astimezone(zone), end.astimezone(zone)


def _kql_time(moment) -> str:
    """Write an aware datetime as a KQL ``datetime(...)`` literal in UTC."""
    stamp = pd.Timestamp(moment).tz_convert("UTC").tz_localize(None)
    return f"datetime({stamp.isoformat()}Z)"


def logons_kql(domain: str, user: str, date: pd.Timestamp, table: str = "SecurityEvent") -> str:
    r"""
    Write KQL for Sentinel Logs: an account's logons and failed logons on one day.

    Parameters
    ----------
    domain, user : str
        The account (``TargetDomainName``, ``TargetUserName``), matched
        case-insensitively; an empty domain is not matched on.
    date : pd.Timestamp
        The flagged day; the query covers it from midnight to midnight
        (`pivot_window` with no days before or after), in UTC.
    table : str, default="SecurityEvent"
        The table to query (checked with `check_table_name`).

    Returns
    -------
    str
        A query that lists the day's events 4624 (logon) and 4625 (failed
        logon) of the account, oldest first, with an ``Outcome`` column.
        Names are written with `kql_literal`, so any value is safe.

    Examples
    --------
    >>> day = pd.Timestamp("2024-03-21")
    >>> print(logons_kql("CONTOSO", "alice", day))  # doctest: +NORMALIZE_WHITESPACE
    // Logons and failed logons of CONTOSO\alice on 2024-03-21 (UTC)
    SecurityEvent
    | where TimeGenerated >= datetime(2024-03-21T00:00:00Z)
        and TimeGenerated < datetime(2024-03-22T00:00:00Z)
    | where EventID in (4624, 4625)
    | where TargetUserName =~ "alice"
    | where TargetDomainName =~ "CONTOSO"
    | extend Outcome = iff(EventID == 4625, "failed", "success")
    | project TimeGenerated, Outcome, Computer, LogonType, IpAddress, WorkstationName,
        TargetDomainName, TargetUserName, LogonProcessName, AuthenticationPackageName,
        Status, SubStatus
    | order by TimeGenerated asc

    """
    table = check_table_name(table)
    start, end = pivot_window(date, 0, 0)
    shown = safe_text(f"{domain}\\{user}", 120)
    lines = [
        f"// Logons and failed logons of {shown} on {pd.Timestamp(date):%Y-%m-%d} (UTC)",
        table,
        f"| where TimeGenerated >= {_kql_time(start)}",
        f"    and TimeGenerated < {_kql_time(end)}",
        "| where EventID in (4624, 4625)",
        f"| where TargetUserName =~ {kql_literal(user)}",
    ]
    if str(domain).strip():
        lines.append(f"| where TargetDomainName =~ {kql_literal(domain)}")
    lines += [
        '| extend Outcome = iff(EventID == 4625, "failed", "success")',
        "| project TimeGenerated, Outcome, Computer, LogonType, IpAddress, WorkstationName,",
        "    TargetDomainName, TargetUserName, LogonProcessName, AuthenticationPackageName,",
        "    Status, SubStatus",
        "| order by TimeGenerated asc",
    ]
    return "\n".join(lines)


def _code(domain: str, user: str, date: pd.Timestamp) -> str:
    day_start, day_end = pivot_window(date, 0, 0)
    win_start, win_end = pivot_window(date)
    kql_user = kql_string(user)
    return "\n".join(
        [
            "import msticnb as nb",
            "from msticpy.common.timespan import TimeSpan",
            "",
            f"# Flagged on {pd.Timestamp(date):%Y-%m-%d}: " + repr(f"{domain}\\{user}"),
            "acct_summary = nb.nblts.azsent.account.AccountSummary()",
            "acct_result = acct_summary.run(",
            f"    value={user!r},",
            f"    timespan=TimeSpan(start={win_start.isoformat()!r}, end={win_end.isoformat()!r}),",
            ")",
            "qry_prov = nb.DataProviders.current().query_provider",
            "logons = qry_prov.WindowsSecurity.list_logons_by_account(",
            f"    account_name={kql_user!r},",
            f"    start={day_start.isoformat()!r},",
            f"    end={day_end.isoformat()!r},",
            ")",
            "failed_logons = qry_prov.WindowsSecurity.list_logon_failures_by_account(",
            f"    account_name={kql_user!r},",
            f"    start={day_start.isoformat()!r},",
            f"    end={day_end.isoformat()!r},",
            ")",
        ]
    )


def account_links(outliers: pd.DataFrame) -> pd.DataFrame:
    """
    Build follow-up code for each outlier account (its highest-scoring day).

    Parameters
    ----------
    outliers : pd.DataFrame
        Flagged user-days with Date, DstDomain, DstUser, score; highest
        score first.

    Returns
    -------
    pd.DataFrame
        One row per account: DstDomain, DstUser, Date, score and ``code``,
        Python that runs AccountSummary for the account over the flagged
        day +/- 1 day and lists its logons and failed logons on that day.

    """
    columns = ["DstDomain", "DstUser", "Date", "score", "code"]
    if outliers.empty:
        return pd.DataFrame(columns=columns)
    first = outliers.drop_duplicates(["DstDomain", "DstUser"], keep="first")
    codes = [
        _code(dom, usr, day)
        for dom, usr, day in zip(first["DstDomain"], first["DstUser"], first["Date"], strict=True)
    ]
    frame = first[["DstDomain", "DstUser", "Date", "score"]].copy()
    frame["code"] = codes
    return frame.reset_index(drop=True)[columns]


def outlier_pivots(outliers: pd.DataFrame) -> pd.DataFrame:
    """
    Build the follow-up of every outlier: Python pivot code and KQL for Sentinel Logs.

    Parameters
    ----------
    outliers : pd.DataFrame
        Flagged user-days with Date, DstDomain, DstUser and score.

    Returns
    -------
    pd.DataFrame
        Same index and order as `outliers`: DstDomain, DstUser, Date, score,
        ``code`` (as in `account_links`, for that outlier's day) and ``kql``
        (`logons_kql` of that day).

    Examples
    --------
    >>> rows = pd.DataFrame({"Date": [pd.Timestamp("2024-03-21")], "DstDomain": ["D"],
    ...                      "DstUser": ["u"], "score": [0.1]})
    >>> "EventID in (4624, 4625)" in outlier_pivots(rows).loc[0, "kql"]
    True

    """
    columns = ["DstDomain", "DstUser", "Date", "score"]
    frame = outliers[columns].copy()
    keys = list(zip(frame["DstDomain"], frame["DstUser"], frame["Date"], strict=True))
    frame["code"] = [_code(dom, usr, day) for dom, usr, day in keys]
    frame["kql"] = [logons_kql(dom, usr, day) for dom, usr, day in keys]
    return frame

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

__all__ = ["account_links", "check_table_name", "kql_string", "pivot_window"]


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

"""
Raw logon events to per-account-day tables, and the one way into a hunt.

`user_day_summary` and `account_day_summary` do locally what the KQL queries
do in Log Analytics; `events` holds the event filter they share and `decode`
the reading of column values.
"""

from .account_days import account_day_summary
from .user_days import RAW_REQUIRED_COLUMNS, filter_network_logons, is_raw_events, user_day_summary

__all__ = [
    "RAW_REQUIRED_COLUMNS",
    "account_day_summary",
    "filter_network_logons",
    "is_raw_events",
    "user_day_summary",
]

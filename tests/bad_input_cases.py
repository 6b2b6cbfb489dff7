"""
The bad-input matrix shared by the test_bad_input*.py files: cases and checks.

A case turns a clean input (the original per-user-day demo table, or a small
generated company's raw events) into a bad one and says what every public
entry point must do with it: give a clean result (`Ok`: user-days, dropped
rows counted by reason, a note saying why when nothing is reported) or raise
one documented error (`Err`: type and a pattern its message must match).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from msticnb_iforest.errors import InputDataError
from msticnb_iforest.features import FEATURE_SETS
from msticnb_iforest.schema import MAX_COUNT, REQUIRED_SUMMARY_COLUMNS
from msticnb_iforest.summarize.user_days import RAW_REQUIRED_COLUMNS

FEATURE_SET_NAMES = sorted(FEATURE_SETS)
TREES = 10  # small forests: the outcome is under test here, not the scores
# Account names that break naive quoting, HTML, plots, terminals or spreadsheets.
HOSTILE = [
    'o\'brien "q" \\x',
    "line\nbreak\r",
    "=cmd|' /C calc'!A0",
    "$\\frac{a}{$-Zoë",
    "<b>tag</b>-名前",
]


# --------------------------------------------------------------------------
# The cases
# --------------------------------------------------------------------------
@dataclass
class Ok:
    """A clean result: `rows` user-days, these drops, a note matching `note`."""

    rows: int | None = None
    dropped: dict[str, int] = field(default_factory=dict)
    note: str | None = None
    same_scores: bool = False  # scores equal those of the unmodified input
    check: Callable[[pd.DataFrame], None] | None = None


@dataclass
class Err:
    """One documented error whose message matches `match`."""

    kind: type[Exception]
    match: str


def set_cells(frame: pd.DataFrame, col, rows, value) -> pd.DataFrame:
    """Return a copy of `frame` with `value` at (`rows`, `col`), columns made object."""
    out = frame.copy()
    out[col] = out[col].astype(object)
    out.loc[rows, col] = value
    return out


def _days(frame: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(frame["Date"], format="%m/%d/%Y")


def _mixed_formats(frame: pd.DataFrame) -> pd.DataFrame:
    days = _days(frame)
    forms = ["%Y-%m-%d", "%d %b %Y", "%m/%d/%Y", "%Y-%m-%dT12:00:00Z", "%Y-%m-%d 08:15:00+02:00"]
    text = [day.strftime(forms[i % len(forms)]) for i, day in enumerate(days)]
    return frame.assign(Date=text)


def _naive_and_aware(frame: pd.DataFrame) -> pd.DataFrame:
    days = list(_days(frame))
    mixed = [d.tz_localize("UTC") if i % 2 else d.to_pydatetime() for i, d in enumerate(days)]
    return frame.assign(Date=pd.Series(mixed, index=frame.index, dtype=object))


def hostile_names(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    users = sorted(out["DstUser"].unique())
    out["DstUser"] = out["DstUser"].replace(dict(zip(users, HOSTILE, strict=False)))
    out.loc[out["DstUser"] == HOSTILE[1], "DstDomain"] = 'DOM"\\ÄIN'
    return out


def _names_kept(user_days: pd.DataFrame) -> None:
    names = set(user_days["DstUser"])
    assert set(HOSTILE) <= names
    assert 'DOM"\\ÄIN' in set(user_days["DstDomain"])


def _finite(user_days: pd.DataFrame) -> None:
    assert np.isfinite(user_days["score"].to_numpy(dtype=float)).all()


def _keys_kept(user_days: pd.DataFrame) -> None:
    assert user_days.duplicated(["Date", "DstDomain", "DstUser"]).sum() > 0


def _none_everywhere(frame: pd.DataFrame) -> pd.DataFrame:
    """Column i is missing in row 7 * i: every column has a gap, each in its own row."""
    out = frame.astype(object)
    for i, col in enumerate(out.columns):
        out.loc[out.index[7 * i], col] = None
    return out


COUNTS = ["SuccessfulLogons", "FailedLogons", "ComputersSuccessfulAccess", "SrcIpSuccessfulAccess"]


def _summary_cases() -> list:
    """(id, make(table) -> frame, expected outcome, also through the CLI)."""
    cases = [
        ("original_duplicate_keys", lambda t: t, Ok(135, same_scores=True, check=_keys_kept)),
        (
            "counts_as_strings",
            lambda t: t.astype({c: str for c in COUNTS}),
            Ok(135, same_scores=True),
        ),
        ("everything_as_strings", lambda t: t.astype(str), Ok(135, same_scores=True)),
        (
            "counts_as_float_text",
            lambda t: t.assign(FailedLogons=t["FailedLogons"].map("{:.1f}".format)),
            Ok(135, same_scores=True),
        ),
        (
            "dates_iso",
            lambda t: t.assign(Date=_days(t).dt.strftime("%Y-%m-%d")),
            Ok(135, same_scores=True),
        ),
        ("dates_several_formats", _mixed_formats, Ok(135, same_scores=True)),
        ("dates_naive_and_aware_mixed", _naive_and_aware, Ok(135, same_scores=True)),
        (
            "dates_datetime64_utc",
            lambda t: t.assign(Date=_days(t).dt.tz_localize("UTC")),
            Ok(135, same_scores=True),
        ),
        (
            "date_in_another_zone",
            lambda t: set_cells(t, "Date", 0, "2022-09-19T23:30:00-05:00"),
            Ok(135),
        ),
        ("empty_with_columns", lambda t: t.iloc[0:0], Ok(0, note="no rows")),
        ("one_row", lambda t: t.iloc[:1], Ok(1)),
        ("one_account", lambda t: t[t["DstUser"] == "ACC-01"], Ok(27)),
        ("one_day", lambda t: t[t["Date"] == "9/19/2022"], Ok(7)),
        ("single_day_history_each", lambda t: t.drop_duplicates(["DstDomain", "DstUser"]), Ok(5)),
        ("duplicate_rows", lambda t: pd.concat([t, t], ignore_index=True), Ok(270)),
        ("duplicate_index", lambda t: t.set_axis([0] * len(t)), Ok(135, same_scores=True)),
        ("hostile_names", hostile_names, Ok(135, check=_names_kept)),
        (
            "enormous_counts",
            lambda t: set_cells(
                set_cells(t, "FailedLogons", 0, 10**15), "SuccessfulLogons", 1, float(MAX_COUNT)
            ),
            Ok(135, check=_finite),
        ),
        (
            "count_too_large",
            lambda t: set_cells(t, "SuccessfulLogons", 1, 1e300),
            Err(InputDataError, r"'SuccessfulLogons' must hold counts of at most .*2\*\*53"),
        ),
        ("future_date", lambda t: set_cells(t, "Date", 0, "2100-01-01"), Ok(135)),
        ("pre_1970_date", lambda t: set_cells(t, "Date", 0, "1965-03-01"), Ok(135)),
        ("nan_row", lambda t: set_cells(t, t.columns, 3, np.nan), Ok(134, {"no_date": 1})),
        ("none_in_Date", lambda t: set_cells(t, "Date", 5, None), Ok(134, {"no_date": 1})),
        ("none_in_every_column", _none_everywhere, Ok(134, {"no_date": 1})),
        ("all_counts_missing", lambda t: set_cells(t, COUNTS, t.index, None), Ok(135)),
        (
            "missing_column_" + "Date",
            lambda t: t.drop(columns="Date"),
            Err(InputDataError, "missing: Date"),
        ),
        (
            "all_dates_empty",
            lambda t: set_cells(t, "Date", t.index, None),
            Err(InputDataError, "Column 'Date' is empty in 135 of 135"),
        ),
        (
            "negative_count",
            lambda t: set_cells(t, "FailedLogons", 4, -3),
            Err(InputDataError, "'FailedLogons'.*negative"),
        ),
        (
            "fractional_count",
            lambda t: set_cells(t, "SuccessfulLogons", 4, 2.5),
            Err(InputDataError, "'SuccessfulLogons'.*whole-number"),
        ),
        (
            "infinite_count",
            lambda t: set_cells(t, "SrcIpSuccessfulAccess", 4, np.inf),
            Err(InputDataError, "'SrcIpSuccessfulAccess'.*infinite"),
        ),
        (
            "text_count",
            lambda t: set_cells(t, "FailedLogons", 4, "lots"),
            Err(InputDataError, "'FailedLogons'.*not numbers.*lots"),
        ),
        (
            "date_year_2999",
            lambda t: set_cells(t, "Date", 0, "2999-01-01"),
            Err(InputDataError, "'Date'.*outside the supported range.*2999"),
        ),
        (
            "date_year_1000",
            lambda t: set_cells(t, "Date", 0, "1000-01-01"),
            Err(InputDataError, "'Date'.*outside the supported range"),
        ),
        (
            "unreadable_date",
            lambda t: set_cells(t, "Date", 0, "last tuesday"),
            Err(InputDataError, "'Date'.*not dates.*last tuesday"),
        ),
        (
            "numbers_as_dates",
            lambda t: t.assign(Date=np.arange(len(t))),
            Err(InputDataError, "'Date'.*not dates"),
        ),
        (
            "duplicate_column",
            lambda t: pd.concat([t, t[["FailedLogons"]]], axis=1),
            Err(InputDataError, "Duplicate column.*FailedLogons"),
        ),
    ]
    for col in REQUIRED_SUMMARY_COLUMNS[1:]:
        cases.append(
            (
                f"missing_column_{col}",
                lambda t, c=col: t.drop(columns=c),
                Err(InputDataError, f"missing: {col}"),
            )
        )
    for col in ["DstUser", "FailedLogons"]:
        cases.append((f"none_in_{col}", lambda t, c=col: set_cells(t, c, 5, None), Ok(135)))
    return [pytest.param(make, expect, id=name) for name, make, expect in cases]


SUMMARY_CASES = _summary_cases()


def check_ok(expect: Ok, user_days, outliers, notes, dropped, reference=None) -> None:
    if expect.rows is not None:
        assert len(user_days) == expect.rows
    for reason, count in expect.dropped.items():
        assert dropped.get(reason) == count, dropped
    if expect.note:
        assert any(re.search(expect.note, note) for note in notes), notes
    if outliers.empty:  # an empty report always says why
        assert any(re.search(r"No user-day", note) for note in notes), notes
    if expect.same_scores:
        np.testing.assert_allclose(user_days["score"].to_numpy(), reference.to_numpy(), rtol=1e-12)
    if expect.check:
        expect.check(user_days)


# --------------------------------------------------------------------------
# Raw events
# --------------------------------------------------------------------------
def _several_time_formats(frame: pd.DataFrame) -> pd.DataFrame:
    times = frame["TimeGenerated"]
    forms = [
        list(times.dt.strftime("%m/%d/%Y, %I:%M:%S.%f %p")),  # portal export
        list(times.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")),
        list(times.dt.strftime("%Y-%m-%d %H:%M:%S.%f")),  # naive: UTC
        list(times.dt.tz_convert("Asia/Kolkata").dt.strftime("%Y-%m-%dT%H:%M:%S.%f%z")),
    ]
    text = [forms[i % len(forms)][i] for i in range(len(frame))]
    return frame.assign(TimeGenerated=pd.Series(text, index=frame.index, dtype=object))


def _naive_aware_times(frame: pd.DataFrame) -> pd.DataFrame:
    stamps = list(frame["TimeGenerated"])
    mixed = [s if i % 2 else s.tz_localize(None) for i, s in enumerate(stamps)]
    return frame.assign(TimeGenerated=pd.Series(mixed, index=frame.index, dtype=object))


def counted_rows(events: pd.DataFrame, n: int) -> pd.Index:
    """Labels of `n` rows the summary counts (network logons of user accounts)."""
    kept = (
        (events["LogonTypeName"] == "3 - Network")
        & ~events["TargetUserName"].str.endswith("$")
        & (events["TargetDomainName"] == events["TargetDomainName"].mode()[0])
    )
    return events.index[kept.to_numpy()][:n]


def _raw_names_kept(user_days: pd.DataFrame) -> None:
    # The baseline set's account profile shows each account's usual spelling, trimmed.
    assert {name.strip() for name in HOSTILE} <= {name.strip() for name in user_days["DstUser"]}


def _raw_hostile(frame: pd.DataFrame) -> pd.DataFrame:
    users = sorted(frame.loc[counted_rows(frame, len(frame)), "TargetUserName"].unique())
    mapping = dict(zip(users, HOSTILE, strict=False))
    return frame.assign(TargetUserName=frame["TargetUserName"].replace(mapping))


def _raw_cases() -> list:
    cases = [
        ("times_as_text_in_several_formats", _several_time_formats, Ok(same_scores=True)),
        ("times_naive_and_aware_mixed", _naive_aware_times, Ok(same_scores=True)),
        (
            "numbers_as_text",
            lambda e: e.astype({"EventID": str, "LogonType": str}).assign(
                EventID=lambda f: " " + f["EventID"] + " "
            ),
            Ok(same_scores=True),
        ),
        (
            "everything_as_text",
            lambda e: e.astype({c: str for c in e.columns if c != "TimeGenerated"}),
            Ok(same_scores=True),
        ),
        ("empty", lambda e: e.iloc[0:0], Ok(0, note="no rows")),
        ("duplicate_rows", lambda e: pd.concat([e, e], ignore_index=True), Ok()),
        ("hostile_names", _raw_hostile, Ok(check=_raw_names_kept)),
        (
            "future_and_pre_1970_times",
            lambda e: set_cells(
                set_cells(e, "TimeGenerated", 0, pd.Timestamp("2100-01-01", tz="UTC")),
                "TimeGenerated",
                1,
                pd.Timestamp("1965-01-01", tz="UTC"),
            ),
            Ok(),
        ),
        (
            "time_out_of_range_text",
            lambda e: set_cells(
                e.astype({"TimeGenerated": str}),
                "TimeGenerated",
                counted_rows(e, 2),
                "2999-01-01T00:00:00Z",
            ),
            Ok(dropped={"no_time": 2}),
        ),
        (
            "all_times_missing",
            lambda e: set_cells(e, "TimeGenerated", e.index, None),
            Err(InputDataError, "'TimeGenerated' has no readable date/time"),
        ),
        (
            "times_as_integers",
            lambda e: e.assign(TimeGenerated=e["TimeGenerated"].astype("int64")),
            Err(InputDataError, "'TimeGenerated' has no readable"),
        ),
        (
            "no_network_logon_at_all",
            lambda e: e.assign(LogonTypeName="2 - Interactive"),
            Ok(0, note=r"all [\d,]+ input row\(s\) were dropped"),
        ),
    ]
    for col in RAW_REQUIRED_COLUMNS:
        cases.append(
            (
                f"missing_{col}",
                lambda e, c=col: e.drop(columns=c),
                Err(InputDataError, f"missing: {col}"),
            )
        )
    cases.append(("none_in_every_column", _none_everywhere, Ok()))
    for col in ["TimeGenerated", "EventID", "TargetUserName", "LogonType"]:
        cases.append((f"none_in_{col}", lambda e, c=col: set_cells(e, c, e.index[::5], None), Ok()))
    return [pytest.param(make, expect, id=name) for name, make, expect in cases]


RAW_CASES = _raw_cases()


def accounted(events: pd.DataFrame, summary: pd.DataFrame, dropped: dict[str, int]) -> None:
    """Every input row is either counted in AttemptedLogons or dropped for a reason."""
    assert int(summary["AttemptedLogons"].sum()) + sum(dropped.values()) == len(events)

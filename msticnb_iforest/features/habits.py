"""
The ``habits`` feature set: the ``baseline`` set plus the habits a careful intruder breaks.

A loud attack (hundreds of failures, a spray, a burst of invented workstation
names) is found by the ``baseline`` set. A careful intruder uses valid
credentials, a few logons, familiar servers; what gives it away is that the
day does not fit the account's *habits*: the hour, the authentication
package, where it came from, how long the account had been quiet, and a
failing source that comes back day after day. This set keeps the
``baseline`` inputs but one (see the end) and adds one for each of those
habits, each measured against the same account's other days (leave one day
out).

Model inputs added to those of `msticnb_iforest.features.baseline`:

``new_source_nets``
    How surprising the day's new source *networks* are (an IPv4 address's
    /24, see ``NovelSrcNet``), scored like the other novelty inputs. A
    workstation whose DHCP lease changes gets new addresses in its usual
    network, which this input does not count; a source from a network the
    account never used does.
``off_hours``
    How unusual the day's hours of successful logons are for the account:
    for each hour of the day (UTC) with a successful logon, the share ``p``
    of the account's other days with a successful logon in that hour or
    the hours next to it (with a prior of half a day); the input is
    ``log(1 - log p)`` of the least usual hour. A 3 a.m. logon of a day
    worker scores high; a night-shift worker's 3 a.m. does not.
``ntlm_unusual``
    NTLM where the account uses Kerberos: on a day with successful NTLM
    logons, ``log(1 - log p)`` where ``p`` is the share of the account's
    other days with successful logons that had any NTLM (prior: half a
    day), times the NTLM share of the day's NTLM and Kerberos logons. An
    account that always authenticates with NTLM scores about 0. A stray
    NTLM logon among a day of Kerberos ones is how Windows falls back now
    and then (a share reached by address, an old client) and scores little;
    a day whose logons are all NTLM is another way of logging on, the way a
    stolen hash or a tool logs on, and scores in full.
``others_workstation``
    ``log(1 + n)`` for the ``n`` source hosts new to the account that are
    another account's usual workstation (``NovelSrcHostOthers``): an admin
    or service account used from somebody's desk.
``failing_days``
    A failing source that comes back: ``log(1 + d - 1)`` where ``d`` is the
    most days in the window on which one address, which had sent no
    successful logon for the account on that day or before, failed for it
    (``FailedSrcIpDays``), scaled down by the share of the account's other
    days that had such an address too (a scanner's account fails every
    day). A slow brute force scores on its first days as well as its last;
    the account's own workstation failing with a stale password does not.
``dormant_days``
    How long the account had been quiet: ``log(1 + max(0, gap - usual))``
    where ``gap`` is the days since the account's previous day with a
    logon in the window and ``usual`` the larger of a week and the 90th
    percentile of its other gaps. 0 on an account's first day in the
    window (a new account, or one quiet since before the window: the
    explanation says which it cannot tell).

And one baseline input left out: ``failed_vs_usual``. For most accounts the
usual day has no failure (or one), and then the deviation is a monotone
function of the day's failures: on the benchmark enterprises' days with
failures it ranks them almost as ``failed_logons`` does (rank correlation
0.8-0.9). With ``failing_days`` also about failures, the forest would weigh
one failure burst (a password change, a user's typos) three times, and a
day that breaks only one habit (a borrowed workstation, a long silence)
would sink below the many benign days with failures. The persistence
(``failing_days``) and the spray input stay, and the explanations still say
the account's usual failures. A table without ``FailedSrcIpDays`` (the
``user_day_summary`` columns only) keeps ``failed_vs_usual``: there it is the
only input about the account's habit of failing.

The magnitude, ``failed_logons``, is weighed against the population: it is
scaled down on days when many more accounts than usual fail more than their
own usual (a password-change deadline, an outage), by ``1 - excess /
CROWD_SHARE`` (not below 0). ``excess`` is the part of the day's *other*
accounts whose failures are at least one robust unit above their usual,
minus that part on the window's median day (some accounts mistype every
day); it is 0 when fewer than `CROWD_MIN` other accounts fail (in a small
table, one other account's mistyped password is no crowd). One account's
burst alone keeps its full weight.

Unless the caller sets ``contamination``, this set reports the top 0.5 %
of account-days rather than 1 %: its inputs rank the careful kinds higher,
and at 1 % most of what is reported is benign (see the README's detection
section).

The hour, package, network, workstation and persistence inputs need the
columns the ``account_day_summary`` query and the local summarizers add for
them (``SuccessHours``, ``NtlmLogons``, ``NovelSrcNet``,
``NovelSrcHostOthers``, ``FailedSrcIpDays``); a table without them gets the
inputs it can have, and a note says which were left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .base import FeatureFrame
from .baseline import (
    BASELINE_FEATURES,
    NOVELTY_PRIOR,
    BaselineFeatures,
    account_days,
    count_column,
)
from .baseline_reasons import feature_clauses
from .habits_reasons import HABIT_NOVELTY, habit_clauses, habit_feature_clauses
from .history import AccountDays, loo_quantiles, loo_sums

__all__ = ["HABIT_FEATURES", "LEFT_OUT", "HabitsFeatures"]

#: A day on which this share of accounts more than on the median day fails more
#: than usual explains a failure burst.
CROWD_SHARE = 0.1
#: ... when at least this many other accounts do (two other accounts are no crowd).
CROWD_MIN = 3
#: Baseline inputs this set does not give the model (see the module docstring).
LEFT_OUT = ("failed_vs_usual",)
#: Gaps up to this many days are never unusual (weekends, a long weekend, a short leave).
USUAL_GAP = 7
#: Hours next to a usual one count as usual (one hour on each side, circular).
HOUR_SPREAD = 1
#: Account-days per block of the hour profile's passes (whole accounts per block).
_HOUR_BLOCK = 32_768

#: Model inputs, in model order (those the table allows are used).
HABIT_FEATURES = [
    *(name for name in BASELINE_FEATURES if name not in LEFT_OUT),
    "new_source_nets",
    "off_hours",
    "ntlm_unusual",
    "others_workstation",
    "failing_days",
    "dormant_days",
]

#: Columns each added input needs.
_NEEDS = {
    "off_hours": ("SuccessHours",),
    "ntlm_unusual": ("NtlmLogons", "KerberosLogons", "SuccessfulLogons"),
    "others_workstation": ("NovelSrcHostOthers",),
    "failing_days": ("FailedSrcIpDays",),
}
_ALL_HOURS = (1 << 24) - 1


def _surprise(share_days: np.ndarray, days: np.ndarray) -> np.ndarray:
    """``log(1 - log p)`` for ``p = (share_days + 0.5) / (days + 1)``."""
    p = (share_days + NOVELTY_PRIOR[0]) / (days + NOVELTY_PRIOR[1])
    return np.log1p(-np.log(np.clip(p, 1e-12, 1.0)))


def _hour_masks(table: pd.DataFrame, units: AccountDays) -> np.ndarray:
    """Combine the rows' ``SuccessHours`` masks per account-day (int64, bitwise or)."""
    raw = pd.to_numeric(table["SuccessHours"], errors="coerce").fillna(0).to_numpy()
    masks = np.clip(raw, 0, _ALL_HOURS).astype(np.int64)
    per_unit = np.zeros(units.n_units, dtype=np.int64)
    np.bitwise_or.at(per_unit, units.row_unit, masks)
    return per_unit


def _spread(masks: np.ndarray) -> np.ndarray:
    """Widen each mask by `HOUR_SPREAD` hours on each side, around midnight too."""
    out = masks.copy()
    for step in range(1, HOUR_SPREAD + 1):
        out |= ((masks << step) | (masks >> (24 - step))) & _ALL_HOURS
        out |= ((masks >> step) | (masks << (24 - step))) & _ALL_HOURS
    return out


def hour_surprise(
    account: np.ndarray, masks: np.ndarray, *, by_account: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """
    Score each account-day's hours against the account's other days.

    Parameters
    ----------
    account : np.ndarray
        Per account-day, its account code (0..k-1).
    masks : np.ndarray
        Per account-day, a 24-bit mask of the UTC hours with a successful logon.
    by_account : np.ndarray, optional
        A permutation that puts the account-days in account order (as
        ``numpy.argsort(account, kind="stable")``, `AccountDays.by_account`).

    Returns
    -------
    tuple of np.ndarray
        Per account-day: the ``off_hours`` input, the least usual hour (-1
        on a day without successful logons), the other days with a logon
        in or next to that hour, the mask of the hours the account used
        on at least a tenth of its other days with logons, and the number
        of those other days.

    Examples
    --------
    >>> day_worker = [0b111111111 << 8] * 9 + [1 << 3]
    >>> value, hour, days, usual, _ = hour_surprise(np.zeros(10, int), np.array(day_worker))
    >>> int(hour[-1]), int(days[-1]), round(float(value[-1]), 2)
    (3, 0, 1.39)
    >>> round(float(value[0]), 2)
    0.15

    """
    masks = np.asarray(masks, dtype=np.int64)
    account = np.asarray(account, dtype=np.int64)
    if by_account is None:
        by_account = np.argsort(account, kind="stable")
    # In account order each account's days are one run: its sums are a reduceat
    # and their broadcast a repeat. Blocks of whole accounts keep the 24 passes'
    # arrays in the CPU cache (on 10M days, memory traffic is the cost).
    sizes = np.bincount(account) if len(account) else np.zeros(0, dtype=np.int64)
    sizes = sizes[sizes > 0]
    ends = np.cumsum(sizes)
    cuts = np.searchsorted(ends, np.arange(_HOUR_BLOCK, len(masks), _HOUR_BLOCK), side="right")
    bounds = np.unique(np.r_[0, cuts, len(sizes)])
    ordered = masks[by_account]
    results = [
        np.empty(len(masks)),
        np.empty(len(masks), dtype=np.int64),
        np.empty(len(masks)),
        np.empty(len(masks), dtype=np.int64),
        np.empty(len(masks)),
    ]
    for first, last in zip(bounds[:-1], bounds[1:], strict=True):
        rows = slice(ends[first - 1] if first else 0, ends[last - 1])
        for store, part in zip(
            results, _hour_passes(sizes[first:last], ordered[rows]), strict=True
        ):
            store[rows] = part
    for store in results:
        store[by_account] = store.copy()
    return tuple(results)


def _hour_passes(sizes: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, ...]:
    """`hour_surprise` of account-days in account order; `sizes`: days per account, in order."""
    starts = np.cumsum(sizes) - sizes

    def others_of(flags: np.ndarray) -> np.ndarray:
        """Per day, how many other days of its account have the flag."""
        if not len(flags):
            return flags
        return np.repeat(np.add.reduceat(flags, starts), sizes) - flags

    wide = _spread(masks)
    days = others_of((masks > 0).astype(np.int64)).astype(np.float64)
    floor = 0.1 * np.maximum(days, 1.0)
    # Within a row the share grows with `others`, so the least usual hour is the
    # own hour with the fewest other days (the earliest on a tie): its cost is
    # computed once, after the passes, not once per hour.
    fewest = np.full(len(masks), np.inf)
    hour = np.full(len(masks), -1, dtype=np.int64)
    usual = np.zeros(len(masks), dtype=np.int64)
    # One hour at a time: 24 passes over 1-D arrays, no (rows x 24) matrix.
    for h in range(24):
        others = others_of((wide >> h) & 1)
        usual |= (others >= floor).astype(np.int64) << h
        better = (others < fewest) & ((masks >> h) & 1).astype(bool)
        np.copyto(fewest, others, where=better)
        np.copyto(hour, h, where=better)
    seen = np.where(hour >= 0, fewest, 0.0)
    share = (seen + NOVELTY_PRIOR[0]) / (days + NOVELTY_PRIOR[1])
    worst = np.where(hour >= 0, -np.log(np.clip(share, 1e-12, 1.0)), -1.0)
    value = np.log1p(np.maximum(worst, 0.0))
    return value, hour, seen, usual, days


def _day_numbers(dates: pd.Series) -> np.ndarray:
    """Whole days since the epoch of each row's Date."""
    stamps = pd.to_datetime(dates, utc=True, errors="coerce")
    return (stamps.dt.tz_localize(None).to_numpy().astype("datetime64[D]")).astype(np.int64)


def quiet_gaps(account: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """
    Days since each account-day's previous day of the same account, and its usual gap.

    Parameters
    ----------
    account, day : np.ndarray
        Per account-day: account code and day number (distinct pairs).

    Returns
    -------
    tuple of np.ndarray
        The gap in days (0 on an account's first day) and the larger of
        `USUAL_GAP` and the 90th percentile of the account's other gaps.

    Examples
    --------
    >>> gap, usual = quiet_gaps(np.zeros(5, int), np.array([0, 1, 2, 3, 30]))
    >>> gap.tolist(), usual.tolist()
    ([0, 1, 1, 1, 27], [7.0, 21.8, 21.8, 21.8, 7.0])

    """
    order = np.lexsort((day, account))
    gap = np.zeros(len(day), dtype=np.int64)
    sorted_day, sorted_account = day[order], account[order]
    same = np.r_[False, sorted_account[1:] == sorted_account[:-1]]
    gap[order] = np.where(same, sorted_day - np.r_[sorted_day[:1], sorted_day[:-1]], 0)
    has_gap = gap > 0
    usual = np.full(len(day), float(USUAL_GAP))
    if has_gap.any():
        (q90,), _ = loo_quantiles(account[has_gap], gap[has_gap].astype(np.float64), (0.9,))
        usual[has_gap] = np.fmax(np.nan_to_num(q90, nan=0.0), USUAL_GAP)
    return gap, usual


class HabitsFeatures(BaselineFeatures):
    """The ``baseline`` inputs but one, plus hours, package, networks, hosts, persistence, gaps."""

    name = "habits"
    description = (
        "The baseline inputs plus what a careful intruder changes: the hours of the "
        "day, NTLM where the account uses Kerberos, new source networks, another "
        "account's workstation, a failing source that comes back, a long quiet spell "
        "(failures weighed once: no deviation from the usual failures)."
    )
    #: Reported share of account-days: at 0.01 the noisy benchmark enterprises
    #: gave about 6 false alerts per 1,000 accounts a day, at 0.005 about 1.
    contamination = 0.005
    novelty_columns = HABIT_NOVELTY
    # The baseline set also computes what this one leaves out: the crowd needs it.
    feature_order = (*HABIT_FEATURES, *LEFT_OUT)
    trend_columns = (*BaselineFeatures.trend_columns, "NtlmLogons", "NovelSrcNet")

    def compute(self, table: pd.DataFrame) -> FeatureFrame:
        """Compute the baseline inputs and the habit inputs the table's columns allow."""
        units = account_days(table)
        base = self._compute_on(table, units)
        values = dict(base.values.items())
        context = dict(base.context.items())
        enough = units.other_days >= self.min_history_days
        missing = [
            f"{feature} ({', '.join(c for c in cols if c not in table.columns)})"
            for feature, cols in _NEEDS.items()
            if not all(c in table.columns for c in cols)
        ]
        have = {f for f in _NEEDS if all(c in table.columns for c in _NEEDS[f])}
        self._crowd(table, units, values, context)
        if "off_hours" in have:
            masks = _hour_masks(table, units)
            value, hour, days, usual, active = hour_surprise(
                units.unit_account, masks, by_account=units.by_account
            )
            values["off_hours"] = units.to_rows(np.where(enough, value, 0.0))
            context["odd_hour"] = units.to_rows(hour)
            context["odd_hour_days"] = units.to_rows(days)
            context["usual_hours"] = units.to_rows(usual)
            context["hour_days"] = units.to_rows(active)
        if "ntlm_unusual" in have:
            ntlm_logons = units.unit_sum(count_column(table, "NtlmLogons"))
            kerberos = units.unit_sum(count_column(table, "KerberosLogons"))
            ntlm = ntlm_logons > 0
            share = ntlm_logons / np.maximum(ntlm_logons + kerberos, 1.0)
            success = (units.unit_sum(count_column(table, "SuccessfulLogons")) > 0).astype(float)
            ntlm_days = loo_sums(units.unit_account, ntlm.astype(float))
            days = loo_sums(units.unit_account, success)
            value = np.where(ntlm & enough, _surprise(ntlm_days, days) * share, 0.0)
            values["ntlm_unusual"] = units.to_rows(value)
            context["ntlm_days"] = units.to_rows(ntlm_days)
            context["logon_days"] = units.to_rows(days)
        if "others_workstation" in have:
            values["others_workstation"] = np.log1p(count_column(table, "NovelSrcHostOthers"))
        if "failing_days" in have:
            self._failing(table, units, values, context)
        gap, usual_gap = quiet_gaps(units.unit_account, self._unit_days(table, units))
        values["dormant_days"] = units.to_rows(np.log1p(np.maximum(0.0, gap - usual_gap)))
        context["quiet_days"] = units.to_rows(gap)
        context["usual_gap"] = units.to_rows(usual_gap)
        notes = list(base.notes)
        if missing:
            notes.append(
                "Habit inputs not computed because the table lacks their columns: "
                + "; ".join(missing)
                + ". Query AnomalousLogons.account_day_summary (or pass raw logon "
                "events) to get them."
            )
        # Without the persistence column the deviation is the only habit of failing.
        kept = HABIT_FEATURES if "failing_days" in values else self.feature_order
        ordered = {name: values[name] for name in kept if name in values}
        return FeatureFrame(
            values=pd.DataFrame(ordered, index=table.index, copy=False),
            context=pd.DataFrame(context, index=table.index, copy=False),
            notes=notes,
        )

    @staticmethod
    def _unit_days(table: pd.DataFrame, units: AccountDays) -> np.ndarray:
        per_row = _day_numbers(table["Date"])
        per_unit = np.zeros(units.n_units, dtype=np.int64)
        per_unit[units.row_unit] = per_row
        return per_unit

    @staticmethod
    def _crowd(table, units, values, context) -> None:
        """Scale the failure magnitude down on days when many accounts fail more than usual."""
        if "failed_vs_usual" not in values or "failed_logons" not in values:
            return
        # The deviation the baseline set computed (not a model input here) says who failed
        # more than usual.
        deviation = np.asarray(values["failed_vs_usual"], dtype=np.float64)
        day = pd.factorize(table["Date"].to_numpy())[0]
        high = np.bincount(units.row_unit, weights=(deviation >= np.log(2.0)).astype(float))
        unit_day = np.zeros(units.n_units, dtype=np.int64)
        unit_day[units.row_unit] = day
        accounts = np.bincount(unit_day, minlength=day.max(initial=-1) + 1)
        unit_high = (high > 0).astype(float)
        busy = np.bincount(unit_day, weights=unit_high, minlength=len(accounts))
        # The other accounts of the day: an account's own burst is not its excuse.
        others = busy[unit_day] - unit_high
        share = others / np.maximum(accounts[unit_day] - 1, 1)
        # Against the usual day: some accounts mistype every day.
        usual = float(np.median(busy / np.maximum(accounts, 1))) if len(accounts) else 0.0
        excess = np.maximum(share - usual, 0.0)
        crowd = units.to_rows(np.where(others >= CROWD_MIN, excess, 0.0))
        magnitude = np.asarray(values["failed_logons"], dtype=np.float64)
        values["failed_logons"] = magnitude * np.clip(1.0 - crowd / CROWD_SHARE, 0.0, 1.0)
        context["failed_crowd"] = crowd

    @staticmethod
    def _failing(table, units, values, context) -> None:
        """Score a failing source that comes back, less when the account often has one."""
        days = units.unit_sum(count_column(table, "FailedSrcIpDays")) > 0
        per_unit = np.zeros(units.n_units)
        np.maximum.at(per_unit, units.row_unit, count_column(table, "FailedSrcIpDays"))
        usual = loo_sums(units.unit_account, days.astype(float))
        share = usual / np.maximum(units.other_days, 1)
        value = np.log1p(np.maximum(per_unit - 1.0, 0.0)) * (1.0 - np.clip(share, 0.0, 1.0))
        values["failing_days"] = units.to_rows(value)
        context["failing_other_days"] = units.to_rows(usual)

    # ---------------------------------------------------------------- explain
    def evidence(self, row: pd.Series, feature: str) -> str:
        """Describe one feature of a flagged row in the table's own terms."""
        found = feature_clauses(row, feature, HABIT_NOVELTY, extra=habit_feature_clauses)
        if not found:
            return super().evidence(row, feature)
        return "; ".join(item["text"] for item in found)

    def clauses(self, row, top_features, attribution=None) -> list[dict]:
        """Tell the reason as clauses: the baseline set's, then the habits' in their own words."""
        return habit_clauses(row, top_features, attribution)

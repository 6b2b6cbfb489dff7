"""
Plant synthetic attacks into a copy of the user's own logon events.

`plant_attacks` learns the data's accounts, servers, workstations and address
ranges (`selftest.profile`), plants every requested kind of attack
(`selftest.kinds.KINDS`) at each intensity on a different victim account,
and returns the combined events with the planted rows marked (`Planted`).
The input is never modified.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputDataError, ParameterError
from ..schema import EVENT_COLUMNS, NETWORK_LOGON, clean_name, is_raw_events, is_summary_table
from .kinds import CannotPlantError, Label, Planter
from .names import INTENSITIES, KINDS
from .profile import DAY_NS, DataProfile, learn_profile

__all__ = ["INTENSITIES", "KINDS", "MARK_COLUMNS", "Planted", "plant_attacks"]

#: Columns added to every row of the combined events.
MARK_COLUMNS = ("Planted", "PlantedKind", "PlantedIntensity", "PlantedId")

_LABEL_COLUMNS = ["id", "kind", "intensity", "account", "accounts", "day", "n_events", "detail"]


@dataclass
class Planted:
    r"""
    The user's events with synthetic attacks added (see `plant_attacks`).

    Attributes
    ----------
    events : pd.DataFrame
        A copy of the input rows followed by the planted rows, with the
        columns ``Planted`` (bool), ``PlantedKind``, ``PlantedIntensity``
        (text, "" on the input's rows) and ``PlantedId`` (0 on the input's
        rows).
    attacks : pd.DataFrame
        One row per planted attack: ``id``, ``kind``, ``intensity``,
        ``account`` (the victim, ``DOMAIN\user``; the first one of a
        spray), ``accounts`` (list of (domain, user)), ``day`` (UTC date),
        ``n_events``, ``detail``.
    skipped : pd.DataFrame
        The requested (kind, intensity) pairs not planted, with the
        ``reason``.
    account_days : pd.DataFrame
        The account-days each attack touched: ``id``, ``Date`` (UTC day),
        ``domain``, ``user``.
    notes : list of str
        One sentence per kind skipped, saying why.
    profile : DataProfile
        What was learned from the data.

    """

    events: pd.DataFrame
    attacks: pd.DataFrame
    skipped: pd.DataFrame
    account_days: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)
    profile: DataProfile | None = None


def check_kinds(kinds: str | Iterable[str] | None) -> tuple[str, ...]:
    """
    Return the attack kinds asked for, in planting order (None: all of them).

    Examples
    --------
    >>> check_kinds(["password_spray", "off_hours"])
    ('off_hours', 'password_spray')

    """
    if kinds is None:
        return KINDS
    asked = [kinds] if isinstance(kinds, str) else list(kinds)
    unknown = [k for k in asked if k not in KINDS]
    if unknown or not asked:
        raise ParameterError(
            f"kinds must name attack kinds among {', '.join(KINDS)}; got {unknown or asked!r}."
        )
    return tuple(k for k in KINDS if k in asked)


def check_intensities(intensities: str | Iterable[str]) -> tuple[str, ...]:
    """Return the intensities asked for, from low to high."""
    asked = [intensities] if isinstance(intensities, str) else list(intensities)
    unknown = [i for i in asked if i not in INTENSITIES]
    if unknown or not asked:
        raise ParameterError(
            f"intensities must be among {', '.join(INTENSITIES)}; got {unknown or asked!r}."
        )
    return tuple(i for i in INTENSITIES if i in asked)


def plant_attacks(
    events: pd.DataFrame,
    kinds: str | Iterable[str] | None = None,
    intensities: str | Iterable[str] = tuple(INTENSITIES),
    random_state: int = 0,
    *,
    days: Sequence[pd.Timestamp | str] | None = None,
    last_days: int = 1,
    end: pd.Timestamp | str | None = None,
    exclude: Iterable[tuple[str, str]] = (),
) -> Planted:
    """
    Plant synthetic attacks on the data's own accounts, in a copy of the events.

    Parameters
    ----------
    events : pd.DataFrame
        Raw SecurityEvent logon rows (the columns of `schema.EVENT_COLUMNS`,
        any extra ones kept). Not modified.
    kinds : str or list of str, optional
        Attack kinds (`selftest.kinds.KINDS`); None plants every kind.
    intensities : str or list of str, default ("low", "medium", "high")
        Each scales an attack's failures, servers and logons (`INTENSITIES`).
    random_state : int, default 0
        Seed of the victims, sources and times; equal inputs and seed give
        equal rows.
    days : list of dates, optional
        The days to plant on (each attack falls on one of them; a slow brute
        force ends there). Default: the `last_days` days ending on the day of
        `end`, or without `end` on the data's last day.
    last_days : int, default 1
        How many of the last days to plant on when `days` is not given (a
        scheduled hunt's ``hunt_days``).
    end : time, optional
        The window's end (a hunt's ``end``): its day is the last one planted on.
    exclude : iterable of (domain, user)
        Accounts never used as victims (e.g. allow-listed ones).

    Returns
    -------
    Planted
        The combined events, the planted attacks and any kind skipped, with why.

    Raises
    ------
    InputDataError
        If `events` is a per-user-day summary (attacks need raw events), not
        raw logon rows, or holds planted rows already.
    ParameterError
        If a kind or intensity is unknown.

    Examples
    --------
    >>> from msticnb_iforest.sources.demo import generate_demo
    >>> demo = generate_demo(n_users=60, n_days=14)
    >>> planted = plant_attacks(demo.events, kinds=["brute_force"], intensities="high")
    >>> planted.attacks[["kind", "intensity"]].values.tolist()
    [['brute_force', 'high']]
    >>> int(planted.events["Planted"].sum()) == int(planted.attacks["n_events"].sum())
    True

    """
    chosen, levels = check_kinds(kinds), check_intensities(intensities)
    _check_events(events)
    profile = learn_profile(events)
    plant_days = _plant_days(days, profile, last_days, end)
    rng = np.random.default_rng([int(random_state), 0x5E1F])
    planter = Planter(profile, rng, set(exclude))
    labels, marks, skipped = [], [], []
    # Single-victim kinds before the sprays (which take many accounts), and
    # intensity by intensity, strongest first: a kind with few possible
    # victims (service accounts, admins) gets its high intensity first.
    singles = [k for k in chosen if not k.endswith("spray")]
    sprays = [k for k in chosen if k.endswith("spray")]
    order = [(lv, k) for group in (singles, sprays) for lv in reversed(levels) for k in group]
    for level, kind in order:
        day = int(plant_days[int(rng.integers(0, len(plant_days)))])
        before = len(planter.rows)
        try:
            label: Label = getattr(planter, kind)(INTENSITIES[level], day)
        except CannotPlantError as why:
            skipped.append((kind, level, str(why)))
            continue
        plant_id = len(labels) + 1
        labels.append(_label_row(plant_id, kind, level, label))
        for rows in planter.rows[before:]:
            marks.append((rows, kind, level, plant_id))
    attacks = pd.DataFrame(labels, columns=_LABEL_COLUMNS)
    attacks = _in_order(attacks, chosen, levels)
    skips = _in_order(
        pd.DataFrame(skipped, columns=["kind", "intensity", "reason"]), chosen, levels
    )
    combined = _combined(events, marks)
    return Planted(combined, attacks, skips, _account_days(marks), _skip_notes(skips), profile)


def _in_order(table: pd.DataFrame, kinds: tuple[str, ...], levels: tuple[str, ...]) -> pd.DataFrame:
    """Sort rows by kind (planting order), then intensity (low to high)."""
    kind = table["kind"].map({k: i for i, k in enumerate(kinds)})
    level = table["intensity"].map({k: i for i, k in enumerate(levels)})
    order = np.lexsort((level.to_numpy(), kind.to_numpy()))
    return table.iloc[order].reset_index(drop=True)


def _check_events(events: object) -> None:
    """Refuse what cannot be planted into, with a message saying why."""
    if isinstance(events, pd.DataFrame) and is_summary_table(events):
        raise InputDataError(
            "The self-test needs raw logon events (SecurityEvent rows with TimeGenerated, "
            "EventID, TargetUserName, ...), not a per-user-day summary table: attacks are "
            "planted as logon events and summarized again."
        )
    if not is_raw_events(events):
        raise InputDataError(
            "The self-test needs a table of raw logon events (SecurityEvent rows with the "
            "columns TimeGenerated, EventID, TargetUserName, TargetDomainName, LogonType, "
            "LogonTypeName, Computer, IpAddress, WorkstationName, AuthenticationPackageName)."
        )
    names = {clean_name(c) for c in events.columns}
    if names & set(MARK_COLUMNS):
        raise InputDataError(
            "The events already hold planted rows (a 'Planted' column): give the original events."
        )


def _plant_days(
    days: Sequence | None, profile: DataProfile, last_days: int, end: object
) -> list[int]:
    """Return the days to plant on, as days since 1970 (see `plant_attacks`)."""
    if days is not None and len(days):
        stamps = pd.to_datetime(pd.Series(list(days)), utc=True)
        return sorted({int(s.value // DAY_NS) for s in stamps})
    last = profile.last_day
    if end is not None:
        stamp = pd.Timestamp(end)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        last = int(stamp.value // DAY_NS)
    return list(range(last - max(1, int(last_days)) + 1, last + 1))


def _label_row(plant_id: int, kind: str, level: str, label: Label) -> list:
    domain, user = label.accounts[0]
    account = f"{domain}\\{user}" if domain else user
    day = pd.Timestamp(label.day * 86_400, unit="s")
    return [plant_id, kind, level, account, label.accounts, day, label.n_events, label.detail]


def _skip_notes(skips: pd.DataFrame) -> list[str]:
    """One note per kind with skipped intensities."""
    notes = []
    for kind, group in skips.groupby("kind", sort=False):
        levels = ", ".join(group["intensity"])
        notes.append(f"Not planted: {kind} ({levels}): {group['reason'].iloc[0]}.")
    return notes


def _account_days(marks: list) -> pd.DataFrame:
    """Return the distinct (attack, day, account) triples of the planted rows."""
    parts = [
        pd.DataFrame(
            {
                "id": plant_id,
                "Date": pd.to_datetime(rows["time"] // DAY_NS * DAY_NS),
                "domain": rows["domain"],
                "user": rows["user"],
            }
        )
        for rows, _, _, plant_id in marks
    ]
    if not parts:
        return pd.DataFrame(columns=["id", "Date", "domain", "user"])
    return pd.concat(parts, ignore_index=True).drop_duplicates(ignore_index=True)


def _combined(events: pd.DataFrame, marks: list) -> pd.DataFrame:
    """Return the input rows (a copy, marked unplanted) followed by the planted rows."""
    base = events.assign(Planted=False, PlantedKind="", PlantedIntensity="", PlantedId=0)
    if not marks:
        return base.reset_index(drop=True)
    parts = []
    for rows, kind, level, plant_id in marks:
        n = len(rows["time"])
        frame = _event_rows(rows, events)
        frame["Planted"] = np.ones(n, dtype=bool)
        frame["PlantedKind"], frame["PlantedIntensity"], frame["PlantedId"] = kind, level, plant_id
        parts.append(frame)
    planted = pd.concat(parts, ignore_index=True)
    combined = pd.concat([base, planted], ignore_index=True, sort=False)
    combined["PlantedId"] = combined["PlantedId"].astype(np.int64)
    combined["Planted"] = combined["Planted"].astype(bool)
    return combined


def _event_rows(rows: dict[str, np.ndarray], events: pd.DataFrame) -> pd.DataFrame:
    """Planted logons as SecurityEvent rows, in the input's column names and value types."""
    success = rows["success"]
    ntlm = np.char.upper(rows["auth"].astype(str)) == "NTLM"
    values = {
        "TimeGenerated": pd.to_datetime(rows["time"], utc=True),
        "EventID": np.where(success, 4624, 4625),
        "Computer": rows["computer"],
        "TargetUserName": rows["user"],
        "TargetDomainName": rows["domain"],
        "LogonType": np.full(success.size, 3),
        "LogonTypeName": np.full(success.size, NETWORK_LOGON, dtype=object),
        "IpAddress": rows["ip"],
        "WorkstationName": rows["ws"],
        "AuthenticationPackageName": rows["auth"],
        "AccountDomain": rows["domain"],
        "LogonProcessName": np.where(ntlm, "NtLmSsp ", "Kerberos"),
        "Status": np.where(success, "", "0xc000006d"),
        "SubStatus": np.where(success, "", "0xc000006a"),
    }
    lookup = {clean_name(label): label for label in events.columns}
    out = {}
    for name in EVENT_COLUMNS:
        if name in lookup:
            out[lookup[name]] = _like(values[name], events[lookup[name]])
    return pd.DataFrame(out)


def _like(values: object, column: pd.Series) -> object:
    """Values in the type of the input column they join (times, numbers or text)."""
    if isinstance(values, pd.DatetimeIndex):
        if pd.api.types.is_datetime64_any_dtype(column):
            zone = getattr(column.dt, "tz", None)
            return values.tz_convert(zone) if zone else values.tz_localize(None)
        return np.asarray(values.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), dtype=object)
    array = np.asarray(values)
    if array.dtype.kind in "iu" and not pd.api.types.is_numeric_dtype(column):
        return array.astype(str).astype(object)
    return array.astype(object) if array.dtype.kind in "US" else array

"""
Self-test: would the hunt catch an attack planted in the user's own data.

`self_test` plants attacks into a copy of the events (`plant_attacks`), hunts
the copy with the real hunt's options, and reports for each planted attack
whether it was reported and where its best account-day ranked among the
hunted days. It never touches the real hunt's results: it is a separate hunt
of a separate copy, and writes nothing (see `selftest.output` for files).
"""

from __future__ import annotations

import difflib
import inspect
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputDataError, ParameterError
from .kinds import KINDS
from .plant import INTENSITIES, Planted, check_intensities, check_kinds, plant_attacks

__all__ = ["SelfTest", "load_events", "self_test", "self_test_figure"]

#: Columns of `SelfTest.table`.
TABLE_COLUMNS = [
    "id",
    "kind",
    "intensity",
    "account",
    "day",
    "n_events",
    "n_accounts",
    "caught",
    "rank",
    "n_scored",
    "score",
    "threshold",
    "threshold_rank",
    "note",
]

# Hunt options the self-test sets itself, whatever it is given.
_FORCED = {"shap": False, "max_explained": 0, "progress": None, "account": None}


@dataclass
class SelfTest:
    """
    What the self-test found (see `self_test`).

    Attributes
    ----------
    table : pd.DataFrame
        One row per planted attack (and per kind and intensity not planted,
        with its ``note``): ``id``, ``kind``, ``intensity``, ``account``,
        ``day``, ``n_events`` (planted events), ``n_accounts``, ``caught``
        (reported as an outlier), ``rank`` (of its best account-day among
        every scored account-day of the hunted days, 1 the most anomalous),
        ``n_scored`` (account-days ranked), ``score`` (its best score),
        ``threshold`` (the score above which a day is flagged, 0),
        ``threshold_rank`` (how many hunted account-days lie above it),
        ``note``.
    summary : pd.DataFrame
        One row per kind: ``kind``, ``caught_at`` (the intensities caught),
        and the rank at each intensity (``rank_low``, ...).
    notes : list of str
        Kinds not planted and why, options the self-test changed.
    planted : Planted
        The planting itself (combined events, attacks, skipped kinds).
    parameters : dict
        The hunt options used, ``kinds``, ``intensities``, ``random_state``
        and ``together``.
    timings : dict
        Seconds spent planting and hunting.

    """

    table: pd.DataFrame
    summary: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    planted: Planted | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def load_events(source: Any, **limits: Any) -> pd.DataFrame:
    """
    Return raw logon events from a DataFrame or from files, as `run` reads them.

    Parameters
    ----------
    source : pd.DataFrame, path or list of paths
        Raw SecurityEvent rows, or CSV/TSV/Parquet/JSON/EVTX files or folders
        of them (`sources.readers.read_tables`).
    **limits
        ``max_bytes``, ``max_rows``: the readers' per-file limits.

    Returns
    -------
    pd.DataFrame

    Raises
    ------
    InputDataError
        If the input is a per-user-day summary table, or not raw events.

    Examples
    --------
    >>> events = load_events(["exports/"])  # doctest: +SKIP

    """
    from ..schema import is_raw_events, is_summary_table

    if isinstance(source, pd.DataFrame):
        events = source
    else:
        from ..sources.readers import read_tables

        paths = [source] if isinstance(source, (str, os.PathLike)) else list(source)
        events = read_tables(paths, **{k: v for k, v in limits.items() if v})[0]
    if is_summary_table(events) or not is_raw_events(events):
        raise InputDataError(
            "The self-test needs raw logon events (SecurityEvent rows: TimeGenerated, EventID, "
            "TargetUserName, ...); a per-user-day summary table cannot have attacks planted in "
            "it. Give the exported events instead."
        )
    return events


def _hunt_options(options: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """Check the hunt options by name and set those the self-test controls."""
    from ..pipeline import hunt

    accepted = set(inspect.signature(hunt).parameters) - {"data", "random_state"}
    options = dict(options)
    if "hunt_random_state" in options:  # random_state seeds the planting
        options["random_state"] = options.pop("hunt_random_state")
        accepted.add("random_state")
    for name in options:
        if name not in accepted:
            close = difflib.get_close_matches(name, sorted(accepted), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ParameterError(f"self_test got an unknown hunt option {name!r}{hint}.")
    if options.get("account"):
        notes.append("The self-test hunts every account: the account option is not applied.")
    chosen = {**options, **_FORCED}
    if "state" in accepted:  # the self-test never reads or writes a hunt state
        chosen["state"] = None
    return chosen


def self_test(
    events: Any,
    *,
    kinds: str | Iterable[str] | None = None,
    intensities: str | Iterable[str] = tuple(INTENSITIES),
    random_state: int = 0,
    together: bool = False,
    progress: Callable[[str], None] | None = None,
    **hunt_options: Any,
) -> SelfTest:
    """
    Plant attacks in a copy of the events, hunt it, and say which were caught.

    Parameters
    ----------
    events : pd.DataFrame, path or list of paths
        Raw SecurityEvent logon rows, or files of them (see `load_events`).
        Not modified.
    kinds, intensities, random_state
        What to plant and the seed (see `plant_attacks`).
    together : bool, default False
        Hunt every planted attack in one hunt (faster; the attacks then
        compete for the reporting threshold). By default each attack is
        hunted on its own: the user's events plus that attack's rows.
    progress : callable, optional
        Called with a short message before each hunt.
    **hunt_options
        The real hunt's options (`pipeline.hunt`: ``feature_set``,
        ``contamination``, ``hunt_days``, ``baseline_days``, ``start``,
        ``end``, ...); the hunt's own ``random_state`` is given as
        ``hunt_random_state``. ``account`` is not applied; SHAP is off.

    Returns
    -------
    SelfTest

    Raises
    ------
    InputDataError
        If the events are a summary table or hold no network logons.
    ParameterError
        If an option is unknown or out of range.

    Examples
    --------
    >>> from msticnb_iforest.sources.demo import generate_demo
    >>> demo = generate_demo(n_users=60, n_days=14)
    >>> found = self_test(demo.events, kinds="brute_force", intensities="high")
    >>> found.table[["kind", "intensity", "caught"]].values.tolist()
    [['brute_force', 'high', True]]

    """
    notes: list[str] = []
    options = _hunt_options(hunt_options, notes)
    chosen, levels = check_kinds(kinds), check_intensities(intensities)
    data = load_events(events)
    begin = time.perf_counter()
    planted = plant_attacks(
        data,
        chosen,
        levels,
        random_state,
        last_days=options.get("hunt_days") or 1,
        end=options.get("end"),
        exclude=_allowed_accounts(data, options.get("allow_accounts")),
    )
    timings = {"plant": round(time.perf_counter() - begin, 4)}
    notes += planted.notes
    begin = time.perf_counter()
    rows = _hunted_rows(planted, options, together, progress)
    timings["hunt"] = round(time.perf_counter() - begin, 4)
    table = _table(planted, rows)
    parameters = {
        **{k: v for k, v in options.items() if k not in _FORCED},
        "kinds": list(chosen),
        "intensities": list(levels),
        "random_state": random_state,
        "together": together,
    }
    summary = summarize(table, levels)
    return SelfTest(table, summary, notes, planted, parameters, timings)


def _allowed_accounts(events: pd.DataFrame, allow: Any) -> set[tuple[str, str]]:
    """Return the allow-listed accounts of the data (never victims: they are never reported)."""
    if not allow:
        return set()
    from ..identity import allow_list_mask
    from .profile import learn_profile

    accounts = learn_profile(events).accounts.index.to_frame(index=False)
    table = accounts.rename(columns={"domain": "DstDomain", "user": "DstUser"})
    mask = allow_list_mask(table, allow)
    return set(map(tuple, accounts[mask].to_numpy().tolist()))


def _hunted_rows(
    planted: Planted, options: dict[str, Any], together: bool, progress: Callable | None
) -> dict[int, dict[str, Any]]:
    """Hunt the planted copy (once, or once per attack); return each attack's verdict."""
    from ..pipeline import hunt

    events, ids = planted.events, planted.attacks["id"].tolist()
    groups = [ids] if together else [[i] for i in ids]
    found: dict[int, dict[str, Any]] = {}
    for n, group in enumerate(groups, 1):
        if not group:
            continue
        if progress:
            progress(f"Self-test hunt {n} of {len(groups)}")
        mask = ~events["Planted"].to_numpy() | events["PlantedId"].isin(group).to_numpy()
        hunted = hunt(events[mask], **options)
        for plant_id in group:
            keys = planted.account_days[planted.account_days["id"] == plant_id]
            found[plant_id] = _verdict(hunted.user_days, keys)
    return found


def _verdict(user_days: pd.DataFrame, keys: pd.DataFrame) -> dict[str, Any]:
    """Caught, rank and score of the best hunted account-day among `keys`."""
    hunted = user_days
    if "window" in user_days.columns:
        hunted = user_days[user_days["window"].astype(str) == "hunt"]
    scores = hunted["score"].to_numpy(dtype=float)
    wanted = pd.MultiIndex.from_arrays(
        [
            pd.to_datetime(keys["Date"]).dt.normalize(),
            keys["domain"].astype(str).str.upper(),
            keys["user"].astype(str).str.upper(),
        ]
    )
    have = pd.MultiIndex.from_arrays(
        [
            pd.to_datetime(hunted["Date"]).dt.normalize(),
            hunted["DstDomain"].astype(str).str.upper(),
            hunted["DstUser"].astype(str).str.upper(),
        ]
    )
    mine = np.asarray(have.isin(wanted), dtype=bool)
    verdict = {"n_scored": int(scores.size), "threshold": 0.0}
    verdict["threshold_rank"] = int((scores > 0).sum())
    if not mine.any():
        return {**verdict, "caught": False, "rank": np.nan, "score": np.nan,
                "note": "no planted account-day among the hunted days"}  # fmt: skip
    best = float(np.nanmax(scores[mine]))
    caught = bool(hunted["is_outlier"].to_numpy(dtype=bool)[mine].any())
    rank = int((scores > best).sum()) + 1
    return {**verdict, "caught": caught, "rank": rank, "score": best, "note": ""}


def _table(planted: Planted, found: dict[int, dict[str, Any]]) -> pd.DataFrame:
    """One row per attack (then per kind and intensity not planted)."""
    attacks = planted.attacks
    rows = []
    for attack in attacks.itertuples(index=False):
        verdict = found.get(attack.id, {})
        rows.append(
            {
                "id": attack.id,
                "kind": attack.kind,
                "intensity": attack.intensity,
                "account": attack.account,
                "day": attack.day,
                "n_events": attack.n_events,
                "n_accounts": len(attack.accounts),
                **verdict,
            }
        )
    for skip in planted.skipped.itertuples(index=False):
        rows.append(
            {
                "kind": skip.kind,
                "intensity": skip.intensity,
                "caught": False,
                "note": f"not planted: {skip.reason}",
            }  # fmt: skip
        )
    table = pd.DataFrame(rows).reindex(columns=TABLE_COLUMNS)
    table["caught"] = table["caught"].fillna(False).astype(bool)
    table["note"] = table["note"].fillna("")
    for name in ("id", "rank", "n_events", "n_accounts", "n_scored", "threshold_rank"):
        table[name] = table[name].astype("Int64")
    kind = table["kind"].map({k: i for i, k in enumerate(KINDS)})
    level = table["intensity"].map({k: i for i, k in enumerate(INTENSITIES)})
    return table.iloc[np.lexsort((level.to_numpy(), kind.to_numpy()))].reset_index(drop=True)


def summarize(table: pd.DataFrame, levels: Iterable[str] = tuple(INTENSITIES)) -> pd.DataFrame:
    """
    Per kind: the intensities caught, and the rank at each intensity.

    Examples
    --------
    >>> table = pd.DataFrame({"kind": ["brute_force"] * 2, "intensity": ["low", "high"],
    ...                       "caught": [False, True], "rank": [40, 1]})
    >>> summarize(table, ["low", "high"]).values.tolist()
    [['brute_force', 'high', 40, 1]]

    """
    rows = []
    for kind, group in table.groupby("kind", sort=False):
        caught = group.loc[group["caught"], "intensity"].tolist()
        row = {"kind": kind, "caught_at": ", ".join(caught) if caught else "none"}
        for level in levels:
            ranks = group.loc[group["intensity"] == level, "rank"]
            row[f"rank_{level}"] = ranks.iloc[0] if len(ranks) else pd.NA
        rows.append(row)
    return pd.DataFrame(rows)


def self_test_figure(table: pd.DataFrame) -> Any:
    """
    Draw each kind's rank per intensity (log scale) with the threshold's rank.

    Parameters
    ----------
    table : pd.DataFrame
        `SelfTest.table`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> figure = self_test_figure(found.table)  # doctest: +SKIP
    >>> figure.savefig("selftest.png")  # doctest: +SKIP

    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import ScalarFormatter

    kinds = list(dict.fromkeys(table["kind"]))
    figure = Figure(figsize=(max(6.0, 0.7 * len(kinds) + 2), 4.5), layout="constrained")
    axes = figure.add_subplot()
    markers = {"low": ("v", "#9ecae1"), "medium": ("o", "#4292c6"), "high": ("^", "#08306b")}
    ranked = table[table["rank"].notna()]
    for n, (level, (marker, color)) in enumerate(markers.items()):
        part = ranked[ranked["intensity"] == level]
        x = [kinds.index(k) + (n - 1) * 0.2 for k in part["kind"]]
        edge = np.where(part["caught"].to_numpy(dtype=bool), "red", color)
        axes.scatter(x, part["rank"].astype(float), marker=marker, c=color, edgecolors=edge,
                     linewidths=1.5, s=50, label=level, zorder=3)  # fmt: skip
    if len(ranked):
        line = float(np.median(ranked["threshold_rank"].astype(float)))
        axes.axhline(max(line, 0.5), color="red", linestyle="--", linewidth=1,
                     label=f"threshold (rank {line:g})")  # fmt: skip
    axes.set_yscale("log")
    deepest = float(ranked["n_scored"].max()) if len(ranked) else 10.0
    axes.set_ylim(deepest * 1.3, 0.7)  # rank 1 on top
    axes.yaxis.set_major_formatter(ScalarFormatter())
    axes.set_xticks(range(len(kinds)), kinds, rotation=35, ha="right", fontsize=8)
    axes.set_ylabel("rank of its best account-day (1 = most anomalous)")
    axes.set_title("Self-test: planted attacks (red edge: caught)")
    axes.grid(axis="y", which="both", alpha=0.3)
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return figure

"""
Noisy enterprises (`_careful.generate_careful`) and the measures of a careful intruder.

Measures of one feature set's hunt, over its account-days (ranked by score,
the feature set's suppressed days after all others, as in ``detection.py``):

* **per-kind AP**: for each attack kind, the average precision of the ranking
  of that kind's labelled account-days among the *benign* account-days only
  (other kinds' days left out), then the mean over kinds, each kind
  weighted equally: a loud kind with many labelled days cannot hide a
  careful one that is missed;
* **best rank per kind** among all account-days (``*``: outside the top 1 %);
* **false alerts per 1,000 accounts per day**: the hunt's reported outliers
  (``result.outliers``, at its reporting threshold) that are no labelled
  attack, divided by account-days / 1,000.

Labels are matched to account-days on the day and the canonical account
(``domain\\user``, domain reduced to its first label, case ignored), so every
spelling of an account is its labelled account. The ``seed`` feature set
keeps one row per spelling; each of an attacked account's rows is labelled.

If `msticnb_iforest.pipeline.hunt` takes ``hunt_days``, the noisy
enterprises are also hunted with ``hunt_days=7`` (and ``baseline_days`` =
the days before them, when taken): only the last seven days are scored, and
the measures are taken over those days' account-days only.
"""

from __future__ import annotations

import inspect
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from _careful import KINDS, LAST_DAYS, SHORT, generate_careful
from sklearn.metrics import average_precision_score

from msticnb_iforest.features import get_feature_set
from msticnb_iforest.pipeline import hunt


@dataclass
class Noisy:
    """A labelled noisy enterprise (`generate_careful` arguments)."""

    name: str
    role: str  # "tuning", "held-out" or "quick"
    params: dict

    def describe(self) -> str:
        p = self.params
        return (
            f"{p['n_accounts']} accounts, {p['n_days']} days, seed {p['seed']}, "
            f"intensity {p.get('intensity', 1.0)}, {p.get('incidents_per_kind', 2)} incidents/kind"
        )


NOISY = [
    # Tuning seeds: may be looked at while feature sets are designed.
    Noisy("N1", "tuning", dict(n_accounts=800, n_days=35, seed=1)),
    Noisy("N2", "tuning", dict(n_accounts=1200, n_days=42, seed=2, incidents_per_kind=3)),
    Noisy("N3", "tuning", dict(n_accounts=600, n_days=30, seed=3, intensity=0.7)),
    # Held-out seeds: never tuned on.
    Noisy("N101", "held-out", dict(n_accounts=1000, n_days=35, seed=101)),
    Noisy("N102", "held-out", dict(n_accounts=700, n_days=45, seed=102, intensity=0.7)),
    Noisy("N103", "held-out", dict(n_accounts=1200, n_days=30, seed=103, incidents_per_kind=3)),
]
#: Short names of attack kinds in the tables (a caller may add its own kinds').
NAMES = dict(SHORT)

QUICK_NOISY = [Noisy("NQ", "quick", dict(n_accounts=150, n_days=21, seed=9))]


@dataclass
class KindScore:
    """The careful-intruder measures of one hunt."""

    ap: dict[str, float] = field(default_factory=dict)
    best: dict[str, int] = field(default_factory=dict)
    top: int = 0
    account_days: int = 0
    attacked: int = 0
    false_alerts: int = 0
    seconds: float = 0.0

    @property
    def mean_ap(self) -> float:
        return float(np.mean(list(self.ap.values()))) if self.ap else float("nan")

    @property
    def false_per_1k(self) -> float:
        return 1000.0 * self.false_alerts / max(self.account_days, 1)

    @property
    def kinds_in_top(self) -> int:
        return sum(rank <= self.top for rank in self.best.values())


def account_key(domains: pd.Series, users: pd.Series) -> pd.Series:
    """Canonical ``domain\\user`` of each row (first label of the domain, lower case)."""
    dom = domains.astype(str).str.strip().str.lower().str.split(".", n=1).str[0]
    return dom + "\\" + users.astype(str).str.strip().str.lower()


def attack_of(user_days: pd.DataFrame, labels: pd.DataFrame) -> np.ndarray:
    """The labelled attack kind of each account-day ("" for benign ones)."""
    day = pd.to_datetime(user_days["Date"]).dt.tz_localize(None).dt.normalize()
    key = account_key(user_days["DstDomain"], user_days["DstUser"])
    lab = labels.assign(
        key=account_key(labels["DstDomain"], labels["DstUser"]),
        Date=pd.to_datetime(labels["Date"]).dt.normalize(),
    ).drop_duplicates(["Date", "key"])
    index = pd.MultiIndex.from_arrays([lab["Date"], lab["key"]])
    where = index.get_indexer(pd.MultiIndex.from_arrays([day, key]))
    kinds = lab["attack"].to_numpy(dtype=object)
    return np.where(where >= 0, kinds[where], "").astype(object)


def kind_measures(
    user_days: pd.DataFrame,
    outliers: pd.DataFrame,
    score: np.ndarray,
    labels: pd.DataFrame,
    scope: np.ndarray | None = None,
) -> KindScore:
    """Per-kind AP, best rank per kind and false alerts over the account-days in `scope`."""
    scope = np.ones(len(user_days), bool) if scope is None else scope
    attack = attack_of(user_days, labels)
    reported = np.zeros(len(user_days), bool)
    reported[user_days.index.get_indexer(outliers.index)] = True
    attack, score, reported = attack[scope], score[scope], reported[scope]
    order = np.argsort(-score, kind="stable")
    rank = np.empty(len(score), np.int64)
    rank[order] = np.arange(1, len(score) + 1)
    benign = attack == ""
    out = KindScore(top=int(np.ceil(0.01 * len(score))), account_days=len(score))
    out.attacked, out.false_alerts = int((~benign).sum()), int((reported & benign).sum())
    for kind in dict.fromkeys(attack[~benign]):
        mine = attack == kind
        keep = mine | benign
        out.ap[kind] = float(average_precision_score(mine[keep], score[keep]))
        out.best[kind] = int(rank[mine].min())
    return out


def takes_hunt_days() -> bool:
    """Whether `hunt` can score only the last days of a window."""
    return "hunt_days" in inspect.signature(hunt).parameters


def hunt_kinds(
    events: pd.DataFrame,
    labels: pd.DataFrame,
    name: str,
    n_days: int,
    random_state: int = 42,
    last_days: int | None = None,
) -> KindScore:
    """Hunt `events` with one feature set (optionally only the last days) and measure it."""
    fset = get_feature_set(name)
    extra = {}
    if last_days:
        extra["hunt_days"] = last_days
        if "baseline_days" in inspect.signature(hunt).parameters:
            extra["baseline_days"] = n_days - last_days
    begin = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = hunt(
            events,
            feature_set=fset,
            shap=False,
            max_explained=0,
            random_state=random_state,
            **extra,
        )
    user_days = result.user_days
    score = user_days["score"].to_numpy(dtype="float64")
    held = (fset.suppressed(user_days) != "").to_numpy()
    if held.any():
        score = np.where(held, score - (np.nanmax(score) - np.nanmin(score) + 1.0), score)
    scope = None
    if last_days:
        day = pd.to_datetime(user_days["Date"]).dt.tz_localize(None).dt.normalize()
        first = pd.Timestamp(events["TimeGenerated"].max()).tz_localize(None).normalize()
        scope = (day > first - pd.Timedelta(days=last_days)).to_numpy() & np.isfinite(score)
    measured = kind_measures(user_days, result.outliers, score, labels, scope)
    measured.seconds = time.perf_counter() - begin
    return measured


def run_noisy(ent: Noisy, feature_sets: list[str], log=print) -> dict[str, KindScore]:
    """Generate one noisy enterprise and measure every feature set (and the last-week hunt)."""
    begin = time.perf_counter()
    data = generate_careful(**ent.params)
    log(f"{ent.name}: {len(data.events):,} events in {time.perf_counter() - begin:.1f} s")
    n_days = ent.params["n_days"]
    scores = {}
    for name in feature_sets:
        scores[name] = hunt_kinds(data.events, data.labels, name, n_days)
        if takes_hunt_days():
            scores[f"{name}, last {LAST_DAYS} days"] = hunt_kinds(
                data.events, data.labels, name, n_days, last_days=LAST_DAYS
            )
    return scores


def _best(score: KindScore) -> str:
    parts = []
    for kind in _kinds_of([score]):
        if kind in score.best:
            mark = "" if score.best[kind] <= score.top else "*"
            parts.append(f"{NAMES[kind]} {score.best[kind]}{mark}")
    return ", ".join(parts)


def _kinds_of(runs: list[KindScore]) -> list[str]:
    """The attack kinds measured in `runs`: `KINDS` order, then any others by name."""
    seen = {k for r in runs for k in r.ap}
    return [k for k in KINDS if k in seen] + sorted(seen - set(KINDS))


def kind_table(results: list[tuple[object, dict[str, KindScore]]], default: str) -> str:
    """Per enterprise and feature set: per-kind AP, false alerts and best ranks."""
    kinds = _kinds_of([s for _, sc in results for s in sc.values()])
    head = "| enterprise | role | account-days (attacked) | feature set | mean per-kind AP | "
    head += "false alerts /1k accounts/day | " + " | ".join(NAMES.get(k, k) for k in kinds)
    head += " | best rank per kind (* = outside top 1 %) |\n"
    head += "|---" * (7 + len(kinds)) + "|\n"
    rows = []
    for ent, scores in results:
        for name, s in scores.items():
            label = f"{name} (default)" if name == default else name
            aps = " | ".join(f"{s.ap[k]:.3f}" if k in s.ap else "" for k in kinds)
            rows.append(
                f"| {ent.name} | {ent.role} | {s.account_days:,} ({s.attacked}) | {label} | "
                f"{s.mean_ap:.3f} | {s.false_per_1k:.2f} | {aps} | {_best(s)} |"
            )
    return head + "\n".join(rows) + "\n"


def kind_summary(results: list[tuple[object, dict[str, KindScore]]], default: str) -> str:
    """Per role and feature set: means over enterprises of the per-kind measures."""
    lines = [
        "| role | feature set | mean per-kind AP | min | false alerts /1k accounts/day "
        "| kinds in top 1 % | per-kind AP (mean over enterprises) |",
        "|---|---|---|---|---|---|---|",
    ]
    for role in dict.fromkeys(ent.role for ent, _ in results):
        chosen = [sc for ent, sc in results if ent.role == role]
        for name in chosen[0]:
            runs = [sc[name] for sc in chosen]
            kinds = _kinds_of(runs)
            per = ", ".join(
                f"{NAMES.get(k, k)} {np.mean([r.ap[k] for r in runs if k in r.ap]):.2f}"
                for k in kinds
            )
            label = f"{name} (default)" if name == default else name
            lines.append(
                f"| {role} | {label} | {np.mean([r.mean_ap for r in runs]):.3f} | "
                f"{min(r.mean_ap for r in runs):.3f} | "
                f"{np.mean([r.false_per_1k for r in runs]):.2f} | "
                f"{sum(r.kinds_in_top for r in runs)}/{sum(len(r.best) for r in runs)} | {per} |"
            )
    return "\n".join(lines) + "\n"


def feature_set_names(default: str, names) -> list[str]:
    """``seed``, the default, then every other feature set the package names."""
    first = ["seed", default]
    return first + sorted(set(names) - set(first))


def run_group(chosen: list[Noisy], feature_sets: list[str], log) -> list[tuple]:
    """Measure every noisy enterprise of `chosen`, printing a line per enterprise to `log`."""
    if not takes_hunt_days():
        log(f"hunt() takes no hunt_days: the last-{LAST_DAYS}-days hunt is skipped.")
    results = []
    for ent in chosen:
        scores = run_noisy(ent, feature_sets, log)
        results.append((ent, scores))
        line = "  ".join(
            f"{name}: per-kind AP {s.mean_ap:.3f}, {s.false_per_1k:.1f} false/1k "
            f"({s.seconds:.0f} s)"
            for name, s in scores.items()
        )
        log(f"{ent.name} ({ent.describe()}): {line}")
    return results


def section(results: list[tuple], loud: list[tuple], default: str) -> str:
    """The Markdown of the noisy enterprises (and the loud ones' per-kind measures)."""
    described = "\n".join(f"- {e.name} ({e.role}): {e.describe()}" for e, _ in results)
    hunt_days = (
        f"Rows marked 'last {LAST_DAYS} days' hunt with `hunt_days={LAST_DAYS}`: only the "
        "window's last week is scored and measured."
        if takes_hunt_days()
        else f"`hunt()` takes no `hunt_days` yet, so the last-{LAST_DAYS}-days hunt was skipped."
    )
    loud_part = ""
    if loud:
        loud_part = "\n### The same measures on the loud enterprises\n\n" + kind_summary(
            loud, default
        )
    return (
        "## A careful intruder in a noisy enterprise\n\n"
        "Generated by `benchmarks/_careful.py` (its docstring says what every benign "
        "behaviour and attack looks like); measures in `benchmarks/_noisy.py`: per-kind AP "
        "(each kind against the benign account-days only, then the mean over kinds), best "
        "rank per kind among all account-days, and reported outliers that are no attack per "
        "1,000 account-days (accounts active on a day). The `seed` feature set counts one "
        f"account-day per spelling of an account (so more rows). {hunt_days}\n\n"
        f"{described}\n\n### Summary\n\n{kind_summary(results, default)}\n"
        f"### Per enterprise\n\n{kind_table(results, default)}{loud_part}"
    )

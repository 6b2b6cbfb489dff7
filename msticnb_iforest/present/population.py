r"""
A picture of the whole population: every account-day of a hunt in two dimensions.

`project` turns the model features of all account-days into two
coordinates: a principal component analysis (PCA) of the standardized
features. `population_plot` draws them: the normal account-days as a light,
rasterized cloud, the reported outliers on top, coloured by incident when
the hunt grouped them into incidents, the top incidents (or outliers)
labelled, and each axis labelled with the share of the variance it shows
and the features that move along it, in plain words. `correlation_plot`
shows how the model features move together (rank correlations), the
other half of that view: two features that rise together say one thing
twice, and an outlier far along both is less surprising than it looks.

Why PCA of standardized features: on the demo (2,515 account-days, 26
outliers) four projections were compared by how well the picture alone
separates the outliers (the ROC AUC of each point's robust distance from
the centre of the cloud) and by the share of outliers with no normal point
within 5 % of the picture's width. Standardized PCA: AUC 0.995, 42 %
isolated, 68 % of the variance shown; PCA of the raw features: 0.987, 35 %;
PCA of robustly scaled features (median, interquartile range): 0.995, 42 %
(the same picture; most features' interquartile range is 0); PCA of ranks:
0.743, 0 %. Non-linear maps (t-SNE, UMAP) were not tried: they need a
new dependency, and their axes have no meaning an axis label could state.

The projection is computed on every row, through the features' covariance
matrix (a few features by a few features), so it costs one pass over the
data: about a second for a million account-days. At most
`MAX_NORMAL_POINTS` normal account-days are drawn (a seeded sample); every
outlier is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .display import LABEL_WIDTH, account_label, safe_text

__all__ = [
    "MAX_LABELS",
    "MAX_NORMAL_POINTS",
    "MAX_CORRELATION_ROWS",
    "Projection",
    "correlation_plot",
    "correlations",
    "feature_words",
    "population_plot",
    "project",
]

#: Most normal (not reported) account-days drawn; more are sampled with a fixed seed.
MAX_NORMAL_POINTS = 20_000
#: Most account-days the correlations are computed over (a seeded sample beyond).
MAX_CORRELATION_ROWS = 200_000
#: Most incidents (or outliers, when the hunt has no incidents) labelled by name.
MAX_LABELS = 8
#: Loadings below this share of the largest on an axis are not named in its label.
_NAMED_LOADING = 0.5
#: Most features named per axis.
_NAMED_PER_AXIS = 3

_CLOUD = "#9aa5b1"
_FLAGGED = "#4d5661"
_OUTLIER = "#c0392b"
#: Outliers outside the labelled incidents, when the hunt has incidents.
_OTHER = "#5d6d7e"
#: Colours of the top incidents, best first (the outliers of other incidents are `_OTHER`).
_PALETTE = (
    "#d62728",
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
)

#: Plain words for the features of the package's feature sets.
_WORDS = {
    "failed_logons": "failed logons",
    "failed_vs_usual": "failed logons above usual",
    "successes_vs_usual": "successful logons off usual",
    "computers_vs_usual": "computers off usual",
    "sources_vs_usual": "sources off usual",
    "new_source_ips": "new source IPs",
    "new_source_hosts": "new source hosts",
    "new_computers": "new computers",
    "spray_accounts": "accounts its source failed on",
    "FailedLogons_zscore": "failed logons vs usual",
    "SuccessfulLogons_zscore": "successful logons vs usual",
    "ComputersSuccessfulAccess_zscore": "computers vs usual",
    "ComputerDomainsSuccessfulAccess": "account domains",
    "SrcIpSuccessfulAccess_zscore": "source IPs vs usual",
    "SrcHostNameSuccessfulAccess": "source hosts",
}


@dataclass(frozen=True)
class Projection:
    """
    All account-days projected onto the first two principal components.

    Attributes
    ----------
    coords : np.ndarray
        Shape (rows, 2): each row's position on the two components.
    explained : np.ndarray
        Shape (2,): each component's share of the total variance of the
        standardized features (0 when there is no variance); their sum is
        at most 1.
    loadings : np.ndarray
        Shape (2, features): each component as a unit vector over the
        standardized features (zeros for a component with no variance).
    features : list of str
        The feature names, in column order.
    filled : int
        Missing or infinite feature values replaced by the feature's mean.

    """

    coords: np.ndarray
    explained: np.ndarray
    loadings: np.ndarray
    features: list[str]
    filled: int = 0


def project(values: pd.DataFrame) -> Projection:
    """
    Project every row onto the first two principal components of its standardized columns.

    Each column is centred on its mean and divided by its standard
    deviation (a constant column is only centred, so it adds nothing).
    Missing and infinite values count as the column's mean. The components
    are the singular vectors of the standardized covariance matrix, each
    signed so that its largest loading is positive: the same rows give the
    same picture on every machine.

    Parameters
    ----------
    values : pd.DataFrame
        Numeric columns, one row per account-day (any number of rows).

    Returns
    -------
    Projection

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [0.0, 2.0, 4.0, 6.0]})
    >>> found = project(frame)
    >>> found.coords.shape, [round(float(share), 3) for share in found.explained]
    ((4, 2), [1.0, 0.0])

    """
    # One memory layout whatever the frame's: sums over rows then add in one order.
    matrix = np.array(values.to_numpy(dtype="float64"), dtype="float64", order="C", copy=True)
    rows, width = matrix.shape
    bad = ~np.isfinite(matrix)
    filled = int(bad.sum())
    if filled:  # each missing value counts as its column's mean (0 for a column of none)
        counts = (~bad).sum(axis=0)
        sums = np.where(bad, 0.0, matrix).sum(axis=0)
        means = np.divide(sums, counts, out=np.zeros(width), where=counts > 0)
        matrix[bad] = means[np.nonzero(bad)[1]]
    if rows:
        matrix -= matrix.mean(axis=0)
        spread = matrix.std(axis=0)
        matrix /= np.where(spread > 0, spread, 1.0)
    cov = matrix.T @ matrix / max(rows, 1)
    vectors, variances, _ = np.linalg.svd(cov) if width else (np.zeros((0, 0)), np.zeros(0), 0)
    loadings = np.zeros((2, width))
    explained = np.zeros(2)
    total = float(variances.sum())
    for pos in range(min(2, width)):
        if total <= 0 or variances[pos] <= total * 1e-12:
            continue
        vector = vectors[:, pos]
        sign = 1.0 if vector[np.argmax(np.abs(vector))] >= 0 else -1.0
        loadings[pos] = sign * vector
        explained[pos] = variances[pos] / total
    return Projection(
        coords=matrix @ loadings.T,
        explained=explained,
        loadings=loadings,
        features=[str(name) for name in values.columns],
        filled=filled,
    )


def feature_words(name: str) -> str:
    """
    Say a model feature's name in plain words.

    Examples
    --------
    >>> feature_words("new_source_ips")
    'new source IPs'
    >>> feature_words("SomeCountPerDay")
    'some count per day'

    """
    if name in _WORDS:
        return _WORDS[name]
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", str(name)).replace("_", " ")
    return " ".join(words.split()).lower().replace("zscore", "z-score")


def _axis_label(number: int, share: float, loadings: np.ndarray, names: list[str]) -> str:
    """Say what one component shows: its share of the variance and what moves along it."""
    head = f"component {number}: {share:.0%} of the variance"
    if share <= 0 or not np.any(loadings):
        return f"component {number}: no variation"
    strongest = float(np.max(np.abs(loadings)))
    order = np.argsort(-np.abs(loadings), kind="stable")[:_NAMED_PER_AXIS]
    named = [pos for pos in order if abs(loadings[pos]) >= _NAMED_LOADING * strongest]
    more = [safe_text(feature_words(names[p]), 40) for p in named if loadings[p] > 0]
    less = [safe_text(feature_words(names[p]), 40) for p in named if loadings[p] < 0]
    parts = []
    if more:
        parts.append("more " + ", ".join(more))
    if less:
        parts.append("less " + ", ".join(less))
    return f"{head}\n→ {'; '.join(parts)}"


def _sample(positions: np.ndarray, most: int, seed: int) -> np.ndarray:
    """Return at most `most` of `positions`, a seeded sample in their order."""
    if len(positions) <= most:
        return positions
    rng = np.random.default_rng(seed)
    return positions[np.sort(rng.choice(len(positions), size=most, replace=False))]


def _incident_numbers(result: Any, outliers: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Return each outlier's incident number (0: none) and the incidents, best first."""
    incidents = getattr(result, "incidents", None)
    usable = (
        isinstance(incidents, pd.DataFrame)
        and not incidents.empty
        and "incident" in incidents.columns
        and "incident" in outliers.columns
    )
    if not usable:
        return np.zeros(len(outliers), dtype=np.int64), pd.DataFrame()
    numbers = pd.to_numeric(outliers["incident"], errors="coerce").fillna(0).astype("int64")
    return numbers.to_numpy(), incidents


def _point_label(row: pd.Series, extra: int = 0) -> str:
    """Label one outlier with its account and day (and ``+n more``: others of its incident)."""
    day = pd.Timestamp(row["Date"])
    text = f"{account_label(row['DstDomain'], row['DstUser'], 36)} {day:%Y-%m-%d}"
    return text + (f" (+{extra} more)" if extra else "")


def _labels(outliers: pd.DataFrame, numbers: np.ndarray, incidents: pd.DataFrame, most: int):
    """Yield (position in outliers, label text, colour) of the points to label."""
    if incidents.empty:
        for pos in range(min(most, len(outliers))):
            yield pos, f"#{pos + 1} " + _point_label(outliers.iloc[pos]), _OUTLIER
        return
    top = incidents.sort_values(["score", "incident"], ascending=[False, True], kind="stable")
    for rank, (number, kind) in enumerate(zip(top["incident"], top["kind"], strict=True)):
        if rank >= most:
            return
        members = np.flatnonzero(numbers == int(number))
        if not len(members):
            continue
        best = members[np.argmax(outliers["score"].to_numpy()[members])]
        what = safe_text(kind, 24)
        label = f"#{int(number)} {what}: " + _point_label(outliers.iloc[best], len(members) - 1)
        yield best, label, _PALETTE[rank % len(_PALETTE)]


def _colours(numbers: np.ndarray, incidents: pd.DataFrame, most: int) -> np.ndarray:
    """Return each outlier's colour: its incident's among the `most` top ones, else grey."""
    if incidents.empty:
        return np.full(len(numbers), _OUTLIER, dtype=object)
    colours = np.full(len(numbers), _OTHER, dtype=object)
    top = incidents.sort_values(["score", "incident"], ascending=[False, True], kind="stable")
    for rank, number in enumerate(top["incident"].head(most)):
        colours[numbers == int(number)] = _PALETTE[rank % len(_PALETTE)]
    return colours


def _why_not(result: Any) -> str:
    """Say why the hunt cannot be pictured, or "" when it can."""
    days = getattr(result, "user_days", None)
    features = list(getattr(result, "features", None) or [])
    if not isinstance(days, pd.DataFrame) or days.empty:
        return "No population picture: there are no scored account-days."
    if not features:
        return "No population picture: the hunt has no model features."
    missing = [name for name in features if name not in days.columns]
    if missing:
        shown = ", ".join(safe_text(name, LABEL_WIDTH) for name in missing[:5])
        return f"No population picture: the account-days lack the model feature(s) {shown}."
    return ""


def population_plot(
    result: Any,
    *,
    max_normal: int = MAX_NORMAL_POINTS,
    max_labels: int = MAX_LABELS,
    seed: int = 0,
) -> tuple[Figure | None, str]:
    """
    Draw every account-day of a hunt in two dimensions, outliers and incidents highlighted.

    Normal account-days are a light cloud (at most `max_normal` of them, a
    seeded sample, rasterized so the figure stays small); account-days the
    model flagged but the hunt does not report (suppressed, allow-listed or
    another account's) are dark grey rings; every reported outlier is a
    point on top, in one collection (its gid is ``"outliers"``), coloured
    by incident when the hunt has ``incidents``. The top `max_labels`
    incidents by score (or outliers, without incidents) are labelled with
    their number, kind and an account and day, at the highest-scoring
    member.

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        A finished hunt: ``user_days`` with the columns named in
        ``features`` and ``score``; ``outliers`` (index: rows of
        ``user_days``); optionally ``incidents`` and ``outliers["incident"]``.
    max_normal : int, default=20000
        Most normal account-days drawn.
    max_labels : int, default=8
        Most labelled incidents or outliers.
    seed : int, default=0
        Seed of the sample of normal account-days.

    Returns
    -------
    tuple of (Figure or None, str)
        The figure, and "" — or None and the reason there is no picture
        (no account-days, no features, features missing).

    Examples
    --------
    >>> from msticnb_iforest import hunt
    >>> from msticnb_iforest.sources.demo import generate_demo
    >>> found = hunt(generate_demo(n_users=40, n_days=14).events)  # doctest: +SKIP
    >>> fig, why = population_plot(found)  # doctest: +SKIP
    >>> why  # doctest: +SKIP
    ''

    """
    reason = _why_not(result)
    if reason:
        return None, reason
    days = result.user_days
    found = project(days[list(result.features)])
    at, held, normal = _rows(days, result.outliers)
    outliers = result.outliers[result.outliers.index.isin(days.index)]
    numbers, incidents = _incident_numbers(result, outliers)
    fig = Figure(figsize=(11, 6.6), layout="constrained")
    ax = fig.add_subplot()
    xy = found.coords
    shown = _sample(normal, max_normal, seed)
    what = f"{len(normal):,} account-days"
    if len(shown) < len(normal):
        what = f"{len(shown):,} of {len(normal):,} account-days (a sample)"
    ax.scatter(*xy[shown].T, s=5, c=_CLOUD, alpha=0.45, lw=0, rasterized=True, label=what)
    if len(held):
        label = f"flagged, not reported ({len(held):,})"
        ax.scatter(*xy[held].T, s=22, facecolors="none", edgecolors=_FLAGGED, lw=0.8, label=label)
    many = len(at) > 300  # smaller points without edges, so that thousands still show the cloud
    points = ax.scatter(
        *xy[at].T,
        s=10 if many else 34,
        c=list(_colours(numbers, incidents, max_labels)),
        edgecolors="black",
        lw=0 if many else 0.5,
        zorder=3,
        rasterized=len(at) > 2000,
        label=f"reported outliers ({len(at):,})",
    )
    points.set_gid("outliers")
    _annotate(ax, xy[at], _labels(outliers, numbers, incidents, max_labels))
    names = found.features
    ax.set_xlabel(_axis_label(1, found.explained[0], found.loadings[0], names), parse_math=False)
    ax.set_ylabel(_axis_label(2, found.explained[1], found.loadings[1], names), parse_math=False)
    ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
    ax.grid(True, lw=0.3, alpha=0.5)
    grouped = " by incident" if not incidents.empty else ""
    fig.suptitle(
        f"All {len(days):,} account-days, {len(at):,} reported outlier(s){grouped} "
        f"(principal components of the {len(names)} model features)",
        fontsize=10,
    )
    return fig, ""


def _rows(days: pd.DataFrame, outliers: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """
    Split the account-days into three groups of positions.

    Returns the reported outliers' positions (in the order of `outliers`),
    those of the days the model flagged that are not reported, and those of
    the rest.
    """
    at = days.index.get_indexer(outliers.index)
    at = at[at >= 0]
    reported = np.zeros(len(days), dtype=bool)
    reported[at] = True
    flagged = reported.copy()
    if "is_outlier" in days:
        flagged |= days["is_outlier"].to_numpy(dtype=bool)
    if "suppressed" in days:
        flagged |= days["suppressed"].fillna("").astype(str).to_numpy() != ""
    return at, np.flatnonzero(flagged & ~reported), np.flatnonzero(~flagged)


def _annotate(ax: Any, xy: np.ndarray, labels: Any) -> None:
    """Write the labels in a column beside the axes, each joined to its point by a line."""
    chosen = list(labels)
    if not chosen:
        return
    # Stacked in the order of their points' heights, so that few joining lines cross.
    chosen.sort(key=lambda item: -xy[item[0], 1])
    step = min(0.07, 0.84 / len(chosen))
    for slot, (pos, text, colour) in enumerate(chosen):
        ax.annotate(
            text,
            xy=(xy[pos, 0], xy[pos, 1]),
            xytext=(1.02, 0.96 - slot * step),
            textcoords="axes fraction",
            fontsize=8,
            color=colour,
            va="center",
            ha="left",
            parse_math=False,
            annotation_clip=False,
            arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.6, "alpha": 0.8},
        )


def correlations(values: pd.DataFrame, *, max_rows: int = MAX_CORRELATION_ROWS, seed: int = 0):
    """
    Return the model features' rank (Spearman) correlations, over a sample if large.

    Parameters
    ----------
    values : pd.DataFrame
        One column per model feature, one row per account-day. Not modified.
    max_rows : int, default=200000
        Rows used at most; a seeded sample of rows beyond that (the
        correlations of a sample that size are within about 0.01 of all).
    seed : int, default=0
        Seed of the sample.

    Returns
    -------
    pd.DataFrame
        Features by features, from -1 to 1; NaN where a feature is constant
        (it moves with nothing).

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1, 2, 3, 4], "b": [2, 4, 6, 9], "c": [1, 1, 1, 1]})
    >>> table = correlations(frame)
    >>> float(table.loc["a", "b"]), bool(np.isnan(table.loc["a", "c"]))
    (1.0, True)

    """
    rows = _sample(np.arange(len(values)), max_rows, seed)
    shown = values.iloc[rows] if len(rows) < len(values) else values
    ranks = shown.apply(pd.to_numeric, errors="coerce").rank()  # per column, not per row
    return ranks.corr()


def correlation_plot(result: Any, *, seed: int = 0) -> tuple[Figure | None, str]:
    """
    Draw how a hunt's model features move together, as a table of colours.

    Parameters
    ----------
    result : Hunt or AnomalousLogonUsersResult
        A finished hunt: ``user_days`` with the columns named in ``features``.
    seed : int, default=0
        Seed of the sample of account-days beyond `MAX_CORRELATION_ROWS`.

    Returns
    -------
    tuple of (Figure or None, str)
        The figure (features in plain words on both axes, each cell's rank
        correlation written in it, constant features left blank and named
        in the title), and "" — or None and the reason there is none.

    """
    reason = _why_not(result)
    if reason:
        return None, reason
    names = list(result.features)
    if len(names) < 2:
        return None, "Feature correlations need at least two features."
    table = correlations(result.user_days[names], seed=seed)
    words = [safe_text(feature_words(name), LABEL_WIDTH) for name in names]
    size = min(11.0, 3.0 + 0.55 * len(names))
    fig = Figure(figsize=(size + 3.0, size), layout="constrained")
    ax = fig.add_subplot()
    grid = table.to_numpy(dtype=float)
    image = ax.imshow(np.ma.masked_invalid(grid), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(len(names)), words, rotation=40, ha="right", fontsize=9)
    ax.set_yticks(range(len(names)), words, fontsize=9)
    for label in (*ax.get_xticklabels(), *ax.get_yticklabels()):
        label.set_parse_math(False)
    if len(names) <= 16:
        for (i, j), value in np.ndenumerate(grid):
            if np.isfinite(value):
                ink = "white" if abs(value) > 0.6 else "black"
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8, color=ink)
    fig.colorbar(image, ax=ax, shrink=0.8, label="rank correlation")
    moving = np.isfinite(grid).any(axis=0)
    constant = [word for word, moves in zip(words, moving, strict=True) if not moves]
    title = (
        f"How the {len(names)} model features move together "
        f"({len(result.user_days):,} account-days)"
    )
    if constant:
        title += f"; constant here: {', '.join(constant)}"
    fig.suptitle(title, fontsize=10, wrap=True, parse_math=False)
    return fig, ""

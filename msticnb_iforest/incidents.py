r"""
Group a hunt's outliers into incidents: one attack, one row, one lead sentence.

A password spray flags twenty accounts on one day; the analyst should see one
incident that names the source, not twenty rows. `group_incidents` links two
outliers when, **on the same day**, they share

``password spray``
    a failing source address (``FailedSrcIp``) that failed against at least
    `SPRAY_MIN_ACCOUNTS` accounts that day, more than its usual
    (``SrcIpFailedAccountsUsual``) by that many and at least twice it;
``shared source``
    a failing source that failed against two or more accounts but is no
    spray, or the source address of their logons (``HostsSrcIp``: the
    address that sent the most workstation names for the account that day)
    when at least half of that day's account-days naming that address are
    flagged (an address most accounts come from, such as a gateway or a
    terminal server, links nothing);
``same pattern``
    the same top features, in the same order (``top_features`` of the
    explanations), for outliers that no source links: a pattern is weaker
    evidence than a source, so it never joins an outlier to a source's
    incident nor two source incidents together (two sprays on one day look
    alike, and stay two incidents).

Incidents are the connected components of these links (an outlier linked to
two others joins all three), so the kind of an incident is the strongest of
its links in the order above; an outlier with no link is an incident of
one, of kind ``single``. Links never cross days: the same source on two days
makes two incidents, each with its own day's counts. The tables hold no set
of target computers per account-day (only their counts), so no link is made
on shared targets. Without the source columns (the ``seed`` feature set's
``user_day_summary`` table) the links are patterns only.

Incidents are numbered 1..n in the order an analyst should read them: by the
sum of their members' scores (how much flagged activity they hold, so a spray
that flagged twenty accounts comes before one account's brute force that
scored higher than each of them), then by their highest member score, then
by the first member's place in the outliers. ``score`` is the highest member
score.

Everything is vectorized (factorized keys, group-bys and one sparse graph's
connected components) and deterministic: the same outliers give the same
incidents. No input frame is modified.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = [
    "INCIDENT_COLUMNS",
    "KINDS",
    "NAMES_IN_LEAD",
    "SPRAY_MIN_ACCOUNTS",
    "empty_incidents",
    "first_clauses",
    "group_incidents",
]

SPRAY = "password spray"
SOURCE = "shared source"
PATTERN = "same pattern"
SINGLE = "single"

#: The kinds of incident, strongest link first (an incident takes its strongest).
KINDS = (SPRAY, SOURCE, PATTERN, SINGLE)

#: A failing source is a spray when it failed against at least this many
#: accounts on the day, at least this many more than usual.
SPRAY_MIN_ACCOUNTS = 5

#: Accounts named in the lead of an incident of several accounts.
NAMES_IN_LEAD = 3

#: One row per incident, in this order (see `group_incidents`).
INCIDENT_COLUMNS = [
    "incident",
    "kind",
    "lead",
    "n_accounts",
    "accounts",
    "first_day",
    "last_day",
    "sources",
    "score",
    "n_outliers",
    "members",
]

_DTYPES = {
    "incident": "int64",
    "kind": object,
    "lead": object,
    "n_accounts": "int64",
    "accounts": object,
    "first_day": "datetime64[ns]",
    "last_day": "datetime64[ns]",
    "sources": object,
    "score": "float64",
    "n_outliers": "int64",
    "members": object,
}

_LINK_COLUMNS = ["pos", "key", "kind", "source"]


def empty_incidents() -> pd.DataFrame:
    """
    Return an incident table with no rows and every column of `INCIDENT_COLUMNS`.

    Examples
    --------
    >>> empty_incidents().columns.tolist()[:4]
    ['incident', 'kind', 'lead', 'n_accounts']

    """
    return pd.DataFrame({name: pd.Series(dtype=_DTYPES[name]) for name in INCIDENT_COLUMNS})


def group_incidents(
    outliers: pd.DataFrame,
    user_days: pd.DataFrame | None = None,
    explanations: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    r"""
    Group outliers that share a source or a day's pattern into incidents.

    Parameters
    ----------
    outliers : pd.DataFrame
        Reported outliers (``Date``, ``DstDomain``, ``DstUser``, ``score``;
        ``FailedSrcIp``, ``SrcIpFailedAccounts``, ``SrcIpFailedAccountsUsual``
        and ``HostsSrcIp`` when the table has them), highest score first.
        Not modified.
    user_days : pd.DataFrame, optional
        Every scored user-day: tells a shared source address that most of
        the day's accounts use (not a link) from one mostly used by flagged
        ones. Without it, every shared ``HostsSrcIp`` links. Not modified.
    explanations : pd.DataFrame, optional
        The outliers' explanations (same index): ``top_features`` gives the
        day patterns, ``clauses`` or ``reason`` the strongest reason named
        in a lone outlier's lead. Not modified.

    Returns
    -------
    incidents : pd.DataFrame
        `INCIDENT_COLUMNS`, one row per incident, the most flagged activity
        (sum of member scores) first: ``incident`` (1..n in this order), ``kind`` (one of `KINDS`),
        ``lead`` (the sentence to read first), ``n_accounts`` and
        ``accounts`` ("DOMAIN\user", joined by ", ", highest score first),
        ``first_day`` and ``last_day``, ``sources`` (its failing sources and
        the shared sources that linked it, most members first; may be ""),
        ``score`` (its highest member's), ``n_outliers`` and ``members`` (the
        members' labels in `outliers`' index, joined by ", ").
    incident : pd.Series
        Per outlier (index of `outliers`), the number of its incident.

    Examples
    --------
    >>> import pandas as pd
    >>> outliers = pd.DataFrame({
    ...     "Date": pd.to_datetime(["2024-03-21"] * 3),
    ...     "DstDomain": "CONTOSO", "DstUser": ["ann", "bob", "cy"],
    ...     "score": [0.3, 0.2, 0.1],
    ...     "FailedSrcIp": ["10.9.9.9", "10.9.9.9", ""],
    ...     "SrcIpFailedAccounts": [40, 40, 0],
    ...     "SrcIpFailedAccountsUsual": [0.4, 0.4, 0.0],
    ... }, index=[7, 8, 9])
    >>> incidents, incident = group_incidents(outliers)
    >>> print(incidents.loc[0, "lead"].replace(": ", ":\n"))
    Password spray from 10.9.9.9 on 2024-03-21:
    failed against 40 accounts (usually 0–1 a day), 2 flagged
    >>> incident.tolist()
    [1, 1, 2]

    """
    if outliers.empty:
        return empty_incidents(), pd.Series(index=outliers.index, dtype="int64", name="incident")
    rows = _members(outliers, explanations)
    links = _source_links(rows, outliers, user_days)
    linked = _linking(links)
    pattern = _pattern_links(rows, outliers, explanations, np.unique(linked["pos"]))
    links = pd.concat([linked, _linking(pattern)], ignore_index=True).astype({"pos": "int64"})
    rows["component"] = _components(len(rows), links)
    table = _incident_rows(rows, links, outliers)
    number = pd.Series(np.arange(1, len(table) + 1), index=table.index)
    incident = pd.Series(
        number.reindex(rows["component"]).to_numpy(), index=outliers.index, name="incident"
    )
    table.insert(0, "incident", number.to_numpy())
    return table.reset_index(drop=True)[INCIDENT_COLUMNS].astype(_DTYPES), incident


def first_clauses(explanations: pd.DataFrame | None, index: pd.Index) -> pd.Series:
    """
    Return each outlier's strongest reason: the first clause of its explanation.

    The first of ``clauses`` (its ``text``) when the explanations have them,
    else ``reason`` up to its first "; " (with the "usual ..." that follows
    a count, and without the closing "Baseline: ..." sentence); "" for an
    outlier without an explanation.

    Examples
    --------
    >>> import pandas as pd
    >>> why = pd.DataFrame({"reason": [
    ...     "201 failed logons; usual 0 per day; 3 new hosts. Baseline: 16 day(s)",
    ...     "23 computers not seen before. Baseline: 15 day(s)"]})
    >>> first_clauses(why, why.index).tolist()
    ['201 failed logons; usual 0 per day', '23 computers not seen before']

    """
    heads = pd.Series("", index=index, dtype=object)
    if explanations is None or explanations.empty:
        return heads
    if "reason" in explanations.columns:
        reason = explanations["reason"].reindex(index).fillna("").astype(str)
        reason = reason.str.replace(r"\.?;? ?[Bb]aseline: .*$", "", regex=True)
        parts = reason.str.split("; ", n=2, expand=True).reindex(columns=[0, 1])
        head, then = parts[0].fillna(""), parts[1].fillna("")
        heads = head.where(~then.str.startswith("usual"), head + "; " + then).astype(object)
    if "clauses" in explanations.columns:
        # One entry per explained outlier (a few hundred), each a list of dicts or missing.
        texts = [
            c[0].get("text") if isinstance(c, list) and c and isinstance(c[0], dict) else None
            for c in explanations["clauses"].reindex(index)
        ]
        first = pd.Series(texts, index=index, dtype=object)
        usable = first.map(lambda text: isinstance(text, str) and text != "").astype(bool)
        heads = first.where(usable, heads)
    return heads.astype(object)


def _members(outliers: pd.DataFrame, explanations: pd.DataFrame | None) -> pd.DataFrame:
    """Return one row per outlier, by position: day, account, score, label and reason."""
    domain = outliers["DstDomain"].fillna("").astype(str)
    user = outliers["DstUser"].fillna("").astype(str)
    return pd.DataFrame(
        {
            "pos": np.arange(len(outliers)),
            "label": outliers.index.astype(str),
            "day": pd.to_datetime(outliers["Date"], errors="coerce").dt.normalize().to_numpy(),
            "account": (domain + "\\" + user).to_numpy(),
            "score": pd.to_numeric(outliers["score"], errors="coerce").to_numpy(),
            "clause": first_clauses(explanations, outliers.index).to_numpy(),
        }
    )


def _text(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Return a text column trimmed, missing values as "" (all "" when absent)."""
    if column not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    codes, uniques = pd.factorize(frame[column])  # trimmed once per distinct value
    trimmed = np.append(pd.Index(uniques).astype(str).str.strip().to_numpy(dtype=object), "")
    return trimmed[codes]  # a missing value's code is -1: the "" at the end


def _number(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Return a count column as floats, missing values as 0 (all 0 when absent)."""
    if column not in frame.columns:
        return np.zeros(len(frame))
    return pd.to_numeric(frame[column], errors="coerce").fillna(0.0).to_numpy(dtype="float64")


def _source_links(
    rows: pd.DataFrame, outliers: pd.DataFrame, user_days: pd.DataFrame | None
) -> pd.DataFrame:
    """Return the outliers' failing and shared sources as links keyed by (day, address)."""
    dated = rows["day"].notna().to_numpy()
    parts = []
    failing = _text(outliers, "FailedSrcIp")
    accounts = _number(outliers, "SrcIpFailedAccounts")
    usual = _number(outliers, "SrcIpFailedAccountsUsual")
    use = dated & (failing != "") & (accounts >= 2)
    spray = (accounts >= SPRAY_MIN_ACCOUNTS + usual) & (accounts >= 2 * usual)
    parts.append((use, failing, np.where(spray, SPRAY, SOURCE)))
    shared = _text(outliers, "HostsSrcIp")
    use = dated & (shared != "")
    if use.any():
        key = pd.MultiIndex.from_arrays([rows["day"], shared])
        flagged = pd.Series(1, index=key[use]).groupby(level=[0, 1]).size()
        flagged_here = flagged.reindex(key).fillna(0).to_numpy()
        every_here = np.zeros(len(rows))
        if user_days is not None and {"Date", "HostsSrcIp"} <= set(user_days.columns):
            every_here[use] = _day_source_counts(
                user_days, rows["day"].to_numpy()[use], shared[use]
            )
        use &= 2 * flagged_here >= np.maximum(every_here, flagged_here)
    parts.append((use, shared, np.full(len(rows), SOURCE, dtype=object)))
    frames = [
        pd.DataFrame(
            {
                "pos": rows["pos"].to_numpy()[use],
                "day": rows["day"].to_numpy()[use],
                "source": address[use],
                "kind": kind[use],
            }
        )
        for use, address, kind in parts
    ]
    links = pd.concat(frames, ignore_index=True)
    links["key"] = "source/" + links.groupby(["day", "source"], sort=True).ngroup().astype(str)
    return links[_LINK_COLUMNS]


def _day_source_counts(
    user_days: pd.DataFrame, days: np.ndarray, sources: np.ndarray
) -> np.ndarray:
    """
    Count the user-days of each (day, source) pair: ``Date`` (to its day) and ``HostsSrcIp``.

    `days` are days and `sources` trimmed addresses, no missing ones. Each
    distinct date and address of the table is read and matched once, then
    only the table's rows whose day and address both occur among the pairs
    are counted.
    """
    want_day, want_days = pd.factorize(days)
    want_source, want_sources = pd.factorize(sources)
    date_codes, dates = pd.factorize(user_days["Date"])
    date_day = pd.Index(want_days).get_indexer(
        pd.to_datetime(pd.Series(dates), errors="coerce").dt.normalize()
    )
    source_codes, addresses = pd.factorize(user_days["HostsSrcIp"])
    address_source = pd.Index(want_sources).get_indexer(pd.Index(addresses).astype(str).str.strip())
    # A missing date or address (code -1) takes the -1 appended at the end: no pair.
    row_source = np.append(address_source, -1)[source_codes]
    hit = np.flatnonzero(row_source >= 0)
    row_day = np.append(date_day, -1)[date_codes[hit]]
    found = row_day >= 0
    n_sources = max(len(want_sources), 1)
    pairs = row_day[found] * n_sources + row_source[hit[found]]
    wanted = want_day.astype(np.int64) * n_sources + want_source
    distinct, pair_of = np.unique(wanted, return_inverse=True)
    counts = np.bincount(pd.Index(distinct).get_indexer(pairs) + 1, minlength=len(distinct) + 1)
    return counts[1:][pair_of].astype("float64")


def _pattern_links(
    rows: pd.DataFrame,
    outliers: pd.DataFrame,
    explanations: pd.DataFrame | None,
    linked: np.ndarray,
) -> pd.DataFrame:
    """Return links between outliers no source links that share a day and top features."""
    if explanations is None or "top_features" not in explanations.columns:
        return pd.DataFrame(columns=_LINK_COLUMNS)
    top = explanations["top_features"].reindex(outliers.index)
    pattern = top.where(top.map(type).isin([list, tuple])).str.join("|").fillna("").to_numpy()
    use = (pattern != "") & rows["day"].notna().to_numpy()
    use[linked] = False
    frame = pd.DataFrame(
        {"pos": rows["pos"].to_numpy()[use], "day": rows["day"].to_numpy()[use]}
    ).assign(pattern=pattern[use], kind=PATTERN, source="")
    frame["key"] = "pattern/" + frame.groupby(["day", "pattern"], sort=True).ngroup().astype(str)
    return frame[_LINK_COLUMNS]


def _linking(links: pd.DataFrame) -> pd.DataFrame:
    """Keep the links whose key joins two or more outliers."""
    members = links.groupby("key")["pos"].transform("nunique")
    return links[members.to_numpy() >= 2]


def _components(n_rows: int, links: pd.DataFrame) -> np.ndarray:
    """Return each outlier's connected component over the links (outliers and keys as nodes)."""
    keys = pd.factorize(links["key"], sort=True)[0] + n_rows
    pos = links["pos"].to_numpy(dtype="int64")
    size = n_rows + (int(keys.max()) + 1 - n_rows if len(keys) else 0)
    graph = coo_matrix((np.ones(len(pos)), (pos, keys)), shape=(size, size))
    return connected_components(graph, directed=False)[1][:n_rows]


def _joined(frame: pd.DataFrame, column: str, order: list[str]) -> pd.Series:
    """Join a column's distinct values per component, in the given order, with ", "."""
    distinct = frame.sort_values(order, kind="stable").drop_duplicates(["component", column])
    return _join_per(distinct["component"], distinct[column])


def _join_per(components: pd.Series, values: pd.Series) -> pd.Series:
    """Join `values` with ", " per component, in their order (most components hold one)."""
    sizes = components.value_counts()
    many = components.isin(sizes.index[sizes > 1]).to_numpy()
    alone = pd.Series(values.to_numpy()[~many], index=components.to_numpy()[~many], dtype=object)
    if many.any():
        joined = (
            pd.Series(values.to_numpy()[many]).groupby(components.to_numpy()[many]).agg(", ".join)
        )
        alone = pd.concat([alone, joined])
    return alone.sort_index()


def _incident_rows(rows: pd.DataFrame, links: pd.DataFrame, outliers: pd.DataFrame) -> pd.DataFrame:
    """Return one row per component with every column but ``incident``, in incident order."""
    group = rows.groupby("component")
    table = pd.DataFrame(
        {
            "first_pos": group["pos"].min(),
            "score": group["score"].max(),
            "total": group["score"].sum(),
            "first_day": group["day"].min(),
            "last_day": group["day"].max(),
            "n_outliers": group.size(),
            "n_accounts": group["account"].nunique(),
            "accounts": _joined(rows, "account", ["component", "pos"]),
            "members": _join_per(rows["component"], rows["label"]),
        }
    )
    links = links.assign(component=rows["component"].to_numpy()[links["pos"].to_numpy()])
    rank = links["kind"].map({kind: rank for rank, kind in enumerate(KINDS)})
    best = rank.groupby(links["component"]).min()
    table["kind"] = np.asarray(KINDS, dtype=object)[best.reindex(table.index, fill_value=3)]
    table["sources"] = _sources(rows, links, outliers).reindex(table.index).fillna("")
    table = table.sort_values(
        ["total", "score", "first_pos"], ascending=[False, False, True], kind="stable"
    )
    table["lead"] = _leads(table, rows, links, outliers)
    return table


def _sources(rows: pd.DataFrame, links: pd.DataFrame, outliers: pd.DataFrame) -> pd.Series:
    """
    Per component: its linking sources and its members' failing sources, joined.

    The sources of its strongest links come first (a spray's before a shared
    source's), then those with most members, then by address.
    """
    failing = _text(outliers, "FailedSrcIp")
    named = pd.concat(
        [
            links.loc[links["source"] != "", ["component", "pos", "source", "kind"]],
            pd.DataFrame(
                {"component": rows["component"], "pos": rows["pos"], "source": failing}
            ).assign(kind=SINGLE),
        ],
        ignore_index=True,
    )
    named["rank"] = named["kind"].map({kind: rank for rank, kind in enumerate(KINDS)})
    named = named[named["source"] != ""].drop_duplicates(["component", "pos", "source"])
    counts = named.groupby(["component", "source"]).agg(rank=("rank", "min"), n=("pos", "nunique"))
    counts = counts.reset_index().assign(minus=lambda frame: -frame["n"])
    return _joined(counts, "source", ["component", "rank", "minus", "source"])


def _leads(
    table: pd.DataFrame, rows: pd.DataFrame, links: pd.DataFrame, outliers: pd.DataFrame
) -> pd.Series:
    """Say each incident's essential thing first: its kind, source or account, day and size."""
    first = rows.set_index("pos").loc[table["first_pos"]].set_index(table.index)
    first_day = table["first_day"].dt.strftime("%Y-%m-%d").fillna("an unknown day")
    last_day = table["last_day"].dt.strftime("%Y-%m-%d").fillna("an unknown day")
    day = first_day.where(first_day == last_day, first_day + " to " + last_day)
    n_accounts = table["n_accounts"].map("{:,}".format)
    named = rows.sort_values("pos").drop_duplicates(["component", "account"])
    shown = named.groupby("component").head(NAMES_IN_LEAD)
    names = _join_per(shown["component"], shown["account"]).reindex(table.index)
    more = table["n_accounts"] - NAMES_IN_LEAD
    names = names.where(more <= 0, names + " and " + more.map("{:,}".format) + " more")
    clause = first["clause"].where(first["clause"] != "", None)

    spray = _main_source(links, outliers, SPRAY).reindex(table.index)
    usual = spray["usual"].fillna(0.0)
    low, high = np.floor(usual).astype("int64"), np.ceil(usual).astype("int64")
    usual_text = low.map("{:,}".format).where(
        low == high, low.map("{:,}".format) + "–" + high.map("{:,}".format)
    )
    others = table["sources"].str.count(", ").where(table["sources"] != "", 0)
    also = pd.Series("", index=table.index).where(
        others == 0, "; " + others.map("{:,}".format) + " other source(s) linked"
    )
    source = _main_source(links, outliers, SOURCE)["source"].reindex(table.index).fillna("")
    accounts = spray["accounts"].fillna(0).map("{:,.0f}".format)
    example = (": " + clause + " (" + first["account"] + ")").fillna("")
    score = "flagged with score " + table["score"].map("{:.3f}".format)
    leads = {
        SPRAY: _cat("Password spray from ", spray["source"].fillna(""), " on ", day),
        SOURCE: _cat("Shared source ", source, " on ", day, ": ", n_accounts),
        PATTERN: _cat("Same pattern in ", n_accounts, " flagged accounts on ", day),
        SINGLE: _cat(first["account"], " on ", day, ": ", clause.fillna(score)),
    }
    leads[SPRAY] = _cat(leads[SPRAY], ": failed against ", accounts, " accounts (usually ")
    leads[SPRAY] = _cat(leads[SPRAY], usual_text, " a day), ", n_accounts, " flagged", also)
    leads[SOURCE] = _cat(leads[SOURCE], " flagged accounts (", names, ")")
    leads[PATTERN] = _cat(leads[PATTERN], " (", names, ")", example)
    lead = pd.Series("", index=table.index, dtype=object)
    for kind, text in leads.items():
        lead = lead.where(table["kind"] != kind, text)
    return lead


def _cat(*parts: pd.Series | str) -> pd.Series:
    """Join text Series (aligned on their index) and plain strings, element by element."""
    text = parts[0]
    for part in parts[1:]:
        text = text + part
    return text


def _main_source(links: pd.DataFrame, outliers: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Per component: the source of its `kind` links with most members, its accounts and usual."""
    chosen = links[links["kind"] == kind]
    accounts = _number(outliers, "SrcIpFailedAccounts")[chosen["pos"].to_numpy()]
    usual = _number(outliers, "SrcIpFailedAccountsUsual")[chosen["pos"].to_numpy()]
    facts = chosen.assign(accounts=accounts, usual=usual).groupby(["component", "source"])
    per = facts.agg(n=("pos", "nunique"), accounts=("accounts", "max"), usual=("usual", "max"))
    per = per.reset_index().sort_values(
        ["component", "n", "accounts", "source"], ascending=[True, False, False, True]
    )
    return per.drop_duplicates("component").set_index("component")[["source", "accounts", "usual"]]

r"""
Stable ids of reported account-days: which day (``finding``) and what made it (``evidence``).

A scheduled hunt remembers what it reported by two ids, each the first 12
hex digits of the SHA-256 of a canonical text:

``finding``
    The account-day: the account key and the UTC day. The same account on
    the same day has the same id in every run.
``evidence``
    The account and the evidence that made the day stand out: the named new
    source hosts, new source addresses and new target computers of the day
    (``NewSrcHosts``, ``NewSrcIps``, ``NewComputers``: comma-joined names),
    the failing source address (``FailedSrcIp``) and the day's failed logons
    in buckets (0, 1-9, 10-99, 100+). Where a table has no name columns, the
    counts (``NovelSrcHost``, ``NovelSrcIp``, ``NovelComputer``) stand in.
    The model's top features are not part of it: they change with the model.

Each account-day also gets its *named items*: every named source or target
as ``kind:name`` (``src_host:ws-17``, ``src_ip:10.0.0.5``,
``computer:srv-01``, ``failed_src_ip:203.0.113.9``). A new item known only
by a count is written ``?kind:count`` (``?src_host:2``): it names nothing,
so an analyst's verdict can never be said to have seen it already.

The account key is the ``AccountKey`` column when the table has one, else
``domain\user`` lower-cased.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

__all__ = [
    "EVIDENCE_KINDS",
    "UNNAMED",
    "account_keys_of",
    "days_of",
    "evidence_items",
    "failure_buckets",
    "fingerprints",
    "short_hash",
]

#: (item kind, column of names, column of counts standing in when the names are absent).
EVIDENCE_KINDS = (
    ("src_host", "NewSrcHosts", "NovelSrcHost"),
    ("src_ip", "NewSrcIps", "NovelSrcIp"),
    ("computer", "NewComputers", "NovelComputer"),
    ("failed_src_ip", "FailedSrcIp", None),
)

#: Prefix of an item known only by a count (never covered by a verdict).
UNNAMED = "?"

#: Hex digits kept of each SHA-256.
ID_LENGTH = 12


def short_hash(texts: pd.Series | list[str]) -> np.ndarray:
    """
    Return the first 12 hex digits of the SHA-256 of each text (UTF-8).

    A lone surrogate (a name decoded from broken text) is hashed as it is.

    Examples
    --------
    >>> short_hash(["alice"]).tolist()
    ['2bd806c97f0e']

    """
    return np.array(
        [
            hashlib.sha256(str(text).encode("utf-8", "surrogatepass")).hexdigest()[:ID_LENGTH]
            for text in texts
        ],
        dtype=object,
    )


def account_keys_of(rows: pd.DataFrame) -> pd.Series:
    r"""
    Return each row's account key: ``AccountKey``, else ``domain\user`` lower-cased.

    Examples
    --------
    >>> rows = pd.DataFrame({"DstDomain": ["CONTOSO"], "DstUser": ["Alice"]})
    >>> account_keys_of(rows).tolist()
    ['contoso\\alice']

    """
    if "AccountKey" in rows.columns:
        keys = rows["AccountKey"].astype(object).where(rows["AccountKey"].notna(), "")
        return keys.astype(str)
    domain = rows["DstDomain"].fillna("").astype(str).str.strip()
    user = rows["DstUser"].fillna("").astype(str).str.strip()
    return (domain + "\\" + user).str.lower()


def days_of(rows: pd.DataFrame) -> pd.Series:
    """
    Return each row's UTC day of ``Date`` as ``YYYY-MM-DD`` (naive times are UTC).

    Examples
    --------
    >>> days_of(pd.DataFrame({"Date": pd.to_datetime(["2024-05-01 10:00"])})).tolist()
    ['2024-05-01']

    """
    dates = pd.to_datetime(rows["Date"])
    if dates.dt.tz is not None:
        dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
    return dates.dt.strftime("%Y-%m-%d").fillna("")


def failure_buckets(rows: pd.DataFrame) -> pd.Series:
    """
    Return the day's failed logons in buckets: "0", "1-9", "10-99" or "100+".

    Examples
    --------
    >>> failure_buckets(pd.DataFrame({"FailedLogons": [0, 3, 40, 900]})).tolist()
    ['0', '1-9', '10-99', '100+']

    """
    if "FailedLogons" not in rows.columns:
        return pd.Series("0", index=rows.index, dtype=object)
    failed = pd.to_numeric(rows["FailedLogons"], errors="coerce").fillna(0).to_numpy()
    labels = np.array(["0", "1-9", "10-99", "100+"], dtype=object)
    return pd.Series(labels[np.searchsorted([1, 10, 100], failed, side="right")], index=rows.index)


def _sorted_distinct(labels: np.ndarray, names: np.ndarray, n: int) -> list[list[str]]:
    """Per label 0..n-1, its distinct names in ``sorted(set(...))`` order, without a groupby."""
    names = np.asarray(names, dtype=object)
    labels = np.asarray(labels, dtype=np.int64)
    order = np.argsort(names, kind="stable")
    order = order[np.argsort(labels[order], kind="stable")]
    labels, names = labels[order], names[order]
    keep = np.ones(len(names), dtype=bool)
    keep[1:] = (labels[1:] != labels[:-1]) | (names[1:] != names[:-1])
    labels, kept = labels[keep], names[keep].tolist()
    bounds = np.searchsorted(labels, np.arange(n + 1))
    bounds = bounds.tolist()
    return [kept[start:stop] for start, stop in zip(bounds[:-1], bounds[1:], strict=True)]


def _names(values: pd.Series) -> pd.Series:
    """Split comma-joined names, trim and lower-case them; return the sorted distinct ones."""
    text = values.astype(object).where(values.notna(), "").astype(str)
    parts = text.set_axis(pd.RangeIndex(len(text))).str.split(",").explode()
    parts = parts.str.strip().str.lower()
    parts = parts[parts != ""]
    per_row = _sorted_distinct(parts.index.to_numpy(), parts.to_numpy(dtype=object), len(text))
    return pd.Series([",".join(names) for names in per_row], index=values.index, dtype=object)


def _kind_text(rows: pd.DataFrame, names: str, counts: str | None) -> tuple[pd.Series, bool]:
    """Return one kind's names (or ``#count`` standing in) per row, and whether they are names."""
    if names in rows.columns:
        return _names(rows[names]), True
    if counts is not None and counts in rows.columns:
        number = pd.to_numeric(rows[counts], errors="coerce").fillna(0).astype("int64")
        text = "#" + number.astype(str)
        return text.where(number > 0, ""), False
    return pd.Series("", index=rows.index, dtype=object), True


def _kind_texts(rows: pd.DataFrame) -> list[tuple[str, pd.Series, bool]]:
    """Each evidence kind's `_kind_text` of the rows: (kind, text, named)."""
    return [(kind, *_kind_text(rows, names, counts)) for kind, names, counts in EVIDENCE_KINDS]


def _items(texts: list[tuple[str, pd.Series, bool]], n: int) -> list[tuple[str, ...]]:
    """Per row (by position), the sorted distinct ``kind:name`` items of its kinds' texts."""
    labels, names = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=object)]
    for kind, text, named in texts:
        split = pd.Series(text.to_numpy(dtype=object)).str.split(",").explode()
        split = split[split.notna() & (split != "")]
        prefix = f"{kind}:" if named else f"{UNNAMED}{kind}:"
        labels.append(split.index.to_numpy(dtype=np.int64))
        names.append((prefix + split.str.lstrip("#")).to_numpy(dtype=object))
    per_row = _sorted_distinct(np.concatenate(labels), np.concatenate(names), n)
    return [tuple(items) for items in per_row]


def evidence_items(rows: pd.DataFrame) -> pd.Series:
    """
    Return each row's named evidence items: a sorted tuple of ``kind:name`` strings.

    Items known only by a count are ``?kind:count`` (see the module's text).

    Examples
    --------
    >>> rows = pd.DataFrame({"NewSrcHosts": ["WS-2,ws-1"], "NovelSrcIp": [2]})
    >>> evidence_items(rows).iloc[0]
    ('?src_ip:2', 'src_host:ws-1', 'src_host:ws-2')

    """
    return _items_series(_kind_texts(rows), rows.index)


def _items_series(texts: list[tuple[str, pd.Series, bool]], index: pd.Index) -> pd.Series:
    # fromiter keeps each tuple whole (an array of equal-length tuples would be 2-D).
    items = np.fromiter(_items(texts, len(index)), dtype=object, count=len(index))
    return pd.Series(items, index=index, dtype=object)


def _evidence_texts(
    rows: pd.DataFrame, keys: pd.Series, texts: list[tuple[str, pd.Series, bool]]
) -> pd.Series:
    """Return the canonical evidence text of each row (account, named items, failures)."""
    text = "account=" + keys
    for kind, part, _ in texts:
        text = text + f"\n{kind}=" + part
    return text + "\nfailures=" + failure_buckets(rows)


def fingerprints(rows: pd.DataFrame) -> pd.DataFrame:
    r"""
    Return the ids and named evidence of each account-day row.

    Parameters
    ----------
    rows : pd.DataFrame
        Account-day rows (``Hunt.outliers`` or ``user_days``): ``Date``, and
        ``AccountKey`` or ``DstDomain`` and ``DstUser``; the evidence
        columns it has (see the module's text). Not modified.

    Returns
    -------
    pd.DataFrame
        Same index: ``finding``, ``evidence`` (12 hex digits each),
        ``account_key``, ``account`` (``DOMAIN\user`` as written), ``day``
        (``YYYY-MM-DD``) and ``items`` (tuple of named items).

    Examples
    --------
    >>> rows = pd.DataFrame(
    ...     {"Date": pd.to_datetime(["2024-05-01"]), "DstDomain": ["C"], "DstUser": ["a"]}
    ... )
    >>> fingerprints(rows)[["account_key", "day"]].iloc[0].tolist()
    ['c\\a', '2024-05-01']

    """
    keys = account_keys_of(rows)
    days = days_of(rows)
    texts = _kind_texts(rows)
    shown = rows.get("DstDomain", pd.Series("", index=rows.index)).fillna("").astype(str)
    shown = shown + "\\" + rows.get("DstUser", pd.Series("", index=rows.index)).fillna("")
    return pd.DataFrame(
        {
            "finding": short_hash("finding\n" + keys + "\n" + days),
            "evidence": short_hash("evidence\n" + _evidence_texts(rows, keys, texts)),
            "account_key": keys.to_numpy(dtype=object),
            "account": shown.astype(str).to_numpy(dtype=object),
            "day": days.to_numpy(dtype=object),
            "items": _items_series(texts, rows.index).to_numpy(dtype=object),
        },
        index=rows.index,
    )

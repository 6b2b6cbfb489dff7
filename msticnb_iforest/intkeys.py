"""
Integer keys for grouping many rows without pandas groupby.

Both local summarizers (`msticnb_iforest.summarize.user_days` and
`msticnb_iforest.summarize.account_days`) turn text columns into integer codes and
combine codes into one non-negative integer key per row (``day * n_accounts
+ account``, and so on). These helpers number such keys densely, find their
distinct values and runs, and count distinct values per group, using a
presence table when the key range is small and a sort otherwise.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "dense_codes",
    "distinct_per_group",
    "runs",
    "sorted_codes",
    "sorted_unique",
    "text_order",
]


def _small_range(size: int, n_keys: int) -> bool:
    """Whether a presence table of `size` entries is cheaper than sorting `n_keys` keys."""
    return size <= max(4 * n_keys, 1 << 22)


def text_order(labels: np.ndarray) -> np.ndarray:
    """
    Return the positions that sort an object array of str by code point (stable).

    The strings are compared as they are, never converted to numpy's
    fixed-width unicode, which would pad every label to the longest one
    (one 100,000-character name among 5,000 would take 2 GB). Arrow sorts
    their UTF-8 bytes, whose order is code point order; strings UTF-8
    cannot encode (lone surrogates) are sorted by Python instead. Missing
    labels (None or NaN) come last, in their order, either way (as pandas
    sorts text).
    """
    if len(labels) == 0:
        return np.zeros(0, dtype=np.int64)
    try:
        order = pc.array_sort_indices(pa.array(labels, type=pa.string(), from_pandas=True))
        return order.to_numpy().astype(np.int64)
    except (UnicodeEncodeError, pa.ArrowException, TypeError):
        keys = [_missing_last(label) for label in labels]
        return np.array(sorted(range(len(labels)), key=keys.__getitem__), dtype=np.int64)


def _missing_last(label: object) -> tuple[bool, object]:
    """Sort key of one label: text by code point, None and NaN after all text."""
    missing = label is None or (isinstance(label, float) and label != label)
    return (missing, "" if missing else label)


def sorted_codes(codes: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """
    Renumber codes so that their order follows the sorted labels.

    Parameters
    ----------
    codes : np.ndarray
        Per row, an index into `labels`.
    labels : np.ndarray
        Distinct text values (an object array of str).

    Returns
    -------
    tuple of np.ndarray
        The new int64 codes and the labels in sorted order.

    """
    order = text_order(labels)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], labels[order]


def dense_codes(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """
    Give the distinct values of a non-negative integer key codes 0..k-1, in key order.

    Returns
    -------
    tuple of np.ndarray
        Per row, the int64 code of its key, and the sorted distinct keys.

    """
    if len(key) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    size = int(key.max()) + 1
    if _small_range(size, len(key)):
        present = np.zeros(size, dtype=bool)
        present[key] = True
        index = np.cumsum(present, dtype=np.int64) - 1
        return index[key], np.flatnonzero(present)
    distinct, inverse = np.unique(key, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64), distinct


def sorted_unique(key: np.ndarray) -> np.ndarray:
    """Return the sorted distinct values of a non-negative integer key (int64)."""
    if len(key) == 0:
        return key.astype(np.int64)
    size = int(key.max()) + 1
    if _small_range(size, len(key)):
        present = np.zeros(size, dtype=bool)
        present[key] = True
        return np.flatnonzero(present)
    ordered = np.sort(key.astype(np.int32) if size < np.iinfo(np.int32).max else key)
    starts, _ = runs(ordered)
    return ordered[starts].astype(np.int64)


def runs(sorted_key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the start positions and lengths of the runs of equal values of a sorted array."""
    if len(sorted_key) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    new = np.empty(len(sorted_key), dtype=bool)
    new[0] = True
    np.not_equal(sorted_key[1:], sorted_key[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    return starts, np.diff(np.append(starts, len(sorted_key)))


def distinct_per_group(
    group: np.ndarray, n_groups: int, value: np.ndarray, n_values: int, success: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """
    Count distinct values per group, over all rows and over successful rows.

    Each row becomes one integer (group, value, success), so the sorted
    distinct integers give both KQL's ``dcount`` and ``dcountif(...,
    EventID == 4624)``.

    Parameters
    ----------
    group : np.ndarray
        Per row, its group code (0..n_groups-1).
    n_groups : int
        Number of groups.
    value : np.ndarray
        Per row, its value code (0..n_values-1).
    n_values : int
        Number of distinct values.
    success : np.ndarray
        Per row, True (or 1) for a successful logon.

    Returns
    -------
    tuple of np.ndarray
        Distinct values per group over all rows, the same over successful
        rows, and the distinct (group, value) pairs as ``group * n_values +
        value``, sorted.

    """
    width = max(n_values, 1)
    found = sorted_unique((group.astype(np.int64) * width + value) * 2 + success)
    pair = found >> 1
    starts, _ = runs(pair)
    every = np.bincount(pair[starts] // width, minlength=n_groups)
    ok = np.bincount(pair[(found & 1) == 1] // width, minlength=n_groups)
    return every.astype(np.int64), ok.astype(np.int64), pair[starts]

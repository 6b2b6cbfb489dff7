"""Integer-key helpers against plain pandas: fixed cases, edge cases and seeded random cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msticnb_iforest.intkeys import (
    dense_codes,
    distinct_per_group,
    runs,
    sorted_codes,
    sorted_unique,
    text_order,
)

#: Letters of every UTF-8 length, case pairs, accents, a combining mark, CJK,
#: astral emoji, code points around the surrogate block and NUL.
ALPHABET = [
    "\x00",
    "a",
    "A",
    "b",
    "Z",
    "_",
    " ",
    "é",
    "É",
    "e\u0301",
    "ß",
    "İ",
    "Ω",
    "中",
    "文",
    "\ud7ff",
    "\ue000",
    "\uffff",
    "\U0001f600",
    "\U0010fffd",
    "0",
    "9",
]


def _random_labels(rng: np.random.Generator, n: int, *, surrogates: bool, missing: bool):
    """`n` random strings (repeats likely), optionally with lone surrogates and None/NaN."""
    labels = []
    for _ in range(n):
        draw = rng.random()
        if missing and draw < 0.1:
            labels.append(None if draw < 0.05 else np.nan)
        elif surrogates and draw > 0.93:
            labels.append("x" + chr(int(rng.integers(0xD800, 0xE000))))
        else:
            size = int(rng.integers(0, 4))
            labels.append("".join(rng.choice(ALPHABET, size=size)))
    return np.array(labels, dtype=object)


# ------------------------------------------------------------- oracles
def _pandas_order(labels: np.ndarray) -> np.ndarray:
    """Stable code-point order with missing labels last, as pandas sorts text."""
    return pd.Series(labels, dtype=object).sort_values(kind="stable").index.to_numpy()


def _pandas_dense(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(key, sort=True)
    return codes, uniques


def _pandas_runs(sorted_key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    series = pd.Series(sorted_key)
    new = series.ne(series.shift())
    starts = np.flatnonzero(new.to_numpy())
    lengths = series.groupby(new.cumsum().to_numpy()).size().to_numpy()
    return starts, lengths


def _pandas_distinct(group, n_groups, value, n_values, success):
    frame = pd.DataFrame({"group": group, "value": value, "ok": np.asarray(success, dtype=bool)})
    every = frame.groupby("group")["value"].nunique()
    ok = frame[frame["ok"]].groupby("group")["value"].nunique()
    full = pd.RangeIndex(n_groups)
    pairs = np.sort(pd.unique(frame["group"] * max(n_values, 1) + frame["value"]))
    return (
        every.reindex(full, fill_value=0).to_numpy(),
        ok.reindex(full, fill_value=0).to_numpy(),
        pairs.astype(np.int64),
    )


# ------------------------------------------------------------ text_order
def test_text_order_fixed_cases():
    labels = np.array(["b", "a", "B", "", "a", "é", "e", "\U0001f600", "\uffff"], dtype=object)
    order = text_order(labels)
    assert order.dtype == np.int64
    # Code point order ("B" < "a" < "é" < U+FFFF < U+1F600); equal labels keep their order.
    assert labels[order].tolist() == ["", "B", "a", "a", "b", "e", "é", "\uffff", "\U0001f600"]
    assert order.tolist()[2:4] == [1, 4]
    np.testing.assert_array_equal(order, _pandas_order(labels))


def test_text_order_empty_and_single():
    assert text_order(np.array([], dtype=object)).tolist() == []
    assert text_order(np.array([], dtype=object)).dtype == np.int64
    assert text_order(np.array(["only"], dtype=object)).tolist() == [0]


def test_text_order_lone_surrogates_sort_by_code_point():
    # UTF-8 cannot encode a lone surrogate: these are sorted without Arrow.
    labels = np.array(["b", "\ud800", "a", "\U0001f600", "\uffff", "\udfff"], dtype=object)
    order = text_order(labels)
    assert labels[order].tolist() == ["a", "b", "\ud800", "\udfff", "\uffff", "\U0001f600"]
    np.testing.assert_array_equal(order, _pandas_order(labels))


@pytest.mark.parametrize("missing", [None, np.nan], ids=["None", "NaN"])
@pytest.mark.parametrize("surrogate", [False, True], ids=["utf8", "surrogate"])
def test_text_order_missing_labels_go_last_in_order(missing, surrogate):
    labels = np.array(["b", missing, "a", missing, "\ud800" if surrogate else "c"], dtype=object)
    order = text_order(labels)
    assert order.tolist()[-2:] == [1, 3]
    np.testing.assert_array_equal(order, _pandas_order(labels))


def test_text_order_long_labels_are_not_padded():
    # One very long label among many short ones: sorted as objects, not fixed-width text.
    labels = np.array(["b"] * 5_000 + ["a" * 100_000] + ["c"], dtype=object)
    order = text_order(labels)
    assert order[0] == 5_000 and order[-1] == 5_001
    assert order[1:-1].tolist() == list(range(5_000))


@pytest.mark.parametrize("case", range(30))
def test_text_order_random_cases_match_pandas(case):
    rng = np.random.default_rng(1_000 + case)
    labels = _random_labels(
        rng, int(rng.integers(0, 200)), surrogates=case % 3 == 0, missing=case % 2 == 0
    )
    np.testing.assert_array_equal(text_order(labels), _pandas_order(labels))


# ----------------------------------------------------------- sorted_codes
def test_sorted_codes_fixed_case():
    labels = np.array(["zed", "Ann", "émile", "bob"], dtype=object)
    codes = np.array([0, 1, 1, 3, 2, 0])
    new_codes, ordered = sorted_codes(codes, labels)
    assert ordered.tolist() == ["Ann", "bob", "zed", "émile"]
    assert new_codes.tolist() == [2, 0, 0, 1, 3, 2]
    assert new_codes.dtype == np.int64
    # The text of every row is unchanged.
    assert ordered[new_codes].tolist() == labels[codes].tolist()


def test_sorted_codes_empty():
    new_codes, ordered = sorted_codes(np.array([], dtype=np.int64), np.array([], dtype=object))
    assert new_codes.tolist() == [] and ordered.tolist() == []


@pytest.mark.parametrize("case", range(20))
def test_sorted_codes_random_cases_match_pandas(case):
    rng = np.random.default_rng(2_000 + case)
    raw = _random_labels(rng, int(rng.integers(1, 80)), surrogates=case % 4 == 0, missing=False)
    # Distinct labels in order of appearance, as callers pass them. (Not pd.factorize:
    # pandas 2.x merges strings that differ only after a NUL or in lone surrogates.)
    first = dict.fromkeys(raw.tolist())
    labels = np.array(list(first), dtype=object)
    codes = np.array([list(first).index(label) for label in raw], dtype=np.int64)
    new_codes, ordered = sorted_codes(codes, labels)
    expected = pd.Series(labels, dtype=object).sort_values(kind="stable").tolist()
    assert ordered.tolist() == expected
    position = {label: pos for pos, label in enumerate(expected)}
    np.testing.assert_array_equal(new_codes, [position[label] for label in raw])


# ------------------------------------------------------------ dense_codes
def test_dense_codes_fixed_cases():
    codes, keys = dense_codes(np.array([5, 3, 5, 0]))
    assert codes.tolist() == [2, 1, 2, 0] and keys.tolist() == [0, 3, 5]
    assert codes.dtype == np.int64 and keys.dtype == np.int64
    # A key range too large for a presence table takes the sorting path.
    codes, keys = dense_codes(np.array([10**15, 3, 10**15, 0]))
    assert codes.tolist() == [2, 1, 2, 0] and keys.tolist() == [0, 3, 10**15]


def test_dense_codes_empty():
    codes, keys = dense_codes(np.array([], dtype=np.int64))
    assert codes.tolist() == [] and keys.tolist() == []
    assert codes.dtype == np.int64 and keys.dtype == np.int64


@pytest.mark.parametrize("case", range(30))
def test_dense_codes_random_cases_match_pandas(case):
    rng = np.random.default_rng(3_000 + case)
    high = [2, 50, 5_000, 1 << 23, 1 << 40, 1 << 62][case % 6]
    dtype = np.int32 if high < (1 << 31) and case % 2 else np.int64
    key = rng.integers(0, high, size=int(rng.integers(1, 3_000))).astype(dtype)
    codes, keys = dense_codes(key)
    oracle_codes, oracle_keys = _pandas_dense(key)
    np.testing.assert_array_equal(codes, oracle_codes)
    np.testing.assert_array_equal(keys, oracle_keys)
    assert codes.dtype == np.int64


# ---------------------------------------------------------- sorted_unique
@pytest.mark.parametrize(
    "high", [1, 40, 1 << 22, 1 << 30, (1 << 31) + 7, 1 << 50], ids=lambda h: f"below-{h}"
)
def test_sorted_unique_every_path_matches_pandas(high):
    rng = np.random.default_rng(high % 997)
    key = rng.integers(0, high, size=2_000)
    key[:2] = [0, high - 1]  # the ends of the range
    found = sorted_unique(key)
    np.testing.assert_array_equal(found, np.sort(pd.unique(key)))
    assert found.dtype == np.int64


def test_sorted_unique_empty():
    found = sorted_unique(np.array([], dtype=np.int32))
    assert found.tolist() == [] and found.dtype == np.int64


# ------------------------------------------------------------------- runs
def test_runs_fixed_and_empty():
    starts, lengths = runs(np.array([1, 1, 2, 5, 5, 5]))
    assert starts.tolist() == [0, 2, 3] and lengths.tolist() == [2, 1, 3]
    starts, lengths = runs(np.array([], dtype=np.int64))
    assert starts.tolist() == [] and lengths.tolist() == []
    starts, lengths = runs(np.array([7]))
    assert starts.tolist() == [0] and lengths.tolist() == [1]


@pytest.mark.parametrize("case", range(20))
def test_runs_random_cases_match_pandas(case):
    rng = np.random.default_rng(4_000 + case)
    key = np.sort(rng.integers(0, [3, 30, 3_000][case % 3], size=int(rng.integers(1, 2_000))))
    starts, lengths = runs(key)
    oracle_starts, oracle_lengths = _pandas_runs(key)
    np.testing.assert_array_equal(starts, oracle_starts)
    np.testing.assert_array_equal(lengths, oracle_lengths)
    assert lengths.sum() == len(key)


# ----------------------------------------------------- distinct_per_group
def test_distinct_per_group_fixed_case():
    group = np.array([0, 0, 1, 2, 2, 2])
    value = np.array([1, 1, 0, 2, 1, 2])
    success = np.array([True, False, False, True, True, False])
    every, ok, pairs = distinct_per_group(group, 4, value, 3, success)
    assert every.tolist() == [1, 1, 2, 0]  # group 3 has no rows
    assert ok.tolist() == [1, 0, 2, 0]
    assert pairs.tolist() == [1, 3, 7, 8]  # group * 3 + value
    oracle = _pandas_distinct(group, 4, value, 3, success)
    for got, expected in zip((every, ok, pairs), oracle, strict=True):
        np.testing.assert_array_equal(got, expected)


def test_distinct_per_group_empty():
    empty = np.array([], dtype=np.int64)
    every, ok, pairs = distinct_per_group(empty, 3, empty, 0, np.array([], dtype=bool))
    assert every.tolist() == [0, 0, 0] and ok.tolist() == [0, 0, 0] and pairs.tolist() == []
    every, ok, pairs = distinct_per_group(empty, 0, empty, 0, np.array([], dtype=bool))
    assert every.tolist() == [] and ok.tolist() == [] and pairs.tolist() == []


@pytest.mark.parametrize("case", range(30))
def test_distinct_per_group_random_cases_match_pandas(case):
    rng = np.random.default_rng(5_000 + case)
    n_rows = int(rng.integers(1, 3_000))
    n_groups = int(rng.integers(1, [5, 200, 5_000][case % 3]))
    n_values = int(rng.integers(1, [3, 100, 100_000][(case // 3) % 3]))
    group = rng.integers(0, n_groups, size=n_rows)
    value = rng.integers(0, n_values, size=n_rows)
    success = rng.random(n_rows) < [0.0, 0.5, 1.0][case % 3]
    if case % 2:
        success = success.astype(np.int64)  # 0/1 works as well as bool
    got = distinct_per_group(group, n_groups, value, n_values, success)
    expected = _pandas_distinct(group, n_groups, value, n_values, success)
    for part, oracle in zip(got, expected, strict=True):
        np.testing.assert_array_equal(part, oracle)
        assert part.dtype == np.int64

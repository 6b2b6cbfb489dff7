"""
Path lengths through a fitted Isolation Forest, as ``score_samples`` computes them.

`normality` equals ``IsolationForest.score_samples`` bit for bit on a
float32 matrix, from public attributes of the fitted trees only, with less
work per tree: each node's path-length contribution (its depth plus the
expected path length of its training rows, minus one) is added up once
per tree when the forest is first scored, so scoring a row in a tree is one
look-up instead of two look-ups and two sums. Trees are visited and summed
in scikit-learn's order, so every row's total is the same float.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sklearn.ensemble import IsolationForest

__all__ = ["average_path_length", "node_lengths", "normality"]


def average_path_length(n_samples: np.ndarray) -> np.ndarray:
    """
    Return the expected path length of an unsuccessful search among `n_samples`.

    The Isolation Forest paper's ``c(n)``: 0 for at most one sample, 1 for
    two, else ``2 (ln(n - 1) + euler_gamma) - 2 (n - 1) / n``. A leaf
    holding n rows adds ``c(n)`` to the depth at which a row reaches it.

    Examples
    --------
    >>> average_path_length(np.array([1, 2, 256])).round(3).tolist()
    [0.0, 1.0, 10.245]

    """
    size = np.asarray(n_samples, dtype="float64")
    length = np.zeros(size.shape)
    length[size == 2] = 1.0
    big = size > 2
    n = size[big]
    length[big] = 2.0 * (np.log(n - 1.0) + np.euler_gamma) - 2.0 * (n - 1.0) / n
    return length


def node_lengths(model: IsolationForest) -> list[np.ndarray]:
    """
    Per tree, each node's path length for a row that ends there, less one (as scikit-learn adds it).

    Examples
    --------
    >>> from sklearn.ensemble import IsolationForest
    >>> rows = np.arange(8.0).reshape(-1, 1)
    >>> forest = IsolationForest(n_estimators=1, max_samples=4, random_state=0).fit(rows)
    >>> forest.estimators_[0].tree_.n_node_samples.tolist()  # rows per node, depth first
    [4, 1, 3, 2, 1]
    >>> node_lengths(forest)[0].round(2).tolist()
    [1.85, 1.0, 2.21, 3.0, 2.0]

    """
    lengths = []
    for tree in model.estimators_:
        nodes = tree.tree_
        depth = np.asarray(nodes.compute_node_depths(), dtype="float64")
        lengths.append(depth + average_path_length(nodes.n_node_samples) - 1.0)
    return lengths


def normality(
    model: IsolationForest, matrix: np.ndarray, lengths: list | None = None
) -> np.ndarray:
    """
    Return ``model.score_samples(matrix)`` for a C-ordered float32 matrix.

    Parameters
    ----------
    model : IsolationForest
        A fitted forest.
    matrix : np.ndarray
        float32, C order, the columns the forest was fitted on.
    lengths : list of np.ndarray, optional
        The forest's node lengths from an earlier call (computed when None).

    Returns
    -------
    np.ndarray
        Scores, lower is more anomalous (scikit-learn's convention).

    Examples
    --------
    >>> from sklearn.ensemble import IsolationForest
    >>> rows = np.random.default_rng(0).normal(size=(300, 3)).astype(np.float32)
    >>> forest = IsolationForest(n_estimators=20, random_state=0).fit(rows)
    >>> bool(np.array_equal(normality(forest, rows), forest.score_samples(rows)))
    True

    """
    lengths = node_lengths(model) if lengths is None else lengths
    depths = np.zeros(len(matrix))
    trees = zip(model.estimators_, model.estimators_features_, lengths, strict=True)
    for tree, features, length in trees:
        # scikit-learn takes a tree's own columns only when it drew fewer than all.
        rows = matrix if len(features) == matrix.shape[1] else matrix[:, features]
        depths += length[tree.tree_.apply(rows)]
    denominator = len(model.estimators_) * average_path_length(np.array([model.max_samples_]))
    scaled = np.divide(depths, denominator, out=np.ones_like(depths), where=denominator != 0)
    return -(2**-scaled)

"""Seeded, stratified train/test splitting.

Stratified means every class keeps (as nearly as integers allow) the same
share in the test set as in the whole dataset. Without it, a 25 % split of a
small dataset can leave one class under-represented in the test set, and its
accuracy number then means little.
"""

from __future__ import annotations

import numpy as np

from ..typing import ArrayLike
from ..validation import check_array, check_fraction, check_seed

__all__ = ["train_test_split", "stratified_test_counts"]


def stratified_test_counts(counts: ArrayLike, n_test: int) -> np.ndarray:
    """Split ``n_test`` test slots over classes in proportion to their ``counts``.

    Class ``c`` with ``n_c`` of the ``N`` samples has the ideal quota
    ``q_c = n_test * n_c / N``. Each class first gets ``floor(q_c)``; the slots
    still missing go, one each, to the classes with the largest fractional
    parts ``q_c - floor(q_c)`` (the "largest remainder" rule), ties broken by
    class order so the result is deterministic. The counts sum to ``n_test``
    exactly and each differs from its ideal quota by less than one.
    """
    counts = np.asarray(counts, dtype=np.int64)
    quota = counts * n_test / counts.sum()
    base = np.floor(quota).astype(np.int64)
    missing = int(n_test - base.sum())
    order = np.argsort(-(quota - base), kind="stable")
    base[order[:missing]] += 1
    return base


def train_test_split(x: np.ndarray, y: np.ndarray, *others: np.ndarray, test_fraction: float = 0.25,
                     seed: int = 0, stratify: bool = True) -> tuple[np.ndarray, ...]:
    """Shuffle and split arrays into train and test parts, stratified by ``y``.

    Returns ``(x_train, x_test, y_train, y_test, *others_split)`` -- the same
    order as scikit-learn, each input followed by its test part. Extra arrays
    (e.g. masks) are split with the same indices so rows stay aligned.

    The test set has ``round(test_fraction * N)`` samples (at least one, and
    at least one sample stays in train). With ``stratify=True`` each class
    contributes according to :func:`stratified_test_counts`. Within each part
    the rows are shuffled so classes are interleaved. The same ``seed`` always
    gives the same split.

    Parameters
    ----------
    x, y, *others : np.ndarray
        Arrays with the same first dimension N; ``y`` holds the labels (1-D).
    test_fraction : float in (0, 1)
    seed : int >= 0
    stratify : bool
        When False the test rows are a plain random sample.
    """
    check_array(x, "x")
    check_array(y, "y", ndim=1)
    arrays = (x, y) + others
    for i, extra in enumerate(others):
        check_array(extra, f"others[{i}]")
    n = len(y)
    for i, array in enumerate(arrays):
        if len(array) != n:
            label = ("x", "y")[i] if i < 2 else f"others[{i - 2}]"
            raise ValueError(f"{label} must have the same length as y ({n} rows), got {len(array)}")
    test_fraction = check_fraction(test_fraction, "test_fraction")
    seed = check_seed(seed)
    if not isinstance(stratify, bool):
        raise TypeError(f"stratify must be a bool, got {type(stratify).__name__}")

    # Round half up, not Python's round-half-to-even, so the rule is easy to state.
    n_test = int(np.floor(test_fraction * n + 0.5))
    if not 1 <= n_test <= n - 1:
        raise ValueError(
            f"test_fraction={test_fraction} of {n} samples gives {n_test} test samples; "
            "both train and test need at least one"
        )

    rng = np.random.default_rng(seed)
    is_test = np.zeros(n, dtype=bool)
    if stratify:
        labels, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
        per_class = stratified_test_counts(counts, n_test)
        for k in range(len(labels)):
            members = rng.permutation(np.flatnonzero(inverse == k))
            is_test[members[: per_class[k]]] = True
    else:
        is_test[rng.permutation(n)[:n_test]] = True

    train_idx = rng.permutation(np.flatnonzero(~is_test))
    test_idx = rng.permutation(np.flatnonzero(is_test))
    result: list[np.ndarray] = []
    for array in arrays:
        result.extend((array[train_idx], array[test_idx]))
    return tuple(result)

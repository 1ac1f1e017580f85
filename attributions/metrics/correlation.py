"""Row-wise correlations: the one Pearson r and Spearman ρ every metric, the demo and compare use.

    r_n = Σ_p (a_np − ā_n)(b_np − b̄_n) / √(Σ_p (a_np − ā_n)² · Σ_p (b_np − b̄_n)²)
    ρ_n = r of the average ranks of a_n and b_n (ties share their mean rank, scipy's 'average')

**Constant-map convention**: r is undefined for a constant row, and a row that is constant up to
rounding gives a meaningless r from noise. Even an exactly constant row is not exactly 0 after
centring, because the mean ā is rounded: twelve copies of 0.9999999999155531 leave residues of
2e-16. So r_n is NaN when a row's spread is at the rounding level of its own values,
max_p|a_np − ā_n| ≤ 1e-12 · max_p|a_np| (likewise for b). Examples are an all-zero Grad-CAM map,
a map of one repeated value, and the output drops when every subset takes a saturated
probability to 0. Callers average with `nanmean` and say how many rows were defined.
"""

from __future__ import annotations

import numpy as np

__all__ = ["pearson_rows", "spearman_rows", "average_ranks"]


def pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r of a[n] and b[n] for each row n (any trailing shape, P values per row): (N,),
    NaN where a row of either is constant up to rounding (see the module docstring)."""
    a = a.reshape(len(a), -1).astype(np.float64)
    b = b.reshape(len(b), -1).astype(np.float64)
    constant = _constant_rows(a) | _constant_rows(b)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    r[constant] = np.nan
    return r


def _constant_rows(v: np.ndarray) -> np.ndarray:
    """True where row v[n] is constant up to rounding: max_p|v_np − v̄_n| ≤ 1e-12 · max_p|v_np|."""
    spread = np.abs(v - v.mean(axis=1, keepdims=True)).max(axis=1)
    return spread <= 1e-12 * np.abs(v).max(axis=1)


def average_ranks(v: np.ndarray) -> np.ndarray:
    """Ranks 1…P of each row of v (N, P), ties sharing their average rank (scipy's rankdata
    'average'), vectorised over rows."""
    n, p = v.shape
    order = np.argsort(v, axis=1, kind="stable")
    sorted_v = np.take_along_axis(v, order, axis=1)
    starts = np.ones((n, p), dtype=bool)
    starts[:, 1:] = sorted_v[:, 1:] != sorted_v[:, :-1]  # a new tie group begins; row starts always do
    group = np.cumsum(starts.ravel()) - 1
    positions = np.tile(np.arange(1, p + 1, dtype=np.float64), n)
    mean_rank = np.bincount(group, weights=positions) / np.bincount(group)
    ranks = np.empty((n, p))
    np.put_along_axis(ranks, order, mean_rank[group].reshape(n, p), axis=1)
    return ranks


def spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation ρ of a[n] and b[n] per row: Pearson of the average ranks."""
    a = a.reshape(len(a), -1)
    b = b.reshape(len(b), -1)
    return pearson_rows(average_ranks(a), average_ranks(b))

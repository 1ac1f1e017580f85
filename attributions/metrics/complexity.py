"""Complexity: how concentrated is an attribution? (Chalasani et al. 2020; Bhatt et al. 2020.)

Notation: v = |a| flattened per image (all channels and pixels), n entries sorted increasingly
v_(1) ≤ … ≤ v_(n), p = v / Σ v.

- **Sparseness**, the Gini index (Hurley & Rickard 2009; Chalasani et al. 2020):
      G = Σ_k (2k − n − 1) v_(k) / (n Σ_k v_(k))
  0 for a constant map, (n − 1)/n (→ 1) for a one-hot map. Higher = more concentrated on few
  features ("simpler"); whether that is *better* depends on the object: a blob-shaped object
  needs a spread-out map.
- **Entropy** (Bhatt et al. 2020's "complexity"): H = −Σ_i p_i log p_i, in nats; log n for a
  uniform map, 0 for one-hot. Lower = more concentrated.

A map that is zero everywhere has neither (NaN). Shapes: attributions (N, ...) → (N,).
Quantus's Sparseness adds ε = 1e-7 to every v_i, so G_Quantus = G · Σv / (Σv + n ε). Its
Complexity is −Σ p log(p + 1e-12), within n·1e-12 of H (tests/test_metrics_quantus.py).
"""

from __future__ import annotations

import numpy as np

from ..inputs import ArrayLike
from ._pixels import as_array

__all__ = ["sparseness", "entropy"]


def _magnitudes(attributions):
    a = as_array(attributions, "attributions")
    if a.ndim < 2:
        raise ValueError(f"attributions: expected a batch (N, ...) of maps, got shape {a.shape}")
    return np.abs(a.reshape(len(a), -1))


def sparseness(attributions: ArrayLike) -> np.ndarray:
    """Gini index of |a| per image, (N,), in [0, 1); NaN for an all-zero map."""
    v = np.sort(_magnitudes(attributions), axis=1)
    n = v.shape[1]
    k = np.arange(1, n + 1)
    total = v.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        gini = ((2 * k - n - 1) * v).sum(axis=1) / (n * total)
    return np.where(total > 0, gini, np.nan)


def entropy(attributions: ArrayLike) -> np.ndarray:
    """Shannon entropy (nats) of p = |a| / Σ|a| per image, (N,); NaN for an all-zero map."""
    v = _magnitudes(attributions)
    total = v.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = v / total
        terms = np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0.0)
    return np.where(total[:, 0] > 0, -terms.sum(axis=1), np.nan)

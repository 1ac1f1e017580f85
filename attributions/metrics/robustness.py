"""Robustness: does a tiny change of the input change the explanation a lot?

**Max-sensitivity** (Yeh, Hsieh, Suggala, Inouye & Ravikumar, NeurIPS 2019), for k seeded
perturbations δ_j with independent entries ~ U(−r, r):

    SENS_max(x) = max_j ‖a(x + δ_j) − a(x)‖₂ / ‖a(x)‖₂

(the relative variant, so methods on different scales compare; the target class is kept fixed).
**Lower is better.** NaN when a(x) = 0. Quantus's MaxSensitivity with lower_bound = r gives the
same numbers for the same δ_j (tests/test_metrics_quantus.py). Its defaults are r = 0.2 and
200 samples.
"""

from __future__ import annotations

import numpy as np

from minicnn import nn
from minicnn.validation import check_int

from ..inputs import ArrayLike, Explainer, TargetLike
from ._pixels import as_array, checked_targets

__all__ = ["max_sensitivity"]


def max_sensitivity(model: nn.Module, x: ArrayLike, target: TargetLike, explain: Explainer, radius: float = 0.02,
                    n_samples: int = 8, seed: int = 0) -> np.ndarray:
    """Relative max-sensitivity per image, (N,). **Lower is better.**

    explain   -- callable (model, x, target) → attributions for a batch; called once on x and
                 once on the stacked batch of all k·N perturbed inputs (vectorised)
    radius    -- r > 0, half-width of the uniform noise (in input units; images lie in [0, 1])
    n_samples -- k ≥ 1 perturbations per image; seed -- their seed
    """
    if not callable(explain):
        raise TypeError(f"explain: expected a callable (model, x, target) → attributions, got {type(explain).__name__}")
    x = as_array(x, "x")
    if isinstance(radius, bool) or not isinstance(radius, (int, float, np.integer, np.floating)) or not radius > 0:
        raise ValueError(f"radius: expected a number > 0, got {radius!r}")
    k = check_int(n_samples, "n_samples", 1)
    targets = checked_targets(model, x, target)
    n = len(x)
    original = as_array(explain(model, x, targets), "explain(model, x, target)").reshape(n, -1)
    noise = np.random.default_rng(seed).uniform(-radius, radius, size=(k,) + x.shape)
    perturbed = as_array(explain(model, (x[None] + noise).reshape((k * n,) + x.shape[1:]), np.tile(targets, k)),
                         "explain(model, x + δ, target)").reshape(k, n, -1)
    change = np.linalg.norm(perturbed - original[None], axis=2).max(axis=0)
    size = np.linalg.norm(original, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(size > 0, change / np.where(size > 0, size, 1), np.nan)

"""Completeness (summation-to-delta): do the attributions add up to the change of the output?

Notation: x input, x′ baseline, t the target logit. A method is *complete* when

    Σ_i a_i(x) = t(x) − t(x′)

(Integrated Gradients up to its quadrature error, DeepLIFT exactly; gradient × input only for
bias-free piecewise-linear networks with x′ = 0). The signed difference is the "convergence
delta" Captum reports. Shared by the tests, the notebooks and the CLI.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

import minicnn as mc
from minicnn import nn

from .captum_names import captum_names
from .inputs import ArrayLike, TargetLike, eval_mode, explained_targets, forward_scores, prepare_baseline, prepare_input

__all__ = ["completeness_delta"]


@captum_names("baselines")
def completeness_delta(model: nn.Module, attributions: ArrayLike, x: ArrayLike, target: TargetLike = None,
                       baseline: Optional[ArrayLike] = None) -> np.ndarray:
    """Per row n: Σ_i a_{n,i} − (t_n(x_n) − t_n(x′_n)), signed, shape (N,), float64.

    model        -- a minicnn Module returning logits (N, classes); run in eval mode, mode restored
    attributions -- array shaped like x
    x, target    -- as for the attribution methods (int, or one int per row; None: the predicted class)
    baseline     -- x′: None (zeros), a scalar, one row, or an array like x (or Captum's `baselines`)

    The sign is Captum's convergence delta's: positive when the attributions add up to more
    than the change of the output.
    """
    x = prepare_input(x, model)
    a = np.asarray(attributions.data if isinstance(attributions, mc.Tensor) else attributions)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"attributions: expected a numeric array, got dtype {a.dtype}")
    if a.shape != x.shape:
        raise ValueError(f"attributions: expected shape {x.shape} (like x), got {a.shape}")
    reference = prepare_baseline(baseline, x)
    with eval_mode(model):
        targets = explained_targets(model, x, target)
        gap = forward_scores(model, x, targets).astype(np.float64) - forward_scores(model, reference, targets)
    return a.reshape(len(a), -1).sum(axis=1, dtype=np.float64) - gap

"""Completeness (summation-to-delta): do the attributions add up to the change of the output?

Notation: x input, x′ baseline, t the target logit. A method is *complete* when

    Σ_i a_i(x) = t(x) − t(x′)

(Integrated Gradients up to its quadrature error, DeepLIFT exactly; gradient × input only for
bias-free piecewise-linear networks with x′ = 0). The signed difference is the "convergence
delta" Captum reports. Shared by the tests, the notebooks and the CLI.
"""

from __future__ import annotations

import numpy as np

import minicnn as mc

from .inputs import eval_mode, forward_scores, prepare_baseline, prepare_input, prepare_targets

__all__ = ["completeness_delta"]


def completeness_delta(model, attributions, x, target, baseline=None):
    """Per row n: Σ_i a_{n,i} − (t_n(x_n) − t_n(x′_n)), signed, shape (N,), float64.

    model        -- a minicnn Module returning logits (N, classes); run in eval mode, mode restored
    attributions -- array shaped like x
    x, target    -- as for the attribution methods (int, or one int per row)
    baseline     -- x′: None (zeros), a scalar, one row, or an array like x
    """
    x = prepare_input(x, model)
    a = np.asarray(attributions.data if isinstance(attributions, mc.Tensor) else attributions)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"attributions: expected a numeric array, got dtype {a.dtype}")
    if a.shape != x.shape:
        raise ValueError(f"attributions: expected shape {x.shape} (like x), got {a.shape}")
    reference = prepare_baseline(baseline, x)
    with eval_mode(model):
        targets = prepare_targets(target, len(x))
        gap = forward_scores(model, x, targets).astype(np.float64) - forward_scores(model, reference, targets)
    return a.reshape(len(a), -1).sum(axis=1, dtype=np.float64) - gap

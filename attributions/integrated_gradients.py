"""Integrated Gradients (Sundararajan, Taly & Yan, ICML 2017).

Notation: x input, x′ baseline (reference), Δx = x − x′, F the target logit of the network.
IG integrates the gradient along the straight path from x′ to x:

    IG_i(x) = (x_i − x′_i) · ∫₀¹ ∂F(x′ + α(x − x′))/∂x_i dα
            ≈ Δx_i · Σ_k w_k ∂F(x′ + α_k Δx)/∂x_i          (a quadrature rule (α_k, w_k))

By the fundamental theorem of calculus for path integrals, IG satisfies **completeness**:
Σ_i IG_i(x) = F(x) − F(x′). The quadrature error shows up as the *convergence delta*
Σ_i IG_i − (F(x) − F(x′)); report it (`return_delta=True`) and add steps until it is small.

The points x′ + α_k Δx of all steps go through the network as batches of rows (at most
`batch_size` at a time), never one Python call per step.
"""

from __future__ import annotations

from typing import Optional, Union

import numpy as np
from numpy.polynomial.legendre import leggauss

import minicnn as mc
from minicnn import nn

from .captum_names import captum_names
from .inputs import (
    ArrayLike,
    TargetLike,
    eval_mode,
    explained_targets,
    forward_scores,
    module_outputs,
    prepare_baseline,
    prepare_input,
    target_gradient,
)

__all__ = ["integrated_gradients", "quadrature", "activation_bytes_per_row", "METHODS", "MAX_BATCH_BYTES"]

METHODS = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre")

# The default batch holds all steps of one input, but never more interpolated inputs than fit in
# this many bytes (the activations of a batch are a multiple of it; 64 MB keeps a laptop happy).
MAX_BATCH_BYTES = 512 * 2**20  # activations of one batch of interpolated inputs (see _rows_per_batch)


def quadrature(method: str, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes α_k in [0, 1] and weights w_k of a rule for ∫₀¹ φ(α) dα ≈ Σ_k w_k φ(α_k).

    method             α_k                      w_k
    riemann_left       k/n,  k = 0…n−1          1/n
    riemann_right      k/n,  k = 1…n            1/n
    riemann_middle     (k + ½)/n, k = 0…n−1     1/n
    riemann_trapezoid  k/(n−1), k = 0…n−1       1/(n−1), the first and last halved
    gausslegendre      ½(1 + t_k)               ½ W_k,  (t, W) = numpy.polynomial.legendre.leggauss(n)

    Every rule's weights sum to 1, so a constant gradient is integrated exactly. (Captum's
    trapezoid uses weights 1/n with the ends halved, which sum to (n−1)/n: its IG is too small
    by that factor. Ours is Captum's times n/(n−1).) Gauss–Legendre with n nodes is exact for
    polynomials of degree ≤ 2n − 1; the Riemann rules only for degree ≤ 1 (middle, trapezoid)
    or 0 (left, right).

    Returns (alphas, weights), two float64 arrays of length `steps`, alphas increasing.
    """
    if method not in METHODS:
        raise ValueError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    minimum = 2 if method == "riemann_trapezoid" else 1
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < minimum:
        raise ValueError(f"steps: expected an int ≥ {minimum} for method {method!r}, got {steps!r}")
    n = int(steps)
    k = np.arange(n, dtype=np.float64)
    if method == "gausslegendre":
        t, w = leggauss(n)
        return 0.5 * (1.0 + t), 0.5 * w
    if method == "riemann_trapezoid":
        weights = np.full(n, 1.0 / (n - 1))
        weights[[0, -1]] /= 2
        return k / (n - 1), weights
    offset = {"riemann_left": 0.0, "riemann_right": 1.0, "riemann_middle": 0.5}[method]
    return (k + offset) / n, np.full(n, 1.0 / n)


def activation_bytes_per_row(model: nn.Module, row: np.ndarray) -> int:
    """Bytes that one input row costs a forward pass with graph: the row itself plus the output
    of every module (what the backward pass keeps), measured on one forward pass of `row`.

    This, not the input's size, is what bounds a batch: a 224×224 photo is 0.6 MB in float32,
    but its activations through ResNet-50 are more than a hundred times that."""
    leaves = (output for _, module, output in module_outputs(model, row) if not list(module.children()))
    return row.nbytes + sum(output.data.nbytes for output in leaves if isinstance(output, mc.Tensor))


# A CNN's activations are typically 10-200 times its input (ResNet-50 at 224×224: ~200×). Below
# this bound all steps surely fit, and the measuring forward pass is skipped: the small nets'
# calls keep their one pass per batch.
ACTIVATIONS_PER_INPUT_BOUND = 1000


def _rows_per_batch(batch_size: Optional[int], steps: int, model: nn.Module, row: np.ndarray) -> int:
    if batch_size is not None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size: expected None or an int ≥ 1, got {batch_size!r}")
        return int(batch_size)
    if steps * row.nbytes * ACTIVATIONS_PER_INPUT_BOUND <= MAX_BATCH_BYTES:
        return steps
    return max(1, min(steps, MAX_BATCH_BYTES // max(1, activation_bytes_per_row(model, row))))


@captum_names("baselines", "n_steps", "internal_batch_size", "return_convergence_delta")
def integrated_gradients(
    model: nn.Module, x: ArrayLike, target: TargetLike = None, baseline: Optional[ArrayLike] = None,
    steps: int = 50, method: str = "riemann_trapezoid", batch_size: Optional[int] = None,
    return_delta: bool = False,
) -> Union[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Integrated Gradients IG_i(x) = Δx_i · Σ_k w_k ∂F(x′ + α_k Δx)/∂x_i, shaped like x.

    model      -- a minicnn Module returning logits (N, classes); run in eval mode, mode restored
    x          -- batch (N, C, H, W) or (N, features); cast to the model's dtype
    target     -- int, or one int per row: the logit F to explain (a logit, not a probability);
                  None: each row's predicted class
    baseline   -- x′: None (zeros), a scalar, one row, or an array like x (see `baselines.py`)
    steps      -- number of quadrature nodes n per input (≥ 2 for the trapezoid rule)
    method     -- quadrature rule, one of METHODS (see `quadrature`). The default differs from
                  Captum's gausslegendre on purpose: its evenly spaced nodes include x′ and x, so
                  a student can check and plot them, and on ReLU nets Gauss–Legendre's higher
                  order buys almost nothing (docs/methods.md, Differences from Captum's defaults).
    batch_size -- at most this many interpolated inputs per forward/backward pass; None: all
                  `steps` points of one input at once, capped so that the batch's activations
                  (`activation_bytes_per_row`, measured on one forward pass) take ≤
                  MAX_BATCH_BYTES (512 MB): 50 points of a small net's input go in one pass,
                  ResNet-50 at 224×224 takes a few per pass. Batches may span several inputs.
    return_delta -- also return the signed convergence delta Σ_i IG_i − (F(x) − F(x′)), shape (N,)
                  (Captum's sign and shape): the result is then (attributions, delta)

    Captum's keywords `baselines`, `n_steps`, `internal_batch_size` and
    `return_convergence_delta` are accepted for baseline, steps, batch_size and return_delta.
    The gradients are summed in float64 whatever the model's dtype; the result has the model's dtype.
    """
    alphas, weights = quadrature(method, steps)
    if not isinstance(return_delta, (bool, np.bool_)):
        raise TypeError(f"return_delta: expected True or False, got {return_delta!r}")
    x = prepare_input(x, model)
    reference = prepare_baseline(baseline, x)
    n = len(x)
    delta_x = x - reference
    feature_axes = (slice(None),) + (None,) * (x.ndim - 1)  # broadcasts α over a row's features
    total = np.zeros(x.shape, dtype=np.float64)  # Σ_k w_k ∇F(x′ + α_k Δx), per input row
    with eval_mode(model):
        rows = _rows_per_batch(batch_size, len(alphas), model, x[0])  # in eval mode: measuring must not update BatchNorm
        targets = explained_targets(model, x, target)
        # Interpolated point p ↔ (input row p // steps, step p % steps); batches are ranges of p.
        for start in range(0, n * len(alphas), rows):
            p = np.arange(start, min(start + rows, n * len(alphas)))
            row, k = p // len(alphas), p % len(alphas)
            points = reference[row] + alphas[k][feature_axes].astype(x.dtype) * delta_x[row]
            grad, _ = target_gradient(model, points, targets[row])
            weighted = weights[k][feature_axes] * grad
            # p is sorted, so the points of one input row are a contiguous run: sum each run.
            first = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
            total[row[first]] += np.add.reduceat(weighted, first, axis=0)
        attributions = (delta_x * total).astype(x.dtype)
        if not return_delta:
            return attributions
        gap = forward_scores(model, x, targets).astype(np.float64) - forward_scores(model, reference, targets)
    delta = attributions.reshape(n, -1).sum(axis=1, dtype=np.float64) - gap
    return attributions, delta

"""Expected Gradients / GradientSHAP (Erion et al. 2021; Lundberg & Lee 2017; Captum's
`GradientShap` without its input noise): Integrated Gradients averaged over a *distribution*
of baselines, estimated by Monte Carlo.

Notation: x input, D the set of baselines x′ (rows of `baselines`), F the target logit.

    EG_i(x) = E_{x′ ~ U(D), α ~ U(0, 1)} [ (x_i − x′_i) · ∂F(x′ + α(x − x′))/∂x_i ]
            ≈ (1/S) Σ_s (x_i − x′_s,i) · ∂F(x′_s + α_s(x − x′_s))/∂x_i

For one fixed x′ the expectation over α is exactly IG's integral, so the estimate converges to
IG as S grows, with the standard error of a mean (tests/test_baselines_many.py). Completeness
holds only in expectation: E[Σ_i EG_i] = F(x) − E_{x′} F(x′).

All S samples of all inputs go through the network as batches of rows, like IG's steps.
"""

from __future__ import annotations

from typing import Iterator, Optional, Union

import numpy as np

import minicnn as mc
from minicnn import nn

from .captum_names import captum_names, from_torch
from .inputs import ArrayLike, TargetLike, eval_mode, explained_targets, prepare_input, target_gradient
from .integrated_gradients import _rows_per_batch

__all__ = ["expected_gradients", "prepare_baselines", "point_batches", "add_per_row"]


def prepare_baselines(baselines: ArrayLike, x: np.ndarray, name: str = "baselines") -> np.ndarray:
    """The baselines as an array (B, *x.shape[1:]) with B ≥ 1 finite rows of x's dtype; one row
    (shape x.shape[1:]) is B = 1. Every input row is explained against all of them."""
    b = from_torch(baselines)
    b = np.asarray(b.data if isinstance(b, mc.Tensor) else b)
    if b.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a numeric array, got dtype {b.dtype}")
    if b.shape == x.shape[1:]:
        b = b[None]
    if b.ndim != x.ndim or b.shape[1:] != x.shape[1:] or len(b) == 0:
        raise ValueError(f"{name}: expected an array (B, {', '.join(map(str, x.shape[1:]))}) of B ≥ 1 reference rows, "
                         f"got shape {b.shape}")
    if not np.isfinite(b).all():
        raise ValueError(f"{name}: contains NaN or inf values")
    return b.astype(x.dtype)


def point_batches(n: int, per_row: int, rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(row, k) index arrays of at most `rows` points, point p ↔ (input row p // per_row, sample
    p % per_row): every point of every input exactly once, in order."""
    for start in range(0, n * per_row, rows):
        p = np.arange(start, min(start + rows, n * per_row))
        yield p // per_row, p % per_row


def add_per_row(total: np.ndarray, row: np.ndarray, values: np.ndarray) -> None:
    """total[r] += Σ of values over the points of input row r (`row` sorted: each row's points
    are one contiguous run)."""
    first = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
    total[row[first]] += np.add.reduceat(values, first, axis=0)


@captum_names("n_samples", "internal_batch_size")
def expected_gradients(model: nn.Module, x: ArrayLike, target: TargetLike, baselines: ArrayLike, samples: int = 50,
                       seed: Union[int, np.random.Generator] = 0, batch_size: Optional[int] = None) -> np.ndarray:
    """Expected Gradients (1/S) Σ_s (x − x′_s) ⊙ ∂F(x′_s + α_s(x − x′_s))/∂x, shaped like x.

    model     -- a minicnn Module returning logits (N, classes); run in eval mode, mode restored
    x         -- batch (N, C, H, W) or (N, features); cast to the model's dtype
    target    -- int, or one int per row: the logit F to explain; None: each row's predicted class
    baselines -- the reference distribution D: an array (B, *x.shape[1:]) (or one row), drawn from
                 uniformly with replacement, independently for each input row and sample
    samples   -- S, the number of (x′, α) draws per input row
    seed      -- int or numpy Generator: the draws are reproducible (x′ indices first, then α)
    batch_size -- at most this many points per forward/backward pass (None: as `integrated_gradients`)

    Captum's GradientShap names `n_samples` and `internal_batch_size` are accepted for samples
    and batch_size (its input noise `stdevs` is not here: Expected Gradients has none).
    """
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise ValueError(f"samples: expected an int ≥ 1, got {samples!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer, np.random.Generator)):
        raise TypeError(f"seed: expected an int or a numpy Generator, got {seed!r}")
    x = prepare_input(x, model)
    references = prepare_baselines(baselines, x)
    n = len(x)
    rng = np.random.default_rng(seed)
    picks = rng.integers(len(references), size=(n, samples))
    alphas = rng.uniform(size=(n, samples))
    feature_axes = (slice(None),) + (None,) * (x.ndim - 1)
    total = np.zeros(x.shape, dtype=np.float64)  # Σ_s (x − x′_s) ∂F/∂x at the sampled points
    with eval_mode(model):
        targets = explained_targets(model, x, target)
        rows = _rows_per_batch(batch_size, samples, model, x[0])
        for row, s in point_batches(n, samples, rows):
            reference = references[picks[row, s]]
            delta = x[row] - reference
            points = reference + alphas[row, s][feature_axes].astype(x.dtype) * delta
            grad, _ = target_gradient(model, points, targets[row])
            add_per_row(total, row, delta.astype(np.float64) * grad)
    return (total / samples).astype(x.dtype)

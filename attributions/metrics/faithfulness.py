"""Faithfulness: does removing what the attribution calls important change the output?

Notation: x an image (C × H × W), a its pixel map (attribution summed over channels), P = H·W
pixels, f_c(x) the model's target score, x′ a baseline image.

**Deletion and insertion** (Petsiuk, Das & Saenko, BMVC 2018, "RISE"). Sort the pixels by
decreasing a; k_t = min(t·step, P) for t = 0…T (k_T = P).
    deletion:   x⁽ᵗ⁾ = x with its k_t most relevant pixels set to x′ (all channels), or, with
                baseline="inpaint", filled from the kept pixels around them (`inpainting.inpaint`:
                a constant or blurred fill keeps the outline of the deleted region, and on a
                dataset of silhouettes the outline alone still gives the class away);
    insertion:  x⁽ᵗ⁾ = blur(x) with its k_t most relevant pixels copied from x;
    curve       s_t = softmax(f(x⁽ᵗ⁾))_c,  plotted against k_t / P ∈ [0, 1];
    AUC         = Σ_t ½ (s_t + s_{t+1}) (k_{t+1} − k_t)/P     (trapezoid rule on [0, 1]).
A faithful map makes the probability collapse early when deleting and rise early when
inserting: **lower deletion AUC is better, higher insertion AUC is better.** The order is by
*signed* relevance (most positive evidence first), as Samek et al. (2017, "most relevant first")
and Quantus's PixelFlipping (abs=False) do; pass |a| to rank by magnitude. Ties are broken in a
seeded random order.
Quantus's PixelFlipping (features_in_step = step) returns s_1 … s_T, without s_0, and integrates
with unit spacing: AUC_Q = Σ_{t=1}^{T−1} ½ (s_t + s_{t+1}). When step divides P, our
AUC = (AUC_Q + ½ (s_0 + s_1)) / T (checked in tests/test_metrics_quantus.py).

**Faithfulness correlation** (Bhatt, Weller & Moura, IJCAI 2020). For random pixel subsets
S_1…S_m of a fixed size (seeded):
    μ_F = Pearson_j ( Σ_{i∈S_j} a_i ,  f_c(x) − f_c(x with S_j set to x′) ).
**Higher is better** (1: the attribution of a subset predicts exactly how much the score drops).
Quantus's FaithfulnessCorrelation gives the same numbers for the same subsets.

**Sensitivity-n** (Ancona, Ceolini, Öztireli & Gross, ICLR 2018). The same correlation for subsets
of exactly n pixels and the baseline 0: Pearson_j (Σ_{i∈S_j} a_i, f_c(x) − f_c(x_{S_j = 0})).
A method is "sensitivity-n" when it is 1; **higher is better**. Ancona et al. plot it against n.
(Quantus's SensitivityN is another quantity: it removes the top-ranked pixels step by step and
correlates across the images of the batch, one number per n.)

f_c is the softmax probability for the curves (as Petsiuk et al.) and the logit for the two
correlations (default `output="logit"`): IG and DeepLIFT explain logit differences, so their
sums are on the logit's scale. Perturbed images go through the model in batches of
`batch_size` rows, never one at a time.
"""

# No `from __future__ import annotations` here: the NamedTuple's fields keep real types, which
# the API site (pdoc) can read; string annotations of a NamedTuple cannot be resolved.

from typing import NamedTuple, Optional

import numpy as np

from minicnn import nn
from minicnn.validation import check_fraction, check_int

from ..baselines import blurred_baseline
from ..inputs import ArrayLike, TargetLike, prepare_baseline
from ._pixels import (
    check_images,
    checked_targets,
    model_outputs,
    pixel_map,
    pixel_ranks,
)
from .correlation import pearson_rows
from .inpainting import inpaint

__all__ = [
    "PerturbationCurve", "deletion", "insertion", "curve_auc", "curve_steps",
    "random_subsets", "subset_drops", "subset_correlation", "faithfulness_correlation", "sensitivity_n",
]


class PerturbationCurve(NamedTuple):
    """auc (N,); fractions (T+1,) of pixels perturbed, 0 … 1; scores (N, T+1) target probability."""

    auc: np.ndarray
    fractions: np.ndarray
    scores: np.ndarray


def curve_steps(n_pixels: int, step: Optional[int] = None, fraction: Optional[float] = None) -> np.ndarray:
    """k_t = min(t·step, P), t = 0…T: the numbers of perturbed pixels, from 0 to P inclusive.

    step     -- pixels per step, an int in [1, P]; or
    fraction -- the share of pixels per step, in (0, 1] (step = ⌈fraction·P⌉);
    neither: fraction = 0.05 (21 points). Not both.
    """
    if step is not None and fraction is not None:
        raise ValueError(f"step, fraction: give one of them, got step={step!r} and fraction={fraction!r}")
    if step is None:
        fraction = 0.05 if fraction is None else check_fraction(fraction, "fraction", include_one=True)
        step = max(1, int(np.ceil(fraction * n_pixels - 1e-9)))
    else:
        step = check_int(step, "step", 1, n_pixels)
    return np.minimum(np.arange(0, n_pixels + step, step), n_pixels)


def curve_auc(fractions: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Trapezoid rule Σ_t ½ (s_t + s_{t+1}) (f_{t+1} − f_t) along the last axis of scores."""
    widths = np.diff(fractions)
    return (0.5 * (scores[..., 1:] + scores[..., :-1]) * widths).sum(axis=-1)


def _curve(model, x, targets, maps, start, end, ks, batch_size, seed):
    """Scores of x⁽ᵗ⁾ = where(rank < k_t, end, start) for every image n and step t; `end` may be
    the function fill(images, replaced) instead (deletion by inpainting)."""
    n, n_pixels = len(x), maps.shape[1] * maps.shape[2]
    ranks = pixel_ranks(maps, seed)
    steps = len(ks)
    fill = end if callable(end) else None
    scores = np.empty((n, steps))
    # The end points (nothing or everything replaced) do not depend on the map: one batch of 2N.
    if callable(end):
        end = end(start, np.ones((n,) + maps.shape[1:], dtype=bool))
    ends = model_outputs(model, np.concatenate([start, end]), np.tile(targets, 2), "probability", batch_size)
    scores[:, 0], scores[:, -1] = ends[:n], ends[n:]
    inner = ks[1:-1]
    m = len(inner)
    # Row p of the stacked batch ↔ (image p // m, step p % m); a batch is a range of p.
    for first in range(0, n * m, batch_size):
        p = np.arange(first, min(first + batch_size, n * m))
        image, t = p // m, p % m
        replaced = (ranks[image] < inner[t][:, None]).reshape(len(p), 1, *maps.shape[1:])
        images = fill(start[image], replaced[:, 0]) if fill else np.where(replaced, end[image], start[image])
        scores[image, 1 + t] = model_outputs(model, images, targets[image], "probability", batch_size=len(p))
    fractions = ks / n_pixels
    return PerturbationCurve(curve_auc(fractions, scores), fractions, scores)


def _common_inputs(model: nn.Module, x: ArrayLike, target: TargetLike, attributions: ArrayLike,
                   batch_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = check_images(x, model)
    maps = pixel_map(attributions, x.shape)
    targets = checked_targets(model, x, target)
    check_int(batch_size, "batch_size", 1)
    return x, maps, targets


def deletion(model: nn.Module, x: ArrayLike, target: TargetLike, attributions: ArrayLike, step: Optional[int] = None,
             fraction: Optional[float] = None, baseline: ArrayLike = 0.0, batch_size: int = 128,
             seed: int = 0) -> PerturbationCurve:
    """Deletion curve and AUC (Petsiuk et al. 2018): remove the most relevant pixels first.
    **Lower AUC is better.**

    model        -- minicnn Module returning logits (run in eval mode, mode restored)
    x            -- images (N, C, H, W); target -- int or one int per row
    attributions -- shaped like x, or (N, H, W) maps (summed over channels to rank the pixels)
    step/fraction-- pixels per step (int in [1, H·W]) or share of pixels per step in (0, 1]
                    (default fraction 0.05); see `curve_steps`
    baseline     -- the value of a deleted pixel: scalar, one row or an array like x (default 0),
                    or "inpaint": filled from the kept pixels (`inpainting.inpaint`)
    batch_size   -- perturbed images per forward pass; seed -- tie-breaking order
    Returns PerturbationCurve(auc (N,), fractions (T+1,), scores (N, T+1)).
    """
    x, maps, targets = _common_inputs(model, x, target, attributions, batch_size)
    ks = curve_steps(maps.shape[1] * maps.shape[2], step, fraction)
    if isinstance(baseline, str) and baseline != "inpaint":
        raise ValueError(f"baseline: expected a number, an array or 'inpaint', got {baseline!r}")
    reference = inpaint if isinstance(baseline, str) else prepare_baseline(baseline, x)
    return _curve(model, x, targets, maps, x, reference, ks, batch_size, seed)


def insertion(model: nn.Module, x: ArrayLike, target: TargetLike, attributions: ArrayLike, step: Optional[int] = None,
              fraction: Optional[float] = None, blur_sigma: float = 3.0, batch_size: int = 128,
              seed: int = 0) -> PerturbationCurve:
    """Insertion curve and AUC (Petsiuk et al. 2018): start from a blurred copy of x (Gaussian,
    `blur_sigma` pixels, `attributions.blurred_baseline`) and put the most relevant pixels back
    first. **Higher AUC is better.** Other arguments as `deletion`."""
    x, maps, targets = _common_inputs(model, x, target, attributions, batch_size)
    if isinstance(blur_sigma, bool) or not isinstance(blur_sigma, (int, float, np.integer, np.floating)) or not blur_sigma > 0:
        raise ValueError(f"blur_sigma: expected a number > 0 (pixels), got {blur_sigma!r}")
    ks = curve_steps(maps.shape[1] * maps.shape[2], step, fraction)
    canvas = blurred_baseline(x, float(blur_sigma))
    return _curve(model, x, targets, maps, canvas, x, ks, batch_size, seed)


# ---- correlation with random subsets -----------------------------------------------------------
def random_subsets(n_images: int, shape: tuple[int, ...], subset_size: float | int, n_subsets: int,
                   seed: int = 0) -> np.ndarray:
    """Boolean (N, m, H, W): for each image, m seeded random subsets of `subset_size` pixels
    (an int in [1, H·W], or a fraction in (0, 1] of the pixels)."""
    n_pixels = int(np.prod(shape))
    if isinstance(subset_size, (float, np.floating)):
        size = max(1, int(round(check_fraction(subset_size, "subset_size", include_one=True) * n_pixels)))
    else:
        size = check_int(subset_size, "subset_size", 1, n_pixels)
    n_subsets = check_int(n_subsets, "n_subsets", 2)
    keys = np.random.default_rng(seed).random((n_images, n_subsets, n_pixels))
    chosen = np.argpartition(keys, size - 1, axis=-1)[..., :size] if size < n_pixels else None
    subsets = np.zeros((n_images, n_subsets, n_pixels), dtype=bool)
    if chosen is None:
        subsets[...] = True
    else:
        np.put_along_axis(subsets, chosen, True, axis=-1)
    return subsets.reshape(n_images, n_subsets, *shape)


def subset_drops(model: nn.Module, x: ArrayLike, target: TargetLike, subsets: np.ndarray, baseline: ArrayLike = 0.0,
                 output: str = "logit", batch_size: int = 128) -> np.ndarray:
    """Output drops f_c(x) − f_c(x with S_j set to x′), shape (N, m), for subsets (N, m, H, W).

    The drops depend on the model and the subsets only, not on the attribution: compute them once
    and score every method with `subset_correlation`.
    """
    x = check_images(x, model)
    targets = checked_targets(model, x, target)
    check_int(batch_size, "batch_size", 1)
    subsets = np.asarray(subsets)
    if subsets.dtype != bool or subsets.ndim != 4 or subsets.shape[0] != len(x) or subsets.shape[2:] != x.shape[2:]:
        raise ValueError(f"subsets: expected a boolean array (N, m, H, W) = ({len(x)}, m, {x.shape[2]}, {x.shape[3]}), "
                         f"got {subsets.dtype} {subsets.shape}")
    reference = prepare_baseline(baseline, x)
    n, m = subsets.shape[:2]
    full = model_outputs(model, x, targets, output, batch_size)
    perturbed = np.empty(n * m)
    for first in range(0, n * m, batch_size):
        p = np.arange(first, min(first + batch_size, n * m))
        image, j = p // m, p % m
        images = np.where(subsets[image, j][:, None], reference[image], x[image])
        perturbed[p] = model_outputs(model, images, targets[image], output, batch_size=len(p))
    return full[:, None] - perturbed.reshape(n, m)


def subset_correlation(attributions: ArrayLike, subsets: np.ndarray, drops: np.ndarray) -> np.ndarray:
    """Pearson_j (Σ_{i∈S_j} a_i, drop_j) per image, (N,); NaN where either side is constant."""
    subsets = np.asarray(subsets)
    maps = pixel_map(attributions, (subsets.shape[0],) + subsets.shape[2:])
    drops = np.asarray(drops, dtype=np.float64)
    if drops.shape != subsets.shape[:2]:
        raise ValueError(f"drops: expected shape {subsets.shape[:2]} (N, m) like the subsets, got {drops.shape}")
    sums = np.einsum("nmhw,nhw->nm", subsets.astype(np.float64), maps)
    return pearson_rows(sums, drops)


def faithfulness_correlation(model: nn.Module, x: ArrayLike, target: TargetLike, attributions: ArrayLike,
                             subset_size: float | int = 0.1, n_subsets: int = 32, baseline: ArrayLike = 0.0,
                             output: str = "logit", batch_size: int = 128, seed: int = 0) -> np.ndarray:
    """Faithfulness correlation μ_F (Bhatt et al. 2020) per image, (N,). **Higher is better.**

    subset_size -- |S|: an int number of pixels or a fraction of them (default 10 %)
    n_subsets   -- m random subsets per image (seeded by `seed`)
    baseline    -- value the subset is set to; output -- "logit" (default) or "probability"
    """
    x = check_images(x, model)
    maps = pixel_map(attributions, x.shape)
    subsets = random_subsets(len(x), maps.shape[1:], subset_size, n_subsets, seed)
    drops = subset_drops(model, x, target, subsets, baseline, output, batch_size)
    return subset_correlation(maps, subsets, drops)


def sensitivity_n(model: nn.Module, x: ArrayLike, target: TargetLike, attributions: ArrayLike, n: int,
                  n_subsets: int = 32, output: str = "logit", batch_size: int = 128, seed: int = 0) -> np.ndarray:
    """Sensitivity-n (Ancona et al. 2018) per image, (N,): the faithfulness correlation for
    subsets of exactly `n` pixels removed to 0. **Higher is better** (1: sensitivity-n holds)."""
    x = check_images(x, model)
    n = check_int(n, "n", 1, x.shape[2] * x.shape[3])
    return faithfulness_correlation(model, x, target, attributions, n, n_subsets, 0.0, output, batch_size, seed)

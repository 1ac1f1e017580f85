"""Class discrimination: do the maps for two classes put their relevance on different pixels?

Selvaraju et al. (ICCV 2017) call a visualisation *class-discriminative* when it "localizes the
category in the image": the map for "cat" lights up the cat, the map for "dog" the dog. They show
it by eye and in a human study. The measurable version `demo` (Table 1) and `compare` both report:

    D(x) = 1 − ρ_s( |a_c(x)|, |a_c′(x)| )

- a_c is the pixel map (channels summed) explaining class c, the class being explained;
- c′ is the **runner-up**, the class with the highest logit other than c: the alternative the
  model itself weighs, so the pair is the one where telling the classes apart matters;
- ρ_s is the Spearman rank correlation over the pixels (`spearman_rows`, ties share their rank).

D = 0: both maps rank the pixels alike (the map does not depend on the class); D = 1: unrelated
rankings; D > 1: opposite rankings. **Higher is more class-discriminative.**

Why these choices:
- **|a|, not a:** a map that lights up the same strokes for every class, positive for one and
  negative for the other, points at the same place; signed ρ would call that a perfect
  discrimination (ρ = −1). Grad-CAM's maps are ≥ 0, so for it |a| = a.
- **ranks, not Pearson r:** Pearson on a map upsampled from a 2×2 layer is the correlation of four
  numbers, dominated by the largest; ranks weigh every pixel alike. And 1 − |r| (the statistic the
  demo used before) scores r = −1 as "the same map", yet two non-negative maps that light
  complementary regions (Grad-CAM for two classes on a 2×2 map) have r < 0.
- A map constant over the image (Grad-CAM's ReLU'd map for a class nothing speaks for) has no rank
  correlation: D is NaN there, and `constant_maps` counts those images so a report can say so.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

import minicnn as mc
from minicnn import nn
from minicnn.typing import Shape

from ..inputs import ArrayLike, Explainer, TargetLike, eval_mode
from ._pixels import as_array, checked_targets, pixel_map
from .correlation import spearman_rows

__all__ = ["DISCRIMINATIVE", "runner_up", "class_discrimination", "class_discrimination_of_maps", "constant_maps"]

DISCRIMINATIVE = 0.5  # the reports call a method class-discriminative when D ≥ this (ρ < 0.5)


def runner_up(model: nn.Module, x: ArrayLike, target: TargetLike) -> np.ndarray:
    """c′ per image, (N,) int: the class with the highest logit other than `target`."""
    x = as_array(x, "x")
    targets = checked_targets(model, x, target)
    with eval_mode(model), mc.no_grad():
        logits = np.asarray(model(mc.Tensor(x)).data, dtype=np.float64)
    logits[np.arange(len(x)), targets] = -np.inf
    return logits.argmax(axis=1)


def class_discrimination_of_maps(maps: ArrayLike, other_maps: ArrayLike, shape: Optional[Shape] = None) -> np.ndarray:
    """D = 1 − ρ_s(|a_c|, |a_c′|) per image, (N,), for attributions already computed for c and c′
    (each shaped like x or (N, H, W)); NaN where either map is constant."""
    a = pixel_map(maps, shape, "maps")
    b = pixel_map(other_maps, a.shape if shape is None else shape, "other_maps")
    return 1.0 - spearman_rows(np.abs(a), np.abs(b))


def class_discrimination(model: nn.Module, x: ArrayLike, target: TargetLike, explain: Explainer,
                         other_target: TargetLike = None) -> np.ndarray:
    """D per image, (N,), for `explain(model, x, target)` against the same method for
    `other_target` (default: the runner-up of each image). **Higher is better.**"""
    if not callable(explain):
        raise TypeError(f"explain: expected a callable (model, x, target) → attributions, got {type(explain).__name__}")
    x = as_array(x, "x")
    targets = checked_targets(model, x, target)
    others = runner_up(model, x, targets) if other_target is None else checked_targets(model, x, other_target)
    if (targets == others).any():
        raise ValueError(f"other_target: must differ from target in every row; equal in rows "
                         f"{np.flatnonzero(targets == others).tolist()}")
    shape = x.shape if x.ndim == 4 else None
    return class_discrimination_of_maps(explain(model, x, targets), explain(model, x, others), shape)


def constant_maps(maps: ArrayLike, shape: Optional[Shape] = None) -> np.ndarray:
    """(N,) bool: the pixel map is the same value everywhere (an all-zero Grad-CAM map)."""
    a = pixel_map(maps, shape, "maps")
    a = a.reshape(len(a), -1)
    return (a.max(axis=1) - a.min(axis=1)) <= 1e-12 * np.maximum(np.abs(a).max(axis=1), 1e-300)

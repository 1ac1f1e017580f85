"""Plumbing shared by the metrics: attribution maps as (N, H, W) pixel maps, pixel orderings,
batched model outputs. (`pixel_map` is public as `attributions.metrics.pixel_map`; the row-wise
correlations are in `correlation.py`.)

Conventions used by every metric:
- an attribution for an image batch x (N, C, H, W) is either shaped like x or (N, H, W)
  (Grad-CAM); the *pixel map* is the sum over the channel axis, so a pixel's relevance is the
  total relevance of its channels (Petsiuk et al. 2018; Arras et al. 2022);
- every result is one number per image, shape (N,): the caller aggregates (mean ± s.e.);
- a score that is undefined for an image (e.g. a correlation with a constant vector) is NaN.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

import minicnn as mc
from minicnn import nn

from ..inputs import ArrayLike, TargetLike, eval_mode, num_classes, predicted_classes, prepare_input, prepare_targets

__all__ = [
    "as_array", "pixel_map", "check_images", "check_masks", "pixel_ranks", "model_outputs", "checked_targets",
]


def as_array(a: ArrayLike, name: str) -> np.ndarray:
    """`a` (ndarray or Tensor) as a numeric float ndarray; ValueError/TypeError naming `name`."""
    array = np.asarray(a.data if isinstance(a, mc.Tensor) else a)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a numeric array, got dtype {array.dtype}")
    if array.ndim == 0 or array.shape[0] == 0:
        raise ValueError(f"{name}: expected a non-empty batch (N, ...), got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: contains NaN or inf values")
    return array.astype(np.float64)


def check_images(x: ArrayLike, model: Optional[nn.Module] = None, name: str = "x") -> np.ndarray:
    """An image batch (N, C, H, W) with N ≥ 1, in the model's dtype when a model is given."""
    x = prepare_input(x, model, name) if model is not None else as_array(x, name)
    if x.ndim != 4:
        raise ValueError(f"{name}: expected an image batch of shape (N, C, H, W), got shape {x.shape}")
    return x


def pixel_map(attributions: ArrayLike, shape: Optional[Sequence[int]] = None, name: str = "attributions") -> np.ndarray:
    """Attributions (N, C, H, W) summed over channels, or (N, H, W) as given → float64 (N, H, W).

    shape -- the image batch's shape (N, C, H, W) (or (N, H, W)) the maps must match, if known.
    """
    a = as_array(attributions, name)
    if a.ndim == 4:
        if shape is not None and len(shape) == 4 and a.shape != tuple(shape):
            raise ValueError(f"{name}: expected shape {tuple(shape)} (like x) or {(shape[0],) + tuple(shape[2:])}, got {a.shape}")
        a = a.sum(axis=1)
    elif a.ndim != 3:
        raise ValueError(f"{name}: expected a batch of maps (N, C, H, W) or (N, H, W), got shape {a.shape}")
    if shape is not None:
        expected = (shape[0],) + tuple(shape[-2:])
        if a.shape != expected:
            raise ValueError(f"{name}: expected maps of shape {expected} (N, H, W of x), got {a.shape}")
    return a


def check_masks(masks: ArrayLike, maps_shape: Sequence[int], name: str = "masks") -> np.ndarray:
    """Boolean ground-truth masks shaped like the pixel maps (N, H, W), each with ≥ 1 pixel."""
    m = np.asarray(masks)
    if m.dtype != bool:
        if m.dtype.kind not in "biuf" or not np.isin(m, (0, 1)).all():
            raise TypeError(f"{name}: expected a boolean (or 0/1) array, got dtype {m.dtype}")
        m = m.astype(bool)
    if m.shape != tuple(maps_shape):
        raise ValueError(f"{name}: expected shape {tuple(maps_shape)} (like the attribution maps), got {m.shape}")
    empty = np.flatnonzero(~m.reshape(len(m), -1).any(axis=1))
    if len(empty):
        raise ValueError(f"{name}: every mask needs at least one pixel; rows {empty.tolist()} are empty")
    return m


def pixel_ranks(maps: np.ndarray, seed: int = 0) -> np.ndarray:
    """rank[n, p] = position of pixel p when image n's pixels are sorted by decreasing relevance
    (0 = most relevant); maps (N, H, W) → int (N, H·W).

    Ties (a constant map, the zeros of a ReLU'd Grad-CAM) are broken in a seeded random order,
    not in raster order, which would favour the top rows of the image.
    """
    flat = maps.reshape(len(maps), -1)
    tie_break = np.random.default_rng(seed).random(flat.shape)
    order = np.lexsort((tie_break, -flat), axis=-1)  # last key is the primary one
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(flat.shape[1])[None, :].repeat(len(flat), 0), axis=1)
    return ranks


def model_outputs(model: nn.Module, images: np.ndarray, targets: np.ndarray, output: str = "probability",
                  batch_size: int = 256) -> np.ndarray:
    """Target score of every image, (M,) float64: softmax probability or logit, no graph, eval mode.

    The images go through the model `batch_size` at a time (the caller already validated them).
    """
    if output not in ("probability", "logit"):
        raise ValueError(f"output: expected 'probability' or 'logit', got {output!r}")
    scores = np.empty(len(images))
    with eval_mode(model), mc.no_grad():
        for start in range(0, len(images), batch_size):
            stop = min(start + batch_size, len(images))
            logits = model(mc.Tensor(images[start:stop])).data.astype(np.float64)
            if logits.ndim != 2:
                raise ValueError(f"model: expected logits of shape (N, classes), got shape {logits.shape}")
            rows = np.arange(stop - start)
            if output == "logit":
                scores[start:stop] = logits[rows, targets[start:stop]]
            else:
                z = logits - logits.max(axis=1, keepdims=True)
                p = np.exp(z)
                scores[start:stop] = p[rows, targets[start:stop]] / p.sum(axis=1)
    return scores


def checked_targets(model: nn.Module, x: np.ndarray, target: TargetLike) -> np.ndarray:
    """One class index per row of x, checked against the model's number of logits; None: each
    row's predicted class, as for the methods."""
    with eval_mode(model):
        if target is None:
            return predicted_classes(model, x)
        return prepare_targets(target, len(x), num_classes(model, x))

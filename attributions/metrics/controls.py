"""Control "explanations" that know nothing about the model: every metric must beat them.

- `random_attribution`: i.i.d. U(0, 1) per feature, seeded by `seed` *and the bytes of the
  image*, so it is deterministic (the same image gets the same map, as for a real method), yet
  a slightly changed image gets an unrelated map (a robustness metric should punish that).
- `centre_gaussian_attribution`: exp(−‖p − centre‖² / (2σ²)) per pixel (σ = min(H, W)/4 by
  default), the same for every image: a "the object is usually in the middle" prior.

Both have the signature of an attribution method, (model, x, target) → array shaped like x, so
they run through the same metrics; `model` and `target` are only checked for shape.
"""

from __future__ import annotations

import zlib

from typing import Optional

import numpy as np

from minicnn import nn

from ..inputs import ArrayLike, TargetLike
from ._pixels import as_array, check_images

__all__ = ["random_attribution", "centre_gaussian_attribution"]


def random_attribution(model: nn.Module, x: ArrayLike, target: TargetLike = None, seed: int = 0) -> np.ndarray:
    """U(0, 1) noise shaped like x, one generator per image seeded by (seed, crc32 of the image)."""
    x = as_array(x, "x")
    out = np.empty_like(x)
    for i, row in enumerate(x):  # per-row seeds keep a row's map independent of its neighbours
        out[i] = np.random.default_rng([int(seed), zlib.crc32(np.ascontiguousarray(row).tobytes())]).random(row.shape)
    return out


def centre_gaussian_attribution(model: nn.Module, x: ArrayLike, target: TargetLike = None,
                                sigma: Optional[float] = None) -> np.ndarray:
    """A Gaussian bump at the image centre, the same for every image and channel, shaped like x."""
    x = check_images(x)
    h, w = x.shape[2:]
    sigma = min(h, w) / 4 if sigma is None else sigma
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.integer, np.floating)) or not sigma > 0:
        raise ValueError(f"sigma: expected a number > 0 (pixels), got {sigma!r}")
    i = np.arange(h)[:, None] - (h - 1) / 2
    j = np.arange(w)[None, :] - (w - 1) / 2
    bump = np.exp(-(i * i + j * j) / (2.0 * sigma * sigma))
    return np.broadcast_to(bump, x.shape).copy()

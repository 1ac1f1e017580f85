"""How similar two attribution maps are: the four measures of Adebayo et al.'s sanity checks (2018, §3).

For one image, a and b are the two pixel maps (H, W) (channels summed), and â = |a| / max|a| the
absolute map scaled to [0, 1] (their "normalised" maps):

    spearman_abs   ρ(|a|, |b|)           Spearman rank correlation of the magnitudes
    spearman       ρ(a, b)               the same on the signed maps (a sign flip counts as a change)
    ssim           SSIM(â, b̂)            structural similarity (Wang et al. 2004): Gaussian window
                                         σ = 1.5 px, K₁ = 0.01, K₂ = 0.03, dynamic range 1
    hog            r(HOG(â), HOG(b̂))     Pearson r of the histograms of oriented gradients
                                         (Dalal & Triggs 2005): 9 orientations, 4×4-pixel cells,
                                         2×2-cell blocks, L2-Hys (cells of 16 px in the paper's 299 px
                                         images; 4 px keep 4 cells across our 16 px digits)

All four are 1 for identical maps; ρ and r are near 0 for unrelated ones. A map that is all zero
(a Grad-CAM whose ReLU cut everything) has no defined similarity: NaN, as in `correlation.py`.
SSIM and HOG come from scikit-image.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..inputs import ArrayLike
from ._pixels import pixel_map
from .correlation import pearson_rows, spearman_rows

__all__ = ["SIMILARITIES", "map_similarity", "ssim_similarity", "hog_similarity"]

SIMILARITIES = ("spearman_abs", "spearman", "ssim", "hog")

_HOG: dict[str, Any] = {"orientations": 9, "pixels_per_cell": (4, 4), "cells_per_block": (2, 2), "block_norm": "L2-Hys"}


def _scaled_magnitudes(maps):
    """|a| / max|a| per map; rows that are all zero become NaN (no similarity is defined)."""
    magnitude = np.abs(maps)
    peak = magnitude.reshape(len(maps), -1).max(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = magnitude / peak[:, None, None]
    scaled[peak == 0] = np.nan
    return scaled


def ssim_similarity(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """SSIM of the scaled magnitudes of maps a and b (N, H, W) per image, (N,); NaN for a zero map."""
    from skimage.metrics import structural_similarity

    scaled_a, scaled_b = _scaled_magnitudes(a), _scaled_magnitudes(b)
    out = np.full(len(scaled_a), np.nan)
    for i, (p, q) in enumerate(zip(scaled_a, scaled_b)):
        if np.isfinite(p).all() and np.isfinite(q).all():
            out[i] = structural_similarity(p, q, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                           use_sample_covariance=False)
    return out


def _hog_features(scaled):
    """HOG feature vector of each scaled map (N, F); rows of the undefined (NaN) maps are NaN."""
    from skimage.feature import hog

    defined = np.isfinite(scaled).reshape(len(scaled), -1).all(axis=1)
    features = np.stack([hog(np.where(ok, p, 0.0), **_HOG) for p, ok in zip(scaled, defined)])
    features[~defined] = np.nan
    return features


def hog_similarity(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Pearson r of the HOG features of the scaled magnitudes of a and b (N, H, W), (N,)."""
    height, width = np.shape(a)[1:]
    cells = _HOG["pixels_per_cell"][0] * _HOG["cells_per_block"][0]
    if min(height, width) < cells:
        raise ValueError(f"a: HOG needs maps of at least {cells}×{cells} pixels, got {height}×{width}")
    return pearson_rows(_hog_features(_scaled_magnitudes(a)), _hog_features(_scaled_magnitudes(b)))


def map_similarity(a: ArrayLike, b: ArrayLike, measure: str = "spearman_abs") -> np.ndarray:
    """Similarity of attribution maps a and b per image, (N,), by one of `SIMILARITIES`.

    a, b -- maps shaped like the image batch (N, C, H, W) (channels are summed) or (N, H, W)
    """
    if measure not in SIMILARITIES:
        raise ValueError(f"measure: expected one of {', '.join(SIMILARITIES)}, got {measure!r}")
    a, b = pixel_map(a, name="a"), pixel_map(b, name="b")
    if a.shape != b.shape:
        raise ValueError(f"b: expected maps of the same shape as a {a.shape}, got {b.shape}")
    if measure == "spearman_abs":
        return spearman_rows(np.abs(a), np.abs(b))
    if measure == "spearman":
        return spearman_rows(a, b)
    if measure == "ssim":
        return ssim_similarity(a, b)
    return hog_similarity(a, b)

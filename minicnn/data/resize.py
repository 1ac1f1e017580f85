"""Resizing images with one matrix per axis: bilinear, nearest and area (box) averaging.

Every one of these resizes is linear and separable: a column of n_in pixels becomes
``M @ column`` with an (n_out, n_in) matrix M, so an image is resized by ``M_h @ x @ M_w.T``.
Writing the matrices out keeps the three rules side by side, each one line of arithmetic:

* bilinear (PyTorch's ``interpolate(mode="bilinear", align_corners=False)``): output pixel j
  reads the source coordinate ``u_j = (j + ½)·n_in/n_out − ½`` (half-pixel centres) clamped to
  [0, n_in − 1] and mixes its two neighbours;
* nearest: output pixel j copies source pixel ``⌊j·n_in/n_out⌋``;
* area: output pixel j is the mean of the source over its footprint
  ``[j·n_in/n_out, (j + 1)·n_in/n_out)``, each source pixel weighted by the length it overlaps.
  It is the rule that counts ink: a binary bitmap reduced by area averaging gives, per output
  pixel, the share of "on" pixels in its block (how scikit-learn's digits were made from 32×32
  bitmaps, see handwritten.py).

Every row of every matrix is a convex combination, so values in [0, 1] stay in [0, 1].
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ..typing import FloatArray

__all__ = ["METHODS", "area_matrix", "interpolation_matrix", "resize"]

METHODS = ("bilinear", "nearest", "area")


def area_matrix(n_in: int, n_out: int, start: float = 0.0, span: Optional[float] = None) -> FloatArray:
    """The area-averaging matrix onto a window of the axis: output pixel j averages the source
    over [start + j·s, start + (j + 1)·s) with s = span / n_out (span defaults to n_in), so
    M[j, i] = |[i, i + 1) ∩ that footprint| / s. A window reaching past the source (start < 0,
    or start + span > n_in) reads zeros there: that is padding, at sub-pixel precision."""
    scale = (n_in if span is None else span) / n_out
    lower = start + np.arange(n_out)[:, None] * scale
    upper = lower + scale
    pixel = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(upper, pixel + 1) - np.maximum(lower, pixel), 0.0, None)
    return overlap / scale


def interpolation_matrix(n_in: int, n_out: int, method: str = "bilinear") -> FloatArray:
    """The (n_out, n_in) matrix M with ``resized = M @ column`` along one axis (see the module)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    rows = np.arange(n_out)
    matrix = np.zeros((n_out, n_in))
    if method == "area":
        return area_matrix(n_in, n_out)
    if method == "nearest":
        matrix[rows, rows * n_in // n_out] = 1.0
        return matrix
    u = np.clip((rows + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    lower = np.floor(u).astype(np.int64)
    upper = np.minimum(lower + 1, n_in - 1)
    weight = u - lower
    # np.add.at, not assignment, because lower == upper at the clamped edges.
    np.add.at(matrix, (rows, lower), 1.0 - weight)
    np.add.at(matrix, (rows, upper), weight)
    return matrix


def resize(images: FloatArray, size: tuple[int, int], method: str = "bilinear") -> FloatArray:
    """Resize the last two axes of `images` (…, H, W) to `size` = (OH, OW); the dtype is kept."""
    if (not isinstance(images, np.ndarray) or images.ndim < 2 or min(images.shape[-2:]) < 1
            or images.dtype.kind != "f"):
        raise ValueError(f"images must be a floating ndarray of shape (..., H, W) with H, W >= 1, got "
                         f"{type(images).__name__} {getattr(images, 'shape', '')} {getattr(images, 'dtype', '')}")
    height, width = size
    rows = interpolation_matrix(images.shape[-2], height, method).astype(images.dtype)
    columns = interpolation_matrix(images.shape[-1], width, method).astype(images.dtype)
    return rows @ images @ columns.T

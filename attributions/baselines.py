"""References x′ for Integrated Gradients and DeepLIFT: what "absence of signal" means.

The attributions explain t(x) − t(x′), so the choice of x′ is part of the question asked:

- zero (black image): the usual default; features equal to 0 can never get attribution;
- blurred (Fong & Vedaldi 2017; Sturmfels et al. 2020, "Visualizing the impact of feature
  attribution baselines"): removes fine detail but keeps colours and coarse shapes;
- uniform noise: a random reference; average IG over several seeds to reduce its variance;
- dataset mean: the "average input" of the training set.

Each function returns a plain ndarray that the methods accept as `baseline=`.
"""

from __future__ import annotations

from typing import Union

import numpy as np

import minicnn as mc

from .inputs import ArrayLike

__all__ = ["zero_baseline", "blurred_baseline", "uniform_noise_baseline", "mean_baseline", "gaussian_kernel"]


def _as_array(x: ArrayLike, name: str, min_ndim: int = 2) -> np.ndarray:
    a = np.asarray(x.data if isinstance(x, mc.Tensor) else x)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a numeric array, got dtype {a.dtype}")
    if a.ndim < min_ndim:
        raise ValueError(f"{name}: expected an array with at least {min_ndim} axes, got shape {a.shape}")
    if a.dtype.kind != "f":
        a = a.astype(np.float64)
    return a


def zero_baseline(x: ArrayLike) -> np.ndarray:
    """x′ = 0, shaped and typed like x."""
    return np.zeros_like(_as_array(x, "x", min_ndim=1))


def gaussian_kernel(sigma: float, truncate: float = 4.0) -> np.ndarray:
    """The normalised 1-D Gaussian g_j ∝ exp(−j²/(2σ²)), j = −r…r with r = round(truncate·σ)
    (as scipy.ndimage), at least 1; float64."""
    radius = max(1, int(truncate * sigma + 0.5))
    j = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-0.5 * (j / sigma) ** 2)
    return g / g.sum()


def _blur_axis(a, kernel, axis):
    """Convolve `a` with the symmetric `kernel` along `axis`, mirroring at the edges."""
    r = len(kernel) // 2
    pad = [(0, 0)] * a.ndim
    pad[axis] = (r, r)
    # "symmetric" repeats the edge pixel (d c b a | a b c d), scipy.ndimage's mode="reflect".
    padded = np.pad(a, pad, mode="symmetric")
    length = a.shape[axis]
    out = np.zeros(a.shape, dtype=np.float64)
    for offset, weight in enumerate(kernel):  # one vectorised shift per tap (≈ 8σ of them)
        out += weight * np.take(padded, np.arange(offset, offset + length), axis=axis)
    return out


def blurred_baseline(x: ArrayLike, sigma: float) -> np.ndarray:
    """x blurred by a Gaussian of standard deviation `sigma` pixels over its last two axes (H, W).

    The 2-D Gaussian G(u, v) = g(u)·g(v) is separable, so the image is blurred along W, then
    along H, with the 1-D kernel of `gaussian_kernel` (truncated at 4σ, as scipy.ndimage's
    `gaussian_filter`; edges mirrored, its mode="reflect"). Channels and rows are blurred
    independently. sigma = 0 returns a copy of x.

    x -- (N, C, H, W), (N, H, W) or (H, W); result shaped and typed like x.
    """
    a = _as_array(x, "x")
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.integer, np.floating)) or not (
        np.isfinite(sigma) and sigma >= 0
    ):
        raise ValueError(f"sigma: expected a finite number ≥ 0 (pixels), got {sigma!r}")
    if sigma == 0:
        return a.copy()
    kernel = gaussian_kernel(float(sigma))
    blurred = _blur_axis(_blur_axis(a.astype(np.float64), kernel, a.ndim - 1), kernel, a.ndim - 2)
    return blurred.astype(a.dtype)


def uniform_noise_baseline(x: ArrayLike, low: float = 0.0, high: float = 1.0,
                           seed: Union[int, np.random.Generator, None] = None) -> np.ndarray:
    """x′ with independent entries ~ U(low, high), shaped and typed like x.

    seed -- an int or np.random.Generator for reproducibility (None: fresh entropy).
    """
    a = _as_array(x, "x", min_ndim=1)
    for name, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not np.isfinite(value):
            raise ValueError(f"{name}: expected a finite number, got {value!r}")
    if not low < high:
        raise ValueError(f"low, high: expected low < high, got low={low!r}, high={high!r}")
    if not (seed is None or isinstance(seed, (int, np.integer, np.random.Generator))) or isinstance(seed, bool):
        raise TypeError(f"seed: expected None, an int or a numpy Generator, got {seed!r}")
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high, size=a.shape).astype(a.dtype)


def mean_baseline(x_train: ArrayLike) -> np.ndarray:
    """x′ = the mean of the training inputs over the batch axis: one row, shape x_train.shape[1:]
    (the methods broadcast a one-row baseline over the batch)."""
    a = _as_array(x_train, "x_train")
    if len(a) == 0:
        raise ValueError(f"x_train: expected at least one row, got an empty batch of shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError("x_train: contains NaN or inf values")
    return a.mean(axis=0, dtype=np.float64).astype(a.dtype)

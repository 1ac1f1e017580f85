"""A procedurally generated shapes dataset with ground-truth relevance masks.

Each image shows exactly one class-defining shape -- a square, a cross, a
triangle or a circle -- at a random position, scale and brightness, on a
smooth noisy background with a few blurry distractor blobs that carry no
class information. Because we drew the shape ourselves we know *exactly*
which pixels decide the label: ``masks[i]`` marks them. That turns
"does this explanation point at the right thing?" from a judgement by eye
into a number (see the localisation metrics in ``attributions``).

Everything is vectorised over the batch: coordinate grids broadcast against
per-image parameters, one boolean mask per shape, so 5000 images of 32x32
take a fraction of a second.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..typing import DTypeLike
from ..validation import check_float_dtype, check_int, check_range, check_seed
from .dataset import Dataset

__all__ = ["SHAPE_CLASSES", "make_shapes", "load_shapes"]

SHAPE_CLASSES = ("square", "cross", "triangle", "circle")

# Why these numbers: the background blur (in pixels) makes noise look like
# texture rather than salt-and-pepper; distractor blobs are about as bright as
# shapes so brightness alone does not reveal the shape; each blob is placed at
# least 2 sigma outside the shape's bounding circle, where its Gaussian has
# fallen below exp(-2) ~ 14 % of its peak.
_BACKGROUND_SIGMA = 1.5
_BLOB_SIGMA = (1.0, 2.0)
_BLOB_AMPLITUDE = (0.3, 0.8)
_BLOB_CLEARANCE_SIGMAS = 2.0
_BLOB_CANDIDATES = 24
_MIN_SCALE = 4.0


def _square(dy, dx, half):
    """Filled axis-aligned square of side ``2 * half``: ``|dx| <= h and |dy| <= h``."""
    return (np.abs(dx) <= half) & (np.abs(dy) <= half)


def _cross(dy, dx, half):
    """Plus sign: two bars of length ``2h`` and half-width ``w = max(0.75, 0.3 h)``."""
    width = np.maximum(0.75, 0.3 * half)
    horizontal = (np.abs(dy) <= width) & (np.abs(dx) <= half)
    vertical = (np.abs(dx) <= width) & (np.abs(dy) <= half)
    return horizontal | vertical


def _triangle(dy, dx, half):
    """Filled upward triangle, apex at ``dy = -h``, base of width ``2h`` at ``dy = +h``.

    At height ``dy`` the half-width grows linearly from 0 to ``h``:
    ``|dx| <= (dy + h) / 2``.
    """
    return (np.abs(dy) <= half) & (np.abs(dx) <= (dy + half) / 2)


def _circle(dy, dx, half):
    """Filled disc of radius ``h``: ``dx^2 + dy^2 <= h^2``."""
    return dx * dx + dy * dy <= half * half


_DRAW = (_square, _cross, _triangle, _circle)


def _smooth_noise(white, sigma):
    """Blur each (H, W) slice of ``white`` by a Gaussian of std ``sigma`` pixels.

    Done in the Fourier domain, where a Gaussian blur is a multiplication by
    ``exp(-2 pi^2 sigma^2 (f_y^2 + f_x^2))``; the image wraps around at the
    borders, which is harmless for noise and keeps the code to three lines.
    """
    height, width = white.shape[-2:]
    freq_y = np.fft.fftfreq(height)[:, None]
    freq_x = np.fft.rfftfreq(width)[None, :]
    transfer = np.exp(-2.0 * (np.pi * sigma) ** 2 * (freq_y**2 + freq_x**2))
    return np.fft.irfft2(np.fft.rfft2(white) * transfer, s=(height, width))


def _rescale_per_image(images):
    """Min-max rescale each image of a (N, H, W) stack to [0, 1]."""
    low = images.min(axis=(1, 2), keepdims=True)
    high = images.max(axis=(1, 2), keepdims=True)
    return (images - low) / np.maximum(high - low, 1e-12)


def make_shapes(n: int, size: int = 32, seed: int | np.random.Generator = 0, *, scale: tuple[int, int] = (8, 14),
                intensity: tuple[float, float] = (0.6, 1.0), noise: float = 0.2,
                distractors: tuple[int, int] = (1, 3),
                dtype: DTypeLike = np.float64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Generate ``n`` shape images with labels and ground-truth masks.

    Returns ``(x, y, masks)``:

    * ``x`` -- shape (n, 1, size, size), ``dtype``, values in [0, 1];
    * ``y`` -- shape (n,), int64, class index into :data:`SHAPE_CLASSES`
      ``("square", "cross", "triangle", "circle")``. Labels are balanced: the
      classes are cycled (0, 1, 2, 3, 0, ...) and then shuffled, so counts
      differ by at most one;
    * ``masks`` -- shape (n, size, size), bool, True exactly on the pixels
      the class-defining shape was painted on.

    How an image is composed (pixel centres at integer coordinates):

    1. background ``b = noise * u`` where ``u`` is white Gaussian noise blurred
       with a Gaussian (sigma 1.5 px) and rescaled to [0, 1] per image;
    2. ``k`` distractor blobs, ``k`` uniform in ``distractors``, each
       ``a * exp(-r^2 / (2 s^2))`` with ``a`` in [0.3, 0.8] and ``s`` in
       [1, 2] px, centred at least ``2 s`` outside the shape's bounding
       circle when such a spot exists (24 candidate positions are tried);
       ``x = clip(b + blobs, 0, 1)``;
    3. the shape is painted on top: ``x[mask] = c`` with intensity ``c``
       uniform in ``intensity``. Its bounding box has side ``s`` uniform in
       ``scale`` and lies fully inside the image.

    Because the shape is painted over (not added to) the background, the
    mask pixels hold exactly the shape's intensity ``c``; with ``noise=0`` and
    ``distractors=0`` every other pixel is exactly 0.

    The same ``seed`` gives the same images. Random numbers are drawn in a
    fixed order -- labels and shape parameters first -- so ``y`` and
    ``masks`` do not depend on ``noise`` or ``distractors``: a noise-free
    variant has the very same shapes.

    Parameters
    ----------
    n : int >= 1
    size : int, image side in pixels; at least ``scale[1] + 2``
    seed : int >= 0 or np.random.Generator
    scale : (low, high) side of the shape's bounding box in pixels, low >= 4
    intensity : (low, high) within (0, 1]
    noise : float in [0, 1], amplitude of the background texture (0 = black)
    distractors : int or (low, high) ints, number of blobs per image
    dtype : floating dtype of ``x``, default float64
    """
    n = check_int(n, "n", minimum=1)
    size = check_int(size, "size", minimum=1)
    rng = np.random.default_rng(check_seed(seed, allow_generator=True))
    scale_low, scale_high = check_range(scale, "scale", _MIN_SCALE, float("inf"))
    if size < scale_high + 2:
        raise ValueError(
            f"size must be at least scale[1] + 2 = {scale_high + 2:g} so the largest shape fits, got {size}"
        )
    intensity_low, intensity_high = check_range(intensity, "intensity", 0.0, 1.0)
    if intensity_low <= 0.0:
        raise ValueError(f"intensity must be a pair with 0 < low <= high <= 1, got {intensity!r}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.floating, np.integer)):
        raise TypeError(f"noise must be a float in [0, 1], got {type(noise).__name__} {noise!r}")
    if not 0.0 <= noise <= 1.0:
        raise ValueError(f"noise must be a float in [0, 1], got {noise}")
    if isinstance(distractors, (int, np.integer)) and not isinstance(distractors, bool):
        distractors = (distractors, distractors)
    if (
        not isinstance(distractors, (tuple, list))
        or len(distractors) != 2
        or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in distractors)
    ):
        raise TypeError(f"distractors must be an int or a pair of ints (low, high), got {distractors!r}")
    blobs_low, blobs_high = int(distractors[0]), int(distractors[1])
    if not 0 <= blobs_low <= blobs_high:
        raise ValueError(f"distractors must satisfy 0 <= low <= high, got {distractors!r}")
    dtype = check_float_dtype(dtype)

    # 1. labels and the class-defining shape (drawn first: see the docstring).
    labels = rng.permutation(np.arange(n) % len(SHAPE_CLASSES)).astype(np.int64)
    half = rng.uniform(scale_low, scale_high, n) / 2.0
    # Centres in [h, size - 1 - h] keep the whole bounding box on pixel centres 0..size-1.
    centre_y = rng.uniform(half, size - 1 - half)
    centre_x = rng.uniform(half, size - 1 - half)
    shade = rng.uniform(intensity_low, intensity_high, n)

    grid = np.arange(size, dtype=np.float64)
    masks = np.zeros((n, size, size), dtype=bool)
    for label, draw in enumerate(_DRAW):
        chosen = np.flatnonzero(labels == label)
        dy = grid[None, :, None] - centre_y[chosen, None, None]
        dx = grid[None, None, :] - centre_x[chosen, None, None]
        masks[chosen] = draw(dy, dx, half[chosen, None, None])

    # 2a. background texture.
    white = rng.standard_normal((n, size, size))
    images = noise * _rescale_per_image(_smooth_noise(white, _BACKGROUND_SIGMA))

    # 2b. distractor blobs, one slot at a time; slots beyond an image's count stay off.
    count = rng.integers(blobs_low, blobs_high + 1, n)
    # The bounding circle of any of the four shapes has radius h * sqrt(2) (the square's corners).
    shape_radius = half * np.sqrt(2.0)
    for slot in range(blobs_high):
        sigma = rng.uniform(*_BLOB_SIGMA, n)
        amplitude = rng.uniform(*_BLOB_AMPLITUDE, n)
        candidate_y = rng.uniform(0, size - 1, (n, _BLOB_CANDIDATES))
        candidate_x = rng.uniform(0, size - 1, (n, _BLOB_CANDIDATES))
        distance = np.hypot(candidate_y - centre_y[:, None], candidate_x - centre_x[:, None])
        clear = distance >= (shape_radius + _BLOB_CLEARANCE_SIGMAS * sigma)[:, None]
        # First clear candidate if any, otherwise the one farthest from the shape.
        pick = np.where(clear.any(axis=1), clear.argmax(axis=1), distance.argmax(axis=1))
        rows = np.arange(n)
        blob_y, blob_x = candidate_y[rows, pick], candidate_x[rows, pick]
        # A Gaussian is separable, so an outer product of two 1-D profiles builds it cheaply.
        profile_y = np.exp(-((grid[None, :] - blob_y[:, None]) ** 2) / (2 * sigma[:, None] ** 2))
        profile_x = np.exp(-((grid[None, :] - blob_x[:, None]) ** 2) / (2 * sigma[:, None] ** 2))
        active = (slot < count) * amplitude
        images += active[:, None, None] * profile_y[:, :, None] * profile_x[:, None, :]
    np.clip(images, 0.0, 1.0, out=images)

    # 3. paint the shape over everything else.
    images = np.where(masks, shade[:, None, None], images)
    return images[:, None, :, :].astype(dtype), labels, masks


def load_shapes(n_train: int = 4000, n_test: int = 1000, seed: int = 0, size: int = 32,
                dtype: DTypeLike = np.float64, **kwargs: Any) -> Dataset:
    """Generate the shapes dataset as a :class:`Dataset` with masks.

    Sizes with the defaults: 4000 train / 1000 test images of shape
    (1, 32, 32), 4 balanced classes ``["square", "cross", "triangle",
    "circle"]`` (1000 / 250 each), masks (N, 32, 32) in ``masks_train`` and
    ``masks_test``.

    Train and test come from two independent random streams spawned from
    ``seed`` (``np.random.SeedSequence(seed).spawn(2)``), so changing
    ``n_test`` does not change the training images. ``kwargs`` (``scale``,
    ``intensity``, ``noise``, ``distractors``) go to :func:`make_shapes`.
    """
    n_train = check_int(n_train, "n_train", minimum=1)
    n_test = check_int(n_test, "n_test", minimum=1)
    seed = check_seed(seed)
    unknown = set(kwargs) - {"scale", "intensity", "noise", "distractors"}
    if unknown:
        raise TypeError(
            f"load_shapes got unexpected keyword arguments {sorted(unknown)}; "
            "accepted extras are scale, intensity, noise, distractors"
        )
    train_stream, test_stream = np.random.SeedSequence(seed).spawn(2)
    x_train, y_train, masks_train = make_shapes(
        n_train, size, np.random.default_rng(train_stream), dtype=dtype, **kwargs
    )
    x_test, y_test, masks_test = make_shapes(
        n_test, size, np.random.default_rng(test_stream), dtype=dtype, **kwargs
    )
    return Dataset(
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        classes=list(SHAPE_CLASSES),
        masks_train=masks_train,
        masks_test=masks_test,
        name="shapes",
    )

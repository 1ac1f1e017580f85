"""Handwritten digits from scikit-learn (the UCI "optical recognition" set).

1797 grey-level images of the digits 0-9, 8x8 pixels, integer values 0..16,
roughly 180 per class. It ships inside scikit-learn, so it loads offline in
milliseconds -- the dataset of choice for a first CNN that trains in seconds.
"""

from __future__ import annotations

import numpy as np

from ..typing import DTypeLike
from ..validation import check_float_dtype, check_fraction, check_int, check_seed
from .dataset import Dataset
from .resize import interpolation_matrix
from .split import train_test_split

__all__ = ["load_digits", "upsample"]

_SIZES = (8, 16, 32)
_METHODS = ("bilinear", "nearest")


def upsample(images: np.ndarray, size: int, method: str = "bilinear") -> np.ndarray:
    """Resize a batch (N, C, H, W) of square images to (N, C, size, size).

    Bilinear interpolation is separable: resize the rows, then the columns,
    ``out = M @ x @ M.T`` with the matrix of :func:`minicnn.data.resize.interpolation_matrix`
    (half-pixel centres, edges clamped; nearest: pixel repetition).
    """
    if not isinstance(images, np.ndarray) or images.ndim != 4 or images.shape[2] != images.shape[3]:
        raise ValueError(
            f"images must be an ndarray of shape (N, C, H, H), got "
            f"{type(images).__name__} {getattr(images, 'shape', '')}"
        )
    size = check_int(size, "size", minimum=1)
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    matrix = interpolation_matrix(images.shape[2], size, method).astype(images.dtype)
    return matrix @ images @ matrix.T


def load_digits(size: int = 8, test_fraction: float = 0.25, seed: int = 0, dtype: DTypeLike = np.float64,
                method: str = "bilinear") -> Dataset:
    """Load scikit-learn's 8x8 digits as a :class:`Dataset` of shape (N, 1, size, size).

    Sizes with the defaults: 1797 images, 1348 train / 449 test, 10 classes
    "0".."9" with 174-183 images each; the split is stratified, so each class
    keeps its share (within one image) in both parts.

    Pixel values ``v`` in 0..16 are scaled to ``v / 16`` in [0, 1].

    Parameters
    ----------
    size : {8, 16, 32}
        Side length of the returned images. 16 and 32 upsample the 8x8
        originals by :func:`upsample` (bilinear by default, half-pixel centres,
        edges clamped; ``method="nearest"`` repeats each pixel 2x2 or 4x4
        instead). Larger inputs let deeper nets with several pooling layers
        run on the same data; they add no information.
    test_fraction : float in (0, 1)
    seed : int >= 0
        Seed of the stratified split; the images themselves are fixed.
    dtype : floating dtype, default float64
    method : {"bilinear", "nearest"}
    """
    size = check_int(size, "size")
    if size not in _SIZES:
        raise ValueError(f"size must be one of {_SIZES}, got {size}")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    test_fraction = check_fraction(test_fraction, "test_fraction")
    seed = check_seed(seed)
    dtype = check_float_dtype(dtype)

    # Imported here so that `import minicnn.data` stays fast; scikit-learn is a
    # declared dependency, but its import alone takes about half a second.
    try:
        from sklearn.datasets import load_digits as _sklearn_load_digits
    except ImportError as err:  # pragma: no cover - sklearn is a dependency
        raise ImportError("load_digits needs scikit-learn: pip install scikit-learn") from err

    bunch = _sklearn_load_digits()
    x = (bunch.images.astype(np.float64) / 16.0)[:, None, :, :]
    if size != 8:
        x = upsample(x, size, method)
    # Interpolation can round a hair outside [0, 1]; clip so the documented range holds exactly.
    x = np.clip(x, 0.0, 1.0).astype(dtype)
    y = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_fraction=test_fraction, seed=seed)
    return Dataset(
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        classes=[str(d) for d in range(10)],
        name="digits",
    )

"""Faces versus non-faces from scikit-image's bundled LFW subset.

``skimage.data.lfw_subset()`` holds 200 grey images of 25x25 pixels with
values in [0, 1]: the first 100 are faces cropped from "Labeled Faces in the
Wild", the last 100 are random non-face patches. A small binary task whose
explanations are easy to judge by eye (does the map light up eyes and mouth?).
"""

from __future__ import annotations

import numpy as np

from ..typing import DTypeLike
from ..validation import check_float_dtype, check_fraction, check_seed
from .dataset import Dataset
from .split import train_test_split

__all__ = ["load_faces"]

_N_FACES = 100


def load_faces(test_fraction: float = 0.25, seed: int = 0, dtype: DTypeLike = np.float64) -> Dataset:
    """Load the LFW face/non-face subset as a :class:`Dataset` of shape (N, 1, 25, 25).

    Sizes with the defaults: 200 images, 150 train / 50 test, classes
    ``["non-face", "face"]`` (label 0 = non-face, 1 = face), 100 of each;
    the split is stratified, so both parts are exactly balanced.

    Parameters
    ----------
    test_fraction : float in (0, 1)
    seed : int >= 0
        Seed of the stratified split.
    dtype : floating dtype, default float64

    Raises ImportError with an installation hint when scikit-image is missing.
    """
    test_fraction = check_fraction(test_fraction, "test_fraction")
    seed = check_seed(seed)
    dtype = check_float_dtype(dtype)

    # Lazy import: scikit-image is heavy to import and only this loader needs it.
    try:
        from skimage.data import lfw_subset
    except ImportError as err:
        raise ImportError(
            "load_faces needs scikit-image for its bundled LFW subset: pip install scikit-image"
        ) from err

    images = np.asarray(lfw_subset(), dtype=np.float64)
    if images.shape != (2 * _N_FACES, 25, 25):  # pragma: no cover - guards a changed upstream file
        raise RuntimeError(f"skimage.data.lfw_subset() returned shape {images.shape}, expected (200, 25, 25)")
    x = np.clip(images, 0.0, 1.0)[:, None, :, :].astype(dtype)
    # Upstream order: faces first, then non-faces.
    y = np.concatenate([np.ones(_N_FACES, np.int64), np.zeros(len(images) - _N_FACES, np.int64)])
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_fraction=test_fraction, seed=seed)
    return Dataset(
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        classes=["non-face", "face"],
        name="faces",
    )

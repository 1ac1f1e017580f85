"""One image file → one model input (C, H, W), float64 in [0, 1]: the single rule that
`explain --image`, `train --data DIR` and every ImageFolder image go through.

1. read: matplotlib.image.imread, i.e. Pillow for every format (PNG, JPEG, BMP, TIFF, WebP,
   PPM/PGM, ...); 8- and 16-bit integer pixels are divided by 255 or 65535 (PNGs come back as
   floats in [0, 1] already);
2. channels: an alpha channel is dropped; RGB → grey by luminance
   Y = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601) when the model takes one channel, grey → RGB
   by repeating it when it takes three;
3. size: a bilinear resize to (H, W) with half-pixel centres (as PyTorch's ``interpolate``,
   see resize.py), without keeping the aspect ratio: the same stretch for every image.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ..typing import FloatArray, PathLike
from .resize import resize

__all__ = ["ImageFileError", "read_image", "is_grey", "to_input", "load_input"]

LUMINANCE = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601 weights of R, G, B


class ImageFileError(ValueError):
    """An image file that is missing, unreadable or not a grey/RGB picture (the message names it)."""


def read_image(path: PathLike) -> FloatArray:
    """The picture in `path` as float64 in [0, 1]: (H, W) for grey, (H, W, 3) for colour."""
    import matplotlib.image as mpimg  # lazy: matplotlib's import takes a noticeable moment

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ImageFileError(f"image file not found: {path}")
    try:
        picture = np.asarray(mpimg.imread(path))
    except Exception as error:  # Pillow and matplotlib raise many kinds for a bad file
        raise ImageFileError(f"cannot read image {path}: {error}") from None
    if picture.dtype.kind in "iu":
        picture = picture / float(np.iinfo(picture.dtype).max)
    picture = picture.astype(np.float64)
    if picture.ndim == 3 and picture.shape[-1] in (2, 4):  # grey+alpha or RGBA: drop alpha
        picture = picture[..., :-1]
    if picture.ndim == 3 and picture.shape[-1] == 1:
        picture = picture[..., 0]
    if not (picture.ndim == 2 or (picture.ndim == 3 and picture.shape[-1] == 3)) or min(picture.shape[:2]) < 1:
        raise ImageFileError(f"cannot use image {path}: expected a grey or RGB picture, "
                             f"got an array of shape {picture.shape}")
    return picture


def is_grey(picture: FloatArray) -> bool:
    """True for an (H, W) picture and for an RGB one whose three channels are equal (a grey
    image saved as RGB, as matplotlib's imsave and many editors do)."""
    return picture.ndim == 2 or bool(np.all(picture == picture[..., :1]))


def to_input(picture: FloatArray, input_shape: Sequence[int]) -> FloatArray:
    """A picture from `read_image` as one model input (C, H, W) in [0, 1] (steps 2 and 3)."""
    channels, height, width = input_shape
    if channels not in (1, 3):
        raise ValueError(f"input_shape: expected 1 or 3 channels, got {input_shape}")
    if picture.ndim == 3 and channels == 1:
        picture = picture @ LUMINANCE
    if picture.ndim == 2:
        picture = np.repeat(picture[None], channels, axis=0)
    else:
        picture = np.moveaxis(picture, -1, 0)
    # Interpolation can round a hair outside [0, 1]; clip so the documented range holds exactly.
    return np.clip(resize(picture, (height, width), "bilinear"), 0.0, 1.0)


def load_input(path: PathLike, input_shape: Sequence[int]) -> FloatArray:
    """`to_input(read_image(path), input_shape)` as a batch of one, (1, C, H, W)."""
    return to_input(read_image(path), input_shape)[None]

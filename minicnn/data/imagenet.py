"""The ImageNet input pipeline of torchvision's pretrained models, in NumPy + Pillow.

torchvision evaluates its ImageNet weights on

    Resize(256) → CenterCrop(224) → ToTensor() → Normalize(mean, std)

and `imagenet_preprocess` computes the same thing for one RGB image:

1. resize so the shorter side is `resize` (256) pixels, the longer one int(256 · long / short),
   with Pillow's bilinear filter (``Image.resize(..., Image.Resampling.BILINEAR)``), which
   widens its support when shrinking, i.e. is antialiased: what torchvision's Resize does on a
   PIL image. An image whose shorter side is already 256 is not resampled at all;
2. cut the central `crop` × `crop` (224) square, the offsets rounded as torchvision rounds them
   (Python's round: half to even);
3. scale to [0, 1] (uint8 / 255) and move the channels first: (3, 224, 224);
4. normalise each channel c:  x_c ← (x_c − mean_c) / std_c  with torchvision's documented
   mean = (0.485, 0.456, 0.406) and std = (0.229, 0.224, 0.225) (the ImageNet training set's).

A uint8 image is resized as Pillow's RGB image (bit for bit torchvision's path); a float image
in [0, 1] is resized channel by channel as 32-bit float images (Pillow's "F" mode), so nothing is
rounded to 8 bits.
`imagenet_unnormalize` undoes step 4 for display.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..typing import DTypeLike
from ..validation import check_float_dtype, check_int

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ImageConversionWarning",
    "imagenet_preprocess",
    "imagenet_batch",
    "imagenet_unnormalize",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageConversionWarning(UserWarning):
    """`imagenet_preprocess` changed the image beyond the standard pipeline (made a grey image
    RGB, dropped an alpha channel, enlarged a small image); filter it to silence the notes."""


def imagenet_preprocess(image: Any, resize: int = 256, crop: int = 224,
                        dtype: DTypeLike = np.float64) -> np.ndarray:
    """One image → the (3, crop, crop) array a torchvision ImageNet model expects.

    image -- an RGB array H×W×3, uint8 (0..255) or float in [0, 1], or a PIL image. Also
             accepted, each with an ImageConversionWarning: greyscale H×W or H×W×1 (copied to
             the three channels), RGBA H×W×4 (alpha dropped, as PIL's convert("RGB") does),
             other PIL modes (converted to RGB), and an image smaller than the crop (enlarged
             by the resize, which cannot add detail).
    resize -- the length of the shorter side after resizing (torchvision: 256).
    crop -- the side of the central square cut out (torchvision: 224); at most `resize`.
    dtype -- float64 (the project's default) or float32 (torchvision's; bit for bit equal).
    """
    resize = check_int(resize, "resize", minimum=1)
    crop = check_int(crop, "crop", minimum=1, maximum=resize)
    dtype = check_float_dtype(dtype)
    pixels = _rgb_pixels(image)
    height, width = pixels.shape[:2]
    if min(height, width) < crop:
        warnings.warn(f"image is {height}×{width}, smaller than the {crop}×{crop} crop: enlarged so its shorter "
                      f"side is {resize} (interpolation adds no detail)", ImageConversionWarning, stacklevel=2)
    resized = _resize_shorter_side(pixels, resize)
    top, left = _centre_crop_offsets(resized.shape[:2], crop)
    cut = resized[top:top + crop, left:left + crop]
    # ToTensor: uint8 / 255 in the target dtype; Normalize: (x - mean) / std, per channel.
    scaled = cut.astype(dtype) / dtype.type(255) if cut.dtype == np.uint8 else cut.astype(dtype)
    mean = np.asarray(IMAGENET_MEAN, dtype=dtype)
    std = np.asarray(IMAGENET_STD, dtype=dtype)
    return np.ascontiguousarray(((scaled - mean) / std).transpose(2, 0, 1))


def imagenet_batch(images: Sequence[Any], resize: int = 256, crop: int = 224,
                   dtype: DTypeLike = np.float64) -> np.ndarray:
    """A sequence of images (arrays or PIL images, any sizes) → (N, 3, crop, crop), each
    preprocessed by `imagenet_preprocess`. An (N, H, W, 3) array counts as N images."""
    if isinstance(images, np.ndarray) and images.ndim == 4:
        images = list(images)
    if not isinstance(images, (list, tuple)):
        raise TypeError(f"images must be a list or tuple of images (or an N×H×W×3 array), "
                        f"got {type(images).__name__}")
    if len(images) == 0:
        raise ValueError("images must hold at least one image, got an empty sequence")
    return np.stack([imagenet_preprocess(image, resize, crop, dtype) for image in images])


def imagenet_unnormalize(x: np.ndarray) -> np.ndarray:
    """Undo the normalisation for display: (3, H, W) → H×W×3, (N, 3, H, W) → N×H×W×3, with
    x_c · std_c + mean_c, clipped to [0, 1]. A minicnn Tensor is accepted (its data is used)."""
    array = np.asarray(getattr(x, "data", x))
    if array.ndim not in (3, 4) or array.shape[-3] != 3:
        raise ValueError(f"x must have shape (3, H, W) or (N, 3, H, W), got {array.shape}")
    dtype = array.dtype if array.dtype.kind == "f" else np.dtype(np.float64)
    channels_last = np.moveaxis(array.astype(dtype, copy=False), -3, -1)
    mean = np.asarray(IMAGENET_MEAN, dtype=dtype)
    std = np.asarray(IMAGENET_STD, dtype=dtype)
    return np.clip(channels_last * std + mean, 0.0, 1.0)


# ---- steps ---------------------------------------------------------------------------------
def _rgb_pixels(image):
    """H×W×3, uint8 or float in [0, 1], from whatever `imagenet_preprocess` accepts."""
    if hasattr(image, "mode") and hasattr(image, "convert"):  # a PIL image (no isinstance: lazy import)
        if image.mode not in ("RGB", "RGBA", "L"):
            _note(f"PIL image of mode {image.mode!r} converted to RGB")
            image = image.convert("RGB")
        image = np.asarray(image)
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array H×W×3 or a PIL image, got {type(image).__name__}")
    pixels = _checked_values(image)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if pixels.ndim == 2:
        _note(f"greyscale image {pixels.shape[0]}×{pixels.shape[1]} converted to RGB (the grey copied to R, G and B)")
        return np.repeat(pixels[:, :, None], 3, axis=2)
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        _note("RGBA image converted to RGB by dropping the alpha channel")
        return pixels[:, :, :3]
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"image must have shape H×W×3 (RGB), H×W (grey) or H×W×4 (RGBA), got {image.shape}")
    return pixels


def _checked_values(image):
    """uint8 as it is, other integers in 0..255 as uint8, floats in [0, 1] as they are."""
    if image.dtype == np.uint8:
        return image
    if image.size == 0:
        raise ValueError(f"image must not be empty, got shape {image.shape}")
    low, high = image.min(), image.max()
    if image.dtype.kind in "iu":
        if low < 0 or high > 255:
            raise ValueError(f"image: integer pixels must lie in 0..255, got range [{low}, {high}]")
        return image.astype(np.uint8)
    if image.dtype.kind == "f":
        if not (np.isfinite(low) and np.isfinite(high) and low >= 0.0 and high <= 1.0):
            raise ValueError(f"image: float pixels must lie in [0, 1] (divide 0..255 values by 255), "
                             f"got range [{low}, {high}]")
        return image
    raise TypeError(f"image must be uint8 (0..255) or float in [0, 1], got dtype {image.dtype}")


def _resize_shorter_side(pixels, size):
    """Bilinear, antialiased resize (Pillow) so that min(H, W) == size; torchvision's Resize(size)."""
    from PIL import Image

    height, width = pixels.shape[:2]
    if min(height, width) == size:
        return pixels  # torchvision returns the image unchanged then, and so do we
    if height <= width:
        new_height, new_width = size, int(size * width / height)
    else:
        new_height, new_width = int(size * height / width), size
    bilinear = Image.Resampling.BILINEAR
    if pixels.dtype == np.uint8:
        return np.asarray(Image.fromarray(np.ascontiguousarray(pixels)).resize((new_width, new_height), bilinear))
    # Pillow has no float RGB mode: resize each channel as a 32-bit float ("F") image.
    channels = [Image.fromarray(np.ascontiguousarray(pixels[:, :, c], dtype=np.float32))
                .resize((new_width, new_height), bilinear) for c in range(3)]
    return np.clip(np.stack([np.asarray(c) for c in channels], axis=2), 0.0, 1.0)


def _centre_crop_offsets(shape, crop):
    """(top, left) of the central crop × crop square, rounded as torchvision's CenterCrop does."""
    height, width = shape
    return int(round((height - crop) / 2.0)), int(round((width - crop) / 2.0))


def _note(message):
    warnings.warn(message, ImageConversionWarning, stacklevel=4)

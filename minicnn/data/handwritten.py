"""A digit you drew yourself, turned into the input the digits models were trained on.

scikit-learn's digits (the UCI "optical recognition" set) were made from NIST's normalised
32×32 binary bitmaps of digits written on forms: each bitmap was cut into 8×8 blocks of 4×4
pixels and each block replaced by its number of "on" pixels, 0..16. `load_digits` divides by 16
and the bundled digits model reads that 8×8 grid upsampled bilinearly to 16×16. A photo or a
drawing of a digit is nothing like that: dark ink on light paper, anywhere on the page, at any
size. `preprocess_digit` maps it onto the same grid:

1. grey: luminance Y = 0.299 R + 0.587 G + 0.114 B;
2. ink: the background level b is the median of the border pixels; a light background
   (b > ½) is inverted, y ← 1 − y, so ink is bright as in the dataset; then
   ink = clip((y − b) / (max y − b), 0, 1): background 0, the strongest stroke 1;
3. crop to the ink: the bounding box of the pixels with ink > INK_THRESHOLD;
4. pad to a square around it, the box centred, with a margin of MARGIN × its longer side on
   every edge (the padding is placed at sub-pixel precision). That is what the dataset shows:
   in all 1797 samples the ink spans all 8 rows, while the widths vary (5 cells in 77 %, 1 to 8
   overall), centred (mean empty columns 1.14 on the left, 0.95 on the right): the bitmaps were
   scaled to fill the height, aspect ratio kept (a "1" stays narrow), and centred;
5. a 32×32 bitmap by area averaging (each pixel the share of ink in its footprint, what the
   binary bitmap's "on" pixels are for a drawing with soft edges);
6. counts: the ink in each 4×4 block, rounded to an integer 0..16, divided by 16 (8×8);
7. upsampled to size × size (default 16) as `load_digits(size=...)` does.

Steps 5 and 6 together are an area average onto 8×8; they are kept apart because that is how
the dataset was made.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..typing import FloatArray
from .digits import upsample
from .image_file import LUMINANCE
from .resize import area_matrix

__all__ = ["BITMAP", "BLOCK", "INK_THRESHOLD", "MARGIN", "DigitInput", "preprocess_digit"]

BITMAP = 32  # NIST's normalised bitmaps are 32×32 ...
BLOCK = 4  # ... counted in 4×4 blocks: 8×8 counts of 0..16
# Ink above this share of the strongest stroke marks the digit's extent: high enough that paper
# texture, JPEG ringing and scanner noise (a few per cent) are not ink, low enough that the
# faint anti-aliased end of a stroke is.
INK_THRESHOLD = 0.2
MARGIN = 0.0  # the digits' ink touches the top and bottom of every bitmap (step 4)


@dataclass(frozen=True)
class DigitInput:
    """The model input and what was done to get it.

    x        -- (1, size, size) in [0, 1]
    counts   -- (8, 8) ints 0..16, the scikit-learn digits representation
    inverted -- True when a light background was inverted
    box      -- (top, bottom, left, right) of the ink in the original picture, inclusive
    """

    x: np.ndarray
    counts: np.ndarray
    inverted: bool
    box: tuple


def _border(image):
    return np.concatenate([image[0], image[-1], image[1:-1, 0], image[1:-1, -1]])


def preprocess_digit(picture: FloatArray, size: int = 16) -> DigitInput:
    """Steps 1–7 of the module for a picture (H, W) or (H, W, 3) in [0, 1]; a DigitInput."""
    picture = np.asarray(picture, dtype=np.float64)
    if not (picture.ndim == 2 or (picture.ndim == 3 and picture.shape[-1] == 3)) or min(picture.shape[:2]) < 2:
        raise ValueError(f"picture: expected a grey (H, W) or RGB (H, W, 3) image of at least 2×2 pixels, "
                         f"got shape {picture.shape}")
    grey = picture @ LUMINANCE if picture.ndim == 3 else picture
    inverted = bool(np.median(_border(grey)) > 0.5)
    bright = 1.0 - grey if inverted else grey
    background = np.median(_border(bright))
    peak = bright.max()
    if peak - background < 1e-6:
        raise ValueError("picture: no ink found (the image is one flat colour)")
    ink = np.clip((bright - background) / (peak - background), 0.0, 1.0)

    rows = np.flatnonzero((ink > INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((ink > INK_THRESHOLD).any(axis=0))
    top, bottom, left, right = rows[0], rows[-1], cols[0], cols[-1]
    # The square window around the box, centred on it, as an area-averaging window on each axis
    # of the picture: placed at sub-pixel precision (an odd difference between height and width
    # does not shift the digit by half a pixel); outside the picture it reads zeros (padding),
    # and faint ink just outside the box but inside the window is kept, as the bitmaps kept it.
    height, width = bottom - top + 1, right - left + 1
    side = max(height, width) * (1.0 + 2.0 * MARGIN)
    rows_matrix = area_matrix(ink.shape[0], BITMAP, start=top + (height - side) / 2.0, span=side)
    cols_matrix = area_matrix(ink.shape[1], BITMAP, start=left + (width - side) / 2.0, span=side)
    bitmap = rows_matrix @ ink @ cols_matrix.T
    cells = BITMAP // BLOCK
    counts = np.rint(bitmap.reshape(cells, BLOCK, cells, BLOCK).sum(axis=(1, 3))).astype(np.int64)
    x = upsample((counts / float(BLOCK * BLOCK))[None, None], size)[0]
    return DigitInput(np.clip(x, 0.0, 1.0), counts, inverted, (int(top), int(bottom), int(left), int(right)))

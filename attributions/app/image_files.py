"""A user's image file, checked before it is decoded: does it exist, can Pillow read its header,
is it within the pixel limit, and will the conversion to the model's input distort it.

    width, height = checked_image_size("cat.png")           # CLIError if missing, unreadable, too large
    for note in shape_notes(width, height, (16, 16)): ...   # "stretched …", "only 3 pixels high …"

The pixel limit is Pillow's decompression-bomb guard, `PIL.Image.MAX_IMAGE_PIXELS` (89 478 485
pixels unless a program changes it; None turns it off): a larger file is refused in one line
from its header, before its pixels are decoded (matplotlib's PNG reader does not apply the
guard, and a 30000 × 30000 PNG would take minutes and 14 GB).

Notes are for a silent distortion, not an error: the picture is still used.

* stretched — a bilinear resize to the model's H × W changes the aspect ratio by more than
  `MAX_STRETCH` (the small models: the image is squashed, not cropped);
* cropped — the ImageNet pipeline (shorter side to 256, centre 224 × 224) keeps less than
  half of a very long or tall photo;
* tiny — a side shorter than `MIN_SIDE` pixels (and than the model's input) carries almost
  nothing for the model to use.
"""

from __future__ import annotations

import os
import warnings

from minicnn.typing import PathLike

from .errors import CLIError
from .outputs import pixel_limit

__all__ = ["MAX_STRETCH", "MIN_SIDE", "checked_image_size", "shape_notes"]

MAX_STRETCH = 2.0  # a note when a resize changes the aspect ratio by more than this factor
MIN_SIDE = 8  # pixels; the sklearn digits are 8 × 8, the smallest pictures a bundled model was trained on
CROP_SHARE = 224 / 256  # the ImageNet centre crop keeps this share of the resized shorter side


def checked_image_size(path: PathLike) -> tuple[int, int]:
    """(width, height) of the image file `path`, read from its header only.

    CLIError (one line) if the file is missing, not an image Pillow reads, or has more pixels
    than `pixel_limit()`.
    """
    from PIL import Image, UnidentifiedImageError

    if not os.path.isfile(path):
        raise CLIError(f"image file not found: {path}")
    limit = pixel_limit()
    with warnings.catch_warnings():
        # Pillow warns above the limit and raises above twice it; both are refused below, in one line
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as picture:
                width, height = picture.size
        except Image.DecompressionBombError:
            assert limit is not None  # Pillow raises it only when a limit is set
            raise CLIError(f"image {path} is too large: more than {2 * limit:,} pixels, the limit is {limit:,} "
                           "(PIL.Image.MAX_IMAGE_PIXELS, Pillow's decompression-bomb guard); scale it down first") from None
        except (UnidentifiedImageError, OSError, ValueError) as error:
            raise CLIError(f"cannot read image {path}: {error}") from None
    if limit is not None and width * height > limit:
        raise CLIError(f"image {path} is too large: {width}×{height} = {width * height:,} pixels, the limit is "
                       f"{limit:,} (PIL.Image.MAX_IMAGE_PIXELS, Pillow's decompression-bomb guard); scale it down first")
    return width, height


def shape_notes(width: int, height: int, input_size: tuple[int, int], crop: bool = False) -> list[str]:
    """One-line notes on what converting a width × height picture to `input_size` (H, W) does to it.

    crop -- False: the picture is resized to H × W (aspect ratio changes); True: the ImageNet
            pipeline, shorter side resized then a centre square cropped (part of it is cut off).
    """
    notes = []
    if min(width, height) < min(MIN_SIDE, *input_size):  # smaller than the model's own input is not tiny
        notes.append(f"only {width}×{height} pixels: a side shorter than {MIN_SIDE} pixels leaves the model "
                     "almost nothing to see")
    if crop:
        kept = CROP_SHARE * min(width, height) / max(width, height)  # of the longer side
        if kept < 0.5:
            notes.append(f"{width}×{height} pixels: the centre crop keeps only the middle {kept:.0%} of its "
                         f"{'width' if width > height else 'height'}; crop the part to explain first")
    else:
        target_height, target_width = input_size
        stretch = (width / height) / (target_width / target_height)
        if max(stretch, 1 / stretch) > MAX_STRETCH:
            notes.append(f"{width}×{height} pixels stretched to the model's {target_width}×{target_height}: the aspect "
                         f"ratio changes {max(stretch, 1 / stretch):.1f}×; crop or pad it to the model's shape first")
    return notes

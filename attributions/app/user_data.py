"""Your own images and weights in `explain` and `compare`: the options and what they load.

    python -m minicnn.train --data DIR --model lenet --out w.npz            # DIR/<class>/*.png
    python -m attributions explain --data DIR --model w.npz --arch lenet --image x.png
    python -m attributions compare --data DIR --model w.npz --arch lenet --n 20
    python -m attributions compare --dataset digits --model w.npz --arch lenet

* `--data DIR` is an image folder in torchvision's ImageFolder layout
  (`minicnn.data.image_folder`): the class names are its sub-folder names, the input shape is
  the first image's size (or `--size`) with one channel if every image is grey, and the split is
  the seeded one `train --data DIR` trained on (`load_image_folder`'s default: seed 0, a quarter
  held out), so `compare` measures on images the model has not seen;
* `--model W.npz --arch A` loads the user's weights into architecture A built for that input
  shape and number of classes; weights that do not fit are a one-line error naming the first
  missing, unexpected and mis-shaped keys;
* `explain` on the digits model reads a drawn digit as scikit-learn's digits were made
  (`minicnn.data.handwritten`) unless `--preprocess resize`.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Callable, Optional

import numpy as np

from minicnn.train import FOLDER_ARCH  # train --data's default architecture: --arch may be left out

from .errors import CLIError, UsageError, mismatch_details

if TYPE_CHECKING:  # the engine's modules are imported by the functions that use them
    from minicnn import nn
    from minicnn.data import Dataset
    from minicnn.typing import Shape

__all__ = ["PREPROCESS", "add_data_arguments", "add_model_arguments", "add_preprocess_argument", "reject_folder",
           "uses_user_model", "load_user_model", "read_explain_input", "localisation_note"]

PREPROCESS = ("auto", "digits", "resize")


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """--data DIR and --size N: an image folder instead of a bundled dataset."""
    from .arguments import positive_int

    parser.add_argument("--data", metavar="DIR",
                        help="your own images in ImageFolder layout, DIR/<class>/<image> (.png .jpg .jpeg .bmp .ppm "
                             ".pgm .tif .tiff .webp; DIR/<class>/<name>.mask.png: optional relevance masks): class "
                             "names from the folder names; needs --model (train one with python -m minicnn.train "
                             "--data DIR --out W.npz)")
    parser.add_argument("--size", type=positive_int, metavar="N",
                        help="with --data: resize the images to N×N, as train --size did (default: the first "
                             "image's size)")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """--model and --arch for `compare` (explain has its own, which also take ImageNet models)."""
    from minicnn.models import ARCHITECTURES

    parser.add_argument("--model", "--weights", dest="model", metavar="PATH",
                        help="your weights (.npz) instead of the bundled ones; with --data required")
    parser.add_argument("--arch", choices=list(ARCHITECTURES),
                        help=f"architecture of --model (default: the dataset's bundled one; with --data {FOLDER_ARCH})")


def add_preprocess_argument(parser: argparse.ArgumentParser) -> None:
    """explain's --preprocess: how an image becomes the model's input."""
    parser.add_argument("--preprocess", choices=PREPROCESS, default="auto",
                        help="digits: read the image as scikit-learn's digits were made: grey by luminance, a light "
                             "background inverted (ink bright on dark), cropped to the ink, padded to a centred "
                             "square, ink counted in the 4×4 blocks of a 32×32 bitmap (an 8×8 grid of 0–16), then "
                             "upsampled to the model's size; resize: only convert the channels and resize "
                             "(bilinear); auto (default): "
                             "digits for the digits model, resize otherwise")


def reject_folder(args: argparse.Namespace, what: str) -> None:
    """--data, --size and --preprocess belong to the small models; `what` (an ImageNet --arch) takes none."""
    for option, value in (("--data", args.data), ("--size", args.size),
                          ("--preprocess", None if args.preprocess == "auto" else args.preprocess)):
        if value is not None:
            raise UsageError(f"{option} {value}: not used with {what} (an ImageNet model reads a photograph); "
                             "leave it out")


def uses_user_model(args: argparse.Namespace) -> bool:
    """True when the command names the user's data or weights (else the bundled model is used);
    refuses --size without --data, which would otherwise be ignored."""
    if args.size and not args.data:
        raise UsageError(f"--size {args.size}: only with --data (a bundled dataset has its own size)")
    return bool(args.data or args.model)


def _load_folder(args):
    from minicnn.data.image_folder import ImageFolderError, load_image_folder

    try:
        return load_image_folder(args.data, size=args.size)  # the default split, as train
    except ImageFolderError as error:
        raise CLIError(f"--data {args.data}: {error}") from None


def _load_bundled_data(dataset):
    from minicnn.data import load_dataset
    from minicnn.models import BUNDLED

    return load_dataset(dataset, **BUNDLED[dataset][1])


def load_user_model(args: argparse.Namespace, default_dataset: str) -> tuple[nn.Module, Dataset, str]:
    """(model in eval mode, float64; Dataset; the weights path) for --data / --model.

    `args.dataset` is the bundled dataset (None: `default_dataset`) unless --data is given.
    """
    import minicnn as mc
    from minicnn import nn
    from minicnn.models import ARCHITECTURES, BUNDLED, IMAGENET, build

    if args.data and args.dataset:
        raise UsageError(f"--data {args.data} and --dataset {args.dataset}: give one of them, not both")
    if args.data and not args.model:
        raise UsageError(f"--data {args.data}: there are no bundled weights for your images; pass --model W.npz "
                         f"(train them with python -m minicnn.train --data {args.data} --out W.npz)")
    dataset = None if args.data else (args.dataset or default_dataset)
    arch = args.arch or (FOLDER_ARCH if dataset is None else BUNDLED[dataset][0])
    if arch in IMAGENET or arch not in ARCHITECTURES:
        raise UsageError(f"--arch {arch}: expected one of the small architectures {', '.join(ARCHITECTURES)} "
                         f"for {'--data' if args.data else f'--dataset {dataset}'}")
    if not os.path.isfile(args.model):
        raise CLIError(f"weights file not found: {args.model}")
    try:
        state = mc.load(args.model)
    except (ValueError, OSError) as error:  # a damaged or foreign file: say which one
        raise CLIError(f"cannot read weights file {args.model}: {error}") from None
    data = _load_folder(args) if args.data else _load_bundled_data(dataset)
    source = f"--data {args.data}" if args.data else f"--dataset {dataset}"
    try:
        model = build(arch, data.input_shape, data.n_classes)
    except ValueError as error:  # e.g. images too small for LeNet's two poolings
        raise UsageError(f"--arch {arch}: cannot be built for the input {data.input_shape} of {source}: "
                         f"{error}") from None
    try:
        model.load_state_dict(state)
    except nn.StateDictError as error:  # one line: the counts and the first key of each kind
        # only sizes differ (same keys): the folder's images were likely resized otherwise in train
        resized = args.data and error.shape_mismatches and not (error.missing_keys or error.unexpected_keys)
        hint = " (trained with another --size?)" if resized else ""
        raise CLIError(f"weights file {args.model} does not match the {arch} architecture for {source} "
                       f"(input {data.input_shape}, {data.n_classes} classes): {', '.join(error.problems)}{hint}",
                       details=mismatch_details(error)) from None
    return model.double().eval(), data, args.model


def _uses_digit_pipeline(args, data):
    choice = getattr(args, "preprocess", "auto")
    if choice == "auto":
        return not args.data and data.name == "digits"
    if choice == "digits" and (data.input_shape[0] != 1 or data.input_shape[1] != data.input_shape[2]):
        raise UsageError(f"--preprocess digits: the model takes {data.input_shape} inputs; the digits pipeline "
                         "makes one-channel square ones")
    return choice == "digits"


def read_explain_input(args: argparse.Namespace, data: Dataset, load_image: Callable[[str, Shape], np.ndarray]
                       ) -> tuple[np.ndarray, list[str]]:
    """(x (1, C, H, W), notes) for explain's --image: the digits pipeline or `load_image`'s resize."""
    if not _uses_digit_pipeline(args, data):
        return load_image(args.image, data.input_shape), []
    from minicnn.data.handwritten import preprocess_digit
    from minicnn.data.image_file import ImageFileError, read_image

    try:
        digit = preprocess_digit(read_image(args.image), size=data.input_shape[1])
    except ImageFileError as error:
        raise CLIError(str(error)) from None
    except ValueError as error:  # an image without ink
        raise CLIError(f"cannot read a digit in {args.image}: {str(error).split(': ', 1)[-1]}") from None
    top, bottom, left, right = digit.box
    note = (f"read as a scikit-learn digit: {'light background inverted, ' if digit.inverted else ''}"
            f"cropped to the ink (rows {top}–{bottom}, columns {left}–{right}), padded to a square, ink counted "
            f"in 8×8 blocks (0–16), upsampled to {data.input_shape[1]}×{data.input_shape[2]} "
            "(--preprocess resize: a plain resize instead)")
    return digit.x[None], [note]


def localisation_note(args: argparse.Namespace, data: Dataset) -> Optional[str]:
    """The one-line note for compare on data without ground-truth masks, or None."""
    if data.has_masks:
        return None
    where = (f"--data {args.data} has no masks (DIR/<class>/<name>.mask.png)" if args.data
             else f"the {data.name} dataset has no ground-truth masks")
    return f"{where}: localisation metrics (pointing, mass and rank accuracy) skipped"

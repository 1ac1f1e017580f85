"""Your own images, in torchvision's ImageFolder layout: ``root/<class>/<image>``.

    root/cat/0001.png
    root/cat/0002.png
    root/dog/a.jpg
    root/dog/more/b.jpg        (sub-folders of a class folder belong to that class)

The rules are torchvision's (``torchvision.datasets.ImageFolder``), so a model trained on the same
folder with PyTorch numbers the classes the same way:

* classes = the sorted names of the sub-directories of root; ``class_to_idx[name]`` = its index;
* samples = (path, class index) for every file whose name ends (case-insensitively) with one of
  IMG_EXTENSIONS, class by class in that order, each class folder walked with ``os.walk`` (roots
  and file names sorted, symbolic links followed);
* a root without class folders, or a class folder without an image, is an error (torchvision
  raises FileNotFoundError for both; here ImageFolderError, which names the folder).

One addition, for attribution metrics: ``<name>.mask.png`` next to ``<name>.<ext>`` is that
image's ground-truth relevance mask (pixels > ½ are relevant); mask files are not samples. The
masks come with every image or with none.

`load_image_folder` turns a folder into a :class:`Dataset`: each image converted to the model's
input (C, H, W) by `image_file.to_input` (the rule `explain` applies to a single image), split
into train and test by the seeded, stratified `train_test_split`.
"""

from __future__ import annotations

import os
from typing import Optional, Sequence

import numpy as np

from ..typing import DTypeLike, FloatArray, IntPair, PathLike, Shape
from ..validation import check_float_dtype, check_fraction, check_int, check_seed
from .dataset import Dataset
from .image_file import ImageFileError, is_grey, read_image, to_input
from .resize import resize
from .split import train_test_split

__all__ = ["IMG_EXTENSIONS", "MASK_SUFFIX", "ImageFolderError", "ImageFolder", "find_classes",
           "load_image_folder", "default_input_shape"]

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
MASK_SUFFIX = ".mask.png"


class ImageFolderError(ValueError):
    """A folder that is not an ImageFolder, or an image in it that cannot be used (named)."""


def find_classes(root: PathLike) -> tuple[list[str], dict[str, int]]:
    """(classes, class_to_idx): the sorted sub-directory names of `root` and their indices."""
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise ImageFolderError(f"image folder not found: {root} (expected a directory)")
    classes = sorted(entry.name for entry in os.scandir(root) if entry.is_dir())
    if not classes:
        raise ImageFolderError(f"image folder {root} has no class folders: expected {root}/<class>/<image>, "
                               f"one sub-directory per class")
    return classes, {name: index for index, name in enumerate(classes)}


def _is_image(name):
    lower = name.lower()
    return lower.endswith(IMG_EXTENSIONS) and not lower.endswith(MASK_SUFFIX)


class ImageFolder:
    """The index of an image folder: `classes`, `class_to_idx`, `samples`, `targets` (as in
    torchvision); ``folder[i]`` is (picture from `read_image`, class index)."""

    def __init__(self, root: PathLike) -> None:
        self.root = os.fspath(root)
        self.classes, self.class_to_idx = find_classes(self.root)
        self.samples = []
        for name in self.classes:
            found = [(os.path.join(directory, file), self.class_to_idx[name])
                     for directory, _, files in sorted(os.walk(os.path.join(self.root, name), followlinks=True))
                     for file in sorted(files) if _is_image(file)]
            if not found:
                raise ImageFolderError(f"class folder {os.path.join(self.root, name)} holds no image; "
                                       f"expected files ending with {', '.join(IMG_EXTENSIONS)}")
            self.samples.extend(found)
        self.targets = [target for _, target in self.samples]

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, target = self.samples[index]
        try:
            return read_image(path), target
        except ImageFileError as error:
            raise ImageFolderError(str(error)) from None

    def mask_path(self, index: int) -> str:
        """Where the mask of sample `index` would be: ``<path without extension>.mask.png``."""
        return os.path.splitext(self.samples[index][0])[0] + MASK_SUFFIX

    def __repr__(self):
        return f"ImageFolder(root={self.root!r}, classes={len(self.classes)}, samples={len(self.samples)})"


def default_input_shape(pictures: Sequence[FloatArray]) -> Shape:
    """(C, H, W) for a list of pictures: one channel if every picture is grey (`is_grey`), else
    three; the size of the first picture (the first file of the first class)."""
    channels = 1 if all(is_grey(p) for p in pictures) else 3
    return (channels,) + tuple(pictures[0].shape[:2])


def _read_mask(path, size):
    picture = read_image(path)
    grey = picture if picture.ndim == 2 else picture.mean(axis=-1)
    return resize(grey, size, "bilinear") > 0.5


def load_image_folder(root: PathLike, size: Optional[IntPair] = None, channels: Optional[int] = None,
                      test_fraction: float = 0.25, seed: int = 0, dtype: DTypeLike = np.float64) -> Dataset:
    """An image folder as a :class:`Dataset` of shape (N, C, H, W), named after the folder.

    size          -- (H, W) or an int for a square; default: the first image's size
    channels      -- 1 or 3; default: 1 if every image is grey, else 3 (`default_input_shape`)
    test_fraction -- share of the images held out, stratified by class (at least one image on
                     each side, so a folder needs two images)
    seed          -- seed of the split; `python -m minicnn.train --data` and the attributions
                     commands all use the defaults, so they agree on the held-out images
    """
    test_fraction = check_fraction(test_fraction, "test_fraction")
    seed = check_seed(seed)
    dtype = check_float_dtype(dtype)
    folder = ImageFolder(root)
    if len(folder) < 2:
        raise ImageFolderError(f"image folder {folder.root} has {len(folder)} image; "
                               "a train/test split needs at least 2")
    pictures = [folder[i][0] for i in range(len(folder))]
    shape = default_input_shape(pictures)
    if size is not None:
        sides = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
        shape = (shape[0],) + tuple(check_int(s, "size", minimum=1) for s in sides)
    if channels is not None:
        if channels not in (1, 3):
            raise ValueError(f"channels: expected 1 or 3, got {channels!r}")
        shape = (channels,) + shape[1:]
    x = np.stack([to_input(p, shape) for p in pictures]).astype(dtype)
    y = np.asarray(folder.targets, dtype=np.int64)
    mask_paths = [folder.mask_path(i) for i in range(len(folder))]
    has_mask = [os.path.isfile(p) for p in mask_paths]
    if any(has_mask) and not all(has_mask):
        missing = mask_paths[has_mask.index(False)]
        raise ImageFolderError(f"image folder {folder.root}: {sum(has_mask)} of {len(has_mask)} images have a mask, "
                               f"but {missing} is missing; give every image a mask or none")
    extras: tuple[np.ndarray, ...] = ()
    if all(has_mask):
        try:
            extras = (np.stack([_read_mask(p, shape[1:]) for p in mask_paths]),)
        except ImageFileError as error:
            raise ImageFolderError(str(error)) from None
    parts = train_test_split(x, y, *extras, test_fraction=test_fraction, seed=seed)
    x_train, x_test, y_train, y_test = parts[:4]
    masks_train, masks_test = parts[4:] if extras else (None, None)
    name = os.path.basename(os.path.normpath(os.path.abspath(folder.root)))
    return Dataset(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, classes=list(folder.classes),
                   masks_train=masks_train, masks_test=masks_test, name=name)

"""Datasets and batching for minicnn: small image sets as NumPy arrays in NCHW.

* :func:`load_digits` -- scikit-learn's 8x8 handwritten digits (10 classes);
* :func:`load_faces` -- scikit-image's LFW face / non-face subset (2 classes);
* :func:`load_shapes` / :func:`make_shapes` -- generated shapes with
  ground-truth relevance masks, for measuring explanations (4 classes);
* :func:`read_idx` / :func:`load_idx_dataset` -- MNIST-style IDX files you
  already have on disk;
* :func:`load_photos` / :func:`photos_batch` -- scikit-image's real photographs (a cat, a
  coffee cup, a rocket, ...), for explaining ImageNet models;
* :func:`imagenet_preprocess`, :func:`imagenet_batch`, :func:`imagenet_unnormalize` --
  torchvision's ImageNet input pipeline; :func:`imagenet_classes` and
  :func:`imagenet_class_index` -- the 1000 class names;
* :class:`ImageFolder` / :func:`load_image_folder` -- your own images in torchvision's
  ImageFolder layout ``root/<class>/<image>``; :func:`read_image` and :func:`to_input` -- the one
  rule that turns an image file into a model input; :func:`preprocess_digit` -- a drawn digit
  made into scikit-learn's digits format;
* :func:`load_dataset` -- any of the bundled datasets by name;
* :func:`train_test_split` and :class:`DataLoader` -- the plumbing.

Every loader returns a :class:`Dataset`; images are float64 in [0, 1] unless
``dtype=`` says otherwise (the ImageNet photos are normalised as torchvision's
models expect). This package uses only NumPy, Pillow (image files are read through
matplotlib's imread, which is Pillow) and the two libraries the datasets ship in, and
nothing else from minicnn.
"""

from .dataset import Dataset
from .digits import load_digits
from .faces import load_faces
from .handwritten import DigitInput, preprocess_digit
from .image_file import ImageFileError, read_image, to_input
from .image_folder import IMG_EXTENSIONS, ImageFolder, ImageFolderError, find_classes, load_image_folder
from .idx import FASHION_MNIST_CLASSES, load_idx_dataset, read_idx
from .imagenet import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ImageConversionWarning,
    imagenet_batch,
    imagenet_preprocess,
    imagenet_unnormalize,
)
from .imagenet_classes import imagenet_class_index, imagenet_classes
from .loader import DataLoader
from .photos import PHOTOS, load_photos, load_photos_dataset, photos_batch
from .registry import DATASETS, load_dataset
from .resize import resize
from .shapes import SHAPE_CLASSES, load_shapes, make_shapes
from .split import train_test_split

__all__ = [
    "Dataset",
    "load_digits",
    "load_faces",
    "load_shapes",
    "make_shapes",
    "read_idx",
    "load_idx_dataset",
    "DataLoader",
    "train_test_split",
    "load_dataset",
    "DATASETS",
    "SHAPE_CLASSES",
    "FASHION_MNIST_CLASSES",
    "imagenet_preprocess",
    "imagenet_batch",
    "imagenet_unnormalize",
    "imagenet_classes",
    "imagenet_class_index",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ImageConversionWarning",
    "PHOTOS",
    "load_photos",
    "photos_batch",
    "load_photos_dataset",
    "ImageFolder",
    "ImageFolderError",
    "IMG_EXTENSIONS",
    "find_classes",
    "load_image_folder",
    "ImageFileError",
    "read_image",
    "to_input",
    "resize",
    "DigitInput",
    "preprocess_digit",
]

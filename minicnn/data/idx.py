"""Reader for the IDX files of MNIST and Fashion-MNIST.

The IDX format (LeCun et al., http://yann.lecun.com/exdb/mnist/) is a tiny
big-endian container for one n-dimensional array:

=========  ==============================================================
bytes 0-1  always 0x00 0x00
byte 2     element type: 0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int,
           0x0D float, 0x0E double (all big-endian)
byte 3     number of dimensions ``d``
next 4*d   the size of each dimension, uint32, big-endian
rest       the elements in C (row-major) order
=========  ==============================================================

The files are usually distributed gzipped (``train-images-idx3-ubyte.gz``).
We read them with NumPy alone; no download happens here -- point the reader
at files you already have.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from collections.abc import Sequence

import numpy as np

from ..typing import DTypeLike, PathLike
from ..validation import check_float_dtype
from .dataset import Dataset

__all__ = ["read_idx", "load_idx_dataset", "FASHION_MNIST_CLASSES", "IDX_TYPES"]

IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

FASHION_MNIST_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip

_GZIP_MAGIC = b"\x1f\x8b"


def _check_path(path: object, name: str) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike path, got {type(path).__name__}")
    return os.fspath(path)


def read_idx(path: PathLike) -> np.ndarray:
    """Read one IDX file and return its array (native byte order, the file's dtype).

    ``path`` is decompressed with gzip when its name ends in ``.gz`` or its
    first two bytes are the gzip magic ``1f 8b``. The header is validated:
    a wrong magic, an unknown type code, a header cut short, or a payload
    whose length differs from ``prod(dims) * itemsize`` raise a ValueError
    naming the file.

    >>> images = read_idx("train-images-idx3-ubyte.gz")   # doctest: +SKIP
    >>> images.shape, images.dtype                         # doctest: +SKIP
    ((60000, 28, 28), dtype('uint8'))
    """
    path = _check_path(path, "path")
    with open(path, "rb") as handle:
        raw = handle.read()
    if path.endswith(".gz") or raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise ValueError(f"IDX file {path!r}: gzip data is corrupt or truncated ({err})") from err

    if len(raw) < 4:
        raise ValueError(f"IDX file {path!r} is truncated: {len(raw)} bytes, the header alone needs 4")
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(
            f"IDX file {path!r} has a bad magic number: expected first bytes 0x00 0x00, "
            f"got 0x{raw[0]:02x} 0x{raw[1]:02x} (is it an IDX file?)"
        )
    type_code, ndim = raw[2], raw[3]
    if type_code not in IDX_TYPES:
        known = ", ".join(f"0x{code:02x}" for code in IDX_TYPES)
        raise ValueError(f"IDX file {path!r} has unknown type code 0x{type_code:02x}; expected one of {known}")
    if ndim == 0:
        raise ValueError(f"IDX file {path!r} declares 0 dimensions; expected at least 1")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise ValueError(
            f"IDX file {path!r} is truncated: its header declares {ndim} dimensions "
            f"({header_size} header bytes) but the file has {len(raw)} bytes"
        )
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_TYPES[type_code]
    # math.prod on Python ints cannot overflow, unlike np.prod on uint32.
    expected = math.prod(dims) * dtype.itemsize
    present = len(raw) - header_size
    if present < expected:
        raise ValueError(
            f"IDX file {path!r} is truncated: dims {dims} of {dtype.newbyteorder('=')} need "
            f"{expected} data bytes, found {present}"
        )
    if present > expected:
        raise ValueError(
            f"IDX file {path!r} has {present - expected} unexpected trailing bytes after "
            f"dims {dims} of {dtype.newbyteorder('=')} ({expected} data bytes)"
        )
    data = np.frombuffer(raw, dtype=dtype, count=math.prod(dims), offset=header_size)
    # astype copies, which also makes the result writable (frombuffer views are read-only).
    return data.astype(dtype.newbyteorder("="), copy=True).reshape(dims)


def _images_to_unit_range(images, name):
    """Scale IDX images to float64 in [0, 1]: ubyte by /255, floats must already be in range."""
    if images.ndim != 3:
        raise ValueError(f"{name} must hold a 3-D array (N, H, W), got shape {images.shape}")
    if images.dtype == np.uint8:
        return images.astype(np.float64) / 255.0
    if images.dtype.kind == "f":
        if images.size and (images.min() < 0.0 or images.max() > 1.0):
            raise ValueError(
                f"{name} holds floats outside [0, 1] (range [{images.min()}, {images.max()}]); "
                "only ubyte images are rescaled"
            )
        return images.astype(np.float64)
    raise ValueError(f"{name} must hold ubyte (uint8) or float images, got {images.dtype}")


def _labels(labels, name, n_images, images_name):
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold a 1-D integer array, got shape {labels.shape} {labels.dtype}")
    if len(labels) != n_images:
        raise ValueError(f"{name} has {len(labels)} labels but {images_name} has {n_images} images")
    if len(labels) and labels.min() < 0:
        raise ValueError(f"{name} must hold non-negative labels, got minimum {labels.min()}")
    return labels.astype(np.int64)


def load_idx_dataset(train_images: PathLike, train_labels: PathLike, test_images: PathLike, test_labels: PathLike,
                     *, classes: Sequence[str] | None = None, name: str = "idx",
                     dtype: DTypeLike = np.float64) -> Dataset:
    """Build a :class:`Dataset` from four IDX files (MNIST layout).

    Images (N, H, W) become (N, 1, H, W) in [0, 1] (ubyte divided by 255);
    labels become int64. For MNIST that is 60000 train / 10000 test images of
    (1, 28, 28); Fashion-MNIST has the same sizes (pass
    ``classes=FASHION_MNIST_CLASSES`` for readable names).

    Parameters
    ----------
    train_images, train_labels, test_images, test_labels : str or os.PathLike
        Paths of IDX files, gzipped or not.
    classes : list of str, optional
        Default ``["0", "1", ..., str(max label)]``.
    name : str
    dtype : floating dtype, default float64
    """
    paths = {
        "train_images": train_images,
        "train_labels": train_labels,
        "test_images": test_images,
        "test_labels": test_labels,
    }
    for arg, value in paths.items():
        _check_path(value, arg)
    dtype = check_float_dtype(dtype)
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    arrays = {arg: read_idx(value) for arg, value in paths.items()}

    x_train = _images_to_unit_range(arrays["train_images"], "train_images")
    x_test = _images_to_unit_range(arrays["test_images"], "test_images")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError(
            f"train_images and test_images must have the same (H, W), got "
            f"{x_train.shape[1:]} and {x_test.shape[1:]}"
        )
    y_train = _labels(arrays["train_labels"], "train_labels", len(x_train), "train_images")
    y_test = _labels(arrays["test_labels"], "test_labels", len(x_test), "test_images")

    if classes is None:
        highest = max(int(y.max()) for y in (y_train, y_test) if len(y))
        classes = [str(label) for label in range(highest + 1)]
    elif not isinstance(classes, (list, tuple)) or not all(isinstance(c, str) for c in classes):
        raise TypeError(f"classes must be a list of str or None, got {classes!r}")

    return Dataset(
        x_train=x_train[:, None].astype(dtype),
        y_train=y_train,
        x_test=x_test[:, None].astype(dtype),
        y_test=y_test,
        classes=list(classes),
        name=name,
    )

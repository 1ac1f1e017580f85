"""The bundled weights: which small net was trained on which dataset, and loading it.

Bundled weights live in `minicnn/weights/<dataset>_<arch>.npz`, written by
`python -m minicnn.train` (see `BUNDLED` for the exact command that reproduces each file).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..io import load
from ..nn import Module, StateDictError
from ..typing import DTypeLike, PathLike

if TYPE_CHECKING:  # minicnn.data imports this module
    from ..data import Dataset
from .small import LeNet, ResNetSmall, VGGSmall

__all__ = ["ARCHITECTURES", "BUNDLED", "WeightsFileError", "build", "load_pretrained", "weights_path"]

ARCHITECTURES = {"lenet": LeNet, "vgg": VGGSmall, "resnet": ResNetSmall}

# dataset → (architecture, dataset options, training command that reproduces the weights)
BUNDLED = {
    "digits": ("lenet", {"size": 16}, "python -m minicnn.train --dataset digits --model lenet --epochs 40 --lr 0.003 --seed 0"),
    "faces": ("lenet", {}, "python -m minicnn.train --dataset faces --model lenet --epochs 60 --seed 0"),
    "shapes": ("vgg", {}, "python -m minicnn.train --dataset shapes --model vgg --epochs 8 --seed 0"),
}


def build(arch: str, input_shape: Sequence[int], num_classes: int, **kwargs: Any) -> Module:
    """An untrained model of architecture `arch` ("lenet", "vgg" or "resnet")."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"arch: expected one of {', '.join(ARCHITECTURES)}, got {arch!r}")
    return ARCHITECTURES[arch](tuple(input_shape), num_classes, **kwargs)


def weights_path(dataset: str, arch: str | None = None) -> str:
    """Path of the bundled weights file for `dataset` (and its bundled architecture)."""
    if dataset not in BUNDLED:
        raise ValueError(f"dataset: expected one of {', '.join(BUNDLED)}, got {dataset!r}")
    arch = arch or BUNDLED[dataset][0]
    return os.path.join(os.path.dirname(os.path.dirname(__file__)), "weights", f"{dataset}_{arch}.npz")


class WeightsFileError(OSError):
    """A weights file that is missing or cannot be read (the message names the file)."""


def load_pretrained(dataset: str, path: PathLike | None = None, dtype: DTypeLike = np.float64,
                    arch: str | None = None) -> tuple[Module, Dataset]:
    """A model trained on `dataset`, in eval mode: (model, Dataset it was trained on).

    path  -- weights (.npz) to load instead of the bundled ones
    arch  -- the architecture of those weights (default: the dataset's bundled one; another
             architecture has no bundled weights, so it needs `path`)
    dtype -- the parameters' dtype (float64 by default, float32 supported)

    Errors say what to fix: WeightsFileError for a missing or unreadable file, StateDictError
    (strict loading: every missing, unexpected and mis-shaped key) when the weights do not fit
    the architecture, ValueError for an unknown dataset or architecture.
    """
    from ..data import load_dataset

    if dataset not in BUNDLED:
        raise ValueError(f"dataset: expected one of {', '.join(BUNDLED)}, got {dataset!r}")
    bundled_arch, options, _ = BUNDLED[dataset]
    arch = arch or bundled_arch
    if arch not in ARCHITECTURES:
        raise ValueError(f"arch: expected one of {', '.join(ARCHITECTURES)}, got {arch!r}")
    if path is None and arch != bundled_arch:
        raise ValueError(f"arch: there are no bundled {arch} weights for {dataset} (bundled: {bundled_arch}); "
                         f"pass the path of {arch} weights")
    path = path or weights_path(dataset)
    if not os.path.exists(path):
        raise WeightsFileError(f"weights file not found: {path}")
    try:
        state = load(path)
    except (ValueError, OSError) as error:  # a damaged or foreign file: say which one
        raise WeightsFileError(f"cannot read weights file {path}: {error}") from None
    data = load_dataset(dataset, **options)
    model = build(arch, data.input_shape, data.n_classes)
    try:
        model.load_state_dict(state)
    except StateDictError as error:  # the same error, with which file and which architecture
        raise StateDictError(f"weights file {path} does not match the {arch} architecture for {dataset} "
                             f"(input {data.input_shape}, {data.n_classes} classes): {error}",
                             error.missing_keys, error.unexpected_keys, error.shape_mismatches) from None
    return model.to(dtype).eval(), data

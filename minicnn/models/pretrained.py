"""The bundled weights: which small net was trained on which dataset, and loading it.

Bundled weights live in `minicnn/weights/<dataset>_<arch>.npz`, written by
`python -m minicnn.train` (see `BUNDLED` for the exact command that reproduces each file).
"""

from __future__ import annotations

import os

import numpy as np

from ..io import load
from .small import LeNet, ResNetSmall, VGGSmall

__all__ = ["ARCHITECTURES", "BUNDLED", "build", "load_pretrained", "weights_path"]

ARCHITECTURES = {"lenet": LeNet, "vgg": VGGSmall, "resnet": ResNetSmall}

# dataset → (architecture, dataset options, training command that reproduces the weights)
BUNDLED = {
    "digits": ("lenet", {"size": 16}, "python -m minicnn.train --dataset digits --model lenet --epochs 40 --lr 0.003 --seed 0"),
    "faces": ("lenet", {}, "python -m minicnn.train --dataset faces --model lenet --epochs 60 --seed 0"),
    "shapes": ("vgg", {}, "python -m minicnn.train --dataset shapes --model vgg --epochs 8 --seed 0"),
}


def build(arch, input_shape, num_classes, **kwargs):
    """An untrained model of architecture `arch` ("lenet", "vgg" or "resnet")."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"arch: expected one of {', '.join(ARCHITECTURES)}, got {arch!r}")
    return ARCHITECTURES[arch](tuple(input_shape), num_classes, **kwargs)


def weights_path(dataset, arch=None):
    """Path of the bundled weights file for `dataset` (and its bundled architecture)."""
    if dataset not in BUNDLED:
        raise ValueError(f"dataset: expected one of {', '.join(BUNDLED)}, got {dataset!r}")
    arch = arch or BUNDLED[dataset][0]
    return os.path.join(os.path.dirname(os.path.dirname(__file__)), "weights", f"{dataset}_{arch}.npz")


def load_pretrained(dataset, path=None, dtype=np.float64):
    """The bundled model trained on `dataset`, in eval mode: (model, Dataset it was trained on).

    `path` loads other weights of the same architecture instead (strict: a mismatch lists every
    missing, unexpected and mis-shaped key).
    """
    from ..data import load_dataset

    if dataset not in BUNDLED:
        raise ValueError(f"dataset: expected one of {', '.join(BUNDLED)}, got {dataset!r}")
    arch, options, _ = BUNDLED[dataset]
    data = load_dataset(dataset, **options)
    model = build(arch, data.input_shape, data.n_classes)
    state = load(path or weights_path(dataset))
    model.load_state_dict(state)
    return model.to(dtype).eval(), data

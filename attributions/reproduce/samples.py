"""The models and images the reproductions run on: the bundled nets and seeded test samples.

Every experiment explains test images its model classifies correctly (a wrong prediction would
mix the method's failures with the model's), drawn with a seed so that a page can be rerun.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

import minicnn as mc
from minicnn import nn
from minicnn.data import Dataset

__all__ = ["BUNDLED_DATASETS", "bundled_model", "correct_test_images", "predictions"]

BUNDLED_DATASETS = ("digits", "faces", "shapes")  # minicnn.models.BUNDLED: digits/faces LeNet, shapes VGG


def bundled_model(dataset: str) -> tuple[nn.Module, Dataset]:
    """(model in eval mode, float64, Dataset) of a bundled net: `minicnn.models.load_pretrained`."""
    from minicnn.models import load_pretrained

    return load_pretrained(dataset)


def predictions(model: nn.Module, x: np.ndarray, batch: int = 256) -> np.ndarray:
    """The predicted class of every row, in batches, without a graph."""
    with mc.no_grad():
        return np.concatenate([model(x[i:i + batch]).data.argmax(axis=1) for i in range(0, len(x), batch)])


def correct_test_images(model: nn.Module, data: Dataset, n: Optional[int], seed: int,
                        classes: Optional[Sequence[int]] = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, indices): up to n test images (all when n is None) the model classifies correctly,
    in a seeded random order, optionally only those whose label is in `classes`."""
    rng = np.random.default_rng(seed)
    keep = predictions(model, data.x_test) == data.y_test
    if classes is not None:
        keep &= np.isin(data.y_test, list(classes))
    chosen = rng.permutation(np.flatnonzero(keep))
    chosen = np.sort(chosen if n is None else chosen[:n])
    return data.x_test[chosen], data.y_test[chosen], chosen

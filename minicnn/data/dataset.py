"""The :class:`Dataset` holder every loader in :mod:`minicnn.data` returns.

A dataset here is nothing more than four arrays in the engine's layout plus
the names that make them readable:

* ``x_train``, ``x_test`` -- images, shape (N, C, H, W), floating point in [0, 1];
* ``y_train``, ``y_test`` -- integer class labels, shape (N,), values in
  ``range(len(classes))``;
* ``masks_train``, ``masks_test`` -- optional boolean ground-truth relevance
  masks, shape (N, H, W), or ``None`` when the dataset has none. Attribution
  metrics use them to ask "did the explanation point at the object?".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Dataset"]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test split of an image classification dataset (NCHW, labels as ints).

    The dataclass is frozen so a loaded dataset cannot have its fields swapped
    by accident; the arrays themselves stay ordinary writable ndarrays.
    ``eq=False`` because element-wise array equality has no single truth value.
    The shapes are checked on construction, so every ``Dataset`` you hold is
    internally consistent.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: list
    masks_train: np.ndarray | None = None
    masks_test: np.ndarray | None = None
    name: str = "dataset"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a str, got {type(self.name).__name__}")
        if not isinstance(self.classes, (list, tuple)) or not all(isinstance(c, str) for c in self.classes):
            raise TypeError(f"classes must be a list of str, got {self.classes!r}")
        if len(self.classes) == 0:
            raise ValueError("classes must name at least one class, got an empty list")
        # A tuple would also work, but one type keeps printing and comparisons predictable.
        object.__setattr__(self, "classes", list(self.classes))
        for split in ("train", "test"):
            self._check_split(split)
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(
                "x_train and x_test must have the same (C, H, W), got "
                f"{self.x_train.shape[1:]} and {self.x_test.shape[1:]}"
            )
        if (self.masks_train is None) != (self.masks_test is None):
            raise ValueError("masks_train and masks_test must both be arrays or both be None")

    def _check_split(self, split):
        x = getattr(self, f"x_{split}")
        y = getattr(self, f"y_{split}")
        masks = getattr(self, f"masks_{split}")
        if not isinstance(x, np.ndarray) or x.ndim != 4 or x.dtype.kind != "f":
            raise ValueError(
                f"x_{split} must be a floating ndarray of shape (N, C, H, W), got "
                f"{type(x).__name__} {getattr(x, 'shape', '')} {getattr(x, 'dtype', '')}"
            )
        if not isinstance(y, np.ndarray) or y.ndim != 1 or y.dtype.kind not in "iu":
            raise ValueError(
                f"y_{split} must be a 1-D integer ndarray, got "
                f"{type(y).__name__} {getattr(y, 'shape', '')} {getattr(y, 'dtype', '')}"
            )
        if len(x) != len(y):
            raise ValueError(f"x_{split} and y_{split} must have the same length, got {len(x)} and {len(y)}")
        if len(y) and (y.min() < 0 or y.max() >= len(self.classes)):
            raise ValueError(
                f"y_{split} values must lie in [0, {len(self.classes) - 1}] (one per class name), "
                f"got range [{y.min()}, {y.max()}]"
            )
        if masks is not None:
            expected = (x.shape[0],) + x.shape[2:]
            if not isinstance(masks, np.ndarray) or masks.dtype != bool or masks.shape != expected:
                raise ValueError(
                    f"masks_{split} must be a bool ndarray of shape (N, H, W) = {expected}, got "
                    f"{type(masks).__name__} {getattr(masks, 'shape', '')} {getattr(masks, 'dtype', '')}"
                )

    @property
    def n_classes(self) -> int:
        """Number of classes, ``len(classes)``."""
        return len(self.classes)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one image, (C, H, W) -- what the first layer of a model sees."""
        return tuple(self.x_train.shape[1:])

    @property
    def has_masks(self) -> bool:
        """True when the dataset carries ground-truth relevance masks."""
        return self.masks_train is not None

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, train={len(self.x_train)}, test={len(self.x_test)}, "
            f"input_shape={self.input_shape}, classes={len(self.classes)}, "
            f"dtype={self.x_train.dtype}, masks={self.has_masks})"
        )

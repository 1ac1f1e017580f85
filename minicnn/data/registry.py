"""Load a bundled dataset by name, e.g. from a command line or a config file."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .dataset import Dataset
from .digits import load_digits
from .faces import load_faces
from .photos import load_photos_dataset
from .shapes import load_shapes

__all__ = ["DATASETS", "load_dataset"]

# Only the datasets that need no download; IDX files go through load_idx_dataset.
DATASETS: dict[str, Callable[..., Dataset]] = {
    "digits": load_digits,
    "faces": load_faces,
    "shapes": load_shapes,
    "photos": load_photos_dataset,  # scikit-image's photographs with ImageNet labels, a test set only
}


def load_dataset(name: str, **kwargs: Any) -> Dataset:
    """Return ``DATASETS[name](**kwargs)``: "digits", "faces", "shapes" or "photos".

    Keyword arguments go to the loader unchanged, e.g.
    ``load_dataset("digits", size=16, seed=1)``.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, one of {sorted(DATASETS)}, got {type(name).__name__}")
    if name not in DATASETS:
        raise ValueError(f"name must be one of {sorted(DATASETS)}, got {name!r}")
    return DATASETS[name](**kwargs)

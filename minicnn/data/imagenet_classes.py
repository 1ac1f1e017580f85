"""The 1000 ImageNet-1k (ILSVRC 2012) class names, in the index order of every torchvision model.

The names are torchvision's short ones (``torchvision.models._meta._IMAGENET_CATEGORIES``),
bundled in ``imagenet_classes.txt``, one per line, line i = output i of a pretrained model.
Two names occur twice, as in torchvision: "crane" (134 the bird, 517 the machine) and
"maillot" (638, 639); `imagenet_class_index` refuses those names, pass the index instead.
"""

from __future__ import annotations

import difflib
import functools
import os

__all__ = ["imagenet_classes", "imagenet_class_index", "N_IMAGENET_CLASSES"]

N_IMAGENET_CLASSES = 1000
_FILE = os.path.join(os.path.dirname(__file__), "imagenet_classes.txt")


@functools.lru_cache(maxsize=None)
def imagenet_classes() -> tuple[str, ...]:
    """The 1000 class names as a tuple; ``imagenet_classes()[281] == 'tabby'``."""
    with open(_FILE, encoding="utf-8") as f:
        names = tuple(line.rstrip("\n") for line in f)
    if len(names) != N_IMAGENET_CLASSES:  # pragma: no cover - guards a damaged installation
        raise RuntimeError(f"{_FILE} must list {N_IMAGENET_CLASSES} class names, found {len(names)}")
    return names


def imagenet_class_index(name: str) -> int:
    """The index (0..999) of the ImageNet class called `name`, e.g. 'tabby' → 281.

    The match is exact (case included); an unknown name raises ValueError suggesting the
    closest names, an ambiguous one ("crane", "maillot") lists its indices.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str (an ImageNet class name such as 'tabby'), got {type(name).__name__}")
    names = imagenet_classes()
    indices = [i for i, candidate in enumerate(names) if candidate == name]
    if len(indices) == 1:
        return indices[0]
    if indices:
        raise ValueError(f"name {name!r} is ambiguous: ImageNet has it at indices {indices}; pass the index instead")
    raise ValueError(f"name {name!r} is not an ImageNet class; closest: {_closest(name, names)}")


def _closest(name, names):
    """The most similar class names, compared without case ('Tabby cat' finds 'tabby')."""
    by_folded = {}
    for candidate in names:
        by_folded.setdefault(candidate.casefold(), candidate)
    matches = difflib.get_close_matches(name.casefold(), list(by_folded), n=5, cutoff=0.5)
    return ", ".join(repr(by_folded[m]) for m in matches) or "none (see imagenet_classes())"

"""The engine's one random generator, and seeding it (`minicnn.manual_seed`, as `torch.manual_seed`).

Everything random that is not given its own `rng=` draws from this generator: weight
initialisation (`minicnn.nn.init`), dropout masks (`F.dropout`, `nn.Dropout`). So

    minicnn.manual_seed(0); model = build(); train(model)     # the same run every time

`nn.init.manual_seed` is the same function (its older home).
"""

from __future__ import annotations

import numbers

import numpy as np

from .typing import Seed
from .validation import check_seed

__all__ = ["manual_seed", "get_rng"]

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the generator used when no `rng` is given; returns it."""
    global _generator
    _generator = np.random.default_rng(check_seed(seed, "manual_seed: seed"))
    return _generator


def get_rng(rng: Seed = None) -> np.random.Generator:
    """`rng` as a Generator: None → the engine's generator, an int → a new seeded Generator."""
    if rng is None:
        return _generator
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng: expected None, an int seed or an np.random.Generator, got {type(rng).__name__}")

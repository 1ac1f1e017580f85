"""Weight initialisation, as `torch.nn.init` (in place, on a Parameter/Tensor or an ndarray).

Reproducibility: every function takes `rng=` — an `np.random.Generator` or an int seed. When it
is omitted, the module-level generator is used; `manual_seed(s)` resets that generator, so

    nn.init.manual_seed(0); model = build()     # the same weights every run

Layers accept `rng=` too (a Generator shared by all their parameters, or a seed), which is the
way to seed one layer without touching the global generator. Values are always drawn in float64
and then cast, so a float32 layer holds exactly the float64 layer's weights, rounded.

The default initialisation of Linear and Conv2d is PyTorch's:
    weight ~ kaiming_uniform_(a=√5)  ⇒  U(−1/√fan_in, 1/√fan_in)
    bias   ~ U(−1/√fan_in, 1/√fan_in)
(the same distributions; the random numbers differ from torch's, of course).
"""

from __future__ import annotations

import math
from typing import TypeVar

import numpy as np

from ..tensor import Tensor
from ..typing import Seed

__all__ = [
    "manual_seed", "get_rng", "calculate_gain", "calculate_fan_in_and_fan_out",
    "uniform_", "normal_", "constant_", "zeros_", "ones_",
    "kaiming_uniform_", "kaiming_normal_", "xavier_uniform_", "xavier_normal_",
]

# What the functions fill in place and return: a Tensor (a layer's Parameter) or an ndarray.
Initialised = TypeVar("Initialised", Tensor, np.ndarray)

# One generator for the whole engine (minicnn/random.py), so that `manual_seed` also seeds dropout.
from ..random import get_rng, manual_seed  # noqa: E402


def _array(tensor) -> np.ndarray:
    array = tensor.data if isinstance(tensor, Tensor) else tensor
    if not isinstance(array, np.ndarray):
        raise TypeError(f"init: expected a Tensor/Parameter or an ndarray, got {type(tensor).__name__}")
    return array


def _fill(tensor, values):
    array = _array(tensor)
    array[...] = values
    return tensor


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended std gain for a nonlinearity (PyTorch's table)."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "sigmoid", "identity")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def calculate_fan_in_and_fan_out(tensor: Initialised) -> tuple[int, int]:
    """fan_in = in_features · receptive field, fan_out = out_features · receptive field,
    for weights laid out (out, in, *kernel) as PyTorch's."""
    shape = _array(tensor).shape
    if len(shape) < 2:
        raise ValueError(f"init: fan in/out needs a tensor with at least 2 dimensions, got shape {shape}")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _fan(tensor, mode):
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    raise ValueError(f"init: mode must be 'fan_in' or 'fan_out', got {mode!r}")


def uniform_(tensor: Initialised, a: float = 0.0, b: float = 1.0, rng: Seed = None) -> Initialised:
    """Fill with U(a, b)."""
    return _fill(tensor, get_rng(rng).uniform(a, b, size=_array(tensor).shape))


def normal_(tensor: Initialised, mean: float = 0.0, std: float = 1.0, rng: Seed = None) -> Initialised:
    """Fill with N(mean, std²)."""
    return _fill(tensor, get_rng(rng).normal(mean, std, size=_array(tensor).shape))


def constant_(tensor: Initialised, value: float) -> Initialised:
    return _fill(tensor, value)


def zeros_(tensor: Initialised) -> Initialised:
    return _fill(tensor, 0)


def ones_(tensor: Initialised) -> Initialised:
    return _fill(tensor, 1)


def kaiming_uniform_(tensor: Initialised, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     rng: Seed = None) -> Initialised:
    """He et al. (2015): U(−bound, bound) with bound = gain · √(3 / fan), gain = calculate_gain(nonlinearity, a).

    With a = √5 (PyTorch's layer default) the bound is 1/√fan_in.
    """
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound, rng)


def kaiming_normal_(tensor: Initialised, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    rng: Seed = None) -> Initialised:
    """He et al. (2015): N(0, std²) with std = gain / √fan."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, rng)


def xavier_uniform_(tensor: Initialised, gain: float = 1.0, rng: Seed = None) -> Initialised:
    """Glorot & Bengio (2010): U(−bound, bound), bound = gain · √(6 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, rng)


def xavier_normal_(tensor: Initialised, gain: float = 1.0, rng: Seed = None) -> Initialised:
    """Glorot & Bengio (2010): N(0, std²), std = gain · √(2 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng)

"""Argument checks, one of each, for every public function of minicnn and attributions.

A public function validates its inputs once, where the user's call enters, so a student who
passes the wrong thing gets one line naming the argument, what was expected and what was given,
instead of a NumPy traceback three calls deeper. These helpers keep those messages uniform:
a value of the wrong *type* raises TypeError, a value of the right type out of range ValueError
(NumPy's and PyTorch's convention). A PyTorch tensor, model or dtype passed by mistake is named
as such, with the `minicnn.interop` function that converts it (`check_not_torch`).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .typing import DTypeLike

__all__ = [
    "check_int",
    "check_fraction",
    "check_pair",
    "check_float_dtype",
    "check_seed",
    "check_range",
    "check_array",
    "torch_kind",
    "check_not_torch",
    "check_not_torch_module",
]


def check_int(value: Any, name: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int``; it must be an integer in [minimum, maximum] (None: unbounded).

    ``bool`` is rejected on purpose: ``True`` is an ``int`` in Python, but a
    batch size of ``True`` is always a bug.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        if maximum is None:
            bounds = f">= {minimum}"
        elif minimum is None:
            bounds = f"<= {maximum}"
        else:
            bounds = f"in [{minimum}, {maximum}]"
        raise ValueError(f"{name} must be an int {bounds}, got {value}")
    return value


def check_fraction(value: Any, name: str, include_zero: bool = False, include_one: bool = False) -> float:
    """Return ``value`` as a ``float`` between 0 and 1: the open interval (0, 1) unless
    ``include_zero`` / ``include_one`` close an end."""
    interval = f"{'[' if include_zero else '('}0, 1{']' if include_one else ')'}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in {interval}, got {type(value).__name__} {value!r}")
    value = float(value)
    above = value >= 0.0 if include_zero else value > 0.0
    below = value <= 1.0 if include_one else value < 1.0
    if not (above and below):
        raise ValueError(f"{name} must be a number in {interval}, got {value}")
    return value


def check_pair(value: Any, name: str, minimum: int = 0) -> tuple[int, int]:
    """Return ``value`` as a pair of ints (h, w), each ``>= minimum``; an int ``k`` means (k, k).

    Kernel sizes, strides, paddings and output sizes of the 2-D layers all take this form.
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        pair = (value, value)
    elif isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints (h, w), got {len(value)} values {value!r}")
        pair = tuple(value)
    else:
        raise TypeError(f"{name} must be an int or a pair of ints (h, w), got {value!r}")
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in pair):
        raise TypeError(f"{name} must be an int or a pair of ints (h, w), got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{name} must be an int >= {minimum} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def check_float_dtype(dtype: DTypeLike, name: str = "dtype") -> np.dtype:
    """Return ``np.dtype(dtype)``; it must be a floating-point type (float32, float64, ...)."""
    try:
        resolved = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(
            f"{name} must be a NumPy floating dtype such as np.float64 or np.float32, got {dtype!r}"
        ) from err
    if resolved.kind != "f":
        raise ValueError(
            f"{name} must be a NumPy floating dtype such as np.float64 or np.float32, got {resolved}"
        )
    return resolved


def check_seed(seed: Any, name: str = "seed", allow_none: bool = False, allow_generator: bool = False) -> Any:
    """Check that ``seed`` is a non-negative int (or None / a Generator when allowed)."""
    if seed is None and allow_none:
        return None
    if allow_generator and isinstance(seed, np.random.Generator):
        return seed
    accepted = "a non-negative int"
    if allow_generator:
        accepted += " or a np.random.Generator"
    if allow_none:
        accepted += " or None"
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be {accepted}, got {type(seed).__name__} {seed!r}")
    if seed < 0:
        raise ValueError(f"{name} must be {accepted}, got {seed}")
    return int(seed)


def check_range(value: Any, name: str, lowest: float, highest: float) -> tuple[float, float]:
    """Return ``(lo, hi)`` as floats; ``value`` must be a pair with ``lowest <= lo <= hi <= highest``."""
    message = f"{name} must be a pair (low, high) with {lowest} <= low <= high <= {highest}"
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{message}, got {type(value).__name__} {value!r}")
    low, high = value
    for bound in (low, high):
        if isinstance(bound, bool) or not isinstance(bound, numbers.Real):
            raise TypeError(f"{message}, got {value!r}")
    low, high = float(low), float(high)
    if not lowest <= low <= high <= highest:
        raise ValueError(f"{message}, got {value!r}")
    return low, high


def check_array(value: Any, name: str, ndim: int | None = None) -> np.ndarray:
    """Check that ``value`` is an ``np.ndarray`` (of ``ndim`` dimensions when given)."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(value).__name__}")
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {value.shape}")
    return value


def torch_kind(value: object) -> str | None:
    """"torch.Tensor", "torch.nn.Module" or "torch object" when `value` comes from PyTorch, else
    None. Recognised by the modules its class and base classes are defined in, without importing
    torch: a user's `class Net(torch.nn.Module)` lives in `__main__`, its base in `torch.nn`."""
    if isinstance(value, (np.ndarray, np.generic, float, int)):  # the common case, on every op's output
        return None
    torch_classes = [c for c in type(value).__mro__ if c.__module__ == "torch" or c.__module__.startswith("torch.")]
    if not torch_classes:
        return None
    names = {c.__name__ for c in torch_classes}
    if "Tensor" in names:
        return "torch.Tensor"
    if "Module" in names:
        return "torch.nn.Module"
    return f"torch object ({type(value).__name__})"


def check_not_torch(value: Any, name: str) -> Any:
    """Refuse a PyTorch tensor or model where a minicnn Tensor or NumPy array is expected, with
    the conversion to use, instead of NumPy's "Cannot interpret 'torch.float64' as a data type"."""
    kind = torch_kind(value)
    if kind is None:
        return value
    if kind == "torch.nn.Module":
        raise TypeError(f"{name}: expected a minicnn Tensor or NumPy array, got a torch.nn.Module "
                        f"({type(value).__name__}); to run a PyTorch model here, build its minicnn twin and load "
                        f"the weights with minicnn.interop.from_torch_state_dict(...)")
    raise TypeError(f"{name}: expected a minicnn Tensor or NumPy array, got {kind}; "
                    "convert it with minicnn.interop.to_numpy(...)")


def check_not_torch_module(value: Any, name: str) -> Any:
    """Refuse a PyTorch model (or tensor) where a minicnn Module is expected; the message says
    how to move its weights: `model.load_state_dict(minicnn.interop.from_torch_state_dict(...))`."""
    kind = torch_kind(value)
    if kind is None:
        return value
    raise TypeError(f"{name}: expected a minicnn Module, got {kind} ({type(value).__name__}); build the "
                    f"minicnn model and load the weights with model.load_state_dict("
                    f"minicnn.interop.from_torch_state_dict(torch_model.state_dict()))")

"""Small argument checks shared by the data loaders.

Every public function in :mod:`minicnn.data` validates its inputs up front so
that a student who passes the wrong thing gets a message naming the argument,
what was expected and what was given, instead of a NumPy traceback three
calls deeper. These helpers keep those messages uniform.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "check_int",
    "check_fraction",
    "check_float_dtype",
    "check_seed",
    "check_range",
    "check_array",
]


def check_int(value, name, minimum=None):
    """Return ``value`` as an ``int``; it must be an integer ``>= minimum``.

    ``bool`` is rejected on purpose: ``True`` is an ``int`` in Python, but a
    batch size of ``True`` is always a bug.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return value


def check_fraction(value, name):
    """Return ``value`` as a ``float`` strictly between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a float in (0, 1), got {type(value).__name__} {value!r}")
    value = float(value)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be a float in (0, 1), got {value}")
    return value


def check_float_dtype(dtype, name="dtype"):
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


def check_seed(seed, name="seed", allow_none=False, allow_generator=False):
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


def check_range(value, name, lowest, highest):
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


def check_array(value, name, ndim=None):
    """Check that ``value`` is an ``np.ndarray`` (of ``ndim`` dimensions when given)."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(value).__name__}")
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {value.shape}")
    return value

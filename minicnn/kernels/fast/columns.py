"""Which output columns of a window offset read real input (not padding): shared by the kernels."""

import numpy as np  # noqa: F401  (Numba resolves the module's globals at compile time)
from numba import njit

__all__ = ["valid_columns"]


@njit(cache=True, inline="always")
def valid_columns(q: int, pw: int, sw: int, width: int, ow: int) -> tuple[int, int]:
    """Range [lo, hi) of output columns j whose input column j·sw + q − pw lies inside [0, W).

    Splitting each row into (zero prefix, copy, zero suffix) removes the bounds test from the
    inner loop so it vectorises."""
    lo = -((q - pw) // sw)              # ceil((pw − q) / sw), using floor division on negatives
    if lo < 0:
        lo = 0
    hi = (width - 1 + pw - q) // sw + 1
    if hi > ow:
        hi = ow
    if hi < lo:
        hi = lo
    return lo, hi

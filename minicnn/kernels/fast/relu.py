"""ReLU on float arrays of any shape: the op a CNN's train step runs most often.

    relu_forward(z)           y = max(z, 0)                  (a NaN stays NaN, as np.maximum)
    relu_backward(g, z)       ∂L/∂z = g where z > 0, else 0  (also where z is NaN, as PyTorch)

NumPy runs `np.maximum(z, 0)` and `g * (z > 0)` on one core, the backward through two temporary
arrays (the mask and its float copy). These kernels make one pass over the data on all cores
(docs/performance.md has the speed-up). Anything the kernels do
not take (a 0-d array, mixed float32/float64 operands) goes to the NumPy formulas of
``minicnn/kernels/reference.py``, which they reproduce exactly.
"""

import numpy as np
from numba import prange

from .. import reference
from .threads import contiguous, threaded

_FLOATS = (np.float32, np.float64)


@threaded
def _relu_forward(z, y):
    for i in prange(z.shape[0]):
        v = z[i]
        # np.maximum(v, 0) exactly: v when v > 0 or v is NaN, else 0 (so −0.0 gives +0.0).
        y[i] = v if v > 0 or v != v else 0


@threaded
def _relu_backward(grad_y, z, grad_z):
    for i in prange(z.shape[0]):
        grad_z[i] = grad_y[i] if z[i] > 0 else 0


def relu_forward(z: np.ndarray) -> np.ndarray:
    """y = max(z, 0) for a float32/float64 array of any shape; y has z's shape and dtype."""
    if z.ndim == 0 or z.dtype not in _FLOATS:
        return reference.relu_forward(z)
    z = contiguous(z)
    y = np.empty_like(z)
    _relu_forward(z.reshape(-1), y.reshape(-1))
    return y


def relu_backward(grad_y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """∂L/∂z = grad_y where z > 0, else 0, for y = relu_forward(z) and grad_y = ∂L/∂y."""
    if z.ndim == 0 or z.dtype not in _FLOATS or grad_y.dtype != z.dtype or grad_y.shape != z.shape:
        return reference.relu_backward(grad_y, z)
    grad_y, z = contiguous(grad_y), contiguous(z)
    grad_z = np.empty_like(z)
    _relu_backward(grad_y.reshape(-1), z.reshape(-1), grad_z.reshape(-1))
    return grad_z

"""Bilinear resizing of NCHW arrays as Numba kernels, identical to
``torch.nn.functional.interpolate(x, size=out_size, mode="bilinear", align_corners=False)``.

The formulas, and the index/weight arrays these kernels receive (``bilinear_axes``), are in
``minicnn/kernels/reference.py``: per output pixel, two source rows and two source columns
mixed with weights (1 − α, α) and (1 − β, β). The backward pass is the adjoint: each
grad_y[n,c,i,j] is spread onto the same four inputs with the same four weights.
"""

import numpy as np
from numba import prange

from ...typing import IntPair
from ..reference import bilinear_axes
from ..windows import pair
from .threads import contiguous, threaded


# ----------------------------------------------------------------------------------------------
# Numba kernels: one thread per (n, c) plane (no shared writes → deterministic)
# ----------------------------------------------------------------------------------------------

@threaded
def _bilinear_forward(x, r0, r1, a0, a1, c0, c1, b0, b1, y):
    n_img, n_ch = x.shape[0], x.shape[1]
    oh, ow = y.shape[2], y.shape[3]
    for plane in prange(n_img * n_ch):
        n = plane // n_ch
        c = plane % n_ch
        for i in range(oh):
            for j in range(ow):
                top = b0[j] * x[n, c, r0[i], c0[j]] + b1[j] * x[n, c, r0[i], c1[j]]
                bottom = b0[j] * x[n, c, r1[i], c0[j]] + b1[j] * x[n, c, r1[i], c1[j]]
                y[n, c, i, j] = a0[i] * top + a1[i] * bottom


@threaded
def _bilinear_backward(grad_y, r0, r1, a0, a1, c0, c1, b0, b1, grad_x):
    n_img, n_ch, height, width = grad_x.shape
    oh, ow = grad_y.shape[2], grad_y.shape[3]
    for plane in prange(n_img * n_ch):
        n = plane // n_ch
        c = plane % n_ch
        for h in range(height):
            for v in range(width):
                grad_x[n, c, h, v] = 0
        for i in range(oh):
            for j in range(ow):
                g = grad_y[n, c, i, j]
                grad_x[n, c, r0[i], c0[j]] += a0[i] * (b0[j] * g)
                grad_x[n, c, r0[i], c1[j]] += a0[i] * (b1[j] * g)
                grad_x[n, c, r1[i], c0[j]] += a1[i] * (b0[j] * g)
                grad_x[n, c, r1[i], c1[j]] += a1[i] * (b1[j] * g)


# ----------------------------------------------------------------------------------------------
# Fast public functions
# ----------------------------------------------------------------------------------------------

def bilinear_resize_forward(x: np.ndarray, out_size: IntPair) -> np.ndarray:
    """Bilinear resize of x (N, C, H, W) to (N, C, OH, OW), out_size=(OH, OW); PyTorch's
    ``interpolate(mode="bilinear", align_corners=False)``. Keeps x's dtype."""
    out_size = pair(out_size)
    x = contiguous(x)
    y = np.empty(x.shape[:2] + tuple(out_size), dtype=x.dtype)
    if y.size:
        _bilinear_forward(x, *bilinear_axes(x.shape[2:], out_size, x.dtype), y)
    return y


def bilinear_resize_backward(grad_y: np.ndarray, in_size: IntPair) -> np.ndarray:
    """Adjoint of bilinear_resize_forward: grad_y (N, C, OH, OW) → grad_x (N, C, H, W) with
    in_size=(H, W); each output gradient is spread onto its four source pixels with the
    forward weights, overlapping contributions accumulate."""
    in_size = pair(in_size)
    grad_y = contiguous(grad_y)
    grad_x = np.zeros(grad_y.shape[:2] + tuple(in_size), dtype=grad_y.dtype)
    if grad_x.size:
        _bilinear_backward(grad_y, *bilinear_axes(in_size, grad_y.shape[2:], grad_y.dtype), grad_x)
    return grad_x

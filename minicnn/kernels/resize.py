"""Bilinear resizing of NCHW arrays, identical to
``torch.nn.functional.interpolate(x, size=out_size, mode="bilinear", align_corners=False)``.

For each axis separately (input length L_in, output length L_out), output index d reads from the
source coordinate (half-pixel centres, clamped at the first pixel)

    s = max((d + 0.5) · L_in / L_out − 0.5, 0),   i0 = ⌊s⌋,   i1 = min(i0 + 1, L_in − 1),
    λ = s − i0,

and the two axes combine as

    y[n,c,i,j] = (1−α_i)·((1−β_j)·x[n,c,r0,c0] + β_j·x[n,c,r0,c1])
               +    α_i ·((1−β_j)·x[n,c,r1,c0] + β_j·x[n,c,r1,c1])

with (r0, r1, α) the row indices/weight of i and (c0, c1, β) the column indices/weight of j.
Works for up- and downsampling (downsampling only looks at 2 taps per axis, as PyTorch does).
The backward pass is the adjoint: each grad_y[n,c,i,j] is spread onto the same four inputs
with the same four weights.
"""

import numpy as np
from numba import prange

from ._checks import float_array, positive_pair
from ._threads import threaded


def source_indices(in_len, out_len):
    """Per output index d: (i0, i1, λ) as above; int64, int64 and float64 arrays of length out_len.

    Plain NumPy so it can be read and tested alone; the kernels receive its result."""
    scale = in_len / out_len
    src = (np.arange(out_len, dtype=np.float64) + 0.5) * scale - 0.5
    src = np.maximum(src, 0.0)          # outputs left of the first centre copy pixel 0
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, in_len - 1)  # outputs right of the last centre copy the last pixel
    return i0, i1, src - i0


def _axes(in_size, out_size, dtype):
    """(r0, r1, 1−α, α, c0, c1, 1−β, β) for both axes; the weights are cast to the data dtype so
    float32 data is interpolated in float32."""
    r0, r1, alpha = source_indices(in_size[0], out_size[0])
    c0, c1, beta = source_indices(in_size[1], out_size[1])
    return (r0, r1, (1.0 - alpha).astype(dtype), alpha.astype(dtype),
            c0, c1, (1.0 - beta).astype(dtype), beta.astype(dtype))


def _check_forward(x, out_size):
    x = float_array(x, "x", 4)
    if x.shape[2] < 1 or x.shape[3] < 1:
        raise ValueError(f"x must have non-empty spatial dimensions, got shape {x.shape}")
    return x, positive_pair(out_size, "out_size")


def _check_backward(grad_y, in_size):
    grad_y = float_array(grad_y, "grad_y", 4)
    if grad_y.shape[2] < 1 or grad_y.shape[3] < 1:
        raise ValueError(f"grad_y must have non-empty spatial dimensions, got shape {grad_y.shape}")
    return grad_y, positive_pair(in_size, "in_size")


# ----------------------------------------------------------------------------------------------
# Reference versions: separable, first along the width, then along the height
# ----------------------------------------------------------------------------------------------

def bilinear_resize_forward_reference(x, out_size):
    """Reference bilinear resize of x (N, C, H, W) to (N, C, OH, OW); see the module docstring."""
    x, out_size = _check_forward(x, out_size)
    r0, r1, a0, a1, c0, c1, b0, b1 = _axes(x.shape[2:], out_size, x.dtype)
    along_w = b0 * x[:, :, :, c0] + b1 * x[:, :, :, c1]                    # (N, C, H, OW)
    return a0[:, None] * along_w[:, :, r0, :] + a1[:, None] * along_w[:, :, r1, :]


def bilinear_resize_backward_reference(grad_y, in_size):
    """Reference adjoint of bilinear_resize_forward: grad_x (N, C, *in_size)."""
    grad_y, in_size = _check_backward(grad_y, in_size)
    n, c, oh, ow = grad_y.shape
    r0, r1, a0, a1, c0, c1, b0, b1 = _axes(in_size, (oh, ow), grad_y.dtype)
    # Transpose of "combine rows": scatter each output row onto its two source rows
    # (np.add.at accumulates when several outputs share a source row).
    along_w = np.zeros((n, c, in_size[0], ow), dtype=grad_y.dtype)
    np.add.at(along_w, (slice(None), slice(None), r0), a0[:, None] * grad_y)
    np.add.at(along_w, (slice(None), slice(None), r1), a1[:, None] * grad_y)
    # Transpose of "combine columns".
    grad_x = np.zeros((n, c, in_size[0], in_size[1]), dtype=grad_y.dtype)
    np.add.at(grad_x, (slice(None), slice(None), slice(None), c0), b0 * along_w)
    np.add.at(grad_x, (slice(None), slice(None), slice(None), c1), b1 * along_w)
    return grad_x


# ----------------------------------------------------------------------------------------------
# Numba kernels: one thread per (n, c) plane (no shared writes → deterministic)
# ----------------------------------------------------------------------------------------------

@threaded
def _bilinear_forward(x, r0, r1, a0, a1, c0, c1, b0, b1, y):
    n_img, n_ch = x.shape[0], x.shape[1]
    oh, ow = y.shape[2], y.shape[3]
    for t in prange(n_img * n_ch):
        n = t // n_ch
        c = t % n_ch
        for i in range(oh):
            for j in range(ow):
                top = b0[j] * x[n, c, r0[i], c0[j]] + b1[j] * x[n, c, r0[i], c1[j]]
                bottom = b0[j] * x[n, c, r1[i], c0[j]] + b1[j] * x[n, c, r1[i], c1[j]]
                y[n, c, i, j] = a0[i] * top + a1[i] * bottom


@threaded
def _bilinear_backward(grad_y, r0, r1, a0, a1, c0, c1, b0, b1, grad_x):
    n_img, n_ch, height, width = grad_x.shape
    oh, ow = grad_y.shape[2], grad_y.shape[3]
    for t in prange(n_img * n_ch):
        n = t // n_ch
        c = t % n_ch
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

def bilinear_resize_forward(x, out_size):
    """Bilinear resize of x (N, C, H, W) to (N, C, OH, OW), out_size=(OH, OW); PyTorch's
    ``interpolate(mode="bilinear", align_corners=False)``. Keeps x's dtype."""
    x, out_size = _check_forward(x, out_size)
    y = np.empty(x.shape[:2] + out_size, dtype=x.dtype)
    if y.size:
        _bilinear_forward(x, *_axes(x.shape[2:], out_size, x.dtype), y)
    return y


def bilinear_resize_backward(grad_y, in_size):
    """Adjoint of bilinear_resize_forward: grad_y (N, C, OH, OW) → grad_x (N, C, H, W) with
    in_size=(H, W); each output gradient is spread onto its four source pixels with the
    forward weights, overlapping contributions accumulate."""
    grad_y, in_size = _check_backward(grad_y, in_size)
    grad_x = np.zeros(grad_y.shape[:2] + in_size, dtype=grad_y.dtype)
    if grad_x.size:
        _bilinear_backward(grad_y, *_axes(in_size, grad_y.shape[2:], grad_y.dtype), grad_x)
    return grad_x

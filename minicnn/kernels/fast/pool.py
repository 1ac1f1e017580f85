"""2-D max and average pooling on NCHW arrays with PyTorch semantics (``ceil_mode=False``).

Notation: x (N, C, H, W), kernel (KH, KW), stride (sh, sw), padding (ph, pw) with
ph ≤ KH/2 and pw ≤ KW/2 (PyTorch's rule: every window then holds at least one real element),
OH = (H + 2·ph − KH) // sh + 1, OW likewise, and the window of output (i, j) is

    W(i, j) = {(i·sh − ph + p, j·sw − pw + q) : 0 ≤ p < KH, 0 ≤ q < KW}.

Max pooling   y[n,c,i,j] = max_{(h,v) ∈ W(i,j)} x_pad[n,c,h,v], padding counting as −∞.
              argmax holds the flat index h·W + v into the *unpadded* plane of the chosen element.
              Ties go to the first element in row-major window order; a NaN counts as larger than
              everything (it propagates), and among several NaNs the last one is chosen, exactly as
              PyTorch's CPU kernel does (``if val > best or isnan(val)``).
              Backward: the gradient goes to the argmax only, grad_x[n,c,argmax] += grad_y
              (overlapping windows accumulate).
Avg pooling   y[n,c,i,j] = (1 / (KH·KW)) Σ_{(h,v) ∈ W(i,j)} x_pad[n,c,h,v]   (count_include_pad:
              padding counts as zeros and the divisor is always KH·KW, PyTorch's default).
              Backward: grad_x[n,c,h,v] = Σ_{(i,j): (h,v) ∈ W(i,j)} grad_y[n,c,i,j] / (KH·KW).

These are Numba kernels with one thread per (n, c) plane: each thread writes only its own plane,
so there is no racy accumulation and results are identical run to run. Their spec is
``minicnn/kernels/reference.py``, which loops over the KH·KW window offsets in NumPy.
"""

import numpy as np
from numba import prange

from ...typing import IntPair, Shape
from ..windows import output_hw, pair, pooled_hw
from .threads import contiguous, threaded


# ----------------------------------------------------------------------------------------------
# Numba kernels: one thread per (n, c) plane
# ----------------------------------------------------------------------------------------------

@threaded
def _max_pool_forward(x, kh, kw, sh, sw, ph, pw, y, argmax):
    n_img, n_ch, height, width = x.shape
    oh, ow = y.shape[2], y.shape[3]
    for plane in prange(n_img * n_ch):
        n = plane // n_ch
        c = plane % n_ch
        for i in range(oh):
            h_lo = max(i * sh - ph, 0)
            h_hi = min(i * sh - ph + kh, height)
            for j in range(ow):
                v_lo = max(j * sw - pw, 0)
                v_hi = min(j * sw - pw + kw, width)
                # Padding is −∞ and can never win, so only real elements are visited; start at
                # the first one so an all −∞ window still reports an index inside x.
                best = x[n, c, h_lo, v_lo]
                best_index = h_lo * width + v_lo
                for h in range(h_lo, h_hi):
                    row = x[n, c, h]
                    for v in range(v_lo, v_hi):
                        # A select, not a branch: on real activations the winner changes
                        # unpredictably and mispredicted branches cost more than the compares.
                        val = row[v]
                        take = (val > best) | (val != val)
                        best, best_index = (val, h * width + v) if take else (best, best_index)
                y[n, c, i, j] = best
                argmax[n, c, i, j] = best_index


@threaded
def _max_pool_2x2_forward(x, sh, sw, y, argmax):
    """_max_pool_forward for the common 2×2 window without padding, written out: the four
    candidates are compared with branch-free selects (the same rule: strict '>' keeps the first
    of equal values, a NaN takes over). Much faster than the general loop, whose data-dependent
    branches the CPU mispredicts half the time on real activations (docs/performance.md)."""
    n_img, n_ch, height, width = x.shape
    oh, ow = y.shape[2], y.shape[3]
    for plane in prange(n_img * n_ch):
        n = plane // n_ch
        c = plane % n_ch
        for i in range(oh):
            top, bottom = x[n, c, i * sh], x[n, c, i * sh + 1]
            y_row, arg_row = y[n, c, i], argmax[n, c, i]
            for j in range(ow):
                v = np.uint64(j * sw)
                first = i * sh * width + j * sw       # flat index of the top-left candidate
                best, index = top[v], first
                val = top[v + 1]
                take = (val > best) | (val != val)
                best, index = (val, first + 1) if take else (best, index)
                val = bottom[v]
                take = (val > best) | (val != val)
                best, index = (val, first + width) if take else (best, index)
                val = bottom[v + 1]
                take = (val > best) | (val != val)
                best, index = (val, first + width + 1) if take else (best, index)
                y_row[np.uint64(j)] = best
                arg_row[np.uint64(j)] = index


@threaded
def _max_pool_backward(grad_y, argmax, grad_x):
    n_img, n_ch, height, width = grad_x.shape
    oh, ow = grad_y.shape[2], grad_y.shape[3]
    for plane in prange(n_img * n_ch):
        n = plane // n_ch
        c = plane % n_ch
        # The plane as one flat row: argmax already holds flat indices h·W + v.
        grad_plane = grad_x[n, c].reshape(height * width)
        g_plane, arg_plane = grad_y[n, c], argmax[n, c]
        grad_plane[:] = 0
        for i in range(oh):
            g_row, arg_row = g_plane[i], arg_plane[i]
            for j in range(ow):
                grad_plane[np.uint64(arg_row[j])] += g_row[j]


@threaded
def _avg_pool_forward(x, kh, kw, sh, sw, ph, pw, y):
    n_img, n_ch, height, width = x.shape
    oh, ow = y.shape[2], y.shape[3]
    divisor = kh * kw
    for plane in prange(n_img * n_ch):
        n = plane // n_ch
        c = plane % n_ch
        for i in range(oh):
            h_lo = max(i * sh - ph, 0)
            h_hi = min(i * sh - ph + kh, height)
            for j in range(ow):
                v_lo = max(j * sw - pw, 0)
                v_hi = min(j * sw - pw + kw, width)
                # Accumulate in float64 (also for float32 input); the store casts back to y's dtype.
                total = 0.0
                for h in range(h_lo, h_hi):
                    for v in range(v_lo, v_hi):
                        total += x[n, c, h, v]
                y[n, c, i, j] = total / divisor


@threaded
def _avg_pool_backward(grad_y, kh, kw, sh, sw, ph, pw, grad_x):
    n_img, n_ch, height, width = grad_x.shape
    oh, ow = grad_y.shape[2], grad_y.shape[3]
    divisor = kh * kw
    for plane in prange(n_img * n_ch):
        n = plane // n_ch
        c = plane % n_ch
        for h in range(height):
            for v in range(width):
                grad_x[n, c, h, v] = 0
        for i in range(oh):
            h_lo = max(i * sh - ph, 0)
            h_hi = min(i * sh - ph + kh, height)
            for j in range(ow):
                v_lo = max(j * sw - pw, 0)
                v_hi = min(j * sw - pw + kw, width)
                share = grad_y[n, c, i, j] / divisor
                for h in range(h_lo, h_hi):
                    for v in range(v_lo, v_hi):
                        grad_x[n, c, h, v] += share


# ----------------------------------------------------------------------------------------------
# Fast public functions
# ----------------------------------------------------------------------------------------------

def max_pool2d_forward(x: np.ndarray, kernel: IntPair, stride: IntPair, padding: IntPair,
                       ceil_mode: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Max pooling y[n,c,i,j] = max over window W(i,j) of x_pad (padding = −∞).

    Returns (y, argmax): y (N, C, OH, OW) in x's dtype and argmax (N, C, OH, OW) int64 holding
    the flat index h·W + v of the chosen element in the unpadded plane. Ties → first in
    row-major window order; NaN propagates (as PyTorch)."""
    kernel, stride, padding = pair(kernel), pair(stride), pair(padding)
    x = contiguous(x)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh, ow = pooled_hw(x.shape[2], x.shape[3], kernel, stride, padding, ceil_mode)
    n, c = x.shape[:2]
    y = np.empty((n, c, oh, ow), dtype=x.dtype)
    argmax = np.empty((n, c, oh, ow), dtype=np.int64)
    # The general kernel clips every window to the image, so ceil_mode's last windows, which hang
    # over the padded input, need nothing else; the 2×2 kernel reads whole windows only.
    whole_windows = (oh, ow) == output_hw(x.shape[2], x.shape[3], kernel, stride, padding)
    if y.size == 0:
        pass
    elif (kh, kw, ph, pw) == (2, 2, 0, 0) and whole_windows:
        _max_pool_2x2_forward(x, sh, sw, y, argmax)
    else:
        _max_pool_forward(x, kh, kw, sh, sw, ph, pw, y, argmax)
    return y, argmax


def max_pool2d_backward(grad_y: np.ndarray, argmax: np.ndarray, x_shape: Shape) -> np.ndarray:
    """∂L/∂x of max pooling: grad_x[n, c, argmax[n,c,i,j]] += grad_y[n,c,i,j].

    Overlapping windows that chose the same element accumulate. Returns shape x_shape."""
    grad_y, argmax = contiguous(grad_y), contiguous(argmax)
    grad_x = np.empty(x_shape, dtype=grad_y.dtype)     # the kernel zeroes each plane it owns
    if grad_x.size:
        _max_pool_backward(grad_y, argmax, grad_x)
    return grad_x


def avg_pool2d_forward(x: np.ndarray, kernel: IntPair, stride: IntPair, padding: IntPair) -> np.ndarray:
    """Average pooling y[n,c,i,j] = Σ_{(h,v)∈W(i,j)} x_pad[n,c,h,v] / (KH·KW), zero padding
    included in the count (PyTorch's count_include_pad=True)."""
    kernel, stride, padding = pair(kernel), pair(stride), pair(padding)
    x = contiguous(x)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh, ow = output_hw(x.shape[2], x.shape[3], kernel, stride, padding)
    y = np.empty((x.shape[0], x.shape[1], oh, ow), dtype=x.dtype)
    if y.size:
        _avg_pool_forward(x, kh, kw, sh, sw, ph, pw, y)
    return y


def avg_pool2d_backward(grad_y: np.ndarray, x_shape: Shape, kernel: IntPair, stride: IntPair,
                        padding: IntPair) -> np.ndarray:
    """∂L/∂x of average pooling: grad_x[n,c,h,v] = Σ_{(i,j): (h,v)∈W(i,j)} grad_y[n,c,i,j]/(KH·KW)."""
    kernel, stride, padding = pair(kernel), pair(stride), pair(padding)
    grad_y = contiguous(grad_y)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    grad_x = np.empty(x_shape, dtype=grad_y.dtype)     # the kernel zeroes each plane it owns
    if grad_x.size:
        _avg_pool_backward(grad_y, kh, kw, sh, sw, ph, pw, grad_x)
    return grad_x

"""Grouped, depthwise and dilated convolutions as direct Numba loops (the same formulas as
``conv2d_forward`` … in ``minicnn/kernels/reference.py``).

A depthwise convolution (groups = C, MobileNetV2) gives each output channel one input channel
and KH·KW weights: an im2col matrix per group would hold 9 rows, far too thin for a GEMM. So
these kernels loop directly: one thread per output plane (n, o) for the forward pass, per input
plane (n, c) for ∂L/∂x, per weight (o, c) for ∂L/∂w. Each thread writes only its own plane or
weight, so there are no racy sums and the results are identical run to run. The inner loop runs
over the output columns j whose input column j·sw + dw·q − pw lies inside the image
(`valid_columns`), so it has no bounds test and LLVM vectorises it.
"""

import numpy as np
from numba import prange

from ...typing import Shape
from .columns import valid_columns
from .threads import contiguous, threaded

__all__ = ["grouped_forward", "grouped_backward_input", "grouped_backward_weight"]


@threaded
def _forward_planes(x, w, bias, sh, sw, ph, pw, dh, dw, groups, y):
    """y[n,o] = b[o] + Σ_{c ∈ group(o), p, q} w[o,c,p,q] · x_pad[n, c, i·sh + dh·p, j·sw + dw·q]."""
    n_img, _, height, width = x.shape
    n_out, per_group, kh, kw = w.shape
    outs_per_group = n_out // groups
    oh, ow = y.shape[2], y.shape[3]
    for plane in prange(n_img * n_out):
        n, o = plane // n_out, plane % n_out
        first_channel = (o // outs_per_group) * per_group
        out = y[n, o]
        out[:, :] = 0
        if bias.shape[0] > 0:
            out[:, :] += bias[o]
        for c in range(per_group):
            x_plane = x[n, first_channel + c]
            for p in range(kh):
                for q in range(kw):
                    weight = w[o, c, p, q]
                    lo, hi = valid_columns(dw * q, pw, sw, width, ow)
                    shift = dw * q - pw
                    for i in range(oh):
                        ih = i * sh + dh * p - ph
                        if ih < 0 or ih >= height:
                            continue
                        x_row, out_row = x_plane[ih], out[i]
                        for j in range(lo, hi):
                            out_row[np.uint64(j)] += weight * x_row[np.uint64(j * sw + shift)]


@threaded
def _backward_input_planes(grad_y, w, sh, sw, ph, pw, dh, dw, groups, grad_x):
    """grad_x[n,c] = Σ_{o ∈ group(c), p, q, i, j} w[o,c′,p,q] · grad_y[n,o,i,j] scattered back to
    (i·sh + dh·p − ph, j·sw + dw·q − pw), with c′ the index of c inside its group."""
    n_img, n_ch, height, width = grad_x.shape
    n_out, per_group, kh, kw = w.shape
    outs_per_group = n_out // groups
    oh, ow = grad_y.shape[2], grad_y.shape[3]
    for plane in prange(n_img * n_ch):
        n, c = plane // n_ch, plane % n_ch
        group, c_in_group = c // per_group, c % per_group
        grad_plane = grad_x[n, c]
        grad_plane[:, :] = 0
        for o in range(group * outs_per_group, (group + 1) * outs_per_group):
            g_plane = grad_y[n, o]
            for p in range(kh):
                for q in range(kw):
                    weight = w[o, c_in_group, p, q]
                    lo, hi = valid_columns(dw * q, pw, sw, width, ow)
                    shift = dw * q - pw
                    for i in range(oh):
                        ih = i * sh + dh * p - ph
                        if ih < 0 or ih >= height:
                            continue
                        grad_row, g_row = grad_plane[ih], g_plane[i]
                        for j in range(lo, hi):
                            grad_row[np.uint64(j * sw + shift)] += weight * g_row[np.uint64(j)]


@threaded
def _backward_weight_entries(grad_y, x, sh, sw, ph, pw, dh, dw, groups, grad_w):
    """grad_w[o,c′,p,q] = Σ_{n,i,j} grad_y[n,o,i,j] · x_pad[n, c, i·sh + dh·p, j·sw + dw·q]."""
    n_img, _, height, width = x.shape
    n_out, per_group, kh, kw = grad_w.shape
    outs_per_group = n_out // groups
    oh, ow = grad_y.shape[2], grad_y.shape[3]
    for entry in prange(n_out * per_group):
        o, c_in_group = entry // per_group, entry % per_group
        c = (o // outs_per_group) * per_group + c_in_group
        for p in range(kh):
            for q in range(kw):
                lo, hi = valid_columns(dw * q, pw, sw, width, ow)
                shift = dw * q - pw
                total = 0.0
                for n in range(n_img):
                    for i in range(oh):
                        ih = i * sh + dh * p - ph
                        if ih < 0 or ih >= height:
                            continue
                        x_row, g_row = x[n, c, ih], grad_y[n, o, i]
                        for j in range(lo, hi):
                            total += g_row[np.uint64(j)] * x_row[np.uint64(j * sw + shift)]
                grad_w[o, c_in_group, p, q] = total


def grouped_forward(x: np.ndarray, w: np.ndarray, stride: tuple[int, int], padding: tuple[int, int],
                    bias: np.ndarray | None, dilation: tuple[int, int], groups: int, out_hw: tuple[int, int]) -> np.ndarray:
    x, w = contiguous(x), contiguous(w)
    y = np.empty((x.shape[0], w.shape[0]) + tuple(out_hw), dtype=x.dtype)
    if y.size:
        bias = np.empty(0, dtype=x.dtype) if bias is None else contiguous(bias)
        _forward_planes(x, w, bias, *stride, *padding, *dilation, groups, y)
    return y


def grouped_backward_input(grad_y: np.ndarray, w: np.ndarray, x_shape: Shape, stride: tuple[int, int],
                           padding: tuple[int, int], dilation: tuple[int, int], groups: int) -> np.ndarray:
    grad_x = np.empty(x_shape, dtype=w.dtype)
    if grad_x.size:
        _backward_input_planes(contiguous(grad_y), contiguous(w), *stride, *padding, *dilation, groups, grad_x)
    return grad_x


def grouped_backward_weight(grad_y: np.ndarray, x: np.ndarray, w_shape: Shape, stride: tuple[int, int],
                            padding: tuple[int, int], dilation: tuple[int, int], groups: int) -> np.ndarray:
    grad_w = np.zeros(w_shape, dtype=x.dtype)
    if grad_w.size and x.shape[0]:
        _backward_weight_entries(contiguous(grad_y), contiguous(x), *stride, *padding, *dilation, groups, grad_w)
    return grad_w

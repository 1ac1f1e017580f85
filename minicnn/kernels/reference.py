"""The reference kernels: every heavy op of the engine in plain NumPy, the readable spec.

These are the formulas the fast Numba kernels (``minicnn/kernels/fast/``) reproduce, and the
oracle the tests compare them with. ``minicnn.kernels.use("reference")`` runs the whole engine
on them, so a student can step through a training step or a DeepLIFT pass in a debugger and see
the arithmetic itself. They are slow (a VGG step takes ~25x longer) but short.

All functions work on NCHW float32/float64 ndarrays (no Tensor, no autograd) with PyTorch's
semantics, return arrays of the input dtype, and trust their caller: the engine's functional
wrappers (``minicnn/ops/``) validate every argument before a kernel runs.

Notation: x (N, C, H, W) input, w (O, C, KH, KW) weights, stride (sh, sw), padding (ph, pw),
x_pad is x with ph zero rows above/below and pw zero columns left/right, and

    OH = (H + 2·ph − KH) // sh + 1,      OW = (W + 2·pw − KW) // sw + 1.
"""

from __future__ import annotations

import numpy as np

from ..typing import DTypeLike
from .windows import adaptive_bins, output_hw, pair, pooled_hw

__all__ = [
    "linear_forward", "linear_backward_input", "linear_backward_weight",
    "conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight",
    "max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward", "avg_pool2d_backward",
    "adaptive_avg_pool2d_forward", "adaptive_avg_pool2d_backward",
    "bilinear_resize_forward", "bilinear_resize_backward", "source_indices",
    "relu_forward", "relu_backward",
    "channel_affine_forward", "channel_affine_backward",
]


def offset_view(x_pad: np.ndarray, p: int, q: int, oh: int, ow: int, stride: tuple[int, int]) -> np.ndarray:
    """x_pad[..., i·sh + p, j·sw + q] for all i < OH, j < OW, as a strided view (..., OH, OW).

    A convolution or a pooling window is a sum (or max) over its KH·KW offsets (p, q); for one
    offset, the input elements of every window form this view, so each offset is one
    vectorised NumPy operation."""
    sh, sw = stride
    return x_pad[..., p:p + sh * (oh - 1) + 1:sh, q:q + sw * (ow - 1) + 1:sw]


def _pad(x: np.ndarray, padding: tuple[int, int], value: float = 0.0) -> np.ndarray:
    ph, pw = padding
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


# ---- dense layer ------------------------------------------------------------------------------

def linear_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """y = x Wᵀ + b  (x (N, in) or (*, in), W (out, in), b (out,) or None)."""
    y = x @ weight.T
    if bias is not None:
        y += bias
    return y


def linear_backward_input(grad_y: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """∂L/∂x = G W."""
    return grad_y @ weight


def linear_backward_weight(grad_y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """∂L/∂W = Gᵀ x, summed over every leading axis of x."""
    return grad_y.reshape(-1, grad_y.shape[-1]).T @ x.reshape(-1, x.shape[-1])


# ---- convolution ------------------------------------------------------------------------------
#
# With dilation (dh, dw) the taps of the kernel are d apart: offset (p, q) reads x_pad at
# (i·sh + dh·p, j·sw + dw·q). With G groups, x's C channels and w's O filters split into G groups
# (w has shape (O, C/G, KH, KW)) and filter o only sees the channels of its own group; the arrays
# are viewed as (N, G, C/G, H, W) and (G, O/G, C/G, KH, KW) so one einsum covers every group.

def _grouped(a: np.ndarray, groups: int) -> np.ndarray:
    """(N, C, H, W) viewed as (N, G, C/G, H, W)."""
    n, c, h, w = a.shape
    return a.reshape(n, groups, c // groups, h, w)


def _grouped_weight(w: np.ndarray, groups: int) -> np.ndarray:
    """(O, C/G, KH, KW) viewed as (G, O/G, C/G, KH, KW)."""
    o = w.shape[0]
    return w.reshape(groups, o // groups, *w.shape[1:])


def conv2d_forward(x: np.ndarray, w: np.ndarray, stride: tuple[int, int], padding: tuple[int, int],
                   bias: np.ndarray | None = None, dilation: tuple[int, int] = (1, 1),
                   groups: int = 1) -> np.ndarray:
    """y[n,o,i,j] = b[o] + Σ_{c ∈ group(o), p, q} w[o,c,p,q]·x_pad[n,c,i·sh + dh·p, j·sw + dw·q]:
    one loop over the KH·KW kernel offsets, an einsum over the channels of each group."""
    stride, padding, dilation = pair(stride), pair(padding), pair(dilation)
    oh, ow = output_hw(x.shape[2], x.shape[3], w.shape[2:], stride, padding, dilation)
    dh, dw = dilation
    x_pad = _grouped(_pad(x, padding), groups)
    wg = _grouped_weight(w, groups)
    y = np.zeros((x.shape[0], groups, wg.shape[1], oh, ow), dtype=x.dtype)
    for p in range(w.shape[2]):
        for q in range(w.shape[3]):
            view = offset_view(x_pad, dh * p, dw * q, oh, ow, stride)
            y += np.einsum("ngcij,goc->ngoij", view, wg[..., p, q])
    y = y.reshape(x.shape[0], w.shape[0], oh, ow)
    if bias is not None:
        y += bias.reshape(1, -1, 1, 1)
    return y


def conv2d_backward_input(grad_y: np.ndarray, w: np.ndarray, x_shape: tuple[int, ...], stride: tuple[int, int],
                          padding: tuple[int, int], dilation: tuple[int, int] = (1, 1),
                          groups: int = 1) -> np.ndarray:
    """∂L/∂x: every output gradient flows back to the inputs its window touched,
    grad_x_pad[n,c,i·sh + dh·p, j·sw + dw·q] += Σ_{o ∈ group(c)} w[o,c,p,q]·grad_y[n,o,i,j];
    padding is then dropped. Rows/columns beyond the last window (when the padded input is not
    covered by whole strides) get 0."""
    stride, padding, dilation = pair(stride), pair(padding), pair(dilation)
    n, c, h, wd = x_shape
    ph, pw = padding
    dh, dw = dilation
    oh, ow = grad_y.shape[2:]
    wg = _grouped_weight(w, groups)
    g = _grouped(grad_y, groups)
    grad_x_pad = np.zeros((n, groups, c // groups, h + 2 * ph, wd + 2 * pw), dtype=w.dtype)
    for p in range(w.shape[2]):
        for q in range(w.shape[3]):
            offset_view(grad_x_pad, dh * p, dw * q, oh, ow, stride)[...] += np.einsum(
                "ngoij,goc->ngcij", g, wg[..., p, q])
    grad_x_pad = grad_x_pad.reshape(n, c, h + 2 * ph, wd + 2 * pw)
    return np.ascontiguousarray(grad_x_pad[:, :, ph:ph + h, pw:pw + wd])


def conv2d_backward_weight(grad_y: np.ndarray, x: np.ndarray, w_shape: tuple[int, ...], stride: tuple[int, int],
                           padding: tuple[int, int], dilation: tuple[int, int] = (1, 1),
                           groups: int = 1) -> np.ndarray:
    """∂L/∂w[o,c,p,q] = Σ_{n,i,j} grad_y[n,o,i,j]·x_pad[n, c + C/G·group(o), i·sh + dh·p, j·sw + dw·q]."""
    stride, padding, dilation = pair(stride), pair(padding), pair(dilation)
    oh, ow = grad_y.shape[2:]
    dh, dw = dilation
    x_pad = _grouped(_pad(x, padding), groups)
    g = _grouped(grad_y, groups)
    grad_w = np.zeros((groups, w_shape[0] // groups) + tuple(w_shape[1:]), dtype=x.dtype)
    for p in range(w_shape[2]):
        for q in range(w_shape[3]):
            grad_w[..., p, q] = np.einsum("ngoij,ngcij->goc", g,
                                          offset_view(x_pad, dh * p, dw * q, oh, ow, stride))
    return grad_w.reshape(w_shape)


# ---- pooling ----------------------------------------------------------------------------------
#
# The window of output (i, j) is W(i, j) = {(i·sh − ph + p, j·sw − pw + q) : p < KH, q < KW},
# with ph ≤ KH/2 and pw ≤ KW/2 (PyTorch's rule: every window holds at least one real element).

def max_pool2d_forward(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int],
                       ceil_mode: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """y[n,c,i,j] = max_{(h,v) ∈ W(i,j)} x_pad[n,c,h,v], padding counting as −∞ (with
    ``ceil_mode``, so does the part of a last window that hangs over the padded input).

    Returns (y, argmax); argmax holds the flat index h·W + v into the *unpadded* plane of the
    chosen element. Ties go to the first element in row-major window order; a NaN counts as
    larger than everything (it propagates), and among several NaNs the last one is chosen,
    exactly as PyTorch's CPU kernel does (``if val > best or isnan(val)``)."""
    kernel, stride, padding = pair(kernel), pair(stride), pair(padding)
    kh, kw = kernel
    ph, pw = padding
    n, c, h, w = x.shape
    oh, ow = pooled_hw(h, w, kernel, stride, padding, ceil_mode)
    overhang = (max(0, (oh - 1) * stride[0] + kh - h - 2 * ph), max(0, (ow - 1) * stride[1] + kw - w - 2 * pw))
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph + overhang[0]), (pw, pw + overhang[1])), constant_values=-np.inf)
    best = np.full((n, c, oh, ow), -np.inf, dtype=x.dtype)
    argmax = np.full((n, c, oh, ow), -1, dtype=np.int64)
    rows = np.arange(oh)[:, None] * stride[0] - ph        # input row of offset p = 0
    cols = np.arange(ow)[None, :] * stride[1] - pw
    for p in range(kh):                                   # row-major window order
        for q in range(kw):
            val = offset_view(x_pad, p, q, oh, ow, stride)
            r, s = rows + p, cols + q
            inside = (r >= 0) & (r < h) & (s >= 0) & (s < w)
            # Strict '>' keeps the first of equal values; a NaN always wins; the first real
            # element is taken unconditionally so an all −∞ window still points into x.
            take = inside & ((val > best) | np.isnan(val) | (argmax < 0))
            best = np.where(take, val, best)
            argmax = np.where(take, r * w + s, argmax)
    return best, argmax


def max_pool2d_backward(grad_y: np.ndarray, argmax: np.ndarray, x_shape: tuple[int, ...]) -> np.ndarray:
    """The gradient goes to the argmax only: grad_x[n, c, argmax[n,c,i,j]] += grad_y[n,c,i,j]
    (overlapping windows that chose the same element accumulate)."""
    n, c, h, w = x_shape
    grad_x = np.zeros((n, c, h * w), dtype=grad_y.dtype)
    planes = np.arange(n * c).reshape(n, c, 1, 1)
    # np.add.at accumulates repeated indices (overlapping windows) instead of overwriting.
    np.add.at(grad_x.reshape(-1), (planes * (h * w) + argmax).ravel(), grad_y.ravel())
    return grad_x.reshape(x_shape)


def avg_pool2d_forward(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
                       padding: tuple[int, int]) -> np.ndarray:
    """y[n,c,i,j] = (1 / (KH·KW)) Σ_{(h,v) ∈ W(i,j)} x_pad[n,c,h,v]: padding counts as zeros
    and the divisor is always KH·KW (PyTorch's default, count_include_pad=True)."""
    kernel, stride, padding = pair(kernel), pair(stride), pair(padding)
    kh, kw = kernel
    oh, ow = output_hw(x.shape[2], x.shape[3], kernel, stride, padding)
    x_pad = _pad(x, padding)
    total = np.zeros((x.shape[0], x.shape[1], oh, ow), dtype=x.dtype)
    for p in range(kh):
        for q in range(kw):
            total += offset_view(x_pad, p, q, oh, ow, stride)
    return total / x.dtype.type(kh * kw)


def avg_pool2d_backward(grad_y: np.ndarray, x_shape: tuple[int, ...], kernel: tuple[int, int],
                        stride: tuple[int, int], padding: tuple[int, int]) -> np.ndarray:
    """grad_x[n,c,h,v] = Σ_{(i,j): (h,v) ∈ W(i,j)} grad_y[n,c,i,j] / (KH·KW)."""
    kernel, stride, padding = pair(kernel), pair(stride), pair(padding)
    kh, kw = kernel
    ph, pw = padding
    n, c, h, w = x_shape
    oh, ow = grad_y.shape[2:]
    share = grad_y / grad_y.dtype.type(kh * kw)
    grad_pad = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=grad_y.dtype)
    for p in range(kh):
        for q in range(kw):
            offset_view(grad_pad, p, q, oh, ow, stride)[...] += share
    return np.ascontiguousarray(grad_pad[:, :, ph:ph + h, pw:pw + w])


def adaptive_avg_pool2d_forward(x: np.ndarray, output_size: tuple[int, int]) -> np.ndarray:
    """y[n,c,i,j] = mean of x[n, c, h0(i):h1(i), w0(j):w1(j)] over PyTorch's bins
    (``windows.adaptive_bins``): output size (OH, OW) from any input size."""
    (oh, ow), (h, w) = output_size, x.shape[2:]
    y = np.empty(x.shape[:2] + (oh, ow), dtype=x.dtype)
    for i, (h0, h1) in enumerate(adaptive_bins(h, oh)):
        for j, (w0, w1) in enumerate(adaptive_bins(w, ow)):
            y[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    return y


def adaptive_avg_pool2d_backward(grad_y: np.ndarray, x_shape: tuple[int, ...]) -> np.ndarray:
    """Each grad_y[n,c,i,j] is shared equally by the elements of its bin (bins that overlap
    both pass their share to the elements they have in common)."""
    (oh, ow), (h, w) = grad_y.shape[2:], x_shape[2:]
    grad_x = np.zeros(x_shape, dtype=grad_y.dtype)
    for i, (h0, h1) in enumerate(adaptive_bins(h, oh)):
        for j, (w0, w1) in enumerate(adaptive_bins(w, ow)):
            share = grad_y[:, :, i, j] / grad_y.dtype.type((h1 - h0) * (w1 - w0))
            grad_x[:, :, h0:h1, w0:w1] += share[:, :, None, None]
    return grad_x


# ---- bilinear resizing ------------------------------------------------------------------------
#
# torch.nn.functional.interpolate(x, size, mode="bilinear", align_corners=False). For each axis
# (input length L_in, output length L_out), output index d reads from the source coordinate
# (half-pixel centres, clamped at the first pixel)
#
#     s = max((d + 0.5) · L_in / L_out − 0.5, 0),   i0 = ⌊s⌋,   i1 = min(i0 + 1, L_in − 1),
#     λ = s − i0,
#
# and the two axes combine as
#
#     y[n,c,i,j] = (1−α_i)·((1−β_j)·x[n,c,r0,c0] + β_j·x[n,c,r0,c1])
#                +    α_i ·((1−β_j)·x[n,c,r1,c0] + β_j·x[n,c,r1,c1])
#
# with (r0, r1, α) the row indices/weight of i and (c0, c1, β) the column indices/weight of j.
# Downsampling looks at 2 taps per axis too, as PyTorch does. The backward pass is the adjoint:
# each grad_y[n,c,i,j] is spread onto the same four inputs with the same four weights.

def source_indices(in_len: int, out_len: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per output index d: (i0, i1, λ) as above; int64, int64 and float64 arrays of length out_len."""
    scale = in_len / out_len
    src = (np.arange(out_len, dtype=np.float64) + 0.5) * scale - 0.5
    src = np.maximum(src, 0.0)          # outputs left of the first centre copy pixel 0
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, in_len - 1)  # outputs right of the last centre copy the last pixel
    return i0, i1, src - i0


def bilinear_axes(in_size: tuple[int, int], out_size: tuple[int, int], dtype: DTypeLike) -> tuple[np.ndarray, ...]:
    """(r0, r1, 1−α, α, c0, c1, 1−β, β) for both axes; the weights are cast to the data dtype so
    float32 data is interpolated in float32."""
    r0, r1, alpha = source_indices(in_size[0], out_size[0])
    c0, c1, beta = source_indices(in_size[1], out_size[1])
    return (r0, r1, (1.0 - alpha).astype(dtype), alpha.astype(dtype),
            c0, c1, (1.0 - beta).astype(dtype), beta.astype(dtype))


def bilinear_resize_forward(x: np.ndarray, out_size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of x (N, C, H, W) to (N, C, OH, OW): first along the width, then the height."""
    out_size = pair(out_size)
    r0, r1, a0, a1, c0, c1, b0, b1 = bilinear_axes(x.shape[2:], out_size, x.dtype)
    along_w = b0 * x[:, :, :, c0] + b1 * x[:, :, :, c1]                    # (N, C, H, OW)
    return a0[:, None] * along_w[:, :, r0, :] + a1[:, None] * along_w[:, :, r1, :]


def bilinear_resize_backward(grad_y: np.ndarray, in_size: tuple[int, int]) -> np.ndarray:
    """The adjoint of bilinear_resize_forward: grad_x (N, C, *in_size)."""
    in_size = pair(in_size)
    n, c, oh, ow = grad_y.shape
    r0, r1, a0, a1, c0, c1, b0, b1 = bilinear_axes(in_size, (oh, ow), grad_y.dtype)
    # Transpose of "combine rows": scatter each output row onto its two source rows
    # (np.add.at accumulates when several outputs share a source row). The `type: ignore`s:
    # NumPy's type stubs do not accept slices in ufunc.at's index, which NumPy itself does.
    along_w = np.zeros((n, c, in_size[0], ow), dtype=grad_y.dtype)
    np.add.at(along_w, (slice(None), slice(None), r0), a0[:, None] * grad_y)  # type: ignore[arg-type]
    np.add.at(along_w, (slice(None), slice(None), r1), a1[:, None] * grad_y)  # type: ignore[arg-type]
    # Transpose of "combine columns".
    grad_x = np.zeros((n, c, in_size[0], in_size[1]), dtype=grad_y.dtype)
    np.add.at(grad_x, (slice(None), slice(None), slice(None), c0), b0 * along_w)  # type: ignore[arg-type]
    np.add.at(grad_x, (slice(None), slice(None), slice(None), c1), b1 * along_w)  # type: ignore[arg-type]
    return grad_x


# ---- ReLU -------------------------------------------------------------------------------------

def relu_forward(z: np.ndarray) -> np.ndarray:
    """y = max(z, 0)  (a NaN stays NaN, as np.maximum)."""
    return np.maximum(z, 0)


def relu_backward(grad_y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """∂L/∂z = grad_y · [z > 0]  (0 at z = 0 and where z is NaN, as PyTorch)."""
    return np.where(z > 0, grad_y, 0).astype(np.result_type(grad_y, z), copy=False)


# ---- Per-channel affine map (batch normalisation in eval mode) -------------------------------

def _per_channel(v: np.ndarray, ndim: int) -> np.ndarray:
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def channel_affine_forward(x: np.ndarray, scale: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """y[n, c, …] = scale[c] · x[n, c, …] + shift[c], for x of shape (N, C, …) and scale, shift (C,).

    Batch normalisation in eval mode is this map with scale = γ/√(σ² + ε), shift = β − scale·μ
    (PyTorch computes its CPU eval-mode batch norm in the same two steps)."""
    return x * _per_channel(scale, x.ndim) + _per_channel(shift, x.ndim)


def channel_affine_backward(grad_y: np.ndarray, x: np.ndarray, scale: np.ndarray,
                            center: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For y = channel_affine_forward(x, scale, shift) and grad_y = ∂L/∂y:

        ∂L/∂x[n, c, …] = scale[c] · grad_y[n, c, …],
        Σ_{n, …} grad_y · (x − center[c])   and   Σ_{n, …} grad_y     (C,) each.

    The two sums are what batch norm's parameter gradients need in eval mode (center = μ):
    ∂L/∂γ = Σ g·x̂ = (1/σ)·Σ g·(x − μ) and ∂L/∂β = Σ g. They are accumulated in float64 and
    returned in x's dtype."""
    axes = (0,) + tuple(range(2, x.ndim))
    grad_x = grad_y * _per_channel(scale, x.ndim)
    centered = x.astype(np.float64) - _per_channel(center, x.ndim)
    weighted = (grad_y * centered).sum(axis=axes)
    total = grad_y.sum(axis=axes, dtype=np.float64)
    return grad_x, weighted.astype(x.dtype), total.astype(x.dtype)

"""2-D convolution (cross-correlation, as ``torch.nn.functional.conv2d``) on NCHW arrays.

Notation: x (N, C, H, W) input, w (O, C, KH, KW) weights, stride (sh, sw), padding (ph, pw),
x_pad is x with ph zero rows above/below and pw zero columns left/right, and

    OH = (H + 2·ph − KH) // sh + 1,      OW = (W + 2·pw − KW) // sw + 1.

Forward (no bias; the caller adds it):

    y[n,o,i,j] = Σ_{c,p,q} w[o,c,p,q] · x_pad[n, c, i·sh + p, j·sw + q]

The two backward functions are its derivatives for an upstream gradient g = ∂L/∂y:

    ∂L/∂x_pad[n,c,i·sh+p, j·sw+q] += Σ_o w[o,c,p,q] · g[n,o,i,j]      (then drop the padding)
    ∂L/∂w[o,c,p,q]                 = Σ_{n,i,j} g[n,o,i,j] · x_pad[n, c, i·sh+p, j·sw+q]

The readable version is ``minicnn/kernels/reference.py`` (one NumPy loop over the KH·KW kernel
offsets); this file is the fast one, with the same signatures. "im2col" copies every receptive field of an image into a column of a matrix
  cols[(c,p,q), (i,j)] = x_pad[c, i·sh+p, j·sw+q], so the image's convolution becomes one
  matrix product  y[n] = w.reshape(O, C·KH·KW) @ cols  that BLAS runs close to peak FLOP/s.
  The backward passes are the two other products (wᵀ @ g[n] and cols @ g[n]ᵀ); "col2im" adds
  the columns of wᵀ @ g[n] back onto the image. Numba ``prange`` kernels give each thread whole
  images: it copies, calls the GEMM (np.dot in Numba) and writes the result in place.
  3×3 stride-1 layers with at least 16 channels in and out go to ``winograd.py`` instead
  (2.25x fewer multiplications; the same results up to rounding).
"""

import numba
import numpy as np
import scipy.linalg.cython_blas  # noqa: F401  (loads the BLAS that np.dot inside Numba calls)
from numba import njit, prange

from ..windows import output_hw, pair
from . import grouped_conv, winograd
from .columns import valid_columns
from .threads import contiguous, per_thread, run_per_image, threaded

# ----------------------------------------------------------------------------------------------
# Numba kernels
# ----------------------------------------------------------------------------------------------
#
# The fast path works one image at a time: a thread builds the im2col matrix of its image,
# cols[(c·KH + p)·KW + q, i·OW + j] = x_pad[c, i·sh + p, j·sw + q]   (C·KH·KW rows, OH·OW columns),
# in a scratch buffer of its own (about 1 MB: it stays in the core's L2 cache) and hands it to a
# single-threaded BLAS GEMM called from inside Numba (np.dot, through SciPy's BLAS), whose output
# is already the NCHW plane block y[n]. Two threads work on two images at once. Compared with one
# big GEMM over the whole batch, nothing is copied into or out of a batch-wide matrix layout, and
# the columns never travel to main memory; that traffic, not the arithmetic, dominated before.
#
# Why the np.uint64(...) around indices: Numba supports negative indices (a[-1]) by testing the
# sign of every signed index, and that per-element test stops LLVM from vectorising the copy
# loops (3-4x slower here). The indices below are provably >= 0, so we say so with an unsigned
# type. Rows are taken as 1-D views once per row so the inner loops index a single axis.

@njit(cache=True)
def _im2col(x, kh, kw, sh, sw, ph, pw, i0, i1, ow, cols):
    """cols[(c·KH + p)·KW + q, (i − i0)·OW + j] = x_pad[c, i·sh + p, j·sw + q] for one image
    x (C, H, W) and the output rows i0 ≤ i < i1."""
    n_ch, height, width = x.shape
    for r in range(n_ch * kh * kw):
        c = r // (kh * kw)
        p = (r // kw) % kh
        q = r % kw
        lo, hi = valid_columns(q, pw, sw, width, ow)
        shift = q - pw                          # input column = j·sw + shift
        col_row = cols[r]
        for i in range(i0, i1):
            start = (i - i0) * ow
            ih = i * sh + p - ph
            if ih < 0 or ih >= height:          # the whole output row reads padding
                for j in range(ow):
                    col_row[np.uint64(start + j)] = 0
            else:
                x_row = x[c, ih]
                for j in range(lo):
                    col_row[np.uint64(start + j)] = 0
                for j in range(lo, hi):
                    col_row[np.uint64(start + j)] = x_row[np.uint64(j * sw + shift)]
                for j in range(hi, ow):
                    col_row[np.uint64(start + j)] = 0


@njit(cache=True)
def _col2im(cols, kh, kw, sh, sw, ph, pw, i0, i1, ow, grad_x):
    """Adjoint of _im2col: grad_x[c, i·sh+p−ph, j·sw+q−pw] += cols[(c,p,q), (i − i0, j)] for one
    image and the output rows i0 ≤ i < i1, always in the same order (bit-identical run to run)."""
    n_ch, height, width = grad_x.shape
    for c in range(n_ch):
        grad_plane = grad_x[c]
        for p in range(kh):
            for q in range(kw):
                col_row = cols[(c * kh + p) * kw + q]
                lo, hi = valid_columns(q, pw, sw, width, ow)
                shift = q - pw
                for i in range(i0, i1):
                    ih = i * sh + p - ph
                    if ih < 0 or ih >= height:
                        continue
                    start = (i - i0) * ow
                    grad_row = grad_plane[ih]
                    for j in range(lo, hi):
                        grad_row[np.uint64(j * sw + shift)] += col_row[np.uint64(start + j)]


# One thread per image. Each thread has its own slices of the scratch buffers
# (scratch[thread], thread = numba.get_thread_id()), flat so that a block of any width is a contiguous prefix.
# The forward and ∂L/∂x products go through blocks of `rows` output rows (see _rows_per_block).

@threaded
def _forward_images(x, w2, bias, kh, kw, sh, sw, ph, pw, oh, ow, rows, scratch, y_scratch, y):
    """y[n] = w2 @ im2col(x[n]) + b   (O × OH·OW): the convolution of every image. ``bias`` is
    (O,) or empty; it is added while y[n] is still in cache (a separate pass over y cost more)."""
    n_out, k = w2.shape
    for n in prange(x.shape[0]):
        thread = numba.get_thread_id()
        y_n = y[n]
        for i0 in range(0, oh, rows):
            i1 = min(i0 + rows, oh)
            width = (i1 - i0) * ow
            cols = scratch[thread, :k * width].reshape((k, width))
            _im2col(x[n], kh, kw, sh, sw, ph, pw, i0, i1, ow, cols)
            if width == oh * ow:                # the whole image at once: straight into y[n]
                np.dot(w2, cols, y_n)
            else:
                block = y_scratch[thread, :n_out * width].reshape((n_out, width))
                np.dot(w2, cols, block)
                y_n[:, i0 * ow:i1 * ow] = block
        for o in range(bias.shape[0]):
            y_n[o] += bias[o]


@threaded
def _backward_input_images(grad_y, w2_t, kh, kw, sh, sw, ph, pw, oh, ow, rows, scratch,
                           g_scratch, grad_x):
    """grad_x[n] = col2im(w2ᵀ @ grad_y[n]): each output gradient goes back to its receptive field."""
    k, n_out = w2_t.shape
    for n in prange(grad_y.shape[0]):
        thread = numba.get_thread_id()
        g_n = grad_y[n]
        grad_x[n][:, :, :] = 0
        for i0 in range(0, oh, rows):
            i1 = min(i0 + rows, oh)
            width = (i1 - i0) * ow
            cols = scratch[thread, :k * width].reshape((k, width))
            if width == oh * ow:
                np.dot(w2_t, g_n, cols)
            else:
                g_block = g_scratch[thread, :n_out * width].reshape((n_out, width))
                g_block[:, :] = g_n[:, i0 * ow:i1 * ow]
                np.dot(w2_t, g_block, cols)
            _col2im(cols, kh, kw, sh, sw, ph, pw, i0, i1, ow, grad_x[n])


@threaded
def _backward_weight_images(grad_y, x, kh, kw, sh, sw, ph, pw, oh, ow, scratch, partial):
    """partial[n] = im2col(x[n]) @ grad_y[n]ᵀ   (C·KH·KW × O): image n's share of ∂L/∂w.

    Stored per image and summed afterwards in image order, so the result does not depend on
    which thread handled which image. (One product per image: blocks only slowed this one.)"""
    k = partial.shape[1]
    for n in prange(x.shape[0]):
        cols = scratch[numba.get_thread_id(), :k * oh * ow].reshape((k, oh * ow))
        _im2col(x[n], kh, kw, sh, sw, ph, pw, 0, oh, ow, cols)
        np.dot(cols, grad_y[n].T, partial[n])


# ----------------------------------------------------------------------------------------------
# Block size
# ----------------------------------------------------------------------------------------------

# OpenBLAS has special kernels for small products, below about 10^6 multiply-adds (M·N·K) on
# AVX-512 machines, which ran the products of one block of rows much faster than its general
# kernel ran a whole image (docs/performance.md). So the forward and ∂L/∂x products are cut into
# blocks of whole output rows below that size, unless a block would be under 32 pixels wide
# (then they got slower again). Elsewhere it costs little.
_SMALL_GEMM = 10**6
_MIN_BLOCK_PIXELS = 32


def _rows_per_block(o, k, oh, ow):
    """Output rows per block for products of (o × k) @ (k × rows·OW)."""
    rows = _SMALL_GEMM // max(1, o * k * ow)
    if rows * ow < _MIN_BLOCK_PIXELS:
        return max(oh, 1)
    return max(1, min(rows, oh))


# ----------------------------------------------------------------------------------------------
# Fast public functions
# ----------------------------------------------------------------------------------------------

# ----------------------------------------------------------------------------------------------
# Dilation and groups
# ----------------------------------------------------------------------------------------------
#
# A dilated convolution (taps d apart) is an ordinary one with the dilated kernel
# w_d[o, c, d_h·p, d_w·q] = w[o, c, p, q] (zeros between the taps), so the im2col kernels below
# serve it unchanged, and its weight gradient is the dilated kernel's gradient at the taps.
# Grouped and depthwise convolutions go to grouped_conv.py's direct loops.

def _dilated(w, dilation):
    dh, dw = dilation
    o, c, kh, kw = w.shape
    w_d = np.zeros((o, c, dh * (kh - 1) + 1, dw * (kw - 1) + 1), dtype=w.dtype)
    w_d[:, :, ::dh, ::dw] = w
    return w_d


def conv2d_forward(x, w, stride, padding, bias=None, dilation=(1, 1), groups=1):
    """Convolution forward, y[n,o,i,j] = b[o] + Σ_{c,p,q} w[o,c,p,q]·x_pad[n,c,i·sh+dh·p, j·sw+dw·q].

    x (N, C, H, W) and w (O, C/groups, KH, KW) of the same float dtype; stride=(sh, sw),
    padding=(ph, pw); bias (O,) of that dtype or None (no bias). Returns y (N, O, OH, OW)."""
    stride, padding, dilation = pair(stride), pair(padding), pair(dilation)
    if groups > 1:
        out_hw = output_hw(x.shape[2], x.shape[3], w.shape[2:], stride, padding, dilation)
        return grouped_conv.grouped_forward(x, w, stride, padding, bias, dilation, groups, out_hw)
    if tuple(dilation) != (1, 1):
        return conv2d_forward(x, _dilated(w, dilation), stride, padding, bias)
    x, w = contiguous(x), contiguous(w)
    oh, ow = output_hw(x.shape[2], x.shape[3], w.shape[2:], stride, padding)
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    if n > 0 and winograd.applies(w.shape, stride, padding):
        return winograd.forward(x, w, padding, bias)
    k = c * kh * kw
    y = np.empty((n, o, oh * ow), dtype=x.dtype)
    if n > 0 and o > 0:
        bias = np.empty(0, dtype=x.dtype) if bias is None else bias
        rows = _rows_per_block(o, k, oh, ow)
        run_per_image(_forward_images, n, n * o * k * oh * ow, x, w.reshape(o, k), bias,
                      kh, kw, *stride, *padding, oh, ow, rows, per_thread((k * rows * ow,), x.dtype),
                      per_thread((o * rows * ow,), x.dtype), y)
    return y.reshape(n, o, oh, ow)


def conv2d_backward_input(grad_y, w, x_shape, stride, padding, dilation=(1, 1), groups=1):
    """∂L/∂x for y = conv2d_forward(x, w, stride, padding) given grad_y = ∂L/∂y:

        grad_x_pad[n,c,i·sh+p, j·sw+q] += Σ_o w[o,c,p,q]·grad_y[n,o,i,j],  padding dropped.

    Returns an array of shape x_shape in w's dtype; rows/columns of x that no window reaches
    (when H + 2ph − KH is not a multiple of sh) get zero gradient, as in PyTorch."""
    stride, padding, dilation = pair(stride), pair(padding), pair(dilation)
    if groups > 1:
        return grouped_conv.grouped_backward_input(grad_y, w, x_shape, stride, padding, dilation, groups)
    if tuple(dilation) != (1, 1):
        return conv2d_backward_input(grad_y, _dilated(w, dilation), x_shape, stride, padding)
    grad_y, w = contiguous(grad_y), contiguous(w)
    n, c, h, wd = x_shape
    oh, ow = grad_y.shape[2:]
    o, _, kh, kw = w.shape
    plane, k = oh * ow, c * kh * kw
    if n == 0 or c == 0 or o == 0:
        return np.zeros(x_shape, dtype=w.dtype)
    if winograd.applies(w.shape, stride, padding):
        return winograd.backward_input(grad_y, w, x_shape, padding)
    grad_x = np.empty(x_shape, dtype=w.dtype)
    rows = _rows_per_block(o, k, oh, ow)
    run_per_image(_backward_input_images, n, n * o * k * plane, grad_y.reshape(n, o, plane),
                  np.ascontiguousarray(w.reshape(o, k).T), kh, kw, *stride, *padding, oh, ow, rows,
                  per_thread((k * rows * ow,), w.dtype), per_thread((o * rows * ow,), w.dtype), grad_x)
    return grad_x


def conv2d_backward_weight(grad_y, x, w_shape, stride, padding, dilation=(1, 1), groups=1):
    """∂L/∂w for y = conv2d_forward(x, w, stride, padding) given grad_y = ∂L/∂y:

        grad_w[o,c,p,q] = Σ_{n,i,j} grad_y[n,o,i,j]·x_pad[n,c,i·sh+p, j·sw+q].

    Returns an array of shape w_shape in x's dtype."""
    stride, padding, dilation = pair(stride), pair(padding), pair(dilation)
    if groups > 1:
        return grouped_conv.grouped_backward_weight(grad_y, x, w_shape, stride, padding, dilation, groups)
    if tuple(dilation) != (1, 1):
        dh, dw = dilation
        o, c, kh, kw = w_shape
        dilated_shape = (o, c, dh * (kh - 1) + 1, dw * (kw - 1) + 1)
        grad_dilated = conv2d_backward_weight(grad_y, x, dilated_shape, stride, padding)
        return np.ascontiguousarray(grad_dilated[:, :, ::dh, ::dw])
    grad_y, x = contiguous(grad_y), contiguous(x)
    n, c, h, wd = x.shape
    oh, ow = grad_y.shape[2:]
    o, _, kh, kw = w_shape
    plane = oh * ow
    k = c * kh * kw
    if n == 0 or k == 0 or o == 0:
        return np.zeros(w_shape, dtype=x.dtype)
    if winograd.applies(w_shape, stride, padding):
        return winograd.backward_weight(grad_y, x, w_shape, padding)
    # grad_wᵀ[(c,p,q), o] = Σ_n im2col(x[n]) @ grad_y[n]ᵀ, one partial product per image.
    partial = np.empty((n, k, o), dtype=x.dtype)
    run_per_image(_backward_weight_images, n, n * o * k * plane, grad_y.reshape(n, o, plane), x,
                  kh, kw, *stride, *padding, oh, ow, per_thread((k * plane,), x.dtype), partial)
    grad_w_t = partial.sum(axis=0)
    return np.ascontiguousarray(grad_w_t.T).reshape(w_shape)

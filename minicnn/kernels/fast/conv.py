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
  the columns of wᵀ @ g[n] back onto the image. Numba ``prange`` kernels hand each thread work
  items — whole images, or fixed parts of a large one (bands of output rows, blocks of channels)
  so that a single image keeps every core busy: it copies, calls the GEMM (np.dot in Numba) and
  writes its part of the result in place. 3×3 stride-1 layers with at least 16 channels in and
  out go to ``winograd.py`` instead (2.25x fewer multiplications; the same results up to rounding).
"""

import numba
import numpy as np
import scipy.linalg.cython_blas  # noqa: F401  (loads the BLAS that np.dot inside Numba calls)
from numba import njit, prange

from ...typing import IntPair, Shape
from ..windows import output_hw, pair
from . import grouped_conv, winograd
from .columns import valid_columns
from .threads import ceil_div, contiguous, parts_per_image, per_thread, run_items, threaded

# ----------------------------------------------------------------------------------------------
# Numba kernels
# ----------------------------------------------------------------------------------------------
#
# The fast path works one item at a time: a thread builds the im2col matrix of its image (or of
# its part of the image),
# cols[(c·KH + p)·KW + q, i·OW + j] = x_pad[c, i·sh + p, j·sw + q]   (C·KH·KW rows, OH·OW columns),
# in a scratch buffer of its own (about 1 MB: it stays in the core's L2 cache) and hands it to a
# single-threaded BLAS GEMM called from inside Numba (np.dot, through SciPy's BLAS), whose output
# is already the NCHW plane block y[n]. Two threads work on two items at once. Compared with one
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


# Work items. An image is one item, or — when its convolution is large (threads.parts_per_image) —
# a few: bands of output rows or blocks of output channels for the forward product, blocks of
# input channels for the two backward ones. The cut depends only on the layer's shape, and every
# item writes a part of the result that no other item writes, so a batch of one image keeps both
# cores busy and the bits do not depend on the number of threads or on the batch size. Each
# thread has its own slices of the scratch buffers (scratch[thread], thread = numba.get_thread_id()),
# flat so that a block of any width is a contiguous prefix.

@threaded
def _forward_items(x, w2, bias, kh, kw, sh, sw, ph, pw, oh, ow, rows, o_block, scratch, y_scratch, y):
    """y[n, o0:o1, band] = w2[o0:o1] @ im2col(x[n], band) + b[o0:o1] for every item (n, band of
    ``rows`` output rows, block of ``o_block`` output channels). ``bias`` is (O,) or empty; it is
    added while the block is still in cache (a separate pass over y cost more)."""
    n_out, k = w2.shape
    bands = (oh + rows - 1) // rows
    o_blocks = (n_out + o_block - 1) // o_block
    per_image = bands * o_blocks
    for item in prange(x.shape[0] * per_image):
        n, band, ob = item // per_image, (item % per_image) // o_blocks, item % o_blocks
        thread = numba.get_thread_id()
        i0, o0 = band * rows, ob * o_block
        i1, o1 = min(i0 + rows, oh), min(o0 + o_block, n_out)
        width = (i1 - i0) * ow
        cols = scratch[thread, :k * width].reshape((k, width))
        _im2col(x[n], kh, kw, sh, sw, ph, pw, i0, i1, ow, cols)
        y_n = y[n]
        if width == oh * ow:                # whole planes at once: straight into y[n]
            out = y_n[o0:o1]
            np.dot(w2[o0:o1], cols, out)
            if bias.shape[0] > 0:
                for o in range(o0, o1):
                    out[o - o0] += bias[o]
        else:
            block = y_scratch[thread, :(o1 - o0) * width].reshape((o1 - o0, width))
            np.dot(w2[o0:o1], cols, block)
            for o in range(o0, o1):
                y_n[o, i0 * ow:i1 * ow] = block[o - o0]
                if bias.shape[0] > 0:
                    y_n[o, i0 * ow:i1 * ow] += bias[o]


@threaded
def _backward_input_items(grad_y, w2_t, kh, kw, sh, sw, ph, pw, oh, ow, rows, c_block, scratch,
                          g_scratch, grad_x):
    """grad_x[n, c0:c1] = col2im(w2ᵀ[rows of c0:c1] @ grad_y[n]) for every item (n, block of
    ``c_block`` input channels): cols rows (c, p, q) only reach grad_x[n, c], so the items write
    disjoint planes (adjacent blocks of output rows would overlap in input rows)."""
    k, n_out = w2_t.shape
    n_ch = grad_x.shape[1]
    taps = kh * kw
    c_blocks = (n_ch + c_block - 1) // c_block
    for item in prange(grad_y.shape[0] * c_blocks):
        n, cb = item // c_blocks, item % c_blocks
        thread = numba.get_thread_id()
        c0 = cb * c_block
        c1 = min(c0 + c_block, n_ch)
        w_rows = w2_t[c0 * taps:c1 * taps]
        k_block = (c1 - c0) * taps
        g_n = grad_y[n]
        grad_block = grad_x[n, c0:c1]
        grad_block[:, :, :] = 0
        for i0 in range(0, oh, rows):
            i1 = min(i0 + rows, oh)
            width = (i1 - i0) * ow
            cols = scratch[thread, :k_block * width].reshape((k_block, width))
            if width == oh * ow:
                np.dot(w_rows, g_n, cols)
            else:
                g_block = g_scratch[thread, :n_out * width].reshape((n_out, width))
                g_block[:, :] = g_n[:, i0 * ow:i1 * ow]
                np.dot(w_rows, g_block, cols)
            _col2im(cols, kh, kw, sh, sw, ph, pw, i0, i1, ow, grad_block)


@threaded
def _backward_weight_items(grad_y, x, kh, kw, sh, sw, ph, pw, oh, ow, c_block, scratch, partial):
    """partial[n, rows of c0:c1] = im2col(x[n, c0:c1]) @ grad_y[n]ᵀ for every item (n, block of
    ``c_block`` input channels): image n's share of ∂L/∂w, rows (c, p, q) of it.

    Stored per image and summed afterwards in image order, so the result does not depend on
    which thread handled which item. (One product per item: blocks of rows only slowed this one.)"""
    n_ch = x.shape[1]
    taps = kh * kw
    c_blocks = (n_ch + c_block - 1) // c_block
    for item in prange(x.shape[0] * c_blocks):
        n, cb = item // c_blocks, item % c_blocks
        c0 = cb * c_block
        c1 = min(c0 + c_block, n_ch)
        k_block = (c1 - c0) * taps
        cols = scratch[numba.get_thread_id(), :k_block * oh * ow].reshape((k_block, oh * ow))
        _im2col(x[n, c0:c1], kh, kw, sh, sw, ph, pw, 0, oh, ow, cols)
        np.dot(cols, grad_y[n].T, partial[n, c0 * taps:c1 * taps])


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
# How an image is cut into work items (shape only: see threads.parts_per_image)
# ----------------------------------------------------------------------------------------------

def _forward_split(o, k, oh, ow):
    """(rows per band, output channels per block) of the forward items. A large image is cut
    along whichever side of its product is smaller to repeat: every band re-reads the whole
    weight matrix w2 (O × K) and every channel block rebuilds the columns (K × OH·OW). So
    early layers (large planes, few channels) get bands of rows, deep ones blocks of channels."""
    parts = parts_per_image(o * k * oh * ow)
    if parts > 1 and o >= oh * ow:
        o_block = ceil_div(o, parts)
        return _rows_per_block(o_block, k, oh, ow), o_block
    rows = _rows_per_block(o, k, oh, ow)
    if parts > 1:
        rows = min(rows, ceil_div(oh, parts))
    return rows, o


def _channel_block(c, image_macs):
    """Input channels per item of the two backward products."""
    return ceil_div(c, parts_per_image(image_macs))


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


def conv2d_forward(x: np.ndarray, w: np.ndarray, stride: IntPair, padding: IntPair, bias: np.ndarray | None = None,
                   dilation: IntPair = (1, 1), groups: int = 1) -> np.ndarray:
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
    if n > 0 and winograd.applies(w.shape, stride, padding, (oh, ow)):
        return winograd.forward(x, w, padding, bias)
    k, plane = c * kh * kw, oh * ow
    y = np.empty((n, o, plane), dtype=x.dtype)
    if n > 0 and o > 0:
        bias = np.empty(0, dtype=x.dtype) if bias is None else bias
        rows, o_block = _forward_split(o, k, oh, ow)
        n_items = n * ceil_div(oh, rows) * ceil_div(o, o_block)
        run_items(_forward_items, n_items, n * o * k * plane, x, w.reshape(o, k), bias,
                  kh, kw, *stride, *padding, oh, ow, rows, o_block, per_thread((k * rows * ow,), x.dtype),
                  per_thread((o_block * rows * ow,), x.dtype), y)
    return y.reshape(n, o, oh, ow)


def conv2d_backward_input(grad_y: np.ndarray, w: np.ndarray, x_shape: Shape, stride: IntPair, padding: IntPair,
                          dilation: IntPair = (1, 1), groups: int = 1) -> np.ndarray:
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
    if winograd.applies(w.shape, stride, padding, (oh, ow)):
        return winograd.backward_input(grad_y, w, x_shape, padding)
    grad_x = np.empty(x_shape, dtype=w.dtype)
    c_block = _channel_block(c, o * k * plane)
    rows = _rows_per_block(o, c_block * kh * kw, oh, ow)
    run_items(_backward_input_items, n * ceil_div(c, c_block), n * o * k * plane,
              grad_y.reshape(n, o, plane), np.ascontiguousarray(w.reshape(o, k).T), kh, kw, *stride,
              *padding, oh, ow, rows, c_block, per_thread((c_block * kh * kw * rows * ow,), w.dtype),
              per_thread((o * rows * ow,), w.dtype), grad_x)
    return grad_x


def conv2d_backward_weight(grad_y: np.ndarray, x: np.ndarray, w_shape: Shape, stride: IntPair, padding: IntPair,
                           dilation: IntPair = (1, 1), groups: int = 1) -> np.ndarray:
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
    if winograd.applies(w_shape, stride, padding, (oh, ow)):
        return winograd.backward_weight(grad_y, x, w_shape, padding)
    # grad_wᵀ[(c,p,q), o] = Σ_n im2col(x[n]) @ grad_y[n]ᵀ, one partial product per image.
    partial = np.empty((n, k, o), dtype=x.dtype)
    c_block = _channel_block(c, o * k * plane)
    run_items(_backward_weight_items, n * ceil_div(c, c_block), n * o * k * plane,
              grad_y.reshape(n, o, plane), x, kh, kw, *stride, *padding, oh, ow, c_block,
              per_thread((c_block * kh * kw * plane,), x.dtype), partial)
    grad_w_t = partial.sum(axis=0)
    return np.ascontiguousarray(grad_w_t.T).reshape(w_shape)

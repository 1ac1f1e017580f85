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
offsets); this file is the fast one, with the same signatures. "im2col" copies every receptive
field of an image into a column of a matrix

  cols[(c,p,q), (i,j)] = x_pad[c, i·sh+p, j·sw+q],

so the image's convolution becomes one matrix product y[n] = w.reshape(O, C·KH·KW) @ cols that
BLAS runs close to peak FLOP/s. The backward passes are the two other products (wᵀ @ g[n] and
g[n] @ colsᵀ); "col2im" adds the columns of wᵀ @ g[n] back onto the image. Numba ``prange``
kernels hand each thread work items (whole images, or fixed parts of a large one: bands of
output rows, blocks of channels) so that a single image keeps every core busy; an item copies
its columns, calls the GEMM (``blas.gemm``, on strided views, so no operand is copied to make it
contiguous) and writes its part of the result in place. 3×3 stride-1 layers with at least 16
channels in and out go to ``winograd.py`` instead (2.25x fewer multiplications; the same results
up to rounding).
"""

import numba
import numpy as np
from numba import njit, prange

from ...typing import IntPair, Shape
from ..windows import output_hw, pair
from . import grouped_conv, winograd
from .blas import gemm
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
# single-threaded BLAS GEMM called from inside Numba (blas.gemm, through SciPy's BLAS), whose output
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

@njit(cache=True)
def _columns(x, n, c0, c1, kh, kw, sh, sw, ph, pw, i0, i1, ow, scratch):
    """The im2col matrix of x[n, c0:c1] for output rows i0 ≤ i < i1: rows (c, p, q), columns
    (i − i0)·OW + j. A 1×1 stride-1 unpadded convolution needs no copy, its matrix is x[n] itself
    (C × H·W, a view); any other builds it in ``scratch`` (this thread's buffer)."""
    n_ch, height, width = x.shape[1], x.shape[2], x.shape[3]
    if kh == 1 and kw == 1 and sh == 1 and sw == 1 and ph == 0 and pw == 0:
        return x[n].reshape((n_ch, height * width))[c0:c1, i0 * ow:i1 * ow]
    k = (c1 - c0) * kh * kw
    cols = scratch[:k * (i1 - i0) * ow].reshape((k, (i1 - i0) * ow))
    _im2col(x[n, c0:c1], kh, kw, sh, sw, ph, pw, i0, i1, ow, cols)
    return cols


@njit(cache=True, inline="always")
def _item_blocks(item, size_a, block_a, size_b, block_b):
    """Work item ``item`` of a 2-D cut: (image n, [a0, a1), [b0, b1)), the items of one image
    running over the blocks of side b fastest. Both sides are cut into blocks of fixed size."""
    blocks_a = (size_a + block_a - 1) // block_a
    blocks_b = (size_b + block_b - 1) // block_b
    per_image = blocks_a * blocks_b
    n, ab = item // per_image, item % per_image
    a0, b0 = (ab // blocks_b) * block_a, (ab % blocks_b) * block_b
    return n, a0, min(a0 + block_a, size_a), b0, min(b0 + block_b, size_b)


@threaded
def _forward_items(x, w2, bias, kh, kw, sh, sw, ph, pw, oh, ow, rows, o_block, scratch, y):
    """y[n, o0:o1, band] = w2[o0:o1] @ im2col(x[n], band) + b[o0:o1] for every item (n, band of
    ``rows`` output rows, block of ``o_block`` output channels). The GEMM writes straight into
    its block of y; ``bias`` is (O,) or empty, added while the block is still in cache (a
    separate pass over y cost more)."""
    n_out = w2.shape[0]
    per_image = ((oh + rows - 1) // rows) * ((n_out + o_block - 1) // o_block)
    for item in prange(x.shape[0] * per_image):
        n, i0, i1, o0, o1 = _item_blocks(item, oh, rows, n_out, o_block)
        cols = _columns(x, n, 0, x.shape[1], kh, kw, sh, sw, ph, pw, i0, i1, ow,
                        scratch[numba.get_thread_id()])
        out = y[n, o0:o1, i0 * ow:i1 * ow]
        gemm(w2[o0:o1], False, cols, False, out, False)
        if bias.shape[0] > 0:
            for o in range(o0, o1):
                out[o - o0] += bias[o]


@threaded
def _backward_input_items(grad_y, w2, kh, kw, sh, sw, ph, pw, oh, ow, rows, c_block, scratch, grad_x):
    """grad_x[n, c0:c1] = col2im(w2[:, rows of c0:c1]ᵀ @ grad_y[n]) for every item (n, block of
    ``c_block`` input channels): cols rows (c, p, q) only reach grad_x[n, c], so the items write
    disjoint planes (adjacent blocks of output rows would overlap in input rows). The GEMM reads
    w2's columns in place (BLAS's transpose flag: no transposed copy of the weights); for a 1×1
    stride-1 unpadded layer its result is already grad_x's block, with no col2im."""
    n_out, k = w2.shape
    n_ch = grad_x.shape[1]
    taps = kh * kw
    pointwise = kh == 1 and kw == 1 and sh == 1 and sw == 1 and ph == 0 and pw == 0
    c_blocks = (n_ch + c_block - 1) // c_block
    for item in prange(grad_y.shape[0] * c_blocks):
        n, cb = item // c_blocks, item % c_blocks
        c0 = cb * c_block
        c1 = min(c0 + c_block, n_ch)
        w_cols = w2[:, c0 * taps:c1 * taps]
        k_block = (c1 - c0) * taps
        g_n = grad_y[n]
        grad_block = grad_x[n, c0:c1]
        if pointwise:
            gemm(w_cols, True, g_n, False, grad_block.reshape((c1 - c0, oh * ow)), False)
            continue
        grad_block[:, :, :] = 0
        thread_scratch = scratch[numba.get_thread_id()]
        for i0 in range(0, oh, rows):
            i1 = min(i0 + rows, oh)
            width = (i1 - i0) * ow
            cols = thread_scratch[:k_block * width].reshape((k_block, width))
            gemm(w_cols, True, g_n[:, i0 * ow:i1 * ow], False, cols, False)
            _col2im(cols, kh, kw, sh, sw, ph, pw, i0, i1, ow, grad_block)


@threaded
def _backward_weight_items(grad_y, x, kh, kw, sh, sw, ph, pw, oh, ow, c_block, scratch, partial):
    """partial[n, :, rows of c0:c1] = grad_y[n] @ im2col(x[n, c0:c1])ᵀ for every item (n, block
    of ``c_block`` input channels): image n's share of ∂L/∂w, in w's own (O, C·KH·KW) layout, so
    nothing is transposed afterwards.

    Stored per image and summed afterwards in image order, so the result does not depend on
    which thread handled which item. (One product per item: blocks of rows only slowed this one.)"""
    n_ch = x.shape[1]
    taps = kh * kw
    c_blocks = (n_ch + c_block - 1) // c_block
    for item in prange(x.shape[0] * c_blocks):
        n, cb = item // c_blocks, item % c_blocks
        c0 = cb * c_block
        c1 = min(c0 + c_block, n_ch)
        cols = _columns(x, n, c0, c1, kh, kw, sh, sw, ph, pw, 0, oh, ow, scratch[numba.get_thread_id()])
        gemm(grad_y[n], False, cols, True, partial[n, :, c0 * taps:c1 * taps], False)


@threaded
def _pointwise_items(a, trans_a, b, trans_b, m_block, n_block, out):
    """out[n, m0:m1, n0:n1] = op(a[n])[m0:m1] @ op(b[n])[:, n0:n1] for every item (image n, block
    of ``m_block`` rows, block of ``n_block`` columns), op(m) = mᵀ when its flag is set; a stack
    of one matrix (the weights) serves every image.

    The two backward products of a 1×1 stride-1 unpadded convolution need no im2col and no
    col2im: ∂L/∂x[n] = w2ᵀ @ g[n] (C × H·W) and image n's ∂L/∂w = g[n] @ x[n]ᵀ (O × C). Every
    item writes its own block of out, so any cut is exact; ``_pointwise_split`` cuts the longer
    side of out, because BLAS runs a product with a thin side (16 columns) at a fraction of its
    rate."""
    rows, cols = out.shape[1], out.shape[2]
    per_image = ((rows + m_block - 1) // m_block) * ((cols + n_block - 1) // n_block)
    for item in prange(out.shape[0] * per_image):
        n, m0, m1, n0, n1 = _item_blocks(item, rows, m_block, cols, n_block)
        a_n = a[n if a.shape[0] > 1 else 0]
        b_n = b[n if b.shape[0] > 1 else 0]
        a_rows = a_n[:, m0:m1] if trans_a else a_n[m0:m1]
        b_cols = b_n[n0:n1] if trans_b else b_n[:, n0:n1]
        gemm(a_rows, trans_a, b_cols, trans_b, out[n, m0:m1, n0:n1], False)


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

def _forward_split(o, k, oh, ow, taps):
    """(rows per band, output channels per block) of the forward items of a large image.

    A band of output rows re-reads the whole weight matrix w2 (O × K); a block of output channels
    rebuilds the columns (K × OH·OW). For a layer with taps = KH·KW > 1 the columns are taps times
    the input and spill the core's L2 cache when every block rebuilds them, so such layers get
    bands, unless a band would be narrower than _MIN_BLOCK_PIXELS while the layer has more output
    channels than pixels (7×7 planes). 1×1 layers, whose columns are the input itself or a strided
    copy, get channel blocks when O ≥ OH·OW. (Measured in docs/performance.md.)"""
    parts = parts_per_image(o * k * oh * ow)
    band_pixels = ceil_div(oh, parts) * ow
    if parts > 1 and o >= oh * ow and (taps == 1 or band_pixels < _MIN_BLOCK_PIXELS):
        o_block = ceil_div(o, parts)
        return _rows_per_block(o_block, k, oh, ow), o_block
    rows = _rows_per_block(o, k, oh, ow)
    if parts > 1:
        rows = min(rows, ceil_div(oh, parts))
    return rows, o


def _channel_block(c, image_macs):
    """Input channels per item of the two backward products."""
    return ceil_div(c, parts_per_image(image_macs))


def _pointwise_split(rows, cols, image_macs):
    """(rows, columns) per block of a 1×1 layer's backward product out (rows × cols): the
    longer side is cut into parts_per_image pieces."""
    parts = parts_per_image(image_macs)
    if rows >= cols:
        return ceil_div(rows, parts), cols
    return rows, ceil_div(cols, parts)


def _pointwise(kh, kw, stride, padding):
    return (kh, kw) == (1, 1) and tuple(stride) == (1, 1) and tuple(padding) == (0, 0)


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
        rows, o_block = _forward_split(o, k, oh, ow, kh * kw)
        n_items = n * ceil_div(oh, rows) * ceil_div(o, o_block)
        run_items(_forward_items, n_items, n * o * k * plane, x, w.reshape(o, k), bias,
                  kh, kw, *stride, *padding, oh, ow, rows, o_block, per_thread((k * rows * ow,), x.dtype), y)
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
    if _pointwise(kh, kw, stride, padding):         # ∂L/∂x[n] = w2ᵀ @ g[n]
        c_rows, p_cols = _pointwise_split(c, plane, o * k * plane)
        run_items(_pointwise_items, n * ceil_div(c, c_rows) * ceil_div(plane, p_cols), n * o * k * plane,
                  w.reshape(1, o, c), True, grad_y.reshape(n, o, plane), False, c_rows, p_cols,
                  grad_x.reshape(n, c, plane))
        return grad_x
    c_block = _channel_block(c, o * k * plane)
    rows = _rows_per_block(o, c_block * kh * kw, oh, ow)
    run_items(_backward_input_items, n * ceil_div(c, c_block), n * o * k * plane,
              grad_y.reshape(n, o, plane), w.reshape(o, k), kh, kw, *stride, *padding, oh, ow, rows,
              c_block, per_thread((c_block * kh * kw * rows * ow,), w.dtype), grad_x)
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
    # grad_w[o, (c,p,q)] = Σ_n grad_y[n] @ im2col(x[n])ᵀ, one partial product per image.
    partial = np.empty((n, o, k), dtype=x.dtype)
    if _pointwise(kh, kw, stride, padding):         # image n's ∂L/∂w = g[n] @ x[n]ᵀ
        o_rows, c_cols = _pointwise_split(o, c, o * k * plane)
        run_items(_pointwise_items, n * ceil_div(o, o_rows) * ceil_div(c, c_cols), n * o * k * plane,
                  grad_y.reshape(n, o, plane), False, x.reshape(n, c, plane), True, o_rows, c_cols, partial)
        return (partial[0] if n == 1 else partial.sum(axis=0)).reshape(w_shape)
    c_block = _channel_block(c, o * k * plane)
    run_items(_backward_weight_items, n * ceil_div(c, c_block), n * o * k * plane,
              grad_y.reshape(n, o, plane), x, kh, kw, *stride, *padding, oh, ow, c_block,
              per_thread((c_block * kh * kw * plane,), x.dtype), partial)
    return (partial[0] if n == 1 else partial.sum(axis=0)).reshape(w_shape)

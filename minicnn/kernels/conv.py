"""2-D convolution (cross-correlation, as ``torch.nn.functional.conv2d``) on NCHW arrays.

Notation: x (N, C, H, W) input, w (O, C, KH, KW) weights, stride (sh, sw), padding (ph, pw),
x_pad is x with ph zero rows above/below and pw zero columns left/right, and

    OH = (H + 2·ph − KH) // sh + 1,      OW = (W + 2·pw − KW) // sw + 1.

Forward (no bias; the caller adds it):

    y[n,o,i,j] = Σ_{c,p,q} w[o,c,p,q] · x_pad[n, c, i·sh + p, j·sw + q]

The two backward functions are its derivatives for an upstream gradient g = ∂L/∂y:

    ∂L/∂x_pad[n,c,i·sh+p, j·sw+q] += Σ_o w[o,c,p,q] · g[n,o,i,j]      (then drop the padding)
    ∂L/∂w[o,c,p,q]                 = Σ_{n,i,j} g[n,o,i,j] · x_pad[n, c, i·sh+p, j·sw+q]

Two implementations sit side by side with the same signatures:

* ``*_reference``: plain NumPy, one loop over the KH·KW kernel offsets. Easy to read; the spec.
* the fast path: "im2col" copies every receptive field into a column of a matrix
  cols[(c,p,q), (n,i,j)] = x_pad[n, c, i·sh+p, j·sw+q], so the whole convolution becomes one
  matrix product  y = w.reshape(O, C·KH·KW) @ cols  that runs in BLAS at close to peak FLOP/s.
  The backward passes are the two other products (wᵀ @ g and g @ colsᵀ); "col2im" adds the
  columns of wᵀ @ g back onto the image. The copies are Numba ``prange`` kernels.
"""

import numpy as np
from numba import njit, prange

from ._checks import float_array, non_negative_pair, output_hw, positive_pair, same_dtype, shape4
from ._threads import threaded

# im2col materialises C·KH·KW·OH·OW values per image. Processing the batch in chunks of about
# this many bytes keeps that matrix in the last-level cache between the copy and the GEMM that
# reads it, instead of streaming hundreds of MB through main memory (and bounds peak memory).
_COLS_CHUNK_BYTES = 8 * 2**20


# ----------------------------------------------------------------------------------------------
# Validation shared by the fast and the reference versions
# ----------------------------------------------------------------------------------------------

def _check_forward(x, w, stride, padding):
    x = float_array(x, "x", 4)
    w = float_array(w, "w", 4)
    same_dtype(x, w, "x", "w")
    if w.shape[1] != x.shape[1]:
        raise ValueError(f"w has {w.shape[1]} input channels (w.shape={w.shape}) but x has "
                         f"{x.shape[1]} channels (x.shape={x.shape})")
    stride = positive_pair(stride, "stride")
    padding = non_negative_pair(padding, "padding")
    oh, ow = output_hw(x.shape[2], x.shape[3], w.shape[2:], stride, padding, "x")
    return x, w, stride, padding, oh, ow


def _check_grad_y(grad_y, n, o, oh, ow, dtype):
    grad_y = float_array(grad_y, "grad_y", 4)
    if grad_y.shape != (n, o, oh, ow):
        raise ValueError(f"grad_y must have shape {(n, o, oh, ow)} (the forward output), "
                         f"got {grad_y.shape}")
    if grad_y.dtype != dtype:
        raise TypeError(f"grad_y must have dtype {np.dtype(dtype)}, got {grad_y.dtype}")
    return grad_y


def _check_backward_input(grad_y, w, x_shape, stride, padding):
    w = float_array(w, "w", 4)
    n, c, h, wd = shape4(x_shape, "x_shape")
    if w.shape[1] != c:
        raise ValueError(f"w has {w.shape[1]} input channels but x_shape={x_shape} has {c}")
    stride = positive_pair(stride, "stride")
    padding = non_negative_pair(padding, "padding")
    oh, ow = output_hw(h, wd, w.shape[2:], stride, padding, "x")
    grad_y = _check_grad_y(grad_y, n, w.shape[0], oh, ow, w.dtype)
    return grad_y, w, (n, c, h, wd), stride, padding, oh, ow


def _check_backward_weight(grad_y, x, w_shape, stride, padding):
    x = float_array(x, "x", 4)
    o, c, kh, kw = shape4(w_shape, "w_shape")
    if c != x.shape[1]:
        raise ValueError(f"w_shape={w_shape} has {c} input channels but x has {x.shape[1]}")
    stride = positive_pair(stride, "stride")
    padding = non_negative_pair(padding, "padding")
    oh, ow = output_hw(x.shape[2], x.shape[3], (kh, kw), stride, padding, "x")
    grad_y = _check_grad_y(grad_y, x.shape[0], o, oh, ow, x.dtype)
    return grad_y, x, (o, c, kh, kw), stride, padding, oh, ow


# ----------------------------------------------------------------------------------------------
# Reference versions: loop over the KH·KW kernel offsets, vectorise everything else
# ----------------------------------------------------------------------------------------------

def _offset_view(x_pad, p, q, oh, ow, stride):
    """x_pad[:, :, i·sh + p, j·sw + q] for all i < OH, j < OW, as a strided view (N, C, OH, OW)."""
    sh, sw = stride
    return x_pad[:, :, p:p + sh * (oh - 1) + 1:sh, q:q + sw * (ow - 1) + 1:sw]


def conv2d_forward_reference(x, w, stride, padding):
    """Reference forward: y[n,o,i,j] = Σ_{c,p,q} w[o,c,p,q]·x_pad[n,c,i·sh+p, j·sw+q]."""
    x, w, stride, padding, oh, ow = _check_forward(x, w, stride, padding)
    ph, pw = padding
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    y = np.zeros((x.shape[0], w.shape[0], oh, ow), dtype=x.dtype)
    for p in range(w.shape[2]):
        for q in range(w.shape[3]):
            y += np.einsum("ncij,oc->noij", _offset_view(x_pad, p, q, oh, ow, stride), w[:, :, p, q])
    return y


def conv2d_backward_input_reference(grad_y, w, x_shape, stride, padding):
    """Reference ∂L/∂x: every output gradient flows back to the inputs its window touched,
    grad_x_pad[n,c,i·sh+p, j·sw+q] += Σ_o w[o,c,p,q]·grad_y[n,o,i,j]; padding is then dropped.
    Rows/columns beyond the last window (when H + 2ph − KH is not a multiple of sh) get 0."""
    grad_y, w, x_shape, stride, padding, oh, ow = _check_backward_input(
        grad_y, w, x_shape, stride, padding)
    n, c, h, wd = x_shape
    ph, pw = padding
    grad_x_pad = np.zeros((n, c, h + 2 * ph, wd + 2 * pw), dtype=w.dtype)
    for p in range(w.shape[2]):
        for q in range(w.shape[3]):
            _offset_view(grad_x_pad, p, q, oh, ow, stride)[...] += np.einsum(
                "noij,oc->ncij", grad_y, w[:, :, p, q])
    return np.ascontiguousarray(grad_x_pad[:, :, ph:ph + h, pw:pw + wd])


def conv2d_backward_weight_reference(grad_y, x, w_shape, stride, padding):
    """Reference ∂L/∂w[o,c,p,q] = Σ_{n,i,j} grad_y[n,o,i,j]·x_pad[n,c,i·sh+p, j·sw+q]."""
    grad_y, x, w_shape, stride, padding, oh, ow = _check_backward_weight(
        grad_y, x, w_shape, stride, padding)
    ph, pw = padding
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    grad_w = np.zeros(w_shape, dtype=x.dtype)
    for p in range(w_shape[2]):
        for q in range(w_shape[3]):
            grad_w[:, :, p, q] = np.einsum("noij,ncij->oc", grad_y,
                                           _offset_view(x_pad, p, q, oh, ow, stride))
    return grad_w


# ----------------------------------------------------------------------------------------------
# Numba kernels
# ----------------------------------------------------------------------------------------------

@njit(cache=True, inline="always")
def _valid_columns(q, pw, sw, width, ow):
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


# Why the np.uint64(...) around indices: Numba supports negative indices (a[-1]) by testing the
# sign of every signed index, and that per-element test stops LLVM from vectorising the copy
# loops (3-4x slower here). The indices below are provably >= 0, so we say so with an unsigned
# type. Rows are taken as 1-D views once per row so the inner loops index a single axis.

@threaded
def _im2col(x, kh, kw, sh, sw, ph, pw, oh, ow, cols):
    """cols[(c·KH + p)·KW + q, (n·OH + i)·OW + j] = x_pad[n, c, i·sh + p, j·sw + q]."""
    n_img, n_ch, height, width = x.shape
    plane = oh * ow
    # One thread per row of cols: each row is a contiguous stretch of memory written by one thread.
    for r in prange(n_ch * kh * kw):
        c = r // (kh * kw)
        p = (r // kw) % kh
        q = r % kw
        lo, hi = _valid_columns(q, pw, sw, width, ow)
        shift = q - pw                          # input column = j·sw + shift
        col_row = cols[r]
        for n in range(n_img):
            for i in range(oh):
                start = n * plane + i * ow
                ih = i * sh + p - ph
                if ih < 0 or ih >= height:      # the whole output row reads padding
                    for j in range(ow):
                        col_row[np.uint64(start + j)] = 0
                else:
                    x_row = x[n, c, ih]
                    for j in range(lo):
                        col_row[np.uint64(start + j)] = 0
                    for j in range(lo, hi):
                        col_row[np.uint64(start + j)] = x_row[np.uint64(j * sw + shift)]
                    for j in range(hi, ow):
                        col_row[np.uint64(start + j)] = 0


@threaded
def _col2im(cols, kh, kw, sh, sw, ph, pw, oh, ow, grad_x):
    """Adjoint of _im2col: grad_x[n, c, i·sh+p−ph, j·sw+q−pw] += cols[(c,p,q), (n,i,j)].

    Each thread owns whole (n, c) planes of grad_x and adds into them in a fixed order, so there
    are no races and the result is bit-identical from run to run."""
    n_img, n_ch, height, width = grad_x.shape
    plane = oh * ow
    for t in prange(n_img * n_ch):
        n = t // n_ch
        c = t % n_ch
        grad_plane = grad_x[n, c]
        grad_plane[:, :] = 0
        for p in range(kh):
            for q in range(kw):
                col_row = cols[(c * kh + p) * kw + q]
                lo, hi = _valid_columns(q, pw, sw, width, ow)
                shift = q - pw
                for i in range(oh):
                    ih = i * sh + p - ph
                    if ih < 0 or ih >= height:
                        continue
                    start = n * plane + i * ow
                    grad_row = grad_plane[ih]
                    for j in range(lo, hi):
                        grad_row[np.uint64(j * sw + shift)] += col_row[np.uint64(start + j)]


@threaded
def _swap_leading_axes(src, dst):
    """dst[b, a, :] = src[a, b, :]: moves between the (N, O, P) image layout and the (O, N·P)
    matrix layout the single batched GEMM wants (a parallel copy of contiguous rows)."""
    n_a, n_b, inner = src.shape
    for t in prange(n_a * n_b):
        a = t // n_b
        b = t % n_b
        for k in range(inner):
            dst[b, a, k] = src[a, b, k]


def _batch_chunk(n, bytes_per_image):
    """How many images to im2col at once (at least 1)."""
    return max(1, min(n, _COLS_CHUNK_BYTES // max(1, bytes_per_image)))


def _buffer(size, dtype):
    """Flat scratch buffer; ``_view(buf, shape)`` takes a C-contiguous prefix of it, so the last,
    smaller chunk still hands Numba and BLAS contiguous arrays (no strided-view fallbacks)."""
    return np.empty(size, dtype=dtype)


def _view(buf, shape):
    return buf[:int(np.prod(shape))].reshape(shape)


def _is_pointwise(kh, kw, stride, padding):
    # A 1×1 kernel with stride 1 and no padding reads each pixel exactly once: im2col is a reshape.
    return kh == 1 and kw == 1 and stride == (1, 1) and padding == (0, 0)


# ----------------------------------------------------------------------------------------------
# Fast public functions
# ----------------------------------------------------------------------------------------------

def conv2d_forward(x, w, stride, padding):
    """Convolution forward, y[n,o,i,j] = Σ_{c,p,q} w[o,c,p,q]·x_pad[n,c,i·sh+p, j·sw+q].

    x (N, C, H, W) and w (O, C, KH, KW) of the same float dtype; stride=(sh, sw),
    padding=(ph, pw). Returns y (N, O, OH, OW) in that dtype. No bias."""
    x, w, stride, padding, oh, ow = _check_forward(x, w, stride, padding)
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    w2 = w.reshape(o, c * kh * kw)
    if _is_pointwise(kh, kw, stride, padding):
        return np.matmul(w2, x.reshape(n, c, h * wd)).reshape(n, o, oh, ow)
    plane = oh * ow
    y = np.empty((n, o, plane), dtype=x.dtype)
    chunk = _batch_chunk(n, w2.shape[1] * plane * x.itemsize)
    cols = _buffer(w2.shape[1] * chunk * plane, x.dtype)
    y_mat = _buffer(o * chunk * plane, x.dtype)
    for n0 in range(0, n, chunk):
        m = min(chunk, n - n0)
        cols_m = _view(cols, (w2.shape[1], m * plane))
        _im2col(x[n0:n0 + m], kh, kw, *stride, *padding, oh, ow, cols_m)
        y_m = np.matmul(w2, cols_m, out=_view(y_mat, (o, m * plane)))
        _swap_leading_axes(y_m.reshape(o, m, plane), y[n0:n0 + m])
    return y.reshape(n, o, oh, ow)


def conv2d_backward_input(grad_y, w, x_shape, stride, padding):
    """∂L/∂x for y = conv2d_forward(x, w, stride, padding) given grad_y = ∂L/∂y:

        grad_x_pad[n,c,i·sh+p, j·sw+q] += Σ_o w[o,c,p,q]·grad_y[n,o,i,j],  padding dropped.

    Returns an array of shape x_shape in w's dtype; rows/columns of x that no window reaches
    (when H + 2ph − KH is not a multiple of sh) get zero gradient, as in PyTorch."""
    grad_y, w, x_shape, stride, padding, oh, ow = _check_backward_input(
        grad_y, w, x_shape, stride, padding)
    n, c, h, wd = x_shape
    o, _, kh, kw = w.shape
    w2 = w.reshape(o, c * kh * kw)
    plane = oh * ow
    if _is_pointwise(kh, kw, stride, padding):
        return np.matmul(w2.T, grad_y.reshape(n, o, plane)).reshape(x_shape)
    if n == 0 or c == 0:
        return np.zeros(x_shape, dtype=w.dtype)
    grad_x = np.empty(x_shape, dtype=w.dtype)
    chunk = _batch_chunk(n, w2.shape[1] * plane * w.itemsize)
    g_buf = _buffer(o * chunk * plane, w.dtype)
    cols = _buffer(w2.shape[1] * chunk * plane, w.dtype)
    for n0 in range(0, n, chunk):
        m = min(chunk, n - n0)
        g_m = _view(g_buf, (o, m, plane))
        _swap_leading_axes(grad_y[n0:n0 + m].reshape(m, o, plane), g_m)
        cols_m = np.matmul(w2.T, g_m.reshape(o, m * plane), out=_view(cols, (w2.shape[1], m * plane)))
        _col2im(cols_m, kh, kw, *stride, *padding, oh, ow, grad_x[n0:n0 + m])
    return grad_x


def conv2d_backward_weight(grad_y, x, w_shape, stride, padding):
    """∂L/∂w for y = conv2d_forward(x, w, stride, padding) given grad_y = ∂L/∂y:

        grad_w[o,c,p,q] = Σ_{n,i,j} grad_y[n,o,i,j]·x_pad[n,c,i·sh+p, j·sw+q].

    Returns an array of shape w_shape in x's dtype."""
    grad_y, x, w_shape, stride, padding, oh, ow = _check_backward_weight(
        grad_y, x, w_shape, stride, padding)
    n, c, h, wd = x.shape
    o, _, kh, kw = w_shape
    plane = oh * ow
    k = c * kh * kw
    # Same product, two memory orders: grad_wᵀ = cols @ gᵀ ran 1.5-2x faster than g @ colsᵀ in
    # float32 with OpenBLAS (AVX-512 kernels) and no faster in float64, so float32 uses it.
    transposed = x.dtype == np.float32
    grad_w = np.zeros((k, o) if transposed else (o, k), dtype=x.dtype)
    if n == 0:
        return np.zeros(w_shape, dtype=x.dtype)
    pointwise = _is_pointwise(kh, kw, stride, padding)
    chunk = _batch_chunk(n, k * plane * x.itemsize)
    g_buf = _buffer(o * chunk * plane, x.dtype)
    cols = _buffer(k * chunk * plane, x.dtype)
    partial = np.empty_like(grad_w)
    for n0 in range(0, n, chunk):
        m = min(chunk, n - n0)
        g_m = _view(g_buf, (o, m, plane))
        _swap_leading_axes(grad_y[n0:n0 + m].reshape(m, o, plane), g_m)
        g_m = g_m.reshape(o, m * plane)
        cols_m = _view(cols, (k, m, plane))
        if pointwise:
            _swap_leading_axes(x[n0:n0 + m].reshape(m, c, plane), cols_m)
        else:
            _im2col(x[n0:n0 + m], kh, kw, *stride, *padding, oh, ow, cols_m.reshape(k, m * plane))
        cols_m = cols_m.reshape(k, m * plane)
        # Chunks are summed in a fixed order, so the result is deterministic.
        if transposed:
            grad_w += np.matmul(cols_m, g_m.T, out=partial)
        else:
            grad_w += np.matmul(g_m, cols_m.T, out=partial)
    if transposed:
        grad_w = grad_w.T
    return np.ascontiguousarray(grad_w).reshape(w_shape)

"""Winograd's minimal filtering F(2×2, 3×3) for 3×3 stride-1 convolutions (Lavin & Gray, 2016).

Each 2×2 block of outputs is computed from the 4×4 input tile d that covers it, for a 3×3
filter g, as

    Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A            (⊙: element-wise product)

    Bᵀ = [[1,  0, −1,  0],      G = [[1,    0,   0],      Aᵀ = [[1, 1,  1,  0],
          [0,  1,  1,  0],           [1/2,  1/2, 1/2],           [0, 1, −1, −1]]
          [0, −1,  1,  0],           [1/2, −1/2, 1/2],
          [0,  1,  0, −1]]           [0,    0,   1]]

16 multiplications per tile and channel pair instead of 36. Summed over the input channels the
element-wise products become 16 independent matrix products, one per position ξ of the 4×4
transformed tile:

    M_ξ[t, o] = Σ_c V_ξ[t, c] · U_ξ[c, o],     V = Bᵀ d B (tile t, channel c),  U = G g Gᵀ,

so a convolution is an input transform, 16 GEMMs with 2.25x fewer FLOPs than im2col, and an
output transform. Backward, as the adjoints of the same linear steps:

    ∂L/∂x  a stride-1 3×3 convolution of ∂L/∂y, padded by 2 − p, with the filters flipped and
           transposed (w'[c, o, p, q] = w[o, c, 2−p, 2−q]): the forward algorithm again;
    ∂L/∂w  with M̄ = A Ȳ Aᵀ (the adjoint of the output transform; Ȳ a 2×2 tile of ∂L/∂y):
           Ū_ξ = Σ_t V_ξ[t]ᵀ M̄_ξ[t]  (16 GEMMs per image), and ∂L/∂g = Gᵀ Ū G.

Tiles: the output (OH, OW) is covered by TH × TW tiles of 2×2 (TH = ⌈OH/2⌉); tile t = a·TW + b
reads rows 2a..2a+3 and columns 2b..2b+3 of x_pad. As in conv.py each Numba thread takes work
items — whole images, or for a large image fixed bands of tile rows or blocks of channels
(`_split`) — with its buffers in its core's cache and single-threaded GEMMs (small enough for
OpenBLAS's small-matrix kernels). The rows of a band are first copied into a zero-padded
channels-last buffer xp (2·rows + 2, 2·TW + 2, C), so every tile is in range and the transforms
run over contiguous channels, which LLVM vectorises. The engine's functional wrappers validate inputs.
"""

import numba
import numpy as np
from numba import njit, prange

from .threads import ceil_div, one_blas_thread, parts_per_image, per_thread, run_items, threaded

G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])

# Below this many input or output channels the 16 products get too thin and im2col is faster
# (a first layer on RGB images, C = 3, ran 3-4x slower with Winograd).
MIN_CHANNELS = 16


# Below MIN_TILES 2×2 tiles per image (14×14 planes: 49, 7×7: 16) and from BIG_FILTERS = C·O on,
# the filter transforms, which read C·O·9 and write C·O·16 values per call and no longer fit in
# cache, and the 16 thin products (49 tiles) cost more than the 2.25x fewer multiplications save.
# Batch 1, float32, 2 threads, forward / ∂L/∂x / ∂L/∂w in ms (2026-12-02, minima of 15):
# ResNet's 256 × 256 × 3 × 3 on 14×14 took 3.6 / 3.0 / 4.2 with Winograd and 2.3 / 1.7 / 1.7
# with im2col, 128 × 128 on 14×14 1.0 / 0.9 / 1.3 against 0.65 / 0.50 / 0.54, and 512 × 512 on
# 7×7 11.7 / 8.8 / 15.2 against 2.3 / 1.9 / 2.0; on 28×28 planes (196 tiles) the two tie and on
# 56×56 Winograd wins (64 channels: 1.4 / 1.3 / 1.7 against 2.0 / 2.7 / 2.6). At batch 16 the
# transforms are shared by 16 images and Winograd would win on 14×14 too (256 channels, forward:
# 24 against 36 ms), but the choice is the layer's, not the batch's, so that an image gives the
# same bits alone or in a batch; batch 1 (one photo explained) is the case chosen for.
# Small filter banks stay in cache.
MIN_TILES = 64
BIG_FILTERS = 128 * 128


def applies(w_shape, stride, padding, out_hw=None):
    """True for the convolutions computed here: 3×3, stride 1, padding at most 2 (∂L/∂x pads
    ∂L/∂y by 2 − p), at least MIN_CHANNELS input and output channels and, if the output plane
    (OH, OW) is given, at least MIN_TILES tiles in it for big filter banks (a property of the
    layer, not of the batch)."""
    o, c, kh, kw = w_shape
    return ((kh, kw) == (3, 3) and tuple(stride) == (1, 1) and max(padding) <= 2
            and min(o, c) >= MIN_CHANNELS
            and (out_hw is None or o * c < BIG_FILTERS
                 or _tiles(*out_hw)[0] * _tiles(*out_hw)[1] >= MIN_TILES))


# ----------------------------------------------------------------------------------------------
# The 1-D transforms: each matrix applied to one column (or row) of a tile
# ----------------------------------------------------------------------------------------------

@njit(cache=True, inline="always")
def _bt(d0, d1, d2, d3):
    """Bᵀ · (d0, d1, d2, d3)."""
    return d0 - d2, d1 + d2, d2 - d1, d1 - d3


@njit(cache=True, inline="always")
def _at(m0, m1, m2, m3):
    """Aᵀ · (m0, m1, m2, m3)."""
    return m0 + m1 + m2, m1 - m2 - m3


@njit(cache=True, inline="always")
def _a(y0, y1):
    """A · (y0, y1), the adjoint of _at."""
    return y0, y0 + y1, y0 - y1, -y1


# ----------------------------------------------------------------------------------------------
# The filter transforms, U = G g Gᵀ and ∂L/∂g = Gᵀ Ū G, as one GEMM each with the Kronecker
# product (G ⊗ G)[4i + j, 3p + q] = G[i, p]·G[j, q]: U_ξ[c, o] = Σ_pq (G ⊗ G)[ξ, pq]·w[o, c, pq].
# With tensordot (float64 temporaries and a transposed copy of U) they took longer than the whole
# convolution of a deep layer at batch 1 (512 × 512 filters: 100+ ms against a few ms).
# ----------------------------------------------------------------------------------------------

GG = np.kron(G, G)                               # (16, 9)


def filter_transform(w, flip, o_block, dtype):
    """U (blocks, 16, C, o_block), u[b, ξ, c, o − b·o_block] = (G g Gᵀ)_ξ for g = w[o, c], the last
    block zero-padded. With ``flip``, the filters of ∂L/∂x instead: g[p, q] = w[c, o, 2−p, 2−q]."""
    gg = GG.astype(dtype)
    if flip:                                     # o ↔ c, and the 9 taps reversed
        gg = gg[:, ::-1]
        w = w.transpose(1, 0, 2, 3)
    n_out, n_ch = w.shape[:2]
    blocks = ceil_div(n_out, o_block)
    if blocks * o_block != n_out:
        w = np.concatenate([w, np.zeros((blocks * o_block - n_out,) + w.shape[1:], dtype=w.dtype)])
    # (blocks, C, o_block, 9): for one block without flip this is just w transposed to (C, O, 9).
    taps = np.ascontiguousarray(w.reshape(blocks, o_block, n_ch, 9).transpose(0, 2, 1, 3), dtype=dtype)
    u = np.empty((blocks, 16, n_ch, o_block), dtype=dtype)
    with one_blas_thread():
        for b in range(blocks):
            np.dot(gg, taps[b].reshape(n_ch * o_block, 9).T, out=u[b].reshape(16, n_ch * o_block))
    return u


def filter_gradient(partial, dtype):
    """∂L/∂g (O, C, 3, 3) = Gᵀ Ū G with Ū = Σ_k partial[k] (16, C, O), summed in order of k."""
    u_bar = partial[0] if len(partial) == 1 else partial.sum(axis=0)
    n_ch, n_out = u_bar.shape[1:]
    with one_blas_thread():
        g = GG.T.astype(dtype) @ u_bar.reshape(16, n_ch * n_out)              # (9, C·O)
    return np.ascontiguousarray(g.reshape(3, 3, n_ch, n_out).transpose(3, 2, 0, 1))


# ----------------------------------------------------------------------------------------------
# Per-image steps. Each inner loop runs over contiguous channels and touches few arrays (written
# with 16 inputs and 16 outputs in one loop, LLVM did not vectorise it and it ran 12x slower).
# ----------------------------------------------------------------------------------------------

@njit(cache=True)
def _padded_rows(x, ph, pw, r0, xp):
    """xp[r − r0, pw + v, c] = x[c, r − ph, v] for the rows r0 ≤ r < r0 + len(xp) of the padded
    image x_pad (x one image (C, H, W)); 0 where x_pad is padding or beyond it."""
    n_ch, height, width = x.shape
    xp[:, :, :] = 0
    h0 = max(r0 - ph, 0)
    h1 = min(r0 + xp.shape[0] - ph, height)
    for c in range(n_ch):
        for h in range(h0, h1):
            x_row, xp_row = x[c, h], xp[h + ph - r0]
            for v in range(width):
                xp_row[pw + v, c] = x_row[v]


@njit(cache=True)
def _input_transform(xp, tiles_h, tiles_w, e, v):
    """v[4i + j, t, c] = (Bᵀ d B)[i, j] for the tile d = xp[2a:2a+4, 2b:2b+4, c], t = a·TW + b.
    e (16, C) is scratch for Bᵀ d."""
    n_ch = xp.shape[2]
    for a in range(tiles_h):
        r0, r1, r2, r3 = xp[2 * a], xp[2 * a + 1], xp[2 * a + 2], xp[2 * a + 3]
        for b in range(tiles_w):
            t = a * tiles_w + b
            # e = Bᵀ d: combine the four rows of the tile, column q by column q ...
            for q in range(4):
                x0, x1, x2, x3 = r0[2 * b + q], r1[2 * b + q], r2[2 * b + q], r3[2 * b + q]
                e0, e1, e2, e3 = e[q], e[4 + q], e[8 + q], e[12 + q]
                for c in range(n_ch):
                    e0[c], e1[c], e2[c], e3[c] = _bt(x0[c], x1[c], x2[c], x3[c])
            # ... then V = (Bᵀ d) B: the same combination along each row i of e.
            for i in range(4):
                f0, f1, f2, f3 = e[4 * i], e[4 * i + 1], e[4 * i + 2], e[4 * i + 3]
                v0, v1, v2, v3 = v[4 * i, t], v[4 * i + 1, t], v[4 * i + 2, t], v[4 * i + 3, t]
                for c in range(n_ch):
                    v0[c], v1[c], v2[c], v3[c] = _bt(f0[c], f1[c], f2[c], f3[c])


@njit(cache=True)
def _output_transform(m, tiles_h, tiles_w, f, y_last):
    """y_last[2a + r, 2b + s, o] = (Aᵀ M A)[r, s] with M[i, j] = m[4i + j, t, o], t = a·TW + b.
    f (8, O) is scratch for M A."""
    n_out = m.shape[2]
    for a in range(tiles_h):
        top, bottom = y_last[2 * a], y_last[2 * a + 1]
        for b in range(tiles_w):
            t = a * tiles_w + b
            # f = M A: combine the four columns of each row i of M ...
            for i in range(4):
                m0, m1, m2, m3 = m[4 * i, t], m[4 * i + 1, t], m[4 * i + 2, t], m[4 * i + 3, t]
                f0, f1 = f[2 * i], f[2 * i + 1]
                for o in range(n_out):
                    f0[o], f1[o] = _at(m0[o], m1[o], m2[o], m3[o])
            # ... then Aᵀ (M A): the same combination down each column s.
            for s in range(2):
                g0, g1, g2, g3 = f[s], f[2 + s], f[4 + s], f[6 + s]
                out_top, out_bottom = top[2 * b + s], bottom[2 * b + s]
                for o in range(n_out):
                    out_top[o], out_bottom[o] = _at(g0[o], g1[o], g2[o], g3[o])


@njit(cache=True)
def _to_channels_first(y_last, bias, i0, o0, y):
    """y[o0 + o, i0 + i, j] = y_last[i, j, o] (+ bias[o0 + o] if bias is not empty) for the rows
    i0 + i < OH, columns j < OW and channels o of y_last (the last tiles may overhang by one)."""
    ow = y.shape[2]
    rows = min(y_last.shape[0], y.shape[1] - i0)
    for i in range(rows):
        src = y_last[i]
        for o in range(y_last.shape[2]):
            dst = y[o0 + o, i0 + i]
            for j in range(ow):
                dst[j] = src[j, o]
            if bias.shape[0] > 0:
                for j in range(ow):
                    dst[j] += bias[o0 + o]


@njit(cache=True)
def _grad_output_transform(g_last, tiles_h, tiles_w, h, m_bar):
    """m_bar[4i + j, t, o] = (A Ȳ Aᵀ)[i, j] for the 2×2 tile Ȳ = g_last[2a:2a+2, 2b:2b+2, o].
    h (8, O) is scratch for A Ȳ."""
    n_out = g_last.shape[2]
    for a in range(tiles_h):
        top, bottom = g_last[2 * a], g_last[2 * a + 1]
        for b in range(tiles_w):
            t = a * tiles_w + b
            # h = A Ȳ: expand each of the two columns s of the tile to four rows ...
            for s in range(2):
                y0, y1 = top[2 * b + s], bottom[2 * b + s]
                h0, h1, h2, h3 = h[s], h[2 + s], h[4 + s], h[6 + s]
                for o in range(n_out):
                    h0[o], h1[o], h2[o], h3[o] = _a(y0[o], y1[o])
            # ... then M̄ = (A Ȳ) Aᵀ: expand each row i of h to four columns.
            for i in range(4):
                f0, f1 = h[2 * i], h[2 * i + 1]
                m0, m1, m2, m3 = m_bar[4 * i, t], m_bar[4 * i + 1, t], m_bar[4 * i + 2, t], m_bar[4 * i + 3, t]
                for o in range(n_out):
                    m0[o], m1[o], m2[o], m3[o] = _a(f0[o], f1[o])


# ----------------------------------------------------------------------------------------------
# Work items: an image, or a band of its tile rows, or a block of its channels (see _split)
# ----------------------------------------------------------------------------------------------

@threaded
def _forward_items(x, u, bias, ph, pw, tiles_h, tiles_w, band_rows, xp, e, v, m, y_last, y):
    """y[n, block, band] = Aᵀ[U ⊙ (Bᵀ d B)]A (+ bias (O,) or empty) for every item (image n,
    band of ``band_rows`` tile rows, block of output channels); u is (blocks, 16, C, o_block),
    the last block zero-padded."""
    n_out = y.shape[1]
    o_blocks, o_block = u.shape[0], u.shape[3]
    bands = (tiles_h + band_rows - 1) // band_rows
    per_image = bands * o_blocks
    for item in prange(x.shape[0] * per_image):
        n, band, ob = item // per_image, (item % per_image) // o_blocks, item % o_blocks
        thread = numba.get_thread_id()
        a0 = band * band_rows
        rows = min(band_rows, tiles_h - a0)
        tiles = rows * tiles_w
        xp_t = xp[thread, :2 * rows + 2]
        _padded_rows(x[n], ph, pw, 2 * a0, xp_t)
        n_ch = x.shape[1]
        v_t = v[thread, :16 * tiles * n_ch].reshape((16, tiles, n_ch))
        m_t = m[thread, :16 * tiles * o_block].reshape((16, tiles, o_block))
        _input_transform(xp_t, rows, tiles_w, e[thread], v_t)
        for xi in range(16):
            np.dot(v_t[xi], u[ob, xi], m_t[xi])                      # M_ξ = V_ξ U_ξ
        o0 = ob * o_block
        width = min(o_block, n_out - o0)
        y_t = y_last[thread, :2 * rows]
        _output_transform(m_t, rows, tiles_w, e[thread], y_t)
        _to_channels_first(y_t[:, :, :width], bias, 2 * a0, o0, y[n])


# ∂L/∂w sums over the batch. Each item accumulates the images of a fixed group of IMAGES_PER_SUM
# consecutive images, in order, into its own partial sum; the partial sums are added at the end
# in a fixed order, whatever the number of threads. The partial sums (16·C·O values each) stay
# few: one per image cost 1 ms per step just to add up.
IMAGES_PER_SUM = 8


@threaded
def _weight_items(grad_y, x, ph, pw, tiles_h, tiles_w, band_rows, c_block, xp, e, v, g_last,
                  m_bar, u_tmp, partial):
    """partial[group, band, ξ, c0:c1] = Σ_{n in group} V_ξ(n, band, c0:c1)ᵀ M̄_ξ(n, band) for
    every item (group, band of ``band_rows`` tile rows, block of ``c_block`` input channels)."""
    n_img, n_ch = x.shape[0], x.shape[1]
    bands = partial.shape[1]
    c_blocks = (n_ch + c_block - 1) // c_block
    per_group = bands * c_blocks
    for item in prange(partial.shape[0] * per_group):
        group, band, cb = item // per_group, (item % per_group) // c_blocks, item % c_blocks
        thread = numba.get_thread_id()
        a0 = band * band_rows
        rows = min(band_rows, tiles_h - a0)
        tiles = rows * tiles_w
        c0 = cb * c_block
        c1 = min(c0 + c_block, n_ch)
        xp_t = xp[thread, :(2 * rows + 2) * (2 * tiles_w + 2) * (c1 - c0)].reshape(
            (2 * rows + 2, 2 * tiles_w + 2, c1 - c0))
        v_t = v[thread, :16 * tiles * (c1 - c0)].reshape((16, tiles, c1 - c0))
        n_out = grad_y.shape[1]
        g_t = g_last[thread, :2 * rows]
        mb_t = m_bar[thread, :16 * tiles * n_out].reshape((16, tiles, n_out))
        for n in range(group * IMAGES_PER_SUM, min((group + 1) * IMAGES_PER_SUM, n_img)):
            _padded_rows(x[n, c0:c1], ph, pw, 2 * a0, xp_t)
            _input_transform(xp_t, rows, tiles_w, e[thread], v_t)
            _padded_rows(grad_y[n], 0, 0, 2 * a0, g_t)                 # zero where tiles overhang
            _grad_output_transform(g_t, rows, tiles_w, e[thread], mb_t)
            first = n == group * IMAGES_PER_SUM
            for xi in range(16):
                out = partial[group, band, xi, c0:c1]
                if first:
                    np.dot(v_t[xi].T, mb_t[xi], out)
                else:
                    tmp = u_tmp[thread, :(c1 - c0) * n_out].reshape((c1 - c0, n_out))
                    np.dot(v_t[xi].T, mb_t[xi], tmp)
                    out += tmp


# ----------------------------------------------------------------------------------------------
# The three products
# ----------------------------------------------------------------------------------------------

def _tiles(out_h, out_w):
    return (out_h + 1) // 2, (out_w + 1) // 2


def _split(tiles_h, tiles_w, n_ch, n_out, image_macs):
    """(tile rows per band, channels per block) of a large image's work items. Every band re-reads
    the transformed weights U (16·C·O) and every channel block re-transforms the tiles
    (16·tiles·C, or 16·tiles·O for ∂L/∂w), so planes with more tiles than channels are cut into
    bands, the others into channel blocks (output channels forward, input channels for ∂L/∂w)."""
    parts = parts_per_image(image_macs)
    if parts == 1:
        return tiles_h, None
    if tiles_h * tiles_w > n_out:
        return ceil_div(tiles_h, parts), None
    return tiles_h, ceil_div(n_out, parts)


def forward(x, w, padding, bias=None, flip=False):
    """y[n,o,i,j] = b[o] + Σ_{c,p,q} w[o,c,p,q]·x_pad[n,c,i+p,j+q] for 3×3 w, stride 1 (with
    ``flip``, for w' [o,c,p,q] = w[c,o,2−p,2−q] instead)."""
    n, c, h, wd = x.shape
    o = w.shape[1] if flip else w.shape[0]
    oh, ow = h + 2 * padding[0] - 2, wd + 2 * padding[1] - 2
    th, tw = _tiles(oh, ow)
    band_rows, o_block = _split(th, tw, c, o, o * c * 9 * oh * ow)
    o_block = o_block or o
    o_blocks = ceil_div(o, o_block)
    # U = G g Gᵀ for every (o, c), laid out (blocks, 16, C, o_block) for the products V_ξ @ U_ξ.
    u = filter_transform(w, flip, o_block, x.dtype)
    y = np.empty((n, o, oh, ow), dtype=x.dtype)
    bias = np.empty(0, dtype=x.dtype) if bias is None else bias
    dt = x.dtype
    band_tiles = band_rows * tw
    run_items(_forward_items, n * ceil_div(th, band_rows) * o_blocks, n * o * c * 9 * oh * ow, x, u,
              bias, padding[0], padding[1], th, tw, band_rows,
              per_thread((2 * band_rows + 2, 2 * tw + 2, c), dt), per_thread((16, max(c, o)), dt),
              per_thread((16 * band_tiles * c,), dt), per_thread((16 * band_tiles * o_block,), dt),
              per_thread((2 * band_rows, 2 * tw, o_block), dt), y)
    return y


def backward_input(grad_y, w, x_shape, padding):
    """∂L/∂x: the forward algorithm on ∂L/∂y padded by 2 − p, with w'[c,o,p,q] = w[o,c,2−p,2−q]."""
    return forward(grad_y, w, (2 - padding[0], 2 - padding[1]), flip=True)


def backward_weight(grad_y, x, w_shape, padding):
    """∂L/∂w[o,c,p,q] = Σ_{n,i,j} ∂L/∂y[n,o,i,j]·x_pad[n,c,i+p,j+q], as Gᵀ Ū G."""
    n, c = x.shape[:2]
    o = w_shape[0]
    oh, ow = grad_y.shape[2:]
    th, tw = _tiles(oh, ow)
    band_rows, c_block = _split(th, tw, o, c, o * c * 9 * oh * ow)
    c_block = c_block or c
    bands = ceil_div(th, band_rows)
    dt = x.dtype
    groups = ceil_div(n, IMAGES_PER_SUM)
    partial = np.empty((groups, bands, 16, c, o), dtype=dt)
    band_tiles = band_rows * tw
    run_items(_weight_items, groups * bands * ceil_div(c, c_block), grad_y.size * c * 9, grad_y, x,
              padding[0], padding[1], th, tw, band_rows, c_block,
              per_thread(((2 * band_rows + 2) * (2 * tw + 2) * c_block,), dt),
              per_thread((16, max(c, o)), dt), per_thread((16 * band_tiles * c_block,), dt),
              per_thread((2 * band_rows, 2 * tw, o), dt), per_thread((16 * band_tiles * o,), dt),
              per_thread((c_block * o,), dt), partial)
    # ∂L/∂g = Gᵀ Ū G, Ū the partial sums added in a fixed order (image groups, then bands).
    return filter_gradient(partial.reshape(groups * bands, 16, c, o), dt)

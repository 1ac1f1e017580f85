"""The fast backend's two newest building blocks, against NumPy and PyTorch:

* ``fast/blas.py``'s ``gemm``, the BLAS product on strided views (blocks of columns, bands of
  planes, transposed operands) that the conv kernels call from inside Numba instead of copying
  their operands into contiguous arrays;
* ``fast/affine.py``'s one-pass batch norm in eval mode, y = scale[c]·x + shift[c], and its
  backward (∂L/∂x and the two per-channel sums ∂L/∂γ and ∂L/∂β are made of).
"""

import numba
import numpy as np
import pytest

import minicnn.functional as F
import minicnn.kernels as K
from minicnn import Tensor
from minicnn.kernels import reference as R
from minicnn.kernels.fast import affine
from minicnn.kernels.fast.blas import gemm

TORCH_REASON = "PyTorch is optional; install the 'torch' extra to compare against it"
TOLERANCE = {np.float64: 1e-13, np.float32: 1e-5}


@pytest.fixture
def rng():
    return np.random.default_rng(20261202)


def operand(rng, rows, cols, transposed, dtype):
    """A (rows × cols) operand as a strided block of a bigger C-ordered array; stored as its
    transpose (cols × rows) when `transposed`, so that op(stored) = the operand."""
    big = rng.standard_normal((cols + 5, rows + 7) if transposed else (rows + 5, cols + 7)).astype(dtype)
    return big[2:2 + cols, 3:3 + rows] if transposed else big[2:2 + rows, 3:3 + cols]


# ---- gemm -----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("m, k, n", [(7, 11, 6), (1, 5, 9), (16, 1, 3), (33, 64, 1)])
def test_gemm_on_strided_views_equals_numpy(rng, dtype, trans_a, trans_b, m, k, n):
    a = operand(rng, m, k, trans_a, dtype)
    b = operand(rng, k, n, trans_b, dtype)
    expected = (a.T if trans_a else a).astype(np.float64) @ (b.T if trans_b else b).astype(np.float64)
    out_big = rng.standard_normal((m + 4, n + 6)).astype(dtype)
    untouched = out_big.copy()
    c = out_big[1:1 + m, 2:2 + n]
    gemm(a, trans_a, b, trans_b, c, False)
    scale = np.abs(expected).max()
    assert np.abs(c - expected).max() <= TOLERANCE[dtype] * scale * k
    gemm(a, trans_a, b, trans_b, c, True)                 # β = 1 adds the product again
    assert np.abs(c - 2 * expected).max() <= 2 * TOLERANCE[dtype] * scale * k
    # Nothing outside the block of c was written.
    mask = np.ones(out_big.shape, bool)
    mask[1:1 + m, 2:2 + n] = False
    assert np.array_equal(out_big[mask], untouched[mask])


def test_gemm_with_an_empty_inner_dimension_zeroes_or_keeps_c():
    a, b = np.empty((3, 0)), np.empty((0, 4))
    c = np.ones((3, 4))
    gemm(a, False, b, False, c, True)
    assert np.array_equal(c, np.ones((3, 4)))
    gemm(a, False, b, False, c, False)
    assert np.array_equal(c, np.zeros((3, 4)))


def test_gemm_refuses_operands_that_do_not_fit():
    with pytest.raises(ValueError, match="does not fit"):
        gemm(np.ones((3, 4)), False, np.ones((5, 2)), False, np.empty((3, 2)), False)
    with pytest.raises(ValueError, match="unit stride"):
        gemm(np.ones((3, 8))[:, ::2], False, np.ones((4, 2)), False, np.empty((3, 2)), False)


def test_gemm_inside_a_numba_kernel():
    @numba.njit
    def product_of_transposes(a, b, c):
        gemm(a, True, b, True, c, False)      # c = aᵀ bᵀ

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((6, 4)), rng.standard_normal((5, 6))
    c = np.empty((4, 5))
    product_of_transposes(a, b, c)
    np.testing.assert_allclose(c, a.T @ b.T, rtol=1e-13)


# ---- channel_affine (batch norm, eval mode) ------------------------------------------------

SHAPES = [(5, 3), (2, 4, 3, 5), (1, 64, 64, 64), (2, 3, 2, 3, 4)]   # (1, 64, 64, 64): 2^18, threaded


def affine_data(rng, shape, dtype):
    c = shape[1]
    x, g = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    scale, shift, center = (rng.standard_normal(c).astype(dtype) for _ in range(3))
    return x, g, scale, shift, center


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_channel_affine_matches_reference_and_the_formula(rng, dtype, shape):
    x, g, scale, shift, center = affine_data(rng, shape, dtype)
    y = K.channel_affine_forward(x, scale, shift)
    assert y.dtype == dtype and y.shape == shape
    assert np.array_equal(y, R.channel_affine_forward(x, scale, shift))       # the same two roundings
    grad_x, weighted, total = K.channel_affine_backward(g, x, scale, center)
    ref = R.channel_affine_backward(g, x, scale, center)
    assert np.array_equal(grad_x, ref[0])
    for ours, theirs in zip((weighted, total), ref[1:]):
        assert ours.dtype == dtype
        np.testing.assert_allclose(ours, theirs, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])
    # An independent computation: loops over the channels, in float64.
    for c in range(shape[1]):
        xc, gc = x[:, c].astype(np.float64), g[:, c].astype(np.float64)
        np.testing.assert_allclose(y[:, c], scale[c] * xc + shift[c], rtol=10 * TOLERANCE[dtype], atol=1e-6)
        np.testing.assert_allclose(weighted[c], np.sum(gc * (xc - center[c])), rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-4)
        np.testing.assert_allclose(total[c], np.sum(gc), rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-4)


def test_channel_affine_gives_the_same_bits_on_one_and_two_threads(rng):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 Numba threads")
    x, g, scale, shift, center = affine_data(rng, (2, 64, 48, 48), np.float32)
    saved = numba.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            numba.set_num_threads(threads)
            results.append((affine.channel_affine_forward(x, scale, shift),)
                           + affine.channel_affine_backward(g, x, scale, center))
    finally:
        numba.set_num_threads(saved)
    for a, b in zip(*results):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_eval_batch_norm_equals_torch(dtype):
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 9, 9)).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    mean, var = rng.standard_normal(6).astype(dtype), rng.uniform(0.2, 3.0, 6).astype(dtype)
    weight, bias = rng.standard_normal(6).astype(dtype), rng.standard_normal(6).astype(dtype)
    xt = torch.tensor(x, requires_grad=True)
    wt, bt = torch.tensor(weight, requires_grad=True), torch.tensor(bias, requires_grad=True)
    yt = torch.nn.functional.batch_norm(xt, torch.tensor(mean), torch.tensor(var), wt, bt, training=False)
    yt.backward(torch.tensor(g))
    ours_x, ours_w, ours_b = Tensor(x, requires_grad=True), Tensor(weight, requires_grad=True), Tensor(bias, requires_grad=True)
    y = F.batch_norm(ours_x, mean.copy(), var.copy(), ours_w, ours_b, training=False)
    y.backward(g)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=rtol, atol=rtol)
    for ours, theirs in ((ours_x, xt), (ours_w, wt), (ours_b, bt)):
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=rtol, atol=10 * rtol)

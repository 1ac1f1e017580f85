"""Tests for minicnn.kernels: fast Numba kernels vs their NumPy references, vs PyTorch, and
mathematical properties (adjoints, tie-breaking, padding, NaN).

Run one part with e.g. ``pytest tests/test_kernels.py -k TestMaxPool``.
"""

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn.functional as F
import minicnn.kernels as K
from minicnn.kernels.fast import conv as conv_module
from minicnn.kernels.fast import winograd

TORCH_REASON = "PyTorch is optional; install the 'torch' extra to compare against it"
HYPOTHESIS = settings(max_examples=25, deadline=None)


def assert_close(actual, expected, rel=1e-12):
    """max|actual − expected| ≤ rel · max|expected| (a scale-aware comparison that does not
    blow up on entries that are zero by cancellation), with matching shape and dtype."""
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    scale = max(float(np.max(np.abs(expected), initial=0.0)), np.finfo(np.float64).tiny)
    err = float(np.max(np.abs(actual.astype(np.float64) - expected), initial=0.0))
    assert err <= rel * scale, f"max abs error {err:.3e} > {rel:.0e} · {scale:.3e}"


def randn(rng, shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# ----------------------------------------------------------------------------------------------
# Index helpers
# ----------------------------------------------------------------------------------------------

class TestOutputSize:
    @pytest.mark.parametrize("size, kernel, stride, padding, expected", [
        (28, 5, 1, 2, 28), (14, 5, 1, 0, 10), (7, 3, 2, 2, 5), (8, 3, 3, 0, 2), (1, 1, 1, 0, 1),
    ])
    def test_formula(self, size, kernel, stride, padding, expected):
        assert K.output_size(size, kernel, stride, padding) == expected

    def test_source_indices_match_definition(self):
        from minicnn.kernels.reference import source_indices
        # Upsampling ×2: src = (d + 0.5)/2 − 0.5 = −0.25 (clamped to 0), 0.25, 0.75, …, 3.25.
        i0, i1, lam = source_indices(4, 8)
        np.testing.assert_array_equal(i0, [0, 0, 0, 1, 1, 2, 2, 3])
        np.testing.assert_array_equal(i1, [1, 1, 1, 2, 2, 3, 3, 3])    # clamped at the edge
        np.testing.assert_allclose(lam, [0, 0.25, 0.75, 0.25, 0.75, 0.25, 0.75, 0.25])


# ----------------------------------------------------------------------------------------------
# Convolution
# ----------------------------------------------------------------------------------------------

# (N, C, H, W, O, KH, KW, stride, padding)
CONV_CASES = [
    (2, 3, 7, 9, 4, 3, 3, (2, 2), (2, 2)),     # stride 2, padding 2, odd sizes
    (1, 1, 7, 9, 2, 1, 1, (1, 1), (0, 0)),     # 1×1 fast path, batch 1, channel 1
    (2, 2, 8, 6, 3, 1, 1, (2, 2), (0, 0)),     # 1×1 but strided: general path
    (1, 64, 7, 9, 3, 5, 5, (1, 1), (2, 2)),    # 64 input channels, 5×5
    (2, 3, 7, 9, 64, 3, 5, (2, 1), (1, 2)),    # 64 output channels, non-square kernel
    (3, 2, 7, 9, 2, 2, 2, (3, 3), (0, 0)),     # (H − KH) not divisible by stride
    (1, 2, 5, 5, 2, 5, 5, (1, 1), (0, 0)),     # kernel as large as the input
    (2, 1, 3, 4, 2, 3, 3, (1, 2), (2, 1)),     # padding larger than a kernel radius
]
CONV_IDS = [f"x{c[:4]}-w{(c[4], c[1], c[5], c[6])}-s{c[7]}-p{c[8]}" for c in CONV_CASES]


def conv_data(rng, case, dtype=np.float64):
    n, c, h, w, o, kh, kw, stride, padding = case
    x = randn(rng, (n, c, h, w), dtype)
    wt = randn(rng, (o, c, kh, kw), dtype)
    oh = K.output_size(h, kh, stride[0], padding[0])
    ow = K.output_size(w, kw, stride[1], padding[1])
    g = randn(rng, (n, o, oh, ow), dtype)
    return x, wt, g, stride, padding


def assert_conv_matches_reference(x, w, g, s, p, rel=1e-12):
    """The three fast conv kernels against their NumPy references."""
    assert_close(K.conv2d_forward(x, w, s, p), K.conv2d_forward_reference(x, w, s, p), rel)
    assert_close(K.conv2d_backward_input(g, w, x.shape, s, p),
                 K.conv2d_backward_input_reference(g, w, x.shape, s, p), rel)
    assert_close(K.conv2d_backward_weight(g, x, w.shape, s, p),
                 K.conv2d_backward_weight_reference(g, x, w.shape, s, p), rel)


def assert_conv_matches_torch(x, w, g, s, p):
    """The three conv kernels against torch.nn.functional.conv2d and its autograd."""
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, wt, stride=s, padding=p)
    yt.backward(torch.tensor(g))
    assert_close(K.conv2d_forward(x, w, s, p), yt.detach().numpy())
    assert_close(K.conv2d_backward_input(g, w, x.shape, s, p), xt.grad.numpy())
    assert_close(K.conv2d_backward_weight(g, x, w.shape, s, p), wt.grad.numpy())


class TestConv2d:
    @pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
    def test_matches_reference(self, rng, case):
        assert_conv_matches_reference(*conv_data(rng, case))

    @HYPOTHESIS
    @given(n=st.integers(1, 3), c=st.integers(1, 4), o=st.integers(1, 4),
           h=st.integers(1, 9), w=st.integers(1, 9), kh=st.integers(1, 4), kw=st.integers(1, 4),
           sh=st.integers(1, 3), sw=st.integers(1, 3), ph=st.integers(0, 2), pw=st.integers(0, 2),
           seed=st.integers(0, 2**16))
    def test_matches_reference_random_shapes(self, n, c, o, h, w, kh, kw, sh, sw, ph, pw, seed):
        kh, kw = min(kh, h + 2 * ph), min(kw, w + 2 * pw)   # the kernel must fit
        assert_conv_matches_reference(*conv_data(np.random.default_rng(seed),
                                                 (n, c, h, w, o, kh, kw, (sh, sw), (ph, pw))))

    @pytest.mark.parametrize("dtype, rel", [(np.float64, 1e-12), (np.float32, 1e-5)])
    def test_each_image_is_computed_alone(self, rng, dtype, rel):
        # The fast path runs one image per thread: a batch must give, image for image, exactly
        # what each image gives on its own (batch 1 takes the serial twin).
        case = (5, 3, 7, 9, 4, 3, 3, (2, 1), (1, 1))
        x, w, g, s, p = conv_data(rng, case, dtype)
        y = K.conv2d_forward(x, w, s, p)
        grad_x = K.conv2d_backward_input(g, w, x.shape, s, p)
        assert_close(y, K.conv2d_forward_reference(x, w, s, p), rel)
        assert_close(grad_x, K.conv2d_backward_input_reference(g, w, x.shape, s, p), rel)
        grad_w_sum = np.zeros_like(w)
        for i in range(len(x)):
            assert np.array_equal(K.conv2d_forward(x[i:i + 1], w, s, p), y[i:i + 1])
            assert np.array_equal(K.conv2d_backward_input(g[i:i + 1], w, x[i:i + 1].shape, s, p),
                                  grad_x[i:i + 1])
            grad_w_sum += K.conv2d_backward_weight(g[i:i + 1], x[i:i + 1], w.shape, s, p)
        assert_close(K.conv2d_backward_weight(g, x, w.shape, s, p), grad_w_sum, rel)

    @pytest.mark.parametrize("dtype, rel", [(np.float64, 1e-12), (np.float32, 1e-5)])
    @pytest.mark.parametrize("case", [CONV_CASES[0], CONV_CASES[3], CONV_CASES[4]],
                             ids=[CONV_IDS[0], CONV_IDS[3], CONV_IDS[4]])
    def test_blocks_of_output_rows(self, rng, monkeypatch, case, dtype, rel):
        # Force blocks of 2 output rows (the last one shorter when OH is odd) in the forward
        # and ∂L/∂x products, as large layers get them.
        x, w, g, s, p = conv_data(rng, case, dtype)
        o, k, ow = w.shape[0], w[0].size, g.shape[3]
        monkeypatch.setattr(conv_module, "_SMALL_GEMM", 2 * o * k * ow)
        monkeypatch.setattr(conv_module, "_MIN_BLOCK_PIXELS", 1)
        assert conv_module._rows_per_block(o, k, g.shape[2], ow) == 2
        assert_close(K.conv2d_forward(x, w, s, p), K.conv2d_forward_reference(x, w, s, p), rel)
        assert_close(K.conv2d_backward_input(g, w, x.shape, s, p),
                     K.conv2d_backward_input_reference(g, w, x.shape, s, p), rel)

    def test_block_size(self):
        # VGG-like 3×3 layers on 32×32 and 16×16 images get blocks of 3 rows; a block would be
        # too thin for (64 × 576) products on 16-wide rows, and small layers take whole images.
        assert conv_module._rows_per_block(32, 288, 32, 32) == 3
        assert conv_module._rows_per_block(64, 288, 16, 16) == 3
        assert conv_module._rows_per_block(64, 576, 16, 16) == 16
        assert conv_module._rows_per_block(6, 25, 28, 28) == 28

    @pytest.mark.parametrize("case", CONV_CASES[:5], ids=CONV_IDS[:5])
    def test_float32_stays_float32(self, rng, case):
        x, w, g, s, p = conv_data(rng, case)
        x32, w32, g32 = x.astype(np.float32), w.astype(np.float32), g.astype(np.float32)
        pairs = [
            (K.conv2d_forward(x32, w32, s, p), K.conv2d_forward(x, w, s, p)),
            (K.conv2d_backward_input(g32, w32, x.shape, s, p),
             K.conv2d_backward_input(g, w, x.shape, s, p)),
            (K.conv2d_backward_weight(g32, x32, w.shape, s, p),
             K.conv2d_backward_weight(g, x, w.shape, s, p)),
        ]
        for r32, r64 in pairs:
            assert r32.dtype == np.float32
            assert_close(r32.astype(np.float64), r64, rel=1e-5)

    @pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
    def test_adjoint_identities(self, rng, case):
        # y = conv(x, w) is bilinear, so for any g: <conv(x,w), g> = <x, J_xᵀ g> = <w, J_wᵀ g>.
        x, w, g, s, p = conv_data(rng, case)
        lhs = np.vdot(K.conv2d_forward(x, w, s, p), g)
        via_x = np.vdot(x, K.conv2d_backward_input(g, w, x.shape, s, p))
        via_w = np.vdot(w, K.conv2d_backward_weight(g, x, w.shape, s, p))
        scale = np.abs(K.conv2d_forward(x, w, s, p)).sum() * np.abs(g).max()
        assert abs(lhs - via_x) <= 1e-12 * scale
        assert abs(lhs - via_w) <= 1e-12 * scale

    def test_unreached_rows_get_zero_gradient(self, rng):
        # H + 2ph − KH = 8 − 3 = 5 is not a multiple of 2: the last input row is never read.
        x, w, g, s, p = conv_data(rng, (1, 2, 8, 8, 3, 3, 3, (2, 2), (0, 0)))
        grad_x = K.conv2d_backward_input(g, w, x.shape, s, p)
        assert np.all(grad_x[:, :, -1, :] == 0) and np.all(grad_x[:, :, :, -1] == 0)
        assert np.any(grad_x[:, :, -2, :] != 0)

    @pytest.mark.parametrize("case", [CONV_CASES[0], CONV_CASES[4]])
    def test_deterministic(self, rng, case):
        x, w, g, s, p = conv_data(rng, case)
        for fn, args in [(K.conv2d_forward, (x, w, s, p)),
                         (K.conv2d_backward_input, (g, w, x.shape, s, p)),
                         (K.conv2d_backward_weight, (g, x, w.shape, s, p))]:
            assert np.array_equal(fn(*args), fn(*args))

    def test_the_op_validates_what_the_kernels_trust(self, rng):
        # The kernels assume checked arguments; F.conv2d, where the user's call enters, checks them.
        x, w, g, s, p = conv_data(rng, CONV_CASES[0])
        with pytest.raises(ValueError, match="conv2d: weight of shape .* expects an input with 2 channels, got input of shape"):
            F.conv2d(x, w[:, :2], stride=s, padding=p)
        with pytest.raises(TypeError, match="conv2d: input is float32 but weight is float64"):
            F.conv2d(x.astype(np.float32), w, stride=s, padding=p)
        with pytest.raises(TypeError, match="conv2d: stride"):
            F.conv2d(x, w, stride=(1.5, 1), padding=p)
        with pytest.raises(ValueError, match="conv2d: kernel .* is larger than the padded input"):
            F.conv2d(x[:, :, :1, :1], w)
        with pytest.raises(ValueError, match=r"conv2d: bias must have shape \(4,\)"):
            F.conv2d(x, w, np.zeros(3), stride=s, padding=p)
        with pytest.raises(TypeError, match="conv2d: bias is float32"):
            F.conv2d(x, w, np.zeros(4, dtype=np.float32), stride=s, padding=p)

    @pytest.mark.parametrize("dtype, rel", [(np.float64, 1e-12), (np.float32, 1e-5)])
    @pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
    def test_bias(self, rng, case, dtype, rel):
        # The fast kernel adds b[o] inside its per-image loop; it must equal conv + b.
        x, w, g, s, p = conv_data(rng, case, dtype)
        b = randn(rng, (w.shape[0],), dtype)
        expected = K.conv2d_forward_reference(x, w, s, p) + b.reshape(1, -1, 1, 1)
        assert_close(K.conv2d_forward(x, w, s, p, b), expected, rel)
        assert_close(K.conv2d_forward_reference(x, w, s, p, b), expected, rel)

    @pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
    def test_matches_torch(self, rng, case):
        assert_conv_matches_torch(*conv_data(rng, case))


# ----------------------------------------------------------------------------------------------
# Pooling
# ----------------------------------------------------------------------------------------------

# (N, C, H, W, kernel, stride, padding)
POOL_CASES = [
    (2, 3, 8, 8, (2, 2), (2, 2), (0, 0)),     # the usual 2×2/2 (its own fast kernel)
    (2, 2, 7, 9, (2, 2), (1, 3), (0, 0)),     # 2×2 fast kernel: overlapping rows, odd sizes
    (1, 1, 7, 9, (3, 3), (2, 2), (1, 1)),     # overlapping windows, padding, odd sizes
    (2, 64, 5, 6, (3, 5), (1, 2), (1, 2)),    # non-square, 64 channels
    (1, 2, 7, 7, (4, 4), (3, 3), (2, 2)),     # padding = kernel / 2
    (3, 1, 9, 7, (1, 1), (2, 2), (0, 0)),     # 1×1 subsampling
]
POOL_IDS = [f"x{c[:4]}-k{c[4]}-s{c[5]}-p{c[6]}" for c in POOL_CASES]


def pool_out(case):
    n, c, h, w, k, s, p = case
    return (n, c, K.output_size(h, k[0], s[0], p[0]), K.output_size(w, k[1], s[1], p[1]))


@st.composite
def pool_shapes(draw):
    """(N, C, H, W, kernel, stride, padding) within PyTorch's limits: padding ≤ kernel/2 and
    the kernel fits into the padded input."""
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    kernel, padding = [], []
    for size in (h, w):
        k = draw(st.integers(1, 4))
        p = draw(st.integers(0, k // 2))
        kernel.append(min(k, size + 2 * p))   # still ≥ 2p + 1 when clipped, so p ≤ k/2 holds
        padding.append(p)
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return n, c, h, w, tuple(kernel), stride, tuple(padding)


class TestMaxPool:
    @pytest.mark.parametrize("case", POOL_CASES, ids=POOL_IDS)
    def test_matches_reference(self, rng, case):
        n, c, h, w, k, s, p = case
        x = rng.integers(-3, 4, (n, c, h, w)).astype(np.float64)   # small integers: many ties
        y, arg = K.max_pool2d_forward(x, k, s, p)
        y_ref, arg_ref = K.max_pool2d_forward_reference(x, k, s, p)
        assert arg.dtype == np.int64
        np.testing.assert_array_equal(y, y_ref)
        np.testing.assert_array_equal(arg, arg_ref)
        g = randn(rng, y.shape)
        assert_close(K.max_pool2d_backward(g, arg, x.shape),
                     K.max_pool2d_backward_reference(g, arg_ref, x.shape))

    @HYPOTHESIS
    @given(case=pool_shapes(), seed=st.integers(0, 2**16))
    def test_matches_reference_random_shapes(self, case, seed):
        n, c, h, w, k, s, p = case
        r = np.random.default_rng(seed)
        x = r.integers(-2, 3, (n, c, h, w)).astype(np.float64)
        y, arg = K.max_pool2d_forward(x, k, s, p)
        y_ref, arg_ref = K.max_pool2d_forward_reference(x, k, s, p)
        np.testing.assert_array_equal(y, y_ref)
        np.testing.assert_array_equal(arg, arg_ref)
        g = randn(r, y.shape)
        assert_close(K.max_pool2d_backward(g, arg, x.shape),
                     K.max_pool2d_backward_reference(g, arg, x.shape))

    def test_ties_go_to_first_in_row_major_order(self):
        x = np.array([[[[1.0, 5.0, 5.0],
                        [5.0, 2.0, 5.0]]]])
        for fn in (K.max_pool2d_forward, K.max_pool2d_forward_reference):
            y, arg = fn(x, (2, 3), (1, 1), (0, 0))
            assert y[0, 0, 0, 0] == 5.0 and arg[0, 0, 0, 0] == 1

    def test_padding_counts_as_minus_infinity(self):
        x = -np.ones((1, 1, 2, 2))             # all negative: a zero pad would win
        for fn in (K.max_pool2d_forward, K.max_pool2d_forward_reference):
            y, arg = fn(x, (2, 2), (1, 1), (1, 1))
            np.testing.assert_array_equal(y, -np.ones((1, 1, 3, 3)))
            assert arg.min() >= 0 and arg.max() < 4

    def test_all_minus_infinity_window_points_to_first_real_element(self):
        x = np.full((1, 1, 3, 3), -np.inf)
        for fn in (K.max_pool2d_forward, K.max_pool2d_forward_reference):
            _, arg = fn(x, (3, 3), (1, 1), (1, 1))
            np.testing.assert_array_equal(arg[0, 0], [[0, 0, 1], [0, 0, 1], [3, 3, 4]])

    def test_nan_propagates(self):
        x = np.array([[[[1.0, np.nan, 3.0, 2.0]]]], dtype=np.float32)
        for fn in (K.max_pool2d_forward, K.max_pool2d_forward_reference):
            y, arg = fn(x, (1, 2), (1, 2), (0, 0))
            assert np.isnan(y[0, 0, 0, 0]) and arg[0, 0, 0, 0] == 1
            assert y[0, 0, 0, 1] == 3.0 and arg[0, 0, 0, 1] == 2
            assert y.dtype == np.float32

    def test_overlapping_windows_accumulate_gradient(self):
        x = np.array([[[[0.0, 9.0, 0.0]]]])   # the 9 is the max of both 1×2 windows
        y, arg = K.max_pool2d_forward(x, (1, 2), (1, 1), (0, 0))
        grad_x = K.max_pool2d_backward(np.array([[[[1.0, 2.0]]]]), arg, x.shape)
        np.testing.assert_array_equal(grad_x, [[[[0.0, 3.0, 0.0]]]])

    def test_float32_and_determinism(self, rng):
        x = randn(rng, (2, 3, 9, 7), np.float32)
        y, arg = K.max_pool2d_forward(x, (3, 3), (2, 2), (1, 1))
        assert y.dtype == np.float32
        g = randn(rng, y.shape, np.float32)
        grad_x = K.max_pool2d_backward(g, arg, x.shape)
        assert grad_x.dtype == np.float32
        y2, arg2 = K.max_pool2d_forward(x, (3, 3), (2, 2), (1, 1))
        assert np.array_equal(y, y2) and np.array_equal(arg, arg2)
        assert np.array_equal(grad_x, K.max_pool2d_backward(g, arg, x.shape))

    def test_the_op_validates_what_the_kernels_trust(self, rng):
        x = randn(rng, (1, 1, 4, 4))
        with pytest.raises(ValueError, match="max_pool2d: padding .* at most half the kernel"):
            F.max_pool2d(x, (2, 2), (2, 2), (2, 2))
        with pytest.raises(ValueError, match="avg_pool2d: kernel .* larger than the padded input"):
            F.avg_pool2d(x, 5)

    @pytest.mark.parametrize("case", POOL_CASES, ids=POOL_IDS)
    def test_matches_torch_with_ties(self, rng, case):
        torch = pytest.importorskip("torch", reason=TORCH_REASON)
        n, c, h, w, k, s, p = case
        x = rng.integers(-2, 3, (n, c, h, w)).astype(np.float64)
        xt = torch.tensor(x, requires_grad=True)
        yt, arg_t = torch.nn.functional.max_pool2d(xt, k, s, p, return_indices=True)
        g = randn(rng, yt.shape)
        yt.backward(torch.tensor(g))
        y, arg = K.max_pool2d_forward(x, k, s, p)
        np.testing.assert_array_equal(y, yt.detach().numpy())
        np.testing.assert_array_equal(arg, arg_t.numpy())
        assert_close(K.max_pool2d_backward(g, arg, x.shape), xt.grad.numpy())

    def test_matches_torch_nan(self):
        torch = pytest.importorskip("torch", reason=TORCH_REASON)
        x = np.array([[[[1.0, np.nan, 3.0, np.nan], [np.nan, 0.0, 2.0, 1.0]]]])
        y_t, arg_t = torch.nn.functional.max_pool2d(torch.tensor(x), (2, 2), (1, 1), 0,
                                                    return_indices=True)
        y, arg = K.max_pool2d_forward(x, (2, 2), (1, 1), (0, 0))
        np.testing.assert_array_equal(y, y_t.numpy())        # NaN == NaN for this function
        np.testing.assert_array_equal(arg, arg_t.numpy())


class TestAvgPool:
    @pytest.mark.parametrize("case", POOL_CASES, ids=POOL_IDS)
    def test_matches_reference(self, rng, case):
        n, c, h, w, k, s, p = case
        x = randn(rng, (n, c, h, w))
        g = randn(rng, pool_out(case))
        assert_close(K.avg_pool2d_forward(x, k, s, p), K.avg_pool2d_forward_reference(x, k, s, p))
        assert_close(K.avg_pool2d_backward(g, x.shape, k, s, p),
                     K.avg_pool2d_backward_reference(g, x.shape, k, s, p))

    @HYPOTHESIS
    @given(case=pool_shapes(), seed=st.integers(0, 2**16))
    def test_matches_reference_random_shapes(self, case, seed):
        n, c, h, w, k, s, p = case
        r = np.random.default_rng(seed)
        x = randn(r, (n, c, h, w))
        g = randn(r, pool_out(case))
        assert_close(K.avg_pool2d_forward(x, k, s, p), K.avg_pool2d_forward_reference(x, k, s, p))
        assert_close(K.avg_pool2d_backward(g, x.shape, k, s, p),
                     K.avg_pool2d_backward_reference(g, x.shape, k, s, p))

    def test_count_include_pad(self):
        x = np.ones((1, 1, 2, 2))
        for fn in (K.avg_pool2d_forward, K.avg_pool2d_forward_reference):
            y = fn(x, (2, 2), (1, 1), (1, 1))
            # Corner windows hold one real 1 and three padding zeros: 1/4, not 1/1.
            np.testing.assert_allclose(y[0, 0], [[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]])

    @pytest.mark.parametrize("case", POOL_CASES[:3], ids=POOL_IDS[:3])
    def test_adjoint_float32_determinism(self, rng, case):
        n, c, h, w, k, s, p = case
        x, g = randn(rng, (n, c, h, w)), randn(rng, pool_out(case))
        lhs = np.vdot(K.avg_pool2d_forward(x, k, s, p), g)
        rhs = np.vdot(x, K.avg_pool2d_backward(g, x.shape, k, s, p))
        assert abs(lhs - rhs) <= 1e-12 * np.abs(x).sum() * np.abs(g).max()
        y32 = K.avg_pool2d_forward(x.astype(np.float32), k, s, p)
        g32 = K.avg_pool2d_backward(g.astype(np.float32), x.shape, k, s, p)
        assert y32.dtype == g32.dtype == np.float32
        assert_close(y32.astype(np.float64), K.avg_pool2d_forward(x, k, s, p), rel=1e-5)
        assert np.array_equal(y32, K.avg_pool2d_forward(x.astype(np.float32), k, s, p))
        assert np.array_equal(g32, K.avg_pool2d_backward(g.astype(np.float32), x.shape, k, s, p))

    @pytest.mark.parametrize("case", POOL_CASES, ids=POOL_IDS)
    def test_matches_torch(self, rng, case):
        torch = pytest.importorskip("torch", reason=TORCH_REASON)
        n, c, h, w, k, s, p = case
        x = randn(rng, (n, c, h, w))
        xt = torch.tensor(x, requires_grad=True)
        yt = torch.nn.functional.avg_pool2d(xt, k, s, p)   # count_include_pad=True by default
        g = randn(rng, yt.shape)
        yt.backward(torch.tensor(g))
        assert_close(K.avg_pool2d_forward(x, k, s, p), yt.detach().numpy())
        assert_close(K.avg_pool2d_backward(g, x.shape, k, s, p), xt.grad.numpy())


# ----------------------------------------------------------------------------------------------
# Bilinear resize
# ----------------------------------------------------------------------------------------------

# (N, C, H, W, OH, OW)
RESIZE_CASES = [
    (2, 3, 7, 9, 14, 18),    # upsample ×2
    (1, 1, 7, 9, 3, 4),      # downsample, non-integer factors
    (2, 64, 5, 6, 11, 3),    # up along H, down along W, 64 channels
    (1, 2, 1, 1, 4, 3),      # single pixel: constant image
    (1, 1, 6, 6, 6, 6),      # identity size
    (1, 1, 16, 16, 3, 37),   # strong downsampling and upsampling
]
RESIZE_IDS = [f"{c[2]}x{c[3]}-to-{c[4]}x{c[5]}-n{c[0]}c{c[1]}" for c in RESIZE_CASES]


class TestBilinearResize:
    @pytest.mark.parametrize("case", RESIZE_CASES, ids=RESIZE_IDS)
    def test_matches_reference(self, rng, case):
        n, c, h, w, oh, ow = case
        x, g = randn(rng, (n, c, h, w)), randn(rng, (n, c, oh, ow))
        assert_close(K.bilinear_resize_forward(x, (oh, ow)),
                     K.bilinear_resize_forward_reference(x, (oh, ow)))
        assert_close(K.bilinear_resize_backward(g, (h, w)),
                     K.bilinear_resize_backward_reference(g, (h, w)))

    @HYPOTHESIS
    @given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(1, 9), w=st.integers(1, 9),
           oh=st.integers(1, 12), ow=st.integers(1, 12), seed=st.integers(0, 2**16))
    def test_matches_reference_random_shapes(self, n, c, h, w, oh, ow, seed):
        r = np.random.default_rng(seed)
        x, g = randn(r, (n, c, h, w)), randn(r, (n, c, oh, ow))
        assert_close(K.bilinear_resize_forward(x, (oh, ow)),
                     K.bilinear_resize_forward_reference(x, (oh, ow)))
        assert_close(K.bilinear_resize_backward(g, (h, w)),
                     K.bilinear_resize_backward_reference(g, (h, w)))

    @pytest.mark.parametrize("case", RESIZE_CASES, ids=RESIZE_IDS)
    def test_adjoint(self, rng, case):
        n, c, h, w, oh, ow = case
        x, g = randn(rng, (n, c, h, w)), randn(rng, (n, c, oh, ow))
        lhs = np.vdot(K.bilinear_resize_forward(x, (oh, ow)), g)
        rhs = np.vdot(x, K.bilinear_resize_backward(g, (h, w)))
        assert abs(lhs - rhs) <= 1e-12 * np.abs(x).max() * np.abs(g).sum()

    def test_constant_image_stays_constant(self):
        x = np.full((1, 1, 5, 7), 3.0)
        np.testing.assert_allclose(K.bilinear_resize_forward(x, (9, 4)), 3.0, rtol=1e-15)

    def test_float32_and_determinism(self, rng):
        x, g = randn(rng, (2, 3, 7, 9)), randn(rng, (2, 3, 10, 4))
        y32 = K.bilinear_resize_forward(x.astype(np.float32), (10, 4))
        gx32 = K.bilinear_resize_backward(g.astype(np.float32), (7, 9))
        assert y32.dtype == gx32.dtype == np.float32
        assert_close(y32.astype(np.float64), K.bilinear_resize_forward(x, (10, 4)), rel=1e-5)
        assert_close(gx32.astype(np.float64), K.bilinear_resize_backward(g, (7, 9)), rel=1e-5)
        assert np.array_equal(y32, K.bilinear_resize_forward(x.astype(np.float32), (10, 4)))
        assert np.array_equal(gx32, K.bilinear_resize_backward(g.astype(np.float32), (7, 9)))

    def test_the_op_validates_what_the_kernels_trust(self, rng):
        with pytest.raises(ValueError, match="interpolate: size"):
            F.interpolate(randn(rng, (1, 1, 3, 3)), (0, 2))
        with pytest.raises(ValueError, match="interpolate: expected a 4-D input"):
            F.interpolate(randn(rng, (3, 3)), (2, 2))

    @pytest.mark.parametrize("case", RESIZE_CASES, ids=RESIZE_IDS)
    def test_matches_torch(self, rng, case):
        torch = pytest.importorskip("torch", reason=TORCH_REASON)
        n, c, h, w, oh, ow = case
        x, g = randn(rng, (n, c, h, w)), randn(rng, (n, c, oh, ow))
        xt = torch.tensor(x, requires_grad=True)
        yt = torch.nn.functional.interpolate(xt, size=(oh, ow), mode="bilinear",
                                             align_corners=False)
        yt.backward(torch.tensor(g))
        assert_close(K.bilinear_resize_forward(x, (oh, ow)), yt.detach().numpy())
        assert_close(K.bilinear_resize_backward(g, (h, w)), xt.grad.numpy())


# ----------------------------------------------------------------------------------------------
# Winograd F(2×2, 3×3): 3×3 stride-1 convolutions with at least 16 input and output channels
# ----------------------------------------------------------------------------------------------

WINOGRAD_CASES = [
    (2, 16, 7, 9, 16, 3, 3, (1, 1), (1, 1)),   # odd sizes: the last tiles overhang
    (1, 16, 5, 5, 17, 3, 3, (1, 1), (0, 0)),   # batch 1 (serial twin), no padding
    (3, 20, 8, 6, 16, 3, 3, (1, 1), (2, 2)),   # padding 2: ∂L/∂x pads ∂L/∂y by 0
    (2, 16, 6, 7, 18, 3, 3, (1, 1), (0, 2)),   # different padding per axis
    (1, 64, 9, 9, 64, 3, 3, (1, 1), (1, 1)),   # 64 channels in and out
    (2, 16, 3, 3, 16, 3, 3, (1, 1), (0, 0)),   # a 1×1 output: one tile, mostly overhang
    (11, 16, 24, 24, 16, 3, 3, (1, 1), (1, 1)),  # ∂L/∂w sums groups of 8 images: 8 + 3;
    # large enough (> SMALL_WORK) for the threaded twin
]
WINOGRAD_IDS = [f"x{c[:4]}-o{c[4]}-p{c[8]}" for c in WINOGRAD_CASES]


class TestWinograd:
    def test_which_convolutions_use_it(self):
        assert winograd.applies((16, 16, 3, 3), (1, 1), (1, 1))
        assert not winograd.applies((16, 3, 3, 3), (1, 1), (1, 1))     # RGB input: im2col
        assert not winograd.applies((16, 16, 3, 3), (2, 2), (1, 1))    # strided
        assert not winograd.applies((16, 16, 5, 5), (1, 1), (2, 2))    # 5×5
        assert not winograd.applies((16, 16, 3, 3), (1, 1), (3, 3))    # ∂L/∂x would need p ≤ 2

    @pytest.mark.parametrize("dtype, rel", [(np.float64, 1e-12), (np.float32, 1e-5)])
    @pytest.mark.parametrize("case", WINOGRAD_CASES, ids=WINOGRAD_IDS)
    def test_matches_reference(self, rng, case, dtype, rel):
        x, w, g, s, p = conv_data(rng, case, dtype)
        assert winograd.applies(w.shape, s, p)
        assert_conv_matches_reference(x, w, g, s, p, rel)
        b = randn(rng, (w.shape[0],), dtype)            # the bias is added in the output transform
        assert_close(K.conv2d_forward(x, w, s, p, b), K.conv2d_forward_reference(x, w, s, p, b), rel)

    @pytest.mark.parametrize("case", WINOGRAD_CASES[:3], ids=WINOGRAD_IDS[:3])
    def test_adjoint_identities(self, rng, case):
        x, w, g, s, p = conv_data(rng, case)
        lhs = np.vdot(K.conv2d_forward(x, w, s, p), g)
        scale = np.abs(K.conv2d_forward(x, w, s, p)).sum() * np.abs(g).max()
        assert abs(lhs - np.vdot(x, K.conv2d_backward_input(g, w, x.shape, s, p))) <= 1e-12 * scale
        assert abs(lhs - np.vdot(w, K.conv2d_backward_weight(g, x, w.shape, s, p))) <= 1e-12 * scale

    def test_transforms_reproduce_a_single_tile(self):
        # One 4×4 tile, one channel: Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A is the 2×2 'valid' correlation.
        bt = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=float)
        at = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=float)
        d = np.arange(16.0).reshape(4, 4) ** 1.5
        g = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0], [0.25, 2.0, 1.0]])
        y = at @ ((winograd.G @ g @ winograd.G.T) * (bt @ d @ bt.T)) @ at.T
        expected = [[np.sum(d[i:i + 3, j:j + 3] * g) for j in range(2)] for i in range(2)]
        np.testing.assert_allclose(y, expected, rtol=1e-13)
        # The same through the engine: 16 channels (so Winograd is used), only w[0, 0] = g.
        x = np.tile(d, (1, 16, 1, 1))
        w = np.pad(g[None, None], ((0, 15), (0, 15), (0, 0), (0, 0)))
        np.testing.assert_allclose(K.conv2d_forward(x, w, 1, 0)[0, 0], expected, rtol=1e-13)

    @HYPOTHESIS
    @given(n=st.integers(1, 3), c=st.integers(16, 18), o=st.integers(16, 18),
           h=st.integers(1, 9), w=st.integers(1, 9), ph=st.integers(0, 2), pw=st.integers(0, 2),
           seed=st.integers(0, 2**16))
    def test_matches_reference_random_shapes(self, n, c, o, h, w, ph, pw, seed):
        h, w = max(h, 3 - 2 * ph), max(w, 3 - 2 * pw)        # the 3×3 kernel must fit
        case = (n, c, h, w, o, 3, 3, (1, 1), (ph, pw))
        assert winograd.applies((o, c, 3, 3), (1, 1), (ph, pw))
        assert_conv_matches_reference(*conv_data(np.random.default_rng(seed), case))

    def test_same_bits_on_one_thread(self, rng):
        # Images are grouped for the ∂L/∂w sum by position, not by thread: one thread or all
        # of them must give the same bits.
        x, w, g, s, p = conv_data(rng, WINOGRAD_CASES[-1])
        outputs = []
        previous = numba.get_num_threads()
        try:
            for threads in (1, numba.config.NUMBA_NUM_THREADS):
                numba.set_num_threads(threads)
                outputs.append((K.conv2d_forward(x, w, s, p),
                                K.conv2d_backward_input(g, w, x.shape, s, p),
                                K.conv2d_backward_weight(g, x, w.shape, s, p)))
        finally:
            numba.set_num_threads(previous)
        for a, b in zip(*outputs):
            assert np.array_equal(a, b)

    def test_matches_torch(self, rng):
        assert_conv_matches_torch(*conv_data(rng, WINOGRAD_CASES[0]))


# ----------------------------------------------------------------------------------------------
# ReLU
# ----------------------------------------------------------------------------------------------

class TestRelu:
    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    @pytest.mark.parametrize("shape", [(0,), (7,), (3, 5), (64, 16, 16, 16), (2, 3, 4, 5, 6)])
    def test_matches_reference_bit_for_bit(self, rng, dtype, shape):
        # (64, 16, 16, 16) has 2^18 = SMALL_WORK elements: the threaded twin; the others serial.
        z, g = randn(rng, shape, dtype), randn(rng, shape, dtype)
        y = K.relu_forward(z)
        assert y.dtype == dtype and y.shape == shape
        assert np.array_equal(y, K.relu_forward_reference(z))
        assert np.array_equal(y, np.maximum(z, 0))
        grad = K.relu_backward(g, z)
        assert grad.dtype == dtype
        assert np.array_equal(grad, K.relu_backward_reference(g, z))
        assert np.array_equal(grad, g * (z > 0))

    def test_special_values(self):
        z = np.array([np.nan, -0.0, 0.0, -np.inf, np.inf, -1.0, 2.0])
        y = K.relu_forward(z)
        np.testing.assert_array_equal(y, np.maximum(z, 0))        # NaN stays NaN
        assert not np.signbit(y[1]) and not np.signbit(np.maximum(z[1:2], 0)[0])  # −0.0 → +0.0
        g = np.full(7, np.inf)
        # PyTorch's rule: the gradient is 0 wherever z ≤ 0 or z is NaN, even for an infinite g
        # (g · [z > 0] would give inf · 0 = NaN there).
        np.testing.assert_array_equal(K.relu_backward(g, z), [0, 0, 0, 0, np.inf, 0, np.inf])

    def test_matches_torch(self, rng):
        torch = pytest.importorskip("torch", reason=TORCH_REASON)
        z = randn(rng, (4, 3, 9, 9))
        z[0, 0, 0, :3] = 0.0
        g = randn(rng, z.shape)
        zt = torch.tensor(z, requires_grad=True)
        torch.relu(zt).backward(torch.tensor(g))
        np.testing.assert_array_equal(K.relu_forward(z), torch.relu(torch.tensor(z)).numpy())
        np.testing.assert_array_equal(K.relu_backward(g, z), zt.grad.numpy())

    def test_zero_dimensional(self):
        z = np.array(-2.0)
        assert K.relu_forward(z).shape == () and K.relu_forward(np.array(3.0)) == 3.0
        assert K.relu_backward(np.array(5.0), z).shape == ()

    def test_non_contiguous_input(self, rng):
        z = randn(rng, (6, 8))[:, ::2]
        np.testing.assert_array_equal(K.relu_forward(z), np.maximum(z, 0))

    def test_mixed_dtypes_and_0d_take_the_numpy_formula(self, rng):
        z = randn(rng, (3, 4))
        g32 = randn(rng, (3, 4)).astype(np.float32)
        np.testing.assert_array_equal(K.relu_backward(g32, z), np.where(z > 0, g32, 0))
        assert K.relu_backward(g32, z).dtype == np.float64
        np.testing.assert_array_equal(K.relu_forward(np.array(-2.0)), 0.0)

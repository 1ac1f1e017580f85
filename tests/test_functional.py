"""Tests for minicnn.functional: every op gradient-checked in float64 (full Jacobian against
central differences with `minicnn.gradcheck`), forward values against plain NumPy, numerical
robustness and the error messages of bad input.

Run one part with e.g. ``pytest tests/test_functional.py -k Conv``.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minicnn as mc
import minicnn.functional as F
from minicnn import Tensor

HYPOTHESIS = settings(max_examples=20, deadline=None)


def leaf(array):
    """A float64 leaf that requires grad."""
    return Tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def randn(*shape, seed=0):
    return leaf(np.random.default_rng(seed).standard_normal(shape))


def positive(*shape, seed=0, low=0.5, high=2.0):
    return leaf(np.random.default_rng(seed).uniform(low, high, shape))


def away_from_zero(*shape, seed=0):
    """Values with |v| ≥ 0.1, so ReLU's kink at 0 is never within ε of a sample."""
    rng = np.random.default_rng(seed)
    return leaf(rng.uniform(0.1, 1.0, shape) * rng.choice([-1.0, 1.0], shape))


def distinct(*shape, seed=0):
    """Values that are pairwise ≥ 0.1 apart: max pooling has no ties within ε."""
    rng = np.random.default_rng(seed)
    return leaf(rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 1.0)


def check(fn, *inputs, **tolerances):
    assert mc.gradcheck(fn, list(inputs), **tolerances) is True


# ----------------------------------------------------------------------------------------------
# Arithmetic
# ----------------------------------------------------------------------------------------------
BINARY = {"add": F.add, "sub": F.sub, "mul": F.mul, "div": F.div}


class TestArithmetic:
    @pytest.mark.parametrize("name", BINARY)
    @pytest.mark.parametrize(
        "shape_a, shape_b",
        [((2, 3), (2, 3)), ((3, 1, 4), (2, 1)), ((2, 1), (3, 1, 4)), ((4,), (3, 4)), ((), (2, 3)),
         ((2, 3), ()), ((1, 3), (2, 1))],
    )
    def test_broadcasting_gradcheck(self, name, shape_a, shape_b):
        a, b = positive(*shape_a, seed=1), positive(*shape_b, seed=2)
        check(BINARY[name], a, b)

    @pytest.mark.parametrize("name", BINARY)
    def test_forward_matches_numpy(self, name):
        a, b = positive(3, 1, 4, seed=1), positive(2, 1, seed=2)
        out = BINARY[name](a, b)
        expected = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}[name](a.data, b.data)
        assert out.shape == (3, 2, 4)
        np.testing.assert_allclose(out.data, expected)

    @pytest.mark.parametrize("name", BINARY)
    @pytest.mark.parametrize("scalar", [2.5, -3])
    def test_scalar_operand(self, name, scalar):
        a = positive(2, 3)
        check(lambda t: BINARY[name](t, scalar), a)
        check(lambda t: BINARY[name](scalar, t), a)

    @pytest.mark.parametrize("name", BINARY)
    def test_ndarray_operand(self, name):
        a = positive(2, 3)
        other = np.random.default_rng(5).uniform(0.5, 2.0, (3,))
        check(lambda t: BINARY[name](t, other), a)
        check(lambda t: BINARY[name](other, t), a)

    def test_operator_overloads_gradcheck(self):
        a, b = positive(2, 3, seed=1), positive(3, seed=2)
        check(lambda x, y: (x * y - y / x + 2.0 * x - 1.0 / y) ** 2, a, b)

    def test_neg(self):
        check(F.neg, randn(2, 3))

    @pytest.mark.parametrize("p", [2, 3, 0.5, -1, -2.5, 1.5, 0])
    def test_pow(self, p):
        check(lambda t: F.pow(t, p), positive(2, 3))

    def test_pow_value(self):
        np.testing.assert_allclose(F.pow(Tensor([4.0, 9.0]), -0.5).data, [0.5, 1 / 3])

    def test_exp(self):
        check(F.exp, randn(2, 3))

    def test_log(self):
        check(F.log, positive(2, 3))

    def test_cast_gradcheck(self):
        # Round trip through float64 keeps the check exact.
        check(lambda t: F.cast(t, np.float64) * 2, randn(3))


class TestMatmul:
    @pytest.mark.parametrize(
        "shape_a, shape_b",
        [((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)), ((3,), (3,)),
         ((2, 2, 3), (3, 4)), ((2, 3), (2, 3, 4)), ((2, 1, 2, 3), (3, 3, 2)), ((1, 2, 3), (2, 3, 2)),
         ((3,), (2, 3, 4)), ((2, 2, 3), (3,))],
        ids=["2d", "vec@mat", "mat@vec", "vec@vec", "batched@2d", "2d@batched", "broadcast-batch",
             "batch1@batch2", "vec@batched", "batched@vec"],
    )
    def test_gradcheck(self, shape_a, shape_b):
        a, b = randn(*shape_a, seed=1), randn(*shape_b, seed=2)
        np.testing.assert_allclose(F.matmul(a, b).data, a.data @ b.data)
        check(F.matmul, a, b)

    def test_only_one_side_requires_grad(self):
        a = randn(2, 3)
        b = Tensor(np.ones((3, 2)))
        check(F.matmul, a, b)
        check(lambda t: F.matmul(np.ones((3, 2)), t), leaf(np.ones((2, 5))))


# ----------------------------------------------------------------------------------------------
# Reductions
# ----------------------------------------------------------------------------------------------
AXES = [None, 0, 1, -1, (0, 2), (-1, 0), (1,)]


class TestReductions:
    @pytest.mark.parametrize("axis", AXES)
    @pytest.mark.parametrize("keepdims", [False, True])
    def test_sum(self, axis, keepdims):
        x = randn(2, 3, 4)
        out = F.sum(x, axis=axis, keepdims=keepdims)
        np.testing.assert_allclose(out.data, x.data.sum(axis=axis, keepdims=keepdims))
        check(lambda t: F.sum(t, axis=axis, keepdims=keepdims), x)

    @pytest.mark.parametrize("axis", AXES)
    @pytest.mark.parametrize("keepdims", [False, True])
    def test_mean(self, axis, keepdims):
        x = randn(2, 3, 4)
        out = F.mean(x, axis=axis, keepdims=keepdims)
        np.testing.assert_allclose(out.data, x.data.mean(axis=axis, keepdims=keepdims))
        check(lambda t: F.mean(t, axis=axis, keepdims=keepdims), x)

    @pytest.mark.parametrize("axis", AXES)
    @pytest.mark.parametrize("keepdims", [False, True])
    def test_max(self, axis, keepdims):
        x = distinct(2, 3, 4)
        out = F.max(x, axis=axis, keepdims=keepdims)
        np.testing.assert_allclose(out.data, x.data.max(axis=axis, keepdims=keepdims))
        check(lambda t: F.max(t, axis=axis, keepdims=keepdims), x)

    def test_max_ties_share_gradient(self):
        x = leaf([1.0, 3.0, 3.0, 2.0])
        F.max(x).backward()
        np.testing.assert_array_equal(x.grad, [0.0, 0.5, 0.5, 0.0])

    def test_sum_of_0d_tensor(self):
        # e.g. `F.mse_loss(...).sum().backward()`: the loss is already 0-d.
        x = leaf(3.0)
        F.sum(x).backward()
        assert x.grad.shape == () and x.grad == 1.0

    def test_sum_of_loss_backward(self):
        p = leaf([1.0, 2.0])
        F.mse_loss(p, np.zeros(2)).sum().backward()
        np.testing.assert_allclose(p.grad, [1.0, 2.0])

    @pytest.mark.parametrize("op", [F.sum, F.mean, F.max])
    def test_reductions_of_0d_gradcheck(self, op):
        check(lambda t: op(t) * 2.0, leaf(1.5))

    def test_axis_out_of_range(self):
        with pytest.raises(ValueError, match="axis"):
            F.sum(randn(2, 3), axis=2)


# ----------------------------------------------------------------------------------------------
# Shapes and indexing
# ----------------------------------------------------------------------------------------------
class TestShapes:
    @pytest.mark.parametrize("shape", [(6, 4), (-1,), (2, -1, 3), (24,), (1, 24, 1)])
    def test_reshape(self, shape):
        x = randn(2, 3, 4)
        assert F.reshape(x, shape).shape == x.data.reshape(shape).shape
        check(lambda t: F.reshape(t, shape), x)

    @pytest.mark.parametrize("axes", [None, (1, 0, 2), (2, 0, 1), (0, 2, 1)])
    def test_transpose(self, axes):
        x = randn(2, 3, 4)
        np.testing.assert_array_equal(F.transpose(x, axes).data, np.transpose(x.data, axes))
        check(lambda t: F.transpose(t, axes), x)

    @pytest.mark.parametrize("start_dim", [0, 1, 2])
    def test_flatten(self, start_dim):
        x = randn(2, 3, 2, 2)
        expected = x.data.reshape(x.shape[:start_dim] + (-1,))
        assert F.flatten(x, start_dim).shape == expected.shape
        check(lambda t: F.flatten(t, start_dim), x)

    def test_concatenate_three_inputs_axis_1(self):
        a, b, c = randn(2, 1, 3, seed=1), randn(2, 3, 3, seed=2), randn(2, 2, 3, seed=3)
        out = F.concatenate([a, b, c], axis=1)
        np.testing.assert_array_equal(out.data, np.concatenate([a.data, b.data, c.data], axis=1))
        check(lambda x, y, z: F.concatenate([x, y, z], axis=1), a, b, c)

    def test_concatenate_negative_axis_with_constant(self):
        a, b = randn(2, 3, seed=1), Tensor(np.ones((2, 2)))
        check(lambda x: F.concatenate([x, b, x], axis=-1), a)

    @pytest.mark.parametrize(
        "index",
        [
            0, -1, (1, 2), slice(1, None), slice(None, None, -1), slice(3, 0, -2),
            (slice(None), slice(None, None, -1)), (Ellipsis, 0), (None, 1), (slice(None), None, 2),
        ],
        ids=["int", "neg-int", "pair", "slice", "reverse", "neg-step", "rev-cols", "ellipsis", "newaxis",
             "newaxis-mid"],
    )
    def test_getitem_basic(self, index):
        x = randn(4, 5)
        np.testing.assert_array_equal(F.getitem(x, index).data, x.data[index])
        check(lambda t: t[index], x)

    def test_getitem_repeated_integer_indices_accumulate(self):
        x = randn(4, 3)
        index = np.array([0, 2, 0, 0, 3])
        y = x[index]
        y.sum().backward()
        np.testing.assert_array_equal(x.grad, np.array([3, 0, 1, 1])[:, None] * np.ones((1, 3)))
        check(lambda t: t[index], randn(4, 3))

    def test_getitem_repeated_pairs(self):
        rows, cols = np.array([0, 1, 0, 0]), np.array([2, 1, 2, 0])
        x = randn(3, 3)
        (g,) = mc.grad(x[rows, cols].sum(), [x])
        expected = np.zeros((3, 3))
        expected[0, 2], expected[1, 1], expected[0, 0] = 2, 1, 1
        np.testing.assert_array_equal(g, expected)
        check(lambda t: t[rows, cols], x)

    def test_getitem_list_and_mixed(self):
        check(lambda t: t[[1, 1, 3]], randn(4, 2))
        check(lambda t: t[:, [0, 0, 2]], randn(2, 3))
        check(lambda t: t[1:, np.array([2, 0, 2])], randn(3, 3))

    def test_getitem_boolean_mask(self):
        x = randn(3, 4)
        mask = x.data > 0
        np.testing.assert_array_equal(x[mask].data, x.data[mask])
        check(lambda t: t[mask], x)
        row_mask = np.array([True, False, True])
        check(lambda t: t[row_mask], x)

    def test_getitem_tensor_index(self):
        x = randn(4, 2)
        check(lambda t: t[Tensor([3, 0, 3])], x)


# ----------------------------------------------------------------------------------------------
# Activations and softmax
# ----------------------------------------------------------------------------------------------
class TestActivations:
    def test_relu(self):
        x = away_from_zero(3, 4)
        np.testing.assert_array_equal(F.relu(x).data, np.maximum(x.data, 0))
        check(F.relu, x)

    def test_relu_gradient_at_zero_is_zero(self):
        x = leaf([0.0, 1.0, -1.0])
        F.relu(x).sum().backward()
        np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0])

    def test_sigmoid(self):
        x = randn(3, 4)
        np.testing.assert_allclose(F.sigmoid(x).data, 1 / (1 + np.exp(-x.data)))
        check(F.sigmoid, x)

    def test_tanh(self):
        x = randn(3, 4)
        np.testing.assert_allclose(F.tanh(x).data, np.tanh(x.data))
        check(F.tanh, x)

    @pytest.mark.parametrize("axis", [0, 1, -1])
    def test_softmax(self, axis):
        x = randn(3, 4)
        e = np.exp(x.data)
        np.testing.assert_allclose(F.softmax(x, axis).data, e / e.sum(axis=axis, keepdims=True))
        check(lambda t: F.softmax(t, axis), x)

    @pytest.mark.parametrize("axis", [0, 1, -1])
    def test_log_softmax(self, axis):
        x = randn(3, 4)
        e = np.exp(x.data)
        np.testing.assert_allclose(F.log_softmax(x, axis).data, np.log(e / e.sum(axis=axis, keepdims=True)))
        check(lambda t: F.log_softmax(t, axis), x)

    def test_softmax_3d_middle_axis(self):
        check(lambda t: F.softmax(t, 1), randn(2, 3, 2))


# ----------------------------------------------------------------------------------------------
# Losses
# ----------------------------------------------------------------------------------------------
class TestLosses:
    @pytest.mark.parametrize("reduction", ["mean", "sum"])
    def test_cross_entropy(self, reduction):
        logits = randn(4, 5)
        targets = np.array([0, 4, 2, 2])
        z = logits.data
        lse = np.log(np.exp(z).sum(axis=1))
        per_row = lse - z[np.arange(4), targets]
        expected = per_row.mean() if reduction == "mean" else per_row.sum()
        out = F.cross_entropy(logits, targets, reduction=reduction)
        assert out.shape == ()
        np.testing.assert_allclose(out.data, expected)
        check(lambda t: F.cross_entropy(t, targets, reduction=reduction), logits)

    def test_cross_entropy_gradient_formula(self):
        logits = randn(3, 4)
        targets = [1, 0, 3]
        F.cross_entropy(logits, targets).backward()
        p = np.exp(logits.data) / np.exp(logits.data).sum(axis=1, keepdims=True)
        p[np.arange(3), targets] -= 1
        np.testing.assert_allclose(logits.grad, p / 3)

    def test_cross_entropy_accepts_tensor_and_integral_targets(self):
        logits = randn(2, 3)
        a = F.cross_entropy(logits, Tensor([2, 1]))
        b = F.cross_entropy(logits, np.array([2, 1], dtype=np.int32))
        np.testing.assert_allclose(a.data, b.data)

    @pytest.mark.parametrize("reduction", ["mean", "sum"])
    def test_mse_loss(self, reduction):
        pred, target = randn(3, 4, seed=1), randn(3, 4, seed=2)
        expected = ((pred.data - target.data) ** 2).mean() if reduction == "mean" else ((pred.data - target.data) ** 2).sum()
        np.testing.assert_allclose(F.mse_loss(pred, target, reduction).data, expected)
        check(lambda p, t: F.mse_loss(p, t, reduction), pred, target)

    def test_mse_loss_with_ndarray_target(self):
        target = np.arange(6.0).reshape(2, 3)
        check(lambda p: F.mse_loss(p, target), randn(2, 3))


# ----------------------------------------------------------------------------------------------
# Layers: linear, conv2d
# ----------------------------------------------------------------------------------------------
class TestLinear:
    def test_linear_with_bias(self):
        x, w, b = randn(4, 3, seed=1), randn(5, 3, seed=2), randn(5, seed=3)
        np.testing.assert_allclose(F.linear(x, w, b).data, x.data @ w.data.T + b.data)
        check(F.linear, x, w, b)

    def test_linear_without_bias(self):
        x, w = randn(4, 3, seed=1), randn(5, 3, seed=2)
        check(F.linear, x, w)

    def test_linear_batched_input(self):
        x, w, b = randn(2, 4, 3, seed=1), randn(5, 3, seed=2), randn(5, seed=3)
        check(F.linear, x, w, b)

    def test_linear_vector_input(self):
        check(F.linear, randn(3, seed=1), randn(2, 3, seed=2), randn(2, seed=3))


def conv_reference(x, w, b, stride, padding):
    """Direct loops: the definition of PyTorch's conv2d (cross-correlation)."""
    (sh, sw), (ph, pw) = stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, _, hh, ww = xp.shape
    o, _, kh, kw = w.shape
    oh, ow = (hh - kh) // sh + 1, (ww - kw) // sw + 1
    y = np.zeros((n, o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            y[:, :, i, j] = np.einsum("ncpq,ocpq->no", patch, w)
    return y if b is None else y + b[None, :, None, None]


CONV_CASES = [
    # (x shape, w shape, stride, padding, bias)
    ((2, 2, 5, 5), (3, 2, 3, 3), 1, 0, True),
    ((1, 2, 6, 7), (2, 2, 3, 3), 2, 1, True),
    ((1, 2, 5, 7), (2, 2, 3, 5), 1, (1, 2), False),
    ((2, 1, 6, 5), (2, 1, 3, 3), (2, 1), 0, True),
    ((2, 3, 4, 4), (2, 3, 1, 1), 1, 0, False),
    ((1, 2, 4, 4), (2, 2, 1, 1), 2, 0, True),
    ((1, 1, 3, 3), (1, 1, 3, 3), 1, 1, True),
]


class TestConv2d:
    @pytest.mark.parametrize("xs, ws, stride, padding, bias", CONV_CASES,
                             ids=["basic", "stride2-pad1", "3x5-nobias", "stride(2,1)", "1x1", "1x1-stride2", "pad-full"])
    def test_forward_matches_reference(self, xs, ws, stride, padding, bias):
        x, w = randn(*xs, seed=1), randn(*ws, seed=2)
        b = randn(ws[0], seed=3) if bias else None
        s = (stride, stride) if isinstance(stride, int) else stride
        p = (padding, padding) if isinstance(padding, int) else padding
        out = F.conv2d(x, w, b, stride=stride, padding=padding)
        np.testing.assert_allclose(out.data, conv_reference(x.data, w.data, None if b is None else b.data, s, p),
                                   rtol=1e-12, atol=1e-12)

    @pytest.mark.parametrize("xs, ws, stride, padding, bias", CONV_CASES,
                             ids=["basic", "stride2-pad1", "3x5-nobias", "stride(2,1)", "1x1", "1x1-stride2", "pad-full"])
    def test_gradcheck(self, xs, ws, stride, padding, bias):
        x, w = randn(*xs, seed=1), randn(*ws, seed=2)
        if bias:
            check(lambda a, k, c: F.conv2d(a, k, c, stride=stride, padding=padding), x, w, randn(ws[0], seed=3))
        else:
            check(lambda a, k: F.conv2d(a, k, stride=stride, padding=padding), x, w)

    @HYPOTHESIS
    @given(
        n=st.integers(1, 2), c=st.integers(1, 2), o=st.integers(1, 2),
        h=st.integers(1, 5), w=st.integers(1, 5), kh=st.integers(1, 3), kw=st.integers(1, 3),
        sh=st.integers(1, 2), sw=st.integers(1, 2), ph=st.integers(0, 1), pw=st.integers(0, 1),
        seed=st.integers(0, 2**16),
    )
    def test_hypothesis_shapes(self, n, c, o, h, w, kh, kw, sh, sw, ph, pw, seed):
        if h + 2 * ph < kh or w + 2 * pw < kw:
            with pytest.raises(ValueError, match="conv2d"):
                F.conv2d(np.zeros((n, c, h, w)), np.zeros((o, c, kh, kw)), padding=(ph, pw))
            return
        x, k, b = randn(n, c, h, w, seed=seed), randn(o, c, kh, kw, seed=seed + 1), randn(o, seed=seed + 2)
        out = F.conv2d(x, k, b, stride=(sh, sw), padding=(ph, pw))
        np.testing.assert_allclose(out.data, conv_reference(x.data, k.data, b.data, (sh, sw), (ph, pw)),
                                   rtol=1e-12, atol=1e-12)
        check(lambda a, q, r: F.conv2d(a, q, r, stride=(sh, sw), padding=(ph, pw)), x, k, b)


# ----------------------------------------------------------------------------------------------
# Pooling and resizing
# ----------------------------------------------------------------------------------------------
def pool_reference(x, kernel, stride, padding, mode):
    """Direct loops over windows; max pads with −∞, avg pads with zeros counted in the mean."""
    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)
    (kh, kw), (ph, pw) = pair(kernel), pair(padding)
    sh, sw = (kh, kw) if stride is None else pair(stride)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf if mode == "max" else 0.0)
    oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    y = np.zeros(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            window = xp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            y[:, :, i, j] = window.max(axis=(2, 3)) if mode == "max" else window.mean(axis=(2, 3))
    return y


class TestPooling:
    @pytest.mark.parametrize(
        "kernel, stride, padding",
        [(2, None, 0), (3, 2, 1), (2, 1, 0), ((2, 3), (1, 2), (1, 1)), (3, 3, 0)],
        ids=["2x2", "3-stride2-pad1", "overlap", "rect", "3x3"],
    )
    def test_max_pool2d(self, kernel, stride, padding):
        x = distinct(2, 2, 6, 7)
        out = F.max_pool2d(x, kernel, stride, padding)
        np.testing.assert_array_equal(out.data, pool_reference(x.data, kernel, stride, padding, "max"))
        check(lambda t: F.max_pool2d(t, kernel, stride, padding), x)

    def test_max_pool2d_routes_gradient_to_argmax(self):
        x = leaf(np.array([[[[1.0, 5.0], [3.0, 2.0]]]]))
        F.max_pool2d(x, 2).sum().backward()
        np.testing.assert_array_equal(x.grad, [[[[0.0, 1.0], [0.0, 0.0]]]])

    @pytest.mark.parametrize(
        "kernel, stride, padding",
        [(2, None, 0), (3, 1, 1), (3, 2, 1), ((2, 3), (2, 1), (1, 1))],
        ids=["2x2", "3-pad1", "3-stride2-pad1", "rect"],
    )
    def test_avg_pool2d(self, kernel, stride, padding):
        x = randn(2, 2, 5, 6)
        expected = pool_reference(x.data, kernel, stride, padding, "avg")
        np.testing.assert_allclose(F.avg_pool2d(x, kernel, stride, padding).data, expected, rtol=1e-12)
        check(lambda t: F.avg_pool2d(t, kernel, stride, padding), x)

    def test_adaptive_avg_pool2d(self):
        x = randn(2, 3, 4, 5)
        out = F.adaptive_avg_pool2d(x)
        assert out.shape == (2, 3, 1, 1)
        np.testing.assert_allclose(out.data, x.data.mean(axis=(2, 3), keepdims=True))
        check(F.adaptive_avg_pool2d, x)

    @pytest.mark.parametrize("size", [(7, 9), (2, 3), (4, 2), (5, 5)], ids=["up", "down", "mixed", "same"])
    def test_interpolate_bilinear(self, size):
        x = randn(1, 2, 5, 4)
        torch = pytest.importorskip("torch", reason="PyTorch (optional) is the oracle for bilinear values")
        expected = torch.nn.functional.interpolate(torch.from_numpy(x.data), size=size, mode="bilinear",
                                                   align_corners=False).numpy()
        np.testing.assert_allclose(F.interpolate(x, size).data, expected, rtol=1e-12, atol=1e-12)
        check(lambda t: F.interpolate(t, size), x)

    @pytest.mark.parametrize("size", [(7, 9), (2, 3)], ids=["up", "down"])
    def test_interpolate_gradcheck_and_invariants(self, size):
        x = randn(1, 2, 5, 4)
        np.testing.assert_allclose(F.interpolate(x, (5, 4)).data, x.data, rtol=1e-12)
        constant = F.interpolate(Tensor(np.full((1, 1, 5, 4), 3.0)), size)
        np.testing.assert_allclose(constant.data, 3.0)
        check(lambda t: F.interpolate(t, size), x)


# ----------------------------------------------------------------------------------------------
# Batch norm and dropout
# ----------------------------------------------------------------------------------------------
class TestBatchNorm:
    def setup_method(self):
        rng = np.random.default_rng(7)
        self.running_mean = rng.standard_normal(3)
        self.running_var = rng.uniform(0.5, 2.0, 3)

    def bn(self, training):
        rm, rv = self.running_mean, self.running_var
        # A fresh copy of the running statistics per call: training updates them in place.
        return lambda x, w, b: F.batch_norm(x, rm.copy(), rv.copy(), w, b, training=training)

    @pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2, 3)], ids=["2d", "4d"])
    def test_train_gradcheck(self, shape):
        check(self.bn(True), randn(*shape, seed=1), randn(3, seed=2), randn(3, seed=3))

    @pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2, 3)], ids=["2d", "4d"])
    def test_eval_gradcheck(self, shape):
        check(self.bn(False), randn(*shape, seed=1), randn(3, seed=2), randn(3, seed=3))

    def test_train_forward_and_running_stats(self):
        x = randn(4, 3, 2, 2, seed=1)
        rm, rv = np.zeros(3), np.ones(3)
        out = F.batch_norm(x, rm, rv, np.ones(3), np.zeros(3), training=True, momentum=0.1)
        mean, var = x.data.mean(axis=(0, 2, 3)), x.data.var(axis=(0, 2, 3))
        expected = (x.data - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-5)
        np.testing.assert_allclose(out.data, expected, atol=1e-12)
        np.testing.assert_allclose(rm, 0.1 * mean)
        np.testing.assert_allclose(rv, 0.9 + 0.1 * var * 16 / 15)

    def test_eval_uses_running_stats(self):
        x = randn(2, 3)
        rm, rv = np.array([1.0, 2.0, 3.0]), np.array([4.0, 1.0, 0.25])
        out = F.batch_norm(x, rm, rv, np.full(3, 2.0), np.full(3, 0.5), training=False, eps=0.0)
        np.testing.assert_allclose(out.data, 2 * (x.data - rm) / np.sqrt(rv) + 0.5)
        np.testing.assert_array_equal(rm, [1.0, 2.0, 3.0])

    @pytest.mark.parametrize("training", [True, False])
    def test_float32_stays_float32(self, training):
        x = Tensor(np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32), requires_grad=True)
        stats = (np.zeros(3, np.float32), np.ones(3, np.float32))
        y = F.batch_norm(x, *stats, np.ones(3, np.float32), np.zeros(3, np.float32), training=training)
        assert y.dtype == np.float32
        (y * y).sum().backward()
        assert x.grad.dtype == np.float32

    def test_channel_mismatch(self):
        with pytest.raises(ValueError, match="batch_norm"):
            F.batch_norm(randn(2, 4), np.zeros(3), np.ones(3), np.ones(3), np.zeros(3))


class TestDropout:
    def test_gradcheck_with_fixed_mask(self):
        check(lambda t: F.dropout(t, 0.4, rng=np.random.default_rng(0)), randn(4, 5))

    def test_mask_and_scale(self):
        x = leaf(np.ones((50, 40)))
        y = F.dropout(x, 0.25, rng=np.random.default_rng(1))
        values = np.unique(y.data)
        np.testing.assert_allclose(values, [0.0, 1 / 0.75])
        assert 0.2 < (y.data == 0).mean() < 0.3
        y.sum().backward()
        np.testing.assert_array_equal(x.grad, y.data)

    def test_eval_and_p0_are_identity(self):
        x = randn(3)
        np.testing.assert_array_equal(F.dropout(x, 0.5, training=False).data, x.data)
        np.testing.assert_array_equal(F.dropout(x, 0.0).data, x.data)


# ----------------------------------------------------------------------------------------------
# Compositions
# ----------------------------------------------------------------------------------------------
class TestComposite:
    def test_tensor_used_twice(self):
        check(lambda t: F.tanh(t) * t + F.exp(t * 0.5), randn(2, 3))

    def test_residual_block(self):
        x = randn(1, 2, 5, 5, seed=1)
        w1, b1 = randn(3, 2, 3, 3, seed=2), randn(3, seed=3)
        w2, b2 = randn(2, 3, 3, 3, seed=4), randn(2, seed=5)

        def block(x, w1, b1, w2, b2):
            return F.conv2d(F.relu(F.conv2d(x, w1, b1, padding=1)), w2, b2, padding=1) + x

        check(block, x, w1, b1, w2, b2)

    def test_small_cnn(self):
        x = randn(2, 1, 6, 6, seed=1)
        w, lw = randn(2, 1, 3, 3, seed=2), randn(3, 8, seed=3)
        targets = np.array([0, 2])

        def net(x, w, lw):
            h = F.max_pool2d(F.relu(F.conv2d(x, w, padding=1)), 3)
            return F.cross_entropy(F.linear(F.flatten(h, 1), lw), targets)

        check(net, x, w, lw)


# ----------------------------------------------------------------------------------------------
# hypothesis: elementwise ops with broadcasting
# ----------------------------------------------------------------------------------------------
class TestBroadcastingHypothesis:
    @HYPOTHESIS
    @given(
        shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
        name=st.sampled_from(sorted(BINARY)),
        seed=st.integers(0, 2**16),
    )
    def test_binary_ops(self, shapes, name, seed):
        shape_a, shape_b = shapes.input_shapes
        a, b = positive(*shape_a, seed=seed), positive(*shape_b, seed=seed + 1)
        out = BINARY[name](a, b)
        assert out.shape == shapes.result_shape
        check(BINARY[name], a, b)

    @HYPOTHESIS
    @given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=3), seed=st.integers(0, 2**16),
           op=st.sampled_from(["exp", "tanh", "sigmoid", "neg", "square"]))
    def test_unary_ops(self, shape, seed, op):
        fn = {"exp": F.exp, "tanh": F.tanh, "sigmoid": F.sigmoid, "neg": F.neg,
              "square": lambda t: t ** 2}[op]
        check(fn, randn(*shape, seed=seed))

    @HYPOTHESIS
    @given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=3), data=st.data())
    def test_sum_over_random_axes(self, shape, data):
        axes = data.draw(st.lists(st.integers(-len(shape), len(shape) - 1), unique_by=lambda a: a % len(shape)))
        keepdims = data.draw(st.booleans())
        x = randn(*shape)
        np.testing.assert_allclose(F.sum(x, tuple(axes), keepdims).data, x.data.sum(axis=tuple(axes), keepdims=keepdims))
        check(lambda t: F.sum(t, tuple(axes), keepdims), x)


# ----------------------------------------------------------------------------------------------
# Numerical robustness
# ----------------------------------------------------------------------------------------------
class TestRobustness:
    def test_cross_entropy_huge_logits_exact(self):
        z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [3.0, -1e4, 1e4]])
        targets = np.array([1, 0, 2])
        m = z.max(axis=1, keepdims=True)
        lse = (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))[:, 0]
        expected = (lse - z[np.arange(3), targets]).mean()
        logits = leaf(z)
        loss = F.cross_entropy(logits, targets)
        assert np.isfinite(loss.data)
        assert loss.item() == pytest.approx(expected, rel=1e-15)
        assert loss.item() == pytest.approx((2e4 + (2e4 + np.log(2)) + 0.0) / 3, rel=1e-15)
        loss.backward()
        assert np.isfinite(logits.grad).all()

    def test_cross_entropy_huge_logits_float32(self):
        logits = Tensor(np.array([[1e4, -1e4]], dtype=np.float32), requires_grad=True)
        loss = F.cross_entropy(logits, [1])
        assert loss.dtype == np.float32 and loss.item() == pytest.approx(2e4)

    def test_softmax_large_logits(self):
        x = leaf([[1000.0, 1000.0, -1000.0], [1e4, 0.0, -1e4]])
        y = F.softmax(x, axis=1)
        np.testing.assert_allclose(y.data, [[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
        (y * np.arange(3.0)).sum().backward()
        assert np.isfinite(x.grad).all()

    def test_log_softmax_large_logits(self):
        y = F.log_softmax(leaf([[1e4, -1e4, 1e4]]))
        np.testing.assert_allclose(y.data, [[-np.log(2), -2e4 - np.log(2), -np.log(2)]])

    def test_sigmoid_extreme_values_finite(self):
        x = leaf([-1000.0, -50.0, 0.0, 50.0, 1000.0])
        with np.errstate(over="raise"):
            y = F.sigmoid(x)
        assert np.isfinite(y.data).all()
        np.testing.assert_allclose(y.data[[0, 2, 4]], [0.0, 0.5, 1.0])
        y.sum().backward()
        assert np.isfinite(x.grad).all()

    def test_nan_through_relu(self):
        y = F.relu(Tensor([np.nan, 1.0, -1.0]))
        assert np.isnan(y.data[0]) and y.data[1] == 1.0 and y.data[2] == 0.0

    def test_nan_through_conv(self):
        x = np.zeros((1, 1, 5, 5))
        x[0, 0, 0, 0] = np.nan
        y = F.conv2d(Tensor(x), Tensor(np.ones((1, 1, 3, 3))))
        assert np.isnan(y.data[0, 0, 0, 0])
        assert y.data[0, 0, 2, 2] == 0.0

    def test_nan_through_max_pool(self):
        x = np.arange(16.0).reshape(1, 1, 4, 4)
        x[0, 0, 0, 0] = np.nan
        y = F.max_pool2d(Tensor(x), 2)
        assert np.isnan(y.data[0, 0, 0, 0])
        np.testing.assert_array_equal(y.data[0, 0, 1], [13.0, 15.0])

    def test_nan_through_linear(self):
        y = F.linear(Tensor([[np.nan, 1.0], [1.0, 1.0]]), Tensor(np.ones((3, 2))))
        assert np.isnan(y.data[0]).all() and np.isfinite(y.data[1]).all()

    def test_nan_backward_does_not_crash(self):
        x = leaf([[np.nan, 1.0]])
        F.relu(F.linear(x, np.ones((2, 2)))).sum().backward()
        assert x.grad.shape == (1, 2)


# ----------------------------------------------------------------------------------------------
# Bad input: errors that name the op, the argument and the shapes
# ----------------------------------------------------------------------------------------------
class TestErrors:
    @pytest.mark.parametrize("name", BINARY)
    def test_broadcast_mismatch_names_both_shapes(self, name):
        with pytest.raises(ValueError) as info:
            BINARY[name](Tensor(np.ones((2, 3))), Tensor(np.ones((4,))))
        message = str(info.value)
        assert name in message and "(2, 3)" in message and "(4,)" in message

    def test_matmul_misaligned(self):
        with pytest.raises(ValueError) as info:
            F.matmul(Tensor(np.ones((2, 3))), Tensor(np.ones((4, 5))))
        message = str(info.value)
        assert "matmul" in message and "(2, 3)" in message and "(4, 5)" in message

    def test_matmul_batch_mismatch_names_op_and_shapes(self):
        with pytest.raises(ValueError) as info:
            F.matmul(Tensor(np.ones((2, 3, 4))), Tensor(np.ones((3, 4, 5))))
        message = str(info.value)
        assert "matmul" in message and "(2, 3, 4)" in message and "(3, 4, 5)" in message

    def test_matmul_scalar_operand(self):
        with pytest.raises(ValueError, match="matmul"):
            F.matmul(Tensor(2.0), Tensor(np.ones(3)))

    def test_conv2d_wrong_rank(self):
        with pytest.raises(ValueError) as info:
            F.conv2d(Tensor(np.ones((3, 5, 5))), Tensor(np.ones((2, 3, 3, 3))))
        assert "conv2d" in str(info.value) and "(3, 5, 5)" in str(info.value)

    def test_conv2d_wrong_channels(self):
        with pytest.raises(ValueError) as info:
            F.conv2d(Tensor(np.ones((1, 2, 5, 5))), Tensor(np.ones((4, 3, 3, 3))))
        message = str(info.value)
        assert "conv2d" in message and "(1, 2, 5, 5)" in message and "(4, 3, 3, 3)" in message

    def test_conv2d_kernel_larger_than_input(self):
        with pytest.raises(ValueError, match="conv2d"):
            F.conv2d(Tensor(np.ones((1, 1, 2, 2))), Tensor(np.ones((1, 1, 3, 3))))

    @pytest.mark.parametrize("kwargs", [dict(stride=0), dict(padding=-1), dict(stride=(1, 2, 3))])
    def test_conv2d_bad_settings(self, kwargs):
        with pytest.raises(ValueError, match="conv2d"):
            F.conv2d(Tensor(np.ones((1, 1, 5, 5))), Tensor(np.ones((1, 1, 3, 3))), **kwargs)

    def test_conv2d_dtype_mismatch(self):
        with pytest.raises(TypeError, match="conv2d"):
            F.conv2d(Tensor(np.ones((1, 1, 5, 5), dtype=np.float32)), Tensor(np.ones((1, 1, 3, 3))))

    def test_linear_wrong_features(self):
        with pytest.raises(ValueError, match="linear"):
            F.linear(Tensor(np.ones((2, 4))), Tensor(np.ones((3, 5))))

    def test_linear_wrong_bias_shape(self):
        with pytest.raises(ValueError, match=r"linear.*bias"):
            F.linear(Tensor(np.ones((2, 3))), Tensor(np.ones((4, 3))), Tensor(np.ones(5)))

    def test_conv2d_wrong_bias_shape(self):
        with pytest.raises(ValueError, match=r"conv2d.*bias"):
            F.conv2d(Tensor(np.ones((1, 1, 3, 3))), Tensor(np.ones((2, 1, 3, 3))), Tensor(np.ones(3)))

    @pytest.mark.parametrize("targets", [[0, 3], [-1, 0]], ids=["too-big", "negative"])
    def test_cross_entropy_targets_out_of_range(self, targets):
        with pytest.raises(ValueError, match=r"cross_entropy.*\[0, 3\)"):
            F.cross_entropy(Tensor(np.zeros((2, 3))), targets)

    def test_cross_entropy_wrong_length(self):
        with pytest.raises(ValueError, match="cross_entropy") as info:
            F.cross_entropy(Tensor(np.zeros((2, 3))), [0, 1, 2])
        assert "2" in str(info.value) and "3" in str(info.value)

    def test_cross_entropy_float_targets(self):
        with pytest.raises(TypeError, match="cross_entropy"):
            F.cross_entropy(Tensor(np.zeros((2, 3))), np.array([0.5, 1.0]))

    def test_cross_entropy_bool_targets(self):
        with pytest.raises(TypeError, match="cross_entropy"):
            F.cross_entropy(Tensor(np.zeros((2, 3))), np.array([True, False]))

    def test_cross_entropy_logits_rank(self):
        with pytest.raises(ValueError, match="cross_entropy"):
            F.cross_entropy(Tensor(np.zeros(3)), [0])

    def test_cross_entropy_bad_reduction(self):
        with pytest.raises(ValueError, match="reduction"):
            F.cross_entropy(Tensor(np.zeros((1, 3))), [0], reduction="avg")

    def test_mse_shape_mismatch(self):
        with pytest.raises(ValueError, match=r"mse_loss.*\(2, 3\).*\(3, 2\)"):
            F.mse_loss(Tensor(np.zeros((2, 3))), np.zeros((3, 2)))

    def test_reshape_impossible(self):
        with pytest.raises(ValueError) as info:
            F.reshape(Tensor(np.zeros((2, 3))), (4, 2))
        message = str(info.value)
        assert "reshape" in message and "(2, 3)" in message and "(4, 2)" in message

    def test_transpose_bad_axes(self):
        with pytest.raises(ValueError, match="transpose"):
            F.transpose(Tensor(np.zeros((2, 3))), (0, 0))

    def test_concatenate_mismatch(self):
        with pytest.raises(ValueError, match="concatenate"):
            F.concatenate([Tensor(np.zeros((2, 3))), Tensor(np.zeros((3, 3)))], axis=1)

    def test_concatenate_empty(self):
        with pytest.raises(ValueError, match="concatenate"):
            F.concatenate([])

    @pytest.mark.parametrize("kernel, padding", [(2, 2), (3, 2), ((2, 4), (1, 3))])
    def test_max_pool2d_padding_more_than_half_kernel(self, kernel, padding):
        with pytest.raises(ValueError, match=r"max_pool2d.*padding"):
            F.max_pool2d(Tensor(np.zeros((1, 1, 6, 6))), kernel, padding=padding)

    def test_avg_pool2d_padding_more_than_half_kernel(self):
        with pytest.raises(ValueError, match=r"avg_pool2d.*padding"):
            F.avg_pool2d(Tensor(np.zeros((1, 1, 6, 6))), 2, padding=2)

    def test_pool_wrong_rank(self):
        with pytest.raises(ValueError, match="max_pool2d"):
            F.max_pool2d(Tensor(np.zeros((6, 6))), 2)

    @pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, float("nan")])
    def test_dropout_p_out_of_range(self, p):
        with pytest.raises(ValueError, match="dropout.*p"):
            F.dropout(Tensor(np.zeros(3)), p)

    @pytest.mark.parametrize("dtype", [np.int64, np.int8, np.bool_, "int32"])
    def test_cast_to_int_dtype(self, dtype):
        with pytest.raises(TypeError, match="cast"):
            F.cast(Tensor([1.0]), dtype)

    def test_pow_tensor_exponent(self):
        with pytest.raises(TypeError, match="pow"):
            F.pow(Tensor([1.0]), Tensor([2.0]))

    def test_flatten_bad_start_dim(self):
        with pytest.raises(ValueError, match="flatten"):
            F.flatten(Tensor(np.zeros((2, 3))), 2)

    def test_interpolate_unsupported_mode(self):
        with pytest.raises(ValueError, match="interpolate"):
            F.interpolate(Tensor(np.zeros((1, 1, 2, 2))), (4, 4), mode="nearest")

    def test_adaptive_pool_bad_size(self):
        with pytest.raises(ValueError, match="adaptive_avg_pool2d: output_size"):
            F.adaptive_avg_pool2d(Tensor(np.zeros((1, 1, 4, 4))), 0)


@pytest.mark.parametrize("value, slope", [(-1.5, 0.0), (2.0, 1.0)])
def test_relu_of_a_scalar_tensor(value, slope):
    # 0-d arrays (and NumPy scalar gradients) take the NumPy formula instead of the kernels.
    x = mc.Tensor(value, requires_grad=True)
    y = F.relu(x)
    assert y.shape == () and y.item() == max(value, 0.0)
    (g,) = mc.grad(y, [x])
    assert np.shape(g) == () and float(g) == slope

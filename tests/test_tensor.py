"""Tests for minicnn.tensor: the Tensor class, its dtypes, operators and `backward` entry point.

Run one part with e.g. ``pytest tests/test_tensor.py -k Dtype``.
"""

import numpy as np
import pytest

import minicnn as mc
import minicnn.functional as F
from minicnn import Tensor


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# ----------------------------------------------------------------------------------------------
# Construction and attributes
# ----------------------------------------------------------------------------------------------
class TestConstruction:
    def test_attributes(self):
        t = Tensor([[1.0, 2.0, 3.0]], requires_grad=True)
        assert isinstance(t.data, np.ndarray)
        assert t.grad is None
        assert t.requires_grad is True
        assert t.shape == (1, 3)
        assert t.dtype == np.float64
        assert t.ndim == 2 and t.size == 3 and len(t) == 1
        assert t.creator is None

    def test_requires_grad_defaults_to_false(self):
        assert Tensor([1.0]).requires_grad is False

    def test_grad_is_none_until_backward(self):
        t = Tensor([1.0, 2.0], requires_grad=True)
        y = (t * t).sum()
        assert t.grad is None
        y.backward()
        assert isinstance(t.grad, np.ndarray)
        np.testing.assert_array_equal(t.grad, [2.0, 4.0])

    @pytest.mark.parametrize(
        "value",
        [[1, 2, 3], np.array([1, 2, 3], dtype=np.int32), np.array([1, 2], dtype=np.int64),
         [True, False], np.array([True]), 3, 2.5, [1.0, 2.0], np.array([1, 2], dtype=np.uint8),
         np.array([1.0], dtype=np.float16)],
    )
    def test_float64_default_for_non_float32_input(self, value):
        assert Tensor(value).dtype == np.float64

    def test_float32_is_kept(self):
        assert Tensor(np.ones(3, dtype=np.float32)).dtype == np.float32

    def test_float64_is_kept(self):
        assert Tensor(np.ones(3)).dtype == np.float64

    def test_explicit_dtype(self):
        assert Tensor([1, 2], dtype=np.float32).dtype == np.float32

    @pytest.mark.parametrize("dtype", [np.int64, np.int32, int, bool, np.complex128])
    def test_integer_dtype_rejected(self, dtype):
        with pytest.raises(TypeError, match="dtype"):
            Tensor([1.0, 2.0], dtype=dtype)

    def test_object_data_rejected(self):
        with pytest.raises(TypeError):
            Tensor(np.array(["a", 1], dtype=object))

    def test_data_is_copied_on_construction(self):
        source = np.array([1.0, 2.0, 3.0])
        t = Tensor(source)
        source[0] = 100.0
        assert t.data[0] == 1.0

    def test_float32_data_is_copied_on_construction(self):
        source = np.array([1.0, 2.0], dtype=np.float32)
        t = Tensor(source, dtype=np.float32)
        source[:] = -1
        np.testing.assert_array_equal(t.data, [1.0, 2.0])

    def test_data_copied_from_a_tensor_source(self):
        source = Tensor([1.0, 2.0])
        t = Tensor(source)
        source.data[0] = 100.0
        assert t.data[0] == 1.0

    def test_data_copied_from_an_ndarray_subclass(self):
        class Sub(np.ndarray):
            pass

        source = np.arange(3.0).view(Sub)
        t = Tensor(source)
        source[0] = 100.0
        assert t.data[0] == 0.0

    def test_mutating_tensor_does_not_touch_source(self):
        source = np.zeros(3)
        t = Tensor(source)
        t.data[1] = 5
        assert source[1] == 0

    def test_detach_shares_data_but_cuts_graph(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        d = y.detach()
        assert d.requires_grad is False and d.creator is None
        np.testing.assert_array_equal(d.data, y.data)

    def test_as_tensor_returns_same_tensor(self):
        t = Tensor([1.0])
        assert mc.as_tensor(t) is t
        assert isinstance(mc.as_tensor([1.0]), Tensor)

    def test_repr_mentions_dtype_and_grad(self):
        r = repr(Tensor([1.0], requires_grad=True))
        assert "float64" in r and "requires_grad=True" in r

    def test_item_and_numpy(self):
        t = Tensor([[3.5]])
        assert t.item() == 3.5
        assert t.numpy() is t.data


# ----------------------------------------------------------------------------------------------
# Operators
# ----------------------------------------------------------------------------------------------
class TestOperators:
    def setup_method(self):
        rng = np.random.default_rng(1)
        self.a = rng.uniform(0.5, 2.0, (2, 3))
        self.b = rng.uniform(0.5, 2.0, (2, 3))
        self.ta, self.tb = Tensor(self.a), Tensor(self.b)

    @pytest.mark.parametrize(
        "op",
        [lambda x, y: x + y, lambda x, y: x - y, lambda x, y: x * y, lambda x, y: x / y],
        ids=["add", "sub", "mul", "div"],
    )
    def test_binary_tensor_tensor(self, op):
        out = op(self.ta, self.tb)
        assert isinstance(out, Tensor)
        np.testing.assert_allclose(out.data, op(self.a, self.b))

    @pytest.mark.parametrize(
        "op",
        [lambda x, y: x + y, lambda x, y: x - y, lambda x, y: x * y, lambda x, y: x / y,
         lambda x, y: y + x, lambda x, y: y - x, lambda x, y: y * x, lambda x, y: y / x],
        ids=["add", "sub", "mul", "div", "radd", "rsub", "rmul", "rdiv"],
    )
    @pytest.mark.parametrize("other", [2.5, 3, np.float64(1.5)], ids=["float", "int", "npfloat"])
    def test_with_numbers(self, op, other):
        out = op(self.ta, other)
        assert isinstance(out, Tensor)
        np.testing.assert_allclose(out.data, op(self.a, other))

    @pytest.mark.parametrize(
        "op",
        [lambda x, y: x + y, lambda x, y: x - y, lambda x, y: x * y, lambda x, y: x / y,
         lambda x, y: y + x, lambda x, y: y - x, lambda x, y: y * x, lambda x, y: y / x],
        ids=["add", "sub", "mul", "div", "radd", "rsub", "rmul", "rdiv"],
    )
    def test_with_ndarrays(self, op):
        # ndarray on either side must give a Tensor (NumPy must defer to Tensor's reflected op).
        other = np.array([1.0, 2.0, 4.0])
        out = op(self.ta, other)
        assert isinstance(out, Tensor), type(out)
        np.testing.assert_allclose(out.data, op(self.a, other))

    def test_reflected_ops_carry_gradient(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        y = (2.0 - x) + (3.0 * x) + (1.0 / x) + (np.array([1.0, 1.0]) * x)
        y.sum().backward()
        np.testing.assert_allclose(x.grad, -1 + 3 - 1 / np.array([1.0, 2.0]) ** 2 + 1)

    def test_neg(self):
        np.testing.assert_array_equal((-self.ta).data, -self.a)

    @pytest.mark.parametrize("p", [2, 3.0, -1.0, 0.5, -0.5])
    def test_pow(self, p):
        np.testing.assert_allclose((self.ta ** p).data, self.a ** p)

    def test_pow_with_tensor_exponent_rejected(self):
        with pytest.raises(TypeError, match="exponent"):
            self.ta ** Tensor(2.0)

    def test_matmul(self):
        m = np.arange(12.0).reshape(3, 4)
        np.testing.assert_allclose((self.ta @ Tensor(m)).data, self.a @ m)
        np.testing.assert_allclose((self.ta @ m).data, self.a @ m)

    def test_rmatmul_with_ndarray(self):
        m = np.arange(6.0).reshape(3, 2)
        out = m @ self.ta
        assert isinstance(out, Tensor)
        np.testing.assert_allclose(out.data, m @ self.a)

    @pytest.mark.parametrize(
        "index",
        [0, -1, (1, 2), slice(None, None, -1), (slice(None), [0, 2]), (Ellipsis, 1), np.array([1, 1, 0])],
        ids=["int", "neg", "pair", "reverse", "fancy", "ellipsis", "array"],
    )
    def test_indexing(self, index):
        np.testing.assert_array_equal(self.ta[index].data, np.asarray(self.a[index]))

    def test_comparisons_give_plain_arrays(self):
        mask = self.ta > 1.0
        assert isinstance(mask, np.ndarray) and mask.dtype == bool
        np.testing.assert_array_equal(mask, self.a > 1.0)
        np.testing.assert_array_equal(self.ta <= self.tb, self.a <= self.b)

    def test_tensors_are_hashable_by_identity(self):
        t1, t2 = Tensor([1.0]), Tensor([1.0])
        assert len({t1, t2}) == 2

    def test_methods(self):
        t = self.ta
        np.testing.assert_allclose(t.sum().data, self.a.sum())
        np.testing.assert_allclose(t.mean(axis=0).data, self.a.mean(axis=0))
        np.testing.assert_allclose(t.max(axis=1, keepdims=True).data, self.a.max(axis=1, keepdims=True))
        assert t.reshape(3, 2).shape == (3, 2)
        assert t.reshape((6,)).shape == (6,)
        assert t.T.shape == (3, 2)
        assert t.transpose(1, 0).shape == (3, 2)
        assert Tensor(np.zeros((2, 3, 4))).flatten().shape == (24,)        # torch.flatten's default
        assert Tensor(np.zeros((2, 3, 4))).flatten(1).shape == (2, 12)
        np.testing.assert_allclose(t.exp().data, np.exp(self.a))
        np.testing.assert_allclose(t.log().data, np.log(self.a))
        np.testing.assert_allclose(t.tanh().data, np.tanh(self.a))
        np.testing.assert_allclose(t.sigmoid().data, 1 / (1 + np.exp(-self.a)))
        np.testing.assert_allclose((t - 1).relu().data, np.maximum(self.a - 1, 0))


# ----------------------------------------------------------------------------------------------
# dtype propagation: float32 stays float32 end to end
# ----------------------------------------------------------------------------------------------
class TestDtype:
    def setup_method(self):
        rng = np.random.default_rng(2)
        self.x32 = Tensor(rng.standard_normal((2, 3, 6, 6)).astype(np.float32), requires_grad=True)

    @pytest.mark.parametrize(
        "op",
        [lambda t: t * 2.0, lambda t: 2.0 * t, lambda t: t + 1, lambda t: 1.5 - t, lambda t: t / 3.0,
         lambda t: 3.0 / (t * t + 1), lambda t: t ** 2, lambda t: (t * t + 1) ** -0.5,
         lambda t: t * np.float64(2.0), lambda t: -t, lambda t: t.exp(), lambda t: t.mean(),
         lambda t: t.sum(axis=1), lambda t: t.max(axis=(2, 3))],
    )
    def test_elementwise_and_reductions_stay_float32(self, op):
        assert op(self.x32).dtype == np.float32

    def test_ndarray_operand_promotes_as_pytorch(self):
        # A float64 array counts as a float64 tensor: float32 · float64 → float64, as in PyTorch
        # (it used to be cast silently to float32).
        assert (self.x32 * np.ones(6)).dtype == np.float64
        assert (np.ones(6) + self.x32).dtype == np.float64
        # float32 arrays, integer arrays, NumPy scalars and 0-d arrays do not promote.
        assert (self.x32 * np.ones(6, dtype=np.float32)).dtype == np.float32
        assert (self.x32 * np.arange(6)).dtype == np.float32
        assert (self.x32 * np.float64(2.0)).dtype == np.float32
        assert (self.x32 * np.array(2.0)).dtype == np.float32

    def test_promoted_op_gives_each_input_its_own_dtype_gradient(self):
        a = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
        b = Tensor(np.full(3, 2.0), requires_grad=True)
        out = a * b
        assert out.dtype == np.float64
        out.sum().backward()
        assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
        np.testing.assert_array_equal(a.grad, [2.0, 2.0, 2.0])
        np.testing.assert_array_equal(b.grad, [1.0, 1.0, 1.0])

    def test_relu_sigmoid_tanh_softmax(self):
        for f in (F.relu, F.sigmoid, F.tanh, F.softmax, F.log_softmax):
            assert f(self.x32).dtype == np.float32, f.__name__

    def test_conv_pool_stay_float32_with_float32_grads(self):
        w = Tensor(np.random.default_rng(3).standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
        b = Tensor(np.zeros(4, dtype=np.float32), requires_grad=True)
        y = F.conv2d(self.x32, w, b, padding=1)
        assert y.dtype == np.float32
        p = F.max_pool2d(y, 2)
        assert p.dtype == np.float32
        a = F.avg_pool2d(p, 3, stride=1, padding=1)
        assert a.dtype == np.float32
        r = F.interpolate(a, (5, 4))
        assert r.dtype == np.float32
        loss = F.adaptive_avg_pool2d(r).sum()
        assert loss.dtype == np.float32
        loss.backward()
        for t in (self.x32, w, b):
            assert t.grad.dtype == np.float32

    def test_cross_entropy_stays_float32(self):
        logits = Tensor(np.random.default_rng(4).standard_normal((4, 5)).astype(np.float32), requires_grad=True)
        loss = F.cross_entropy(logits, [0, 1, 2, 4])
        assert loss.dtype == np.float32
        loss.backward()
        assert logits.grad.dtype == np.float32

    def test_linear_and_mse_stay_float32(self):
        x = Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
        w = Tensor(np.ones((4, 3), dtype=np.float32))
        b = Tensor(np.ones(4, dtype=np.float32))
        y = F.linear(x, w, b)
        assert y.dtype == np.float32
        loss = F.mse_loss(y, np.zeros((2, 4)))
        assert loss.dtype == np.float32
        loss.backward()
        assert x.grad.dtype == np.float32

    def test_float32_backward_seed_grad_stays_float32(self):
        x = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
        (x * 2.0).backward(np.ones(3))
        assert x.grad.dtype == np.float32

    def test_cast(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        y = x.astype(np.float32)
        assert y.dtype == np.float32
        y.sum().backward()
        assert x.grad.dtype == np.float64

    @pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_, np.float16])
    def test_cast_to_non_float_rejected(self, dtype):
        with pytest.raises(TypeError, match="dtype"):
            Tensor([1.0]).astype(dtype)


# ----------------------------------------------------------------------------------------------
# backward entry point
# ----------------------------------------------------------------------------------------------
class TestBackward:
    def test_non_scalar_without_grad_raises(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match=r"\(2,\)"):
            (x * 2).backward()

    def test_non_scalar_with_grad(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        (x * 3).backward(np.array([1.0, 10.0]))
        np.testing.assert_array_equal(x.grad, [3.0, 30.0])

    def test_one_element_non_0d(self):
        x = Tensor([[2.0]], requires_grad=True)
        (x * x).backward()
        np.testing.assert_array_equal(x.grad, [[4.0]])

    def test_wrong_seed_shape(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(ValueError, match="shape"):
            (x * 2).backward(np.ones(3))

    def test_backward_on_constant_raises(self):
        with pytest.raises(RuntimeError, match="require"):
            Tensor([1.0]).sum().backward()

    def test_leaf_backward(self):
        x = Tensor(3.0, requires_grad=True)
        x.backward()
        assert x.grad == 1.0

    def test_zero_grad(self):
        x = Tensor([1.0], requires_grad=True)
        (x * 2).sum().backward()
        x.zero_grad()
        assert x.grad is None

    def test_constant_inputs_get_no_grad(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        c = Tensor([3.0, 4.0])
        (x * c).sum().backward()
        assert c.grad is None

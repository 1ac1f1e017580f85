"""Tests for minicnn.gradcheck: it must accept correct gradients and catch wrong ones.

Run one part with e.g. ``pytest tests/test_gradcheck.py -k Wrong``.
"""

import re
import warnings

import numpy as np
import pytest

import minicnn as mc
import minicnn.functional as F
from minicnn import Tensor
from minicnn.autograd import Function
from minicnn.gradcheck import analytical_jacobian, numerical_jacobian


def leaf(array, dtype=np.float64):
    return Tensor(np.asarray(array, dtype=dtype), requires_grad=True)


class WrongSquare(Function):
    """y = a²; backward deliberately returns 3a instead of 2a."""

    def forward(self, a):
        self.save_for_backward(a)
        return a * a

    def backward(self, g):
        (a,) = self.saved
        return (3 * a * g,)


class WrongOnSecondInput(Function):
    """y = a·b; the gradient for b is off by one at element [1, 2] only."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, g):
        a, b = self.saved
        grad_b = g * a
        grad_b[1, 2] += 1.0 if g[1, 2] != 0 else 0.0
        return g * b, grad_b


class NanGradient(Function):
    def forward(self, a):
        return a * 2

    def backward(self, g):
        return (g * np.nan,)


class TestAccepts:
    def test_true_for_correct_ops(self):
        x = leaf(np.random.default_rng(0).standard_normal((2, 3)))
        assert mc.gradcheck(lambda t: F.tanh(t) * t, [x]) is True

    def test_single_tensor_argument(self):
        assert mc.gradcheck(F.exp, leaf([0.1, 0.2])) is True

    def test_inputs_without_requires_grad_are_not_checked(self):
        calls = []

        class Spy(Function):
            def forward(self, a, b):
                return a * b

            def backward(self, g):
                calls.append(1)
                return None, g * 0  # wrong for b, but b is a constant

        a, b = leaf([1.0, 2.0]), Tensor([3.0, 4.0])
        with pytest.raises(mc.GradcheckError):
            mc.gradcheck(Spy.apply, [a, b])
        assert mc.gradcheck(lambda x, y: x * y, [Tensor([1.0]), leaf([2.0])]) is True

    def test_inputs_unchanged_after_check(self):
        data = np.random.default_rng(1).standard_normal((3, 2))
        x = leaf(data)
        mc.gradcheck(lambda t: t ** 2, [x])
        np.testing.assert_array_equal(x.data, data)
        assert x.grad is None

    def test_jacobians(self):
        x = leaf([1.0, 2.0, 3.0])
        expected = np.diag([2.0, 4.0, 6.0])
        np.testing.assert_allclose(numerical_jacobian(lambda t: t * t, [x], 0), expected, atol=1e-6)
        np.testing.assert_allclose(analytical_jacobian(lambda t: t * t, [x], 0), expected)

    def test_non_contiguous_input(self):
        # A leaf whose data is a transposed view (e.g. `t.T.detach()`): the perturbation must
        # reach the data the function reads, or the numeric Jacobian is all zeros.
        x = Tensor(np.random.default_rng(2).standard_normal((3, 4))).T.detach()
        x.requires_grad = True
        assert mc.gradcheck(lambda t: t * t, [x]) is True


class TestCatchesWrongGradients:
    def test_wrong_backward_raises(self):
        with pytest.raises(mc.GradcheckError):
            mc.gradcheck(WrongSquare.apply, [leaf([[1.0, 2.0], [3.0, 4.0]])])

    def test_is_an_assertion_error(self):
        assert issubclass(mc.GradcheckError, AssertionError)

    def test_message_names_input_element_and_values(self):
        a = leaf(np.ones((2, 3)))
        b = leaf(np.arange(6.0).reshape(2, 3) + 1)
        with pytest.raises(mc.GradcheckError) as info:
            mc.gradcheck(WrongOnSecondInput.apply, [a, b])
        message = str(info.value)
        assert "input 1" in message
        # output element [1, 2] w.r.t. input element [1, 2]; numeric 1, analytic 2
        assert re.search(r"output\[[^\]]*1[^\]]*2[^\]]*\]", message), message
        assert re.search(r"input\[[^\]]*1[^\]]*2[^\]]*\]", message), message
        assert re.search(r"numeric 1\b", message) and re.search(r"analytic 2\b", message), message

    def test_message_is_readable(self):
        # Indices printed as plain ints, e.g. output[1, 2] — not output[np.int64(1), np.int64(2)].
        a, b = leaf(np.ones((2, 3))), leaf(np.ones((2, 3)))
        with pytest.raises(mc.GradcheckError) as info:
            mc.gradcheck(WrongOnSecondInput.apply, [a, b])
        assert "np.int64" not in str(info.value)
        assert "output[1, 2]" in str(info.value) and "input[1, 2]" in str(info.value)

    def test_first_input_correct_second_wrong(self):
        a, b = leaf(np.ones((2, 3))), leaf(np.ones((2, 3)))
        with pytest.raises(mc.GradcheckError, match="input 1"):
            mc.gradcheck(WrongOnSecondInput.apply, [a, b])

    def test_non_finite_analytic_gradient(self):
        with pytest.raises(mc.GradcheckError):
            mc.gradcheck(NanGradient.apply, [leaf([1.0, 2.0])])

    def test_non_finite_numeric_gradient(self):
        # log of a negative number: the function itself is NaN; nothing was verified, so the
        # check must not report success.
        with np.errstate(invalid="ignore"):
            with pytest.raises(mc.GradcheckError):
                mc.gradcheck(F.log, [leaf([-1.0, 2.0])])

    def test_tolerances_respected(self):
        class SlightlyOff(Function):
            def forward(self, a):
                return a * 1.0

            def backward(self, g):
                return (g * 1.01,)

        x = leaf([1.0, 2.0])
        with pytest.raises(mc.GradcheckError):
            mc.gradcheck(SlightlyOff.apply, [x])
        assert mc.gradcheck(SlightlyOff.apply, [x], atol=0.0, rtol=0.02) is True


class TestArguments:
    def test_warns_on_float32(self):
        x = leaf([1.0, 2.0], dtype=np.float32)
        with pytest.warns(RuntimeWarning, match="float32"):
            mc.gradcheck(lambda t: t * 2.0, [x], eps=1e-2, atol=1e-2)

    def test_no_warning_on_float64(self):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            mc.gradcheck(lambda t: t * 2.0, [leaf([1.0, 2.0])])

    @pytest.mark.parametrize("inputs", [np.ones(3), [np.ones(3)], [leaf([1.0]), np.ones(1)], [], 3.0])
    def test_type_error_for_non_tensor_inputs(self, inputs):
        with pytest.raises(TypeError):
            mc.gradcheck(lambda *t: t[0] * 2, inputs)

    def test_fn_must_return_tensor(self):
        with pytest.raises(TypeError, match="Tensor"):
            mc.gradcheck(lambda t: t.data * 2, [leaf([1.0])])

    def test_no_input_requires_grad(self):
        with pytest.raises(ValueError, match="requires_grad"):
            mc.gradcheck(lambda t: t * 2, [Tensor([1.0])])

"""Tests for minicnn.autograd: graph building, topological order, gradient accumulation,
no_grad, `minicnn.grad` and the backward-rule hook point.

Run one part with e.g. ``pytest tests/test_autograd.py -k Rules``.
"""

import sys

import numpy as np
import pytest

import minicnn as mc
import minicnn.functional as F
from minicnn import Tensor
from minicnn.autograd import Function, topological_order


# ----------------------------------------------------------------------------------------------
# Graph structure and topological order
# ----------------------------------------------------------------------------------------------
class TestGraph:
    def test_creator_and_inputs_recorded(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        y = x * 2.0
        assert isinstance(y.creator, mc.ops.Mul)
        assert y.creator.inputs[0] is x
        np.testing.assert_array_equal(y.creator.output, y.data)
        assert y.requires_grad

    def test_no_graph_when_no_input_requires_grad(self):
        y = Tensor([1.0]) * 2.0
        assert y.creator is None and y.requires_grad is False

    def test_topological_order_inputs_before_outputs(self):
        x = Tensor([1.0], requires_grad=True)
        a = x * 2
        b = x + 1
        c = a * b
        d = c + a
        order = topological_order([d])
        pos = {id(t): i for i, t in enumerate(order)}
        assert len(order) == 5
        for t in (a, b, c, d):
            for p in t.creator.inputs:
                if p.requires_grad:
                    assert pos[id(p)] < pos[id(t)]

    def test_long_chain_does_not_recurse(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        y = x
        n = max(5000, sys.getrecursionlimit() + 100)
        for _ in range(n):
            y = y + 0.0
        y.sum().backward()
        np.testing.assert_array_equal(x.grad, [1.0, 1.0])

    def test_long_chain_of_multiplications(self):
        x = Tensor([1.0], requires_grad=True)
        y = x
        for _ in range(5000):
            y = y * 1.0
        (y.sum()).backward()
        np.testing.assert_array_equal(x.grad, [1.0])

    def test_deep_grad_call(self):
        x = Tensor([2.0], requires_grad=True)
        y = x
        for _ in range(5000):
            y = F.relu(y)
        (g,) = mc.grad(y.sum(), [x])
        np.testing.assert_array_equal(g, [1.0])


# ----------------------------------------------------------------------------------------------
# Gradient accumulation
# ----------------------------------------------------------------------------------------------
class TestAccumulation:
    def test_tensor_used_several_times(self):
        x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
        (x * x + x).sum().backward()
        np.testing.assert_allclose(x.grad, 2 * x.data + 1)

    def test_same_tensor_both_operands(self):
        x = Tensor([3.0], requires_grad=True)
        (x + x + x).sum().backward()
        np.testing.assert_array_equal(x.grad, [3.0])

    def test_diamond(self):
        # x -> a = 2x, b = x², c = a·b = 2x³, d = c + a  => ∂d/∂x = 6x² + 2
        x = Tensor([1.5, -0.5], requires_grad=True)
        a = x * 2
        b = x * x
        d = a * b + a
        d.sum().backward()
        np.testing.assert_allclose(x.grad, 6 * x.data ** 2 + 2)

    def test_two_backward_calls_add_up(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        y.backward()
        first = x.grad.copy()
        y.backward()
        np.testing.assert_allclose(x.grad, 2 * first)
        (x * 5).sum().backward()
        np.testing.assert_allclose(x.grad, 2 * first + 5)

    def test_grad_is_not_aliased_to_seed(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        seed = np.array([1.0, 1.0])
        x.backward(seed)
        x.grad[0] = 99
        assert seed[0] == 1.0

    def test_intermediate_gets_no_grad_attribute(self):
        x = Tensor([1.0], requires_grad=True)
        h = x * 2
        (h * 3).sum().backward()
        assert h.grad is None
        np.testing.assert_array_equal(x.grad, [6.0])


# ----------------------------------------------------------------------------------------------
# no_grad / enable_grad
# ----------------------------------------------------------------------------------------------
class TestNoGrad:
    def test_builds_no_graph(self):
        x = Tensor([1.0], requires_grad=True)
        with mc.no_grad():
            assert not mc.is_grad_enabled()
            y = x * 2 + 1
        assert y.requires_grad is False and y.creator is None
        assert mc.is_grad_enabled()

    def test_restored_on_exception(self):
        with pytest.raises(ZeroDivisionError):
            with mc.no_grad():
                1 / 0
        assert mc.is_grad_enabled()
        x = Tensor([1.0], requires_grad=True)
        assert (x * 2).requires_grad

    def test_nested_and_enable_grad(self):
        x = Tensor([1.0], requires_grad=True)
        with mc.no_grad():
            with mc.no_grad():
                pass
            assert not mc.is_grad_enabled()
            with mc.enable_grad():
                y = x * 2
            assert not mc.is_grad_enabled()
        assert y.requires_grad and y.creator is not None

    def test_backward_on_no_grad_result_raises(self):
        x = Tensor([1.0], requires_grad=True)
        with mc.no_grad():
            y = (x * 2).sum()
        with pytest.raises(RuntimeError):
            y.backward()


# ----------------------------------------------------------------------------------------------
# minicnn.grad
# ----------------------------------------------------------------------------------------------
class TestGradFunction:
    def test_returns_grads_without_touching_leaves(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        w = Tensor([3.0, 4.0], requires_grad=True)
        y = (x * w).sum()
        gx, gw = mc.grad(y, [x, w])
        np.testing.assert_array_equal(gx, w.data)
        np.testing.assert_array_equal(gw, x.data)
        assert x.grad is None and w.grad is None

    def test_existing_grad_left_untouched(self):
        x = Tensor([1.0], requires_grad=True)
        (x * 2).sum().backward()
        mc.grad((x * 7).sum(), [x])
        np.testing.assert_array_equal(x.grad, [2.0])

    def test_grad_outputs(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        (g,) = mc.grad(x * x, [x], grad_outputs=np.array([1.0, 10.0]))
        np.testing.assert_allclose(g, [2.0, 40.0])

    def test_non_scalar_without_grad_outputs_raises(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(ValueError, match="grad_outputs"):
            mc.grad(x * 2, [x])

    def test_grad_outputs_wrong_shape(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(ValueError, match="shape"):
            mc.grad(x * 2, [x], grad_outputs=np.ones(3))

    def test_intermediate_input(self):
        x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
        h = x * 2
        y = (F.relu(h) * h).sum()  # ∂y/∂h = 2h for h > 0, 0 otherwise
        (gh,) = mc.grad(y, [h])
        np.testing.assert_allclose(gh, np.where(h.data > 0, 2 * h.data, 0))
        assert x.grad is None

    def test_unrelated_input_gives_zeros(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        z = Tensor(np.ones((2, 2)), requires_grad=True)
        gx, gz = mc.grad((x * 3).sum(), [x, z])
        np.testing.assert_array_equal(gx, [3.0, 3.0])
        np.testing.assert_array_equal(gz, np.zeros((2, 2)))
        assert gz.shape == (2, 2)

    def test_output_without_graph_gives_zeros(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        (g,) = mc.grad(Tensor([3.0]).sum(), [x])
        np.testing.assert_array_equal(g, [0.0, 0.0])

    def test_returned_grads_do_not_alias_seed_or_each_other(self):
        # y = a + b passes the seed straight through; callers (attribution code) may then
        # modify the returned arrays in place, e.g. `g *= x`.
        a, b = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0, 4.0], requires_grad=True)
        seed = np.array([1.0, 1.0])
        ga, gb = mc.grad(a + b, [a, b], grad_outputs=seed)
        ga *= 5.0
        np.testing.assert_array_equal(seed, [1.0, 1.0])
        np.testing.assert_array_equal(gb, [1.0, 1.0])

    def test_single_tensor_arguments(self):
        x = Tensor([2.0], requires_grad=True)
        (g,) = mc.grad((x * x).sum(), x)
        np.testing.assert_array_equal(g, [4.0])

    def test_several_outputs(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        (g,) = mc.grad([(x * 2).sum(), (x * x).sum()], [x])
        np.testing.assert_allclose(g, 2 + 2 * x.data)

    def test_needs_input_grad_skips_conv_weight_gradient(self, monkeypatch):
        from minicnn import kernels as layers

        calls = {"weight": 0, "input": 0}
        real_w, real_x = layers.conv2d_backward_weight, layers.conv2d_backward_input

        def counting_w(*args, **kwargs):
            calls["weight"] += 1
            return real_w(*args, **kwargs)

        def counting_x(*args, **kwargs):
            calls["input"] += 1
            return real_x(*args, **kwargs)

        monkeypatch.setattr(layers, "conv2d_backward_weight", counting_w)
        monkeypatch.setattr(layers, "conv2d_backward_input", counting_x)
        rng = np.random.default_rng(0)
        x = Tensor(rng.standard_normal((1, 2, 5, 5)), requires_grad=True)
        w = Tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
        b = Tensor(np.zeros(3), requires_grad=True)
        y = F.conv2d(x, w, b).sum()
        (gx,) = mc.grad(y, [x])
        assert calls == {"weight": 0, "input": 1}
        assert gx.shape == x.shape
        # A full backward needs both.
        y.backward()
        assert calls == {"weight": 1, "input": 2}

    def test_needs_input_grad_seen_by_rule(self):
        seen = []

        def rule(node, g):
            seen.append(node.needs_input_grad)
            return node.backward(g)

        x = Tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
        w = Tensor(np.ones((2, 1, 3, 3)), requires_grad=True)
        mc.grad(F.conv2d(x, w).sum(), [x], rules={mc.ops.Conv2d: rule})
        assert seen == [(True, False)]

    def test_input_not_needed_skips_weight_branch_of_matmul(self):
        x = Tensor(np.ones((2, 3)), requires_grad=True)
        w = Tensor(np.ones((3, 4)), requires_grad=True)
        seen = []

        def rule(node, g):
            seen.append(node.needs_input_grad)
            grads = node.backward(g)
            assert grads[1] is None
            return grads

        mc.grad((x @ w).sum(), [x], rules={mc.ops.MatMul: rule})
        assert seen == [(True, False)]


# ----------------------------------------------------------------------------------------------
# The rule hook point
# ----------------------------------------------------------------------------------------------
class TestRules:
    def setup_method(self):
        self.x = Tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)

    def test_relu_rule_replaces_backward_for_one_pass(self):
        calls = []

        def pass_through(node, g):
            calls.append(node)
            return (g,)

        y = (F.relu(self.x) * 2).sum()
        (g,) = mc.grad(y, [self.x], rules={mc.ops.Relu: pass_through})
        np.testing.assert_array_equal(g, [2.0, 2.0, 2.0, 2.0])
        assert len(calls) == 1 and isinstance(calls[0], mc.ops.Relu)
        (g_normal,) = mc.grad(y, [self.x])
        np.testing.assert_array_equal(g_normal, [0.0, 2.0, 0.0, 2.0])

    def test_rule_reads_node_inputs_and_output(self):
        def rule(node, g):
            np.testing.assert_array_equal(node.inputs[0].data, self.x.data)
            np.testing.assert_array_equal(node.output, np.maximum(self.x.data, 0))
            return (g * 10,)

        (g,) = mc.grad(F.relu(self.x).sum(), [self.x], rules={mc.ops.Relu: rule})
        np.testing.assert_array_equal(g, [10.0] * 4)

    def test_rules_do_not_leak_into_backward(self):
        mc.grad(F.relu(self.x).sum(), [self.x], rules={mc.ops.Relu: lambda node, g: (g * 0 + 7,)})
        F.relu(self.x).sum().backward()
        np.testing.assert_array_equal(self.x.grad, [0.0, 1.0, 0.0, 1.0])

    def test_mro_lookup_base_function_catches_everything(self):
        seen = []

        def rule(node, g):
            seen.append(type(node).__name__)
            return node.backward(g)

        y = (F.relu(self.x * 2) + 1).sum()
        (g,) = mc.grad(y, [self.x], rules={Function: rule})
        assert sorted(seen) == ["Add", "Mul", "Relu", "Sum"]
        np.testing.assert_array_equal(g, [0.0, 2.0, 0.0, 2.0])

    def test_most_specific_rule_wins(self):
        seen = []

        def generic(node, g):
            seen.append("generic")
            return node.backward(g)

        def specific(node, g):
            seen.append("relu")
            return (g,)

        mc.grad(F.relu(self.x).sum(), [self.x], rules={Function: generic, mc.ops.Relu: specific})
        assert seen == ["generic", "relu"]

    def test_rule_keyed_by_subclass_of_op(self):
        class MyRelu(mc.ops.Relu):
            pass

        y = MyRelu.apply(self.x).sum()
        (g,) = mc.grad(y, [self.x], rules={mc.ops.Relu: lambda node, g: (g * 3,)})
        np.testing.assert_array_equal(g, [3.0] * 4)

    def test_wrong_number_of_grads_raises(self):
        with pytest.raises(RuntimeError, match="Relu"):
            mc.grad(F.relu(self.x).sum(), [self.x], rules={mc.ops.Relu: lambda node, g: (g, g)})

    def test_wrong_gradient_shape_raises(self):
        with pytest.raises(RuntimeError, match="shape"):
            mc.grad(F.relu(self.x).sum(), [self.x], rules={mc.ops.Relu: lambda node, g: (np.ones(3),)})

    def test_rule_returning_none_blocks_gradient(self):
        (g,) = mc.grad(F.relu(self.x).sum(), [self.x], rules={mc.ops.Relu: lambda node, g: (None,)})
        np.testing.assert_array_equal(g, np.zeros(4))


# ----------------------------------------------------------------------------------------------
# Custom Function subclasses
# ----------------------------------------------------------------------------------------------
class Square(Function):
    def forward(self, a):
        self.save_for_backward(a)
        return a * a

    def backward(self, g):
        (a,) = self.saved
        return (2 * a * g,)


class Scale(Function):
    """A Function with a named setting, given to its own __init__."""

    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def forward(self, a):
        return a * self.factor

    def backward(self, g):
        return g * self.factor       # a bare array: allowed for a single-input op


class TestCustomFunction:
    def test_custom_function(self):
        x = Tensor([1.0, 3.0], requires_grad=True)
        Square.apply(x).sum().backward()
        np.testing.assert_array_equal(x.grad, [2.0, 6.0])

    def test_settings_are_the_ops_own_arguments(self):
        x = Tensor([1.0, 3.0], requires_grad=True)
        for y in (Scale.apply(x, factor=4.0), Scale(4.0)(x)):
            assert y.creator.factor == 4.0
            x.grad = None
            y.sum().backward()
            np.testing.assert_array_equal(x.grad, [4.0, 4.0])

    def test_unknown_setting_is_an_error(self):
        with pytest.raises(TypeError, match="factr"):
            Scale.apply(Tensor([1.0]), factr=4.0)

    def test_apply_accepts_arrays_and_lists(self):
        y = Square.apply([1.0, 2.0])
        assert isinstance(y, Tensor) and not y.requires_grad
        np.testing.assert_array_equal(y.data, [1.0, 4.0])

    def test_wrong_count_from_backward_raises(self):
        class Bad(Function):
            def forward(self, a, b):
                return a + b

            def backward(self, g):
                return (g,)

        x = Tensor([1.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="Bad"):
            Bad.apply(x, x).sum().backward()

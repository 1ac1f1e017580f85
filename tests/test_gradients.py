"""Tests for attributions.gradients (saliency, gradient × input) and the behaviour every
attribution method shares: eval mode restored, parameters' .grad untouched, per-row targets,
float32 models, argument errors that name the argument.

Run one part with e.g. ``pytest tests/test_gradients.py -k Known``.
"""

import numpy as np
import pytest

import minicnn as mc
from minicnn import nn
from attributions.completeness import completeness_delta
from attributions.gradcam import grad_cam, guided_backprop, guided_grad_cam
from attributions.gradients import gradient_x_input, input_gradient, saliency
from attributions.integrated_gradients import integrated_gradients


# ---- small models with hand-set weights -------------------------------------------------------
def linear(weight, bias=None):
    """nn.Linear with the given weight (out, in) and bias (zeros if None)."""
    weight = np.asarray(weight, dtype=np.float64)
    layer = nn.Linear(weight.shape[1], weight.shape[0])
    layer.weight.data[...] = weight
    layer.bias.data[...] = 0.0 if bias is None else np.asarray(bias, dtype=np.float64)
    return layer


class MinNet(nn.Module):
    """o = x₁ − ReLU(x₁ − x₂) = min(x₁, x₂)   (docs/methods.md (Small cases with known answers) case 1)."""

    def __init__(self):
        super().__init__()
        self.diff = linear([[1.0, -1.0]])
        self.relu = nn.ReLU()

    def forward(self, x):
        return x[:, :1] - self.relu(self.diff(x))


def saturation_net(inputs=1):
    """y = 1 − ReLU(1 − Σ x_i)   (docs/methods.md (Small cases with known answers) case 2)."""
    return nn.Sequential(linear([[-1.0] * inputs], [1.0]), nn.ReLU(), linear([[-1.0]], [1.0]))


def invariance_nets():
    """f = ReLU(ReLU(x₁) − 1 − ReLU(x₂)) and g = ReLU(ReLU(x₁ − 1) − ReLU(x₂))   (case 4)."""
    f = nn.Sequential(linear(np.eye(2)), nn.ReLU(), linear([[1.0, -1.0]], [-1.0]), nn.ReLU())
    g = nn.Sequential(linear(np.eye(2), [-1.0, 0.0]), nn.ReLU(), linear([[1.0, -1.0]]), nn.ReLU())
    return f, g


def smooth_conv_net(seed=0, dtype=np.float64):
    """A random small conv net with smooth activations (tanh, sigmoid) and 3 classes."""
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1, rng=rng, dtype=dtype), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(3, 4, 3, rng=rng, dtype=dtype), nn.Sigmoid(), nn.Flatten(),
        nn.Linear(4 * 2 * 2, 3, rng=rng, dtype=dtype),
    )


def relu_conv_net(seed=0, dtype=np.float64):
    """A small ReLU/max-pool conv net with dropout and batch norm (so eval mode matters)."""
    rng = np.random.default_rng(seed)
    net = nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1, rng=rng, dtype=dtype), nn.BatchNorm2d(3, dtype=dtype), nn.ReLU(),
        nn.MaxPool2d(2), nn.Conv2d(3, 4, 3, rng=rng, dtype=dtype), nn.ReLU(), nn.Flatten(),
        nn.Dropout(0.5), nn.Linear(4 * 2 * 2, 3, rng=rng, dtype=dtype),
    )
    bn = net[1]
    bn.running_mean[...] = rng.standard_normal(3) * 0.1
    bn.running_var[...] = 1.0 + rng.random(3)
    return net


@pytest.fixture
def x():
    return np.random.default_rng(7).standard_normal((3, 2, 8, 8))


# ---- known answers (docs/methods.md, Small cases with known answers) ---------------------------------------------------------------
class TestKnownAnswers:
    @pytest.mark.parametrize("point, expected", [((3.0, 1.0), (0.0, 1.0)), ((1.0, 3.0), (1.0, 0.0))])
    def test_min_network_gradient_x_input(self, point, expected):
        result = gradient_x_input(MinNet(), np.array([point]), 0)
        np.testing.assert_allclose(result, [expected], atol=1e-12)

    def test_saturation_gradient_is_zero(self):
        net = saturation_net()
        np.testing.assert_array_equal(saliency(net, np.array([[2.0]]), 0, abs=False), [[0.0]])
        # ... although below the saturation point the gradient is 1
        np.testing.assert_array_equal(saliency(net, np.array([[0.5]]), 0, abs=False), [[1.0]])

    def test_saturation_two_inputs_gradient_x_input(self):
        result = gradient_x_input(saturation_net(2), np.array([[1.0, 1.0]]), 0)
        np.testing.assert_array_equal(result, [[0.0, 0.0]])

    def test_implementation_invariance_gradient_x_input(self):
        for net in invariance_nets():
            np.testing.assert_allclose(gradient_x_input(net, np.array([[3.0, 1.0]]), 0), [[3.0, -1.0]], atol=1e-12)


# ---- saliency -----------------------------------------------------------------------------------
def finite_difference_gradient(model, x, targets, eps=1e-6):
    model.eval()
    grad = np.zeros_like(x)
    rows = np.arange(len(x))
    with mc.no_grad():
        for index in np.ndindex(x.shape[1:]):
            step = np.zeros_like(x)
            step[(slice(None),) + index] = eps
            up = model(mc.Tensor(x + step)).data[rows, targets]
            down = model(mc.Tensor(x - step)).data[rows, targets]
            grad[(slice(None),) + index] = (up - down) / (2 * eps)
    return grad


class TestSaliency:
    def test_equals_finite_difference_gradient(self, x):
        net = smooth_conv_net()
        targets = np.array([0, 2, 1])
        expected = finite_difference_gradient(net, x, targets)
        np.testing.assert_allclose(saliency(net, x, targets, abs=False), expected, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(saliency(net, x, targets), np.abs(expected), rtol=1e-6, atol=1e-9)

    def test_abs_default_is_magnitude(self, x):
        net = smooth_conv_net()
        signed = saliency(net, x, 1, abs=False)
        assert (signed < 0).any()
        np.testing.assert_array_equal(saliency(net, x, 1), np.abs(signed))

    def test_gradient_x_input_is_product(self, x):
        net = smooth_conv_net()
        np.testing.assert_allclose(gradient_x_input(net, x, 2), x * input_gradient(net, x, 2), rtol=1e-14)

    def test_gradient_x_input_complete_for_bias_free_relu_net(self):
        # Euler: a positively homogeneous (bias-free piecewise-linear) f has Σ x·∇f(x) = f(x) − f(0).
        rng = np.random.default_rng(3)
        net = nn.Sequential(nn.Linear(5, 7, bias=False, rng=rng), nn.ReLU(), nn.Linear(7, 3, bias=False, rng=rng))
        x = rng.standard_normal((4, 5))
        delta = completeness_delta(net, gradient_x_input(net, x, [0, 1, 2, 0]), x, [0, 1, 2, 0])
        np.testing.assert_allclose(delta, 0.0, atol=1e-12)
        # with a bias it is not complete: the check can fail
        net_b = nn.Sequential(nn.Linear(5, 7, rng=rng), nn.ReLU(), nn.Linear(7, 3, rng=rng))
        assert np.abs(completeness_delta(net_b, gradient_x_input(net_b, x, 0), x, 0)).max() > 1e-3


# ---- behaviour shared by every method ---------------------------------------------------------
METHODS = {
    "saliency": lambda m, x, t: saliency(m, x, t),
    "gradient_x_input": gradient_x_input,
    "integrated_gradients": lambda m, x, t: integrated_gradients(m, x, t, steps=8),
    "grad_cam": grad_cam,
    "guided_backprop": guided_backprop,
    "guided_grad_cam": guided_grad_cam,
}


@pytest.mark.parametrize("name", list(METHODS))
class TestEveryMethod:
    def test_restores_modes_and_leaves_parameter_grads(self, name, x):
        net = relu_conv_net()
        net.train()
        net[4].eval()  # a mixed state must come back exactly
        modes = [m.training for m in net.modules()]
        sentinels = [np.full(p.shape, 7.0) for p in net.parameters()]
        for p, s in zip(net.parameters(), sentinels):
            p.grad = s
        net[0].weight.grad = None  # and a None stays None
        METHODS[name](net, x, 1)
        assert [m.training for m in net.modules()] == modes
        assert net[0].weight.grad is None
        for p, s in list(zip(net.parameters(), sentinels))[1:]:
            assert p.grad is s and (p.grad == 7.0).all()

    def test_runs_in_eval_mode(self, name, x):
        net = relu_conv_net()
        expected = METHODS[name](net.eval(), x, 1)
        net.train()  # dropout and batch statistics would change (and randomise) the result
        np.testing.assert_allclose(METHODS[name](net, x, 1), expected, rtol=1e-12, atol=1e-14)

    def test_per_row_targets(self, name, x):
        net = relu_conv_net()
        targets = [2, 0, 1]
        together = METHODS[name](net, x, targets)
        for n, t in enumerate(targets):
            np.testing.assert_allclose(together[n : n + 1], METHODS[name](net, x[n : n + 1], t), rtol=1e-10, atol=1e-12)
        assert not np.allclose(together[0], METHODS[name](net, x[:1], 1)[0])  # the target matters

    def test_float32_model(self, name, x):
        result64 = METHODS[name](smooth_conv_net(), x, 1)
        net32 = smooth_conv_net().to(np.float32)
        result32 = METHODS[name](net32, x, 1)
        assert result32.dtype == np.float32 and result64.dtype == np.float64
        np.testing.assert_allclose(result32, result64, rtol=1e-3, atol=1e-5 * np.abs(result64).max())

    def test_tensor_input(self, name, x):
        net = smooth_conv_net()
        np.testing.assert_array_equal(METHODS[name](net, mc.Tensor(x), 0), METHODS[name](net, x, 0))


# ---- argument errors --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, error, word",
    [
        (lambda net, x: saliency(net, x[0, 0, 0], 0), ValueError, "x"),
        (lambda net, x: saliency(net, np.where(x > 1, np.nan, x), 0), ValueError, "x"),
        (lambda net, x: saliency(net, x.astype(str), 0), TypeError, "x"),
        (lambda net, x: saliency(net, x, 3), ValueError, "target"),
        (lambda net, x: saliency(net, x, -1), ValueError, "target"),
        (lambda net, x: saliency(net, x, [0, 1]), ValueError, "target"),
        (lambda net, x: saliency(net, x, 0.5), TypeError, "target"),
        (lambda net, x: saliency(net, x, "cat"), TypeError, "target"),
        (lambda net, x: saliency(net, x, 0, abs="yes"), TypeError, "abs"),
        (lambda net, x: gradient_x_input(net, x[:0], 0), ValueError, "x"),
        (lambda net, x: gradient_x_input(net, x, [0, 1, 5]), ValueError, "target"),
    ],
)
def test_errors_name_the_argument(call, error, word, x):
    with pytest.raises(error, match=rf"^{word}\b"):
        call(smooth_conv_net(), x)

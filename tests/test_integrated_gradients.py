"""Tests for attributions.integrated_gradients (quadrature rules, batching, completeness, known
answers), attributions.baselines and attributions.completeness.

Run one part with e.g. ``pytest tests/test_integrated_gradients.py -k Quadrature``.
"""

import math

import numpy as np
import pytest

import minicnn as mc
from minicnn import nn
from attributions import baselines as B
import importlib

ig_module = importlib.import_module("attributions.integrated_gradients")  # the module, not the function
from attributions.completeness import completeness_delta
from attributions.integrated_gradients import METHODS, integrated_gradients, quadrature

from test_gradients import MinNet, invariance_nets, linear, relu_conv_net, saturation_net, smooth_conv_net


@pytest.fixture
def x():
    return np.random.default_rng(11).standard_normal((2, 2, 8, 8))


# ---- quadrature rules -------------------------------------------------------------------------
class TestQuadrature:
    @pytest.mark.parametrize("method", METHODS)
    @pytest.mark.parametrize("steps", [2, 3, 7, 50, 301])
    def test_weights_sum_to_one_and_nodes_in_unit_interval(self, method, steps):
        alphas, weights = quadrature(method, steps)
        assert alphas.shape == weights.shape == (steps,)
        assert alphas.dtype == weights.dtype == np.float64
        assert math.isclose(weights.sum(), 1.0, rel_tol=1e-13)
        assert (weights > 0).all() and (np.diff(alphas) > 0).all()
        assert alphas[0] >= 0 and alphas[-1] <= 1

    def test_table_for_four_steps(self):
        expected = {
            "riemann_left": ([0, 0.25, 0.5, 0.75], [0.25] * 4),
            "riemann_right": ([0.25, 0.5, 0.75, 1], [0.25] * 4),
            "riemann_middle": ([0.125, 0.375, 0.625, 0.875], [0.25] * 4),
            "riemann_trapezoid": ([0, 1 / 3, 2 / 3, 1], [1 / 6, 1 / 3, 1 / 3, 1 / 6]),
        }
        for method, (alphas, weights) in expected.items():
            np.testing.assert_allclose(quadrature(method, 4), (alphas, weights), rtol=1e-15, err_msg=method)
        t, w = np.polynomial.legendre.leggauss(4)
        np.testing.assert_allclose(quadrature("gausslegendre", 4), ((1 + t) / 2, w / 2), rtol=1e-15)

    @pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
    def test_gauss_legendre_exact_up_to_degree_2n_minus_1(self, n):
        alphas, weights = quadrature("gausslegendre", n)
        for degree in range(2 * n):
            assert math.isclose(weights @ alphas**degree, 1 / (degree + 1), rel_tol=1e-13), degree
        assert not math.isclose(weights @ alphas ** (2 * n), 1 / (2 * n + 1), rel_tol=1e-10)  # degree 2n is not exact

    @pytest.mark.parametrize("method", ["riemann_middle", "riemann_trapezoid"])
    def test_midpoint_and_trapezoid_exact_for_linear_only(self, method):
        alphas, weights = quadrature(method, 5)
        assert math.isclose(weights @ (3 * alphas - 1), 0.5, rel_tol=1e-14)
        assert not math.isclose(weights @ alphas**2, 1 / 3, rel_tol=1e-3)

    def test_errors(self):
        with pytest.raises(ValueError, match=r"^method\b.*riemann_left.*gausslegendre.*'simpson'"):
            quadrature("simpson", 10)
        for method in METHODS:
            with pytest.raises(ValueError, match=r"^steps\b"):
                quadrature(method, 0)
        with pytest.raises(ValueError, match=r"^steps\b.*≥ 2"):
            quadrature("riemann_trapezoid", 1)
        for bad in (2.5, True, "10", None):
            with pytest.raises(ValueError, match=r"^steps\b"):
                quadrature("riemann_left", bad)
        assert quadrature("riemann_left", 1) == (np.array([0.0]), np.array([1.0]))


# ---- known answers (docs/methods.md, Small cases with known answers), reference 0 -------------------------------------------------
# Nodes that fall exactly on a kink of a ReLU see the engine's ReLU'(0) = 0; the rules used for
# each case avoid that (e.g. no α = 0 node for the min network, whose kink lies on the path start).
class TestKnownAnswers:
    @pytest.mark.parametrize("method", ["riemann_middle", "riemann_right", "gausslegendre"])
    @pytest.mark.parametrize("point, expected", [((3.0, 1.0), (0.0, 1.0)), ((1.0, 3.0), (1.0, 0.0))])
    def test_min_network(self, method, point, expected):
        result, delta = integrated_gradients(MinNet(), np.array([point]), 0, steps=7, method=method, return_delta=True)
        np.testing.assert_allclose(result, [expected], atol=1e-12)
        np.testing.assert_allclose(delta, 0.0, atol=1e-12)

    @pytest.mark.parametrize("method", ["riemann_middle", "riemann_trapezoid"])
    def test_saturation(self, method):
        # the kink at α = ½ lies between nodes when steps is even, so both rules are exact
        result = integrated_gradients(saturation_net(), np.array([[2.0]]), 0, steps=50, method=method)
        np.testing.assert_allclose(result, [[1.0]], atol=1e-12)
        result = integrated_gradients(saturation_net(2), np.array([[1.0, 1.0]]), 0, steps=50, method=method)
        np.testing.assert_allclose(result, [[0.5, 0.5]], atol=1e-12)

    def test_saturation_gauss_legendre_converges(self):
        errors = [abs(integrated_gradients(saturation_net(), np.array([[2.0]]), 0, steps=s, method="gausslegendre")[0, 0] - 1)
                  for s in (5, 25, 125)]
        assert errors[-1] < 0.02 and errors[-1] < errors[0]

    @pytest.mark.parametrize("method", ["riemann_middle", "riemann_trapezoid"])
    def test_implementation_invariance(self, method):
        for net in invariance_nets():
            result = integrated_gradients(net, np.array([[3.0, 1.0]]), 0, steps=20, method=method)
            np.testing.assert_allclose(result, [[1.5, -0.5]], atol=1e-12)


# ---- completeness -----------------------------------------------------------------------------
class TestCompleteness:
    @pytest.mark.parametrize("method", METHODS)
    @pytest.mark.parametrize("steps", [2, 5])
    def test_exact_for_a_linear_model(self, method, steps, x):
        rng = np.random.default_rng(5)
        net = nn.Sequential(nn.Flatten(), nn.Linear(2 * 8 * 8, 4, rng=rng))
        baseline = rng.standard_normal(x.shape[1:])
        result, delta = integrated_gradients(net, x, [1, 3], baseline, steps=steps, method=method, return_delta=True)
        w = net[1].weight.data[[1, 3]].reshape(x.shape)
        np.testing.assert_allclose(result, w * (x - baseline), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(delta, 0.0, atol=1e-12)

    @pytest.mark.parametrize("method", METHODS)
    def test_error_shrinks_with_steps(self, method, x):
        net = smooth_conv_net(seed=2)
        errors = [np.abs(integrated_gradients(net, x, [0, 2], steps=s, method=method, return_delta=True)[1]).max()
                  for s in (2, 8, 32)]
        assert errors[0] > errors[1] > errors[2], errors
        gap = np.abs(completeness_delta(net, np.zeros_like(x), x, [0, 2])).max()
        assert errors[2] < 0.01 * gap  # within 1 % after 32 steps
        if method != "riemann_left" and method != "riemann_right":  # second order or better
            assert errors[2] < errors[1] / 8

    def test_delta_matches_completeness_delta(self, x):
        net = relu_conv_net()
        baseline = B.blurred_baseline(x, 1.0)
        result, delta = integrated_gradients(net, x, [2, 1], baseline, steps=10, return_delta=True)
        np.testing.assert_allclose(delta, completeness_delta(net, result, x, [2, 1], baseline), rtol=1e-10, atol=1e-14)
        assert delta.shape == (2,) and delta.dtype == np.float64

    def test_completeness_delta_sign(self):
        net = nn.Sequential(linear([[2.0, 1.0]]))
        x = np.array([[1.0, 1.0]])
        np.testing.assert_allclose(completeness_delta(net, np.array([[2.0, 1.5]]), x, 0), [0.5])
        np.testing.assert_allclose(completeness_delta(net, np.array([[2.0, 0.5]]), x, 0), [-0.5])
        np.testing.assert_allclose(completeness_delta(net, np.array([[1.0, 0.0]]), x, 0, baseline=1.0), [1.0])

    @pytest.mark.parametrize(
        "baseline", [None, 0.3, "row", "full", "tensor"], ids=["none", "scalar", "row", "full", "tensor"]
    )
    def test_baseline_forms(self, baseline, x):
        net = smooth_conv_net()
        rng = np.random.default_rng(0)
        row = rng.standard_normal(x.shape[1:])
        full = {None: np.zeros_like(x), 0.3: np.full_like(x, 0.3), "row": np.broadcast_to(row, x.shape),
                "full": rng.standard_normal(x.shape), "tensor": np.broadcast_to(row, x.shape)}[baseline]
        given = {"row": row, "full": full, "tensor": mc.Tensor(row)}.get(baseline, baseline)
        result = integrated_gradients(net, x, 1, given, steps=6)
        np.testing.assert_array_equal(result, integrated_gradients(net, x, 1, np.array(full), steps=6))


# ---- batching of the steps --------------------------------------------------------------------
class CountRows:
    """A forward pre-hook remembering the batch size of every forward pass."""

    def __init__(self, net):
        self.sizes = []
        self.handle = net.register_forward_pre_hook(lambda m, inputs: self.sizes.append(len(inputs[0])))


class TestBatching:
    @pytest.mark.parametrize("batch_size", [1, 3, 7, 16, 1000])
    def test_batch_size_does_not_change_the_result(self, batch_size, x):
        net = relu_conv_net()
        x3 = np.concatenate([x, x[:1] * 0.5])
        expected = integrated_gradients(net, x3, [0, 1, 2], steps=7)
        result = integrated_gradients(net, x3, [0, 1, 2], steps=7, batch_size=batch_size)
        np.testing.assert_allclose(result, expected, rtol=1e-12, atol=1e-15)

    def test_batches_bounded_and_not_one_pass_per_step(self, x):
        net = relu_conv_net()
        counter = CountRows(net)
        integrated_gradients(net, x, 0, steps=10, batch_size=4)
        assert counter.sizes == [4, 4, 4, 4, 4]  # 2 inputs × 10 steps in chunks of 4, chunks span inputs
        counter.sizes.clear()
        integrated_gradients(net, x, 0, steps=10)
        assert counter.sizes == [10, 10]  # default: all steps of one input at once

    def test_default_batch_capped_by_memory(self, x, monkeypatch):
        net = relu_conv_net()
        expected = integrated_gradients(net, x, 0, steps=10)
        per_row = ig_module.activation_bytes_per_row(net.eval(), x[0])
        monkeypatch.setattr(ig_module, "MAX_BATCH_BYTES", 3 * per_row + 1)
        counter = CountRows(net)
        result = integrated_gradients(net, x, 0, steps=10)
        # one row to measure the activations, then the 20 points in passes of at most 3
        assert counter.sizes[0] == 1 and max(counter.sizes[1:]) == 3 and sum(counter.sizes[1:]) == 20
        np.testing.assert_allclose(result, expected, rtol=1e-12, atol=1e-15)


def test_activation_bytes_count_every_module_output():
    # An independent count: the input row plus each leaf module's output for one row.
    net = relu_conv_net()
    row = np.random.default_rng(0).standard_normal((2, 8, 8))
    net.eval()
    import minicnn as mc

    expected, h = row.nbytes, mc.Tensor(row[None])
    with mc.no_grad():
        for layer in net:
            h = layer(h)
            expected += h.data.nbytes
    assert ig_module.activation_bytes_per_row(net, row) == expected


# ---- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, error, word",
    [
        (dict(steps=0), ValueError, "steps"),
        (dict(steps=1, method="riemann_trapezoid"), ValueError, "steps"),
        (dict(steps=-3, method="gausslegendre"), ValueError, "steps"),
        (dict(method="simpson"), ValueError, "method"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(batch_size=2.0), ValueError, "batch_size"),
        (dict(baseline=np.zeros((3, 3))), ValueError, "baseline"),
        (dict(baseline=np.full((2, 8, 8), np.inf)), ValueError, "baseline"),
        (dict(baseline="zeros"), TypeError, "baseline"),
        (dict(target=[0, 1, 2]), ValueError, "target"),
        (dict(target=9), ValueError, "target"),
        (dict(return_delta="yes"), TypeError, "return_delta"),
    ],
)
def test_errors_name_the_argument(kwargs, error, word, x):
    call = dict(target=0)
    call.update(kwargs)
    with pytest.raises(error, match=rf"^{word}\b"):
        integrated_gradients(smooth_conv_net(), x, **call)


def test_completeness_delta_errors(x):
    net = smooth_conv_net()
    with pytest.raises(ValueError, match=r"^attributions\b"):
        completeness_delta(net, x[:1], x, 0)
    with pytest.raises(TypeError, match=r"^attributions\b"):
        completeness_delta(net, x.astype(str), x, 0)
    with pytest.raises(ValueError, match=r"^target\b"):
        completeness_delta(net, x, x, 3)


# ---- baselines --------------------------------------------------------------------------------
class TestBaselines:
    def test_zero(self, x):
        z = B.zero_baseline(x.astype(np.float32))
        assert z.shape == x.shape and z.dtype == np.float32 and not z.any()

    def test_blur_of_an_impulse_is_the_gaussian(self):
        image = np.zeros((1, 1, 31, 31))
        image[0, 0, 15, 15] = 1.0
        sigma = 2.0
        blurred = B.blurred_baseline(image, sigma)[0, 0]
        j = np.arange(-15, 16)
        g = np.exp(-(j**2) / (2 * sigma**2))
        g[np.abs(j) > 4 * sigma] = 0
        g /= g.sum()
        np.testing.assert_allclose(blurred, np.outer(g, g), rtol=1e-12, atol=1e-18)

    def test_blur_keeps_constants_and_channels_apart(self, x):
        const = np.ones((2, 3, 5, 6)) * np.array([1.0, -2.0, 3.0])[:, None, None]
        np.testing.assert_allclose(B.blurred_baseline(const, 3.0), const, rtol=1e-12)
        assert B.blurred_baseline(x.astype(np.float32), 1.0).dtype == np.float32
        np.testing.assert_array_equal(B.blurred_baseline(x, 0), x)
        assert np.abs(B.blurred_baseline(x, 1.0) - x).max() > 0.1

    @pytest.mark.parametrize("sigma", [0.5, 1.3, 6.0])  # 6σ: the kernel is wider than the image
    def test_blur_matches_scipy(self, sigma, x):
        ndimage = pytest.importorskip("scipy.ndimage", reason="scipy is optional; only used as an oracle")
        expected = ndimage.gaussian_filter(x, (0, 0, sigma, sigma), mode="reflect", truncate=4.0)
        np.testing.assert_allclose(B.blurred_baseline(x, sigma), expected, rtol=1e-12, atol=1e-14)

    def test_uniform_noise(self, x):
        a = B.uniform_noise_baseline(x, -0.5, 0.25, seed=3)
        assert a.shape == x.shape and a.min() >= -0.5 and a.max() < 0.25
        np.testing.assert_array_equal(a, B.uniform_noise_baseline(x, -0.5, 0.25, seed=3))
        assert not np.array_equal(a, B.uniform_noise_baseline(x, -0.5, 0.25, seed=4))

    def test_mean_is_one_row_usable_as_baseline(self, x):
        rng = np.random.default_rng(2)
        train = rng.standard_normal((20, 2, 8, 8))
        mean = B.mean_baseline(train)
        np.testing.assert_allclose(mean, train.mean(axis=0), rtol=1e-14)
        net = smooth_conv_net()
        np.testing.assert_array_equal(
            integrated_gradients(net, x, 0, mean, steps=4),
            integrated_gradients(net, x, 0, np.broadcast_to(mean, x.shape), steps=4),
        )

    @pytest.mark.parametrize(
        "call, error, word",
        [
            (lambda x: B.blurred_baseline(x, -1.0), ValueError, "sigma"),
            (lambda x: B.blurred_baseline(x, np.nan), ValueError, "sigma"),
            (lambda x: B.blurred_baseline(x, "2"), ValueError, "sigma"),
            (lambda x: B.blurred_baseline(x[0, 0, 0], 1.0), ValueError, "x"),
            (lambda x: B.uniform_noise_baseline(x, 1.0, 0.0), ValueError, "low"),
            (lambda x: B.uniform_noise_baseline(x, 0.0, np.inf), ValueError, "high"),
            (lambda x: B.uniform_noise_baseline(x, seed="a"), TypeError, "seed"),
            (lambda x: B.mean_baseline(x[:0]), ValueError, "x_train"),
            (lambda x: B.mean_baseline(x[0, 0, 0]), ValueError, "x_train"),
            (lambda x: B.zero_baseline(x.astype(str)), TypeError, "x"),
        ],
    )
    def test_errors(self, call, error, word, x):
        with pytest.raises(error, match=rf"^{word}\b"):
            call(x)

"""DeepLIFT: the known answers of docs/methods.md (Small cases with known answers), summation-to-delta on random graphs, bad input."""

import numpy as np
import pytest

import attributions as A
import minicnn as mc
import minicnn.functional as F
from minicnn import nn

RULES = ("rescale", "reveal_cancel")


def column(t, k):
    return t[:, k : k + 1]


def min_net():
    # h = ReLU(x1 − x2), o = x1 − h = min(x1, x2)
    return nn.Lambda(lambda x: column(x, 0) - F.relu(column(x, 0) - column(x, 1)))


# ---- docs/methods.md (Small cases with known answers) case 1: the min network -------------------------------------------------------
@pytest.mark.parametrize("x, expected", [((3.0, 1.0), (0.0, 1.0)), ((1.0, 3.0), (1.0, 0.0))])
def test_min_network_rescale(x, expected):
    c = A.deeplift(min_net(), np.array([x]), 0, rule="rescale")
    np.testing.assert_allclose(c[0], expected, atol=1e-12)


@pytest.mark.parametrize(
    "x, expected",
    [((3.0, 1.0), (0.5, 0.5)), ((2.0, 5.0), (1.0, 1.0)), ((4.0, 2.0), (1.0, 1.0)), ((2.0, -2.0), (0.0, -2.0))],
)
def test_min_network_reveal_cancel(x, expected):
    c, delta = A.deeplift(min_net(), np.array([x]), 0, rule="reveal_cancel", return_delta=True)
    np.testing.assert_allclose(c[0], expected, atol=1e-12)
    assert abs(delta[0]) < 1e-12


# ---- case 2: saturation -----------------------------------------------------------------------
@pytest.mark.parametrize("rule", RULES)
def test_saturation_one_input(rule):
    model = nn.Lambda(lambda x: 1 - F.relu(1 - x))
    c = A.deeplift(model, np.array([[2.0]]), 0, rule=rule)
    np.testing.assert_allclose(c, [[1.0]], atol=1e-12)


@pytest.mark.parametrize("rule", RULES)
def test_saturation_two_inputs(rule):
    model = nn.Lambda(lambda x: 1 - F.relu(1 - column(x, 0) - column(x, 1)))
    c = A.deeplift(model, np.array([[1.0, 1.0]]), 0, rule=rule)
    np.testing.assert_allclose(c[0], [0.5, 0.5], atol=1e-12)


# ---- case 3: threshold ------------------------------------------------------------------------
@pytest.mark.parametrize("eps_input", [1e-3, 1e-6])
def test_threshold_gives_epsilon(eps_input):
    model = nn.Lambda(lambda x: F.relu(x - 10))
    c = A.deeplift(model, np.array([[10 + eps_input]]), 0)
    np.testing.assert_allclose(c, [[eps_input]], rtol=1e-9)


# ---- case 4: implementation invariance is NOT a DeepLIFT property ----------------------------
def f_impl(x):
    return F.relu(F.relu(column(x, 0)) - 1 - F.relu(column(x, 1)))


def g_impl(x):
    return F.relu(F.relu(column(x, 0) - 1) - F.relu(column(x, 1)))


def test_implementation_invariance_counterexample():
    x = np.array([[3.0, 1.0]])
    np.testing.assert_allclose(A.deeplift(nn.Lambda(f_impl), x, 0)[0], [1.5, -0.5], atol=1e-12)
    np.testing.assert_allclose(A.deeplift(nn.Lambda(g_impl), x, 0)[0], [2.0, -1.0], atol=1e-12)


# ---- case 5: two ReLUs, multipliers ------------------------------------------------------------
def test_two_relus_contributions_and_multipliers():
    model = nn.Lambda(lambda x: 2 * F.relu(column(x, 0)) + 2 * F.relu(column(x, 1) - 1.5))
    x = np.array([[1.0, 2.0]])
    c, delta = A.deeplift(model, x, 0, return_delta=True)
    np.testing.assert_allclose(c[0], [2.0, 1.0], atol=1e-12)
    assert abs(delta[0]) < 1e-12
    m = A.deeplift(model, x, 0, multiply_by_inputs=False)
    np.testing.assert_allclose(m[0], [2.0, 0.5], atol=1e-12)


# ---- case 6: max-pool routing -----------------------------------------------------------------
@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("reference, expected", [((1, 2, 3, 9), (0, 0, 0, -8)), ((4, 8, 6, 7), (0, -7, 0, 0))])
def test_max_pool_routing(rule, reference, expected):
    model = nn.Sequential(nn.MaxPool2d((1, 4)), nn.Flatten())
    x = np.ones((1, 1, 1, 4))
    baseline = np.array(reference, dtype=float).reshape(1, 1, 1, 4)
    c, delta = A.deeplift(model, x, 0, baseline=baseline, rule=rule, return_delta=True)
    np.testing.assert_allclose(c.reshape(-1), expected, atol=1e-12)
    assert abs(delta[0]) < 1e-12


# ---- summation-to-delta on random networks ----------------------------------------------------
class Residual(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()  # reused twice, as in torchvision's ResNet

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + x)


class ResidualNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(2, 4, 3, stride=2, padding=2)
        self.block = Residual(4)
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        h = F.tanh(self.stem(x))
        h = self.block(h)
        h = F.max_pool2d(h, 2)
        h = F.adaptive_avg_pool2d(F.sigmoid(h), 1)
        return self.head(F.flatten(h, 1))


def random_batchnorm_stats(model, rng):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean[...] = rng.normal(size=m.running_mean.shape)
            m.running_var[...] = rng.uniform(0.5, 2.0, size=m.running_var.shape)
            m.weight.data[...] = rng.normal(size=m.weight.shape)
            m.bias.data[...] = rng.normal(size=m.bias.shape)


def conv_net():
    return nn.Sequential(
        nn.Conv2d(2, 5, (3, 2), stride=(2, 1), padding=1), nn.BatchNorm2d(5), nn.ReLU(),
        nn.MaxPool2d(2, stride=1), nn.Conv2d(5, 4, 3, padding=2), nn.Tanh(),
        nn.AvgPool2d(2), nn.Sigmoid(), nn.Flatten(), nn.Linear(4 * 3 * 5, 6), nn.ReLU(), nn.Linear(6, 3),
    )


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("build", [conv_net, ResidualNet], ids=["sequential", "residual"])
@pytest.mark.parametrize("baseline_kind", ["zero", "random"])
def test_summation_to_delta(rule, build, baseline_kind):
    rng = np.random.default_rng(1)
    model = build()
    random_batchnorm_stats(model, rng)
    x = rng.normal(size=(3, 2, 9, 8))
    baseline = None if baseline_kind == "zero" else rng.normal(size=x.shape)
    c, delta = A.deeplift(model, x, [0, 1, 2], baseline=baseline, rule=rule, return_delta=True)
    with mc.no_grad():
        b = np.zeros_like(x) if baseline is None else baseline
        model.eval()
        scores = model(x).data[np.arange(3), [0, 1, 2]] - model(b).data[np.arange(3), [0, 1, 2]]
    np.testing.assert_allclose(c.reshape(3, -1).sum(axis=1), scores, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(delta, 0, atol=1e-9 * np.abs(scores).max())
    np.testing.assert_allclose(A.completeness_delta(model, c, x, [0, 1, 2], baseline=baseline), delta, atol=1e-12)


def test_reveal_cancel_differs_from_rescale_but_both_sum_to_delta():
    rng = np.random.default_rng(2)
    model = conv_net()
    x = rng.normal(size=(2, 2, 9, 8))
    rescale = A.deeplift(model, x, 1, rule="rescale")
    reveal = A.deeplift(model, x, 1, rule="reveal_cancel")
    assert not np.allclose(rescale, reveal)
    np.testing.assert_allclose(rescale.reshape(2, -1).sum(1), reveal.reshape(2, -1).sum(1), rtol=1e-9)


def test_linear_model_equals_gradient_times_delta():
    rng = np.random.default_rng(3)
    model = nn.Sequential(nn.Linear(5, 4), nn.Linear(4, 2))
    x, b = rng.normal(size=(2, 5)), rng.normal(size=(2, 5))
    w = model[1].weight.data @ model[0].weight.data
    for rule in RULES:
        np.testing.assert_allclose(A.deeplift(model, x, 1, baseline=b, rule=rule), w[1] * (x - b), rtol=1e-12)


@pytest.mark.parametrize("rule", RULES)
def test_float32_model(rule):
    rng = np.random.default_rng(4)
    model = conv_net().to(np.float32)
    x = rng.normal(size=(2, 2, 9, 8)).astype(np.float32)
    c, delta = A.deeplift(model, x, 0, rule=rule, return_delta=True)
    assert c.dtype == np.float32
    assert np.abs(delta).max() < 1e-4


# ---- errors -----------------------------------------------------------------------------------
def test_unsupported_op_names_it():
    model = nn.Lambda(lambda x: F.softmax(x, axis=1))
    with pytest.raises(A.DeepLiftError, match="Softmax"):
        A.deeplift(model, np.ones((1, 3)), 0)


def test_product_of_two_inputs_is_rejected():
    model = nn.Lambda(lambda x: column(x, 0) * column(x, 1))
    with pytest.raises(A.DeepLiftError, match="Mul"):
        A.deeplift(model, np.ones((1, 2)), 0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(rule="gradient"), "rule"),
        (dict(target=5), "target"),
        (dict(target=[0, 1, 0]), "target"),
        (dict(baseline=np.zeros((3, 3))), "baseline"),
        (dict(x=np.ones(4)), "x"),
        (dict(x=np.array([[np.nan, 1, 2, 3]])), "x"),
        (dict(baseline=np.array([np.inf, 0, 0, 0])), "baseline"),
    ],
)
def test_bad_input(kwargs, match):
    model = nn.Sequential(nn.Linear(4, 3))
    args = dict(x=np.ones((2, 4)), target=0)
    args.update(kwargs)
    x, target = args.pop("x"), args.pop("target")
    with pytest.raises((ValueError, TypeError), match=match):
        A.deeplift(model, x, target, **args)


def test_mode_and_parameter_grads_restored():
    model = conv_net()
    model.train()
    model[0].weight.grad = np.full(model[0].weight.shape, 7.0)
    A.deeplift(model, np.ones((1, 2, 9, 8)), 0)
    assert model.training and all(m.training for m in model.modules())
    assert np.all(model[0].weight.grad == 7.0)
    assert model[4].weight.grad is None


class EveryOp(nn.Module):
    """A graph that uses every op DeepLIFT has a rule for, written with functional calls."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1)
        self.head = nn.Linear(3 * 3 * 8 + 6, 4)
        self.scale = np.linspace(0.5, -1.5, 3).reshape(1, 3, 1, 1)  # a constant: Mul stays linear

    def forward(self, x):
        h = self.conv(x) * self.scale - 0.25                        # Conv2d, Mul, Sub
        h = F.interpolate(h, (6, 8))                                # BilinearResize
        a = F.exp(F.tanh(h[:, :, :3]))                              # GetItem, Tanh, Exp
        b = F.log(F.sigmoid(-h[:, :, 3:]) + 1.0) / 2.0              # Neg, Sigmoid, Add, Log, Div
        c = (F.relu(a - b) + 0.1) ** 1.5                            # Relu, Pow
        pooled = F.avg_pool2d(F.transpose(c, (0, 1, 3, 2)), (1, 1)) # Transpose, AvgPool2d
        flat = F.flatten(F.cast(pooled, np.float64), 1)                # Cast, Reshape
        summary = F.concatenate([c.sum(axis=(2, 3)), F.max_pool2d(c, (3, 8)).reshape((-1, 3))], axis=1)
        return self.head(F.concatenate([flat, summary], axis=1))    # Sum, MaxPool2d, Concatenate


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("baseline_kind", ["zero", "random"])
def test_summation_to_delta_through_every_supported_op(rule, baseline_kind):
    rng = np.random.default_rng(6)
    model = EveryOp()
    x = rng.normal(size=(3, 2, 3, 4))
    baseline = None if baseline_kind == "zero" else rng.normal(size=x.shape)
    c, delta = A.deeplift(model, x, [0, 2, 3], baseline=baseline, rule=rule, return_delta=True)
    b = np.zeros_like(x) if baseline is None else baseline
    with mc.no_grad():
        scores = model(x).data[np.arange(3), [0, 2, 3]] - model(b).data[np.arange(3), [0, 2, 3]]
    assert np.abs(scores).min() > 1e-3  # a real difference to explain
    np.testing.assert_allclose(c.reshape(3, -1).sum(axis=1), scores, rtol=1e-9)
    assert np.abs(delta).max() <= 1e-9 * np.abs(scores).max()


# ---- names: the package and the public function do not share one ---------------------------------
def test_package_and_function_are_told_apart():
    import importlib
    import types

    package = importlib.import_module("attributions.deeplift_rules")
    assert isinstance(package, types.ModuleType)
    import attributions.deeplift_rules as aliased  # `import a.b as m` reads the attribute b of a
    from attributions import deeplift

    assert aliased is package
    assert isinstance(A.deeplift, types.FunctionType) and deeplift is A.deeplift is package.deeplift

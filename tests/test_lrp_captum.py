"""LRP against Captum's `LRP` with the same rule set on every layer, on a LeNet and a VGG-ish
net built in both frameworks with identical weights; to 1e-6 relative, float64.

Conventions, and how the comparison matches them:
- ε rule: both stabilise z_k + ε·sign(z_k) with sign(0) = +1, z_k including the bias; R at the
  output is the target logit (Captum multiplies its normalised relevance by the output).
- Captum gives max-pooling an ε rule, R_j = z/(z + ε) R at the winner; ours routes R unchanged
  (winner-take-all). Captum's max-pools get ε = 1e-12 here, which makes them the same.
- Average pooling: ε rule in both; Captum's pools get our `epsilon`.
- γ and α1β0: Captum changes the weights only (w + γw⁺, w⁺) and keeps the bias as it is, and
  its α1β0 uses a·w⁺ for any sign of a; ours boosts the bias like a weight (Montavon et al. 2019,
  Eq. (4)) and splits signed inputs (zennit). The definitions agree for zero biases and inputs
  ≥ 0, which is what these two comparisons use (pixels in [0, 1)). Captum's denominators use
  its STABILITY_FACTOR 1e-9, so ours get stabilizer=1e-9.
- Captum supports Conv2d, Linear, pooling, BatchNorm2d and ReLU/Tanh/Dropout as leaf modules (no
  nn.Flatten: the twins flatten in `forward`); each module may be used once.
"""

import numpy as np
import pytest

REASON = "PyTorch and Captum are optional; install the 'torch' extra to compare against them"
torch = pytest.importorskip("torch", reason=REASON)
captum_attr = pytest.importorskip("captum.attr", reason=REASON)
lrp_rules = pytest.importorskip("captum.attr._utils.lrp_rules", reason=REASON)

from minicnn import nn  # noqa: E402
from attributions import lrp  # noqa: E402

tnn = torch.nn
RTOL = 1e-6
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def assert_close(actual, expected, rel=RTOL):
    """max|actual − expected| ≤ rel · max|expected|, shapes equal."""
    expected = expected.detach().numpy()
    assert actual.shape == expected.shape
    scale = float(np.abs(expected).max())
    err = float(np.abs(actual - expected).max())
    assert err <= rel * scale, f"max abs error {err:.3e} > {rel:.0e} · {scale:.3e}"


def twin_class(lib):
    class Net(lib.Module):
        def __init__(self, features, classifier):
            super().__init__()
            self.features, self.classifier = features, classifier

        def forward(self, x):
            h = self.features(x)
            return self.classifier(h.reshape(h.shape[0], -1))
    return Net


def lenet(lib):
    return twin_class(lib)(
        lib.Sequential(lib.Conv2d(1, 6, 5, padding=2), lib.ReLU(), lib.MaxPool2d(2),
                       lib.Conv2d(6, 16, 5), lib.ReLU(), lib.MaxPool2d(2)),
        lib.Sequential(lib.Linear(16 * 2 * 2, 32), lib.ReLU(), lib.Linear(32, 10)))


def vggish(lib):
    return twin_class(lib)(
        lib.Sequential(lib.Conv2d(3, 8, 3, padding=1), lib.ReLU(), lib.Conv2d(8, 8, 3, padding=1), lib.ReLU(),
                       lib.MaxPool2d(2), lib.Conv2d(8, 16, 3, padding=1), lib.ReLU(), lib.AvgPool2d(2)),
        lib.Sequential(lib.Linear(16 * 4 * 4, 24), lib.ReLU(), lib.Linear(24, 5)))


NETS = {"lenet": (lenet, (1, 16, 16), 10), "vggish": (vggish, (3, 16, 16), 5)}


@pytest.fixture(autouse=True)
def float64_torch():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def twins(name, zero_bias):
    build, shape, classes = NETS[name]
    torch.manual_seed(0)
    tmodel = build(tnn).double().eval()
    with torch.no_grad():
        for pname, p in tmodel.named_parameters():
            p.mul_(0.0 if zero_bias and pname.endswith("bias") else 2.0)
    model = build(nn)
    model.load_state_dict({k: v.detach().numpy().copy() for k, v in tmodel.state_dict().items()})
    return tmodel, model, shape, classes


def captum_lrp(tmodel, x, targets, layer_rule, pool_epsilon):
    for module in tmodel.modules():
        if isinstance(module, (tnn.Conv2d, tnn.Linear)):
            module.rule = layer_rule()
        elif isinstance(module, tnn.MaxPool2d):
            module.rule = lrp_rules.EpsilonRule(epsilon=1e-12)   # = winner-take-all
        elif isinstance(module, tnn.AvgPool2d):
            module.rule = lrp_rules.EpsilonRule(epsilon=pool_epsilon)
    inputs = torch.tensor(x, requires_grad=True)
    return captum_attr.LRP(tmodel).attribute(inputs, target=torch.tensor(targets))


CASES = {
    # name: (Captum's rule, our keyword arguments, zero biases and inputs ≥ 0)
    "epsilon": (lambda: lrp_rules.EpsilonRule(epsilon=0.05), {"rule": "epsilon", "epsilon": 0.05}, False),
    "epsilon_small": (lambda: lrp_rules.EpsilonRule(epsilon=1e-9), {"rule": "epsilon", "epsilon": 1e-9}, False),
    "gamma": (lambda: lrp_rules.GammaRule(gamma=0.25),
              {"rule": "gamma", "gamma": 0.25, "stabilizer": 1e-9, "epsilon": 1e-9}, True),
    "alpha1_beta0": (lambda: lrp_rules.Alpha1_Beta0_Rule(),
                     {"rule": "alpha_beta", "alpha": 1.0, "beta": 0.0, "stabilizer": 1e-9, "epsilon": 1e-9}, True),
}


@pytest.mark.parametrize("net", list(NETS))
@pytest.mark.parametrize("case", list(CASES))
def test_lrp_matches_captum(net, case):
    captum_rule, ours, nonnegative = CASES[case]
    tmodel, model, shape, classes = twins(net, zero_bias=nonnegative)
    rng = np.random.default_rng(3)
    x = rng.random((3,) + shape) if nonnegative else rng.standard_normal((3,) + shape)
    targets = np.array([0, classes - 1, 2])
    expected = captum_lrp(tmodel, x, targets, captum_rule, ours["epsilon"])
    assert_close(lrp(model, x, targets, **ours), expected)


def test_zplus_is_captum_alpha1_beta0_without_bias():
    """Our bias-free z⁺ equals Captum's α1β0 with set_bias_to_zero=True on non-negative inputs."""
    tmodel, model, shape, classes = twins("lenet", zero_bias=False)
    x = np.random.default_rng(4).random((2,) + shape)
    expected = captum_lrp(tmodel, x, np.array([1, 4]), lambda: lrp_rules.Alpha1_Beta0_Rule(set_bias_to_zero=True),
                          1e-9)
    assert_close(lrp(model, x, [1, 4], rule="zplus", stabilizer=1e-9, epsilon=1e-9), expected)

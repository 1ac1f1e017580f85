"""Cross-checks against Captum: the same networks built in PyTorch and in minicnn (weights
copied through `state_dict`), the same inputs, targets and baselines; attributions must agree to
1e-6 relative (float64 on both sides).

Skipped when torch or captum is missing (install the 'torch' extra).
Run one part with e.g. ``pytest tests/test_captum_equivalence.py -k IntegratedGradients``.
"""

import numpy as np
import pytest

REASON = "PyTorch and Captum are optional; install the 'torch' extra to compare against them"
torch = pytest.importorskip("torch", reason=REASON)
captum_attr = pytest.importorskip("captum.attr", reason=REASON)

from minicnn import nn  # noqa: E402
from attributions.gradcam import grad_cam, guided_backprop, guided_grad_cam  # noqa: E402
from attributions.gradients import gradient_x_input, saliency  # noqa: E402
from attributions.integrated_gradients import METHODS, integrated_gradients  # noqa: E402

tnn = torch.nn
TF = torch.nn.functional
RTOL = 1e-6
pytestmark = pytest.mark.filterwarnings("ignore:Setting backward hooks on ReLU:UserWarning")


def assert_close(actual, expected, rel=RTOL):
    """max|actual − expected| ≤ rel · max|expected| (scale-aware: entries that are ~0 by
    cancellation do not blow the comparison up), with matching shapes."""
    expected = expected.detach().numpy() if hasattr(expected, "detach") else np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    scale = max(float(np.abs(expected).max()), np.finfo(np.float64).tiny)
    err = float(np.abs(actual - expected).max())
    assert err <= rel * scale, f"max abs error {err:.3e} > {rel:.0e} · {scale:.3e}"


@pytest.fixture(autouse=True)
def float64_torch():
    """Captum builds the Riemann nodes with torch.linspace in the default dtype; make it float64.
    One thread: these nets are tiny, and threads only add overhead on a busy machine."""
    previous, threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_default_dtype(previous)
    torch.set_num_threads(threads)


# ---- the same networks in both frameworks -----------------------------------------------------
def lenet(lib):
    """LeNet-5-like, 1×16×16 input: conv-relu-maxpool ×2, then a ReLU MLP head."""
    return lib.Sequential(
        lib.Conv2d(1, 6, 5, padding=2), lib.ReLU(), lib.MaxPool2d(2),
        lib.Conv2d(6, 16, 5), lib.ReLU(), lib.MaxPool2d(2),
        lib.Flatten(), lib.Linear(16 * 2 * 2, 32), lib.ReLU(), lib.Linear(32, 10),
    )


def vggish(lib):
    """A small VGG-like net with tanh and average pooling, 3×16×16 input."""
    return lib.Sequential(
        lib.Conv2d(3, 8, 3, padding=1), lib.Tanh(), lib.Conv2d(8, 8, 3, padding=1), lib.Tanh(), lib.AvgPool2d(2),
        lib.Conv2d(8, 16, 3, padding=1), lib.Tanh(), lib.AvgPool2d(2),
        lib.Flatten(), lib.Linear(16 * 4 * 4, 24), lib.ReLU(), lib.Linear(24, 5),
    )


# the last entry: the default Grad-CAM layer, the last 4-D map before the classifier (the last pooling)
NETS = {"lenet": (lenet, (1, 16, 16), 10, "5"), "vggish": (vggish, (3, 16, 16), 5, "7")}


@pytest.fixture(scope="module", params=list(NETS))
def case(request):
    """(torch model, minicnn model, x, targets, name of the default Grad-CAM layer) with shared weights."""
    build, shape, classes, default_layer = NETS[request.param]
    tmodel = build(tnn).double().eval()
    with torch.no_grad():  # PyTorch's default init is small; rescale so the logits vary
        for p in tmodel.parameters():
            p.mul_(2.0)
    model = build(nn)
    model.load_state_dict({k: v.detach().double().numpy() for k, v in tmodel.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((3,) + shape)
    targets = np.array([0, classes - 1, 2])
    return tmodel, model, x, targets, default_layer


def torch_of(array, grad=False):
    return torch.tensor(array, dtype=torch.float64, requires_grad=grad)


def test_same_logits(case):
    tmodel, model, x, _, _ = case
    assert_close(model(x).data, tmodel(torch_of(x)), rel=1e-12)


# ---- gradients --------------------------------------------------------------------------------
def test_saliency(case):
    tmodel, model, x, targets, _ = case
    expected = captum_attr.Saliency(tmodel).attribute(torch_of(x, True), target=torch.tensor(targets))
    assert_close(saliency(model, x, targets), expected)
    signed = captum_attr.Saliency(tmodel).attribute(torch_of(x, True), target=torch.tensor(targets), abs=False)
    assert_close(saliency(model, x, targets, abs=False), signed)


def test_input_x_gradient(case):
    tmodel, model, x, targets, _ = case
    expected = captum_attr.InputXGradient(tmodel).attribute(torch_of(x, True), target=torch.tensor(targets))
    assert_close(gradient_x_input(model, x, targets), expected)


# ---- integrated gradients ---------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_integrated_gradients(case, method):
    tmodel, model, x, targets, _ = case
    steps = 6
    baseline = np.random.default_rng(1).uniform(-0.5, 0.5, x.shape)
    expected, expected_delta = captum_attr.IntegratedGradients(tmodel).attribute(
        torch_of(x, True), baselines=torch_of(baseline), target=torch.tensor(targets),
        n_steps=steps, method=method, return_convergence_delta=True,
    )
    ours, delta = integrated_gradients(model, x, targets, baseline, steps=steps, method=method,
                                       batch_size=5, return_delta=True)
    if method == "riemann_trapezoid":
        # Captum's trapezoid weights sum to (n−1)/n instead of 1: ours = Captum's · n/(n−1) exactly,
        # and Captum's is measurably off by that factor.
        assert_close(ours, expected * steps / (steps - 1))
        assert np.abs(ours - expected.detach().numpy()).max() > 0.05 * np.abs(ours).max()
        return
    assert_close(ours, expected)
    gap = np.abs(ours.reshape(len(x), -1).sum(axis=1)).max()
    np.testing.assert_allclose(delta, expected_delta.detach().numpy(), rtol=0, atol=RTOL * gap)


# ---- Grad-CAM ---------------------------------------------------------------------------------
def torch_grad_cam(tmodel, layer, x, targets, negate=False):
    model = tmodel if not negate else _Negated(tmodel)
    attr = captum_attr.LayerGradCam(model, layer).attribute(torch_of(x, True), target=torch.tensor(targets), relu_attributions=True)
    return TF.interpolate(attr, size=x.shape[2:], mode="bilinear", align_corners=False)[:, 0]


class _Negated(tnn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return -self.inner(x)


@pytest.mark.parametrize("where", ["default", "first conv", "after pooling"])
def test_grad_cam(case, where):
    tmodel, model, x, targets, default_layer = case
    name = {"default": default_layer, "first conv": "0", "after pooling": "2" if default_layer == "5" else "4"}[where]
    expected = torch_grad_cam(tmodel, tmodel.get_submodule(name), x, targets)
    ours = grad_cam(model, x, targets, layer=None if where == "default" else name)
    assert ours.shape == (len(x),) + x.shape[2:]
    assert (expected > 0).any()
    assert_close(ours, expected)


def test_counterfactual_grad_cam_is_grad_cam_of_negated_logits(case):
    tmodel, model, x, targets, default_layer = case
    expected = torch_grad_cam(tmodel, tmodel.get_submodule(default_layer), x, targets, negate=True)
    assert_close(grad_cam(model, x, targets, counterfactual=True), expected)


def test_guided_backprop(case):
    tmodel, model, x, targets, _ = case
    expected = captum_attr.GuidedBackprop(tmodel).attribute(torch_of(x, True), target=torch.tensor(targets))
    assert_close(guided_backprop(model, x, targets), expected)


def test_guided_grad_cam(case):
    tmodel, model, x, targets, default_layer = case
    expected = captum_attr.GuidedGradCam(tmodel, tmodel.get_submodule(default_layer)).attribute(
        torch_of(x, True), target=torch.tensor(targets), interpolate_mode="bilinear"
    )
    ours = guided_grad_cam(model, x, targets)
    assert ours.shape == x.shape
    assert_close(ours, expected)


# DeepLIFT's cross-checks against captum.attr.DeepLift live in tests/test_deeplift_captum.py.

"""Our methods called with Captum's keywords agree with Captum called with the same keywords, on
the twin networks of the other Captum tests (weights copied by state_dict, float64 on both sides,
1e-6 relative as there). One check per Captum name of attributions/captum_names.py.

Skipped when torch or captum is missing (install the 'torch' extra).
"""

import numpy as np
import pytest

REASON = "PyTorch and Captum are optional; install the 'torch' extra to compare against them"
torch = pytest.importorskip("torch", reason=REASON)
captum_attr = pytest.importorskip("captum.attr", reason=REASON)
lrp_rules = pytest.importorskip("captum.attr._utils.lrp_rules", reason=REASON)

import attributions as A  # noqa: E402
from minicnn import nn  # noqa: E402
from test_captum_equivalence import assert_close, float64_torch, lenet, torch_of  # noqa: E402,F401
from test_deeplift_captum import smooth_pair, synced  # noqa: E402
from test_lrp_captum import twins as lrp_twins  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def twins():
    """(torch LeNet, minicnn LeNet, x, targets, the reference x′), LeNet of test_captum_equivalence."""
    torch.manual_seed(0)
    tmodel = lenet(torch.nn).double().eval()
    with torch.no_grad():
        for p in tmodel.parameters():
            p.mul_(2.0)
    model = lenet(nn)
    model.load_state_dict({k: v.detach().numpy().copy() for k, v in tmodel.state_dict().items()})
    rng = np.random.default_rng(0)
    return tmodel, model, rng.standard_normal((3, 1, 16, 16)), np.array([0, 9, 2]), rng.uniform(-0.5, 0.5, (3, 1, 16, 16))


def torch_keywords(keywords):
    """Captum's side of a keyword set: arrays as float64 tensors."""
    return {k: torch_of(v) if isinstance(v, np.ndarray) else v for k, v in keywords.items()}


@pytest.mark.parametrize("keywords", [
    {"baselines": "array"}, {"baselines": 0.3}, {"baselines": "one row"}, {"n_steps": 7},
    {"internal_batch_size": 4}, {"return_convergence_delta": True},
], ids=["baselines-array", "baselines-scalar", "baselines-row", "n_steps", "internal_batch_size",
        "return_convergence_delta"])
def test_integrated_gradients(twins, keywords):
    tmodel, model, x, t, ref = twins
    keywords = {k: {"array": ref, "one row": ref[:1]}.get(v, v) if isinstance(v, str) else v for k, v in keywords.items()}
    # Captum's default rule; ours is the trapezoid (docs/methods.md, Differences from Captum's defaults)
    ours = A.integrated_gradients(model, x, t, method="gausslegendre", **keywords)
    theirs = captum_attr.IntegratedGradients(tmodel).attribute(torch_of(x, True), target=torch.tensor(t),
                                                               **torch_keywords(keywords))
    if keywords.get("return_convergence_delta"):
        (ours, delta), (theirs, their_delta) = ours, theirs
        gap = np.abs(ours.reshape(len(x), -1).sum(axis=1)).max()
        assert delta.shape == tuple(their_delta.shape) == (len(x),)
        np.testing.assert_allclose(delta, their_delta.detach().numpy(), rtol=0, atol=1e-6 * gap)
    assert_close(ours, theirs)


def test_baselines_as_a_torch_tensor_that_requires_grad(twins):
    tmodel, model, x, t, ref = twins
    ours = A.integrated_gradients(model, x, t, baselines=torch_of(ref, grad=True), n_steps=8)
    assert np.array_equal(ours, A.integrated_gradients(model, x, t, baseline=ref, steps=8))


def test_deeplift_baselines_and_delta():
    ours_model, theirs, shape = synced(smooth_pair)
    rng = np.random.default_rng(1)
    x, ref, t = rng.normal(size=(3,) + shape), rng.normal(size=(3,) + shape), np.array([0, 4, 2])
    ours, delta = A.deeplift(ours_model, x, t, baselines=ref, return_convergence_delta=True)
    expected, expected_delta = captum_attr.DeepLift(theirs).attribute(
        torch_of(x), baselines=torch_of(ref), target=torch.tensor(t), return_convergence_delta=True)
    assert_close(ours, expected)
    # both are summation-to-delta errors near 0: compare on the scale of the attributions' sums
    np.testing.assert_allclose(delta, expected_delta.detach().numpy(), rtol=0, atol=1e-9 * np.abs(ours).sum())


def test_deeplift_shap_delta_is_the_mean_of_captums_per_baseline_deltas():
    ours_model, theirs, shape = synced(smooth_pair)
    rng = np.random.default_rng(2)
    x, refs, t = rng.normal(size=(2,) + shape), rng.normal(size=(3,) + shape), np.array([1, 3])
    ours, delta = A.deeplift_shap(ours_model, x, t, refs, return_convergence_delta=True)
    expected, expected_delta = captum_attr.DeepLiftShap(theirs).attribute(
        torch_of(x), baselines=torch_of(refs), target=torch.tensor(t), return_convergence_delta=True)
    assert_close(ours, expected)
    assert tuple(expected_delta.shape) == (2 * 3,)  # Captum: one per (input, baseline) pair
    np.testing.assert_allclose(delta, expected_delta.detach().numpy().reshape(2, 3).mean(axis=1),
                               rtol=0, atol=1e-9 * np.abs(ours).sum())


def test_lrp_delta_has_the_opposite_sign_of_captums():
    """ε = 0.05 keeps part of the relevance, so the delta is far from 0 and its sign is tested.
    The twins of tests/test_lrp_captum.py (Captum's LRP refuses nn.Flatten)."""
    tmodel, model, shape, _ = lrp_twins("lenet", zero_bias=False)
    x, t = np.random.default_rng(5).standard_normal((3,) + shape), np.array([0, 9, 2])
    for module in tmodel.modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
            module.rule = lrp_rules.EpsilonRule(epsilon=0.05)
        elif isinstance(module, torch.nn.MaxPool2d):
            module.rule = lrp_rules.EpsilonRule(epsilon=1e-12)  # = winner-take-all, ours
    expected, expected_delta = captum_attr.LRP(tmodel).attribute(
        torch_of(x, True), target=torch.tensor(t), return_convergence_delta=True)
    ours, delta = A.lrp(model, x, t, rule="epsilon", epsilon=0.05, return_convergence_delta=True)
    assert_close(ours, expected)
    assert np.abs(delta).min() > 1e-3
    np.testing.assert_allclose(delta, -expected_delta.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("relu", [True, False])
def test_grad_cam_relu_attributions(twins, relu):
    tmodel, model, x, t, _ = twins
    expected = captum_attr.LayerGradCam(tmodel, tmodel.get_submodule("3")).attribute(
        torch_of(x, True), target=torch.tensor(t), relu_attributions=relu)
    ours = A.grad_cam(model, x, t, layer="3", upsample=False, relu_attributions=relu)
    assert_close(ours, expected[:, 0])
    assert relu or (ours < 0).any()


def test_occlusion_windows_strides_baselines():
    ours_model, theirs, shape = synced(smooth_pair)
    rng = np.random.default_rng(3)
    x, ref, t = rng.normal(size=(2,) + shape), rng.normal(size=shape), np.array([0, 4])
    keywords = dict(sliding_window_shapes=(2, 4, 5), strides=(1, 3, 2), baselines=ref[None])
    expected = captum_attr.Occlusion(theirs).attribute(torch_of(x), target=torch.tensor(t), **torch_keywords(keywords))
    got = A.occlusion(ours_model, x, t, **keywords)
    # Captum divides in float32 (`.float() / weight`): 1e-6 relative holds (tests/test_occlusion.py)
    assert_close(got, expected)


@pytest.mark.parametrize("mode", ["smoothgrad", "smoothgrad_sq", "vargrad"])
def test_noise_tunnel_samples_type_batches_and_absolute_stdevs(twins, mode, monkeypatch):
    """Captum draws its noise with torch.normal(0, stdevs) once per batch of k samples, on
    x.repeat_interleave(k) (sample i of row n at n·k + i); the patched draw hands it our σ·ξ in
    that order, and our side takes ξ through `noise=`."""
    tmodel, model, x, t, _ = twins
    samples, per_batch, stdevs = 4, 2, 0.3
    xi = np.random.default_rng(6).standard_normal((samples,) + x.shape)
    batches = iter(range(0, samples, per_batch))

    def our_noise(mean, std):
        first = next(batches)
        chunk = stdevs * xi[first:first + per_batch]                       # (k, N, …)
        noise = np.swapaxes(chunk, 0, 1).reshape((-1,) + x.shape[1:])      # row n, sample i at n·k + i
        assert tuple(std.shape) == noise.shape
        return torch.tensor(noise)

    monkeypatch.setattr(torch, "normal", our_noise)
    keywords = dict(nt_samples=samples, nt_type=mode, nt_samples_batch_size=per_batch, stdevs=stdevs)
    expected = captum_attr.NoiseTunnel(captum_attr.Saliency(tmodel)).attribute(
        torch_of(x, True), target=torch.tensor(t), **keywords)
    monkeypatch.undo()
    assert_close(A.noise_tunnel("saliency", model, x, t, noise=xi, **keywords), expected)


def test_expected_gradients_n_samples_on_a_linear_model():
    """A linear model has a constant gradient, so every draw of GradientShap gives w_t ⊙ (x − x′)
    and both sides are exact whatever their random numbers: what is compared is the keywords."""
    torch.manual_seed(0)
    tlinear = torch.nn.Linear(5, 3).double()
    model = nn.Linear(5, 3)
    model.load_state_dict({k: v.detach().numpy().copy() for k, v in tlinear.state_dict().items()})
    rng = np.random.default_rng(7)
    x, ref, t = rng.normal(size=(4, 5)), rng.normal(size=(1, 5)), np.array([0, 2, 1, 2])
    expected = captum_attr.GradientShap(tlinear).attribute(torch_of(x), baselines=torch_of(ref), target=torch.tensor(t),
                                                           n_samples=6)
    assert_close(A.expected_gradients(model, x, t, ref, n_samples=6, internal_batch_size=5), expected)


def test_layer_methods_baselines_steps_batches():
    ours_model, theirs, shape = synced(smooth_pair)
    rng = np.random.default_rng(4)
    x, ref, t = rng.normal(size=(3,) + shape), rng.normal(size=(3,) + shape), np.array([0, 4, 2])
    keywords = dict(baselines=ref, n_steps=5, internal_batch_size=4)
    for ours, theirs_class in [(A.layer_integrated_gradients, captum_attr.LayerIntegratedGradients),
                               (A.conductance, captum_attr.LayerConductance)]:
        expected = theirs_class(theirs, theirs.get_submodule("2")).attribute(
            torch_of(x), target=torch.tensor(t), method="gausslegendre", **torch_keywords(keywords))
        assert_close(ours(ours_model, x, t, "2", method="gausslegendre", **keywords), expected)


def test_completeness_delta_is_captums_convergence_delta(twins):
    tmodel, model, x, t, ref = twins
    attributions = A.integrated_gradients(model, x, t, ref, steps=6)
    expected = captum_attr.IntegratedGradients(tmodel).compute_convergence_delta(
        torch_of(attributions), start_point=torch_of(ref), end_point=torch_of(x), target=torch.tensor(t))
    got = A.completeness_delta(model, attributions, x, t, baselines=ref)
    np.testing.assert_allclose(got, expected.detach().numpy(), rtol=1e-9, atol=1e-12)

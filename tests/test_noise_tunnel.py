"""noise_tunnel (SmoothGrad, SmoothGrad², VarGrad): Captum's NoiseTunnel fed the same noise,
stdev = 0, the per-row noise scale, batching, method names, bad input, mode/.grad/dtype, a
residual net and the zoo.

Feeding Captum our noise: Captum draws it inside `NoiseTunnel` with `torch.normal(0, stdev)` on
the batch `x.repeat_interleave(S)` (sample s of row n at index n·S + s). The test replaces
`torch.normal` for that one call by our σ_n·ξ_{s,n} in that order; our side takes the same ξ
through the `noise=` argument, which is also how a study fixes its noise. Patching only the
test keeps the library free of torch and of any global random state.
"""

import numpy as np
import pytest

import attributions as A
from minicnn import models, nn


def small_cnn(dtype=np.float64):
    rng = np.random.default_rng(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 3, rng=rng)).to(dtype)


X = np.random.default_rng(1).normal(size=(3, 1, 8, 8)) * np.array([1.0, 3.0, 0.2])[:, None, None, None]
TARGETS = np.array([0, 2, 1])


def by_loop(method, model, x, targets, xi, stdev, mode, **kwargs):
    """The definition, one sample at a time: σ_n = stdev·(max x_n − min x_n), a_s = M(x + σ ξ_s)."""
    sigma = stdev * (x.reshape(len(x), -1).max(axis=1) - x.reshape(len(x), -1).min(axis=1))
    a = np.stack([method(model, x + sigma[:, None, None, None] * xi[s], targets, **kwargs) for s in range(len(xi))])
    mean, mean_sq = a.mean(axis=0), (a**2).mean(axis=0)
    return {"smoothgrad": mean, "smoothgrad_sq": mean_sq, "vargrad": mean_sq - mean**2}[mode]


@pytest.mark.parametrize("mode", ["smoothgrad", "smoothgrad_sq", "vargrad"])
@pytest.mark.parametrize("method", [A.saliency, A.lrp])
def test_matches_the_definition(mode, method):
    model = small_cnn()
    xi = np.random.default_rng(2).standard_normal((6,) + X.shape)
    got = A.noise_tunnel(method, model, X, TARGETS, samples=6, stdev=0.2, mode=mode, noise=xi)
    np.testing.assert_allclose(got, by_loop(method, model, X, TARGETS, xi, 0.2, mode), rtol=1e-10, atol=1e-15)


def test_batches_and_seed():
    model = small_cnn()
    whole = A.noise_tunnel("saliency", model, X, TARGETS, samples=7, seed=3)
    np.testing.assert_allclose(A.noise_tunnel("saliency", model, X, TARGETS, samples=7, seed=3, batch_size=4),
                               whole, rtol=1e-12)
    np.testing.assert_array_equal(A.noise_tunnel(A.saliency, model, X, TARGETS, samples=7, seed=3), whole)
    assert not np.allclose(A.noise_tunnel("saliency", model, X, TARGETS, samples=7, seed=4), whole)


def test_calls_the_method_once_per_batch():
    calls = []

    def method(model, x, target):
        calls.append(len(x))
        return A.saliency(model, x, target)

    A.noise_tunnel(method, small_cnn(), X, TARGETS, samples=50)
    assert calls == [50, 50, 50]   # all 50 noisy copies of an input in one call, as IG's steps
    calls.clear()
    A.noise_tunnel(method, small_cnn(), X, TARGETS, samples=50, batch_size=64)
    assert calls == [64, 64, 22]   # batches may span inputs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zero_stdev_is_the_method(dtype):
    """stdev = 0: every sample is x, so SmoothGrad is M(x) (exactly for float32 maps summed in
    float64; to rounding of the float64 mean otherwise) and VarGrad is 0."""
    model = small_cnn(dtype)
    expected = A.saliency(model, X, TARGETS)
    got = A.noise_tunnel("saliency", model, X, TARGETS, samples=5, stdev=0.0)
    assert got.dtype == dtype
    if dtype == np.float32:
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-15, atol=0)
    assert np.abs(A.noise_tunnel("saliency", model, X, TARGETS, samples=5, stdev=0.0, mode="vargrad")).max() \
        <= 1e-15 * np.abs(expected).max() ** 2


def test_registered_names_and_settings():
    model = small_cnn()
    got = A.noise_tunnel("integrated_gradients", model, X, TARGETS, samples=3, steps=4, baseline=np.zeros_like(X))
    xi = np.random.default_rng(0).standard_normal((3,) + X.shape)
    expected = by_loop(A.integrated_gradients, model, X, TARGETS, xi, 0.15, "smoothgrad", steps=4)
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    np.testing.assert_allclose(A.noise_tunnel("lrp_epsilon", model, X, TARGETS, samples=3),
                               A.noise_tunnel(A.lrp, model, X, TARGETS, samples=3, rule="epsilon"), rtol=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    ({"mode": "smooth"}, "mode: expected one of"),
    ({"samples": 0}, "samples: expected an int ≥ 1"),
    ({"samples": 2.5}, "samples: expected"),
    ({"stdev": -0.1}, "stdev: expected a number ≥ 0"),
    ({"noise": np.zeros((2, 3, 1, 8, 8)), "samples": 3}, "noise: expected shape"),
    ({"seed": "zero"}, "seed: expected"),
])
def test_bad_arguments_name_the_argument(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        A.noise_tunnel("saliency", small_cnn(), X, TARGETS, **kwargs)


def test_bad_method():
    with pytest.raises(ValueError, match="method: expected one of"):
        A.noise_tunnel("smoothgrad_plus", small_cnn(), X, 0)
    with pytest.raises(TypeError, match="method: expected a registered method name or a function"):
        A.noise_tunnel(42, small_cnn(), X, 0)


def test_leaves_mode_and_grad_as_found_on_a_residual_net():
    model = models.ResNetSmall((1, 8, 8), 3, width=4).double()
    model.train()
    stats = model.bn1.running_mean.copy()
    model.fc.weight.grad = np.ones(model.fc.weight.shape)
    got = A.noise_tunnel("lrp_epsilon", model, X, TARGETS, samples=4, mode="vargrad")
    assert got.shape == X.shape and np.isfinite(got).all()
    assert all(m.training for m in model.modules())
    np.testing.assert_array_equal(model.bn1.running_mean, stats)
    np.testing.assert_array_equal(model.fc.weight.grad, 1.0)


@pytest.mark.parametrize("name, samples", [("resnet18", 2), ("vgg11", 1)])   # VGG-11: 3 s a pass here
def test_zoo_at_a_small_input(name, samples):
    model = models.IMAGENET[name](num_classes=4)
    x = np.random.default_rng(5).normal(size=(1, 3, 32, 32))
    got = A.noise_tunnel("saliency", model, x, 2, samples=samples)
    xi = np.random.default_rng(0).standard_normal((samples,) + x.shape)
    np.testing.assert_allclose(got, by_loop(A.saliency, model, x, [2], xi, 0.15, "smoothgrad"), rtol=1e-10,
                               atol=1e-14 * np.abs(got).max())


# ---- Captum's NoiseTunnel, fed the same noise ---------------------------------------------------
@pytest.mark.parametrize("mode", ["smoothgrad", "smoothgrad_sq", "vargrad"])
def test_matches_captum(mode, monkeypatch):
    reason = "PyTorch and Captum are optional; install the 'torch' extra to compare against them"
    torch = pytest.importorskip("torch", reason=reason)
    captum_attr = pytest.importorskip("captum.attr", reason=reason)
    tmodel = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                 torch.nn.Flatten(), torch.nn.Linear(64, 3)).double().eval()
    model = small_cnn()
    model.load_state_dict({k: v.detach().numpy().copy() for k, v in tmodel.state_dict().items()})
    samples = 5
    xi = np.random.default_rng(6).standard_normal((samples,) + X.shape)
    sigma = 0.15 * (X.reshape(3, -1).max(axis=1) - X.reshape(3, -1).min(axis=1))
    perturbation = sigma[None, :, None, None, None] * xi                       # (S, N, …)
    in_captum_order = np.swapaxes(perturbation, 0, 1).reshape((-1,) + X.shape[1:])  # row n, sample s at n·S + s
    real_normal = torch.normal

    def fake_normal(mean, std, *args, **kwargs):
        assert tuple(std.shape) == in_captum_order.shape
        return torch.tensor(in_captum_order)

    monkeypatch.setattr(torch, "normal", fake_normal)
    expected = captum_attr.NoiseTunnel(captum_attr.Saliency(tmodel)).attribute(
        torch.tensor(X, requires_grad=True), nt_type=mode, nt_samples=samples, stdevs=1.0,
        target=torch.tensor(TARGETS)).detach().numpy()
    monkeypatch.setattr(torch, "normal", real_normal)
    got = A.noise_tunnel("saliency", model, X, TARGETS, samples=samples, stdev=0.15, mode=mode, noise=xi)
    assert np.abs(got - expected).max() <= 1e-6 * np.abs(expected).max()

"""Tests for the several-baseline methods: attributions.expected_gradients (GradientSHAP) and
attributions.deeplift_shap (against Captum's DeepLiftShap, and its exact summation-to-delta).

Run one part with e.g. ``pytest tests/test_baselines_many.py -k shap``.
"""

import numpy as np
import pytest

import attributions as A
from minicnn import models, nn

from test_cam_variants import check_contract, resnet18_case


def smooth_net(seed=0):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, rng=rng), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 8, rng=rng), nn.Sigmoid(), nn.Linear(8, 3, rng=rng))


def relu_net(seed=0):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 8, rng=rng), nn.ReLU(), nn.Linear(8, 3, rng=rng))


RNG = np.random.default_rng(0)
X = RNG.standard_normal((2, 2, 8, 8))
REFS = RNG.standard_normal((5, 2, 8, 8))


# ---- DeepLIFT-SHAP ----------------------------------------------------------------------------
@pytest.mark.parametrize("rule", ["rescale", "reveal_cancel"])
def test_deeplift_shap_with_one_baseline_is_deeplift(rule):
    net = relu_net()
    np.testing.assert_array_equal(A.deeplift_shap(net, X, [0, 2], REFS[:1], rule=rule),
                                  A.deeplift(net, X, [0, 2], baseline=REFS[:1], rule=rule))
    np.testing.assert_array_equal(A.deeplift_shap(net, X, 1, REFS[0], rule=rule),  # one row, no batch axis
                                  A.deeplift(net, X, 1, baseline=REFS[0], rule=rule))


@pytest.mark.parametrize("rule", ["rescale", "reveal_cancel"])
def test_deeplift_shap_sums_to_the_mean_baseline_output(rule):
    net = relu_net(1)
    c, delta = A.deeplift_shap(net, X, [1, 2], REFS, rule=rule, return_delta=True)
    logits = lambda a: net(a).data  # noqa: E731
    expected = logits(X)[[0, 1], [1, 2]] - logits(REFS)[:, [1, 2]].mean(axis=0)
    np.testing.assert_allclose(c.reshape(2, -1).sum(axis=1), expected, rtol=1e-12)
    assert np.abs(delta).max() < 1e-12
    mean = np.mean([A.deeplift(net, X, [1, 2], baseline=r, rule=rule) for r in REFS], axis=0)
    np.testing.assert_allclose(c, mean, rtol=1e-12, atol=1e-15)


def test_deeplift_shap_matches_captum():
    pytest.importorskip("torch", reason="PyTorch and Captum are optional: the Captum cross-check is skipped")
    captum_attr = pytest.importorskip("captum.attr", reason="Captum is optional: the cross-check is skipped")
    import torch
    from test_deeplift_captum import smooth_pair, synced

    ours, theirs, shape = synced(smooth_pair)  # no max pool: Captum's max-pool rule differs (test_deeplift_captum)
    rng = np.random.default_rng(3)
    x, refs, target = rng.normal(size=(3,) + shape), rng.normal(size=(4,) + shape), np.array([0, 4, 2])
    expected = captum_attr.DeepLiftShap(theirs).attribute(torch.from_numpy(x), baselines=torch.from_numpy(refs),
                                                          target=torch.from_numpy(target)).detach().numpy()
    got = A.deeplift_shap(ours, x, target, refs)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9 * np.abs(expected).max())


# ---- Expected Gradients -----------------------------------------------------------------------
def test_expected_gradients_converges_to_ig_with_one_baseline():
    """With one baseline EG is a Monte-Carlo estimate of IG's integral over α ~ U(0, 1): every
    entry within 4 standard errors of the mean (its SE measured from the per-sample terms)."""
    net, samples = smooth_net(), 400
    eg = A.expected_gradients(net, X, [0, 1], REFS[:1], samples=samples, seed=1)
    ig = A.integrated_gradients(net, X, [0, 1], baseline=REFS[:1], steps=64, method="gausslegendre")
    alphas = np.random.default_rng(2).uniform(size=64)  # independent draws, only for the spread
    terms = np.stack([(X - REFS[:1]) * A.input_gradient(net, REFS[:1] + a * (X - REFS[:1]), [0, 1]) for a in alphas])
    se = terms.std(axis=0, ddof=1) / np.sqrt(samples)
    assert np.all(np.abs(eg - ig) <= 4 * se + 1e-12)
    assert np.abs(eg - ig).max() < 0.1 * np.abs(ig).max()


def test_expected_gradients_is_seeded_and_batched():
    net = smooth_net()
    a = A.expected_gradients(net, X, 2, REFS, samples=7, seed=3)
    np.testing.assert_array_equal(a, A.expected_gradients(net, X, 2, REFS, samples=7, seed=3))
    np.testing.assert_allclose(a, A.expected_gradients(net, X, 2, REFS, samples=7, seed=3, batch_size=3), rtol=1e-12)
    assert not np.allclose(a, A.expected_gradients(net, X, 2, REFS, samples=7, seed=4))


def test_expected_gradients_complete_in_expectation():
    net, samples = smooth_net(2), 600
    eg = A.expected_gradients(net, X[:1], 0, REFS, samples=samples, seed=0)
    gap = net(X[:1]).data[0, 0] - net(REFS).data[:, 0].mean()
    assert abs(eg.sum() - gap) < 0.1 * abs(gap) + 0.02


# ---- bad arguments and the contract -----------------------------------------------------------
def test_bad_arguments():
    net = smooth_net()
    for method in (A.expected_gradients, A.deeplift_shap):
        with pytest.raises(ValueError, match="baselines: expected an array \\(B, 2, 8, 8\\)"):
            method(net, X, 0, np.zeros((3, 2, 8)))
        with pytest.raises(ValueError, match="baselines: .*B ≥ 1"):
            method(net, X, 0, np.zeros((0, 2, 8, 8)))
        with pytest.raises(ValueError, match="baselines: contains NaN"):
            method(net, X, 0, np.full((1, 2, 8, 8), np.nan))
    with pytest.raises(ValueError, match="rule: expected one of rescale, reveal_cancel"):
        A.deeplift_shap(net, X, 0, REFS, rule="shapley")
    with pytest.raises(ValueError, match="samples"):
        A.expected_gradients(net, X, 0, REFS, samples=0)
    with pytest.raises(TypeError, match="seed"):
        A.expected_gradients(net, X, 0, REFS, seed="x")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_contract_on_a_residual_net(dtype):
    net = models.ResNetSmall(input_shape=(3, 16, 16), num_classes=4).to(dtype)
    rng = np.random.default_rng(5)
    x, refs = rng.standard_normal((2, 3, 16, 16)).astype(dtype), rng.standard_normal((3, 3, 16, 16))
    check_contract(A.expected_gradients, net, x, [1, 3], x.shape, baselines=refs, samples=4)
    for rule in ("rescale", "reveal_cancel"):
        check_contract(A.deeplift_shap, net, x, [1, 3], x.shape, baselines=refs, rule=rule)


def test_contract_on_resnet18():
    net, x = resnet18_case()
    check_contract(A.deeplift_shap, net, x, 2, x.shape, baselines=np.zeros((2,) + x.shape[1:]))
    check_contract(A.expected_gradients, net, x, 2, x.shape, baselines=np.zeros(x.shape[1:]), samples=2)

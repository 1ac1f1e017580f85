"""Tests for attributions.occlusion (by hand, against Captum's Occlusion) and
attributions.deconvolution (by hand, against Captum's Deconvolution).

Run one part with e.g. ``pytest tests/test_occlusion.py -k deconv``.
"""

import numpy as np
import pytest

import attributions as A
from minicnn import models, nn
from attributions.occlusion import window_positions

from test_baselines_many import relu_net, smooth_net
from test_cam_variants import check_contract, resnet18_case
from test_gradients import linear

X = np.random.default_rng(0).standard_normal((2, 2, 8, 8))


# ---- occlusion --------------------------------------------------------------------------------
def test_occlusion_of_a_linear_model_is_w_times_delta():
    """F = w·x + b: occluding a window drops F by Σ_{i∈W} w_i(x_i − x′_i), and each element's mean
    over its windows is not simply w_i(x_i − x′_i) unless the window is one element."""
    w = np.random.default_rng(1).standard_normal((3, 6))
    net = linear(w, bias=[0.5, -1.0, 2.0])
    x = np.random.default_rng(2).standard_normal((2, 6))
    np.testing.assert_allclose(A.occlusion(net, x, [0, 2], window=1, stride=1, baseline=0.25),
                               w[[0, 2]] * (x - 0.25), rtol=1e-13)
    # window 2, stride 2 over 6 features: windows {0,1}, {2,3}, {4,5}, each element covered once
    a = A.occlusion(net, x, 1, window=(2,), stride=(2,))
    drops = (w[1] * x).reshape(2, 3, 2).sum(axis=2)
    np.testing.assert_allclose(a, np.repeat(drops, 2, axis=1), rtol=1e-13)


def test_window_positions_follow_captum():
    # length 7, window 3, stride 3: starts 0, 3, 6 (= 3·⌈4/3⌉), the last window cut to one element
    starts = [w[0].start for w in window_positions((7,), (3,), (3,))]
    assert starts == [0, 3, 6]
    assert len(window_positions((2, 8, 8), (1, 4, 4), (1, 2, 2))) == 2 * 3 * 3


def test_occlusion_averages_over_covering_windows():
    # one-feature model F = x_0 (of 3): window 2, stride 1 → windows {0,1}, {1,2}; drops x_0, 0
    net = linear([[1.0, 0.0, 0.0]])
    a = A.occlusion(net, np.array([[2.0, 5.0, 7.0]]), 0, window=2, stride=1)
    np.testing.assert_allclose(a, [[2.0, 1.0, 0.0]])


def test_occlusion_matches_captum():
    pytest.importorskip("torch", reason="PyTorch and Captum are optional: the Captum cross-check is skipped")
    captum_attr = pytest.importorskip("captum.attr", reason="Captum is optional: the cross-check is skipped")
    import torch

    from test_deeplift_captum import smooth_pair, synced

    ours, theirs, shape = synced(smooth_pair)
    rng = np.random.default_rng(3)
    x, ref, t = rng.normal(size=(3,) + shape), rng.normal(size=shape), np.array([0, 4, 2])
    occlusion = captum_attr.Occlusion(theirs)
    for window, stride, baseline in [((1, 4, 4), (1, 2, 2), 0.0), ((2, 4, 5), (1, 3, 2), 0.3), ((3, 3, 3), 2, ref)]:
        theirs_baseline = torch.from_numpy(ref[None]) if baseline is ref else baseline
        expected = occlusion.attribute(torch.from_numpy(x), sliding_window_shapes=window, strides=stride,
                                       baselines=theirs_baseline, target=torch.from_numpy(t),
                                       perturbations_per_eval=32).detach().numpy()
        got = A.occlusion(ours, x, t, window=window, stride=stride, baseline=baseline, batch_size=7)
        # Captum divides in float32 (`.float() / weight`): 1e-6 relative holds, 1e-12 would not
        assert np.abs(got - expected).max() <= 1e-6 * np.abs(expected).max(), (window, stride)


def test_occlusion_bad_arguments():
    net = smooth_net()
    with pytest.raises(ValueError, match="window: \\(1, 9, 4\\) is larger than a row of the input"):
        A.occlusion(net, X, 0, window=(1, 9, 4))
    with pytest.raises(ValueError, match="window: expected an int ≥ 1 or a tuple of 3 ints"):
        A.occlusion(net, X, 0, window=(4, 4))
    with pytest.raises(ValueError, match="stride: expected"):
        A.occlusion(net, X, 0, stride=(1, 0, 2))
    with pytest.raises(ValueError, match="baseline: expected a scalar"):
        A.occlusion(net, X, 0, baseline=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="batch_size"):
        A.occlusion(net, X, 0, batch_size=0)


# ---- deconvolution ----------------------------------------------------------------------------
def test_deconvolution_by_hand():
    """y = v·ReLU(Wx): the deconvnet's backward is Wᵀ max(v, 0) whatever the forward mask was
    (Zeiler & Fergus 2014); guided backprop also masks by [Wx > 0]; the gradient only by it."""
    w = np.array([[1.0, -2.0], [0.5, 1.0], [-1.0, -1.0]])
    v = np.array([[1.0, -3.0, 2.0]])
    net = nn.Sequential(linear(w), nn.ReLU(), linear(v))
    x = np.array([[1.0, 2.0]])  # Wx = (−3, 2.5, −3): only unit 1 active
    np.testing.assert_allclose(A.deconvolution(net, x, 0), np.maximum(v, 0) @ w)
    np.testing.assert_allclose(A.guided_backprop(net, x, 0), np.zeros((1, 2)))  # active unit has v < 0
    np.testing.assert_allclose(A.input_gradient(net, x, 0), (v * [0, 1, 0]) @ w)


def test_deconvolution_matches_captum():
    pytest.importorskip("torch", reason="PyTorch and Captum are optional: the Captum cross-check is skipped")
    captum_attr = pytest.importorskip("captum.attr", reason="Captum is optional: the cross-check is skipped")
    import torch

    from test_deeplift_captum import lenet_pair, synced

    ours, theirs, shape = synced(lenet_pair)
    x, t = np.random.default_rng(4).normal(size=(3,) + shape), np.array([0, 9, 2])
    expected = captum_attr.Deconvolution(theirs).attribute(torch.from_numpy(x), target=torch.from_numpy(t))
    expected = expected.detach().numpy()
    assert np.abs(A.deconvolution(ours, x, t) - expected).max() <= 1e-6 * np.abs(expected).max()


def test_deconvolution_bad_target():
    with pytest.raises(ValueError, match="target"):
        A.deconvolution(relu_net(), X, 3)


# ---- the contract -----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_contract_on_a_residual_net(dtype):
    net = models.ResNetSmall(input_shape=(3, 16, 16), num_classes=4).to(dtype)
    x = np.random.default_rng(5).standard_normal((2, 3, 16, 16)).astype(dtype)
    check_contract(A.occlusion, net, x, [1, 3], x.shape, window=(3, 8, 8), stride=(1, 4, 4))
    check_contract(A.deconvolution, net, x, [1, 3], x.shape)


def test_contract_on_resnet18():
    net, x = resnet18_case()
    check_contract(A.occlusion, net, x, 2, x.shape, window=(3, 16, 16), stride=(1, 16, 16))
    check_contract(A.deconvolution, net, x, 2, x.shape)

"""Tests for attributions.layer_attribution: layer IG, layer DeepLIFT, layer conductance and
neuron conductance against Captum (to 1e-6 relative), and their identities: conductance summed
over a layer is the IG total (to the quadrature error), neuron conductance summed over a layer
every path crosses is IG, layer DeepLIFT sums to Δt.

Run one part with e.g. ``pytest tests/test_layer_attribution.py -k captum``.
"""

import numpy as np
import pytest

import attributions as A
from minicnn import models

from test_baselines_many import relu_net, smooth_net
from test_cam_variants import check_contract, resnet18_case

RNG = np.random.default_rng(0)
X = RNG.standard_normal((2, 2, 8, 8))
REF = RNG.standard_normal((2, 2, 8, 8))


def total(a):
    return a.reshape(len(a), -1).sum(axis=1)


def gap(net, x, ref, targets):
    rows = np.arange(len(x))
    return net(x).data[rows, targets] - net(ref).data[rows, targets]


# ---- identities -------------------------------------------------------------------------------
@pytest.mark.parametrize("layer", ["1", "4"])
def test_conductance_sums_to_the_ig_total(layer):
    net, t = smooth_net(), [0, 2]
    ig = total(A.integrated_gradients(net, X, t, REF, steps=64, method="gausslegendre"))
    errors = [np.abs(total(A.conductance(net, X, t, layer, REF, steps=s)) - ig).max() for s in (16, 64)]
    assert errors[1] <= 1e-2 * np.abs(ig).max()
    assert errors[1] < errors[0] / 2  # a first-order sum: the error shrinks with the steps


def test_neuron_conductance_over_a_layer_is_ig():
    net, t = smooth_net(1), [1, 0]
    layer_shape = (8,)  # "5": the Sigmoid after the first linear layer; every path crosses it
    summed = sum(A.neuron_conductance(net, X, t, "5", j, REF, steps=6, method="gausslegendre")
                 for j in range(layer_shape[0]))
    ig = A.integrated_gradients(net, X, t, REF, steps=6, method="gausslegendre")
    np.testing.assert_allclose(summed, ig, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("rule", ["rescale", "reveal_cancel"])
@pytest.mark.parametrize("layer", ["0", "1", "2", "5"])
def test_layer_deeplift_sums_to_delta(rule, layer):
    net, t = relu_net(2), [2, 1]
    c = A.layer_deeplift(net, X, t, layer, REF, rule=rule)
    np.testing.assert_allclose(total(c), gap(net, X, REF, t), rtol=1e-10)


def test_layer_ig_at_the_input_side_sums_to_delta():
    net, t = smooth_net(), [0, 1]
    lig = A.layer_integrated_gradients(net, X, t, "4", REF, steps=32, method="gausslegendre")
    np.testing.assert_allclose(total(lig), gap(net, X, REF, t), rtol=1e-8)


# ---- Captum -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def captum_pair():
    pytest.importorskip("torch", reason="PyTorch and Captum are optional: the Captum cross-checks are skipped")
    captum_attr = pytest.importorskip("captum.attr", reason="Captum is optional: the cross-checks are skipped")
    import torch

    from test_deeplift_captum import smooth_pair, synced

    ours, theirs, shape = synced(smooth_pair)
    rng = np.random.default_rng(4)
    return ours, theirs, captum_attr, torch, rng.normal(size=(3,) + shape), rng.normal(size=(3,) + shape)


def close(got, expected):
    expected = expected.detach().numpy()
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 1e-6 * np.abs(expected).max()


@pytest.mark.parametrize("layer", ["0", "2", "5", "8"])
def test_layer_methods_match_captum(captum_pair, layer):
    ours, theirs, ca, torch, x, ref = captum_pair
    t, module = np.array([0, 4, 2]), theirs.get_submodule(layer)
    T = torch.from_numpy
    for method in ("gausslegendre", "riemann_middle"):
        close(A.layer_integrated_gradients(ours, x, t, layer, ref, steps=5, method=method),
              ca.LayerIntegratedGradients(theirs, module).attribute(T(x), baselines=T(ref), target=T(t), n_steps=5,
                                                                     method=method))
        close(A.conductance(ours, x, t, layer, ref, steps=5, method=method),
              ca.LayerConductance(theirs, module).attribute(T(x), baselines=T(ref), target=T(t), n_steps=5,
                                                             method=method))
    close(A.conductance(ours, x, t, layer, ref, steps=5),  # conductance uses the nodes only: same for the trapezoid
          ca.LayerConductance(theirs, module).attribute(T(x), baselines=T(ref), target=T(t), n_steps=5,
                                                         method="riemann_trapezoid"))
    close(A.layer_deeplift(ours, x, t, layer, ref),
          ca.LayerDeepLift(theirs, module).attribute(T(x), baselines=T(ref), target=T(t)))


@pytest.mark.parametrize("layer, neuron", [("2", (3, 2, 1)), ("8", 5)])
def test_neuron_conductance_matches_captum(captum_pair, layer, neuron):
    ours, theirs, ca, torch, x, ref = captum_pair
    t, T = np.array([1, 0, 3]), torch.from_numpy
    nc = ca.NeuronConductance(theirs, theirs.get_submodule(layer))
    close(A.neuron_conductance(ours, x, t, layer, neuron, ref, steps=5, method="riemann_middle"),
          nc.attribute(T(x), neuron_selector=neuron, baselines=T(ref), target=T(t), n_steps=5, method="riemann_middle"))
    # riemann_trapezoid: Captum's weights sum to (n−1)/n, ours to 1 (attributions.quadrature)
    close(A.neuron_conductance(ours, x, t, layer, neuron, ref, steps=5) * 4 / 5,
          nc.attribute(T(x), neuron_selector=neuron, baselines=T(ref), target=T(t), n_steps=5))


# ---- bad arguments and the contract -----------------------------------------------------------
def test_bad_arguments():
    net = smooth_net()
    for method in (A.layer_integrated_gradients, A.layer_deeplift, A.conductance):
        with pytest.raises(ValueError, match="layer: .*no submodule named 'nope'"):
            method(net, X, 0, "nope")
    with pytest.raises(ValueError, match="rule: expected one of rescale, reveal_cancel"):
        A.layer_deeplift(net, X, 0, "1", rule="shapley")
    with pytest.raises(ValueError, match="method: expected one of"):
        A.layer_integrated_gradients(net, X, 0, "1", method="simpson")
    with pytest.raises(ValueError, match="steps"):
        A.conductance(net, X, 0, "1", steps=0)
    with pytest.raises(ValueError, match="neuron: expected a flat index in \\[0, 8\\)"):
        A.neuron_conductance(net, X, 0, "5", 8)
    with pytest.raises(ValueError, match="neuron: expected an int or a tuple of 3 indices"):
        A.neuron_conductance(net, X, 0, "1", (0, 9, 0))
    with pytest.raises(ValueError, match="attributions: expected a layer attribution"):
        A.layer_map(np.zeros((1, 8)), X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_contract_on_a_residual_net(dtype):
    net = models.ResNetSmall(input_shape=(3, 16, 16), num_classes=4).to(dtype)
    x = np.random.default_rng(5).standard_normal((2, 3, 16, 16)).astype(dtype)
    shape = A.gradcam.layer_activation(net, x, "layer1").shape
    for rule in ("rescale", "reveal_cancel"):
        check_contract(A.layer_deeplift, net, x, [1, 3], shape, layer="layer1", rule=rule)
    check_contract(A.layer_integrated_gradients, net, x, [1, 3], shape, layer="layer1", steps=3)
    check_contract(A.conductance, net, x, [1, 3], shape, layer="layer1", steps=3)
    check_contract(A.neuron_conductance, net, x, [1, 3], x.shape, layer="layer1", neuron=(0, 1, 1), steps=3)


def test_contract_on_resnet18_layer4():
    net, x = resnet18_case()
    shape = (1, 512, 1, 1)
    check_contract(A.layer_deeplift, net, x, 2, shape, layer="layer4")
    check_contract(A.layer_integrated_gradients, net, x, 2, shape, layer="layer4", steps=1, method="riemann_middle")

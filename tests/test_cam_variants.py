"""Tests for attributions.cam_variants: Grad-CAM++, XGrad-CAM, HiResCAM, LayerCAM, Score-CAM and
Eigen-CAM by hand (from the papers' equations), the GAP-head identity, class-agnosticism, and the
contract every method beyond the poster keeps (`check_contract`, used by the other new test files).

Run one part with e.g. ``pytest tests/test_cam_variants.py -k hand``.
"""

import numpy as np
import pytest

import attributions as A
from minicnn import models
from attributions.gradcam import upsample_maps
from attributions.inputs import forward_scores

from test_gradcam import HAND_X, gap_net, hand_net

# docs/methods.md case 7 at layer "0" (the conv output, before its ReLU), target 0:
A0 = np.array([[-5.0, 4.0], [31.0, 40.0]])
A1 = np.array([[-30.0, -21.0], [6.0, 15.0]])
# ∂S/∂A = head weight · [A > 0]: channel 0 weights +1, channel 1 weights (+1, −1, −1, −1)
G0 = np.array([[0.0, 1.0], [1.0, 1.0]])
G1 = np.array([[0.0, 0.0], [-1.0, -1.0]])


def cam_maps(method, **kw):
    return method(hand_net(), HAND_X, 0, layer="0", upsample=False, **kw)[0]


# ---- known answers ----------------------------------------------------------------------------
def test_grad_cam_plus_plus_by_hand():
    # Chattopadhyay et al. 2018, eq. 19: a = g²/(2g² + Σ_ab A_ab g³); channel 0: ΣA = 70, g = 1 → 1/72,
    # w_0 = 3/72; channel 1: ReLU(g) = 0 → w_1 = 0 (its a = 1/(2 + 30) does not matter).
    np.testing.assert_allclose(cam_maps(A.grad_cam_plus_plus, relu=False), A0 / 24, rtol=1e-14)
    np.testing.assert_allclose(A.cam_variants.grad_cam_plus_plus_weights(np.stack([A0, A1])[None],
                                                                          np.stack([G0, G1])[None]), [[1 / 24, 0]])


def test_xgrad_cam_by_hand():
    # Fu et al. 2020, eq. 11: w_k = Σ_ij A_ij g_ij / Σ_ab A_ab: w_0 = 75/70, w_1 = (−6 − 15)/(−30) = 0.7
    np.testing.assert_allclose(cam_maps(A.xgrad_cam, relu=False), 75 / 70 * A0 + 0.7 * A1, rtol=1e-14)


def test_hires_cam_and_layer_cam_by_hand():
    # Draelos & Carin 2020: Σ_k g^k ⊙ A^k; Jiang et al. 2021: Σ_k ReLU(g^k) ⊙ A^k
    np.testing.assert_allclose(cam_maps(A.hires_cam, relu=False), G0 * A0 + G1 * A1, rtol=1e-14)
    np.testing.assert_allclose(cam_maps(A.layer_cam, relu=False), G0 * A0, rtol=1e-14)
    np.testing.assert_array_equal(cam_maps(A.hires_cam), np.maximum(G0 * A0 + G1 * A1, 0))


def test_eigen_cam_by_hand():
    # Muhammad & Yeasin 2020 / pytorch-grad-cam get_2d_projection: rows = positions, columns = channels,
    # centred per channel, projected on the top eigenvector of MᵀM (= the first right-singular vector)
    m = np.stack([A0.ravel(), A1.ravel()], axis=1)
    centred = m - m.mean(axis=0)
    v = np.linalg.eigh(centred.T @ centred)[1][:, -1]
    expected = centred @ v
    expected *= np.sign(expected @ centred.sum(axis=1))  # our sign convention
    np.testing.assert_allclose(cam_maps(A.eigen_cam, relu=False).ravel(), expected, rtol=1e-12)


def test_eigen_cam_is_class_agnostic():
    x = np.random.default_rng(0).standard_normal((2, 2, 8, 8))
    net = gap_net()
    np.testing.assert_array_equal(A.eigen_cam(net, x, 0), A.eigen_cam(net, x, 2))
    np.testing.assert_array_equal(A.eigen_cam(net, x, 0), A.eigen_cam(net, x))


def test_score_cam_by_hand():
    # Wang et al. 2020, eqs. 4-6: H^k = min-max scaled Up(A^k), w = softmax_k S^c(x ⊙ H^k)
    net = hand_net()
    ups = upsample_maps(np.stack([A0, A1]), (4, 4))
    masks = [(u - u.min()) / (u.max() - u.min()) for u in ups]
    scores = np.array([forward_scores(net, HAND_X * h, np.array([0]))[0] for h in masks])
    w = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
    np.testing.assert_allclose(cam_maps(A.score_cam, relu=False), w[0] * A0 + w[1] * A1, rtol=1e-12)
    batched = A.score_cam(net, np.repeat(HAND_X, 3, axis=0), 0, layer="0", upsample=False, relu=False, batch_size=4)
    np.testing.assert_allclose(batched, np.repeat([w[0] * A0 + w[1] * A1], 3, axis=0), rtol=1e-12)


# ---- identities -------------------------------------------------------------------------------
def test_hires_cam_is_grad_cam_and_cam_with_a_gap_head():
    """GAP + one linear layer after A: ∂S/∂A^k_ij = w_ck/(h·w), so HiResCAM = Grad-CAM (exactly)
    = CAM Σ_k w_ck A^k (Zhou et al. 2016) divided by h·w."""
    net, x = gap_net(), np.random.default_rng(1).standard_normal((3, 2, 8, 8))
    hires = A.hires_cam(net, x, [0, 1, 2], layer="3", relu=False, upsample=False)
    grad = A.grad_cam(net, x, [0, 1, 2], layer="3", relu=False, upsample=False)
    np.testing.assert_allclose(hires, grad, rtol=1e-12, atol=1e-15)
    act = A.gradcam.layer_activation(net, x, "3")
    cam = np.einsum("nk,nkij->nij", net[6].weight.data[[0, 1, 2]], act) / (act.shape[2] * act.shape[3])
    np.testing.assert_allclose(hires, cam, rtol=1e-12, atol=1e-15)


def test_cams_upsample_like_grad_cam():
    net, x = gap_net(), np.random.default_rng(2).standard_normal((2, 2, 8, 8))
    for method in (A.grad_cam_plus_plus, A.xgrad_cam, A.hires_cam, A.layer_cam, A.score_cam, A.eigen_cam):
        small = method(net, x, 1, upsample=False)
        np.testing.assert_allclose(method(net, x, 1), upsample_maps(small, (8, 8)), rtol=1e-13, err_msg=method.__name__)


def test_counterfactual_free_variants_have_no_negative_maps():
    net, x = gap_net(), np.random.default_rng(4).standard_normal((2, 2, 8, 8))
    for method in (A.grad_cam_plus_plus, A.xgrad_cam, A.hires_cam, A.layer_cam, A.score_cam, A.eigen_cam):
        assert (method(net, x, 0) >= 0).all()


# ---- bad arguments ----------------------------------------------------------------------------
@pytest.mark.parametrize("method", [A.grad_cam_plus_plus, A.xgrad_cam, A.hires_cam, A.layer_cam, A.score_cam, A.eigen_cam])
def test_bad_arguments(method):
    net, x = gap_net(), np.zeros((1, 2, 8, 8))
    with pytest.raises(ValueError, match="layer: .*no submodule named 'nope'"):
        method(net, x, 0, layer="nope")
    with pytest.raises(ValueError, match="layer: .*not \\(N, C, H, W\\)"):
        method(net, x, 0, layer="6")
    with pytest.raises(TypeError, match="relu"):
        method(net, x, 0, relu="yes")
    with pytest.raises(TypeError, match="upsample"):
        method(net, x, 0, upsample=1)
    if method is A.score_cam:
        with pytest.raises(ValueError, match="batch_size"):
            method(net, x, 0, batch_size=0)


# ---- the contract of every method beyond the poster ------------------------------------------------
def check_contract(explain, model, x, target, expected_shape, **kw):
    """Mode and .grad as found, finite output of the model's dtype and the expected shape."""
    model.train()
    flags = [m.training for m in model.modules()]
    first = next(iter(model.parameters()))
    first.grad = np.full_like(first.data, 7.0)
    others = [p.grad for p in list(model.parameters())[1:]]
    a = explain(model, x, target, **kw)
    assert [m.training for m in model.modules()] == flags
    np.testing.assert_array_equal(first.grad, 7.0)
    assert all(p.grad is q for p, q in zip(list(model.parameters())[1:], others))
    assert a.shape == expected_shape and a.dtype == first.dtype and np.isfinite(a).all(), (a.shape, a.dtype)
    return a


CAMS = [A.grad_cam_plus_plus, A.xgrad_cam, A.hires_cam, A.layer_cam, A.score_cam, A.eigen_cam]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_contract_on_a_residual_net(dtype):
    net = models.ResNetSmall(input_shape=(3, 16, 16), num_classes=4).to(dtype)
    x = np.random.default_rng(5).standard_normal((2, 3, 16, 16)).astype(dtype)
    for method in CAMS:
        check_contract(method, net, x, [1, 3], (2, 16, 16))


def resnet18_case():
    """torchvision's ResNet-18 layout at a small input (layer4 is 1 × 1 there): slow in a NumPy
    engine (seconds a pass), so each new file runs a few of its methods on it."""
    return models.resnet18(num_classes=5), np.random.default_rng(6).standard_normal((1, 3, 32, 32))


def test_contract_on_resnet18_layer4():
    # The gradient CAMs share one base (one representative); Score-CAM would take 512 passes here,
    # so it is checked on the residual net above.
    net, x = resnet18_case()
    for method in (A.hires_cam, A.eigen_cam):
        check_contract(method, net, x, 2, (1, 32, 32), layer="layer4")


# ---- the exercise checker (tutorial 07, Exercise 7.3) --------------------------------------------
def test_exercise_reference_is_the_library_and_rejects_unclipped_gradients():
    from attributions import exercises
    from attributions.cam_variants import grad_cam_plus_plus_weights
    from minicnn.exercises import ExerciseError

    for case in exercises._gradcam_pp_cases():
        np.testing.assert_allclose(exercises.reference_gradcam_pp_weights(*case.args),
                                   grad_cam_plus_plus_weights(*case.args), rtol=1e-13, atol=1e-15)
    assert exercises.check_gradcam_pp_weights(grad_cam_plus_plus_weights)
    unclipped = lambda a, g: (g**2 / (2 * g**2 + a.sum(axis=(2, 3), keepdims=True) * g**3 + 1e-300) * g).sum(axis=(2, 3))  # noqa: E731
    with pytest.raises(ExerciseError, match="negative gradients"):
        exercises.check_gradcam_pp_weights(unclipped)

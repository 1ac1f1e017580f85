"""LRP (attributions/lrp_rules/): the identities, conservation, the canonizer, composites computed
by hand from zennit's definitions, bad input, mode/.grad/dtype, residual nets and the zoo.
Captum cross-checks: tests/test_lrp_captum.py."""

import numpy as np
import pytest

import attributions as A
import minicnn as mc
import minicnn.functional as F
from minicnn import models, nn


def relu_cnn(bias=True, seed=0):
    """conv-ReLU-maxpool ×2, a ReLU MLP head: every op LRP-0 ≡ gradient × input must get right."""
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, bias=bias, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1, bias=bias, rng=rng), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(6 * 2 * 2, 8, bias=bias, rng=rng), nn.ReLU(), nn.Linear(8, 3, bias=bias, rng=rng),
    ).double()


def zero_biases(model):
    for name, p in model.named_parameters():
        if name.endswith("bias") and not name.split(".")[-2].startswith("bn") and p.ndim == 1:
            p.data[...] = 0.0
    return model


X = np.random.default_rng(1).normal(size=(4, 2, 8, 8))
TARGETS = np.array([0, 1, 2, 1])


# ---- identities -------------------------------------------------------------------------------
@pytest.mark.parametrize("build", [lambda: relu_cnn(), lambda: models.LeNet((2, 16, 16), 3).double(),
                                   lambda: models.ResNetSmall((2, 8, 8), 3, width=4).double()],
                         ids=["cnn", "lenet", "resnet_small"])
def test_lrp_zero_is_gradient_times_input(build):
    """Ancona et al. (ICLR 2018), Prop. 1: on a ReLU network (max-pooling, biases, batch norm in
    eval, residual additions) ε-LRP with ε = 0 is exactly gradient × input."""
    model = build()
    x = np.random.default_rng(2).normal(size=(3, 2) + ((16, 16) if isinstance(model, models.LeNet) else (8, 8)))
    for m in model.modules():  # non-trivial BN statistics, so the canonizer has work to do
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean[...] = np.random.default_rng(3).normal(size=m.running_mean.shape)
            m.running_var[...] = np.random.default_rng(4).uniform(0.5, 2, m.running_var.shape)
            m.weight.data[...] = np.random.default_rng(5).normal(size=m.weight.shape)
    expected = A.gradient_x_input(model, x, [0, 1, 2])
    got = A.lrp(model, x, [0, 1, 2], rule="epsilon", epsilon=0.0)
    assert np.abs(got - expected).max() <= 1e-10 * np.abs(expected).max()


@pytest.mark.parametrize("kwargs", [{"rule": "epsilon", "epsilon": 0.0}, {"rule": "zplus", "stabilizer": 0.0, "epsilon": 0.0}])
def test_conservation_without_biases(kwargs):
    """Σ_i R_i = t for LRP-0 on a bias-free ReLU net (every layer conserves); z⁺ too, where every
    output has a positive contribution."""
    model = relu_cnn(bias=False)
    x = np.abs(X) if kwargs["rule"] == "zplus" else X
    relevance, delta = A.lrp(model, x, TARGETS, return_delta=True, **kwargs)
    logits = model(x).data[np.arange(4), TARGETS]
    np.testing.assert_allclose(relevance.reshape(4, -1).sum(axis=1), logits, rtol=1e-10, atol=1e-13)
    assert np.abs(delta).max() <= 1e-10 * np.abs(logits).max()


def test_delta_reports_what_biases_and_epsilon_absorb():
    model = relu_cnn(bias=True)
    relevance, delta = A.lrp(model, X, TARGETS, epsilon=0.5, return_delta=True)
    logits = model(X).data[np.arange(4), TARGETS]
    np.testing.assert_allclose(delta, relevance.reshape(4, -1).sum(axis=1) - logits, rtol=1e-12)
    assert np.abs(delta).min() > 1e-6


def test_epsilon_stabiliser_keeps_the_sign():
    """One dense layer: R_j = a_j w_j t / (z + ε·sign z) — for z < 0 the denominator moves away
    from 0 (|z| + ε), it does not cross it."""
    model = nn.Sequential(nn.Linear(2, 1, bias=False)).double()
    model[0].weight.data[...] = [[1.0, -3.0]]
    x = np.array([[1.0, 1.0]])  # z = −2
    got = A.lrp(model, x, 0, epsilon=0.5)
    np.testing.assert_allclose(got, [[1.0 * -2 / -2.5, -3.0 * -2 / -2.5]], rtol=1e-14)
    zero = A.lrp(model, np.array([[3.0, 1.0]]), 0, epsilon=0.0)  # z = 0: LRP-0's 0/0 is 0
    np.testing.assert_array_equal(zero, [[0.0, 0.0]])


def test_max_pool_is_winner_take_all():
    model = nn.Sequential(nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1, 1, bias=False)).double()
    model[2].weight.data[...] = 2.0
    x = np.array([[[[1.0, 4.0], [3.0, -1.0]]]])
    np.testing.assert_allclose(A.lrp(model, x, 0, epsilon=0.0)[0, 0], [[0.0, 8.0], [0.0, 0.0]], rtol=1e-15)


def test_residual_addition_splits_by_contribution():
    """Add (ε rule): R_a = a·R/(a + b), R_b = b·R/(a + b)."""
    class Skip(nn.Module):
        def forward(self, x):
            return F.flatten(x + 3.0 * x, 1).sum(axis=1, keepdims=True)
    x = np.array([[2.0]])
    np.testing.assert_allclose(A.lrp(Skip(), x, 0, epsilon=0.0), [[8.0]], rtol=1e-15)  # 2 + 6 both back to x


# ---- the canonizer ----------------------------------------------------------------------------
@pytest.mark.parametrize("rule", ["gamma", "alpha_beta", "zplus", "epsilon"])
def test_batch_norm_is_folded_into_the_convolution(rule):
    """conv → BN (eval) gives the relevance of the single conv with W′ = scale·W, b′ = scale·b + shift
    (scale = γ/√(σ² + ε_BN), shift = β − scale·μ); scale has negative entries, so folding matters for γ, αβ, z⁺."""
    rng = np.random.default_rng(6)
    conv, bn = nn.Conv2d(2, 3, 3, padding=1, rng=rng), nn.BatchNorm2d(3)
    head = [nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 2, rng=rng)]
    bn.weight.data[...] = [1.5, -0.7, 0.3]
    bn.bias.data[...] = [0.1, -0.2, 0.4]
    bn.running_mean[...] = [0.2, -0.1, 0.3]
    bn.running_var[...] = [0.5, 2.0, 1.2]
    with_bn = nn.Sequential(conv, bn, *head).double()
    scale = bn.weight.data / np.sqrt(bn.running_var + bn.eps)
    folded_conv = nn.Conv2d(2, 3, 3, padding=1).double()
    folded_conv.weight.data[...] = conv.weight.data * scale[:, None, None, None]
    folded_conv.bias.data[...] = conv.bias.data * scale + bn.bias.data - scale * bn.running_mean
    folded = nn.Sequential(folded_conv, *head).double()
    x = rng.normal(size=(2, 2, 4, 4))
    kwargs = {"rule": rule, "alpha": 2.0, "beta": 1.0} if rule == "alpha_beta" else {"rule": rule}
    np.testing.assert_allclose(A.lrp(with_bn, x, [0, 1], **kwargs), A.lrp(folded, x, [0, 1], **kwargs),
                               rtol=1e-10, atol=1e-14)


# ---- composites, by hand from zennit's definitions -----------------------------------------------
# The net: x (1×3×3) → conv1 (2 channels, 2×2) → ReLU → conv2 (1×1, 2 → 2) → ReLU → flatten (8) → dense (8 → 2).
# Each conv is written as its unrolled matrix M (outputs × inputs), so every rule below is the
# textbook formula on a matrix: z_k = Σ_j a_j M_kj + b_k.
def composite_net():
    rng = np.random.default_rng(7)
    model = nn.Sequential(nn.Conv2d(1, 2, 2), nn.ReLU(), nn.Conv2d(2, 2, 1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(8, 2)).double()
    model[0].weight.data[...] = rng.normal(size=(2, 1, 2, 2))
    model[0].bias.data[...] = [0.1, -0.2]
    model[2].weight.data[...] = np.abs(rng.normal(size=(2, 2, 1, 1))) * [[[[1.0]], [[-0.2]]], [[[-0.3]], [[1.0]]]]
    model[2].bias.data[...] = [0.2, -0.05]
    model[5].weight.data[...] = rng.normal(size=(2, 8))
    model[5].bias.data[...] = [0.3, -0.1]
    return model


def unrolled(model):
    w1, b1 = model[0].weight.data, model[0].bias.data
    m1 = np.zeros((8, 9))  # output (c, i, j) ← input (p, q) of the 3×3 image
    for c in range(2):
        for i in range(2):
            for j in range(2):
                for di in range(2):
                    for dj in range(2):
                        m1[c * 4 + i * 2 + j, (i + di) * 3 + (j + dj)] = w1[c, 0, di, dj]
    w2 = model[2].weight.data[:, :, 0, 0]
    m2 = np.kron(w2, np.eye(4))   # a 1×1 conv mixes channels at each of the 4 positions
    return [(m1, np.repeat(b1, 4)), (m2, np.repeat(model[2].bias.data, 4)), (model[5].weight.data, model[5].bias.data)]


def stab(z, e=1e-6):
    return z + e * np.where(z >= 0, 1, -1)   # zennit.core.stabilize: sign(0) = +1


def hand_epsilon(a, m, b, r, e=1e-6):       # zennit Epsilon: R_j = a_j Σ_k M_kj R_k / stab(z_k)
    return a * (m.T @ (r / stab(m @ a + b, e)))


def hand_flat(a, m, b, r):                   # zennit Flat: a = 1, M = 1 (bias zeroed) where M ≠ 0
    ones = (m != 0).astype(float)
    return ones.T @ (r / stab(ones @ np.ones_like(a)))


def hand_zbox(a, m, b, r, low, high):        # zennit ZBox: (aM + b) − (lM⁺ + b⁺) − (hM⁻ + b⁻), bias cancels
    mp, mn = np.maximum(m, 0), np.minimum(m, 0)
    s = r / stab(m @ a - mp @ low - mn @ high)
    return a * (m.T @ s) - low * (mp.T @ s) - high * (mn.T @ s)


def hand_gamma(a, m, b, r, g=0.25):          # Montavon 2019 Eq. (4): M + γM⁺, b + γb⁺ (zennit: = for a ≥ 0, z > 0)
    mg, bg = m + g * np.maximum(m, 0), b + g * np.maximum(b, 0)
    return a * (mg.T @ (r / stab(mg @ a + bg)))


def hand_alpha_beta(a, m, b, r, alpha, beta):  # zennit AlphaBeta: (aM)⁺ = a⁺M⁺ + a⁻M⁻, with b⁺ / b⁻
    ap, an, mp, mn = np.maximum(a, 0), np.minimum(a, 0), np.maximum(m, 0), np.minimum(m, 0)
    sp = r / stab(mp @ ap + mn @ an + np.maximum(b, 0))
    sn = r / stab(mn @ ap + mp @ an + np.minimum(b, 0))
    return alpha * (ap * (mp.T @ sp) + an * (mn.T @ sp)) - beta * (ap * (mn.T @ sn) + an * (mp.T @ sn))


def hand_lrp(model, x, target, first, conv, dense):
    layers = unrolled(model)
    a0 = x.reshape(-1)
    a1 = np.maximum(layers[0][0] @ a0 + layers[0][1], 0)
    a2 = np.maximum(layers[1][0] @ a1 + layers[1][1], 0)
    assert (layers[1][0] @ a1 + layers[1][1] > 0).any()
    z3 = layers[2][0] @ a2 + layers[2][1]
    r3 = np.zeros(2)
    r3[target] = z3[target]
    r2 = dense(a2, *layers[2], r3)
    r1 = conv(a1, *layers[1], r2)
    return first(a0, *layers[0], r1).reshape(x.shape)


X_HAND = np.array([[[[0.5, -1.0, 2.0], [1.5, 0.3, -0.7], [0.2, 1.1, -0.4]]]])
LOW, HIGH = -2.0 * np.ones(9), 3.0 * np.ones(9)


@pytest.mark.parametrize("name, first, conv", [
    ("epsilon_plus_flat", hand_flat, lambda a, m, b, r: hand_alpha_beta(a, m, b, r, 1.0, 0.0)),
    ("epsilon_gamma_box", lambda a, m, b, r: hand_zbox(a, m, b, r, LOW, HIGH), hand_gamma),
    ("epsilon_alpha2_beta1", lambda a, m, b, r: hand_alpha_beta(a, m, b, r, 2.0, 1.0),
     lambda a, m, b, r: hand_alpha_beta(a, m, b, r, 2.0, 1.0)),
    ("epsilon_plus", lambda a, m, b, r: hand_alpha_beta(a, m, b, r, 1.0, 0.0),
     lambda a, m, b, r: hand_alpha_beta(a, m, b, r, 1.0, 0.0)),
    ("epsilon_alpha2_beta1_flat", hand_flat, lambda a, m, b, r: hand_alpha_beta(a, m, b, r, 2.0, 1.0)),
])
@pytest.mark.parametrize("target", [0, 1])
def test_composites_by_hand(name, first, conv, target):
    """zennit/composites.py: epsilon_plus_flat = Flat first, ZPlus (= α1β0 with b⁺) at convs, ε at
    dense; epsilon_gamma_box = ZBox at the first conv, Gamma at convs, ε at dense;
    epsilon_alpha2_beta1 = AlphaBeta(2, 1) at every conv (no special first layer), ε at dense."""
    model = composite_net()
    expected = hand_lrp(model, X_HAND, target, first, conv, hand_epsilon)
    got = A.lrp(model, X_HAND, target, composite=name, low=-2.0, high=3.0)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("input_rule, first", [
    ("flat", hand_flat),
    ("wsquare", lambda a, m, b, r: (m**2).T @ (r / stab((m**2) @ np.ones_like(a)))),  # Montavon 2017: bias-free
    ("zbox", lambda a, m, b, r: hand_zbox(a, m, b, r, LOW, HIGH)),
])
def test_input_rules_by_hand(input_rule, first):
    model = composite_net()
    expected = hand_lrp(model, X_HAND, 1, first, hand_epsilon, hand_epsilon)
    got = A.lrp(model, X_HAND, 1, input_rule=input_rule, low=-2.0, high=3.0)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_zplus_ignores_the_bias():
    model = composite_net()
    zplus = lambda a, m, b, r: hand_alpha_beta(a, m, 0 * b, r, 1.0, 0.0)  # noqa: E731
    expected = hand_lrp(model, X_HAND, 0, zplus, zplus, zplus)
    np.testing.assert_allclose(A.lrp(model, X_HAND, 0, rule="zplus"), expected, rtol=1e-12, atol=1e-14)


# ---- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    ({"rule": "lrp0"}, "rule: expected one of"),
    ({"composite": "epsilon_flat"}, "composite: expected"),
    ({"epsilon": -1e-3}, "epsilon: expected a number ≥ 0"),
    ({"epsilon": float("nan")}, "epsilon: expected"),
    ({"gamma": -0.1, "rule": "gamma"}, "gamma: expected a number ≥ 0"),
    ({"rule": "alpha_beta", "alpha": 2.0, "beta": 0.5}, "alpha: expected alpha − beta = 1"),
    ({"input_rule": "zbox"}, "low: the zbox rule needs"),
    ({"composite": "epsilon_gamma_box"}, "low: the zbox rule needs"),
    ({"input_rule": "zbox", "low": 1.0, "high": 0.0}, "low: expected low ≤ high"),
    ({"input_rule": "box"}, "input_rule: expected"),
    ({"composite": "epsilon_plus_flat", "input_rule": "flat"}, "input_rule: the composite"),
    ({"return_delta": 1}, "return_delta: expected True or False"),
])
def test_bad_arguments_name_the_argument(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        A.lrp(relu_cnn(), X, 0, **kwargs)


def test_an_op_without_a_rule_is_named():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    with pytest.raises(A.LrpError, match="no rule for the op Tanh"):
        A.lrp(model, np.ones((1, 3)), 0)


def test_bad_target_and_input():
    with pytest.raises(ValueError, match="target"):
        A.lrp(relu_cnn(), X, 7)
    with pytest.raises(ValueError, match="x:"):
        A.lrp(relu_cnn(), X[0, 0, 0], 0)


# ---- mode, .grad, dtypes ----------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [{}, {"composite": "epsilon_gamma_box", "low": -3, "high": 3}])
def test_leaves_mode_and_grad_as_found(kwargs):
    model = models.ResNetSmall((2, 8, 8), 3, width=4).double()
    model.train()
    model.layer1.eval()
    marker = np.full(model.fc.weight.shape, 7.0)
    model.fc.weight.grad = marker.copy()
    flags = [m.training for m in model.modules()]
    stats = model.bn1.running_mean.copy()
    A.lrp(model, X[:2], 1, **kwargs)
    assert [m.training for m in model.modules()] == flags
    np.testing.assert_array_equal(model.fc.weight.grad, marker)
    assert model.conv1.weight.grad is None
    np.testing.assert_array_equal(model.bn1.running_mean, stats)


@pytest.mark.parametrize("kwargs", [{}, {"rule": "gamma"}, {"rule": "alpha_beta", "alpha": 2, "beta": 1},
                                    {"composite": "epsilon_plus_flat"}])
def test_float32_and_float64(kwargs):
    model64 = relu_cnn()
    model32 = relu_cnn().to(np.float32)
    r64 = A.lrp(model64, X, TARGETS, **kwargs)
    r32 = A.lrp(model32, X, TARGETS, **kwargs)
    assert r64.dtype == np.float64 and r32.dtype == np.float32
    assert np.abs(r32 - r64).max() <= 1e-4 * np.abs(r64).max()


# ---- the zoo at small inputs ------------------------------------------------------------------
@pytest.mark.parametrize("name", ["resnet18", "vgg11"])
def test_zoo_conservation(name):
    """ε = 0 on the bias-free version (a fresh BN has shift 0): Σ_i R_i = t to rounding."""
    model = models.IMAGENET[name](num_classes=5)
    x = np.random.default_rng(8).normal(size=(2, 3, 32, 32))
    for pname, p in model.named_parameters():
        if pname.endswith("bias") and "bn" not in pname and "downsample.1" not in pname:
            p.data[...] = 0.0
    relevance, delta = A.lrp(model, x, [1, 4], epsilon=0.0, return_delta=True)
    logits = model(x).data[[0, 1], [1, 4]]
    assert np.abs(delta).max() <= 1e-10 * np.abs(logits).max()


# ---- the notebook-10 checkers ------------------------------------------------------------------
from attributions import exercises as E  # noqa: E402
from minicnn.exercises import ExerciseError  # noqa: E402


def test_epsilon_checker_accepts_the_library_and_rejects_z_plus_eps():
    def library(a, weight, bias, relevance, eps):   # A.lrp on the one-layer net with seed R
        layer = nn.Linear(weight.shape[1], weight.shape[0]).double()
        layer.weight.data[...], layer.bias.data[...] = weight, bias
        from attributions.lrp_rules.layers import weighted_layer
        from attributions.lrp_rules.rules import epsilon_rule
        out = layer(mc.Tensor(a, requires_grad=True))
        return epsilon_rule(weighted_layer(out.creator), relevance, eps)

    assert E.check_lrp_epsilon(library)

    def forgets_sign(a, weight, bias, relevance, eps):
        z = a @ weight.T + bias
        return a * ((relevance / (z + eps)) @ weight)

    with pytest.raises(ExerciseError, match="sign"):
        E.check_lrp_epsilon(forgets_sign)

    def nan_at_zero(a, weight, bias, relevance, eps):   # LRP-0 without the 0/0 := 0 convention
        z = a @ weight.T + bias
        return a * ((relevance / (z + eps * np.where(z >= 0, 1, -1))) @ weight)

    with pytest.raises(ExerciseError), np.errstate(invalid="ignore"):
        E.check_lrp_epsilon(nan_at_zero)


def test_zplus_checker_accepts_the_library_and_rejects_negative_weights():
    def library(a, weight, relevance):
        from attributions.lrp_rules.layers import weighted_layer
        from attributions.lrp_rules.rules import zplus_rule
        out = F.linear(mc.Tensor(a, requires_grad=True), mc.Tensor(weight))
        return zplus_rule(weighted_layer(out.creator), relevance, 0.0)

    assert E.check_lrp_zplus(library)

    def keeps_negative_weights(a, weight, relevance):
        return a * ((relevance / (a @ weight.T)) @ weight)

    with pytest.raises(ExerciseError, match="negative weight"):
        E.check_lrp_zplus(keeps_negative_weights)

"""DeepLIFT-RevealCancel against an independent implementation of the paper's equations.

`reveal_cancel_mlp` below is written from Shrikumar et al. 2017, §3.5 (and docs/methods.md,
DeepLIFT) for plain ReLU MLPs, one layer at a time, one input row at a time, without any library
code. The library works on the engine's graph of a stacked batch [x; x′]; the two must give the
same contributions to 1e-10.

The interesting state is a nonlinearity whose input has Δz⁺ = 0 (or Δz⁻ = 0) exactly while its
multiplier is still read: the linear rule's [Δx_i = 0] term reads m⁺ and m⁻ of every output, and
Δx_i = 0 happens after a ReLU whose input and reference are both inactive while its parts are not
(Δy⁺ = −Δy⁻ ≠ 0). There m⁺ must be the limit of Δy⁺/Δz⁺ as Δz⁺ → 0, ½g′(z′) + ½g′(z′ + Δz⁻).
Summation-to-delta holds for any finite value, so only a test like this one sees a wrong one.
"""

import numpy as np
import pytest

import attributions as A
import minicnn as mc
from minicnn import nn


def relu(z):
    return np.maximum(z, 0.0)


def relu_prime(z):
    return (z > 0).astype(np.float64)  # g′(0) = 0, the engine's convention at the kink


def reveal_cancel_mlp(weights, biases, x, x_ref, target):
    """RevealCancel contributions of one input row x against x_ref for t = logit `target` of
    z_L = W_L ReLU(… ReLU(W_1 x + b_1) …) + b_L (a ReLU after every layer but the last).

    Forward: Δz⁺_j = Σ_i [w_ji Δx_i > 0] w_ji Δx_i, Δz⁻_j likewise with < 0 (Δx_i the whole
    difference of input i); through the ReLU
        Δy⁺ = ½[g(z′+Δz⁺) − g(z′)] + ½[g(z′+Δz⁻+Δz⁺) − g(z′+Δz⁻)],  Δy⁻ symmetric,
    m⁺ = Δy⁺/Δz⁺ (at Δz⁺ = 0 its limit ½g′(z′) + ½g′(z′+Δz⁻)), m⁻ symmetric.
    Backward: the target's pair (m⁺, m⁻) = (1, 1); a ReLU multiplies the pair by (m⁺, m⁻); a
    linear layer gives input i the single multiplier
        [Δx_i>0] Σ_j (w⁺_ji m⁺_j + w⁻_ji m⁻_j) + [Δx_i<0] Σ_j (w⁻_ji m⁺_j + w⁺_ji m⁻_j)
        + [Δx_i=0] Σ_j w_ji (m⁺_j + m⁻_j)/2.
    Result: C_i = m_i Δx_i at the input.
    """
    activation, activation_ref = x, x_ref
    layers = []  # per layer: (W, Δ of its input, ReLU ratios (m⁺, m⁻) or None for the last layer)
    for depth, (w, b) in enumerate(zip(weights, biases)):
        delta_in = activation - activation_ref
        z, z_ref = w @ activation + b, w @ activation_ref + b
        products = w * delta_in[None, :]  # w_ji Δx_i
        dz_pos = np.where(products > 0, products, 0.0).sum(axis=1)
        dz_neg = np.where(products < 0, products, 0.0).sum(axis=1)
        if depth == len(weights) - 1:
            layers.append((w, delta_in, None))
            break
        dy_pos = 0.5 * (relu(z_ref + dz_pos) - relu(z_ref)) + 0.5 * (relu(z_ref + dz_neg + dz_pos) - relu(z_ref + dz_neg))
        dy_neg = 0.5 * (relu(z_ref + dz_neg) - relu(z_ref)) + 0.5 * (relu(z_ref + dz_pos + dz_neg) - relu(z_ref + dz_pos))
        ratio_pos = np.array([dy_pos[j] / dz_pos[j] if dz_pos[j] != 0 else
                              0.5 * relu_prime(z_ref[j]) + 0.5 * relu_prime(z_ref[j] + dz_neg[j])
                              for j in range(len(z))])
        ratio_neg = np.array([dy_neg[j] / dz_neg[j] if dz_neg[j] != 0 else
                              0.5 * relu_prime(z_ref[j]) + 0.5 * relu_prime(z_ref[j] + dz_pos[j])
                              for j in range(len(z))])
        layers.append((w, delta_in, (ratio_pos, ratio_neg)))
        activation, activation_ref = relu(z), relu(z_ref)

    m_pos = np.zeros(len(biases[-1]))
    m_pos[target] = 1.0
    m_neg = m_pos.copy()
    for w, delta_in, ratios in reversed(layers):
        if ratios is not None:  # through the ReLU after this linear layer
            m_pos, m_neg = m_pos * ratios[0], m_neg * ratios[1]
        w_pos, w_neg = np.maximum(w, 0.0), np.minimum(w, 0.0)
        m = np.empty(w.shape[1])
        for i in range(w.shape[1]):
            if delta_in[i] > 0:
                m[i] = w_pos[:, i] @ m_pos + w_neg[:, i] @ m_neg
            elif delta_in[i] < 0:
                m[i] = w_neg[:, i] @ m_pos + w_pos[:, i] @ m_neg
            else:
                m[i] = w[:, i] @ (m_pos + m_neg) / 2
        m_pos = m_neg = m
    return m_pos * (x - x_ref)


def mlp(weights, biases):
    """The ReLU MLP of `reveal_cancel_mlp` as a minicnn model."""
    layers = []
    for w, b in zip(weights, biases):
        linear = nn.Linear(w.shape[1], w.shape[0]).double()
        linear.weight.data[...] = w
        linear.bias.data[...] = b
        layers += [linear, nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def fallback_is_read(weights, biases, x, x_ref):
    """True when some unit has Δz⁺ = 0 or Δz⁻ = 0 and a Δx = 0 input of its layer reads it."""
    activation, activation_ref = x, x_ref
    for w, b in zip(weights[:-1], biases[:-1]):
        delta_in = activation - activation_ref
        products = w * delta_in[None, :]
        exact_zero = ~(products > 0).any(axis=1) | ~(products < 0).any(axis=1)
        read = (w[:, delta_in == 0] != 0).any(axis=1)
        if (exact_zero & read).any():
            return True
        activation, activation_ref = relu(w @ activation + b), relu(w @ activation_ref + b)
    return False


# ---- two nets built by hand so that the fallback decides the answer ----------------------------
# x = (1, −1), x′ = 0. Unit a = ReLU(x₁ + x₂ − ½) is inactive at x and at x′ but its parts are not
# (Δz⁺ = 1, Δz⁻ = −1, so Δy_a = 0 with Δy⁺ = ¼ = −Δy⁻); unit b = ReLU(x₁) has Δy_b = 1. The output
# unit j = ReLU(3a ∓ 2b ± 1) gets nothing positive (resp. negative) from its inputs: Δz⁺_j = 0
# (resp. Δz⁻_j = 0) exactly, and the linear rule reads that multiplier for a (Δy_a = 0).
# By hand: m⁺_j = ½g′(1) + ½g′(−1) = ½ (resp. m⁻_j = ½g′(−1) + ½g′(1) = ½), m_a = 3·(½ + ½)/2 = 3/2,
# m_b = ∓1, and C = (¼m_a ∓ 1, −¼m_a). The old fallback g′(z′_j) gave m_a = 9/4 (resp. 3/4).
HAND_NETS = {
    "Δz⁺ = 0": ([np.array([[1.0, 1.0], [1.0, 0.0]]), np.array([[3.0, -2.0]]), np.array([[1.0]])],
                [np.array([-0.5, 0.0]), np.array([1.0]), np.array([0.0])], (-0.625, -0.375)),
    "Δz⁻ = 0": ([np.array([[1.0, 1.0], [1.0, 0.0]]), np.array([[3.0, 2.0]]), np.array([[1.0]])],
                [np.array([-0.5, 0.0]), np.array([-1.0]), np.array([0.0])], (1.375, -0.375)),
}


@pytest.mark.parametrize("case", sorted(HAND_NETS))
def test_exact_zero_part_takes_the_limit_of_its_ratio(case):
    weights, biases, expected = HAND_NETS[case]
    x, x_ref = np.array([1.0, -1.0]), np.zeros(2)
    assert fallback_is_read(weights, biases, x, x_ref)
    np.testing.assert_allclose(reveal_cancel_mlp(weights, biases, x, x_ref, 0), expected, atol=1e-15)
    got, delta = A.deeplift(mlp(weights, biases), x[None], 0, baseline=x_ref, rule="reveal_cancel", return_delta=True)
    np.testing.assert_allclose(got[0], expected, atol=1e-12)
    assert abs(delta[0]) < 1e-12


def random_net(rng, sizes):
    weights = [rng.normal(size=(n_out, n_in)) / np.sqrt(n_in) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    biases = [rng.normal(scale=0.5, size=n_out) for n_out in sizes[1:]]
    return weights, biases


@pytest.mark.parametrize("sizes", [(6, 8, 5, 3), (6, 10, 8, 6, 3), (4, 6, 6, 6, 6, 2)])
def test_random_relu_mlps_match_the_paper_equations(sizes):
    rng = np.random.default_rng(sum(sizes))
    draws, with_fallback = 60, 0
    for _ in range(draws):
        weights, biases = random_net(rng, sizes)
        x = rng.normal(size=(4, sizes[0]))
        x_ref = rng.normal(size=sizes[0])
        x[0, :2] = x_ref[:2]  # inputs with Δx = 0 exactly, so the first layer's [Δx=0] term runs too
        target = int(rng.integers(sizes[-1]))
        got = A.deeplift(mlp(weights, biases), x, target, baseline=x_ref, rule="reveal_cancel")
        for row in range(len(x)):
            expected = reveal_cancel_mlp(weights, biases, x[row], x_ref, target)
            scale = max(1.0, np.abs(expected).max())
            np.testing.assert_allclose(got[row], expected, rtol=0, atol=1e-10 * scale)
            with_fallback += fallback_is_read(weights, biases, x[row], x_ref)
    # the draws must reach the state under test, else the comparison proves little about it
    assert with_fallback >= 5, with_fallback


def test_reference_implementation_sums_to_delta():
    # The test's own reference obeys summation-to-delta, checked against a plain forward pass.
    rng = np.random.default_rng(7)
    for _ in range(20):
        weights, biases = random_net(rng, (6, 8, 5, 3))
        x, x_ref = rng.normal(size=6), rng.normal(size=6)
        model = mlp(weights, biases)
        with mc.no_grad():
            out = model(np.stack([x, x_ref])).data
        assert reveal_cancel_mlp(weights, biases, x, x_ref, 1).sum() == pytest.approx(out[0, 1] - out[1, 1], abs=1e-12)

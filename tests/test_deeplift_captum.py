"""DeepLIFT-Rescale against Captum's `DeepLift` on the same networks (weights copied by state_dict).

Captum 0.9's max-pool rule disagrees with the exact rule whenever the reference activations
entering a max pool after a ReLU are non-zero (its result can even miss summation-to-delta).
So max-pool nets are compared on a zero baseline with zero conv biases, where every reference
activation is 0; `test_max_pool_rule_by_hand` checks our rule independently where they differ,
and tests/test_deeplift.py holds it to summation-to-delta everywhere.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch not installed: Captum cross-checks skipped")
captum_attr = pytest.importorskip("captum.attr", reason="captum not installed: Captum cross-checks skipped")

import attributions as A  # noqa: E402
from minicnn import nn  # noqa: E402

tnn = torch.nn


def lenet_pair():
    ours = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )
    theirs = tnn.Sequential(
        tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
        tnn.Linear(16 * 5 * 5, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, 10),
    )
    return ours, theirs, (1, 28, 28)


def smooth_pair():
    """tanh / sigmoid / average pooling / batch norm (eval): no max pool, any baseline."""
    ours = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(8, 8, (3, 2), stride=(2, 1), padding=1), nn.Sigmoid(), nn.Flatten(),
        nn.Linear(8 * 4 * 9, 16), nn.ReLU(), nn.Linear(16, 5),
    )
    theirs = tnn.Sequential(
        tnn.Conv2d(3, 8, 3, padding=1), tnn.BatchNorm2d(8), tnn.Tanh(), tnn.AvgPool2d(2),
        tnn.Conv2d(8, 8, (3, 2), stride=(2, 1), padding=1), tnn.Sigmoid(), tnn.Flatten(),
        tnn.Linear(8 * 4 * 9, 16), tnn.ReLU(), tnn.Linear(16, 5),
    )
    return ours, theirs, (3, 16, 16)


def synced(pair, seed=0, zero_conv_bias=False):
    ours, theirs, shape = pair()
    torch.manual_seed(seed)
    theirs = theirs.double().eval()
    with torch.no_grad():
        for m in theirs.modules():
            if zero_conv_bias and isinstance(m, tnn.Conv2d):
                m.bias.zero_()
            if isinstance(m, tnn.BatchNorm2d):
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2.0)
                m.weight.normal_()
                m.bias.normal_()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs, shape


def captum_deeplift(theirs, x, baseline, target):
    attr = captum_attr.DeepLift(theirs)
    return attr.attribute(
        torch.from_numpy(x), baselines=torch.from_numpy(baseline), target=torch.from_numpy(target)
    ).detach().numpy()


@pytest.mark.parametrize("pair, baseline_kind", [(lenet_pair, "zero"), (smooth_pair, "zero"), (smooth_pair, "random")])
def test_deeplift_rescale_matches_captum(pair, baseline_kind):
    ours, theirs, shape = synced(pair, zero_conv_bias=pair is lenet_pair)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4,) + shape)
    baseline = np.zeros_like(x) if baseline_kind == "zero" else rng.normal(size=x.shape)
    target = np.array([0, 1, 2, 3])
    expected = captum_deeplift(theirs, x, baseline, target)
    got = A.deeplift(ours, x, target, baseline=baseline, rule="rescale")
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9 * np.abs(expected).max())


def test_multipliers_match_captum_without_inputs():
    ours, theirs, shape = synced(smooth_pair, seed=1)
    rng = np.random.default_rng(1)
    x, baseline = rng.normal(size=(2,) + shape), rng.normal(size=(2,) + shape)
    attr = captum_attr.DeepLift(theirs, multiply_by_inputs=False)
    expected = attr.attribute(torch.from_numpy(x), baselines=torch.from_numpy(baseline), target=3).detach().numpy()
    got = A.deeplift(ours, x, 3, baseline=baseline, multiply_by_inputs=False)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9 * np.abs(expected).max())


def test_max_pool_rule_by_hand():
    """conv → ReLU → max pool → linear with positive biases (non-zero reference activations),
    computed layer by layer in plain NumPy from the rules of docs/methods.md, DeepLIFT."""
    from minicnn.kernels import conv2d_backward_input, conv2d_forward

    rng = np.random.default_rng(5)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    model[0].bias.data[...] = [1.0, 0.5]
    x, ref = rng.normal(size=(1, 1, 8, 8)), rng.normal(size=(1, 1, 8, 8))
    w, b = model[0].weight.data, model[0].bias.data.reshape(1, -1, 1, 1)
    z, z_ref = conv2d_forward(x, w, (1, 1), (1, 1)) + b, conv2d_forward(ref, w, (1, 1), (1, 1)) + b
    a, a_ref = np.maximum(z, 0), np.maximum(z_ref, 0)
    g = model[4].weight.data[2].reshape(1, 2, 4, 4)  # multipliers of the pooled map for target 2
    contributions = np.zeros_like(a)  # C at the max-pool input
    for c in range(2):
        for i in range(4):
            for j in range(4):
                win, win_ref = a[0, c, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2], a_ref[0, c, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
                p, q = np.unravel_index(np.argmax(win), (2, 2))  # np.argmax: first maximum, like PyTorch
                p_ref, q_ref = np.unravel_index(np.argmax(win_ref), (2, 2))
                y, y_ref = win.max(), win_ref.max()
                top = max(y, y_ref)
                contributions[0, c, 2 * i + p, 2 * j + q] += g[0, c, i, j] * (top - y_ref)
                contributions[0, c, 2 * i + p_ref, 2 * j + q_ref] += g[0, c, i, j] * (y - top)
    m_pool = np.where(np.abs(a - a_ref) > 1e-10, contributions / np.where(a == a_ref, 1, a - a_ref), 0)
    m_relu = m_pool * (a - a_ref) / (z - z_ref)  # Rescale
    expected = conv2d_backward_input(m_relu, w, x.shape, (1, 1), (1, 1)) * (x - ref)
    got = A.deeplift(model, x, 2, baseline=ref)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-13)

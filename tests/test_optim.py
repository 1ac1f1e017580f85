"""minicnn.optim: SGD and Adam against their formulas written out by hand, against torch.optim
(when installed), zero_grad, argument checks, and a small regression that converges."""

import math

import numpy as np
import pytest

import minicnn as mc
import minicnn.functional as F
from minicnn import nn, optim


def make_param(values):
    return nn.Parameter(np.asarray(values, dtype=np.float64))


def set_grad(p, g):
    p.grad = np.asarray(g, dtype=np.float64)


# ---- hand formulas ---------------------------------------------------------------------------
def test_sgd_plain_step():
    p = make_param([1.0, -2.0])
    opt = optim.SGD([p], lr=0.1)
    set_grad(p, [0.5, 1.0])
    opt.step()
    np.testing.assert_allclose(p.data, [1.0 - 0.05, -2.0 - 0.1], rtol=1e-15)


def test_sgd_momentum_weight_decay_and_nesterov_by_hand():
    for nesterov in (False, True):
        theta = np.array([1.0, -2.0, 0.5])
        p = make_param(theta)
        lr, mu, wd = 0.1, 0.9, 0.01
        opt = optim.SGD([p], lr=lr, momentum=mu, weight_decay=wd, nesterov=nesterov)
        buf = None
        for g in ([0.3, -0.1, 0.2], [0.1, 0.4, -0.5], [-0.2, 0.0, 0.3]):
            set_grad(p, g)
            opt.step()
            d = np.array(g) + wd * theta
            buf = d.copy() if buf is None else mu * buf + d
            theta = theta - lr * (d + mu * buf if nesterov else buf)
            np.testing.assert_allclose(p.data, theta, rtol=1e-14)


def test_adam_by_hand():
    theta = np.array([0.5, -1.0, 2.0])
    p = make_param(theta)
    lr, b1, b2, eps, wd = 0.01, 0.8, 0.95, 1e-6, 0.1
    opt = optim.Adam([p], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
    m = v = np.zeros(3)
    for t, g in enumerate(([0.3, -0.1, 0.2], [0.1, 0.4, -0.5], [-0.2, 0.0, 0.3]), start=1):
        set_grad(p, g)
        opt.step()
        g = np.array(g) + wd * theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        # ε is added to √v̂ (not √v), so the two forms differ only by rounding.
        np.testing.assert_allclose(p.data, theta, rtol=1e-13)
    assert opt.state[p]["step"] == 3


def test_first_adam_step_moves_every_coordinate_by_lr():
    """With m̂ = g and v̂ = g² after one step, |Δθ| = lr·|g|/(|g| + ε) ≈ lr: Adam's scale invariance."""
    p = make_param([1.0, 1.0, 1.0])
    opt = optim.Adam([p], lr=0.05)
    set_grad(p, [1e-3, 10.0, -3.0])
    opt.step()
    np.testing.assert_allclose(p.data, [0.95, 0.95, 1.05], rtol=1e-6)


def test_params_without_grad_are_skipped_and_zero_grad_clears():
    a, b = make_param([1.0]), make_param([2.0])
    opt = optim.SGD([a, b], lr=1.0, momentum=0.5)
    set_grad(a, [1.0])
    opt.step()
    assert a.data[0] == 0.0 and b.data[0] == 2.0 and b not in opt.state
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_step_closure_returns_loss_and_runs_without_graph():
    p = make_param([3.0])

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    opt = optim.SGD([p], lr=0.25)
    loss = opt.step(closure)
    assert loss.item() == 9.0 and p.data[0] == 3.0 - 0.25 * 6.0
    assert mc.is_grad_enabled()


def test_param_groups_have_their_own_settings():
    a, b = make_param([1.0]), make_param([1.0])
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    set_grad(a, [1.0])
    set_grad(b, [1.0])
    opt.step()
    np.testing.assert_allclose([a.data[0], b.data[0]], [0.9, 0.5])
    assert "lr: 0.5" in repr(opt)


def test_updates_are_in_place_and_keep_float32():
    layer = nn.Linear(3, 2).float()
    weight_array = layer.weight.data
    opt = optim.Adam(layer.parameters(), lr=0.1)
    F.mse_loss(layer(np.ones((4, 3))), np.zeros((4, 2), dtype=np.float32)).backward()
    opt.step()
    assert layer.weight.data is weight_array and weight_array.dtype == np.float32
    assert opt.state[layer.weight]["exp_avg"].dtype == np.float32


@pytest.mark.parametrize(
    "make, argument",
    [
        (lambda p: optim.SGD(p, lr=-0.1), "lr"),
        (lambda p: optim.SGD(p, lr=0.1, momentum=-1), "momentum"),
        (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1e-4), "weight_decay"),
        (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "nesterov"),
        (lambda p: optim.Adam(p, lr=-1), "lr"),
        (lambda p: optim.Adam(p, betas=(0.9, 1.0)), "betas"),
        (lambda p: optim.Adam(p, betas=0.9), "betas"),
        (lambda p: optim.Adam(p, eps=-1e-8), "eps"),
        (lambda p: optim.Adam(p, weight_decay=-1), "weight_decay"),
        (lambda p: optim.SGD([], lr=0.1), "empty"),
        (lambda p: optim.SGD(p + p, lr=0.1), "more than once"),
    ],
)
def test_argument_checks(make, argument):
    with pytest.raises(ValueError, match=argument):
        make([make_param([1.0])])


def test_argument_checks_types():
    with pytest.raises(TypeError, match="list"):
        optim.SGD(make_param([1.0]), lr=0.1)
    with pytest.raises(TypeError, match="Tensors"):
        optim.SGD([np.zeros(2)], lr=0.1)


# ---- against torch.optim ---------------------------------------------------------------------
SETTINGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.01, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.9))),  # 1 − β₁ > ½: torch's other lerp branch
    ("Adam", dict(lr=0.01, amsgrad=True)),
]


@pytest.mark.parametrize("name, settings", SETTINGS)
def test_matches_torch_optim(name, settings):
    torch = pytest.importorskip("torch", reason="torch not installed; cross-checks skipped")
    rng = np.random.default_rng(0)
    init = [rng.standard_normal((3, 4)), rng.standard_normal(4)]
    ours = [make_param(v) for v in init]
    theirs = [torch.tensor(v, requires_grad=True) for v in init]
    opt = getattr(optim, name)(ours, **settings)
    torch_opt = getattr(torch.optim, name)(theirs, **settings)
    for _ in range(6):
        grads = [rng.standard_normal(v.shape) for v in init]
        for p, t, g in zip(ours, theirs, grads):
            set_grad(p, g)
            t.grad = torch.tensor(g)
        opt.step()
        torch_opt.step()
        for p, t in zip(ours, theirs):
            np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-12, atol=1e-15)


# ---- convergence -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make", [lambda p: optim.SGD(p, lr=0.1, momentum=0.9), lambda p: optim.Adam(p, lr=0.05)],
    ids=["SGD", "Adam"],
)
def test_tiny_regression_converges(make):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3))
    true_w, true_b = np.array([[1.5, -2.0, 0.5]]), np.array([0.3])
    y = x @ true_w.T + true_b
    model = nn.Linear(3, 1, rng=0)
    opt = make(model.parameters())
    for _ in range(300):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
    assert loss.item() < 1e-6
    np.testing.assert_allclose(model.weight.data, true_w, atol=1e-3)
    np.testing.assert_allclose(model.bias.data, true_b, atol=1e-3)


def test_tiny_classifier_learns_xor():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (128, 2))
    labels = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(np.int64)
    nn.init.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    opt = optim.Adam(model.parameters(), lr=0.03)
    for _ in range(400):
        opt.zero_grad()
        F.cross_entropy(model(x), labels).backward()
        opt.step()
    accuracy = (model(x).data.argmax(axis=1) == labels).mean()
    assert accuracy > 0.95
    assert math.isfinite(F.cross_entropy(model(x), labels).item())

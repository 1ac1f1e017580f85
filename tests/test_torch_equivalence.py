"""The same networks in PyTorch and minicnn agree: logits, loss, input and parameter gradients.

Weights are copied the way the docs tell users to:
    model.load_state_dict({k: v.detach().numpy() for k, v in torch_model.state_dict().items()})
so these tests also check that names and layouts of state_dict match PyTorch's.
Skipped when torch is not installed.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch not installed; cross-checks skipped")
tnn = torch.nn
tF = torch.nn.functional

import minicnn as mc  # noqa: E402
import minicnn.functional as F  # noqa: E402
from minicnn import nn  # noqa: E402

RTOL64 = 1e-9
RTOL32 = 1e-4


def rel_err(ours, theirs, floor=1e-6):
    """max |a − b| / max |b|: relative to the array's scale, so near-zero entries don't dominate.

    The scale is at least `floor`: a gradient that is exactly zero in exact arithmetic (a conv
    bias followed by train-mode BatchNorm) is rounding noise of ~1e-17 in both frameworks.
    """
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    scale = max(np.abs(theirs).max(), floor)
    return np.abs(ours - theirs).max() / scale


def copy_weights(model, torch_model):
    model.load_state_dict({k: v.detach().numpy() for k, v in torch_model.state_dict().items()})


def run_both(model, torch_model, x, labels, dtype=np.float64):
    """Forward + cross-entropy + backward in both; returns the four pairs to compare."""
    tx = torch.tensor(x, requires_grad=True)
    t_logits = torch_model(tx)
    t_loss = tF.cross_entropy(t_logits, torch.tensor(labels))
    t_loss.backward()

    mx = mc.Tensor(x, requires_grad=True)
    logits = model(mx)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    assert logits.dtype == dtype and mx.grad.dtype == dtype
    return {
        "logits": (logits.data, t_logits.detach().numpy()),
        "loss": (loss.data, t_loss.detach().numpy()),
        "input grad": (mx.grad, tx.grad.numpy()),
        **{
            f"grad of {name}": (p.grad, t_p.grad.numpy())
            for (name, p), (t_name, t_p) in zip(model.named_parameters(), torch_model.named_parameters())
            if name == t_name or pytest.fail(f"parameter names differ: {name} vs {t_name}")
        },
    }


def assert_all_close(results, rtol, floor=1e-6):
    bad = {k: rel_err(a, b, floor) for k, (a, b) in results.items() if rel_err(a, b, floor) > rtol}
    assert not bad, f"relative errors above {rtol}: {bad}"


# ---- the networks, built twice -----------------------------------------------------------------
def lenet(lib):
    return lib.Sequential(
        lib.Conv2d(1, 6, 5, padding=2), lib.ReLU(), lib.MaxPool2d(2),
        lib.Conv2d(6, 16, 5), lib.ReLU(), lib.MaxPool2d(2),
        lib.Flatten(),
        lib.Linear(400, 120), lib.ReLU(), lib.Linear(120, 84), lib.ReLU(), lib.Linear(84, 10),
    )


def smooth_net(lib):
    """tanh / sigmoid / avg-pool, strides, paddings, non-square kernels, adaptive pooling."""
    return lib.Sequential(
        lib.Conv2d(3, 8, (3, 5), stride=(2, 1), padding=(1, 2)), lib.Tanh(),
        lib.AvgPool2d(3, stride=2, padding=1),
        lib.Conv2d(8, 12, (2, 3), stride=2, padding=(0, 1)), lib.Sigmoid(),
        lib.MaxPool2d((2, 3), stride=(1, 2), padding=(1, 1)),
        lib.AdaptiveAvgPool2d((2, 3)),  # from 3×2: overlapping windows
        lib.Conv2d(12, 6, 1, bias=False), lib.Tanh(),
        lib.AdaptiveAvgPool2d(3),        # from 2×3: overlapping windows again
        lib.AvgPool2d((1, 3)),
        lib.AdaptiveAvgPool2d(3),        # from 3×1 (divisible rows)
        lib.AdaptiveAvgPool2d(1), lib.Flatten(), lib.Dropout(0.3),
        lib.Linear(6, 5),
    )


def residual_net(lib, relu):
    """A stem, one residual block written the PyTorch way, global pooling and a head."""

    class Block(lib.Module):
        def __init__(self, channels):
            super().__init__()
            self.conv1 = lib.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn1 = lib.BatchNorm2d(channels)
            self.conv2 = lib.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn2 = lib.BatchNorm2d(channels, momentum=0.2)

        def forward(self, x):
            out = relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return relu(out + x)

    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.stem = lib.Sequential(lib.Conv2d(2, 4, 3, padding=1), lib.BatchNorm2d(4), lib.ReLU())
            self.block = Block(4)
            self.pool = lib.AdaptiveAvgPool2d(1)
            self.fc = lib.Linear(4, 3)

        def forward(self, x):
            x = self.block(self.stem(x))
            return self.fc(self.pool(x).reshape(x.shape[0], -1))

    return Net()


def make_pair(builder, dtype=np.float64, seed=0):
    torch.manual_seed(seed)
    torch_model = builder(tnn) if builder is not residual_net else residual_net(tnn, torch.relu)
    model = builder(nn) if builder is not residual_net else residual_net(nn, F.relu)
    if dtype == np.float64:
        torch_model.double()
    else:
        torch_model.float()
        model.to(np.float32)
    # Randomise BatchNorm affine parameters and running stats so they are really tested.
    with torch.no_grad():
        for m in torch_model.modules():
            if isinstance(m, tnn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.5, 2.0)
    copy_weights(model, torch_model)
    return model, torch_model


# ---- tests ------------------------------------------------------------------------------------
def test_state_dict_keys_and_shapes_match_torch():
    for builder in (lenet, smooth_net, residual_net):
        model, torch_model = make_pair(builder)
        ours, theirs = model.state_dict(), torch_model.state_dict()
        assert list(ours) == list(theirs)
        for k in ours:
            assert ours[k].shape == tuple(theirs[k].shape), k
            np.testing.assert_array_equal(ours[k], theirs[k].numpy())


def test_repr_matches_torch_for_conv_and_linear():
    assert repr(nn.Conv2d(1, 6, 5, padding=2)) == repr(tnn.Conv2d(1, 6, 5, padding=2))
    assert repr(nn.Conv2d(3, 8, (3, 5), stride=2, bias=False)) == repr(tnn.Conv2d(3, 8, (3, 5), stride=2, bias=False))
    assert repr(nn.Linear(400, 120)) == repr(tnn.Linear(400, 120))
    assert repr(nn.Sequential(nn.ReLU(), nn.Tanh())) == repr(tnn.Sequential(tnn.ReLU(), tnn.Tanh()))


@pytest.mark.parametrize("batch", [1, 3])
def test_lenet_float64(batch):
    model, torch_model = make_pair(lenet)
    rng = np.random.default_rng(batch)
    x = rng.standard_normal((batch, 1, 28, 28))
    labels = rng.integers(0, 10, batch)
    assert_all_close(run_both(model, torch_model, x, labels), RTOL64)


@pytest.mark.parametrize("train", [False, True])
def test_smooth_net_float64(train):
    """train=True only changes Dropout; a fixed-seed mask would differ, so p is set to 0 there."""
    model, torch_model = make_pair(smooth_net)
    if train:
        model[14].p = torch_model[14].p = 0.0
    model.train(train)
    torch_model.train(train)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3, 17, 13))
    labels = rng.integers(0, 5, 4)
    assert_all_close(run_both(model, torch_model, x, labels), RTOL64)


@pytest.mark.parametrize("train", [True, False])
def test_residual_net_with_batchnorm_float64(train):
    model, torch_model = make_pair(residual_net)
    model.train(train)
    torch_model.train(train)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((5, 2, 8, 7))
    labels = rng.integers(0, 3, 5)
    assert_all_close(run_both(model, torch_model, x, labels), RTOL64)
    # Running statistics (updated only in train mode) and the batch counter agree afterwards.
    ours, theirs = model.state_dict(), torch_model.state_dict()
    for k in ours:
        if "running" in k:
            assert rel_err(ours[k], theirs[k].numpy()) < RTOL64, k
        if k.endswith("num_batches_tracked"):
            assert ours[k] == theirs[k].item() == (1 if train else 0), k


def test_residual_net_several_train_steps_then_eval():
    """Two train-mode batches (running stats accumulate), then an eval-mode comparison."""
    model, torch_model = make_pair(residual_net)
    rng = np.random.default_rng(8)
    for _ in range(2):
        x = rng.standard_normal((4, 2, 6, 6))
        with torch.no_grad():
            torch_model(torch.tensor(x))
        with mc.no_grad():
            model(x)
    for k, v in torch_model.state_dict().items():
        assert rel_err(model.state_dict()[k], v.numpy()) < RTOL64, k
    model.eval()
    torch_model.eval()
    x = rng.standard_normal((3, 2, 6, 6))
    assert_all_close(run_both(model, torch_model, x, [0, 1, 2]), RTOL64)


@pytest.mark.parametrize("train", [False, True])
@pytest.mark.parametrize("builder", [lenet, smooth_net, residual_net])
def test_float32_models_agree(builder, train):
    """float32 agrees to ~1e-4 (floor 1e-3: the exactly-zero conv-bias gradient before a
    train-mode BatchNorm is ~1e-8 of float32 noise in both frameworks)."""
    model, torch_model = make_pair(builder, dtype=np.float32)
    if builder is smooth_net:
        model[14].p = torch_model[14].p = 0.0
    model.train(train)
    torch_model.train(train)
    for p in model.parameters():
        assert p.dtype == np.float32
    rng = np.random.default_rng(3)
    shape = {lenet: (2, 1, 28, 28), smooth_net: (2, 3, 17, 13), residual_net: (2, 2, 8, 7)}[builder]
    x = rng.standard_normal(shape).astype(np.float32)
    n_classes = {lenet: 10, smooth_net: 5, residual_net: 3}[builder]
    labels = rng.integers(0, n_classes, 2)
    assert_all_close(run_both(model, torch_model, x, labels, dtype=np.float32), RTOL32, floor=1e-3)


def test_training_with_sgd_and_adam_follows_torch():
    """A few optimisation steps of LeNet on one batch stay in lock-step with torch.optim."""
    import minicnn.optim as optim

    for make_opt, make_torch_opt in (
        (lambda p: optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-3, nesterov=True),
         lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-3, nesterov=True)),
        (lambda p: optim.Adam(p, lr=1e-3, weight_decay=1e-2),
         lambda p: torch.optim.Adam(p, lr=1e-3, weight_decay=1e-2)),
    ):
        model, torch_model = make_pair(lenet)
        opt, torch_opt = make_opt(model.parameters()), make_torch_opt(torch_model.parameters())
        rng = np.random.default_rng(11)
        x = rng.standard_normal((4, 1, 28, 28))
        labels = rng.integers(0, 10, 4)
        for _ in range(3):
            opt.zero_grad()
            torch_opt.zero_grad()
            run_both(model, torch_model, x, labels)
            opt.step()
            torch_opt.step()
        for k, v in torch_model.state_dict().items():
            assert rel_err(model.state_dict()[k], v.numpy()) < 1e-8, k

"""minicnn.nn: Module bookkeeping, layers, state_dict, modes, dtypes, hooks, gradient checks.

Groups (run one with -k): registration, state_dict, dtype, modes, batchnorm, dropout, init,
gradcheck, errors, hooks, sequential.
"""

from collections import OrderedDict

import numpy as np
import pytest

import minicnn as mc
import minicnn.functional as F
from minicnn import nn


# ---- models used by several tests ----------------------------------------------------------------
class ResidualBlock(nn.Module):
    """conv → bn → relu → conv → bn, then relu(out + x): the PyTorch way."""

    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + x)


class SmallResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), ResidualBlock(4), nn.Dropout(0.2))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        x = self.pool(self.features(x))
        return self.head(F.flatten(x, 1))


def small_cnn(seed=0):
    nn.init.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2 * 3 * 3, 4))


# ---- registration ----------------------------------------------------------------------------
def test_registration_parameter_names_follow_pytorch():
    model = SmallResNet()
    assert [name for name, _ in model.named_parameters()] == [
        "features.0.weight", "features.0.bias",
        "features.1.conv1.weight", "features.1.bn1.weight", "features.1.bn1.bias",
        "features.1.conv2.weight", "features.1.bn2.weight", "features.1.bn2.bias",
        "head.weight", "head.bias",
    ]
    assert all(isinstance(p, nn.Parameter) and isinstance(p, mc.Tensor) and p.requires_grad
               for p in model.parameters())
    assert len(list(model.parameters())) == 10


def test_registration_module_names_children_and_buffers():
    model = SmallResNet()
    names = [name for name, _ in model.named_modules()]
    assert names == ["", "features", "features.0", "features.1", "features.1.conv1", "features.1.bn1",
                     "features.1.conv2", "features.1.bn2", "features.2", "pool", "head"]
    assert next(model.named_modules()) == ("", model)
    assert len(list(model.modules())) == len(names)
    assert [n for n, _ in model.named_children()] == ["features", "pool", "head"]
    assert list(model.children()) == [model.features, model.pool, model.head]
    assert [n for n, _ in model.named_buffers()] == [
        f"features.1.{bn}.{b}" for bn in ("bn1", "bn2") for b in ("running_mean", "running_var", "num_batches_tracked")
    ]
    assert model.features[1].bn1.num_batches_tracked.dtype == np.int64


def test_registration_reassignment_none_and_plain_attributes():
    layer = nn.Linear(3, 2)
    order = [n for n, _ in layer.named_parameters()]
    layer.weight = nn.Parameter(np.zeros((2, 3)))  # re-assigning keeps the position
    assert [n for n, _ in layer.named_parameters()] == order
    layer.bias = None
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    assert "bias" not in layer.state_dict()
    layer.scale = mc.Tensor([1.0])  # a plain Tensor is not a parameter
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    with pytest.raises(TypeError):
        layer.weight = np.zeros((2, 3))  # an array where a Parameter is registered
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2  # shared parameters are listed once


def test_registration_before_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)
            super().__init__()

    with pytest.raises(AttributeError, match="super"):
        Broken()


def test_nested_repr_shows_settings():
    text = repr(SmallResNet())
    assert text.startswith("SmallResNet(\n  (features): Sequential(\n    (0): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))")
    assert "(conv1): Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)" in text
    assert "(bn1): BatchNorm2d(4, eps=1e-05, momentum=0.1)" in text
    assert "(2): Dropout(p=0.2)" in text
    assert "(pool): AdaptiveAvgPool2d(output_size=1)" in text
    assert "(head): Linear(in_features=4, out_features=3, bias=True)" in text
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))"
    assert repr(nn.ReLU()) == "ReLU()"
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"


def test_call_accepts_plain_ndarray_and_zero_grad():
    model = small_cnn()
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6))
    out = model(x)
    assert isinstance(out, mc.Tensor) and out.shape == (2, 4) and out.dtype == np.float64
    np.testing.assert_array_equal(out.data, model(mc.Tensor(x)).data)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    model.requires_grad_(False)
    assert not model(x).requires_grad


# ---- state_dict ------------------------------------------------------------------------------
def test_state_dict_round_trip_restores_outputs():
    model = SmallResNet()
    x = np.random.default_rng(1).standard_normal((3, 1, 5, 5))
    model(x)  # train-mode forward: running stats and the batch counter move
    model.eval()
    expected = model(x).data
    state = model.state_dict()
    assert isinstance(state, OrderedDict)
    assert list(state) == [n for n, _ in model.named_parameters()][:2] + [
        "features.1.conv1.weight", "features.1.bn1.weight", "features.1.bn1.bias",
        "features.1.bn1.running_mean", "features.1.bn1.running_var", "features.1.bn1.num_batches_tracked",
        "features.1.conv2.weight", "features.1.bn2.weight", "features.1.bn2.bias",
        "features.1.bn2.running_mean", "features.1.bn2.running_var", "features.1.bn2.num_batches_tracked",
        "head.weight", "head.bias",
    ]
    assert state["features.1.bn1.num_batches_tracked"] == 1
    # The values are copies: changing them does not touch the model.
    state["head.bias"][...] = 99
    assert not np.any(model.head.bias.data == 99)
    state = model.state_dict()

    other = SmallResNet().eval()
    weight_array = other.head.weight.data
    result = other.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert other.head.weight.data is weight_array  # copied into the existing array
    np.testing.assert_array_equal(other(x).data, expected)
    for key, value in other.state_dict().items():
        np.testing.assert_array_equal(value, state[key])


def test_load_state_dict_accepts_lists_tensors_and_keeps_dtype():
    layer = nn.Linear(2, 1).to(np.float32)
    layer.load_state_dict({"weight": [[1.0, 2.0]], "bias": mc.Tensor([0.5])})
    assert layer.weight.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.data, [[1, 2]])
    np.testing.assert_array_equal(layer.bias.data, [0.5])


def test_strict_load_lists_every_problem():
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))
    state = model.state_dict()
    del state["0.bias"], state["1.running_var"]
    state["0.weight"] = np.zeros((3, 5))
    state["2.bias"] = np.zeros(7)
    state["3.weight"] = np.zeros(1)
    state["extra"] = np.zeros(1)
    original = state["2.weight"].copy()
    state["2.weight"] = state["2.weight"] + 1  # a key that would load fine on its own
    with pytest.raises(nn.StateDictError) as info:
        model.load_state_dict(state)
    error, message = info.value, str(info.value)
    assert isinstance(error, ValueError) and isinstance(error, KeyError)
    # One line: the counts and the first key of each kind; the full lists are on the exception.
    assert message == (
        "state_dict does not match Sequential: 2 missing keys (first: '0.bias'), "
        "2 unexpected keys (first: '3.weight'), "
        "2 shape mismatches (first: '0.weight' is (3, 5) in the state_dict, (3, 4) in the model)"
    )
    assert len(error.problems) == 3 and ", ".join(error.problems) in message
    assert error.missing_keys == ["0.bias", "1.running_var"]
    assert error.unexpected_keys == ["3.weight", "extra"]
    assert [k for k, _, _ in error.shape_mismatches] == ["0.weight", "2.bias"]
    # Nothing was loaded by the failed call (not even the keys that matched).
    assert not np.all(model[0].weight.data == 0)
    np.testing.assert_array_equal(model[2].weight.data, original)


def test_non_strict_load_skips_missing_and_unexpected_but_not_shape_errors():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    result = model.load_state_dict({"0.weight": np.eye(2), "9.weight": np.zeros(3)}, strict=False)
    assert result.missing_keys == ["0.bias", "1.weight", "1.bias"]
    assert result.unexpected_keys == ["9.weight"]
    np.testing.assert_array_equal(model[0].weight.data, np.eye(2))
    with pytest.raises(ValueError, match="0.weight"):
        model.load_state_dict({"0.weight": np.eye(3)}, strict=False)


# ---- dtype -----------------------------------------------------------------------------------
def test_dtype_to_float32_and_back():
    model = SmallResNet()
    assert model.to(np.float32) is model
    assert all(p.dtype == np.float32 for p in model.parameters())
    buffers = dict(model.named_buffers())
    assert buffers["features.1.bn1.running_mean"].dtype == np.float32
    assert buffers["features.1.bn1.num_batches_tracked"].dtype == np.int64
    x = np.random.default_rng(2).standard_normal((2, 1, 5, 5))
    out = model(x)  # a float64 ndarray is converted to the model's dtype
    assert out.dtype == np.float32
    out.sum().backward()
    assert all(p.grad.dtype == np.float32 for p in model.parameters())
    assert model(mc.Tensor(x.astype(np.float32))).dtype == np.float32
    model.double()
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert all(p.grad.dtype == np.float64 for p in model.parameters())
    assert model.float() is model and model.head.weight.dtype == np.float32
    with pytest.raises(TypeError, match="dtype"):
        model.to(np.int32)


def test_dtype_mismatch_between_input_tensor_and_layer_is_an_error():
    layer = nn.Linear(3, 2).float()
    with pytest.raises(TypeError, match="float64"):
        layer(mc.Tensor(np.ones((1, 3))))


def test_float32_init_is_the_rounded_float64_init():
    a = nn.Conv2d(2, 3, 3, rng=5)
    b = nn.Conv2d(2, 3, 3, rng=5, dtype=np.float32)
    assert b.weight.dtype == np.float32
    np.testing.assert_array_equal(b.weight.data, a.weight.data.astype(np.float32))


# ---- modes -----------------------------------------------------------------------------------
def test_modes_train_eval_recursive():
    model = SmallResNet()
    assert model.training and all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model.features.train(False)
    assert model.training and not model.features[1].bn2.training


# ---- batchnorm -------------------------------------------------------------------------------
def test_batchnorm_train_uses_batch_stats_and_updates_running_stats():
    bn = nn.BatchNorm2d(3, momentum=0.25)
    bn.weight.data[...] = [1.0, 2.0, 0.5]
    bn.bias.data[...] = [0.0, -1.0, 3.0]
    x = np.random.default_rng(3).standard_normal((4, 3, 2, 5)) * 2 + 1
    y = bn(x).data
    mean = x.mean(axis=(0, 2, 3))
    var = x.var(axis=(0, 2, 3))
    m = x.size // 3
    expected = (x - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-5)
    expected = expected * bn.weight.data[None, :, None, None] + bn.bias.data[None, :, None, None]
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bn.running_mean, 0.25 * mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, 0.75 + 0.25 * var * m / (m - 1), rtol=1e-12)
    assert bn.num_batches_tracked == 1
    bn(x)
    assert bn.num_batches_tracked == 2
    np.testing.assert_allclose(bn.running_mean, 0.25 * mean + 0.75 * 0.25 * mean, rtol=1e-12)


def test_batchnorm_eval_uses_running_stats_and_leaves_them():
    bn = nn.BatchNorm2d(2, eps=1e-3)
    bn.running_mean[...] = [0.5, -1.0]
    bn.running_var[...] = [4.0, 0.25]
    bn.eval()
    x = np.random.default_rng(4).standard_normal((3, 2, 2, 2))
    y = bn(x).data
    expected = (x - bn.running_mean[None, :, None, None]) / np.sqrt(bn.running_var[None, :, None, None] + 1e-3)
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    np.testing.assert_array_equal(bn.running_mean, [0.5, -1.0])
    assert bn.num_batches_tracked == 0


def test_batchnorm_defaults_and_argument_checks():
    bn = nn.BatchNorm2d(5)
    np.testing.assert_array_equal(bn.weight.data, np.ones(5))
    np.testing.assert_array_equal(bn.bias.data, np.zeros(5))
    np.testing.assert_array_equal(bn.running_mean, np.zeros(5))
    np.testing.assert_array_equal(bn.running_var, np.ones(5))
    assert (bn.eps, bn.momentum) == (1e-5, 0.1)
    with pytest.raises(ValueError, match="momentum"):
        nn.BatchNorm2d(3, momentum=1.5)
    with pytest.raises(ValueError, match="eps"):
        nn.BatchNorm2d(3, eps=0)


# ---- dropout ---------------------------------------------------------------------------------
def test_dropout_is_identity_in_eval():
    drop = nn.Dropout(0.5).eval()
    x = mc.Tensor(np.random.default_rng(0).standard_normal((10, 10)))
    np.testing.assert_array_equal(drop(x).data, x.data)


def test_dropout_scales_kept_values_in_train():
    p = 0.3
    drop = nn.Dropout(p, rng=0)
    x = np.ones((200, 500))
    y = drop(x).data
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / (1 - p))
    assert abs(kept.mean() - (1 - p)) < 0.01
    assert abs(y.mean() - 1) < 0.02  # E[y] = x
    # a seeded layer gives reproducible masks
    np.testing.assert_array_equal(nn.Dropout(p, rng=1)(x).data, nn.Dropout(p, rng=1)(x).data)
    with pytest.raises(ValueError, match="p"):
        nn.Dropout(1.2)


# ---- init ------------------------------------------------------------------------------------
def test_init_default_distributions_are_pytorch_bounds():
    layer = nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    assert np.abs(layer.weight.data).max() <= bound
    np.testing.assert_allclose(layer.weight.data.std(), bound / np.sqrt(3), rtol=0.02)
    assert np.abs(layer.bias.data).max() <= bound
    conv = nn.Conv2d(6, 16, 5)
    bound = 1 / np.sqrt(6 * 25)
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.bias.data).max() <= bound
    np.testing.assert_allclose(conv.weight.data.std(), bound / np.sqrt(3), rtol=0.05)


def test_init_manual_seed_and_rng_are_reproducible():
    a, b = small_cnn(seed=3), small_cnn(seed=3)
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        np.testing.assert_array_equal(va, vb, err_msg=k)
    assert not np.array_equal(small_cnn(seed=4)[0].weight.data, a[0].weight.data)
    gen = np.random.default_rng(7)
    c = nn.Linear(3, 3, rng=gen)
    d = nn.Linear(3, 3, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(c.weight.data, d.weight.data)
    with pytest.raises(TypeError, match="rng"):
        nn.Linear(3, 3, rng="seed")


def test_init_functions():
    w = nn.Parameter(np.empty((50, 40)))
    nn.init.xavier_uniform_(w, rng=0)
    assert np.abs(w.data).max() <= np.sqrt(6 / 90)
    nn.init.kaiming_normal_(w, nonlinearity="relu", rng=0)
    np.testing.assert_allclose(w.data.std(), np.sqrt(2 / 40), rtol=0.05)
    nn.init.zeros_(w)
    assert not w.data.any()
    assert nn.init.calculate_fan_in_and_fan_out(np.empty((8, 3, 5, 5))) == (75, 200)


# ---- gradcheck -------------------------------------------------------------------------------
def _check_layer(layer, x_shape, seed=0, params=True):
    """gradcheck of layer(x) w.r.t. x and every parameter (mc.gradcheck compares the full
    Jacobian, one backward pass per output element, against central differences)."""
    rng = np.random.default_rng(seed)
    x = mc.Tensor(rng.standard_normal(x_shape), requires_grad=True)
    inputs = [x] + (list(layer.parameters()) if params else [])
    assert mc.gradcheck(lambda *args: layer(args[0]), inputs, eps=1e-6, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize(
    "layer, shape",
    [
        (nn.Linear(5, 3, rng=0), (4, 5)),
        (nn.Linear(5, 3, bias=False, rng=0), (2, 5)),
        (nn.Conv2d(2, 3, 3, padding=1, rng=0), (2, 2, 5, 4)),
        (nn.Conv2d(2, 2, (2, 3), stride=(2, 1), padding=(1, 0), rng=0), (1, 2, 5, 6)),
        (nn.MaxPool2d(2), (2, 2, 4, 4)),
        (nn.MaxPool2d(3, stride=2, padding=1), (1, 2, 5, 5)),
        (nn.AvgPool2d(2), (2, 2, 4, 4)),
        (nn.AvgPool2d((3, 2), stride=(2, 1), padding=(1, 0)), (1, 2, 5, 4)),
        (nn.AdaptiveAvgPool2d(1), (2, 3, 3, 4)),
        (nn.AdaptiveAvgPool2d((2, 3)), (1, 2, 3, 4)),
        (nn.Flatten(), (2, 3, 2, 2)),
        (nn.ReLU(), (3, 4)),
        (nn.Sigmoid(), (3, 4)),
        (nn.Tanh(), (3, 4)),
        (nn.Softmax(dim=1), (3, 4)),
        (nn.LogSoftmax(dim=-1), (3, 4)),
        (nn.Identity(), (2, 3)),
        (nn.Dropout(0.4).eval(), (2, 3)),
    ],
    ids=lambda v: repr(v).split("(")[0] if isinstance(v, nn.Module) else None,
)
def test_gradcheck_layers(layer, shape):
    _check_layer(layer, shape)


@pytest.mark.parametrize("train", [True, False])
def test_gradcheck_batchnorm(train):
    bn = nn.BatchNorm2d(2)
    bn.weight.data[...] = [1.5, 0.7]
    bn.bias.data[...] = [0.2, -0.3]
    bn.running_var[...] = [2.0, 0.5]
    bn.train(train)
    _check_layer(bn, (3, 2, 2, 2))


def test_gradcheck_dropout_in_train_with_a_fixed_mask():
    rng = np.random.default_rng(0)
    x = mc.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    # a new layer with the same seed per call: the same mask for every finite difference
    assert mc.gradcheck(lambda t: nn.Dropout(0.5, rng=3)(t), [x])


def test_gradcheck_residual_block():
    nn.init.manual_seed(1)
    _check_layer(ResidualBlock(2), (2, 2, 3, 3))


# ---- errors ----------------------------------------------------------------------------------
def test_errors_conv2d_wrong_channels_and_rank():
    conv = nn.Conv2d(3, 8, 3)
    with pytest.raises(ValueError) as info:
        conv(np.zeros((2, 1, 28, 28)))
    message = str(info.value)
    assert "Conv2d(3, 8, kernel_size=(3, 3)" in message
    assert "(N, 3, H, W)" in message and "(2, 1, 28, 28)" in message
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8.*\(N, 3, H, W\).*\(3, 28, 28\)"):
        conv(np.zeros((3, 28, 28)))
    with pytest.raises(ValueError, match=r"Conv2d.*conv2d: kernel \(3, 3\) is larger than the padded input"):
        conv(np.zeros((1, 3, 2, 2)))


def test_errors_linear_wrong_features():
    fc = nn.Linear(400, 120)
    with pytest.raises(ValueError) as info:
        fc(np.zeros((2, 16, 5, 5)))
    message = str(info.value)
    assert "Linear(in_features=400, out_features=120" in message
    assert "(N, 400)" in message and "(2, 16, 5, 5)" in message and "Flatten" in message


def test_errors_other_layers_name_themselves():
    with pytest.raises(ValueError, match=r"BatchNorm2d\(4.*\(N, 4, H, W\).*\(2, 3, 5, 5\)"):
        nn.BatchNorm2d(4)(np.zeros((2, 3, 5, 5)))
    with pytest.raises(ValueError, match=r"MaxPool2d.*\(N, C, H, W\).*\(5, 5\)"):
        nn.MaxPool2d(2)(np.zeros((5, 5)))
    with pytest.raises(ValueError, match=r"AvgPool2d\(kernel_size=\(3, 3\).*larger"):
        nn.AvgPool2d(3)(np.zeros((1, 1, 2, 2)))
    with pytest.raises(ValueError, match=r"BatchNorm2d.*more than one value"):
        nn.BatchNorm2d(2)(np.zeros((1, 2, 1, 1)))


@pytest.mark.parametrize(
    "make, argument",
    [
        (lambda: nn.Linear(0, 3), "in_features"),
        (lambda: nn.Linear(3, -2), "out_features"),
        (lambda: nn.Conv2d(1, 2, 0), "kernel_size"),
        (lambda: nn.Conv2d(1, 2, 3, stride=(1, 0)), "stride"),
        (lambda: nn.Conv2d(1, 2, 3, padding=-1), "padding"),
        (lambda: nn.Conv2d(1, 2, 2, padding="same"), "same"),
        (lambda: nn.MaxPool2d(2, padding=2), "padding"),
        (lambda: nn.BatchNorm2d(0), "num_features"),
        (lambda: nn.AdaptiveAvgPool2d(0), "output_size"),
    ],
)
def test_errors_constructor_arguments(make, argument):
    with pytest.raises(ValueError, match=argument):
        make()


def test_errors_constructor_argument_types():
    # A value of the wrong type is a TypeError (one convention for the whole engine: minicnn.validation).
    with pytest.raises(TypeError, match="Linear: out_features must be an int, got float 2.5"):
        nn.Linear(3, 2.5)
    with pytest.raises(TypeError, match="Conv2d: stride"):
        nn.Conv2d(1, 2, 3, stride=1.5)


# ---- hooks -----------------------------------------------------------------------------------
def test_hooks_forward_hook_sees_and_replaces_output():
    model = small_cnn()
    captured = []

    def grab(module, inputs, output):
        captured.append((module, inputs, output))

    handle = model[0].register_forward_hook(grab)
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6))
    out = model(x)
    (module, inputs, activation), = captured
    assert module is model[0] and isinstance(inputs, tuple) and activation.shape == (2, 2, 6, 6)
    # Grad-CAM style: the captured activation is part of the graph, so ∂y/∂A is available.
    (g,) = mc.grad(out[:, 1].sum(), [activation])
    assert g.shape == activation.shape
    handle.remove()
    model(x)
    assert len(captured) == 1

    with model[1].register_forward_hook(lambda m, i, o: o * 0):
        assert not np.any(model(x).data - model[4].bias.data)  # zeroed activations → bias only
    assert np.any(model(x).data - model[4].bias.data)


def test_hooks_pre_hook_replaces_input():
    relu = nn.ReLU()
    handle = relu.register_forward_pre_hook(lambda m, inputs: (inputs[0] * -1,))
    np.testing.assert_array_equal(relu(np.array([1.0, -2.0])).data, [0, 2])
    handle.remove()
    np.testing.assert_array_equal(relu(np.array([1.0, -2.0])).data, [1, 0])


# ---- sequential ------------------------------------------------------------------------------
def test_sequential_indexing_slicing_iteration():
    layers = [nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.Tanh()]
    seq = nn.Sequential(*layers)
    assert len(seq) == 4 and list(seq) == layers
    assert seq[0] is layers[0] and seq[-1] is layers[3]
    tail = seq[2:]
    assert isinstance(tail, nn.Sequential) and list(tail) == layers[2:]
    assert [n for n, _ in tail.named_parameters()] == ["2.weight", "2.bias"]  # names kept, as PyTorch
    x = np.random.default_rng(0).standard_normal((5, 4))
    np.testing.assert_array_equal(seq(x).data, tail(seq[:2](x)).data)
    assert seq.append(nn.Softmax()) is seq and len(seq) == 5 and "4" in dict(seq.named_children())
    with pytest.raises(IndexError):
        seq[5]
    with pytest.raises(TypeError, match="Module"):
        nn.Sequential(nn.ReLU(), lambda x: x)


def test_sequential_from_ordered_dict():
    seq = nn.Sequential(OrderedDict([("conv", nn.Conv2d(1, 2, 3)), ("act", nn.ReLU())]))
    assert [n for n, _ in seq.named_parameters()] == ["conv.weight", "conv.bias"]
    assert seq[1] is seq.act
    assert "(conv): Conv2d(1, 2" in repr(seq)


def test_deepcopy_gives_an_independent_model():
    import copy

    model = SmallResNet().eval()
    clone = copy.deepcopy(model)
    x = np.random.default_rng(0).standard_normal((2, 1, 4, 4))
    np.testing.assert_array_equal(clone(x).data, model(x).data)
    clone.head.bias.data[...] += 1
    assert not np.array_equal(clone(x).data, model(x).data)
    assert clone.features[1].bn1.running_mean is not model.features[1].bn1.running_mean


def test_parameter_copies_arrays_and_shares_tensors():
    array = np.arange(3.0)
    p = nn.Parameter(array)
    assert p.requires_grad and p.dtype == np.float64
    array[0] = 10
    assert p.data[0] == 0
    t = mc.Tensor([1.0, 2.0])
    assert nn.Parameter(t).data is t.data
    assert nn.Parameter(t, dtype=np.float32).dtype == np.float32
    assert nn.Parameter([1, 2]).dtype == np.float64
    assert "Parameter containing" in repr(p)

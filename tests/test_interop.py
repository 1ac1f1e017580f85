"""minicnn.interop: state_dicts between PyTorch and minicnn. The conversion itself needs no
torch (duck-typed tensors); the round trips with real torch models are skipped without torch."""

from collections import OrderedDict

import numpy as np
import pytest

import minicnn as mc
from minicnn import nn
from minicnn.interop import from_torch_state_dict, to_numpy, to_torch_state_dict
from minicnn.models import LeNet


class FakeTensor:
    """What from_torch_state_dict relies on: detach(), cpu(), numpy()."""

    def __init__(self, array):
        self.array = np.asarray(array)

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self.array


def test_from_torch_without_torch_keeps_names_order_and_copies():
    source = np.arange(6.0).reshape(2, 3)
    state = OrderedDict([("b.weight", FakeTensor(source)), ("a.bias", np.zeros(2)), ("n", FakeTensor(np.array(3)))])
    result = from_torch_state_dict(state)
    assert list(result) == ["b.weight", "a.bias", "n"]
    np.testing.assert_array_equal(result["b.weight"], source)
    result["b.weight"][0, 0] = 99  # a copy, not a view of the tensor's memory
    assert source[0, 0] == 0
    assert from_torch_state_dict(state, dtype=np.float32)["b.weight"].dtype == np.float32
    assert from_torch_state_dict(state, dtype=np.float32)["n"].dtype.kind == "i"  # integer buffers stay
    np.testing.assert_array_equal(to_numpy(mc.Tensor([1.0, 2.0])), [1.0, 2.0])


def test_from_torch_rejects_non_mappings_and_objects():
    with pytest.raises(TypeError, match="state_dict"):
        from_torch_state_dict([1, 2])
    with pytest.raises(TypeError, match="'x'"):
        from_torch_state_dict({"x": object()})


torch = pytest.importorskip("torch", reason="torch not installed; PyTorch round trips skipped")
tnn = torch.nn


class TorchLeNet(tnn.Module):
    """minicnn.models.LeNet written in PyTorch with the same module names."""

    def __init__(self, input_shape=(1, 16, 16), num_classes=10):
        super().__init__()
        c, h, w = input_shape
        self.features = tnn.Sequential(
            tnn.Conv2d(c, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
            tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2),
        )
        fh, fw = ((h // 2) - 4) // 2, ((w // 2) - 4) // 2
        self.classifier = tnn.Sequential(
            tnn.Flatten(), tnn.Linear(16 * fh * fw, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(),
            tnn.Linear(84, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def test_torch_lenet_into_minicnn_gives_the_same_logits():
    torch.manual_seed(0)
    torch_model = TorchLeNet((1, 20, 20), 7).double().eval()
    model = LeNet((1, 20, 20), 7).double().eval()
    model.load_state_dict(from_torch_state_dict(torch_model.state_dict()))
    x = np.random.default_rng(0).random((3, 1, 20, 20))
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x)).numpy()
    with mc.no_grad():
        np.testing.assert_allclose(model(x).data, expected, rtol=1e-12, atol=1e-12)


def test_minicnn_into_torch_round_trip_with_batch_norm():
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 5 * 5, 4))
    model.double()
    rng = np.random.default_rng(1)
    model.train()
    model(rng.random((8, 2, 5, 5)))  # update the running statistics so the buffers are not trivial
    model.eval()
    torch_model = tnn.Sequential(tnn.Conv2d(2, 3, 3, padding=1), tnn.BatchNorm2d(3), tnn.ReLU(), tnn.Flatten(), tnn.Linear(75, 4))
    torch_model.double().eval()
    state = to_torch_state_dict(model.state_dict())
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    torch_model.load_state_dict(state)  # strict in PyTorch too: same names, same shapes
    assert int(torch_model[1].num_batches_tracked) == 1
    x = rng.random((2, 2, 5, 5))
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x)).numpy()
    with mc.no_grad():
        np.testing.assert_allclose(model(x).data, expected, rtol=1e-10, atol=1e-12)
    back = from_torch_state_dict(torch_model.state_dict())
    assert list(back) == list(model.state_dict())
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(back[key], value)


def test_to_torch_casts_floats_only():
    state = to_torch_state_dict({"w": np.ones(2), "n": np.array(3)}, dtype=np.float32)
    assert state["w"].dtype == torch.float32 and state["n"].dtype == torch.int64
    assert to_torch_state_dict({"w": np.ones(2)}, dtype=torch.float16)["w"].dtype == torch.float16

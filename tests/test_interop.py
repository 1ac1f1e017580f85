"""minicnn.interop: state_dicts between PyTorch and minicnn. The conversion itself needs no
torch (duck-typed tensors); the round trips with real torch models are skipped without torch."""

import sys
import textwrap
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import minicnn as mc
from minicnn import interop, nn
from minicnn.interop import from_torch_state_dict, load_torch_checkpoint, to_numpy, to_torch_state_dict
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


def test_load_torch_checkpoint_without_torch_says_what_to_do(tmp_path, monkeypatch):
    path = tmp_path / "resnet18.pth"
    path.write_bytes(b"PK")
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(ImportError) as info:
        load_torch_checkpoint(path)
    message = str(info.value)
    assert "\n" not in message and "minicnn[torch]" in message and "python -m minicnn.convert" in message


def test_load_torch_checkpoint_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        load_torch_checkpoint(tmp_path / "missing.pth")


def docstring_example():
    """The indented code block after "Example" in minicnn.interop's docstring, dedented."""
    lines = interop.__doc__.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Example")) + 1
    block = []
    for line in lines[start:]:
        if line.strip() and not line.startswith("    "):
            break
        block.append(line)
    return textwrap.dedent("\n".join(block))


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


def test_the_module_docstring_example_runs():
    code = docstring_example()
    assert "load_state_dict(from_torch_state_dict(" in code  # the block found is the example
    namespace = {}
    exec(compile(code, "minicnn.interop docstring", "exec"), namespace)  # strict load, then the check inside
    model, torch_model = namespace["model"], namespace["torch_model"]
    for key, value in torch_model.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[key], value.numpy())


# ---- .pth files: torch.load(weights_only=True) only ------------------------------------------
def test_checkpoint_of_a_plain_state_dict(tmp_path):
    torch.manual_seed(0)
    torch_model = TorchLeNet((1, 16, 16), 10)
    torch.save(torch_model.state_dict(), tmp_path / "lenet.pth")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to report for a plain state_dict
        state = load_torch_checkpoint(tmp_path / "lenet.pth")
    assert list(state) == list(torch_model.state_dict())
    assert all(type(v) is np.ndarray for v in state.values())
    LeNet((1, 16, 16), 10).load_state_dict(state)
    np.testing.assert_array_equal(state["features.0.weight"], torch_model.features[0].weight.detach().numpy())
    assert load_torch_checkpoint(tmp_path / "lenet.pth", dtype=np.float64)["features.0.bias"].dtype == np.float64


def test_reads_only_with_weights_only_on_the_cpu(tmp_path, monkeypatch):
    torch.save({"w": torch.ones(2)}, tmp_path / "w.pth")
    calls, real_load = [], torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    load_torch_checkpoint(tmp_path / "w.pth")
    assert calls == [{"weights_only": True, "map_location": "cpu"}]


@pytest.mark.parametrize("wrapper", ["state_dict", "model"])
def test_training_checkpoint_is_unwrapped_and_parallel_prefix_stripped(tmp_path, wrapper):
    weights = TorchLeNet().state_dict()
    checkpoint = {"epoch": 7, wrapper: OrderedDict(("module." + k, v) for k, v in weights.items()),
                  "optimizer": {"lr": 0.1}}
    torch.save(checkpoint, tmp_path / "ckpt.pth")
    with pytest.warns(UserWarning) as record:
        state = load_torch_checkpoint(tmp_path / "ckpt.pth")
    notes = [str(w.message) for w in record]
    assert any(f"checkpoint[{wrapper!r}]" in n and "'epoch'" in n for n in notes)
    assert any("'module.'" in n and "DataParallel" in n for n in notes)
    assert list(state) == list(weights)


def test_prefix_kept_when_only_some_keys_have_it(tmp_path):
    torch.save({"module.a": torch.ones(1), "b": torch.ones(1)}, tmp_path / "m.pth")
    assert list(load_torch_checkpoint(tmp_path / "m.pth")) == ["module.a", "b"]


class Hostile:
    """Unpickling this runs open(marker, "w") -- what weights_only must never allow."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_code_in_a_checkpoint_is_never_run(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"w": torch.ones(2), "payload": Hostile(str(marker))}, tmp_path / "evil.pth")
    with pytest.raises(ValueError) as info:
        load_torch_checkpoint(tmp_path / "evil.pth")
    assert not marker.exists()
    message = str(info.value)
    assert "\n" not in message and "weights_only=True" in message and "open" in message


def test_a_whole_pickled_module_is_refused_with_the_fix(tmp_path):
    torch.save(TorchLeNet(), tmp_path / "model.pth")  # the model object, not its state_dict
    with pytest.raises(ValueError, match=r"TorchLeNet.*save model\.state_dict\(\)"):
        load_torch_checkpoint(tmp_path / "model.pth")


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_damaged_file(tmp_path, damage):
    path = tmp_path / "bad.pth"
    torch.save(TorchLeNet().state_dict(), path)
    path.write_bytes(b"not a checkpoint" if damage == "garbage" else path.read_bytes()[:200])
    with pytest.raises(ValueError, match="cannot be read by torch.load") as info:
        load_torch_checkpoint(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("saved, expected", [
    ([torch.ones(2)], "holds a list, expected a state_dict"),
    ({"w": torch.ones(2), "step": 3}, r"entry 'step' is not a tensor \(int\)"),
])
def test_content_that_is_not_a_state_dict(tmp_path, saved, expected):
    torch.save(saved, tmp_path / "x.pth")
    with pytest.raises(ValueError, match=expected):
        load_torch_checkpoint(tmp_path / "x.pth")


def test_bfloat16_is_widened_to_float32_with_a_note(tmp_path):
    torch.save({"w": torch.tensor([1.5, -2.0], dtype=torch.bfloat16)}, tmp_path / "bf16.pth")
    with pytest.warns(UserWarning, match="bfloat16"):
        state = load_torch_checkpoint(tmp_path / "bf16.pth")
    assert state["w"].dtype == np.float32
    np.testing.assert_array_equal(state["w"], [1.5, -2.0])

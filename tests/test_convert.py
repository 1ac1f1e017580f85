"""python -m minicnn.convert: .pth / .safetensors / .npz → .npz / .safetensors, checked with --arch.

Run one part with e.g. ``pytest tests/test_convert.py -k mismatch``.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

import minicnn as mc
from minicnn import models
from minicnn.convert import build_architecture, main
from minicnn.models import LeNet

pytest.importorskip("safetensors.numpy", reason="safetensors not installed (pip install safetensors)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def own_init_generator(monkeypatch):
    """Models built here draw from their own seeded generator, so the weights that later test
    files draw from minicnn.nn.init's global one do not depend on this file running first."""
    monkeypatch.setattr(mc.random, "_generator", np.random.default_rng(0))


def lenet_safetensors(tmp_path, num_classes=7, input_shape=(1, 16, 16)):
    model = LeNet(input_shape, num_classes)
    path = tmp_path / "lenet.safetensors"
    mc.save(model.state_dict(), path)
    return path, model


def run(argv, capsys):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out.splitlines(), err.splitlines()


class TestConvert:
    def test_safetensors_to_npz_checked_against_lenet(self, tmp_path, capsys):
        source, model = lenet_safetensors(tmp_path)
        target = tmp_path / "lenet.npz"
        status, out, err = run([source, target, "--arch", "lenet", "--input-shape", "1,16,16"], capsys)
        assert status == 0 and err == []
        assert "num_classes = 7 (from 'classifier.5.weight' (7, 84))" in out
        assert any(line.startswith(f"wrote {target}: 10 tensors") for line in out)
        converted = mc.load(target)
        assert list(converted) == list(model.state_dict())
        for key, value in model.state_dict().items():
            assert converted[key].tobytes() == value.tobytes(), key

    def test_without_arch_any_weights_convert(self, tmp_path, capsys):
        source = tmp_path / "w.npz"
        mc.save({"anything": np.arange(4.0)}, source)
        status, out, _ = run([source, tmp_path / "w.safetensors"], capsys)
        assert status == 0
        np.testing.assert_array_equal(mc.load(tmp_path / "w.safetensors")["anything"], np.arange(4.0))

    def test_num_classes_given_explicitly(self, tmp_path, capsys):
        source, _ = lenet_safetensors(tmp_path, num_classes=7)
        status, _, err = run([source, tmp_path / "o.npz", "--arch", "lenet", "--input-shape", "1,16,16",
                              "--num-classes", "10"], capsys)
        assert status == 1
        assert any("2 shape mismatches (first: 'classifier.5.weight' is (7, 84) in the state_dict, (10, 84)" in line
                   for line in err)

    def test_the_module_runs_as_a_command(self, tmp_path):
        source, _ = lenet_safetensors(tmp_path)
        result = subprocess.run(
            [sys.executable, "-m", "minicnn.convert", str(source), str(tmp_path / "o.npz"), "--arch", "lenet",
             "--input-shape", "1,16,16"],
            cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert "every key and shape matches" in result.stdout
        assert set(mc.load(tmp_path / "o.npz")) == set(LeNet((1, 16, 16), 7).state_dict())


class TestMismatch:
    def test_other_architecture_one_line_per_kind_and_nothing_written(self, tmp_path, capsys):
        source, _ = lenet_safetensors(tmp_path)
        target = tmp_path / "o.npz"
        status, out, err = run([source, target, "--arch", "resnet", "--input-shape", "1,16,16"], capsys)
        assert status == 1 and not target.exists()
        assert err[0] == f"minicnn.convert: {source} does not match resnet; {target} not written:"
        expected_missing = len(models.ResNetSmall((1, 16, 16), 10).state_dict())
        assert err[1:] == [f"  {expected_missing} missing keys (first: 'conv1.weight')",
                           "  10 unexpected keys (first: 'features.0.weight')"]

    def test_wrong_input_shape_is_a_shape_mismatch(self, tmp_path, capsys):
        source, _ = lenet_safetensors(tmp_path, input_shape=(1, 16, 16))
        status, _, err = run([source, tmp_path / "o.npz", "--arch", "lenet", "--input-shape", "1,28,28"], capsys)
        assert status == 1
        assert err[1:] == ["  1 shape mismatch (first: 'classifier.1.weight' is (120, 64) in the state_dict, "
                           "(120, 400) in the model)"]


class TestBadInput:
    @pytest.mark.parametrize("extra, expected", [
        (["--arch", "alexnet2"], "arch: expected one of"),
        (["--arch", "lenet"], "input_shape: required (C, H, W) for the small architecture 'lenet'"),
    ])
    def test_arch_problems(self, tmp_path, capsys, extra, expected):
        source, _ = lenet_safetensors(tmp_path)
        status, _, err = run([source, tmp_path / "o.npz"] + extra, capsys)
        assert status == 1 and len(err) == 1 and expected in err[0]
        assert not (tmp_path / "o.npz").exists()

    @pytest.mark.parametrize("target, expected", [
        ("o.pth", "target: expected a path ending with .npz or .safetensors"),
        ("lenet.safetensors", "target: must differ from the source"),
    ])
    def test_target_problems(self, tmp_path, capsys, target, expected):
        source, _ = lenet_safetensors(tmp_path)
        status, _, err = run([source, tmp_path / target], capsys)
        assert status == 1 and expected in err[0]

    def test_missing_source(self, tmp_path, capsys):
        status, _, err = run([tmp_path / "nope.pth", tmp_path / "o.npz"], capsys)
        assert status == 1 and "source: no such file" in err[0]

    def test_unknown_source_format(self, tmp_path, capsys):
        (tmp_path / "w.h5").write_bytes(b"")
        status, _, err = run([tmp_path / "w.h5", tmp_path / "o.npz"], capsys)
        assert status == 1 and "source: expected a .pth" in err[0]

    @pytest.mark.parametrize("argv", [
        ["a.npz", "b.npz", "--arch", "lenet", "--input-shape", "1,16"],
        ["a.npz", "b.npz", "--arch", "lenet", "--num-classes", "0"],
        ["a.npz", "b.npz", "--num-classes", "3"],
    ])
    def test_usage_errors_exit_2(self, argv, capsys):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        assert "error:" in capsys.readouterr().err

    def test_imagenet_kind_takes_no_input_shape_and_defaults_to_1000_classes(self, monkeypatch):
        # A stand-in registry: the convert logic for minicnn.models.IMAGENET, before it exists.
        monkeypatch.setattr(models, "IMAGENET", {"tiny": lambda num_classes=1000: LeNet((1, 16, 16), num_classes)},
                            raising=False)
        with pytest.raises(ValueError, match="the ImageNet architecture 'tiny' takes no input shape"):
            build_architecture("tiny", input_shape=(3, 224, 224))
        model, note = build_architecture("tiny")
        assert note == "num_classes = 1000 (the default)" and model.classifier[5].weight.shape == (1000, 84)
        state = LeNet((1, 16, 16), 4).state_dict()
        model, note = build_architecture("tiny", state)
        assert model.classifier[5].weight.shape == (4, 84) and "from 'classifier.5.weight' (4, 84)" in note


torch = pytest.importorskip("torch", reason="torch not installed; .pth conversions skipped")


class TorchLeNet(torch.nn.Module):
    """minicnn.models.LeNet written in PyTorch with the same module names."""

    def __init__(self, num_classes):
        super().__init__()
        tnn = torch.nn
        self.features = tnn.Sequential(tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
                                       tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2))
        self.classifier = tnn.Sequential(tnn.Flatten(), tnn.Linear(16 * 2 * 2, 120), tnn.ReLU(),
                                         tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


def test_pth_of_a_torch_twin_converts_and_gives_its_logits(tmp_path, capsys):
    torch.manual_seed(0)
    torch_model = TorchLeNet(5).double().eval()
    torch.save(torch_model.state_dict(), tmp_path / "lenet.pth")
    status, out, _ = run([tmp_path / "lenet.pth", tmp_path / "lenet.safetensors", "--arch", "lenet",
                          "--input-shape", "1,16,16"], capsys)
    assert status == 0 and "num_classes = 5 (from 'classifier.5.weight' (5, 84))" in out
    model = LeNet((1, 16, 16), 5).double().eval()
    model.load_state_dict(mc.load(tmp_path / "lenet.safetensors"))
    x = np.random.default_rng(0).random((2, 1, 16, 16))
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x)).numpy()
    with mc.no_grad():
        np.testing.assert_allclose(model(x).data, expected, rtol=1e-12, atol=1e-12)


def test_notes_of_a_training_checkpoint_are_printed(tmp_path, capsys):
    weights = {"module." + k: v for k, v in TorchLeNet(10).state_dict().items()}
    torch.save({"state_dict": weights, "epoch": 3}, tmp_path / "ckpt.pth")
    status, out, _ = run([tmp_path / "ckpt.pth", tmp_path / "o.npz", "--arch", "lenet", "--input-shape", "1,16,16"],
                         capsys)
    assert status == 0
    assert "took the weights from checkpoint['state_dict'] (ignored: 'epoch')" in out
    assert any("stripped the 'module.' prefix" in line for line in out)


def test_resnet18_checkpoint_with_num_classes_read_off_fc(tmp_path, capsys):
    if not hasattr(models, "IMAGENET"):
        pytest.skip("minicnn.models.IMAGENET not merged yet")
    state = models.IMAGENET["resnet18"](num_classes=3).state_dict()
    torch.save({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()}, tmp_path / "resnet18.pth")
    status, out, _ = run([tmp_path / "resnet18.pth", tmp_path / "resnet18.safetensors", "--arch", "resnet18"], capsys)
    assert status == 0 and "num_classes = 3 (from 'fc.weight' (3, 512))" in out
    assert set(mc.load(tmp_path / "resnet18.safetensors")) == set(state)
    status, _, err = run([tmp_path / "resnet18.pth", tmp_path / "o.npz", "--arch", "resnet34"], capsys)
    assert status == 1 and any("missing keys" in line for line in err)

"""`python -m minicnn.train` as a command: its progress bar advances once per batch, errors are
one line `error: …` (exit 2 for the command line, 1 while running), the output is checked
before training, and --help shows every default."""

import dataclasses
import os

import pytest

from minicnn import nn
from minicnn.data import DataLoader, load_dataset
from minicnn.models import build
from minicnn.train import main, train


def _one_error_line(err):
    lines = err.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err


def test_progress_bar_advances_once_per_batch(monkeypatch, capsys):
    import tqdm

    bars = []

    class RecordingBar(tqdm.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.seen = []
            bars.append(self)

        def update(self, n=1):
            result = super().update(n)
            self.seen.append(self.n)
            return result

    monkeypatch.setattr(tqdm, "tqdm", RecordingBar)
    data = load_dataset("digits", size=16, seed=0)
    data = dataclasses.replace(data, x_train=data.x_train[:70], y_train=data.y_train[:70],
                               x_test=data.x_test[:10], y_test=data.y_test[:10])
    nn.init.manual_seed(0)
    model = build("lenet", data.input_shape, data.n_classes)
    train(model, data, epochs=2, batch_size=32, progress=True)
    batches = len(DataLoader(data.x_train, data.y_train, batch_size=32))
    assert batches == 3
    assert [bar.total for bar in bars] == [batches, batches]
    assert [bar.seen for bar in bars] == [[1, 2, 3], [1, 2, 3]]  # one step per batch, never stuck at 0
    assert "epoch 2: loss" in capsys.readouterr().err


@pytest.mark.parametrize("argv, code, fragments", [
    (["--epochs", "0"], 2, ["--epochs", "expected an integer ≥ 1", "0"]),
    (["--lr", "-1"], 2, ["--lr", "> 0"]),
    (["--batch-size", "x"], 2, ["--batch-size", "'x'"]),
    (["--dataset", "cifar"], 2, ["invalid choice", "digits"]),
    (["--out", "weights.h5"], 2, ["--out weights.h5", ".npz or .safetensors"]),
])
def test_usage_errors_are_one_line_exit_2(argv, code, fragments, capsys):
    assert main(argv) == code
    err = capsys.readouterr().err
    assert _one_error_line(err), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def test_unwritable_out_fails_before_training(tmp_path, monkeypatch, capsys):
    """A path below a regular file: unwritable even for root (the tests run as root here)."""
    import minicnn.train as command

    blocker = tmp_path / "file.txt"
    blocker.write_text("a file where a directory should be")
    monkeypatch.setattr(command, "train", lambda *a, **k: pytest.fail("trained before checking --out"))
    assert main(["--out", str(blocker / "w.npz")]) == 1
    err = capsys.readouterr().err
    assert _one_error_line(err) and "not a writable directory" in err
    assert sorted(os.listdir(tmp_path)) == ["file.txt"]


def test_help_shows_the_defaults(capsys):
    assert main(["--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for fragment in ("(default: digits)", "(default: 10)", "(default: 0.001)", "(default: 64)", "(default: 0)"):
        assert fragment in text, fragment


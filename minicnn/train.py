"""Train a zoo model on a bundled dataset or your own images: `python -m minicnn.train --dataset digits`.

    python -m minicnn.train --dataset digits --model lenet --epochs 30 --seed 0 --out digits_lenet.npz
    python -m minicnn.train --data DIR --model lenet --size 32 --out mine.npz      # DIR/<class>/*.png

`--data DIR` trains on an image folder in torchvision's ImageFolder layout
(`minicnn.data.image_folder`): the classes are the sorted sub-folder names, a quarter of the
images (stratified, `load_image_folder`'s default seed: the same split `python -m attributions
explain` and `compare --data DIR` use; --seed seeds the weights and the shuffling) is held out as
the test set, every image is converted to
(C, size, size) as `explain` converts a single image. The weights then go to
`python -m attributions explain --data DIR --model mine.npz --arch lenet --size 32 --image x.png`.

One epoch = one pass over the shuffled training set in mini-batches: forward, cross-entropy,
backward, Adam step. A progress bar advances once per batch and shows the running loss and
accuracy; after each epoch the test accuracy is printed. The same seed gives the same weights
(initialisation, shuffling and the dataset split are all seeded).

Errors are one line `error: …` on stderr, as in `python -m attributions`: exit code 2 for a wrong
command line (checked before training, including whether `--out` can be written), 1 for a
failure while running, 130 for Ctrl-C; `--debug` shows the traceback. The weights file is
written atomically (`minicnn.io.save`): it appears only when complete.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import functional as F
from . import nn, optim
from .autograd import no_grad
from .data import DataLoader, load_dataset
from .data.image_folder import ImageFolderError, load_image_folder
from .io import FORMATS, save
from .models import ARCHITECTURES, BUNDLED, build
from .nn import Module

__all__ = ["FOLDER_ARCH", "train", "evaluate", "predict", "main", "build_parser", "UsageError"]

FOLDER_ARCH = "lenet"  # the architecture for --data when --model is not given


def predict(model: Module, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Logits for every row of x, in batches, without building a graph."""
    outputs = []
    with no_grad():
        for start in range(0, len(x), batch_size):
            outputs.append(model(x[start : start + batch_size]).data)
    return np.concatenate(outputs)


def evaluate(model: Module, x: np.ndarray, y: np.ndarray, batch_size: int = 256) -> float:
    """Accuracy of `model` (in eval mode; its mode is restored) on (x, y)."""
    was_training = model.training
    model.eval()
    try:
        return float((predict(model, x, batch_size).argmax(axis=1) == y).mean())
    finally:
        model.train(was_training)


def train(model: Module, data: Any, epochs: int = 10, lr: float = 1e-3, batch_size: int = 64, seed: int = 0,
          weight_decay: float = 0.0, progress: bool = True) -> list[dict[str, float]]:
    """Train `model` on data.x_train / y_train with Adam; returns a list of per-epoch records
    {epoch, loss, train_accuracy, test_accuracy, seconds}."""
    if epochs < 1:
        raise ValueError(f"epochs: expected at least 1, got {epochs}")
    optimizer = optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    loader = DataLoader(data.x_train, data.y_train, batch_size=batch_size, shuffle=True, seed=seed)
    history = []
    for epoch in range(1, epochs + 1):
        model.train()
        start = time.perf_counter()
        total_loss, correct, seen = 0.0, 0, 0
        bar = _progress_bar(len(loader), f"epoch {epoch}/{epochs}", progress)
        for xb, yb in loader:
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(yb)
            correct += int((logits.data.argmax(axis=1) == yb).sum())
            seen += len(yb)
            if bar is not None:
                bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.3f}", refresh=False)
                bar.update(1)
        if bar is not None:
            bar.close()
        record = {
            "epoch": epoch,
            "loss": total_loss / seen,
            "train_accuracy": correct / seen,
            "test_accuracy": evaluate(model, data.x_test, data.y_test),
            "seconds": time.perf_counter() - start,
        }
        history.append(record)
        if progress:
            print(
                f"epoch {epoch}: loss {record['loss']:.4f}, train acc {record['train_accuracy']:.4f}, "
                f"test acc {record['test_accuracy']:.4f} ({record['seconds']:.1f} s)",
                file=sys.stderr,
            )
    model.eval()
    return history


def _progress_bar(batches, description, enabled):
    """A tqdm bar of `batches` steps that the loop advances itself after each batch (iterating
    tqdm over the loader and refreshing the postfix inside the loop left it drawn at 0 %)."""
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=batches, desc=description, unit="batch", leave=False, file=sys.stderr)


class UsageError(ValueError):
    """The command line is wrong: one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of argparse's usage block
        raise UsageError(f"{self.prog}: {message} (see --help)")


def _number(kind, minimum, exclusive=False):
    """An argparse type: an int or float ≥ minimum (> minimum if exclusive)."""
    expected = f"{'an integer' if kind is int else 'a number'} {'>' if exclusive else '≥'} {minimum}"

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if value < minimum or (exclusive and value == minimum):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
        return value

    parse.__name__ = expected
    return parse


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m minicnn.train`; every option's default is in --help."""
    parser = _Parser(prog="python -m minicnn.train", description=__doc__.split("\n")[0],
                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--dataset", choices=sorted(BUNDLED), default="digits", help="bundled dataset")
    parser.add_argument("--data", metavar="DIR", default=None,
                        help="your own images instead, DIR/<class>/<image> (ImageFolder layout); class names from "
                             "the folder names")
    parser.add_argument("--size", type=_number(int, 1), default=None,
                        help="with --data: resize the images to size×size (None: the first image's size)")
    parser.add_argument("--model", choices=sorted(ARCHITECTURES), default=None,
                        help=f"architecture (None: the dataset's bundled one; with --data {FOLDER_ARCH})")
    parser.add_argument("--epochs", type=_number(int, 1), default=10, help="passes over the training set")
    parser.add_argument("--lr", type=_number(float, 0, exclusive=True), default=1e-3, help="Adam learning rate")
    parser.add_argument("--batch-size", type=_number(int, 1), default=64, help="images per mini-batch")
    parser.add_argument("--seed", type=_number(int, 0), default=0, help="seed of the split, initialisation and shuffling")
    parser.add_argument("--float32", action="store_true", help="train in float32 (faster)")
    parser.add_argument("--out", default=None, help="where to write the weights (.npz or .safetensors); None: no file")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    return parser


def _check_out(path):
    """Before training: `path` has a weights extension and its directory exists or can be made."""
    if os.path.splitext(path)[1].lower() not in FORMATS:
        raise UsageError(f"--out {path}: expected a file ending with {' or '.join(FORMATS)}")
    existing = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing) or not os.access(existing, os.W_OK | os.X_OK):
        raise OSError(f"--out {path}: cannot write there ({existing} is not a writable directory)")


def main(argv: Sequence[str] | None = None) -> int:
    """Train and save; returns the exit code (0, 1 at run time, 2 for the command line, 130 Ctrl-C)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as done:  # --help
            return done.code if isinstance(done.code, int) else 0
        # --dataset has a default, so whether it was given must be read off the command line.
        args.dataset_given = any(a == "--dataset" or a.startswith("--dataset=") for a in argv)
        return _train_command(args)
    except KeyboardInterrupt:
        print("error: interrupted; no weights written", file=sys.stderr)
        return 130
    except Exception as error:  # one line unless --debug
        if "--debug" in argv:
            raise
        message = str(error).splitlines()[0] if str(error) else ""
        if not isinstance(error, (OSError, ValueError)):  # unforeseen: name the kind of error
            message = f"{type(error).__name__}: {message} (rerun with --debug for the traceback)"
        print(f"error: {message}", file=sys.stderr)
        return 2 if isinstance(error, UsageError) else 1


def _train_command(args):
    if args.data is not None and args.dataset_given:
        raise UsageError(f"--data {args.data} and --dataset {args.dataset}: give one of them, not both")
    if args.size is not None and args.data is None:
        raise UsageError(f"--size {args.size}: only with --data (a bundled dataset has its own size)")
    if args.out:
        _check_out(args.out)
    if args.data is None:
        arch, options, _ = BUNDLED[args.dataset]
        arch = args.model or arch
        data = load_dataset(args.dataset, seed=args.seed, **options)
    else:
        arch = args.model or FOLDER_ARCH
        try:
            data = load_image_folder(args.data, size=args.size)  # the default split: explain's and compare's
        except ImageFolderError as error:
            raise OSError(f"--data {args.data}: {error}") from None
    dtype = np.float32 if args.float32 else np.float64
    data = _cast(data, dtype)
    nn.init.manual_seed(args.seed)
    try:
        model = build(arch, data.input_shape, data.n_classes).to(dtype)
    except ValueError as error:  # e.g. images too small for the architecture
        raise UsageError(f"--model {arch}: {error}") from None
    print(f"training {arch} on {data}" + (f", classes {data.classes}" if args.data else ""), file=sys.stderr)
    history = train(model, data, args.epochs, args.lr, args.batch_size, args.seed)
    print(f"test accuracy: {history[-1]['test_accuracy']:.4f}")
    if args.out:
        directory = os.path.dirname(os.path.abspath(args.out))
        os.makedirs(directory, exist_ok=True)  # checked to be possible before training
        # float32 halves the file; the bundled models are loaded back into float64 for attribution.
        save({k: v.astype(np.float32) if v.dtype.kind == "f" else v for k, v in model.state_dict().items()}, args.out)
        print(f"wrote {args.out}")
        if args.data:  # the class names and input size come from the folder again, not from the file
            size = f" --size {args.size}" if args.size else ""
            print(f"explain with: python -m attributions explain --data {args.data}{size} --model {args.out} "
                  f"--arch {arch} --image IMAGE")
    return 0


def _cast(data, dtype):
    import dataclasses

    return dataclasses.replace(data, x_train=data.x_train.astype(dtype), x_test=data.x_test.astype(dtype))


if __name__ == "__main__":
    sys.exit(main())

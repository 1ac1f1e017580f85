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
backward, Adam step. A progress bar shows the running loss and accuracy; after each epoch the
test accuracy is printed. The same seed gives the same weights (initialisation, shuffling and
the dataset split are all seeded).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from . import functional as F
from . import nn, optim
from .autograd import no_grad
from .data import DataLoader, load_dataset
from .data.image_folder import ImageFolderError, load_image_folder
from .io import save
from .models import ARCHITECTURES, BUNDLED, build

__all__ = ["FOLDER_ARCH", "train", "evaluate", "predict", "main"]

FOLDER_ARCH = "lenet"  # the architecture for --data when --model is not given


def predict(model, x, batch_size=256):
    """Logits for every row of x, in batches, without building a graph."""
    outputs = []
    with no_grad():
        for start in range(0, len(x), batch_size):
            outputs.append(model(x[start : start + batch_size]).data)
    return np.concatenate(outputs)


def evaluate(model, x, y, batch_size=256):
    """Accuracy of `model` (in eval mode; its mode is restored) on (x, y)."""
    was_training = model.training
    model.eval()
    try:
        return float((predict(model, x, batch_size).argmax(axis=1) == y).mean())
    finally:
        model.train(was_training)


def train(model, data, epochs=10, lr=1e-3, batch_size=64, seed=0, weight_decay=0.0, progress=True):
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
        batches = _progress(loader, f"epoch {epoch}/{epochs}", progress)
        for xb, yb in batches:
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(yb)
            correct += int((logits.data.argmax(axis=1) == yb).sum())
            seen += len(yb)
            if progress:
                batches.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.3f}")
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


def _progress(iterable, description, enabled):
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, desc=description, leave=False, file=sys.stderr)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m minicnn.train", description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=sorted(BUNDLED), default=None, help="bundled dataset (default: digits)")
    parser.add_argument("--data", metavar="DIR", default=None,
                        help="your own images instead, DIR/<class>/<image> (ImageFolder layout); class names from "
                             "the folder names")
    parser.add_argument("--size", type=int, default=None,
                        help="with --data: resize the images to size×size (default: the first image's size)")
    parser.add_argument("--model", choices=sorted(ARCHITECTURES), default=None,
                        help=f"default: the dataset's bundled one; with --data {FOLDER_ARCH}")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--float32", action="store_true", help="train in float32 (faster)")
    parser.add_argument("--out", default=None, help="where to write the weights (.npz); default: no file")
    args = parser.parse_args(argv)
    if args.data is not None and args.dataset is not None:
        parser.error(f"--data {args.data} and --dataset {args.dataset}: give one of them, not both")
    if args.size is not None and (args.data is None or args.size < 1):
        parser.error(f"--size {args.size}: expected a positive int, and only with --data")

    if args.data is None:
        arch, options, _ = BUNDLED[args.dataset or "digits"]
        arch = args.model or arch
        data = load_dataset(args.dataset or "digits", seed=args.seed, **options)
    else:
        arch = args.model or FOLDER_ARCH
        try:
            data = load_image_folder(args.data, size=args.size)  # the default split: explain's and compare's
        except ImageFolderError as error:
            print(f"error: --data {args.data}: {error}", file=sys.stderr)
            return 1
    dtype = np.float32 if args.float32 else np.float64
    data = _cast(data, dtype)
    nn.init.manual_seed(args.seed)
    try:
        model = build(arch, data.input_shape, data.n_classes).to(dtype)
    except ValueError as error:  # e.g. images too small for the architecture
        parser.error(f"--model {arch}: {error}")
    print(f"training {arch} on {data}" + (f", classes {data.classes}" if args.data else ""), file=sys.stderr)
    history = train(model, data, args.epochs, args.lr, args.batch_size, args.seed)
    print(f"test accuracy: {history[-1]['test_accuracy']:.4f}")
    if args.out:
        directory = os.path.dirname(os.path.abspath(args.out))
        os.makedirs(directory, exist_ok=True)
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

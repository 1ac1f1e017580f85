"""MNIST for `reproduce deeplift-digits --mnist DIR [--model PATH]`: the user's own IDX files.

Nothing is downloaded: DIR must hold the four files of LeCun's distribution (gzipped or not),
read with `minicnn.data.load_idx_dataset`. The network is the LeNet of the bundled digits model at
MNIST's 1×28×28; `--model` gives its weights (a state_dict .npz, e.g. `mc.save(model.state_dict(),
"lenet_mnist.npz")`), otherwise it is trained here on DIR's 60 000 training images with
`minicnn.train.train` (TRAIN_EPOCHS epochs of Adam; a LeNet train step on a batch of 64 takes a few
milliseconds, so an epoch of 938 steps well under a minute on 2 cores).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Optional

import numpy as np

from ..app.errors import CLIError

if TYPE_CHECKING:  # the engine is imported when an experiment runs
    from minicnn import nn
    from minicnn.data import Dataset

__all__ = ["IDX_FILES", "load_mnist", "mnist_lenet", "TRAIN_EPOCHS"]

IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
TRAIN_EPOCHS, QUICK_TRAIN_EPOCHS = 5, 1
QUICK_TRAIN_IMAGES = 2000


def _find(directory, stem):
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    raise CLIError(f"--mnist {directory}: expected the IDX file {stem} (or {stem}.gz) in it, not found")


def load_mnist(directory: str) -> Dataset:
    """The Dataset of the four IDX files in `directory` (float64 in [0, 1], 10 classes)."""
    from minicnn.data import load_idx_dataset

    if not os.path.isdir(directory):
        raise CLIError(f"--mnist {directory}: expected a directory holding the four MNIST IDX files, not found")
    paths = [_find(directory, stem) for stem in IDX_FILES]
    try:
        return load_idx_dataset(*paths, classes=[str(d) for d in range(10)], name="mnist")
    except ValueError as error:
        raise CLIError(f"--mnist {directory}: {error}") from None


def mnist_lenet(data: Dataset, model_path: Optional[str] = None, quick: bool = False, seed: int = 0
                ) -> tuple[nn.Module, str]:
    """(LeNet for data's input shape in eval mode, how it was obtained): the weights of `model_path`,
    or trained on data's training set (a 2000-image subset and one epoch when quick)."""
    import minicnn as mc
    from minicnn import nn
    from minicnn.models import LeNet
    from minicnn.train import evaluate, train

    mc.manual_seed(seed)  # the initial weights, when they are trained here
    channels, height, width = data.input_shape  # MNIST's (1, 28, 28)
    model = LeNet((channels, height, width), data.n_classes)
    if model_path is not None:
        if not os.path.isfile(model_path):
            raise CLIError(f"--model {model_path}: weights file not found")
        try:
            model.load_state_dict(mc.load(model_path))
        except (ValueError, OSError, nn.StateDictError) as error:
            raise CLIError(f"--model {model_path}: not LeNet weights for input {data.input_shape} with "
                           f"{data.n_classes} classes: {str(error).splitlines()[0]}") from None
        how = f"weights {model_path}"
    else:
        subset = data
        if quick:
            from minicnn.data import Dataset

            keep = np.random.default_rng(seed).permutation(len(data.x_train))[:QUICK_TRAIN_IMAGES]
            subset = Dataset(data.x_train[keep], data.y_train[keep], data.x_test, data.y_test, data.classes,
                             name=data.name)
        epochs = QUICK_TRAIN_EPOCHS if quick else TRAIN_EPOCHS
        train(model, subset, epochs=epochs, lr=1e-3, seed=seed, progress=False)
        how = f"trained here: {epochs} epoch(s) of Adam (lr 1e-3) on {len(subset.x_train)} training images, seed {seed}"
    model.eval()
    return model, f"{how}; test accuracy {evaluate(model, data.x_test, data.y_test):.1%}"

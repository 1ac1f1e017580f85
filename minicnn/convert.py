"""Convert weights to .npz or .safetensors, and check them against an architecture.

    python -m minicnn.convert resnet18-f37072fd.pth resnet18.safetensors --arch resnet18
    python -m minicnn.convert lenet.safetensors lenet.npz --arch lenet --input-shape 1,16,16

The source may be a PyTorch checkpoint (.pth, .pt, .bin, .ckpt; read only with
``torch.load(weights_only=True)``, so this step needs torch), a .safetensors or an .npz file; the
target is an .npz or a .safetensors file, written atomically. Run the conversion once on a
machine with torch; afterwards `minicnn.load` reads the result without torch and without pickle.

With ``--arch`` the weights are first loaded into that architecture, so a file for another
network (or another number of classes) is reported before anything is written: one line for the
missing keys, one for the unexpected keys, one for the shape mismatches. Architectures are
torchvision's ImageNet ones in `minicnn.models.IMAGENET` (built as ``f(num_classes=...)``) and
the small nets in `minicnn.models.ARCHITECTURES`, which also need ``--input-shape C,H,W``.
``num_classes`` is read off the classifier weight in the file unless ``--num-classes`` is given.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from .interop import load_torch_checkpoint
from .io import FORMATS, load, save
from .nn import Module, StateDictError
from .typing import PathLike, StateDict

__all__ = ["convert", "read_weights", "build_architecture", "architectures", "ConversionError", "main"]

_TORCH_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt", ".tar")
_DEFAULT_CLASSES = {"imagenet": 1000, "small": 10}


class ConversionError(ValueError):
    """The weights do not fit the architecture; `problems` has one line per kind of problem."""

    def __init__(self, message: str, problems: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


def architectures() -> dict[str, tuple[Callable[..., Module], str]]:
    """{name: (constructor, kind)}: kind "imagenet" (``f(num_classes=...)``, from
    `minicnn.models.IMAGENET`) or "small" (``f(input_shape, num_classes)``)."""
    from . import models

    found = {name: (ctor, "imagenet") for name, ctor in getattr(models, "IMAGENET", {}).items()}
    found.update({name: (ctor, "small") for name, ctor in models.ARCHITECTURES.items()})
    return found


def read_weights(path: PathLike) -> tuple[StateDict, list[str]]:
    """(state {name: ndarray}, notes): a checkpoint, .safetensors or .npz file. The notes are
    what reading it involved (e.g. "stripped the 'module.' prefix"), one line each."""
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix in FORMATS:
        return load(path), []
    if suffix not in _TORCH_SUFFIXES:
        raise ValueError(f"source: expected a {', '.join(_TORCH_SUFFIXES + FORMATS)} file, got {path!r}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        state = load_torch_checkpoint(path)
    return state, [str(w.message).replace(f"load_torch_checkpoint: {path!r}: ", "") for w in caught]


def build_architecture(arch: str, state: StateDict | None = None, num_classes: int | None = None,
                       input_shape: Sequence[int] | None = None) -> tuple[Module, str]:
    """(model, note): an untrained `arch` sized for `state`.

    num_classes -- None reads it off `state`: the first dimension of the weight the model's last
                   layer has (e.g. 'fc.weight' (1000, 512)); without `state`, the default.
    input_shape -- (C, H, W), required by the small architectures, refused by the ImageNet ones.
    """
    known = architectures()
    if arch not in known:
        missing = "" if any(kind == "imagenet" for _, kind in known.values()) else \
            " (this version has no minicnn.models.IMAGENET, so no ImageNet architectures)"
        raise ValueError(f"arch: expected one of {', '.join(sorted(known))}, got {arch!r}{missing}")
    constructor, kind = known[arch]
    if kind == "small" and input_shape is None:
        raise ValueError(f"input_shape: required (C, H, W) for the small architecture {arch!r}, "
                         "e.g. --input-shape 1,16,16")
    if kind == "imagenet" and input_shape is not None:
        raise ValueError(f"input_shape: the ImageNet architecture {arch!r} takes no input shape, got {input_shape}")

    def build(classes: int) -> Module:
        if kind == "imagenet":
            return constructor(num_classes=classes)
        return constructor(tuple(input_shape or ()), classes)  # input_shape is checked above

    default = _DEFAULT_CLASSES[kind]
    model = build(num_classes or default)
    if num_classes is not None or state is None:
        return model, f"num_classes = {num_classes or default}" + ("" if num_classes else " (the default)")
    key = _classifier_key(model, default)
    if key is None or key not in state or np.ndim(state[key]) < 1:
        return model, f"num_classes = {default} (the default: no classifier weight to read it from)"
    found = int(np.shape(state[key])[0])
    note = f"num_classes = {found} (from {key!r} {tuple(np.shape(state[key]))})"
    return (model if found == default else build(found)), note


def _classifier_key(model, num_classes):
    """The name of the last weight whose first dimension is the number of classes: the output
    layer's (torchvision registers the classifier last in every architecture)."""
    matching = [name for name, weight in model.named_parameters()
                if name.endswith("weight") and weight.ndim >= 1 and weight.shape[0] == num_classes]
    return matching[-1] if matching else None


def convert(source: PathLike, target: PathLike, arch: str | None = None, num_classes: int | None = None,
            input_shape: Sequence[int] | None = None) -> list[str]:
    """Read `source`, check it against `arch` when given, write `target` (.npz / .safetensors).

    Returns the notes (one line each) on what was done. Raises ConversionError, with one line per
    kind of problem in `.problems`, when the weights do not fit `arch`; nothing is written then.
    """
    source, target = os.fspath(source), os.fspath(target)
    if os.path.splitext(target)[1].lower() not in FORMATS:
        raise ValueError(f"target: expected a path ending with {' or '.join(FORMATS)}, got {target!r}")
    if os.path.abspath(source) == os.path.abspath(target):
        raise ValueError(f"target: must differ from the source, got {target!r} for both")
    if not os.path.isfile(source):
        raise FileNotFoundError(f"source: no such file {source!r}")
    state, notes = read_weights(source)
    if arch is not None:
        model, note = build_architecture(arch, state, num_classes, input_shape)
        notes.append(note)
        try:
            model.load_state_dict(state)
        except StateDictError as error:
            raise ConversionError(f"{source} does not match {arch}; {target} not written", error.problems) from None
        notes.append(f"checked against {arch}: every key and shape matches")
    save(state, target)
    count = sum(int(np.size(v)) for v in state.values())
    notes.append(f"wrote {target}: {len(state)} tensors, {count:,} numbers")
    return notes


def _input_shape(text):
    parts = text.split(",")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected C,H,W (three positive integers, e.g. 1,16,16), got {text!r}")
    return shape


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status (0 written, 1 not written)."""
    parser = argparse.ArgumentParser(
        prog="python -m minicnn.convert",
        description="Convert .pth / .safetensors / .npz weights to .npz or .safetensors, optionally "
                    "checking them against an architecture first.")
    parser.add_argument("source", help="weights to read: .pth, .pt, .bin, .ckpt (needs torch), .safetensors or .npz")
    parser.add_argument("target", help="file to write: .npz or .safetensors")
    parser.add_argument("--arch", help="check the keys and shapes against this architecture (e.g. resnet18, lenet)")
    parser.add_argument("--num-classes", type=_positive_int,
                        help="classes of --arch (default: read off the classifier weight in the file)")
    parser.add_argument("--input-shape", type=_input_shape,
                        help="C,H,W of the small architectures (lenet, vgg, resnet)")
    args = parser.parse_args(argv)
    if args.arch is None and (args.num_classes or args.input_shape):
        parser.error("--num-classes and --input-shape need --arch")
    try:
        notes = convert(args.source, args.target, args.arch, args.num_classes, args.input_shape)
    except ConversionError as error:
        print(f"minicnn.convert: {error}:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, OSError, ImportError) as error:
        print(f"minicnn.convert: error: {error}", file=sys.stderr)
        return 1
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())

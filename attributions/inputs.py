"""What every attribution method does first, public so that every method, metric and command
uses the same rules: check x, the target and the baseline; run the model in eval mode; take the
gradient of the target logits.

    x        -- a finite numeric batch (N, ...) with N ≥ 1, cast to the model's dtype (`prepare_input`)
    target   -- an int, or one int per row, each in [0, classes) (`prepare_targets`); None: each
                row's predicted class, the argmax of the model's logits (`explained_targets`)
    baseline -- x′: None (zeros), a scalar, one row, or an array like x (`prepare_baseline`)

It is a module of its own so that each method's file shows only its own idea, and so that code
built on the methods (the metrics, the command line, a new method) can validate its arguments
the same way without reaching into a private module.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence, Union

import numpy as np

import minicnn as mc
from minicnn import nn
from minicnn.validation import check_not_torch, check_not_torch_module

__all__ = [
    "ArrayLike",
    "TargetLike",
    "LayerLike",
    "Explainer",
    "explained_targets",
    "predicted_classes",
    "module_outputs",
    "prepare_input",
    "prepare_targets",
    "prepare_baseline",
    "eval_mode",
    "model_dtype",
    "target_seed",
    "forward_scores",
    "target_gradient",
    "num_classes",
    "check_target_range",
]

# The types the public functions take (type hints only: the checks are the functions below).
# Written out rather than numpy.typing.ArrayLike, whose expansion would fill a page of the API site.
ArrayLike = Union[mc.Tensor, np.ndarray, float, Sequence[Any]]  # a batch x, a baseline, a map, nested lists
TargetLike = Union[int, Sequence[int], np.ndarray, None]  # int, one int per row, or None (predicted class)
LayerLike = Union[str, nn.Module, None]                 # a dotted module name, a Module, or None (default)
Explainer = Callable[..., np.ndarray]                   # an attribution method f(model, x, target, **settings)


def model_dtype(model: nn.Module) -> np.dtype:
    """The dtype of the model's parameters (float64 for a model without parameters)."""
    for p in model.parameters():
        return p.dtype
    return np.dtype(np.float64)


def prepare_input(x: ArrayLike, model: nn.Module, name: str = "x") -> np.ndarray:
    """`x` as a finite float batch of the model's dtype, shape (N, ...) with N ≥ 1 and ≥ 2 axes.
    A PyTorch model or tensor is refused with the `minicnn.interop` call that converts it."""
    check_not_torch_module(model, "model")
    check_not_torch(x, name)
    array = np.asarray(x.data if isinstance(x, mc.Tensor) else x)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a numeric array, got dtype {array.dtype}")
    if array.ndim < 2:
        raise ValueError(
            f"{name}: expected a batch of shape (N, C, H, W) or (N, features), got shape {array.shape}"
        )
    if array.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one row, got an empty batch of shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: contains NaN or inf values")
    return array.astype(model_dtype(model))


def prepare_targets(target: TargetLike, n: int, num_classes: Optional[int] = None) -> np.ndarray:
    """One int class index per row: an int is repeated, a sequence must have N entries.

    Without `num_classes` the upper bound is checked later, against the logits, by
    `check_target_range` (called in `target_seed` and `forward_scores`): no extra forward pass.
    """
    if target is None:
        raise TypeError("target: expected an int or one int per row here (None, the predicted class, needs "
                        "the model: explained_targets)")
    t = np.asarray(target)
    if t.dtype.kind == "f" and np.all(t == np.round(t)):
        t = t.astype(np.int64)
    if t.dtype.kind not in "iu":
        raise TypeError(f"target: expected an int or one int per row, got {target!r}")
    if t.ndim == 0:
        t = np.full(n, int(t), dtype=np.int64)
    elif t.shape != (n,):
        raise ValueError(f"target: expected an int or {n} ints (one per row), got shape {t.shape}")
    if (t < 0).any():
        raise ValueError(f"target: class indices must be ≥ 0, got {t.tolist()}")
    if num_classes is not None:
        check_target_range(t, num_classes)
    return t.astype(np.int64)


def check_target_range(targets: np.ndarray, num_classes: int) -> None:
    """ValueError unless every class index is < num_classes."""
    if (targets >= num_classes).any():
        raise ValueError(f"target: class indices must lie in [0, {num_classes}), got {targets.tolist()}")


def prepare_baseline(baseline: Optional[ArrayLike], x: np.ndarray, name: str = "baseline") -> np.ndarray:
    """The reference x′ broadcast to x's shape: None (zeros), a scalar, one row, or x's shape."""
    if baseline is None:
        return np.zeros_like(x)
    b = np.asarray(baseline.data if isinstance(baseline, mc.Tensor) else baseline)
    if b.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a number or an array, got dtype {b.dtype}")
    if b.ndim == 0 or b.shape == x.shape:
        pass
    elif b.shape == x.shape[1:] or b.shape == (1,) + x.shape[1:]:
        b = b.reshape((1,) + x.shape[1:])
    else:
        raise ValueError(
            f"{name}: expected a scalar, shape {x.shape[1:]} (one row) or {x.shape} (like x), got shape {b.shape}"
        )
    if not np.isfinite(b).all():
        raise ValueError(f"{name}: contains NaN or inf values")
    return np.broadcast_to(b, x.shape).astype(x.dtype)


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Run `model` in eval mode (batch norm on running statistics, no dropout), then restore
    every module's own train/eval flag exactly as the caller had it."""
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in flags:
            module.training = training


def target_seed(logits_shape: Sequence[int], targets: np.ndarray) -> np.ndarray:
    """∂(Σ_n t_n)/∂logits: one-hot at (n, target_n); for a stacked batch [x; x′; …] the targets repeat."""
    if len(logits_shape) != 2:
        raise ValueError(f"model: attribution needs logits of shape (N, classes), got shape {tuple(logits_shape)}")
    check_target_range(targets, logits_shape[1])
    seed = np.zeros(logits_shape)
    n = len(targets)
    repeats = logits_shape[0] // n
    for r in range(repeats):
        seed[r * n + np.arange(n), targets] = 1.0
    return seed


def _check_logits(out: mc.Tensor, model: nn.Module) -> None:
    if out.ndim != 2:
        raise ValueError(
            f"model: attribution needs logits of shape (N, classes), but {type(model).__name__} "
            f"returned shape {out.shape}"
        )


def forward_scores(model: nn.Module, x: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """t_n(x) = logit of class targets[n] for each row (no graph), in eval mode by the caller."""
    with mc.no_grad():
        out = model(mc.Tensor(x))
    _check_logits(out, model)
    check_target_range(targets, out.shape[1])
    return out.data[np.arange(len(x)), np.tile(targets, len(x) // len(targets))]


def target_gradient(model: nn.Module, x: np.ndarray, targets: np.ndarray,
                    rules: Optional[Mapping[type, Callable[..., Any]]] = None) -> tuple[np.ndarray, np.ndarray]:
    """(∂t_n/∂x_n for every row, logits): one forward and one backward pass, parameters' .grad untouched."""
    inp = mc.Tensor(x, requires_grad=True)
    out = model(inp)
    _check_logits(out, model)
    (g,) = mc.grad(out, [inp], grad_outputs=target_seed(out.shape, targets).astype(out.dtype), rules=rules)
    return g, out.data


def num_classes(model: nn.Module, x: np.ndarray) -> int:
    """Number of logits the model produces (one forward pass on the first row)."""
    with mc.no_grad():
        out = model(mc.Tensor(x[:1]))
    _check_logits(out, model)
    return out.shape[1]


def module_outputs(model: nn.Module, row: np.ndarray) -> list[tuple[str, nn.Module, Any]]:
    """[(dotted name, Module, output)] of every submodule for one forward pass of one input row
    (no graph), in the order the modules *finish*: a child before its container, and a module
    used twice appears twice. Grad-CAM reads the execution order from it, Integrated Gradients
    the bytes a row's activations take."""
    finished = []

    def remember(name: str) -> Callable[..., None]:
        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            finished.append((name, module, output))
        return hook

    handles = [module.register_forward_hook(remember(name)) for name, module in model.named_modules() if name]
    try:
        with mc.no_grad():
            model(mc.Tensor(row[None]))
    finally:
        for handle in handles:
            handle.remove()
    return finished


def predicted_classes(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """argmax_c f_c(x_n) for every row: the class the model predicts (eval mode, no graph)."""
    with eval_mode(model), mc.no_grad():
        out = model(mc.Tensor(x))
    _check_logits(out, model)
    return out.data.argmax(axis=1).astype(np.int64)


def explained_targets(model: nn.Module, x: np.ndarray, target: TargetLike) -> np.ndarray:
    """The class to explain for every row of the validated x: `target` as `prepare_targets`,
    or for target=None each row's predicted class (one extra forward pass).

    Captum's target=None means "the model has one output"; on a classifier's (N, classes)
    logits Captum then refuses to run. Ours explains what the model decided, as a student
    looking at a picture expects."""
    if target is None:
        return predicted_classes(model, x)
    return prepare_targets(target, len(x))

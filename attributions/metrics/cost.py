"""Cost: wall time and the number of forward / backward passes an attribution method needs.

Counting, not assuming: a forward pre-hook on the model adds the batch size of every call, and
a wrapper around the engine's backward pass (`minicnn.autograd.backward_pass`, which both
`minicnn.grad` — with or without DeepLIFT's `rules` — and `Tensor.backward` run) adds the batch
size of the seeded output. Dividing by the number of images N gives **passes per image**: a
batch of 50 interpolated inputs counts as 50 forward passes, as it costs about 50 times one
(DeepLIFT's stacked batch [x; x′] counts 2). **Lower is better** for all three numbers.
The counts include any bookkeeping passes a method makes (e.g. the forward passes of IG's
`return_delta`), since that is work too.
"""

# No `from __future__ import annotations` here: the NamedTuple's fields keep real types, which
# the API site (pdoc) can read; string annotations of a NamedTuple cannot be resolved.

import contextlib
import time
from typing import Any, Iterator, NamedTuple, Optional

import numpy as np

import minicnn.autograd as autograd
from minicnn import nn
from minicnn.validation import check_int

from ..inputs import ArrayLike, Explainer, TargetLike
from ._pixels import as_array

__all__ = ["Cost", "PassCounter", "count_passes", "measure_cost"]


class PassCounter:
    """Running totals: rows through the model's forward; backward passes and the rows they propagate."""

    def __init__(self) -> None:
        self.forward_rows = 0
        self.backward_rows = 0
        self.backward_calls = 0


@contextlib.contextmanager
def count_passes(model: Optional[nn.Module] = None) -> Iterator[PassCounter]:
    """Count forward rows of `model` (if given) and backward rows of every backward pass inside the block.

        with count_passes(model) as counter:
            A.integrated_gradients(model, x, y)
        counter.forward_rows, counter.backward_rows
    """
    counter = PassCounter()

    def on_forward(module: nn.Module, inputs: Any) -> None:
        counter.forward_rows += int(inputs[0].shape[0]) if inputs and getattr(inputs[0], "ndim", 0) else 1

    original = autograd.backward_pass

    def counted_backward_pass(roots: Any, grad_roots: Any, *args: Any, **kwargs: Any) -> Any:
        counter.backward_calls += 1
        first: tuple[int, ...] = np.shape(grad_roots[0]) if len(grad_roots) else ()
        counter.backward_rows += int(first[0]) if len(first) else 1
        return original(roots, grad_roots, *args, **kwargs)

    handle = None if model is None else model.register_forward_pre_hook(on_forward)
    autograd.backward_pass = counted_backward_pass
    try:
        yield counter
    finally:
        autograd.backward_pass = original
        if handle is not None:
            handle.remove()


class Cost(NamedTuple):
    """seconds_per_image, forward_per_image, backward_per_image (rows / N), and the raw counter."""

    seconds_per_image: float
    forward_per_image: float
    backward_per_image: float
    counter: PassCounter


def measure_cost(model: nn.Module, x: ArrayLike, target: TargetLike, explain: Explainer,
                 batch_size: Optional[int] = None, repeats: int = 1, warmup: bool = True) -> tuple[np.ndarray, Cost]:
    """Run explain(model, x, target), timed and counted: (attributions, Cost).

    batch_size -- explain at most this many images per call (None: all at once); the
                  attributions are concatenated
    repeats    -- run it this many times and report the *shortest* wall time (other processes on
                  a shared machine only ever add time); the counts are those of one run
    warmup     -- first run it on one row, uncounted, so Numba's compilation is not billed
    """
    if not callable(explain):
        raise TypeError(f"explain: expected a callable (model, x, target) → attributions, got {type(explain).__name__}")
    x = as_array(x, "x")
    n = len(x)
    chunk = n if batch_size is None else check_int(batch_size, "batch_size", 1)
    repeats = check_int(repeats, "repeats", 1)
    targets = np.asarray(target)
    if targets.ndim == 0:
        targets = np.full(n, int(targets))
    elif targets.shape != (n,):
        raise ValueError(f"target: expected an int or {n} ints (one per row), got shape {targets.shape}")

    def run():
        return np.concatenate([np.asarray(explain(model, x[s:s + chunk], targets[s:s + chunk]))
                               for s in range(0, n, chunk)])

    if warmup:
        explain(model, x[:1], targets[:1])
    best = np.inf
    for r in range(repeats):
        with count_passes(model) as counted:
            start = time.perf_counter()
            result = run()
            best = min(best, time.perf_counter() - start)
        if r == 0:
            attributions, counter = result, counted
    return attributions, Cost(best / n, counter.forward_rows / n, counter.backward_rows / n, counter)

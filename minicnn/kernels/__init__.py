"""The engine's heavy arithmetic, behind one switch: the plain NumPy path or the fast one.

Two backends implement the same functions with the same signatures:

- ``reference`` (``minicnn/kernels/reference.py``): plain NumPy, short and readable, the spec;
- ``fast`` (``minicnn/kernels/fast/``): Numba kernels that spread the work over all cores and
  call BLAS from inside Numba; the default.

The ops in ``minicnn/ops/`` call the functions of this module, which run them on the active
backend. Switch the whole engine with

    minicnn.kernels.use("reference")              # from now on
    with minicnn.kernels.use("reference"): ...    # for one block, then back
    MINICNN_KERNELS=reference python ...          # for a whole process

so a student can step through the readable code in a debugger, and the tests can compare the
two on whole models. The reference twins are also importable by their old names
(``conv2d_forward_reference`` …). All functions take NCHW float32/float64 ndarrays, trust their
caller (the ops validate every argument), and return arrays of the input dtype.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from . import reference
from .windows import output_size

__all__ = [
    "use", "active_backend", "BACKENDS",
    "linear_forward", "linear_backward_input", "linear_backward_weight",
    "conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight",
    "max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward", "avg_pool2d_backward",
    "adaptive_avg_pool2d_forward", "adaptive_avg_pool2d_backward",
    "bilinear_resize_forward", "bilinear_resize_backward",
    "relu_forward", "relu_backward", "channel_affine_forward", "channel_affine_backward",
    "conv2d_forward_reference", "conv2d_backward_input_reference",
    "conv2d_backward_weight_reference",
    "max_pool2d_forward_reference", "max_pool2d_backward_reference",
    "avg_pool2d_forward_reference", "avg_pool2d_backward_reference",
    "bilinear_resize_forward_reference", "bilinear_resize_backward_reference",
    "relu_forward_reference", "relu_backward_reference",
    "output_size", "one_blas_thread",
]

BACKENDS = ("fast", "reference")
ENVIRONMENT_VARIABLE = "MINICNN_KERNELS"


def _backend_name(name, source):
    if name not in BACKENDS:
        raise ValueError(f"{source} must be one of {', '.join(map(repr, BACKENDS))}, got {name!r}")
    return name


_active = _backend_name(os.environ.get(ENVIRONMENT_VARIABLE, "fast"), ENVIRONMENT_VARIABLE)
_modules = {"reference": reference}


def _module(name):
    """The backend's module; the fast one is imported when the engine loads unless the process
    starts on the reference backend (MINICNN_KERNELS=reference), which then never starts Numba."""
    if name not in _modules:
        _modules[name] = importlib.import_module(f".{name}", __name__)
    return _modules[name]


# The fast backend (its Numba settings included) loads with the engine unless the reference backend
# was chosen: Numba's threading layer must be chosen before anything starts Numba's threads, and
# a user's own `numba.get_num_threads()` would start them with Numba's default priority, which
# puts OpenMP before workqueue: OpenMP made PyTorch's float64 step 10x slower in the same
# process (docs/performance.md).
if _active == "fast":
    _module("fast")


def active_backend() -> str:
    """The name of the backend the engine runs on now: "fast" or "reference"."""
    return _active


class use:
    """Switch the whole engine to a backend: ``use("reference")`` from now on, or
    ``with use("reference"): ...`` for one block (the previous backend comes back after it,
    even when the block raises)."""

    def __init__(self, backend: str) -> None:
        global _active
        self.backend = _backend_name(backend, "backend")
        self.previous = _active
        _module(self.backend)
        _active = self.backend

    def __enter__(self) -> use:
        return self

    def __exit__(self, *exc: object) -> None:  # None: an exception in the block propagates
        global _active
        _active = self.previous

    def __repr__(self) -> str:
        return f"use({self.backend!r})"


def _on_active_backend(name: str) -> Callable[..., np.ndarray]:
    """The kernel `name`, run on whichever backend is active at call time."""
    spec = getattr(reference, name)

    def kernel(*args: Any, **kwargs: Any) -> np.ndarray:
        return getattr(_module(_active), name)(*args, **kwargs)

    kernel.__name__ = kernel.__qualname__ = name
    kernel.__doc__ = f"{spec.__doc__}\n\nRuns on the active backend (see minicnn.kernels.use)."
    return kernel


linear_forward = _on_active_backend("linear_forward")
linear_backward_input = _on_active_backend("linear_backward_input")
linear_backward_weight = _on_active_backend("linear_backward_weight")
conv2d_forward = _on_active_backend("conv2d_forward")
conv2d_backward_input = _on_active_backend("conv2d_backward_input")
conv2d_backward_weight = _on_active_backend("conv2d_backward_weight")
max_pool2d_forward = _on_active_backend("max_pool2d_forward")
max_pool2d_backward = _on_active_backend("max_pool2d_backward")
avg_pool2d_forward = _on_active_backend("avg_pool2d_forward")
avg_pool2d_backward = _on_active_backend("avg_pool2d_backward")
adaptive_avg_pool2d_forward = _on_active_backend("adaptive_avg_pool2d_forward")
adaptive_avg_pool2d_backward = _on_active_backend("adaptive_avg_pool2d_backward")
bilinear_resize_forward = _on_active_backend("bilinear_resize_forward")
bilinear_resize_backward = _on_active_backend("bilinear_resize_backward")
relu_forward = _on_active_backend("relu_forward")
relu_backward = _on_active_backend("relu_backward")
channel_affine_forward = _on_active_backend("channel_affine_forward")
channel_affine_backward = _on_active_backend("channel_affine_backward")

# The reference twins by the names the tests, benchmarks and tutorials have always used.
conv2d_forward_reference = reference.conv2d_forward
conv2d_backward_input_reference = reference.conv2d_backward_input
conv2d_backward_weight_reference = reference.conv2d_backward_weight
max_pool2d_forward_reference = reference.max_pool2d_forward
max_pool2d_backward_reference = reference.max_pool2d_backward
avg_pool2d_forward_reference = reference.avg_pool2d_forward
avg_pool2d_backward_reference = reference.avg_pool2d_backward
bilinear_resize_forward_reference = reference.bilinear_resize_forward
bilinear_resize_backward_reference = reference.bilinear_resize_backward
relu_forward_reference = reference.relu_forward
relu_backward_reference = reference.relu_backward


def one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    """The fast backend's context manager that keeps BLAS single-threaded (fast/threads.py)."""
    return _module("fast").one_blas_thread()

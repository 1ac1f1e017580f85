"""Numba kernels for the engine's heavy ops: convolution (im2col and Winograd), pooling,
bilinear resizing and ReLU.

Pure array functions on NCHW float32/float64 ndarrays (no Tensor, no autograd), with PyTorch
semantics. Every fast function ``f`` has a plain NumPy twin ``f_reference`` with the same
signature: the readable spec and the test oracle. The output dtype is always the input dtype.
"""

import os

import numba

# Numba's threading layer. Its OpenMP layer starts a parallel loop in about 1 µs, the "workqueue"
# layer in about 90 µs here, but OpenMP threads busy-wait after every loop, and next to another
# OpenMP runtime in the same process (PyTorch's, when attributions are cross-checked against
# Captum) PyTorch's float64 train step ran 15x slower; with OpenBLAS's multi-threaded GEMMs it
# made convolutions 5-20x slower. So we use "workqueue", whose threads sleep, and keep the
# kernels serial below a size where starting threads pays (`_threads.SMALL_WORK`,
# `_threads.PARALLEL_MACS`). It only takes effect if no Numba parallel code ran yet in this
# process, and an explicit NUMBA_THREADING_LAYER from the user always wins.
if "NUMBA_THREADING_LAYER" not in os.environ and numba.config.THREADING_LAYER == "default":
    numba.config.THREADING_LAYER = "workqueue"


# Where the compiled kernels are cached (``cache=True``). Numba tries, in order: NUMBA_CACHE_DIR,
# the ``__pycache__`` next to this file, then a user-wide directory ($XDG_CACHE_HOME or
# ~/.cache, "numba" inside). A read-only install (site-packages owned by root) therefore already
# caches in ~/.cache/numba. Only when none of them is writable (read-only package *and* no
# writable home, e.g. a service account or a locked-down container) does Numba refuse to import
# a ``cache=True`` function at all ("no locator available"); then we point it at a per-user
# directory under the system temp dir. An explicit NUMBA_CACHE_DIR always wins.
def _writable_dir(path):
    """True if ``path`` exists or can be created, and a file can be written in it (Numba's test)."""
    import tempfile

    try:
        os.makedirs(path, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
        return True
    except OSError:
        return False


def _ensure_numba_cache_dir():
    if numba.config.CACHE_DIR:
        return
    if _writable_dir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__")):
        return
    try:  # the same directory Numba's UserWideCacheLocator would use
        from numba.misc.appdirs import AppDirs

        user_cache = AppDirs(appname="numba", appauthor=False).user_cache_dir
    except ImportError:
        user_cache = os.path.join(os.getenv("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "numba")
    if _writable_dir(user_cache):
        return
    import tempfile

    uid = os.getuid() if hasattr(os, "getuid") else "user"
    numba.config.CACHE_DIR = os.path.join(tempfile.gettempdir(), f"minicnn-numba-cache-{uid}")


_ensure_numba_cache_dir()

from .conv import (
    conv2d_backward_input,
    conv2d_backward_input_reference,
    conv2d_backward_weight,
    conv2d_backward_weight_reference,
    conv2d_forward,
    conv2d_forward_reference,
)
from .pool import (
    avg_pool2d_backward,
    avg_pool2d_backward_reference,
    avg_pool2d_forward,
    avg_pool2d_forward_reference,
    max_pool2d_backward,
    max_pool2d_backward_reference,
    max_pool2d_forward,
    max_pool2d_forward_reference,
)
from .resize import (
    bilinear_resize_backward,
    bilinear_resize_backward_reference,
    bilinear_resize_forward,
    bilinear_resize_forward_reference,
)
from .relu import relu_backward, relu_backward_reference, relu_forward, relu_forward_reference
from ._checks import output_size
from ._threads import one_blas_thread

__all__ = [
    "conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight",
    "conv2d_forward_reference", "conv2d_backward_input_reference",
    "conv2d_backward_weight_reference",
    "max_pool2d_forward", "max_pool2d_backward",
    "max_pool2d_forward_reference", "max_pool2d_backward_reference",
    "avg_pool2d_forward", "avg_pool2d_backward",
    "avg_pool2d_forward_reference", "avg_pool2d_backward_reference",
    "bilinear_resize_forward", "bilinear_resize_backward",
    "bilinear_resize_forward_reference", "bilinear_resize_backward_reference",
    "relu_forward", "relu_backward", "relu_forward_reference", "relu_backward_reference",
    "output_size", "one_blas_thread",
]

"""The fast backend: Numba kernels with the signatures of ``minicnn/kernels/reference.py``.

Loading it tunes the process for them, each step documented where it is done and each with an
off switch (the README's speed section says what each one bought):

- ``numba_setup.choose_threading_layer``: Numba's TBB threads (else "workqueue"), which start
  a kernel in microseconds and sleep between kernels instead of spinning
  (NUMBA_THREADING_LAYER overrides);
- ``numba_setup.ensure_cache_dir``: a writable place for the compiled kernels (NUMBA_CACHE_DIR
  overrides);
- ``malloc.tune_malloc``: glibc keeps freed activation buffers for reuse, against thousands of
  page faults per training step (MINICNN_DEFAULT_MALLOC=1 turns it off);
- ``threads.one_blas_thread``: BLAS runs single-threaded inside the engine's GEMMs, which the
  kernels spread over cores themselves.

``minicnn.kernels.use("reference")`` runs the engine without any of this.
"""

from . import numba_setup

numba_setup.choose_threading_layer()
numba_setup.ensure_cache_dir()

from .malloc import tune_malloc  # noqa: E402

tune_malloc()

from .affine import channel_affine_backward, channel_affine_forward  # noqa: E402
from .conv import conv2d_backward_input, conv2d_backward_weight, conv2d_forward  # noqa: E402
from .linear import linear_backward_input, linear_backward_weight, linear_forward  # noqa: E402
from .pool import (  # noqa: E402
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)
from .relu import relu_backward, relu_forward  # noqa: E402

# Adaptive average pooling is at most 49 vectorised slice means over the whole batch (7×7 bins
# for VGG, 6×6 for AlexNet, 1×1 for the rest), already at NumPy's memory speed: the reference
# formula is also the fast one.
from ..reference import adaptive_avg_pool2d_backward, adaptive_avg_pool2d_forward  # noqa: E402
from .resize import bilinear_resize_backward, bilinear_resize_forward  # noqa: E402
from .threads import one_blas_thread  # noqa: E402

__all__ = [
    "linear_forward", "linear_backward_input", "linear_backward_weight",
    "conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight",
    "max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward", "avg_pool2d_backward",
    "adaptive_avg_pool2d_forward", "adaptive_avg_pool2d_backward",
    "bilinear_resize_forward", "bilinear_resize_backward",
    "relu_forward", "relu_backward", "channel_affine_forward", "channel_affine_backward",
    "one_blas_thread", "tune_malloc",
]

"""Numba kernels for the engine's heavy ops: convolution, pooling and bilinear resizing.

Pure array functions on NCHW float32/float64 ndarrays (no Tensor, no autograd), with PyTorch
semantics. Every fast function ``f`` has a plain NumPy twin ``f_reference`` with the same
signature: the readable spec and the test oracle. The output dtype is always the input dtype.
"""

import os

import numba

# Numba's default OpenMP thread pool busy-waits after every parallel loop. The convolutions
# alternate Numba loops (im2col) with OpenBLAS GEMMs whose threads also want every core; with
# both pools spinning on the same cores a conv ran 5-20x slower in our measurements. The
# "workqueue" layer parks its threads instead. It only takes effect if no Numba parallel code ran
# yet in this process, and an explicit NUMBA_THREADING_LAYER from the user always wins.
if "NUMBA_THREADING_LAYER" not in os.environ and numba.config.THREADING_LAYER == "default":
    numba.config.THREADING_LAYER = "workqueue"

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
from ._checks import output_size

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
    "output_size",
]

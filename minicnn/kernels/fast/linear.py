"""The dense layer's three products, each a single BLAS GEMM run with BLAS single-threaded.

The formulas are those of ``minicnn/kernels/reference.py`` (y = x Wᵀ + b, ∂L/∂x = G W,
∂L/∂W = Gᵀ x). The one difference is `one_blas_thread` (see ``threads.py``): after a
multi-threaded GEMM OpenBLAS keeps a worker spinning for about 0.1 s, which took a core away
from the next Numba convolution kernel of the same training step.
"""

import numpy as np

from .. import reference
from .threads import one_blas_thread

__all__ = ["linear_forward", "linear_backward_input", "linear_backward_weight"]


def linear_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """y = x Wᵀ + b."""
    with one_blas_thread():
        return reference.linear_forward(x, weight, bias)


def linear_backward_input(grad_y: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """∂L/∂x = G W."""
    with one_blas_thread():
        return reference.linear_backward_input(grad_y, weight)


def linear_backward_weight(grad_y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """∂L/∂W = Gᵀ x."""
    with one_blas_thread():
        return reference.linear_backward_weight(grad_y, x)

"""The dense layer y = x Wᵀ + b, derivative beside forward (the products are kernels, so the
reference backend runs them in plain NumPy and the fast one with BLAS single-threaded)."""

from __future__ import annotations

import numpy as np

from .. import kernels
from ..autograd import Function
from ..tensor import Tensor, as_tensor
from ..typing import TensorLike
from .checks import check_bias, check_same_dtype

__all__ = ["Linear", "linear"]


class Linear(Function):
    """y = x Wᵀ + b,  x (N, in), W (out, in), b (out,)  — PyTorch's layout.

    ∂L/∂x = G W,  ∂L/∂W = Gᵀ x,  ∂L/∂b = Σ_n G_n.
    """

    def __init__(self, has_bias: bool) -> None:
        super().__init__()
        self.has_bias = has_bias

    def forward(self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
        self.save_for_backward(x, weight)
        return kernels.linear_forward(x, weight, bias)

    def backward(self, g: np.ndarray) -> tuple:
        x, weight = self.saved
        need = self.needs_input_grad
        grad_x = kernels.linear_backward_input(g, weight) if need[0] else None
        grad_w = kernels.linear_backward_weight(g, x) if need[1] else None
        if not self.has_bias:
            return grad_x, grad_w
        grad_b = g.reshape(-1, g.shape[-1]).sum(axis=0) if need[2] else None
        return grad_x, grad_w, grad_b


def linear(x: TensorLike, weight: TensorLike, bias: TensorLike | None = None) -> Tensor:
    """x Wᵀ + b with W of shape (out, in), as `torch.nn.functional.linear`."""
    x, weight = as_tensor(x, name="linear: x"), as_tensor(weight, name="linear: weight")
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out, in), got shape {weight.shape}")
    if x.ndim < 1 or x.shape[-1] != weight.shape[1]:
        hint = " (did you forget nn.Flatten()?)" if x.ndim > 2 else ""
        raise ValueError(f"linear: expected input of shape (N, {weight.shape[1]}), got {x.shape}{hint}")
    check_same_dtype("linear", x, weight)
    check_bias("linear", bias, weight)
    args = (x, weight) if bias is None else (x, weight, bias)
    return Linear(bias is not None)(*args)

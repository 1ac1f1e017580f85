"""Element-wise arithmetic and matrix multiplication, each derivative beside its forward.

Each op is a `Function` class followed by its lowercase function (`Mul` and `mul`): the function
checks the arguments and runs a fresh node. `a * b` on Tensors calls `mul(a, b)` here.

Binary ops broadcast like NumPy. Broadcasting copies an input along some axes, so the
gradient of that input is the sum over the copies: `unbroadcast` does that sum, once, for all.
Operands of different float dtypes follow PyTorch's promotion (see `autograd.promote_inputs`).
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np

from ..autograd import Function
from ..typing import DTypeLike, TensorLike

if TYPE_CHECKING:  # tensor.py imports the ops
    from ..tensor import Tensor

__all__ = [
    "unbroadcast",
    "Add", "add", "Sub", "sub", "Mul", "mul", "Div", "div", "Neg", "neg", "Pow", "pow",
    "MatMul", "matmul", "Exp", "exp", "Log", "log", "Cast", "cast",
]


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum `grad` down to `shape`: the adjoint of broadcasting an array of `shape` to grad.shape.

    Leading axes that broadcasting added are summed away; axes where `shape` has 1 are summed
    with keepdims.
    """
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


def check_broadcastable(op: str, a: TensorLike, b: TensorLike) -> None:
    """a and b (Tensors, arrays or numbers) must broadcast together."""
    a_shape, b_shape = np.shape(a), np.shape(b)
    try:
        np.broadcast_shapes(a_shape, b_shape)
    except ValueError:
        raise ValueError(f"{op}: shapes {a_shape} and {b_shape} cannot be broadcast together") from None


class Add(Function):
    """y = a + b;  ∂y/∂a = 1, ∂y/∂b = 1."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.save_for_backward(a.shape, b.shape)
        return a + b

    def backward(self, g: np.ndarray) -> tuple:
        a_shape, b_shape = self.saved
        return unbroadcast(g, a_shape), unbroadcast(g, b_shape)


def add(a: TensorLike, b: TensorLike) -> Tensor:
    """a + b (broadcasting)."""
    check_broadcastable("add", a, b)
    return Add()(a, b)


class Sub(Function):
    """y = a − b;  ∂y/∂a = 1, ∂y/∂b = −1."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.save_for_backward(a.shape, b.shape)
        return a - b

    def backward(self, g: np.ndarray) -> tuple:
        a_shape, b_shape = self.saved
        return unbroadcast(g, a_shape), unbroadcast(-g, b_shape)


def sub(a: TensorLike, b: TensorLike) -> Tensor:
    """a − b (broadcasting)."""
    check_broadcastable("sub", a, b)
    return Sub()(a, b)


class Mul(Function):
    """y = a · b;  ∂y/∂a = b, ∂y/∂b = a."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.save_for_backward(a, b)
        return a * b

    def backward(self, g: np.ndarray) -> tuple:
        a, b = self.saved
        return unbroadcast(g * b, a.shape), unbroadcast(g * a, b.shape)


def mul(a: TensorLike, b: TensorLike) -> Tensor:
    """a · b element-wise (broadcasting)."""
    check_broadcastable("mul", a, b)
    return Mul()(a, b)


class Div(Function):
    """y = a / b;  ∂y/∂a = 1/b, ∂y/∂b = −a/b²."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.save_for_backward(a, b)
        return a / b

    def backward(self, g: np.ndarray) -> tuple:
        a, b = self.saved
        return unbroadcast(g / b, a.shape), unbroadcast(-g * a / (b * b), b.shape)


def div(a: TensorLike, b: TensorLike) -> Tensor:
    """a / b element-wise (broadcasting)."""
    check_broadcastable("div", a, b)
    return Div()(a, b)


class Neg(Function):
    """y = −a;  ∂y/∂a = −1."""

    def forward(self, a: np.ndarray) -> np.ndarray:
        return -a

    def backward(self, g: np.ndarray) -> tuple:
        return (-g,)


def neg(a: TensorLike) -> Tensor:
    """−a."""
    return Neg()(a)


class Pow(Function):
    """y = a^p for a constant exponent p;  ∂y/∂a = p · a^(p−1)."""

    def __init__(self, exponent: float) -> None:
        super().__init__()
        self.exponent = exponent

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.save_for_backward(a)
        return a ** self.exponent

    def backward(self, g: np.ndarray) -> tuple:
        (a,) = self.saved
        return (g * self.exponent * a ** (self.exponent - 1),)


def pow(a: TensorLike, exponent: float) -> Tensor:
    """a ** exponent for a constant (number) exponent."""
    if isinstance(exponent, bool) or not isinstance(exponent, numbers.Real):
        raise TypeError(f"pow: exponent must be a number, got {type(exponent).__name__}")
    return Pow(float(exponent))(a)


class MatMul(Function):
    """Y = A @ B (2-D, or batched over leading axes);  ∂L/∂A = G Bᵀ, ∂L/∂B = Aᵀ G."""

    def forward(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        self.save_for_backward(a, b)
        return a @ b

    def backward(self, g: np.ndarray) -> tuple:
        a, b = self.saved
        # Promote vectors to matrices so one formula covers every case, then undo it.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g
        if b.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        grad_a = grad_b = None
        if self.needs_input_grad[0]:
            grad_a = unbroadcast(g2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            grad_b = unbroadcast(np.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape)
        return grad_a, grad_b


def matmul(a: TensorLike, b: TensorLike) -> Tensor:
    """a @ b (2-D, vector or batched matrix product)."""
    a_shape, b_shape = np.shape(a), np.shape(b)
    if len(a_shape) < 1 or len(b_shape) < 1:
        raise ValueError(f"matmul: expected arrays with at least 1 axis, got shapes {a_shape} and {b_shape}")
    if a_shape[-1] != b_shape[-2 if len(b_shape) > 1 else 0]:
        raise ValueError(f"matmul: shapes {a_shape} and {b_shape} do not align")
    try:
        np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
    except ValueError:
        raise ValueError(f"matmul: the batch axes of shapes {a_shape} and {b_shape} cannot be broadcast") from None
    return MatMul()(a, b)


class Exp(Function):
    """y = eᵃ;  ∂y/∂a = eᵃ = y."""

    def forward(self, a: np.ndarray) -> np.ndarray:
        y = np.exp(a)
        self.save_for_backward(y)
        return y

    def backward(self, g: np.ndarray) -> tuple:
        (y,) = self.saved
        return (g * y,)


def exp(a: TensorLike) -> Tensor:
    """eᵃ element-wise."""
    return Exp()(a)


class Log(Function):
    """y = ln a;  ∂y/∂a = 1/a."""

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.save_for_backward(a)
        return np.log(a)

    def backward(self, g: np.ndarray) -> tuple:
        (a,) = self.saved
        return (g / a,)


def log(a: TensorLike) -> Tensor:
    """Natural logarithm element-wise."""
    return Log()(a)


class Cast(Function):
    """y = a converted to another float dtype;  the gradient is cast back."""

    def __init__(self, dtype: DTypeLike) -> None:
        super().__init__()
        self.dtype = np.dtype(dtype)

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.save_for_backward(a.dtype)
        return a.astype(self.dtype)

    def backward(self, g: np.ndarray) -> tuple:
        (source_dtype,) = self.saved
        return (g.astype(source_dtype),)


def cast(a: TensorLike, dtype: DTypeLike) -> Tensor:
    """`a` converted to float32 or float64 (differentiable)."""
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"cast: dtype must be float32 or float64, got {dtype}")
    return Cast(dtype)(a)

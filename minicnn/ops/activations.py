"""Element-wise nonlinearities and the softmax family.

Each backward states the derivative g'(z) of y = g(z); the VJP is grad_output · g'(z).
These are the ops that DeepLIFT's Rescale and RevealCancel rules replace.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import kernels
from ..autograd import Function
from ..typing import TensorLike

if TYPE_CHECKING:  # tensor.py imports the ops
    from ..tensor import Tensor

__all__ = [
    "Relu", "relu", "Clamp", "hardtanh", "relu6", "Sigmoid", "sigmoid", "Tanh", "tanh",
    "Softmax", "softmax", "LogSoftmax", "log_softmax", "stable_sigmoid", "relu_derivative",
]


def relu_derivative(z: np.ndarray) -> np.ndarray:
    """g'(z) = [z > 0] (0 at z = 0, as PyTorch)."""
    return (z > 0).astype(z.dtype)


def stable_sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1/(1+e^(−z)), written so neither branch overflows for |z| large."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


class Relu(Function):
    """y = max(z, 0);  g'(z) = [z > 0].

    The arithmetic is `kernels.relu_forward` / `kernels.relu_backward` (a one-pass Numba
    kernel, or np.maximum(z, 0) and G·[z > 0] on the reference backend)."""

    def forward(self, z: np.ndarray) -> np.ndarray:
        self.save_for_backward(z)
        return kernels.relu_forward(z)

    def backward(self, g: np.ndarray) -> tuple:
        (z,) = self.saved
        return (kernels.relu_backward(np.asarray(g), z),)

    @staticmethod
    def function(z: np.ndarray) -> np.ndarray:
        return np.maximum(z, 0)

    derivative = staticmethod(relu_derivative)


def relu(a: TensorLike) -> Tensor:
    """max(a, 0)."""
    return Relu()(a)


class Clamp(Function):
    """y = min(max(z, low), high)  (Hardtanh; ReLU6 is low = 0, high = 6);
    g'(z) = [low < z < high]  (0 at the kinks, as PyTorch's hardtanh_backward)."""

    def __init__(self, low: float, high: float) -> None:
        super().__init__()
        self.low = low
        self.high = high

    def forward(self, z: np.ndarray) -> np.ndarray:
        self.save_for_backward(z)
        return self.function(z)

    def backward(self, g: np.ndarray) -> tuple:
        (z,) = self.saved
        return (g * self.derivative(z),)

    def function(self, z: np.ndarray) -> np.ndarray:
        return np.clip(z, self.low, self.high)

    def derivative(self, z: np.ndarray) -> np.ndarray:
        return ((z > self.low) & (z < self.high)).astype(z.dtype)


def hardtanh(a: TensorLike, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """min(max(a, min_val), max_val)."""
    for name, value in (("min_val", min_val), ("max_val", max_val)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"hardtanh: {name} must be a number, got {value!r}")
    if not min_val < max_val:
        raise ValueError(f"hardtanh: min_val must be less than max_val, got {min_val} and {max_val}")
    return Clamp(float(min_val), float(max_val))(a)


def relu6(a: TensorLike) -> Tensor:
    """min(max(a, 0), 6) (MobileNetV2's activation)."""
    return Clamp(0.0, 6.0)(a)


class Sigmoid(Function):
    """y = σ(z) = 1/(1+e^(−z));  g'(z) = σ(z)(1 − σ(z)) = y(1 − y)."""

    def forward(self, z: np.ndarray) -> np.ndarray:
        y = stable_sigmoid(z)
        self.save_for_backward(y)
        return y

    def backward(self, g: np.ndarray) -> tuple:
        (y,) = self.saved
        return (g * y * (1 - y),)

    function = staticmethod(stable_sigmoid)

    @staticmethod
    def derivative(z: np.ndarray) -> np.ndarray:
        s = stable_sigmoid(z)
        return s * (1 - s)


def sigmoid(a: TensorLike) -> Tensor:
    """1 / (1 + e^(−a))."""
    return Sigmoid()(a)


class Tanh(Function):
    """y = tanh z;  g'(z) = 1 − tanh²z = 1 − y²."""

    def forward(self, z: np.ndarray) -> np.ndarray:
        y = np.tanh(z)
        self.save_for_backward(y)
        return y

    def backward(self, g: np.ndarray) -> tuple:
        (y,) = self.saved
        return (g * (1 - y * y),)

    function = staticmethod(np.tanh)

    @staticmethod
    def derivative(z: np.ndarray) -> np.ndarray:
        return 1 - np.tanh(z) ** 2


def tanh(a: TensorLike) -> Tensor:
    """tanh(a)."""
    return Tanh()(a)


class _AlongAxis(Function):
    def __init__(self, axis: int) -> None:
        super().__init__()
        self.axis = axis


class Softmax(_AlongAxis):
    """y_i = e^(z_i) / Σ_j e^(z_j) along `axis`;  ∂L/∂z = y ⊙ (g − Σ_j g_j y_j).

    The max is subtracted first: softmax is unchanged by a shift and e^(z − max) never overflows.
    """

    def forward(self, z: np.ndarray) -> np.ndarray:
        e = np.exp(z - z.max(axis=self.axis, keepdims=True))
        y = e / e.sum(axis=self.axis, keepdims=True)
        self.save_for_backward(y)
        return y

    def backward(self, g: np.ndarray) -> tuple:
        (y,) = self.saved
        return (y * (g - (g * y).sum(axis=self.axis, keepdims=True)),)


def softmax(a: TensorLike, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """e^(a_i) / Σ_j e^(a_j) along `axis` (or PyTorch's `dim`)."""
    return Softmax(_one_axis("softmax", a, axis if dim is None else dim))(a)


class LogSoftmax(_AlongAxis):
    """y_i = z_i − log Σ_j e^(z_j) along `axis`;  ∂L/∂z = g − softmax(z) · Σ_j g_j.

    log Σ e^z is computed as m + log Σ e^(z − m) with m = max z (the log-sum-exp trick), so
    logits of ±1e4 give exact finite results.
    """

    def forward(self, z: np.ndarray) -> np.ndarray:
        shifted = z - z.max(axis=self.axis, keepdims=True)
        y = shifted - np.log(np.exp(shifted).sum(axis=self.axis, keepdims=True))
        self.save_for_backward(np.exp(y))
        return y

    def backward(self, g: np.ndarray) -> tuple:
        (probabilities,) = self.saved
        return (g - probabilities * g.sum(axis=self.axis, keepdims=True),)


def log_softmax(a: TensorLike, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """a_i − log Σ_j e^(a_j) along `axis` (or PyTorch's `dim`), computed stably."""
    return LogSoftmax(_one_axis("log_softmax", a, axis if dim is None else dim))(a)


def _one_axis(op: str, a: TensorLike, axis: Any) -> int:
    ndim = len(np.shape(a))
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral) or not -ndim <= int(axis) < max(ndim, 1):
        raise ValueError(f"{op}: axis must be an int in [-{ndim}, {ndim}), got {axis!r}")
    return int(axis)

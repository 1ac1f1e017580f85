"""Element-wise nonlinearities and the softmax family.

Each backward states the derivative g'(z) of y = g(z); the VJP is grad_output · g'(z).
These are the ops that DeepLIFT's Rescale and RevealCancel rules replace.
"""

import numpy as np

from ..autograd import Function
from ..kernels import relu_backward, relu_forward
from ..kernels._checks import FLOAT_DTYPES

__all__ = ["Relu", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "stable_sigmoid", "relu_derivative"]


def relu_derivative(z):
    """g'(z) = [z > 0] (0 at z = 0, as PyTorch)."""
    return (z > 0).astype(z.dtype)


def stable_sigmoid(z):
    """σ(z) = 1/(1+e^(−z)), written so neither branch overflows for |z| large."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


class Relu(Function):
    """y = max(z, 0);  g'(z) = [z > 0].

    Both passes run as Numba kernels (minicnn.kernels.relu) for float32/float64 arrays, one
    pass over the data on all cores; anything else (a NumPy scalar, mixed dtypes) takes the
    NumPy formulas np.maximum(z, 0) and G·[z > 0] that they reproduce."""

    def forward(self, z):
        self.save_for_backward(z)
        if isinstance(z, np.ndarray) and z.dtype in FLOAT_DTYPES:
            return relu_forward(z)
        return np.maximum(z, 0)

    def backward(self, g):
        (z,) = self.saved
        if (isinstance(g, np.ndarray) and isinstance(z, np.ndarray) and g.shape == z.shape
                and g.dtype == z.dtype and z.dtype in FLOAT_DTYPES):
            return (relu_backward(g, z),)
        return (g * relu_derivative(z),)

    @staticmethod
    def function(z):
        return np.maximum(z, 0)

    derivative = staticmethod(relu_derivative)


class Sigmoid(Function):
    """y = σ(z) = 1/(1+e^(−z));  g'(z) = σ(z)(1 − σ(z)) = y(1 − y)."""

    def forward(self, z):
        self.y = stable_sigmoid(z)
        return self.y

    def backward(self, g):
        return (g * self.y * (1 - self.y),)

    function = staticmethod(stable_sigmoid)

    @staticmethod
    def derivative(z):
        s = stable_sigmoid(z)
        return s * (1 - s)


class Tanh(Function):
    """y = tanh z;  g'(z) = 1 − tanh²z = 1 − y²."""

    def forward(self, z):
        self.y = np.tanh(z)
        return self.y

    def backward(self, g):
        return (g * (1 - self.y * self.y),)

    function = staticmethod(np.tanh)

    @staticmethod
    def derivative(z):
        return 1 - np.tanh(z) ** 2


class Softmax(Function):
    """y_i = e^(z_i) / Σ_j e^(z_j) along `axis`;  ∂L/∂z = y ⊙ (g − Σ_j g_j y_j).

    The max is subtracted first: softmax is unchanged by a shift and e^(z − max) never overflows.
    """

    def forward(self, z):
        e = np.exp(z - z.max(axis=self.axis, keepdims=True))
        self.y = e / e.sum(axis=self.axis, keepdims=True)
        return self.y

    def backward(self, g):
        y = self.y
        return (y * (g - (g * y).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    """y_i = z_i − log Σ_j e^(z_j) along `axis`;  ∂L/∂z = g − softmax(z) · Σ_j g_j.

    log Σ e^z is computed as m + log Σ e^(z − m) with m = max z (the log-sum-exp trick), so
    logits of ±1e4 give exact finite results.
    """

    def forward(self, z):
        shifted = z - z.max(axis=self.axis, keepdims=True)
        y = shifted - np.log(np.exp(shifted).sum(axis=self.axis, keepdims=True))
        self.softmax = np.exp(y)
        return y

    def backward(self, g):
        return (g - self.softmax * g.sum(axis=self.axis, keepdims=True),)

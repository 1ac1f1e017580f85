"""Element-wise arithmetic and matrix multiplication, each derivative beside its forward.

Binary ops broadcast like NumPy. Broadcasting copies an input along some axes, so the
gradient of that input is the sum over the copies: `unbroadcast` does that sum, once, for all.
"""

import numpy as np

from ..autograd import Function

__all__ = ["unbroadcast", "Add", "Sub", "Mul", "Div", "Neg", "Pow", "MatMul", "Exp", "Log", "Cast"]


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


def check_broadcastable(op: str, a: np.ndarray, b: np.ndarray):
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{op}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None


class Add(Function):
    """y = a + b;  ∂y/∂a = 1, ∂y/∂b = 1."""

    def forward(self, a, b):
        check_broadcastable("add", a, b)
        self.shapes = (a.shape, b.shape)
        return a + b

    def backward(self, g):
        return unbroadcast(g, self.shapes[0]), unbroadcast(g, self.shapes[1])


class Sub(Function):
    """y = a − b;  ∂y/∂a = 1, ∂y/∂b = −1."""

    def forward(self, a, b):
        check_broadcastable("sub", a, b)
        self.shapes = (a.shape, b.shape)
        return a - b

    def backward(self, g):
        return unbroadcast(g, self.shapes[0]), unbroadcast(-g, self.shapes[1])


class Mul(Function):
    """y = a · b;  ∂y/∂a = b, ∂y/∂b = a."""

    def forward(self, a, b):
        check_broadcastable("mul", a, b)
        self.save_for_backward(a, b)
        return a * b

    def backward(self, g):
        a, b = self.saved
        return unbroadcast(g * b, a.shape), unbroadcast(g * a, b.shape)


class Div(Function):
    """y = a / b;  ∂y/∂a = 1/b, ∂y/∂b = −a/b²."""

    def forward(self, a, b):
        check_broadcastable("div", a, b)
        self.save_for_backward(a, b)
        return a / b

    def backward(self, g):
        a, b = self.saved
        return unbroadcast(g / b, a.shape), unbroadcast(-g * a / (b * b), b.shape)


class Neg(Function):
    """y = −a;  ∂y/∂a = −1."""

    def forward(self, a):
        return -a

    def backward(self, g):
        return (-g,)


class Pow(Function):
    """y = a^p for a constant exponent p;  ∂y/∂a = p · a^(p−1)."""

    def forward(self, a):
        self.save_for_backward(a)
        return a ** self.exponent

    def backward(self, g):
        (a,) = self.saved
        return (g * self.exponent * a ** (self.exponent - 1),)


class MatMul(Function):
    """Y = A @ B (2-D, or batched over leading axes);  ∂L/∂A = G Bᵀ, ∂L/∂B = Aᵀ G."""

    def forward(self, a, b):
        if a.ndim < 1 or b.ndim < 1:
            raise ValueError(f"matmul: expected arrays with at least 1 axis, got shapes {a.shape} and {b.shape}")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align")
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ValueError(f"matmul: the batch axes of shapes {a.shape} and {b.shape} cannot be broadcast") from None
        self.save_for_backward(a, b)
        return a @ b

    def backward(self, g):
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


class Exp(Function):
    """y = eᵃ;  ∂y/∂a = eᵃ = y."""

    def forward(self, a):
        self.y = np.exp(a)
        return self.y

    def backward(self, g):
        return (g * self.y,)


class Log(Function):
    """y = ln a;  ∂y/∂a = 1/a."""

    def forward(self, a):
        self.save_for_backward(a)
        return np.log(a)

    def backward(self, g):
        (a,) = self.saved
        return (g / a,)


class Cast(Function):
    """y = a converted to another float dtype;  the gradient is cast back."""

    def forward(self, a):
        self.source_dtype = a.dtype
        return a.astype(self.dtype)

    def backward(self, g):
        return (g.astype(self.source_dtype),)

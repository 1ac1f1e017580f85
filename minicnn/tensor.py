"""`Tensor`: an ndarray that remembers how it was computed, so gradients can flow back.

    x = Tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * x).sum()          # builds a graph: Mul -> Sum
    y.backward()               # fills x.grad with ∂y/∂x = 2x

`data` is a plain NumPy array; `grad` is None until a backward pass reaches the tensor.
Integer, bool and list input becomes float64; float32 input stays float32 (so every op that
follows runs in float32 as well).
"""

from __future__ import annotations

import numpy as np

from . import autograd

__all__ = ["Tensor", "as_tensor", "as_float_array"]


def as_float_array(value, dtype=None) -> np.ndarray:
    """`value` as a floating-point ndarray: float32/float64 kept, everything else float64."""
    if isinstance(value, Tensor):
        value = value.data
    array = np.asarray(value)
    if dtype is not None:
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"dtype: expected a floating-point dtype, got {dtype}")
        return array.astype(dtype, copy=False)
    if array.dtype == np.float32 or array.dtype == np.float64:
        return array
    if array.dtype.kind in "biuf":
        return array.astype(np.float64)
    raise TypeError(
        f"Tensor data: expected numbers (bool, int or float), got an array of dtype {array.dtype}"
    )


def as_tensor(value, dtype=None) -> "Tensor":
    """`value` if it is already a Tensor, else a new constant Tensor (requires_grad=False)."""
    if isinstance(value, Tensor):
        return value
    return Tensor(value, dtype=dtype)


class Tensor:
    """An ndarray plus what reverse-mode differentiation needs.

    data           -- np.ndarray (float32 or float64)
    grad           -- np.ndarray of the same shape, or None (filled by `backward`)
    requires_grad  -- whether gradients should flow to this tensor
    creator        -- the `Function` node that produced it (None for leaves)
    """

    __array_priority__ = 1000  # so `ndarray * Tensor` calls Tensor.__rmul__

    def __init__(self, data, requires_grad=False, dtype=None, _copy=True):
        array = as_float_array(data, dtype)
        # Own the data: a Tensor must not change when the caller mutates their array later.
        source = data.data if isinstance(data, Tensor) else data
        if _copy and isinstance(source, np.ndarray) and np.may_share_memory(array, source):
            array = array.copy()
        self.data = array
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.creator = None

    # ---- array-like properties -------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    def __len__(self):
        return len(self.data)

    def numpy(self) -> np.ndarray:
        """The data (not a copy), like `tensor.detach().numpy()` in PyTorch."""
        return self.data

    def item(self) -> float:
        return self.data.item()

    def detach(self) -> "Tensor":
        """The same data, cut from the graph."""
        return Tensor(self.data, _copy=False)

    def astype(self, dtype) -> "Tensor":
        return ops.cast(self, dtype)

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        body = np.array2string(self.data, precision=4, threshold=20, prefix="Tensor(")
        return f"Tensor({body}, dtype={self.dtype}{grad})"

    # ---- autodiff -------------------------------------------------------------------------
    def backward(self, grad=None):
        """Accumulate ∂self/∂leaf into `leaf.grad` for every leaf with requires_grad.

        `grad` is the seed ∂L/∂self; it may be omitted only for a one-element tensor (a loss).
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad (no input had requires_grad=True, "
                "or it was computed under no_grad())"
            )
        if grad is None:
            if self.size != 1:
                raise RuntimeError(
                    f"backward: grad must be given for a non-scalar tensor of shape {self.shape}"
                )
            grad = np.ones_like(self.data)
        grad = as_float_array(grad, self.dtype)
        if grad.shape != self.shape:
            raise ValueError(f"backward: grad has shape {grad.shape}, expected {self.shape}")
        autograd.backward_pass([self], [grad])

    def zero_grad(self):
        self.grad = None

    # ---- operators: each calls the op's function, which sits beside its class in ops/ -----
    def __add__(self, other):
        return ops.add(self, other)

    def __radd__(self, other):
        return ops.add(other, self)

    def __sub__(self, other):
        return ops.sub(self, other)

    def __rsub__(self, other):
        return ops.sub(other, self)

    def __mul__(self, other):
        return ops.mul(self, other)

    def __rmul__(self, other):
        return ops.mul(other, self)

    def __truediv__(self, other):
        return ops.div(self, other)

    def __rtruediv__(self, other):
        return ops.div(other, self)

    def __neg__(self):
        return ops.neg(self)

    def __pow__(self, exponent):
        return ops.pow(self, exponent)

    def __matmul__(self, other):
        return ops.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.matmul(other, self)

    def __getitem__(self, index):
        return ops.getitem(self, index)

    # Comparisons give plain boolean arrays: they have no gradient.
    def __lt__(self, other):
        return self.data < _raw(other)

    def __le__(self, other):
        return self.data <= _raw(other)

    def __gt__(self, other):
        return self.data > _raw(other)

    def __ge__(self, other):
        return self.data >= _raw(other)

    __hash__ = object.__hash__  # tensors are graph nodes: identity, not value, matters

    # ---- methods mirroring functional ops -------------------------------------------------
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return ops.sum(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return ops.mean(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return ops.max(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.reshape(self, shape)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return ops.transpose(self, axes or None)

    @property
    def T(self):
        return ops.transpose(self, None)

    def flatten(self, start_dim=0, end_dim=-1):
        """All axes merged by default, as `torch.Tensor.flatten`; `x.flatten(1)` keeps the batch axis."""
        return ops.flatten(self, start_dim, end_dim)

    def exp(self):
        return ops.exp(self)

    def log(self):
        return ops.log(self)

    def relu(self):
        return ops.relu(self)

    def sigmoid(self):
        return ops.sigmoid(self)

    def tanh(self):
        return ops.tanh(self)


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


# Imported last: the ops build on Tensor, and Tensor's operators call the ops.
from . import ops  # noqa: E402

"""`Tensor`: an ndarray that remembers how it was computed, so gradients can flow back.

    x = Tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * x).sum()          # builds a graph: Mul -> Sum
    y.backward()               # fills x.grad with ∂y/∂x = 2x

`data` is a plain NumPy array; `grad` is None until a backward pass reaches the tensor.
Integer, bool and list input becomes float64; float32 input stays float32 (so every op that
follows runs in float32 as well).

NumPy's names and PyTorch's work side by side: `x.sum(axis=1, keepdims=True)` is
`x.sum(dim=1, keepdim=True)`; `x.reshape(2, -1)` is `x.view(2, -1)`; `x.transpose(0, 2, 1)` is
`x.permute(0, 2, 1)`; `x.shape` is `x.size()` (a tuple) and `x.size` (NumPy's element count)
is `x.numel()`. Two differences remain where the same spelling means different things:
`x.max(1)` reduces like NumPy (one Tensor) while `x.max(dim=1)` returns (values, indices)
like `torch.max`; `x.transpose(0, 1)` takes a full permutation like NumPy (PyTorch's swaps two
axes: write `x.permute(...)` to mean the same thing in both).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from . import autograd
from .typing import ArrayLike, Axis, DTypeLike, FloatArray, Shape, TensorLike
from .validation import check_not_torch, torch_kind

__all__ = ["Tensor", "as_tensor", "as_float_array", "ElementCount"]


def as_float_array(value: TensorLike, dtype: DTypeLike | None = None, name: str = "data") -> FloatArray:
    """`value` as a floating-point ndarray: float32/float64 kept, everything else float64.
    A torch tensor is refused (with the conversion to use), `name` names it in the message."""
    if isinstance(value, Tensor):
        value = value.data
    check_not_torch(value, name)
    array = np.asarray(value)
    if dtype is not None:
        if torch_kind(dtype) is not None:  # NumPy would say "Cannot interpret 'torch.float32' as a data type"
            raise TypeError(f"dtype: expected a NumPy dtype such as np.float32 or np.float64, got {dtype}")
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


def as_tensor(value: TensorLike, dtype: DTypeLike | None = None, name: str = "input") -> Tensor:
    """`value` if it is already a Tensor, else a new constant Tensor (requires_grad=False);
    `name` is the argument an error message names."""
    if isinstance(value, Tensor):
        return value
    check_not_torch(value, name)
    return Tensor(value, dtype=dtype)


class ElementCount(int):
    """`tensor.size`: NumPy's number of elements (an int: `x.size == 6`) that is also PyTorch's
    `size()` method: `x.size()` is the shape as a plain tuple (torch returns torch.Size, a tuple
    subclass) and `x.size(d)` the length of axis d, an int (negative d counts from the end)."""

    shape: Shape

    def __new__(cls, shape: Shape) -> ElementCount:
        count = super().__new__(cls, int(np.prod(shape, dtype=np.int64)))
        count.shape = tuple(int(s) for s in shape)
        return count

    def __call__(self, dim: int | None = None) -> Any:  # the shape, or one int
        if dim is None:
            return self.shape
        ndim = len(self.shape)
        if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) or not -ndim <= int(dim) < ndim:
            raise IndexError(f"size: dim must be an int in [-{ndim}, {ndim - 1}], got {dim!r}")
        return self.shape[dim]


class Tensor:
    """An ndarray plus what reverse-mode differentiation needs.

    data           -- np.ndarray (float32 or float64)
    grad           -- np.ndarray of the same shape, or None (filled by `backward`)
    requires_grad  -- whether gradients should flow to this tensor
    creator        -- the `Function` node that produced it (None for leaves)
    """

    __array_priority__ = 1000  # so `ndarray * Tensor` calls Tensor.__rmul__

    data: FloatArray
    grad: FloatArray | None
    requires_grad: bool
    creator: autograd.Function | None

    def __init__(self, data: TensorLike, requires_grad: bool = False, dtype: DTypeLike | None = None,
                 _copy: bool = True) -> None:
        array = as_float_array(data, dtype, name="Tensor: data")
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
    def shape(self) -> Shape:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> ElementCount:
        """The number of elements (NumPy's `size`), callable as PyTorch's `size()` / `size(d)`."""
        return ElementCount(self.data.shape)

    def numel(self) -> int:
        """The number of elements (PyTorch's name for NumPy's `size`)."""
        return int(self.data.size)

    def __len__(self) -> int:
        return len(self.data)

    def numpy(self) -> FloatArray:
        """The data (not a copy), like `tensor.detach().numpy()` in PyTorch."""
        return self.data

    def item(self) -> float:
        return self.data.item()

    def detach(self) -> Tensor:
        """The same data, cut from the graph."""
        return Tensor(self.data, _copy=False)

    def astype(self, dtype: DTypeLike) -> Tensor:
        return ops.cast(self, dtype)

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        body = np.array2string(self.data, precision=4, threshold=20, prefix="Tensor(")
        return f"Tensor({body}, dtype={self.dtype}{grad})"

    # ---- autodiff -------------------------------------------------------------------------
    def backward(self, grad: ArrayLike | None = None) -> None:
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

    def zero_grad(self) -> None:
        self.grad = None

    # ---- operators: each calls the op's function, which sits beside its class in ops/ -----
    def __add__(self, other: TensorLike) -> Tensor:
        return ops.add(self, other)

    def __radd__(self, other: TensorLike) -> Tensor:
        return ops.add(other, self)

    def __sub__(self, other: TensorLike) -> Tensor:
        return ops.sub(self, other)

    def __rsub__(self, other: TensorLike) -> Tensor:
        return ops.sub(other, self)

    def __mul__(self, other: TensorLike) -> Tensor:
        return ops.mul(self, other)

    def __rmul__(self, other: TensorLike) -> Tensor:
        return ops.mul(other, self)

    def __truediv__(self, other: TensorLike) -> Tensor:
        return ops.div(self, other)

    def __rtruediv__(self, other: TensorLike) -> Tensor:
        return ops.div(other, self)

    def __neg__(self) -> Tensor:
        return ops.neg(self)

    def __pow__(self, exponent: float) -> Tensor:
        return ops.pow(self, exponent)

    def __matmul__(self, other: TensorLike) -> Tensor:
        return ops.matmul(self, other)

    def __rmatmul__(self, other: TensorLike) -> Tensor:
        return ops.matmul(other, self)

    def __getitem__(self, index: Any) -> Tensor:
        return ops.getitem(self, index)

    # Comparisons give plain boolean arrays: they have no gradient.
    def __lt__(self, other: TensorLike) -> np.ndarray:
        return self.data < _raw(other)

    def __le__(self, other: TensorLike) -> np.ndarray:
        return self.data <= _raw(other)

    def __gt__(self, other: TensorLike) -> np.ndarray:
        return self.data > _raw(other)

    def __ge__(self, other: TensorLike) -> np.ndarray:
        return self.data >= _raw(other)

    __hash__ = object.__hash__  # tensors are graph nodes: identity, not value, matters

    # ---- methods mirroring functional ops -------------------------------------------------
    def sum(self, axis: Axis = None, keepdims: bool | None = None, *, dim: Axis = None,
            keepdim: bool | None = None) -> Tensor:
        return ops.sum(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def mean(self, axis: Axis = None, keepdims: bool | None = None, *, dim: Axis = None,
             keepdim: bool | None = None) -> Tensor:
        return ops.mean(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def max(self, axis: Axis = None, keepdims: bool | None = None, *, dim: int | None = None,
            keepdim: bool | None = None) -> Any:  # a Tensor, or MaxResult with dim=
        """NumPy's `max(axis)` gives the Tensor of maxima; PyTorch's `max(dim=d)` gives
        (values, indices), as `torch.max` (see `ops.max`)."""
        return ops.max(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def softmax(self, dim: int) -> Tensor:
        return ops.softmax(self, dim=dim)

    def log_softmax(self, dim: int) -> Tensor:
        return ops.log_softmax(self, dim=dim)

    def reshape(self, *shape: Any) -> Tensor:
        return ops.reshape(self, _sizes(shape))

    def view(self, *shape: Any) -> Tensor:
        """PyTorch's `view`: `x.view(2, -1)` or `x.view((2, -1))`, −1 inferred (see `ops.view`)."""
        return ops.view(self, _sizes(shape))

    def permute(self, *dims: Any) -> Tensor:
        """PyTorch's `permute`: `x.permute(0, 2, 3, 1)`; the same as NumPy's `transpose(axes)`."""
        return ops.permute(self, _sizes(dims))

    def unsqueeze(self, dim: int) -> Tensor:
        """A new axis of length 1 at position `dim` (NumPy's `np.expand_dims`)."""
        return ops.unsqueeze(self, dim)

    def squeeze(self, dim: Axis = None) -> Tensor:
        """Axes of length 1 removed: all of them, or only `dim` (an int or a tuple) if it has
        length 1; `squeeze(d)` on a longer axis returns the tensor unchanged, as PyTorch."""
        return ops.squeeze(self, dim)

    def transpose(self, *axes: Any) -> Tensor:
        return ops.transpose(self, _sizes(axes) or None)

    @property
    def T(self) -> Tensor:
        return ops.transpose(self, None)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """All axes merged by default, as `torch.Tensor.flatten`; `x.flatten(1)` keeps the batch axis."""
        return ops.flatten(self, start_dim, end_dim)

    def exp(self) -> Tensor:
        return ops.exp(self)

    def log(self) -> Tensor:
        return ops.log(self)

    def relu(self) -> Tensor:
        return ops.relu(self)

    def sigmoid(self) -> Tensor:
        return ops.sigmoid(self)

    def tanh(self) -> Tensor:
        return ops.tanh(self)


def _sizes(args: tuple) -> tuple:
    """Sizes given one by one, `view(2, 3)`, or as one sequence, `view((2, 3))`, as a tuple."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def _raw(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


# Imported last: the ops build on Tensor, and Tensor's operators call the ops.
from . import ops  # noqa: E402

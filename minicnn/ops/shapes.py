"""Ops that only move values around: reshape, transpose, concatenate, indexing.

Their gradients move the values back: the inverse reshape, the inverse permutation, the
split, and a scatter-add into zeros (an index may pick the same element twice).
PyTorch's spellings are functions here too, each one of the two ops: `view`, `unsqueeze` and
`squeeze` are reshapes, `permute` is a transpose.
"""

from __future__ import annotations

import builtins
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..autograd import Function
from ..typing import Axis, Shape, TensorLike

if TYPE_CHECKING:  # tensor.py imports the ops
    from ..tensor import Tensor

__all__ = [
    "Reshape", "reshape", "view", "flatten", "unsqueeze", "squeeze", "Transpose", "transpose", "permute",
    "Concatenate", "concatenate", "cat", "GetItem", "getitem", "check_dim",
]


class Reshape(Function):
    """y = a viewed with a new shape;  the gradient is reshaped back."""

    def __init__(self, shape: tuple) -> None:
        super().__init__()
        self.shape = shape

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.save_for_backward(a.shape)
        return a.reshape(self.shape)

    def backward(self, g: np.ndarray) -> tuple:
        (input_shape,) = self.saved
        return (g.reshape(input_shape),)


def reshape(a: TensorLike, shape: Sequence[int]) -> Tensor:
    """`a` with a new shape (one entry may be −1)."""
    return Reshape(_checked_shape("reshape", np.shape(a), shape))(a)


def view(a: TensorLike, shape: Sequence[int]) -> Tensor:
    """PyTorch's `Tensor.view`: `a` with a new shape, one entry may be −1 (inferred).

    The same op as `reshape`. One difference: PyTorch's view refuses an input whose memory
    layout it cannot reinterpret (after `permute`, say) and asks for `.reshape`; minicnn keeps
    no strides of its own, so its view copies then, as reshape does.
    """
    return Reshape(_checked_shape("view", np.shape(a), shape))(a)


def _checked_shape(op: str, old_shape: Shape, new_shape: Sequence[int]) -> Shape:
    """new_shape as a tuple of ints, if an array of old_shape can take it: at most one −1 entry,
    which stands for whatever size is left (NumPy's and PyTorch's rule), the others ≥ 0."""
    new_shape = tuple(new_shape)
    if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in new_shape):
        raise TypeError(f"{op}: shape must be ints, got {new_shape!r}")
    new_shape = tuple(int(s) for s in new_shape)
    size = int(np.prod(old_shape))
    known = int(np.prod([s for s in new_shape if s != -1]))
    if new_shape.count(-1) > 1 or builtins.min(new_shape, default=0) < -1:
        raise ValueError(f"{op}: shape {new_shape} may hold one −1 and sizes ≥ 0 only")
    fits = known > 0 and size % known == 0 if -1 in new_shape else known == size
    if not fits:
        raise ValueError(f"{op}: shape {new_shape} is invalid for an input of shape {tuple(old_shape)} "
                         f"({size} elements)")
    return new_shape


def check_dim(op: str, dim: Any, ndim: int, name: str = "dim") -> int:
    """`dim` as an axis in [0, ndim), negatives counting from the end, as PyTorch (a 0-d input
    takes dim 0 or −1)."""
    bound = builtins.max(ndim, 1)
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) or not -bound <= int(dim) < bound:
        raise IndexError(f"{op}: {name} must be an int in [-{bound}, {bound - 1}], got {dim!r}")
    return int(dim) % bound


def unsqueeze(a: TensorLike, dim: int) -> Tensor:
    """`a` with a new axis of length 1 inserted at `dim` ∈ [−ndim − 1, ndim] (`np.expand_dims`)."""
    shape = tuple(np.shape(a))
    position = check_dim("unsqueeze", dim, len(shape) + 1)
    return Reshape(shape[:position] + (1,) + shape[position:])(a)


def squeeze(a: TensorLike, dim: Axis = None) -> Tensor:
    """`a` without its axes of length 1: all of them (dim=None), or those among `dim` (an int or
    a tuple of ints); a named axis longer than 1 is kept, so `squeeze(x, d)` may change nothing,
    as in PyTorch (NumPy's squeeze raises there)."""
    shape = tuple(np.shape(a))
    if dim is None:
        chosen = set(range(len(shape)))
    else:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        chosen = {check_dim("squeeze", d, len(shape)) for d in dims}
    return Reshape(tuple(s for axis, s in enumerate(shape) if not (axis in chosen and s == 1)))(a)


def flatten(a: TensorLike, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge axes start_dim … end_dim into one, as `torch.flatten`: all axes by default, so
    (N, C, H, W) → (N·C·H·W,); `flatten(x, 1)` gives (N, C·H·W). (`nn.Flatten` keeps the batch
    axis: its start_dim defaults to 1, as in PyTorch.)"""
    shape = np.shape(a)
    ndim = builtins.max(len(shape), 1)
    start = start_dim % ndim if -ndim <= start_dim < ndim else None
    end = end_dim % ndim if -ndim <= end_dim < ndim else None
    if start is None or end is None or start > end:
        raise ValueError(
            f"flatten: start_dim={start_dim} and end_dim={end_dim} do not fit an input of shape {shape}")
    return reshape(a, shape[:start] + (-1,) + shape[end + 1:])


class Transpose(Function):
    """y = a with axes permuted by `perm`;  the gradient uses the inverse permutation."""

    def __init__(self, perm: tuple) -> None:
        super().__init__()
        self.perm = perm

    def forward(self, a: np.ndarray) -> np.ndarray:
        return np.transpose(a, self.perm)

    def backward(self, g: np.ndarray) -> tuple:
        return (np.transpose(g, np.argsort(self.perm)),)


def transpose(a: TensorLike, axes: Sequence[int] | None = None) -> Tensor:
    """`a` with its axes permuted (None reverses them)."""
    ndim = len(np.shape(a))
    perm = tuple(range(ndim))[::-1] if axes is None else tuple(axes)
    if sorted(perm) != list(range(ndim)):
        raise ValueError(f"transpose: axes {axes} is not a permutation of {ndim} axes")
    return Transpose(perm)(a)


def permute(a: TensorLike, dims: Sequence[int]) -> Tensor:
    """PyTorch's `permute`: axis i of the result is axis dims[i] of `a` (negatives count from the
    end); the same op as `transpose(a, dims)`."""
    ndim = len(np.shape(a))
    dims = tuple(dims)
    if len(dims) != ndim:
        raise ValueError(f"permute: dims {dims} has {len(dims)} entries for an input with {ndim} axes")
    perm = tuple(check_dim("permute", d, ndim, "dims") for d in dims)
    if len(set(perm)) != ndim:
        raise ValueError(f"permute: dims {dims} names an axis twice")
    return Transpose(perm)(a)


class Concatenate(Function):
    """y = [a₁, a₂, …] joined along `axis`;  the gradient is split back into the pieces."""

    def __init__(self, axis: int) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        self.save_for_backward([a.shape[self.axis] for a in arrays])
        return np.concatenate(arrays, axis=self.axis)

    def backward(self, g: np.ndarray) -> tuple:
        (sizes,) = self.saved
        return tuple(np.split(g, np.cumsum(sizes)[:-1], axis=self.axis))


def concatenate(tensors: Sequence[TensorLike], axis: int = 0) -> Tensor:
    """Join a sequence of tensors along an existing axis."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate: tensors must be a non-empty sequence")
    shapes = [np.shape(t) for t in tensors]
    ndim = len(shapes[0])
    if not -ndim <= axis < builtins.max(ndim, 1):
        raise ValueError(f"concatenate: axis {axis} is out of range for {ndim}-D tensors")
    axis %= builtins.max(ndim, 1)
    if any(len(s) != ndim or s[:axis] + s[axis + 1:] != shapes[0][:axis] + shapes[0][axis + 1:] for s in shapes):
        raise ValueError(f"concatenate: shapes {shapes} cannot be joined along axis {axis}")
    return Concatenate(axis)(*tensors)


def cat(tensors: Sequence[TensorLike], dim: int = 0) -> Tensor:
    """`torch.cat`: `concatenate` with PyTorch's argument name (DenseNet joins along dim=1)."""
    return concatenate(tensors, axis=dim)


class GetItem(Function):
    """y = a[index] (basic or advanced NumPy indexing);  ∂L/∂a = scatter-add of g into zeros."""

    def __init__(self, index: Any) -> None:
        super().__init__()
        self.index = index

    def forward(self, a: np.ndarray) -> np.ndarray:
        self.save_for_backward(a.shape, a.dtype)
        return np.asarray(a[self.index])

    def backward(self, g: np.ndarray) -> tuple:
        input_shape, input_dtype = self.saved
        grad = np.zeros(input_shape, dtype=input_dtype)
        if _is_basic_index(self.index):
            grad[self.index] = g  # slices pick each element at most once: plain assignment
        else:
            np.add.at(grad, self.index, g)  # advanced indices may repeat an element
        return (grad,)


def getitem(a: TensorLike, index: Any) -> Tensor:
    """a[index]: slices, integers, None, Ellipsis, integer or boolean arrays."""
    from ..tensor import Tensor

    if isinstance(index, Tensor):
        index = index.data.astype(np.int64)
    elif isinstance(index, tuple):
        index = tuple(i.data.astype(np.int64) if isinstance(i, Tensor) else i for i in index)
    return GetItem(index)(a)


def _is_basic_index(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)

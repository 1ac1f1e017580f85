"""Ops that only move values around: reshape, transpose, concatenate, indexing.

Their gradients move the values back: the inverse reshape, the inverse permutation, the
split, and a scatter-add into zeros (an index may pick the same element twice).
"""

import builtins

import numpy as np

from ..autograd import Function

__all__ = [
    "Reshape", "reshape", "flatten", "Transpose", "transpose",
    "Concatenate", "concatenate", "cat", "GetItem", "getitem",
]


class Reshape(Function):
    """y = a viewed with a new shape;  the gradient is reshaped back."""

    def __init__(self, shape: tuple):
        super().__init__()
        self.shape = shape

    def forward(self, a):
        self.save_for_backward(a.shape)
        return a.reshape(self.shape)

    def backward(self, g):
        (input_shape,) = self.saved
        return (g.reshape(input_shape),)


def reshape(a, shape):
    """`a` with a new shape (one entry may be −1)."""
    shape = tuple(int(s) for s in shape)
    if not _fits(np.shape(a), shape):
        raise ValueError(f"reshape: cannot reshape an array of shape {np.shape(a)} into {shape}")
    return Reshape(shape)(a)


def _fits(old_shape, new_shape) -> bool:
    """Whether an array of old_shape has the size new_shape asks for (at most one −1 entry,
    which stands for whatever size is left, as NumPy's rule)."""
    size = int(np.prod(old_shape))
    unknown = [s for s in new_shape if s == -1]
    known = int(np.prod([s for s in new_shape if s != -1]))
    if len(unknown) > 1 or any(s < -1 for s in new_shape):
        return False
    if unknown:
        return known > 0 and size % known == 0
    return known == size


def flatten(a, start_dim=0, end_dim=-1):
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

    def __init__(self, perm: tuple):
        super().__init__()
        self.perm = perm

    def forward(self, a):
        return np.transpose(a, self.perm)

    def backward(self, g):
        return (np.transpose(g, np.argsort(self.perm)),)


def transpose(a, axes=None):
    """`a` with its axes permuted (None reverses them)."""
    ndim = len(np.shape(a))
    perm = tuple(range(ndim))[::-1] if axes is None else tuple(axes)
    if sorted(perm) != list(range(ndim)):
        raise ValueError(f"transpose: axes {axes} is not a permutation of {ndim} axes")
    return Transpose(perm)(a)


class Concatenate(Function):
    """y = [a₁, a₂, …] joined along `axis`;  the gradient is split back into the pieces."""

    def __init__(self, axis: int):
        super().__init__()
        self.axis = axis

    def forward(self, *arrays):
        self.save_for_backward([a.shape[self.axis] for a in arrays])
        return np.concatenate(arrays, axis=self.axis)

    def backward(self, g):
        (sizes,) = self.saved
        return tuple(np.split(g, np.cumsum(sizes)[:-1], axis=self.axis))


def concatenate(tensors, axis=0):
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


def cat(tensors, dim=0):
    """`torch.cat`: `concatenate` with PyTorch's argument name (DenseNet joins along dim=1)."""
    return concatenate(tensors, axis=dim)


class GetItem(Function):
    """y = a[index] (basic or advanced NumPy indexing);  ∂L/∂a = scatter-add of g into zeros."""

    def __init__(self, index):
        super().__init__()
        self.index = index

    def forward(self, a):
        self.save_for_backward(a.shape, a.dtype)
        return np.asarray(a[self.index])

    def backward(self, g):
        input_shape, input_dtype = self.saved
        grad = np.zeros(input_shape, dtype=input_dtype)
        if _is_basic_index(self.index):
            grad[self.index] = g  # slices pick each element at most once: plain assignment
        else:
            np.add.at(grad, self.index, g)  # advanced indices may repeat an element
        return (grad,)


def getitem(a, index):
    """a[index]: slices, integers, None, Ellipsis, integer or boolean arrays."""
    from ..tensor import Tensor

    if isinstance(index, Tensor):
        index = index.data.astype(np.int64)
    elif isinstance(index, tuple):
        index = tuple(i.data.astype(np.int64) if isinstance(i, Tensor) else i for i in index)
    return GetItem(index)(a)


def _is_basic_index(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)

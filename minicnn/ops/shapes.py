"""Ops that only move values around: reshape, transpose, concatenate, indexing.

Their gradients move the values back: the inverse reshape, the inverse permutation, the
split, and a scatter-add into zeros (an index may pick the same element twice).
"""

import numpy as np

from ..autograd import Function

__all__ = ["Reshape", "Transpose", "Concatenate", "GetItem"]


class Reshape(Function):
    """y = a viewed with a new shape;  the gradient is reshaped back."""

    def forward(self, a):
        self.input_shape = a.shape
        try:
            return a.reshape(self.shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape an array of shape {a.shape} into {self.shape}") from None

    def backward(self, g):
        return (g.reshape(self.input_shape),)


class Transpose(Function):
    """y = a with axes permuted by `axes` (None: reversed);  the gradient uses the inverse permutation."""

    def forward(self, a):
        self.perm = tuple(range(a.ndim))[::-1] if self.axes is None else tuple(self.axes)
        if sorted(self.perm) != list(range(a.ndim)):
            raise ValueError(f"transpose: axes {self.axes} is not a permutation of {a.ndim} axes")
        return np.transpose(a, self.perm)

    def backward(self, g):
        return (np.transpose(g, np.argsort(self.perm)),)


class Concatenate(Function):
    """y = [a₁, a₂, …] joined along `axis`;  the gradient is split back into the pieces."""

    def forward(self, *arrays):
        self.sizes = [a.shape[self.axis] for a in arrays]
        try:
            return np.concatenate(arrays, axis=self.axis)
        except ValueError as error:
            shapes = [a.shape for a in arrays]
            raise ValueError(f"concatenate: shapes {shapes} cannot be joined along axis {self.axis}: {error}") from None

    def backward(self, g):
        cuts = np.cumsum(self.sizes)[:-1]
        return tuple(np.split(g, cuts, axis=self.axis))


class GetItem(Function):
    """y = a[index] (basic or advanced NumPy indexing);  ∂L/∂a = scatter-add of g into zeros."""

    def forward(self, a):
        self.input_shape = a.shape
        self.input_dtype = a.dtype
        return np.asarray(a[self.index])

    def backward(self, g):
        grad = np.zeros(self.input_shape, dtype=self.input_dtype)
        if _is_basic_index(self.index):
            grad[self.index] = g  # slices pick each element at most once: plain assignment
        else:
            np.add.at(grad, self.index, g)  # advanced indices may repeat an element
        return (grad,)


def _is_basic_index(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)

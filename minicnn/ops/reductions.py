"""Reductions over axes: sum, mean, max. The gradient spreads back over the reduced axes.

`axis` (NumPy's name) and `dim` (PyTorch's) mean the same; so do `keepdims` and `keepdim`.
One exception, PyTorch's own: `max(x, dim=d)` returns the pair (values, indices), as `torch.max`.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ..autograd import Function
from ..typing import Axis, Shape, TensorLike

if TYPE_CHECKING:  # tensor.py imports the ops
    from ..tensor import Tensor

__all__ = ["Sum", "sum", "Mean", "mean", "Max", "max", "MaxResult", "normalize_axis", "axis_argument"]


def normalize_axis(axis: Axis, ndim: int) -> tuple[int, ...]:
    """`axis` (None, int or tuple, negatives allowed) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    result = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"axis: {a} is out of range for an array with {ndim} axes")
        result.append(int(a) % ndim)
    return tuple(sorted(set(result)))


def _expand(g: np.ndarray, shape: Shape, axes: tuple[int, ...], keepdims: bool | None) -> np.ndarray:
    """Reinsert the reduced axes into `g` (if keepdims was False) so it broadcasts to `shape`."""
    if not keepdims:
        g = np.expand_dims(g, axes)
    return np.broadcast_to(g, shape)


def axis_argument(op: str, axis: Axis, dim: Axis, keepdims: bool | None, keepdim: bool | None) -> tuple[Axis, bool]:
    """(axis, keepdims) from NumPy's or PyTorch's argument names (not both of a pair;
    keepdims=None means False)."""
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{op}: give axis or dim, not both")
        axis = dim
    if keepdim is not None:
        if keepdims is not None:
            raise TypeError(f"{op}: give keepdims or keepdim, not both")
        keepdims = keepdim
    return axis, bool(keepdims)


class _Reduction(Function):
    """A reduction over `axis` (None: all axes), keeping the reduced axes as size 1 if `keepdims`."""

    def __init__(self, axis: Axis = None, keepdims: bool = False):
        super().__init__()
        self.axis = axis
        self.keepdims = keepdims


class Sum(_Reduction):
    """y = Σ_axes a;  ∂y/∂a = 1 for every element that was summed."""

    def forward(self, a: np.ndarray) -> np.ndarray:
        axes = normalize_axis(self.axis, a.ndim)
        self.save_for_backward(a.shape, axes)
        return np.asarray(a.sum(axis=axes, keepdims=self.keepdims))

    def backward(self, g: np.ndarray) -> tuple:
        shape, axes = self.saved
        return (_expand(g, shape, axes, self.keepdims).copy(),)  # a writable array, not a view


def sum(a: TensorLike, axis: Axis = None, keepdims: bool | None = None, *, dim: Axis = None,
        keepdim: bool | None = None) -> Tensor:
    """Σ over `axis` (None: all axes)."""
    return Sum(*axis_argument("sum", axis, dim, keepdims, keepdim))(a)


class Mean(_Reduction):
    """y = (1/n) Σ_axes a;  ∂y/∂a = 1/n."""

    def forward(self, a: np.ndarray) -> np.ndarray:
        axes = normalize_axis(self.axis, a.ndim)
        self.save_for_backward(a.shape, axes)
        return np.asarray(a.mean(axis=axes, keepdims=self.keepdims))

    def backward(self, g: np.ndarray) -> tuple:
        shape, axes = self.saved
        count = int(np.prod([shape[i] for i in axes]))
        return (_expand(g, shape, axes, self.keepdims) / count,)


def mean(a: TensorLike, axis: Axis = None, keepdims: bool | None = None, *, dim: Axis = None,
         keepdim: bool | None = None) -> Tensor:
    """Mean over `axis` (None: all axes)."""
    return Mean(*axis_argument("mean", axis, dim, keepdims, keepdim))(a)


class Max(_Reduction):
    """y = max_axes a;  ∂y/∂a = 1 at the maximum, 0 elsewhere.

    When several elements tie for the maximum the gradient is shared equally between them
    (as `torch.amax` does), which keeps the rule symmetric and the sum of the gradient right.
    """

    def forward(self, a: np.ndarray) -> np.ndarray:
        axes = normalize_axis(self.axis, a.ndim)
        y = a.max(axis=axes, keepdims=True)
        self.save_for_backward(a == y, axes)
        y = y if self.keepdims else np.squeeze(y, axis=axes)
        return np.asarray(y)

    def backward(self, g: np.ndarray) -> tuple:
        is_max, axes = self.saved
        counts = is_max.sum(axis=axes, keepdims=True)
        g = g if self.keepdims else np.expand_dims(g, axes)
        return (is_max * g / counts,)


class MaxResult(NamedTuple):
    """What `max(x, dim=d)` returns, as torch.return_types.max: the maxima and where they are
    (an int64 ndarray: minicnn's Tensors hold floats only)."""

    values: Tensor
    indices: np.ndarray


# The fields' hints are strings (`from __future__ import annotations`, and Tensor is only imported
# for the type checker); NamedTuple's generated __new__ belongs to no module, so tools resolving
# them (pdoc, typing.get_type_hints) would look in an empty namespace. Name this module as its home.
MaxResult.__new__.__module__ = __name__


def max(a: TensorLike, axis: Axis = None, keepdims: bool | None = None, *, dim: int | None = None,
        keepdim: bool | None = None) -> Tensor | MaxResult:
    """Maximum over `axis` (None: all axes; an int or a tuple), a Tensor, as `np.max`.

    With PyTorch's `dim=d` (one int) the result is `MaxResult(values, indices)`, as `torch.max`:
    `x.max(dim=1).values` is `x.max(axis=1)`, `.indices` the argmax (the first one on ties).
    Ties share the gradient equally (as `torch.amax`; `torch.max(dim=)` gives it to one index).
    """
    if dim is None:
        return Max(*axis_argument("max", axis, dim, keepdims, keepdim))(a)
    axis, keepdims = axis_argument("max", axis, dim, keepdims, keepdim)
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"max: dim must be one int (torch.max returns values and indices along one axis; "
                        f"use axis= for several), got {dim!r}")
    (axis,) = normalize_axis(dim, len(np.shape(a)))
    values = Max(axis, keepdims)(a)
    indices = np.argmax(np.asarray(getattr(a, "data", a)), axis=axis)
    return MaxResult(values, np.expand_dims(indices, axis) if keepdims else indices)

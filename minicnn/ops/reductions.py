"""Reductions over axes: sum, mean, max. The gradient spreads back over the reduced axes.

`axis` (NumPy's name) and `dim` (PyTorch's) mean the same; so do `keepdims` and `keepdim`.
"""

import numpy as np

from ..autograd import Function

__all__ = ["Sum", "sum", "Mean", "mean", "Max", "max", "normalize_axis", "axis_argument"]


def normalize_axis(axis, ndim: int) -> tuple:
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


def _expand(g, shape, axes, keepdims):
    """Reinsert the reduced axes into `g` (if keepdims was False) so it broadcasts to `shape`."""
    if not keepdims:
        g = np.expand_dims(g, axes)
    return np.broadcast_to(g, shape)


def axis_argument(op, axis, dim, keepdims, keepdim):
    """(axis, keepdims) from NumPy's or PyTorch's argument names (not both of a pair)."""
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{op}: give axis or dim, not both")
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    return axis, bool(keepdims)


class _Reduction(Function):
    """A reduction over `axis` (None: all axes), keeping the reduced axes as size 1 if `keepdims`."""

    def __init__(self, axis=None, keepdims=False):
        super().__init__()
        self.axis = axis
        self.keepdims = keepdims


class Sum(_Reduction):
    """y = Σ_axes a;  ∂y/∂a = 1 for every element that was summed."""

    def forward(self, a):
        axes = normalize_axis(self.axis, a.ndim)
        self.save_for_backward(a.shape, axes)
        return np.asarray(a.sum(axis=axes, keepdims=self.keepdims))

    def backward(self, g):
        shape, axes = self.saved
        return (_expand(g, shape, axes, self.keepdims).copy(),)  # a writable array, not a view


def sum(a, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Σ over `axis` (None: all axes)."""
    return Sum(*axis_argument("sum", axis, dim, keepdims, keepdim))(a)


class Mean(_Reduction):
    """y = (1/n) Σ_axes a;  ∂y/∂a = 1/n."""

    def forward(self, a):
        axes = normalize_axis(self.axis, a.ndim)
        self.save_for_backward(a.shape, axes)
        return np.asarray(a.mean(axis=axes, keepdims=self.keepdims))

    def backward(self, g):
        shape, axes = self.saved
        count = int(np.prod([shape[i] for i in axes]))
        return (_expand(g, shape, axes, self.keepdims) / count,)


def mean(a, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Mean over `axis` (None: all axes)."""
    return Mean(*axis_argument("mean", axis, dim, keepdims, keepdim))(a)


class Max(_Reduction):
    """y = max_axes a;  ∂y/∂a = 1 at the maximum, 0 elsewhere.

    When several elements tie for the maximum the gradient is shared equally between them
    (as `torch.amax` does), which keeps the rule symmetric and the sum of the gradient right.
    """

    def forward(self, a):
        axes = normalize_axis(self.axis, a.ndim)
        y = a.max(axis=axes, keepdims=True)
        self.save_for_backward(a == y, axes)
        y = y if self.keepdims else np.squeeze(y, axis=axes)
        return np.asarray(y)

    def backward(self, g):
        is_max, axes = self.saved
        counts = is_max.sum(axis=axes, keepdims=True)
        g = g if self.keepdims else np.expand_dims(g, axes)
        return (is_max * g / counts,)


def max(a, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Maximum over `axis` (None: all axes); ties share the gradient equally."""
    return Max(*axis_argument("max", axis, dim, keepdims, keepdim))(a)

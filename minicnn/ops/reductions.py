"""Reductions over axes: sum, mean, max. The gradient spreads back over the reduced axes."""

import numpy as np

from ..autograd import Function

__all__ = ["Sum", "Mean", "Max", "normalize_axis"]


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


class Sum(Function):
    """y = Σ_axes a;  ∂y/∂a = 1 for every element that was summed."""

    def forward(self, a):
        self.axes = normalize_axis(self.axis, a.ndim)
        self.shape = a.shape
        return np.asarray(a.sum(axis=self.axes, keepdims=self.keepdims))

    def backward(self, g):
        return (_expand(g, self.shape, self.axes, self.keepdims).copy(),)  # a writable array, not a view


class Mean(Function):
    """y = (1/n) Σ_axes a;  ∂y/∂a = 1/n."""

    def forward(self, a):
        self.axes = normalize_axis(self.axis, a.ndim)
        self.shape = a.shape
        self.count = int(np.prod([a.shape[i] for i in self.axes]))
        return np.asarray(a.mean(axis=self.axes, keepdims=self.keepdims))

    def backward(self, g):
        return (_expand(g, self.shape, self.axes, self.keepdims) / self.count,)


class Max(Function):
    """y = max_axes a;  ∂y/∂a = 1 at the maximum, 0 elsewhere.

    When several elements tie for the maximum the gradient is shared equally between them
    (as `torch.amax` does), which keeps the rule symmetric and the sum of the gradient right.
    """

    def forward(self, a):
        self.axes = normalize_axis(self.axis, a.ndim)
        y = a.max(axis=self.axes, keepdims=True)
        self.is_max = a == y
        y = y if self.keepdims else np.squeeze(y, axis=self.axes)
        return np.asarray(y)

    def backward(self, g):
        counts = self.is_max.sum(axis=self.axes, keepdims=True)
        g = g if self.keepdims else np.expand_dims(g, self.axes)
        return (self.is_max * g / counts,)

"""Pooling and resizing: max pooling, average pooling, bilinear resize (kernels in minicnn.kernels)."""

import numpy as np

from ..autograd import Function
from ..kernels import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    bilinear_resize_backward,
    bilinear_resize_forward,
    max_pool2d_backward,
    max_pool2d_forward,
)

__all__ = ["MaxPool2d", "AvgPool2d", "BilinearResize"]


class MaxPool2d(Function):
    """y[n,c,i,j] = max over the window of x (padding counts as −∞);
    ∂y/∂x = 1 at the window's argmax (the first one in row-major order on ties, as PyTorch).

    `self.argmax` (flat index h·W + w of the winner per output) is kept for the backward pass
    and for DeepLIFT's max-pool rule.
    """

    def forward(self, x):
        self.input_shape = x.shape
        y, self.argmax = max_pool2d_forward(x, self.kernel_size, self.stride, self.padding)
        return y

    def backward(self, g):
        return (max_pool2d_backward(np.ascontiguousarray(g), self.argmax, self.input_shape),)


class AvgPool2d(Function):
    """y[n,c,i,j] = (1/(k_h k_w)) Σ_window x_pad  (zeros of the padding count, as PyTorch's default);
    ∂y/∂x = 1/(k_h k_w) for every element of every window that covers x."""

    def forward(self, x):
        self.input_shape = x.shape
        return avg_pool2d_forward(x, self.kernel_size, self.stride, self.padding)

    def backward(self, g):
        return (avg_pool2d_backward(np.ascontiguousarray(g), self.input_shape, self.kernel_size, self.stride, self.padding),)


class BilinearResize(Function):
    """Bilinear resize with half-pixel centres (PyTorch `align_corners=False`):
    source coordinate s = (d + ½)·(in/out) − ½ (clamped at 0); y mixes the two neighbours of s
    with weights (1 − λ, λ), λ = s − ⌊s⌋, along each axis. Linear in x; the backward scatters
    g back with the same weights."""

    def forward(self, x):
        self.input_shape = x.shape
        return bilinear_resize_forward(x, self.size)

    def backward(self, g):
        return (bilinear_resize_backward(np.ascontiguousarray(g), self.input_shape[2:]),)

"""Pooling and resizing: max, average and adaptive average pooling, bilinear resize.

Each op is a `Function` class followed by its lowercase function; the arithmetic is in
`minicnn.kernels` (reference and fast twins).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import kernels
from ..autograd import Function
from ..tensor import Tensor, as_tensor
from ..typing import IntPair, Shape, TensorLike
from ..validation import check_pair
from .checks import check_4d, check_window, window_pairs
from ..kernels.windows import pooled_hw

__all__ = [
    "MaxPool2d", "max_pool2d", "AvgPool2d", "avg_pool2d", "AdaptiveAvgPool2d", "adaptive_avg_pool2d",
    "BilinearResize", "interpolate", "pool_window",
]


def pool_window(op: str, kernel_size: IntPair, stride: IntPair | None,
                padding: IntPair) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """A pooling window's (kernel, stride, padding) as (h, w) pairs; stride None means the kernel
    size, and padding may be at most half the kernel (PyTorch's rule: every window then holds at
    least one real element). `nn.MaxPool2d` and `nn.AvgPool2d` check their settings here too."""
    kernel, stride, padding, _ = window_pairs(op, kernel_size, stride, padding)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel size {kernel}")
    return kernel, stride, padding


class _Pool2d(Function):
    def __init__(self, kernel_size: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int]) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding


class MaxPool2d(_Pool2d):
    """y[n,c,i,j] = max over the window of x (padding counts as −∞);
    ∂y/∂x = 1 at the window's argmax (the first one in row-major order on ties, as PyTorch).

    `argmax` (flat index h·W + w of the winner per output) and `input_shape` are kept for the
    backward pass and for DeepLIFT's max-pool rule. With `ceil_mode` a last window that does not
    fill a whole stride is kept (SqueezeNet), as in PyTorch.
    """

    def __init__(self, kernel_size: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int],
                 ceil_mode: bool = False) -> None:
        super().__init__(kernel_size, stride, padding)
        self.ceil_mode = ceil_mode

    def forward(self, x: np.ndarray) -> np.ndarray:
        y, argmax = kernels.max_pool2d_forward(x, self.kernel_size, self.stride, self.padding, self.ceil_mode)
        self.save_for_backward(argmax, x.shape)
        return y

    @property
    def argmax(self) -> np.ndarray:
        return self.saved[0]

    @property
    def input_shape(self) -> Shape:
        return self.saved[1]

    def backward(self, g: np.ndarray) -> tuple:
        return (kernels.max_pool2d_backward(np.ascontiguousarray(g), self.argmax, self.input_shape),)


def max_pool2d(x: TensorLike, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0,
               ceil_mode: bool = False) -> Tensor:
    """Max over windows (stride defaults to kernel_size; ties go to the first in row-major order)."""
    x = as_tensor(x, name="max_pool2d: x")
    check_4d("max_pool2d", x)
    kernel, stride, padding = pool_window("max_pool2d", kernel_size, stride, padding)
    if ceil_mode:
        # PyTorch's rule: a last window may hang over the padded input (it is clipped), so only
        # an empty output is refused, e.g. a 3×3 window, stride 2, on a 2×2 map gives one window.
        out_hw = pooled_hw(x.shape[2], x.shape[3], kernel, stride, padding, ceil_mode=True)
        if min(out_hw) < 1:
            raise ValueError(f"max_pool2d: the output would be empty: spatial size {tuple(x.shape[2:])}, "
                             f"kernel {kernel}, stride {stride}, padding {padding} give {out_hw}")
    else:
        check_window("max_pool2d", x.shape[2:], kernel, padding)
    return MaxPool2d(kernel, stride, padding, bool(ceil_mode))(x)


class AvgPool2d(_Pool2d):
    """y[n,c,i,j] = (1/(k_h k_w)) Σ_window x_pad  (zeros of the padding count, as PyTorch's default);
    ∂y/∂x = 1/(k_h k_w) for every element of every window that covers x."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(x.shape)
        return kernels.avg_pool2d_forward(x, self.kernel_size, self.stride, self.padding)

    def backward(self, g: np.ndarray) -> tuple:
        (input_shape,) = self.saved
        return (kernels.avg_pool2d_backward(np.ascontiguousarray(g), input_shape, self.kernel_size,
                                            self.stride, self.padding),)


def avg_pool2d(x: TensorLike, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0) -> Tensor:
    """Mean over windows, padding zeros included in the count (PyTorch's default)."""
    x = as_tensor(x, name="avg_pool2d: x")
    check_4d("avg_pool2d", x)
    kernel, stride, padding = pool_window("avg_pool2d", kernel_size, stride, padding)
    check_window("avg_pool2d", x.shape[2:], kernel, padding)
    return AvgPool2d(kernel, stride, padding)(x)


class AdaptiveAvgPool2d(Function):
    """Average pooling to a fixed output size (OH, OW) from any input size, with PyTorch's bins:
    output (i, j) averages rows ⌊i·H/OH⌋ … ⌈(i+1)·H/OH⌉ − 1 and the columns likewise (bins
    overlap when OH does not divide H: AlexNet's 13×13 → 6×6). Linear in x, every weight ≥ 0;
    ∂y/∂x shares each output's gradient equally among its bin."""

    def __init__(self, output_size: tuple[int, int]) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(x.shape)
        return kernels.adaptive_avg_pool2d_forward(x, self.output_size)

    def backward(self, g: np.ndarray) -> tuple:
        (input_shape,) = self.saved
        return (kernels.adaptive_avg_pool2d_backward(np.ascontiguousarray(g), input_shape),)


def adaptive_avg_pool2d(x: TensorLike, output_size: IntPair | tuple[int | None, int | None] = 1) -> Tensor:
    """Average-pool (N, C, H, W) to (N, C, OH, OW), `output_size` an int or (OH, OW); None in a
    pair keeps that axis's input size, as in PyTorch."""
    x = as_tensor(x, name="adaptive_avg_pool2d: x")
    check_4d("adaptive_avg_pool2d", x)
    requested: Any = output_size
    if isinstance(output_size, (tuple, list)) and len(output_size) == 2:
        requested = tuple(x.shape[2 + axis] if s is None else s for axis, s in enumerate(output_size))
    size = check_pair(requested, "adaptive_avg_pool2d: output_size", 1)
    if x.shape[2] < 1 or x.shape[3] < 1:
        raise ValueError(f"adaptive_avg_pool2d: expected a non-empty spatial size, got input of shape {x.shape}")
    return AdaptiveAvgPool2d(size)(x)


class BilinearResize(Function):
    """Bilinear resize with half-pixel centres (PyTorch `align_corners=False`):
    source coordinate s = (d + ½)·(in/out) − ½ (clamped at 0); y mixes the two neighbours of s
    with weights (1 − λ, λ), λ = s − ⌊s⌋, along each axis. Linear in x; the backward scatters
    g back with the same weights."""

    def __init__(self, size: tuple[int, int]) -> None:
        super().__init__()
        self.size = size

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(x.shape)
        return kernels.bilinear_resize_forward(x, self.size)

    def backward(self, g: np.ndarray) -> tuple:
        (input_shape,) = self.saved
        return (kernels.bilinear_resize_backward(np.ascontiguousarray(g), input_shape[2:]),)


def interpolate(x: TensorLike, size: IntPair, mode: str = "bilinear", align_corners: bool = False) -> Tensor:
    """Resize (N, C, H, W) to `size` = (OH, OW), as `torch.nn.functional.interpolate(...,
    mode="bilinear", align_corners=False)`; those are the only mode and setting supported."""
    x = as_tensor(x, name="interpolate: x")
    check_4d("interpolate", x)
    if mode != "bilinear" or align_corners:
        raise ValueError(f"interpolate: only mode='bilinear' with align_corners=False is supported, got {mode!r}, {align_corners}")
    if x.shape[2] < 1 or x.shape[3] < 1:
        raise ValueError(f"interpolate: expected a non-empty spatial size, got input of shape {x.shape}")
    return BilinearResize(check_pair(size, "interpolate: size", 1))(x)


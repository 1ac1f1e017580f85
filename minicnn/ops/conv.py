"""2-D convolution, derivative beside forward: the calculus of which kernel computes which
derivative. The arithmetic is in `minicnn.kernels` (plain NumPy or Numba, one switch)."""

from __future__ import annotations

import numpy as np

from .. import kernels
from ..autograd import Function
from ..tensor import Tensor, as_tensor
from ..typing import IntPair, TensorLike
from .checks import check_4d, check_bias, check_same_dtype, check_window, window_pairs

__all__ = ["Conv2d", "conv2d"]


class Conv2d(Function):
    """y[n,o,i,j] = b[o] + Σ_{c ∈ group(o), p, q} W[o,c,p,q] · x_pad[n, c, i·s_h + d_h·p, j·s_w + d_w·q]

    (cross-correlation, as PyTorch; x_pad is x with `padding` zeros on each side, d the
    dilation). With `groups` = G the C input and O output channels are split into G groups of
    C/G and O/G, and output o sees only the inputs of its own group: W has shape (O, C/G, KH, KW).
    G = C is a depthwise convolution (MobileNetV2).

    ∂L/∂x is the transposed convolution of G with W, ∂L/∂W the correlation of x with G, both
    within each group; ∂L/∂b[o] = Σ_{n,i,j} G[n,o,i,j].
    """

    def __init__(self, stride: tuple[int, int] = (1, 1), padding: tuple[int, int] = (0, 0),
                 dilation: tuple[int, int] = (1, 1), groups: int = 1, has_bias: bool = False) -> None:
        super().__init__()
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        self.has_bias = has_bias

    def forward(self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
        self.save_for_backward(x, weight)
        return kernels.conv2d_forward(x, weight, self.stride, self.padding, bias, self.dilation, self.groups)

    def backward(self, g: np.ndarray) -> tuple:
        x, weight = self.saved
        need = self.needs_input_grad
        g = np.ascontiguousarray(g)
        settings = (self.stride, self.padding, self.dilation, self.groups)
        grad_x = kernels.conv2d_backward_input(g, weight, x.shape, *settings) if need[0] else None
        grad_w = kernels.conv2d_backward_weight(g, x, weight.shape, *settings) if need[1] else None
        if not self.has_bias:
            return grad_x, grad_w
        # ∂L/∂b[o] = Σ_{n,i,j} G[n,o,i,j]. einsum does it in one pass over G; g.sum(axis=(0, 2, 3))
        # reduces the axes one after another, several times slower (docs/performance.md).
        return grad_x, grad_w, (np.einsum("noij->o", g) if need[2] else None)


def conv2d(x: TensorLike, weight: TensorLike, bias: TensorLike | None = None, stride: IntPair = 1,
           padding: IntPair = 0, dilation: IntPair = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation as `torch.nn.functional.conv2d`: x (N, C, H, W), weight
    (O, C/groups, KH, KW), bias (O,) or None."""
    x, weight = as_tensor(x, name="conv2d: x"), as_tensor(weight, name="conv2d: weight")
    check_4d("conv2d", x)
    if weight.ndim != 4:
        raise ValueError(f"conv2d: weight must be 4-D (O, C/groups, KH, KW), got shape {weight.shape}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"conv2d: groups must be a positive int, got {groups!r}")
    if x.shape[1] % groups or weight.shape[0] % groups:
        raise ValueError(f"conv2d: groups={groups} must divide the input channels ({x.shape[1]}) "
                         f"and the output channels ({weight.shape[0]})")
    if weight.shape[1] * groups != x.shape[1]:
        raise ValueError(
            f"conv2d: weight of shape {weight.shape} with groups={groups} expects an input with "
            f"{weight.shape[1] * groups} channels, got input of shape {x.shape}")
    _, stride, padding, dilation = window_pairs("conv2d", 1, stride, padding, dilation)
    check_window("conv2d", x.shape[2:], weight.shape[2:], padding, dilation)
    check_same_dtype("conv2d", x, weight)
    check_bias("conv2d", bias, weight)
    args = (x, weight) if bias is None else (x, weight, bias)
    return Conv2d(stride, padding, dilation, int(groups), bias is not None)(*args)

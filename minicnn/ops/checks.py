"""Argument checks that several ops share (the 2-D layers' shapes, dtypes and windows).

Each raises one line naming the op, the argument, what was expected and what was given. The
layers in `minicnn.nn` call the same ops, so a layer's mistake is reported once, here, with the
layer's name put in front (see `nn.layers.errors_named_after`).
"""

from __future__ import annotations

from collections.abc import Sequence
from ..tensor import Tensor, as_tensor
from ..typing import IntPair, TensorLike
from ..validation import check_pair

__all__ = ["check_4d", "check_same_dtype", "check_bias", "check_window", "window_pairs"]


def check_4d(op: str, x: Tensor) -> None:
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W), got shape {x.shape}")


def check_same_dtype(op: str, x: Tensor, weight: Tensor) -> None:
    if x.dtype != weight.dtype:
        raise TypeError(
            f"{op}: input is {x.dtype} but weight is {weight.dtype}; cast the input "
            f"(x.astype(np.{weight.dtype})) or the model (model.to(np.{x.dtype}))")


def check_bias(op: str, bias: TensorLike | None, weight: Tensor) -> None:
    if bias is None:
        return
    bias = as_tensor(bias, name=f"{op}: bias")
    if bias.shape != (weight.shape[0],):
        raise ValueError(f"{op}: bias must have shape ({weight.shape[0]},), got {bias.shape}")
    if bias.dtype != weight.dtype:
        raise TypeError(f"{op}: bias is {bias.dtype} but weight is {weight.dtype}; cast one of them")


def window_pairs(op: str, kernel_size: IntPair, stride: IntPair | None, padding: IntPair,
                 dilation: IntPair = 1) -> tuple[tuple[int, int], ...]:
    """kernel_size, stride (None: the kernel size, as pooling), padding and dilation as (h, w)
    pairs: kernel, stride and dilation ≥ 1, padding ≥ 0."""
    kernel = check_pair(kernel_size, f"{op}: kernel_size", 1)
    stride = kernel if stride is None else check_pair(stride, f"{op}: stride", 1)
    padding = check_pair(padding, f"{op}: padding", 0)
    dilation = check_pair(dilation, f"{op}: dilation", 1)
    return kernel, stride, padding, dilation


def check_window(op: str, spatial: Sequence[int], kernel: Sequence[int], padding: Sequence[int],
                 dilation: Sequence[int] = (1, 1)) -> None:
    """The (dilated) window must fit into the padded input: H + 2p ≥ d·(K − 1) + 1 on each axis."""
    extent = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    padded = tuple(int(s) + 2 * p for s, p in zip(spatial, padding))
    if padded[0] < extent[0] or padded[1] < extent[1]:
        what = f"kernel {tuple(kernel)}" + (f" with dilation {tuple(dilation)}" if tuple(dilation) != (1, 1) else "")
        raise ValueError(
            f"{op}: {what} is larger than the padded input: spatial size {tuple(int(s) for s in spatial)} "
            f"with padding {tuple(padding)} is {padded}")

"""A weighted layer z = f(x; W, b) as the LRP rules see it: a Linear or Conv2d node of the graph,
its input activations x, its output z, and the two maps every rule needs:

    apply(v, W, b)  = the layer's forward formula on other inputs/weights (b may be None)
    transpose(s, W) = Wᵀ s, the input-VJP of the linear map v ↦ f(v; W, 0)

With a batch norm folded in (canonizer.py) W, b and z are those of conv ∘ BN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, cast

import numpy as np

from minicnn import kernels, ops

__all__ = ["WeightedLayer", "weighted_layer"]


@dataclass(frozen=True)
class WeightedLayer:
    x: np.ndarray          # input activations a_j
    weight: np.ndarray     # w_jk (PyTorch layout: (out, in) or (O, C/G, KH, KW))
    bias: np.ndarray | None
    z: np.ndarray          # the layer's output z_k = Σ_j a_j w_jk + b_k
    apply: Callable
    transpose: Callable
    kind: str              # "dense" or "conv": composites choose rules by it


def weighted_layer(node: ops.Linear | ops.Conv2d, batch_norm: ops.BatchNorm | None = None) -> WeightedLayer:
    """The WeightedLayer of a Linear/Conv2d `node`, with the eval-mode `batch_norm` node that
    follows it folded in (y = scale·z + shift ⇒ W′ = scale·W, b′ = scale·b + shift) when given."""
    x, weight = node.inputs[0].data, node.inputs[1].data
    bias = node.inputs[2].data if len(node.inputs) > 2 else None
    z = cast(np.ndarray, node.output)  # set by the forward pass
    if isinstance(node, ops.Conv2d):
        settings = (node.stride, node.padding, node.dilation, node.groups)

        def apply(v: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
            return kernels.conv2d_forward(v, w, settings[0], settings[1], b, *settings[2:])

        def transpose(s: np.ndarray, w: np.ndarray) -> np.ndarray:
            return kernels.conv2d_backward_input(np.ascontiguousarray(s), w, x.shape, *settings)

        kind = "conv"
    else:
        def apply(v: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
            return kernels.linear_forward(v, w, b)

        def transpose(s: np.ndarray, w: np.ndarray) -> np.ndarray:
            return kernels.linear_backward_input(s, w)

        kind = "dense"
    if batch_norm is not None:
        scale, shift = batch_norm.scale.reshape(-1), batch_norm.shift.reshape(-1)
        weight = weight * scale.reshape((-1,) + (1,) * (weight.ndim - 1))
        bias = shift if bias is None else bias * scale + shift
        z = cast(np.ndarray, batch_norm.output)
    return WeightedLayer(x, weight, bias, z, apply, transpose, kind)

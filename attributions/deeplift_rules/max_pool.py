"""DeepLIFT's exact max-pool rule (docs/methods.md, DeepLIFT: max pooling)."""

from __future__ import annotations

from typing import cast

import numpy as np

from minicnn import ops
from minicnn.kernels import max_pool2d_backward

from .stacked import collapse_pair, halves, safe_ratio, stack

__all__ = ["max_pool_rule"]


def max_pool_rule(node: ops.MaxPool2d, grad: np.ndarray, eps: float, reveal_cancel: bool = False) -> tuple[np.ndarray]:
    """Route each window's difference to the two argmax positions.

    With y (at x) and y′ (at x′) a window's outputs and M = max(y, y′): put g·(M − y′) at the
    argmax position of x and g·(y − M) at the argmax position of x′. The two pieces add up to
    g·(y − y′), so summation-to-delta is exact. Then m = C / Δx at each input position
    (the ordinary gradient where |Δx| ≤ eps; there C ≈ 0 anyway).

    With RevealCancel the output's parts are the sign split of Δy, so the pair (m⁺, m⁻)
    collapses to one multiplier, m⁺ where Δy > 0, m⁻ where Δy < 0, their mean where Δy = 0.
    """
    z, z_ref = halves(node.inputs[0].data)
    y, y_ref = halves(cast(np.ndarray, node.output))  # set by the forward pass
    g = collapse_pair(grad, y - y_ref) if reveal_cancel else halves(grad)[0]
    top = np.maximum(y, y_ref)  # M

    def route(pieces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # the stacked batch's argmax holds the winners of x (top half) and of x′ (bottom)
        return halves(max_pool2d_backward(np.ascontiguousarray(pieces), node.argmax, node.inputs[0].shape))

    routed_x, routed_ref = route(stack(g * (top - y_ref), g * (y - top)))
    delta = z - z_ref
    tiny = np.abs(delta) <= eps
    fallback = route(stack(g, 0 * g))[0] if tiny.any() else 0.0  # the gradient, needed only where Δx is tiny
    m = safe_ratio(routed_x + routed_ref, delta, fallback, eps)
    return (stack(m, m),)

"""DeepLIFT's Rescale rule at an element-wise nonlinearity y = g(z), and the Linear rule."""

from __future__ import annotations

from typing import cast

import numpy as np

from minicnn.autograd import Function

from .linear import require_linear
from .nonlinearities import g_and_derivative
from .stacked import halves, safe_ratio, times_both_halves

__all__ = ["rescale_rule", "linear_rule"]


def rescale_rule(node: Function, grad: np.ndarray, eps: float) -> tuple[np.ndarray]:
    """Rescale rule for y = g(z):  m = Δy / Δz  where |Δz| > eps, else g′ at the midpoint (z + z′)/2.

    The fallback keeps m finite and continuous: as Δz → 0, Δy/Δz → g′(z) ≈ g′((z + z′)/2), and
    the contribution m·Δz it changes is at most O(Δz²).
    """
    _, g_prime = g_and_derivative(node)
    z, z_ref = halves(node.inputs[0].data)
    y, y_ref = halves(cast(np.ndarray, node.output))  # set by the forward pass
    m = safe_ratio(y - y_ref, z - z_ref, g_prime((z + z_ref) / 2), eps)
    return (times_both_halves(grad, m),)


def linear_rule(node: Function, grad: np.ndarray) -> tuple[np.ndarray, ...]:
    """Linear rule: the multipliers of a linear op are its weights, so its ordinary backward is exact
    (the bias gets nothing: it cancels in Δ)."""
    require_linear(node)
    return node.backward(grad)

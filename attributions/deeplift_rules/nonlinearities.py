"""The element-wise nonlinearities y = g(z) DeepLIFT has a rule for: (g, g′) by op type.

Both rules need g itself (Δy = g(z) − g(z′), RevealCancel's parts) and g′ (the limit of Δy/Δz
as Δz → 0, used where the ratio is 0/0).
"""

from __future__ import annotations

import numpy as np

from minicnn import ops
from typing import Any, Callable, cast

from minicnn.autograd import Function, find_rule

from .errors import no_rule_error

__all__ = ["NONLINEARITIES", "g_and_derivative"]


def _pow(node):
    p = node.exponent
    return (lambda z: z**p), (lambda z: p * z ** (p - 1))


# op type → node ↦ (g, g′); a function of the node because Pow's g depends on its exponent
NONLINEARITIES: dict[type, Any] = {  # Any: find_rule looks these up, but they are not backward rules
    ops.Relu: lambda node: (ops.Relu.function, ops.Relu.derivative),
    ops.Sigmoid: lambda node: (ops.Sigmoid.function, ops.Sigmoid.derivative),
    ops.Tanh: lambda node: (ops.Tanh.function, ops.Tanh.derivative),
    ops.Exp: lambda node: (np.exp, np.exp),
    ops.Log: lambda node: (np.log, lambda z: 1.0 / z),
    ops.Pow: _pow,
    ops.Clamp: lambda node: (node.function, node.derivative),   # ReLU6, Hardtanh: g depends on the node's bounds
}


def g_and_derivative(node: Function) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]:
    """(g, g′) of an element-wise nonlinear node (its type, or a base class, is a key of NONLINEARITIES)."""
    pair_of = find_rule(NONLINEARITIES, node)
    if pair_of is None:
        raise no_rule_error(node)
    return cast(Callable[[Function], tuple], pair_of)(node)  # an entry of NONLINEARITIES, not a backward rule

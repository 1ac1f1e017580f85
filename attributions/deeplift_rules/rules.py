"""DeepLIFT's rule table: for each kind of op, what replaces its derivative in the backward pass.

It reads like a derivative table (HIPS-autograd style), keyed by the engine's Function classes,
and goes to the engine's hook point `minicnn.grad(..., rules=table)`. `Function` itself maps to
an error naming the op, so an op missing from the table never falls back to its gradient.

    op                                      Rescale                     RevealCancel
    Relu, Sigmoid, Tanh, Exp, Log, Pow,     m = Δy/Δz                   (m⁺, m⁻)·(Δy⁺/Δz⁺, Δy⁻/Δz⁻)
      Clamp (ReLU6, Hardtanh)
    Linear, Conv2d (grouped, dilated),      the weights (own backward)  sign-split weights,
      BatchNorm (eval), Mul/Div by a                                    by the sign of Δx_i
      constant, Add, Sub, Neg, AvgPool2d,
      AdaptiveAvgPool2d, Mean, Sum, resize
    MaxPool2d                               route to both argmaxes      the same, on the collapsed pair
    Reshape, Transpose, GetItem,            own backward                own backward
      Concatenate, Cast
    anything else                           DeepLiftError naming it
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from minicnn import ops
from minicnn.autograd import Function

# rule(node, g) ↦ the multipliers of node's inputs, as a derivative rule of minicnn.grad
Rule = Callable[..., tuple]

from .errors import no_rule_error
from .linear import LINEAR_MAPS, STRUCTURAL
from .max_pool import max_pool_rule
from .nonlinearities import NONLINEARITIES
from .rescale import linear_rule, rescale_rule
from .reveal_cancel import linear_rule_reveal_cancel, reveal_cancel_rule

__all__ = ["rule_table"]


def _no_rule(node, grad):
    raise no_rule_error(node)


def _structural_rule(node, grad):
    return node.backward(grad)  # values only move: so do their multipliers


def rule_table(rule: str, eps: float, deltas: Optional[dict[int, np.ndarray]] = None,
               parts: Optional[dict[int, np.ndarray]] = None) -> dict[type, Rule]:
    """{Function type: rule(node, grad)} for one DeepLIFT pass with `rule` "rescale" or
    "reveal_cancel" (`deltas`, `parts`: RevealCancel's forward sweep, `reveal_cancel_parts`)."""
    if rule == "rescale":
        def nonlinear(node, grad):
            return rescale_rule(node, grad, eps)

        linear = linear_rule
    else:
        def nonlinear(node, grad):
            return reveal_cancel_rule(node, grad, parts)

        def linear(node, grad):
            return linear_rule_reveal_cancel(node, grad, deltas)

    table: dict[type, Rule] = {Function: _no_rule}
    table.update({op: nonlinear for op in NONLINEARITIES})
    table.update({op: linear for op in LINEAR_MAPS})
    table.update({op: _structural_rule for op in STRUCTURAL})
    table[ops.MaxPool2d] = lambda node, grad: max_pool_rule(node, grad, eps, reveal_cancel=rule == "reveal_cancel")
    return table

"""The LRP rule table for `minicnn.grad(..., rules=table)`: what each op does to relevance.

The backward pass carries relevance R itself (not a gradient): the seed is R = t at the target
logit, and every rule maps the relevance of an op's output to that of its inputs.

    op                                      rule
    Linear, Conv2d                          the layer's rule (rules.py), chosen per layer
    BatchNorm after its Conv2d/Linear       folded into that layer (canonizer.py): R passes
    BatchNorm elsewhere (eval)              ε rule of y = scale·x + shift
    Relu, Clamp (ReLU6)                     R passes unchanged (the ReLU is not a layer of LRP)
    MaxPool2d                               winner-take-all: R to the argmax (Captum, zennit)
    AvgPool2d, AdaptiveAvgPool2d, Mean,     ε rule of a linear map without bias:
      Sum, BilinearResize, Add, Sub, Neg,     R_j = a_j Σ_k w_jk R_k / stab(z_k); for a residual
      Mul/Div by a constant                   a + b: R_a = a·R/stab(a + b), R_b = b·R/stab(a + b)
    Reshape, Transpose, GetItem,            values only move: so does relevance
      Concatenate, Cast
    anything else                           LrpError naming the op
"""

from __future__ import annotations

from typing import Callable, cast

import numpy as np

from minicnn import ops
from minicnn.autograd import Function

from .layers import WeightedLayer, weighted_layer
from .rules import share

LayerRule = Callable[[WeightedLayer, np.ndarray], np.ndarray]  # (layer, R of its outputs) ↦ R of its inputs

__all__ = ["LrpError", "rule_table"]


class LrpError(TypeError):
    """The model uses an op for which LRP has no rule (the message names it)."""


def _no_rule(node, relevance):
    raise LrpError(
        f"LRP has no rule for the op {type(node).__name__}: supported are Linear, Conv2d, BatchNorm (eval), "
        "ReLU/Clamp, MaxPool2d, average pooling, sums, Add/Sub, scaling by a constant and reshaping ops (LRP is defined for ReLU "
        "networks). Attribute a logit, before any softmax."
    )


def _moved(node, relevance):
    return node.backward(relevance)


def _passed_on(node, relevance):
    return (relevance,) + (None,) * (len(node.inputs) - 1)


def _linear_op(epsilon):
    """ε rule of an op linear in its inputs, without bias (pooling, sums, x + y, x·c):
    R_i = a_i ⊙ (∂z/∂a_i)ᵀ (R / stab(z)), i.e. each input keeps its share a_i w_i / z of R."""
    def rule(node, relevance):
        if isinstance(node, (ops.Mul, ops.Div)) and all(node.needs_input_grad[:2]):
            raise LrpError(f"LRP has no rule for {type(node).__name__} of two tensors that both depend on the input")
        back = node.backward(share(relevance, cast(np.ndarray, node.output), epsilon))
        back = back if isinstance(back, tuple) else (back,)
        return tuple(None if g is None else p.data * g for p, g in zip(node.inputs, back))
    return rule


def rule_table(choose: Callable[[Function, str], LayerRule], folds: dict[int, ops.BatchNorm],
               epsilon: float) -> dict[type, Callable[..., tuple]]:
    """{Function type: rule} for one LRP pass.

    choose -- node ↦ rule(layer, R) for a Linear/Conv2d node (the composite's or the single rule)
    folds  -- {id(weighted node): BatchNorm node} from `canonizer.batch_norm_folds`
    epsilon -- ε of the parameter-free linear ops (pooling, sums, additions, an unfolded BN)
    """
    folded = {id(bn) for bn in folds.values()}

    def weighted(node: ops.Linear | ops.Conv2d, relevance: np.ndarray) -> tuple:
        layer = weighted_layer(node, folds.get(id(node)))
        return (choose(node, layer.kind)(layer, relevance),) + (None,) * (len(node.inputs) - 1)

    def batch_norm(node: ops.BatchNorm, relevance: np.ndarray) -> tuple:
        if id(node) in folded:
            return _passed_on(node, relevance)
        x = node.inputs[0].data
        return (x * node.scale * share(relevance, cast(np.ndarray, node.output), epsilon), None, None)

    table = {Function: _no_rule, ops.Linear: weighted, ops.Conv2d: weighted, ops.BatchNorm: batch_norm,
             ops.Relu: _passed_on, ops.Clamp: _passed_on, ops.MaxPool2d: _moved}
    table.update({op: _linear_op(epsilon) for op in (ops.AvgPool2d, ops.AdaptiveAvgPool2d, ops.Mean, ops.Sum,
                                                     ops.BilinearResize, ops.Add, ops.Sub, ops.Neg, ops.Mul, ops.Div)})
    table.update({op: _moved for op in (ops.Reshape, ops.Transpose, ops.GetItem, ops.Concatenate, ops.Cast)})
    return table

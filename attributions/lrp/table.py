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
      Sum, BilinearResize                     R_j = a_j Σ_k w_jk R_k / stab(z_k)
    Add, Sub                                ε rule: R_i = a_i R / stab(a + b) (each input's share)
    Reshape, Transpose, GetItem,            values only move: so does relevance
      Concatenate, Cast
    anything else                           LrpError naming the op
"""

from __future__ import annotations


from minicnn import ops
from minicnn.autograd import Function
from minicnn.ops import unbroadcast

from .layers import weighted_layer
from .rules import share

__all__ = ["LrpError", "rule_table"]


class LrpError(TypeError):
    """The model uses an op for which LRP has no rule (the message names it)."""


def _no_rule(node, relevance):
    raise LrpError(
        f"LRP has no rule for the op {type(node).__name__}: supported are Linear, Conv2d, BatchNorm (eval), "
        "ReLU/Clamp, MaxPool2d, average pooling, sums, Add/Sub and reshaping ops (LRP is defined for ReLU "
        "networks). Attribute a logit, before any softmax."
    )


def _moved(node, relevance):
    return node.backward(relevance)


def _passed_on(node, relevance):
    return (relevance,) + (None,) * (len(node.inputs) - 1)


def _pooled(epsilon):
    def rule(node, relevance):
        s = share(relevance, node.output, epsilon)
        back = node.backward(s)
        back = back[0] if isinstance(back, tuple) else back
        return (node.inputs[0].data * back,)
    return rule


def _summed(epsilon, signs):
    def rule(node, relevance):
        s = share(relevance, node.output, epsilon)
        return tuple(
            unbroadcast(sign * p.data * s, p.shape) if p.requires_grad else None
            for p, sign in zip(node.inputs, signs)
        )
    return rule


def rule_table(choose, folds, epsilon):
    """{Function type: rule} for one LRP pass.

    choose -- node ↦ rule(layer, R) for a Linear/Conv2d node (the composite's or the single rule)
    folds  -- {id(weighted node): BatchNorm node} from `canonizer.batch_norm_folds`
    epsilon -- ε of the parameter-free linear ops (pooling, sums, additions, an unfolded BN)
    """
    folded = {id(bn) for bn in folds.values()}

    def weighted(node, relevance):
        layer = weighted_layer(node, folds.get(id(node)))
        return (choose(node, layer.kind)(layer, relevance),) + (None,) * (len(node.inputs) - 1)

    def batch_norm(node, relevance):
        if id(node) in folded:
            return _passed_on(node, relevance)
        x = node.inputs[0].data
        return (x * node.scale * share(relevance, node.output, epsilon), None, None)

    table = {Function: _no_rule, ops.Linear: weighted, ops.Conv2d: weighted, ops.BatchNorm: batch_norm,
             ops.Relu: _passed_on, ops.Clamp: _passed_on, ops.MaxPool2d: _moved,
             ops.Add: _summed(epsilon, (1, 1)), ops.Sub: _summed(epsilon, (1, -1))}
    table.update({op: _pooled(epsilon) for op in (ops.AvgPool2d, ops.AdaptiveAvgPool2d, ops.Mean, ops.Sum,
                                                  ops.BilinearResize)})
    table.update({op: _moved for op in (ops.Reshape, ops.Transpose, ops.GetItem, ops.Concatenate, ops.Cast)})
    return table

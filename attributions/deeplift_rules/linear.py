"""The linear ops y = Σ_i L_i(x_i) + b: when an op is linear in x, and its maps split by sign.

Rescale needs only to know that an op is linear: then its multipliers are its weights, so the
op's ordinary backward is exact (the Linear rule). RevealCancel also splits each linear map by
the sign of its weights, L = L⁺ + L⁻, to push the positive and negative parts of Δx through
separately. For input i each entry of LINEAR_MAPS gives the forward maps (L⁺_i, L⁻_i) and their
transposes (VJPs); None stands for the zero map.
"""

from __future__ import annotations

from typing import Callable, Optional, cast

import numpy as np

from minicnn import ops
from minicnn.autograd import Function, find_rule
from minicnn.kernels import conv2d_backward_input, conv2d_forward
from minicnn.ops import unbroadcast

from .errors import DeepLiftError, no_rule_error

__all__ = ["LINEAR_MAPS", "STRUCTURAL", "require_linear", "sign_split_maps"]

LinearMap = Callable[[np.ndarray], np.ndarray]  # v ↦ L(v), or a transpose g ↦ Lᵀ(g)


def require_linear(node: Function) -> None:
    """Raise DeepLiftError unless `node` is linear in its inputs that depend on x.

    Mul, Div and BatchNorm are linear only in some uses: x·c and x/c for a constant c, and batch
    norm in eval mode (y = scale·x + shift); x·x, 1/x and batch norm in training mode are not.
    """
    if isinstance(node, ops.BatchNorm) and node.training:
        raise DeepLiftError("DeepLIFT: BatchNorm in training mode mixes the rows of a batch; use eval mode")
    if isinstance(node, (ops.Mul, ops.Div)) and all(node.needs_input_grad[:2]):
        raise DeepLiftError(
            f"DeepLIFT: {type(node).__name__} of two tensors that both depend on the input is not linear; "
            "it has no DeepLIFT rule"
        )
    if isinstance(node, ops.Div) and node.needs_input_grad[1]:
        raise DeepLiftError("DeepLIFT: division by a tensor that depends on the input (1/z) has no DeepLIFT rule")


def sign_split_maps(node: Function, i: int) -> tuple[Optional[LinearMap], ...]:
    """(L⁺_i, L⁻_i, L⁺_iᵀ, L⁻_iᵀ) of a linear node for its input i, after `require_linear`."""
    require_linear(node)
    maps_of = find_rule(LINEAR_MAPS, node)
    if maps_of is None:
        raise no_rule_error(node)
    return cast(Callable[[Function, int], tuple], maps_of)(node, i)  # an entry of LINEAR_MAPS, not a backward rule


def _weights_sign_split(w):
    return np.maximum(w, 0), np.minimum(w, 0)


def _linear_maps(node, i):
    w_pos, w_neg = _weights_sign_split(node.inputs[1].data)
    return (lambda v: v @ w_pos.T, lambda v: v @ w_neg.T, lambda g: g @ w_pos, lambda g: g @ w_neg)


def _conv_maps(node, i):
    """A convolution (any stride, padding, dilation, groups) with its weights split by sign."""
    w_pos, w_neg = _weights_sign_split(node.inputs[1].data)
    settings = (node.stride, node.padding, node.dilation, node.groups)
    x_shape = node.inputs[0].shape[1:]

    def forward(w):
        return lambda v: conv2d_forward(v, w, settings[0], settings[1], None, *settings[2:])

    def vjp(w):
        return lambda g: conv2d_backward_input(np.ascontiguousarray(g), w, (len(g),) + x_shape, *settings)

    return (forward(w_pos), forward(w_neg), vjp(w_pos), vjp(w_neg))


def _scale_maps(scale, input_shape):
    """Element-wise scaling y = c·x (c broadcast): L± multiply by c⁺ / c⁻."""
    c_pos, c_neg = _weights_sign_split(scale)

    def vjp(c):
        return lambda g: unbroadcast(g * c, (len(g),) + input_shape[1:])

    return (lambda v: v * c_pos, lambda v: v * c_neg, vjp(c_pos), vjp(c_neg))


def _batch_norm_maps(node, i):
    return _scale_maps(node.scale, node.inputs[0].shape)  # eval mode: y = scale·x + shift


def _mul_maps(node, i):
    return _scale_maps(node.inputs[1 - i].data, node.inputs[i].shape)  # x·c, c the other input


def _div_maps(node, i):
    return _scale_maps(1.0 / node.inputs[1].data, node.inputs[0].shape)  # x/c = x·(1/c)


def _sum_maps(sign):
    """Add/Sub/Neg: weights all +1 or all −1 along a broadcast."""

    def maps(node, i):
        s = sign(i)
        out_tail, in_shape = node.output.shape[1:], node.inputs[i].shape

        def forward(v):
            return np.broadcast_to(s * v, (len(v),) + out_tail)

        def vjp(g):
            return unbroadcast(s * g, (len(g),) + in_shape[1:])

        return (forward, None, vjp, None) if s > 0 else (None, forward, None, vjp)

    return maps


def _nonnegative_maps(node, i):
    """Pooling, means, sums, bilinear resizing: every weight ≥ 0, so L⁺ = L and L⁻ = 0."""
    return (node.evaluate, None, lambda g: node.backward(g)[0], None)


LINEAR_MAPS = {
    ops.Linear: _linear_maps,
    ops.Conv2d: _conv_maps,
    ops.BatchNorm: _batch_norm_maps,
    ops.Mul: _mul_maps,
    ops.Div: _div_maps,
    ops.Add: _sum_maps(lambda i: 1),
    ops.Sub: _sum_maps(lambda i: 1 if i == 0 else -1),
    ops.Neg: _sum_maps(lambda i: -1),
    ops.AvgPool2d: _nonnegative_maps,
    ops.AdaptiveAvgPool2d: _nonnegative_maps,
    ops.Mean: _nonnegative_maps,
    ops.Sum: _nonnegative_maps,
    ops.BilinearResize: _nonnegative_maps,
}

# Ops that only move values (no arithmetic): multipliers and parts pass through unchanged.
STRUCTURAL = (ops.Reshape, ops.Transpose, ops.GetItem, ops.Concatenate, ops.Cast)

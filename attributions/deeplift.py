"""DeepLIFT (Shrikumar, Greenside & Kundaje, ICML 2017): contributions relative to a reference.

Notation: x input, x′ reference (baseline), Δx = x − x′, t the target logit.
Contributions C(Δx_i → Δt) obey **summation-to-delta**, Σ_i C(Δx_i → Δt) = t(x) − t(x′), and
multipliers m = C / Δx obey the chain rule. So DeepLIFT is one backward pass that carries
multipliers instead of gradients:

1. run the network once on the stacked batch [x; x′], keeping every intermediate value;
2. go backwards through the engine's graph, replacing each op's derivative by its *rule*
   (the engine's hook point: `minicnn.grad(..., rules={FunctionType: rule})`);
3. C = m ⊙ Δx at the input.

The rule table below reads like a derivative table (HIPS-autograd style): one short function
per kind of op, keyed by the engine's Function classes. An op missing from the table raises
an error that names it; there is no silent fallback to the gradient.

Rows of the stacked batch: the top half (rows :n) belongs to x and the bottom half (n:) to x′.
In the backward pass the grad arrays have the same 2n rows. With the Rescale rule both halves
carry the same multiplier m. With RevealCancel the top half carries m⁺ and the bottom half m⁻,
the multipliers of the positive and negative parts of each difference (Δ⁺, Δ⁻).
"""

from __future__ import annotations

import copy

import numpy as np

import minicnn as mc
from minicnn import ops
from minicnn.autograd import Function, find_rule, topological_order
from minicnn.kernels import conv2d_backward_input, conv2d_forward, max_pool2d_backward
from minicnn.ops import unbroadcast

from ._common import (
    eval_mode,
    prepare_baseline,
    prepare_input,
    prepare_targets,
    target_seed,
)

__all__ = ["deeplift", "deeplift_multipliers", "reveal_cancel_deltas", "DeepLiftError", "RULES"]

RULES = ("rescale", "reveal_cancel")


class DeepLiftError(TypeError):
    """The model uses an op for which DeepLIFT has no rule (the message names it)."""


def _halves(array):
    n = len(array) // 2
    return array[:n], array[n:]


def _stack(top, bottom):
    return np.concatenate([top, bottom])


# ---- element-wise nonlinearities: y = g(z) ----------------------------------------------------
def _nonlinearity(node):
    """(g, g′) for an element-wise nonlinear node, or None if the node is not one."""
    if isinstance(node, ops.Relu):
        return ops.Relu.function, ops.Relu.derivative
    if isinstance(node, ops.Sigmoid):
        return ops.Sigmoid.function, ops.Sigmoid.derivative
    if isinstance(node, ops.Tanh):
        return ops.Tanh.function, ops.Tanh.derivative
    if isinstance(node, ops.Exp):
        return np.exp, np.exp
    if isinstance(node, ops.Log):
        return np.log, lambda z: 1.0 / z
    if isinstance(node, ops.Pow):
        p = node.exponent
        return (lambda z: z**p), (lambda z: p * z ** (p - 1))
    return None


def _safe_ratio(numerator, denominator, fallback, small):
    """numerator / denominator where |denominator| > small, else `fallback` (finite everywhere)."""
    big = np.abs(denominator) > small
    ratio = np.empty(np.broadcast_shapes(np.shape(numerator), np.shape(denominator)),
                     dtype=np.result_type(numerator, denominator))
    ratio[...] = fallback
    return np.divide(numerator, denominator, out=ratio, where=big)    # divides only where big


def _times_both_halves(grad, m):
    """grad · [m; m]: the same multiplier for the input and the reference half of the batch
    (broadcast over a leading axis of 2 instead of copying m)."""
    return (grad.reshape((2,) + m.shape) * m).reshape(grad.shape)


def rescale_rule(node, grad, eps):
    """Rescale rule for y = g(z):  m = Δy / Δz  where |Δz| > eps, else g′ at the midpoint (z + z′)/2.

    The fallback keeps m finite and continuous: as Δz → 0, Δy/Δz → g′(z) ≈ g′((z + z′)/2), and
    the contribution m·Δz it changes is at most O(Δz²).
    """
    g, g_prime = _nonlinearity(node)
    z, z_ref = _halves(node.inputs[0].data)
    y, y_ref = _halves(node.output)
    m = _safe_ratio(y - y_ref, z - z_ref, g_prime((z + z_ref) / 2), eps)
    return (_times_both_halves(grad, m),)


def reveal_cancel_rule(node, grad, parts):
    """RevealCancel rule for y = g(z) with reference input z′ and input parts Δz⁺, Δz⁻:

        m⁺_in = m⁺_out · Δy⁺/Δz⁺,   m⁻_in = m⁻_out · Δy⁻/Δz⁻,   (Δy⁺, Δy⁻): `reveal_cancel_deltas`.

    Δz⁺ is a sum of strictly positive terms, so it is exactly 0 only when nothing feeds it; then
    its multiplier is never used and g′(z′) keeps it finite.
    """
    g, g_prime = _nonlinearity(node)
    z_ref = _halves(node.inputs[0].data)[1]
    dz_pos, dz_neg = _halves(parts[id(node.inputs[0])])
    dy_pos, dy_neg = reveal_cancel_deltas(g, z_ref, dz_pos, dz_neg)
    fallback = g_prime(z_ref)
    out_pos = _safe_ratio(dy_pos, dz_pos, fallback, 0.0)
    out_neg = _safe_ratio(dy_neg, dz_neg, fallback, 0.0)
    m_pos, m_neg = _halves(grad)
    return (_stack(m_pos * out_pos, m_neg * out_neg),)


def reveal_cancel_deltas(g, z_ref, dz_pos, dz_neg):
    """RevealCancel's split of Δy for y = g(z): the average over the two orders of adding the parts,

        Δy⁺ = ½[g(z′+Δz⁺) − g(z′)] + ½[g(z′+Δz⁻+Δz⁺) − g(z′+Δz⁻)]
        Δy⁻ = ½[g(z′+Δz⁻) − g(z′)] + ½[g(z′+Δz⁺+Δz⁻) − g(z′+Δz⁺)]

    Returns (Δy⁺, Δy⁻); they add up to g(z′ + Δz⁺ + Δz⁻) − g(z′)."""
    g_ref = g(z_ref)
    g_both = g(z_ref + dz_pos + dz_neg)
    dy_pos = 0.5 * (g(z_ref + dz_pos) - g_ref) + 0.5 * (g_both - g(z_ref + dz_neg))
    dy_neg = 0.5 * (g(z_ref + dz_neg) - g_ref) + 0.5 * (g_both - g(z_ref + dz_pos))
    return dy_pos, dy_neg


# ---- max pooling ------------------------------------------------------------------------------
def max_pool_rule(node, grad, eps, reveal_cancel=False):
    """Exact max-pool rule: route each window's difference to the two argmax positions.

    With y (at x) and y′ (at x′) a window's outputs and M = max(y, y′): put g·(M − y′) at the
    argmax position of x and g·(y − M) at the argmax position of x′. The two pieces add up to
    g·(y − y′), so summation-to-delta is exact. Then m = C / Δx at each input position
    (the ordinary gradient where |Δx| ≤ eps; there C ≈ 0 anyway).

    With RevealCancel the output's parts are the sign split of Δy, so the pair (m⁺, m⁻)
    collapses to one multiplier, m⁺ where Δy > 0, m⁻ where Δy < 0, their mean where Δy = 0.
    """
    z, z_ref = _halves(node.inputs[0].data)
    y, y_ref = _halves(node.output)
    g = _collapse_pair(grad, y - y_ref) if reveal_cancel else _halves(grad)[0]
    top = np.maximum(y, y_ref)  # M
    # One scatter routes both pieces: the stacked batch's argmax already holds the winners of x
    # (top half) and of x′ (bottom half); the two halves of the result are then added.
    pieces = np.ascontiguousarray(_stack(g * (top - y_ref), g * (y - top)))
    routed_x, routed_ref = _halves(max_pool2d_backward(pieces, node.argmax, node.inputs[0].shape))
    contributions = routed_x + routed_ref
    delta = z - z_ref
    tiny = np.abs(delta) <= eps
    fallback = 0.0
    if tiny.any():  # the ordinary gradient, needed only where Δx is tiny
        fallback = _halves(max_pool2d_backward(np.ascontiguousarray(_stack(g, 0 * g)), node.argmax, node.inputs[0].shape))[0]
    m = _safe_ratio(contributions, delta, fallback, eps)
    return (_stack(m, m),)


def _collapse_pair(grad, delta):
    m_pos, m_neg = _halves(grad)
    return np.where(delta > 0, m_pos, np.where(delta < 0, m_neg, (m_pos + m_neg) / 2))


# ---- linear ops: y = Σ_i L_i(x_i) + b --------------------------------------------------------
# For RevealCancel each linear map is split by the sign of its weights, L = L⁺ + L⁻. Each entry
# gives, for input i, the pair of forward maps (L⁺_i, L⁻_i) and the pair of their transposes
# (VJPs). None stands for the zero map. Rescale needs none of this: for a linear op the
# multipliers are the ordinary gradient, so Rescale uses the op's own backward.
def _weights_sign_split(w):
    return np.maximum(w, 0), np.minimum(w, 0)


def _linear_maps(node, i):
    w_pos, w_neg = _weights_sign_split(node.inputs[1].data)
    return (lambda v: v @ w_pos.T, lambda v: v @ w_neg.T, lambda g: g @ w_pos, lambda g: g @ w_neg)


def _conv_maps(node, i):
    w_pos, w_neg = _weights_sign_split(node.inputs[1].data)
    s, p = node.stride, node.padding
    x_shape = node.inputs[0].shape[1:]

    def vjp(w):
        return lambda g: conv2d_backward_input(np.ascontiguousarray(g), w, (len(g),) + x_shape, s, p)

    return (lambda v: conv2d_forward(v, w_pos, s, p), lambda v: conv2d_forward(v, w_neg, s, p), vjp(w_pos), vjp(w_neg))


def _scale_maps(scale, input_shape):
    """Element-wise scaling y = c·x (c broadcast): L± multiply by c⁺ / c⁻."""
    c_pos, c_neg = _weights_sign_split(scale)

    def vjp(c):
        return lambda g: unbroadcast(g * c, (len(g),) + input_shape[1:])

    return (lambda v: v * c_pos, lambda v: v * c_neg, vjp(c_pos), vjp(c_neg))


def _batch_norm_maps(node, i):
    if node.training:
        raise DeepLiftError("DeepLIFT: BatchNorm in training mode mixes the rows of a batch; use eval mode")
    return _scale_maps(node.scale, node.inputs[0].shape)


def _constant_factor(node, i):
    """The other input of a Mul/Div, which must not depend on x (else the op is not linear)."""
    other = 1 - i
    if node.needs_input_grad[other]:
        raise DeepLiftError(
            f"DeepLIFT: {type(node).__name__} of two tensors that both depend on the input is not linear; "
            "it has no DeepLIFT rule"
        )
    return node.inputs[other].data


def _mul_maps(node, i):
    return _scale_maps(_constant_factor(node, i), node.inputs[i].shape)


def _div_maps(node, i):
    if i == 1:
        raise DeepLiftError("DeepLIFT: division by a tensor that depends on the input (1/z) has no DeepLIFT rule")
    return _scale_maps(1.0 / _constant_factor(node, i), node.inputs[0].shape)


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

    def forward(v):
        return copy.copy(node).forward(v)  # a copy: the real node keeps its saved state

    def vjp(g):
        return node.backward(g)[0]

    return (forward, None, vjp, None)


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

# Linear in x only in some uses: x·x, 1/x and batch norm in training mode are not.
MAYBE_NONLINEAR = (ops.Mul, ops.Div, ops.BatchNorm)

# Ops that only move values (no arithmetic): multipliers and parts pass through unchanged.
STRUCTURAL = (ops.Reshape, ops.Transpose, ops.GetItem, ops.Concatenate, ops.Cast)


def linear_rule_reveal_cancel(node, grad, deltas):
    """RevealCancel through a linear op y = Σ_i w_i x_i + b, from the pairs (m⁺_j, m⁻_j) of its outputs:

        m_i = [Δx_i>0]·Σ_j (w⁺_ji m⁺_j + w⁻_ji m⁻_j) + [Δx_i<0]·Σ_j (w⁻_ji m⁺_j + w⁺_ji m⁻_j)
              + [Δx_i=0]·Σ_j w_ji (m⁺_j + m⁻_j)/2,

    used as both m⁺ and m⁻ of input i (the sign of the whole Δx_i decides, as in the paper).
    `grad` is the stack [m⁺; m⁻], so one VJP with W⁺ gives [W⁺ᵀm⁺; W⁺ᵀm⁻] and one with W⁻ the rest.
    """
    maps = find_rule(LINEAR_MAPS, node)
    result = []
    for i, parent in enumerate(node.inputs):
        if not node.needs_input_grad[i]:
            result.append(None)
            continue
        _, _, vjp_pos, vjp_neg = maps(node, i)
        pos_pos, pos_neg = _halves(vjp_pos(grad)) if vjp_pos else (0.0, 0.0)  # W⁺ᵀm⁺, W⁺ᵀm⁻
        neg_pos, neg_neg = _halves(vjp_neg(grad)) if vjp_neg else (0.0, 0.0)  # W⁻ᵀm⁺, W⁻ᵀm⁻
        when_positive = pos_pos + neg_neg
        when_negative = neg_pos + pos_neg
        delta = deltas[id(parent)]
        m = np.where(delta > 0, when_positive, np.where(delta < 0, when_negative, (when_positive + when_negative) / 2))
        m = np.broadcast_to(m, delta.shape)
        result.append(_stack(m, m))
    return tuple(result)


# ---- the forward sweep for RevealCancel: Δ⁺ and Δ⁻ of every tensor --------------------------
def _reveal_cancel_parts(order, x_tensor):
    """Δ (total) and the stack [Δ⁺; Δ⁻] for every tensor that depends on the input, inputs first.

    - the input: Δx⁺ = max(Δx, 0), Δx⁻ = min(Δx, 0);
    - a linear op: Δy⁺ = Σ_i [w_i Δx_i > 0] w_i Δx_i = L⁺(Δx⁺) + L⁻(Δx⁻), Δy⁻ = L⁺(Δx⁻) + L⁻(Δx⁺)
      (the sign of each whole Δx_i decides; the bias cancels);
    - a nonlinearity: `reveal_cancel_deltas`;
    - max pooling: the sign split of its output's Δy;
    - structural ops: the op applied to each part.
    Parts are kept stacked like the batch, so every op can be applied to them unchanged.
    """
    deltas, parts = {}, {}
    for tensor in order:
        node = tensor.creator
        if tensor is x_tensor:
            pass
        elif node is None or not any(id(p) in deltas for p in node.inputs):
            continue  # a constant or a parameter: Δ = 0
        top, bottom = _halves(tensor.data)
        delta = top - bottom
        deltas[id(tensor)] = delta
        if tensor is x_tensor or isinstance(node, ops.MaxPool2d):
            parts[id(tensor)] = _sign_split(delta)
        elif _nonlinearity(node) is not None:
            z_ref = _halves(node.inputs[0].data)[1]
            g = _nonlinearity(node)[0]
            parts[id(tensor)] = _stack(*reveal_cancel_deltas(g, z_ref, *_halves(parts[id(node.inputs[0])])))
        elif isinstance(node, STRUCTURAL):
            inputs = [parts.get(id(p), np.zeros_like(p.data)) for p in node.inputs]
            parts[id(tensor)] = copy.copy(node).forward(*inputs)  # a copy keeps the node's saved state
        elif find_rule(LINEAR_MAPS, node) is not None:
            maps = find_rule(LINEAR_MAPS, node)
            pos = neg = 0.0
            for i, parent in enumerate(node.inputs):
                if id(parent) not in deltas:
                    continue
                fwd_pos, fwd_neg, _, _ = maps(node, i)
                split = _sign_split(deltas[id(parent)])  # [Δx⁺; Δx⁻]
                if fwd_pos:
                    plus_of_pos, plus_of_neg = _halves(fwd_pos(split))  # L⁺Δx⁺, L⁺Δx⁻
                    pos, neg = pos + plus_of_pos, neg + plus_of_neg
                if fwd_neg:
                    minus_of_pos, minus_of_neg = _halves(fwd_neg(split))  # L⁻Δx⁺, L⁻Δx⁻
                    pos, neg = pos + minus_of_neg, neg + minus_of_pos
            parts[id(tensor)] = _stack(np.broadcast_to(pos, delta.shape), np.broadcast_to(neg, delta.shape))
        else:
            raise _unsupported(node)
    return deltas, parts


def _sign_split(delta):
    return _stack(np.maximum(delta, 0), np.minimum(delta, 0))


def _unsupported(node):
    return DeepLiftError(
        f"DeepLIFT has no rule for the op {type(node).__name__}: it is neither linear nor an element-wise "
        "nonlinearity with a Rescale/RevealCancel rule (supported nonlinearities: Relu, Sigmoid, Tanh, Exp, "
        "Log, Pow, MaxPool2d). Attribute a logit, before any softmax."
    )


def _rule_table(rule, eps, deltas=None, parts=None):
    """{Function type: backward rule} for one DeepLIFT pass; `Function` itself catches the rest."""

    def nonlinear(node, grad):
        if rule == "rescale":
            return rescale_rule(node, grad, eps)
        return reveal_cancel_rule(node, grad, parts)

    def linear(node, grad):
        if rule == "reveal_cancel":
            return linear_rule_reveal_cancel(node, grad, deltas)
        if isinstance(node, MAYBE_NONLINEAR):
            for i in range(len(node.inputs)):
                if node.needs_input_grad[i]:
                    find_rule(LINEAR_MAPS, node)(node, i)  # raises when the op is not linear in x here
        return node.backward(grad)  # Linear rule: the multipliers of a linear op are its weights

    def unsupported(node, grad):
        raise _unsupported(node)

    table = {Function: unsupported, ops.MaxPool2d: lambda node, grad: max_pool_rule(node, grad, eps, rule == "reveal_cancel")}
    for cls in (ops.Relu, ops.Sigmoid, ops.Tanh, ops.Exp, ops.Log, ops.Pow):
        table[cls] = nonlinear
    for cls in LINEAR_MAPS:
        table[cls] = linear
    for cls in STRUCTURAL:
        table[cls] = lambda node, grad: node.backward(grad)
    return table


# ---- the public functions ---------------------------------------------------------------------
def deeplift_multipliers(model, x, target, baseline=None, rule="rescale", eps=1e-10):
    """Run DeepLIFT and return (multipliers, contributions, t(x) − t(x′)) for every row.

    multipliers m satisfy C = m ⊙ Δx (Captum's `multiply_by_inputs=False`); with RevealCancel
    m = m⁺ where Δx > 0 and m⁻ where Δx < 0 (mean where Δx = 0).
    """
    if rule not in RULES:
        raise ValueError(f"rule: expected one of {', '.join(RULES)}, got {rule!r}")
    if not eps >= 0:
        raise ValueError(f"eps: expected a non-negative threshold, got {eps!r}")
    x = prepare_input(x, model)
    reference = prepare_baseline(baseline, x)
    n = len(x)
    with eval_mode(model):
        targets = prepare_targets(target, n)
        stacked = mc.Tensor(_stack(x, reference), requires_grad=True)
        out = model(stacked)
        deltas = parts = None
        if rule == "reveal_cancel":
            deltas, parts = _reveal_cancel_parts(topological_order([out]), stacked)
        seed = target_seed(out.shape, targets).astype(out.dtype)
        (grad,) = mc.grad(out, [stacked], grad_outputs=seed, rules=_rule_table(rule, eps, deltas, parts))
    delta_x = x - reference
    m_pos, m_neg = _halves(grad)
    contributions = m_pos * np.maximum(delta_x, 0) + m_neg * np.minimum(delta_x, 0)
    multipliers = _collapse_pair(grad, delta_x)
    rows = np.arange(n)
    delta_t = out.data[rows, targets] - out.data[n + rows, targets]
    return multipliers, contributions, delta_t


def deeplift(model, x, target, baseline=None, rule="rescale", return_delta=False, multiply_by_inputs=True, eps=1e-10):
    """DeepLIFT contribution scores C(Δx_i → Δt), shaped like x.

    model    -- a minicnn Module returning logits (N, classes); run in eval mode, mode restored
    x        -- batch (N, C, H, W) or (N, features)
    target   -- int, or one int per row: the logit t to explain (a logit, not a probability)
    baseline -- reference x′: None (zeros), a scalar, one row, or an array like x
    rule     -- "rescale" (m = Δy/Δz at nonlinearities) or "reveal_cancel" (positive and
                negative parts of each difference kept apart; see `reveal_cancel_rule`)
    return_delta -- also return the signed summation-to-delta error Σ_i C_i − (t(x) − t(x′)) per row
    multiply_by_inputs -- False returns the multipliers m (C = m ⊙ Δx) instead of C
    eps      -- |Δz| below which Rescale uses the derivative at the midpoint instead of Δy/Δz

    Works on any graph the engine builds (Sequential, residual additions, functional calls,
    reused modules): the rules act on the recorded ops, not on Module types.
    """
    multipliers, contributions, delta_t = deeplift_multipliers(model, x, target, baseline, rule, eps)
    result = contributions if multiply_by_inputs else multipliers
    if return_delta:
        error = contributions.reshape(len(contributions), -1).sum(axis=1) - delta_t
        return result, error
    return result

"""DeepLIFT's RevealCancel rule (Shrikumar et al. 2017, §3.5; docs/methods.md, DeepLIFT).

Every difference is split into a positive and a negative part, Δ = Δ⁺ + Δ⁻, and the two are
kept apart through the network, so that inputs which cancel each other are both revealed:

- a forward sweep (`reveal_cancel_parts`) computes Δ⁺ and Δ⁻ of every tensor;
- the backward pass carries a pair (m⁺, m⁻) per unit, stacked like the batch [m⁺; m⁻]:
  a nonlinearity multiplies it by (Δy⁺/Δz⁺, Δy⁻/Δz⁻) (`reveal_cancel_rule`), a linear op maps the
  pairs of its outputs to one multiplier per input (`linear_rule_reveal_cancel`).
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np

import minicnn as mc
from minicnn import ops
from minicnn.autograd import Function, find_rule

from .errors import no_rule_error
from .linear import LINEAR_MAPS, STRUCTURAL, sign_split_maps
from .nonlinearities import NONLINEARITIES, g_and_derivative
from .stacked import halves, safe_ratio, sign_split, stack

__all__ = ["reveal_cancel_deltas", "reveal_cancel_rule", "linear_rule_reveal_cancel", "reveal_cancel_parts"]


def reveal_cancel_deltas(g: Callable[[np.ndarray], np.ndarray], z_ref: np.ndarray, dz_pos: np.ndarray,
                         dz_neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RevealCancel's split of Δy for y = g(z): the average over the two orders of adding the parts,

        Δy⁺ = ½[g(z′+Δz⁺) − g(z′)] + ½[g(z′+Δz⁻+Δz⁺) − g(z′+Δz⁻)]
        Δy⁻ = ½[g(z′+Δz⁻) − g(z′)] + ½[g(z′+Δz⁺+Δz⁻) − g(z′+Δz⁺)]

    Returns (Δy⁺, Δy⁻); they add up to g(z′ + Δz⁺ + Δz⁻) − g(z′)."""
    g_ref = g(z_ref)
    g_both = g(z_ref + dz_pos + dz_neg)
    dy_pos = 0.5 * (g(z_ref + dz_pos) - g_ref) + 0.5 * (g_both - g(z_ref + dz_neg))
    dy_neg = 0.5 * (g(z_ref + dz_neg) - g_ref) + 0.5 * (g_both - g(z_ref + dz_pos))
    return dy_pos, dy_neg


def part_multiplier(dy, dz, g_prime, z_ref, dz_other):
    """Δy^±/Δz^±, and where Δz^± = 0 exactly its limit ½g′(z′) + ½g′(z′ + Δz^∓).

    Δz⁺ is a sum of strictly positive terms, so it is 0 only when no input feeds it. Its
    multiplier is still read: the linear rule's [Δx_i = 0] term takes m⁺ and m⁻ of every output,
    and Δx_i = 0 is common (a ReLU inactive at x and x′ whose parts are not: Δy⁺ = −Δy⁻ ≠ 0).
    Any finite value there keeps summation-to-delta but moves contribution between inputs; the
    limit is the value the formula itself approaches.
    """
    ratio = safe_ratio(dy, dz, 0.0, 0.0)
    zero = dz == 0
    if zero.any():
        ratio[zero] = 0.5 * g_prime(z_ref[zero]) + 0.5 * g_prime((z_ref + dz_other)[zero])
    return ratio


def reveal_cancel_rule(node: Function, grad: np.ndarray, parts: dict[int, np.ndarray]) -> tuple[np.ndarray]:
    """RevealCancel rule for y = g(z) with reference input z′ and input parts Δz⁺, Δz⁻:

        m⁺_in = m⁺_out · Δy⁺/Δz⁺,   m⁻_in = m⁻_out · Δy⁻/Δz⁻,   (Δy⁺, Δy⁻): `reveal_cancel_deltas`,

    with the limit of the ratio where a part is exactly 0 (`part_multiplier`).
    """
    g, g_prime = g_and_derivative(node)
    z_ref = halves(node.inputs[0].data)[1]
    dz_pos, dz_neg = halves(parts[id(node.inputs[0])])
    dy_pos, dy_neg = reveal_cancel_deltas(g, z_ref, dz_pos, dz_neg)
    m_pos, m_neg = halves(grad)
    return (stack(m_pos * part_multiplier(dy_pos, dz_pos, g_prime, z_ref, dz_neg),
                  m_neg * part_multiplier(dy_neg, dz_neg, g_prime, z_ref, dz_pos)),)


def linear_rule_reveal_cancel(node: Function, grad: np.ndarray,
                              deltas: dict[int, np.ndarray]) -> tuple[Optional[np.ndarray], ...]:
    """RevealCancel through a linear op y = Σ_i w_i x_i + b, from the pairs (m⁺_j, m⁻_j) of its outputs:

        m_i = [Δx_i>0]·Σ_j (w⁺_ji m⁺_j + w⁻_ji m⁻_j) + [Δx_i<0]·Σ_j (w⁻_ji m⁺_j + w⁺_ji m⁻_j)
              + [Δx_i=0]·Σ_j w_ji (m⁺_j + m⁻_j)/2,

    used as both m⁺ and m⁻ of input i (the sign of the whole Δx_i decides, as in the paper).
    `grad` is the stack [m⁺; m⁻], so one VJP with W⁺ gives [W⁺ᵀm⁺; W⁺ᵀm⁻] and one with W⁻ the rest.
    """
    result: list[Optional[np.ndarray]] = []
    for i, parent in enumerate(node.inputs):
        if not node.needs_input_grad[i]:
            result.append(None)
            continue
        _, _, vjp_pos, vjp_neg = sign_split_maps(node, i)
        pos_pos, pos_neg = halves(vjp_pos(grad)) if vjp_pos else (0.0, 0.0)  # W⁺ᵀm⁺, W⁺ᵀm⁻
        neg_pos, neg_neg = halves(vjp_neg(grad)) if vjp_neg else (0.0, 0.0)  # W⁻ᵀm⁺, W⁻ᵀm⁻
        when_positive = pos_pos + neg_neg
        when_negative = neg_pos + pos_neg
        delta = deltas[id(parent)]
        m = np.where(delta > 0, when_positive, np.where(delta < 0, when_negative, (when_positive + when_negative) / 2))
        m = np.broadcast_to(m, delta.shape)
        result.append(stack(m, m))
    return tuple(result)


def reveal_cancel_parts(order: Sequence[mc.Tensor],
                        x_tensor: mc.Tensor) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
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
        if tensor is not x_tensor and (node is None or not any(id(p) in deltas for p in node.inputs)):
            continue  # a constant or a parameter: Δ = 0
        top, bottom = halves(tensor.data)
        delta = top - bottom
        deltas[id(tensor)] = delta
        if node is None or tensor is x_tensor or isinstance(node, ops.MaxPool2d):  # None: only x itself
            parts[id(tensor)] = sign_split(delta)
        elif find_rule(NONLINEARITIES, node) is not None:
            g, _ = g_and_derivative(node)
            z_ref = halves(node.inputs[0].data)[1]
            parts[id(tensor)] = stack(*reveal_cancel_deltas(g, z_ref, *halves(parts[id(node.inputs[0])])))
        elif isinstance(node, STRUCTURAL):
            parts[id(tensor)] = node.evaluate(*[parts.get(id(p), np.zeros_like(p.data)) for p in node.inputs])
        elif find_rule(LINEAR_MAPS, node) is not None:
            parts[id(tensor)] = _linear_parts(node, deltas, delta.shape)
        else:
            raise no_rule_error(node)
    return deltas, parts


def _linear_parts(node, deltas, shape):
    """[Δy⁺; Δy⁻] of a linear op from the whole Δ of each input that depends on x."""
    pos = neg = 0.0
    for i, parent in enumerate(node.inputs):
        if id(parent) not in deltas:
            continue
        fwd_pos, fwd_neg, _, _ = sign_split_maps(node, i)
        split = sign_split(deltas[id(parent)])  # [Δx⁺; Δx⁻]
        if fwd_pos:
            plus_of_pos, plus_of_neg = halves(fwd_pos(split))  # L⁺Δx⁺, L⁺Δx⁻
            pos, neg = pos + plus_of_pos, neg + plus_of_neg
        if fwd_neg:
            minus_of_pos, minus_of_neg = halves(fwd_neg(split))  # L⁻Δx⁺, L⁻Δx⁻
            pos, neg = pos + minus_of_neg, neg + minus_of_pos
    return stack(np.broadcast_to(pos, shape), np.broadcast_to(neg, shape))

"""LRP's rules for a weighted layer z_k = Σ_j a_j w_jk + b_k: how the relevance R_k of each output
is shared among the inputs j (Bach et al. 2015; Montavon et al. 2019, "Layer-wise relevance
propagation: an overview", §10.2). Each rule maps (layer, R_k) ↦ R_j, shaped like the input.

All are the *generic rule* R_j = Σ_k a_j ρ(w_jk) / (stab(Σ_j a_j ρ(w_jk))) · R_k, computed as
    s_k = R_k / stab(z_k)  (element-wise),   c_j = Σ_k ρ(w_jk) s_k  (one transposed pass),   R_j = a_j c_j.

    ε        ρ(w) = w                    R_j = Σ_k a_j w_jk / (z_k + ε·sign(z_k)) · R_k
    γ        ρ(w) = w + γ w⁺ (b too)     favours positive contributions
    αβ       α (a w)⁺/Σ(a w)⁺ − β (a w)⁻/Σ(a w)⁻, α − β = 1 (bias parts b⁺, b⁻ in the sums)
    z⁺       αβ with α = 1, β = 0, bias ignored: Σ_j (a_j w_jk)⁺ only (Montavon et al. 2017)
    zbox     input layer with a_j ∈ [l_j, h_j]: z_jk = a_j w_jk − l_j w⁺_jk − h_j w⁻_jk (bias-free)
    flat     input layer, ρ(w) = 1 and a_j = 1: R_k spread evenly over the receptive field
    w²       input layer, ρ(w) = w² and a_j = 1 (Montavon et al. 2017; bias-free)

stab(z) = z + ε·sign(z) with sign(0) = +1 (the convention of zennit's `stabilize` and Captum's
rules), and 0/0 taken as 0, so ε = 0 (LRP-0) is allowed. Signed inputs (the pixels of the first
layer) are split as a = a⁺ + a⁻ for αβ and z⁺, so (a w)⁺ = a⁺w⁺ + a⁻w⁻, as zennit does.
"""

from __future__ import annotations

import numpy as np

from .layers import WeightedLayer

__all__ = ["stabilize", "share", "epsilon_rule", "gamma_rule", "alpha_beta_rule", "zplus_rule",
           "zbox_rule", "flat_rule", "wsquare_rule"]


def stabilize(z: np.ndarray, eps: float) -> np.ndarray:
    """z + ε·sign(z), sign(0) = +1: moves the denominator away from 0 on its own side."""
    return z + np.where(z >= 0, z.dtype.type(eps), z.dtype.type(-eps))


def share(relevance: np.ndarray, z: np.ndarray, eps: float) -> np.ndarray:
    """s_k = R_k / stab(z_k), and 0 where the denominator is exactly 0 (LRP-0's 0/0 := 0)."""
    denominator = stabilize(z, eps)
    out = np.zeros(np.broadcast_shapes(relevance.shape, z.shape), dtype=np.result_type(relevance, z))
    return np.divide(relevance, denominator, out=out, where=denominator != 0)


def _pos(w):
    return None if w is None else np.maximum(w, 0)


def _neg(w):
    return None if w is None else np.minimum(w, 0)


def epsilon_rule(layer: WeightedLayer, relevance: np.ndarray, epsilon: float) -> np.ndarray:
    """LRP-ε: R_j = a_j Σ_k w_jk R_k / (z_k + ε·sign(z_k)); ε = 0 is LRP-0."""
    return layer.x * layer.transpose(share(relevance, layer.z, epsilon), layer.weight)


def gamma_rule(layer: WeightedLayer, relevance: np.ndarray, gamma: float, stabilizer: float) -> np.ndarray:
    """LRP-γ: the ε rule with w + γw⁺ and b + γb⁺ (the bias is the weight of a constant input
    a₀ = 1, Montavon et al. 2019 Eq. (4)); z recomputed with the boosted weights."""
    w = layer.weight + gamma * _pos(layer.weight)
    b = None if layer.bias is None else layer.bias + gamma * _pos(layer.bias)
    z = layer.apply(layer.x, w, b)
    return layer.x * layer.transpose(share(relevance, z, stabilizer), w)


def _signed_part(layer, relevance, w_same, w_other, bias, stabilizer, x_pos, x_neg):
    """One sign's share: z± = a⁺w_same + a⁻w_other + bias, R_j = a⁺_j (w_same s) + a⁻_j (w_other s)."""
    has_neg = bool(x_neg.any())  # after a ReLU the inputs are ≥ 0: half the work is zero
    z = layer.apply(x_pos, w_same, bias)
    if has_neg:
        z = z + layer.apply(x_neg, w_other)
    s = share(relevance, z, stabilizer)
    result = x_pos * layer.transpose(s, w_same)
    if has_neg:
        result = result + x_neg * layer.transpose(s, w_other)
    return result


def alpha_beta_rule(layer: WeightedLayer, relevance: np.ndarray, alpha: float, beta: float, stabilizer: float,
                    use_bias: bool = True) -> np.ndarray:
    """LRP-αβ: R_j = Σ_k (α (a_j w_jk)⁺ / Σ_j(a_j w_jk)⁺ − β (a_j w_jk)⁻ / Σ_j(a_j w_jk)⁻) R_k,
    with b⁺ in the positive and b⁻ in the negative sum (Bach et al. 2015) unless use_bias=False."""
    x_pos, x_neg = np.maximum(layer.x, 0), np.minimum(layer.x, 0)
    w_pos, w_neg = _pos(layer.weight), _neg(layer.weight)
    bias = layer.bias if use_bias else None
    result = alpha * _signed_part(layer, relevance, w_pos, w_neg, _pos(bias), stabilizer, x_pos, x_neg)
    if beta:
        result = result - beta * _signed_part(layer, relevance, w_neg, w_pos, _neg(bias), stabilizer, x_pos, x_neg)
    return result


def zplus_rule(layer: WeightedLayer, relevance: np.ndarray, stabilizer: float) -> np.ndarray:
    """z⁺: R_j = Σ_k (a_j w_jk)⁺ / Σ_j (a_j w_jk)⁺ · R_k, the bias ignored (α1β0 without bias)."""
    return alpha_beta_rule(layer, relevance, 1.0, 0.0, stabilizer, use_bias=False)


def zbox_rule(layer: WeightedLayer, relevance: np.ndarray, low: np.ndarray, high: np.ndarray,
              stabilizer: float) -> np.ndarray:
    """z^B for inputs bounded by l ≤ a ≤ h (Montavon et al. 2017):
    R_j = Σ_k (a_j w_jk − l_j w⁺_jk − h_j w⁻_jk) / Σ_j(a_j w_jk − l_j w⁺_jk − h_j w⁻_jk) · R_k."""
    x = layer.x
    low, high = np.broadcast_to(low, x.shape).astype(x.dtype), np.broadcast_to(high, x.shape).astype(x.dtype)
    w, w_pos, w_neg = layer.weight, _pos(layer.weight), _neg(layer.weight)
    z = layer.apply(x, w) - layer.apply(low, w_pos) - layer.apply(high, w_neg)
    s = share(relevance, z, stabilizer)
    return x * layer.transpose(s, w) - low * layer.transpose(s, w_pos) - high * layer.transpose(s, w_neg)


def _uniform_input_rule(layer, relevance, rho_w, stabilizer):
    ones = np.ones_like(layer.x)
    return layer.transpose(share(relevance, layer.apply(ones, rho_w), stabilizer), rho_w)


def flat_rule(layer: WeightedLayer, relevance: np.ndarray, stabilizer: float) -> np.ndarray:
    """flat: R_j = Σ_k 1 / Σ_j 1 · R_k over each output's receptive field (Lapuschkin et al. 2019)."""
    return _uniform_input_rule(layer, relevance, np.ones_like(layer.weight), stabilizer)


def wsquare_rule(layer: WeightedLayer, relevance: np.ndarray, stabilizer: float) -> np.ndarray:
    """w²: R_j = Σ_k w_jk² / Σ_j w_jk² · R_k (Montavon et al. 2017; zennit also squares the bias
    into the denominator, we follow the paper)."""
    return _uniform_input_rule(layer, relevance, layer.weight**2, stabilizer)

"""Composites: one rule per kind of layer, by name, with zennit's names and meanings
(zennit/composites.py; Montavon et al. 2019 §10.3 recommend ε near the output, γ or z⁺/αβ in the
convolutional layers, and a box or flat rule at the input).

    name                        first layer     other convolutions   dense layers
    epsilon_plus                —               z⁺ (α1β0)            ε
    epsilon_plus_flat           flat            z⁺ (α1β0)            ε
    epsilon_gamma_box           zbox (convs)    γ                    ε
    epsilon_alpha2_beta1        —               α2β1                 ε
    epsilon_alpha2_beta1_flat   flat            α2β1                 ε

"First layer" is every weighted layer with no weighted layer before it in the graph (the one
that sees the pixels). zennit's first-layer rule in epsilon_gamma_box applies to a convolution
only (an MLP's first dense layer keeps ε); in the *_flat composites to any linear layer.
zennit's ZPlus keeps the positive bias b⁺, i.e. it is α1β0; the composites use α1β0 accordingly
(`rule="zplus"` is the bias-free z⁺ of Montavon et al. 2017). All parameter-free linear ops
(pooling, sums, residual additions) use the ε rule, zennit's `Norm`; ReLUs pass relevance on.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Composite", "COMPOSITES"]


RuleSpec = tuple[str, dict[str, float]]  # (rule name, the settings it fixes)


@dataclass(frozen=True)
class Composite:
    first: RuleSpec | None   # (rule name, fixed settings) at the first layer, or None
    conv: RuleSpec
    dense: RuleSpec
    first_kinds: tuple[str, ...] = ("conv", "dense")   # which kinds of first layer take the `first` rule


_EPSILON: RuleSpec = ("epsilon", {})
_ALPHA1_BETA0 = ("alpha_beta", {"alpha": 1.0, "beta": 0.0})
_ALPHA2_BETA1 = ("alpha_beta", {"alpha": 2.0, "beta": 1.0})

COMPOSITES = {
    "epsilon_plus": Composite(None, _ALPHA1_BETA0, _EPSILON),
    "epsilon_plus_flat": Composite(("flat", {}), _ALPHA1_BETA0, _EPSILON),
    "epsilon_gamma_box": Composite(("zbox", {}), ("gamma", {}), _EPSILON, first_kinds=("conv",)),
    "epsilon_alpha2_beta1": Composite(None, _ALPHA2_BETA1, _EPSILON),
    "epsilon_alpha2_beta1_flat": Composite(("flat", {}), _ALPHA2_BETA1, _EPSILON),
}

"""Layer-wise relevance propagation (Bach et al., PLoS ONE 2015; Montavon et al. 2019).

Notation: t the target logit, R^(l) the relevance of the units of layer l. LRP starts with all of
t at the target logit, R^(L) = t (one-hot seed times the logit), and redistributes it layer by
layer towards the input with a rule per layer (rules.py). Relevance is *conserved* where the
rules are: Σ_j R_j = Σ_k R_k, exactly for LRP-0 on bias-free ReLU networks; a bias b_k keeps
its share b_k R_k / z_k and ε absorbs ε·R_k / (z_k ± ε), so `return_delta` reports
Σ_i R_i − t per row, signed (what biases and ε took).

It is one backward pass of the engine with the rule table of table.py instead of the
derivatives. For ReLU networks LRP-0 is gradient × input (Ancona et al., ICLR 2018).
"""

from __future__ import annotations

import numbers
from typing import Optional, Union

import numpy as np

import minicnn as mc
from minicnn import nn
from minicnn.autograd import topological_order

from ..captum_names import captum_names
from ..inputs import ArrayLike, TargetLike, eval_mode, explained_targets, prepare_input, target_seed
from .canonizer import batch_norm_folds
from .composites import COMPOSITES
from .rules import alpha_beta_rule, epsilon_rule, flat_rule, gamma_rule, wsquare_rule, zbox_rule, zplus_rule
from .table import rule_table

__all__ = ["lrp", "RULES", "INPUT_RULES"]

RULES = ("epsilon", "gamma", "alpha_beta", "zplus")
INPUT_RULES = ("zbox", "flat", "wsquare")


def _number(name, value, condition, expected):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not condition(float(value)):
        raise ValueError(f"{name}: expected {expected}, got {value!r}")
    return float(value)


def _bound(name, value, x):
    if value is None:
        raise ValueError(f"{name}: the zbox rule needs the lowest and highest input values (low=, high=)")
    b = np.asarray(value, dtype=x.dtype)
    try:
        np.broadcast_shapes(b.shape, x.shape[1:])
    except ValueError:
        raise ValueError(f"{name}: expected a number or an array broadcastable to one row {x.shape[1:]}, "
                         f"got shape {b.shape}") from None
    return b


def _layer_rule(name, settings):
    """rule(layer, R) for a rule name and its settings."""
    s = settings
    rules = {
        "epsilon": lambda layer, r: epsilon_rule(layer, r, s["epsilon"]),
        "gamma": lambda layer, r: gamma_rule(layer, r, s["gamma"], s["stabilizer"]),
        "alpha_beta": lambda layer, r: alpha_beta_rule(layer, r, s["alpha"], s["beta"], s["stabilizer"]),
        "zplus": lambda layer, r: zplus_rule(layer, r, s["stabilizer"]),
        "zbox": lambda layer, r: zbox_rule(layer, r, s["low"], s["high"], s["stabilizer"]),
        "flat": lambda layer, r: flat_rule(layer, r, s["stabilizer"]),
        "wsquare": lambda layer, r: wsquare_rule(layer, r, s["stabilizer"]),
    }
    return rules[name]


def _chooser(rule, input_rule, composite, settings, first_layers):
    """(node, kind) ↦ rule(layer, R): the composite's table, or `rule` everywhere with
    `input_rule` at the first layer(s)."""
    if composite is None:
        body = _layer_rule(rule, settings)
        first = _layer_rule(input_rule, settings) if input_rule else body
        return lambda node, kind: first if id(node) in first_layers else body
    spec = COMPOSITES[composite]
    by_kind = {kind: _layer_rule(name, {**settings, **fixed})
               for kind, (name, fixed) in (("conv", spec.conv), ("dense", spec.dense))}
    first = _layer_rule(spec.first[0], {**settings, **spec.first[1]}) if spec.first else None

    def choose(node, kind):
        if first is not None and id(node) in first_layers and kind in spec.first_kinds:
            return first
        return by_kind[kind]
    return choose


def _first_layers(order):
    """ids of the Linear/Conv2d nodes with no Linear/Conv2d node upstream (they see the input)."""
    after_layer, first = set(), set()
    for tensor in order:
        node = tensor.creator
        if node is None:
            continue
        upstream = any(id(p) in after_layer for p in node.inputs)
        if isinstance(node, (mc.ops.Linear, mc.ops.Conv2d)):
            if not upstream:
                first.add(id(node))
            after_layer.add(id(tensor))
        elif upstream:
            after_layer.add(id(tensor))
    return first


@captum_names("return_convergence_delta")
def lrp(model: nn.Module, x: ArrayLike, target: TargetLike = None, rule: str = "epsilon", epsilon: float = 1e-6,
        gamma: float = 0.25, alpha: float = 1.0, beta: float = 0.0, input_rule: Optional[str] = None,
        low: Optional[ArrayLike] = None, high: Optional[ArrayLike] = None, composite: Optional[str] = None,
        stabilizer: float = 1e-6, return_delta: bool = False) -> Union[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """LRP relevance R_i of every input for the target logit t, shaped like x.

    model      -- a minicnn ReLU network returning logits (N, classes); run in eval mode, mode restored
    x          -- batch (N, C, H, W) or (N, features); cast to the model's dtype
    target     -- int, or one int per row: the logit t whose value is redistributed; None: each
                  row's predicted class
    rule       -- rule of every Linear/Conv2d layer: "epsilon" (ε ≥ 0; 0 is LRP-0), "gamma",
                  "alpha_beta" (α − β = 1), "zplus" (α1β0 without bias); see rules.py
    epsilon    -- ε of the ε rule, also used at pooling, sums and additions (zennit's 1e-6)
    gamma      -- γ ≥ 0 of the γ rule;  alpha, beta -- α, β ≥ 0 of the αβ rule, α − β = 1
    input_rule -- None, "zbox" (needs low/high: the input's bounds), "flat" or "wsquare":
                  the rule of the first layer (the one that sees the input)
    composite  -- a name of composites.COMPOSITES (e.g. "epsilon_plus_flat"): one rule per kind
                  of layer; replaces `rule` and may not be combined with `input_rule`
    stabilizer -- the ε·sign(z) added to every other rule's denominator (zennit's 1e-6)
    return_delta -- also return Σ_i R_i − t per row (0 for LRP-0 on bias-free ReLU nets); Captum's
                  `return_convergence_delta` is accepted for it, but Captum's LRP reports t − Σ_i R_i
                  (the opposite sign): ours has the sign of IG's and DeepLIFT's delta, Σ − Δt

    BatchNorm (eval) right after a Conv2d/Linear is folded into it first (canonizer.py).
    """
    if rule not in RULES:
        raise ValueError(f"rule: expected one of {', '.join(RULES)}, got {rule!r}")
    if composite is not None and composite not in COMPOSITES:
        raise ValueError(f"composite: expected None or one of {', '.join(COMPOSITES)}, got {composite!r}")
    if input_rule is not None and input_rule not in INPUT_RULES:
        raise ValueError(f"input_rule: expected None or one of {', '.join(INPUT_RULES)}, got {input_rule!r}")
    if composite is not None and input_rule is not None:
        raise ValueError(f"input_rule: the composite {composite!r} chooses the first layer's rule; pass one of them")
    settings = {
        "epsilon": _number("epsilon", epsilon, lambda v: v >= 0, "a number ≥ 0 (0 is LRP-0)"),
        "stabilizer": _number("stabilizer", stabilizer, lambda v: v >= 0, "a number ≥ 0"),
        "gamma": _number("gamma", gamma, lambda v: v >= 0, "a number ≥ 0"),
        "alpha": _number("alpha", alpha, lambda v: v >= 0, "a number ≥ 0"),
        "beta": _number("beta", beta, lambda v: v >= 0, "a number ≥ 0"),
    }
    if abs(settings["alpha"] - settings["beta"] - 1) > 1e-12:
        raise ValueError(f"alpha: expected alpha − beta = 1 (relevance is conserved), got alpha={alpha!r}, beta={beta!r}")
    if not isinstance(return_delta, (bool, np.bool_)):
        raise TypeError(f"return_delta: expected True or False, got {return_delta!r}")
    x = prepare_input(x, model)
    needs_box = input_rule == "zbox" or (composite is not None and (COMPOSITES[composite].first or ("",))[0] == "zbox")
    if needs_box:
        settings["low"], settings["high"] = _bound("low", low, x), _bound("high", high, x)
        if np.any(settings["low"] > settings["high"]):
            raise ValueError("low: expected low ≤ high everywhere")
    with eval_mode(model):
        targets = explained_targets(model, x, target)
        inp = mc.Tensor(x, requires_grad=True)
        out = model(inp)
        seed = target_seed(out.shape, targets).astype(out.dtype) * out.data   # R^(L) = t at the target
        order = topological_order([out])
        choose = _chooser(rule, input_rule, composite, settings, _first_layers(order))
        table = rule_table(choose, batch_norm_folds(order), settings["epsilon"])
        (relevance,) = mc.grad(out, [inp], grad_outputs=seed, rules=table)
    if return_delta:
        logit = out.data[np.arange(len(x)), targets].astype(np.float64)
        return relevance, relevance.reshape(len(x), -1).sum(axis=1, dtype=np.float64) - logit
    return relevance

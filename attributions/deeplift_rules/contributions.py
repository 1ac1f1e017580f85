"""DeepLIFT contributions (Shrikumar, Greenside & Kundaje, ICML 2017) from one backward pass.

Notation: x input, x′ reference (baseline), Δx = x − x′, t the target logit.
Contributions C(Δx_i → Δt) obey **summation-to-delta**, Σ_i C(Δx_i → Δt) = t(x) − t(x′), and
multipliers m = C / Δx obey the chain rule. So DeepLIFT is one backward pass that carries
multipliers instead of gradients:

1. run the network once on the stacked batch [x; x′], keeping every intermediate value;
2. go backwards through the engine's graph, replacing each op's derivative by its rule
   (`rules.rule_table`, given to `minicnn.grad(..., rules=...)`);
3. C = m ⊙ Δx at the input (RevealCancel: C = m⁺·Δx⁺ + m⁻·Δx⁻).
"""

from __future__ import annotations

from typing import Optional, Union

import numpy as np

import minicnn as mc
from minicnn import nn
from minicnn.autograd import topological_order

from ..captum_names import captum_names
from ..inputs import ArrayLike, TargetLike, eval_mode, explained_targets, prepare_baseline, prepare_input, target_seed
from .reveal_cancel import reveal_cancel_parts
from .rules import rule_table
from .stacked import collapse_pair, halves, stack

__all__ = ["deeplift", "deeplift_multipliers", "RULES"]

RULES = ("rescale", "reveal_cancel")


@captum_names("baselines")
def deeplift_multipliers(model: nn.Module, x: ArrayLike, target: TargetLike = None,
                         baseline: Optional[ArrayLike] = None, rule: str = "rescale",
                         eps: float = 1e-10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
        targets = explained_targets(model, x, target)
        stacked = mc.Tensor(stack(x, reference), requires_grad=True)
        out = model(stacked)
        deltas = parts = None
        if rule == "reveal_cancel":
            deltas, parts = reveal_cancel_parts(topological_order([out]), stacked)
        seed = target_seed(out.shape, targets).astype(out.dtype)
        (grad,) = mc.grad(out, [stacked], grad_outputs=seed, rules=rule_table(rule, eps, deltas, parts))
    delta_x = x - reference
    m_pos, m_neg = halves(grad)
    contributions = m_pos * np.maximum(delta_x, 0) + m_neg * np.minimum(delta_x, 0)
    multipliers = collapse_pair(grad, delta_x)
    rows = np.arange(n)
    delta_t = out.data[rows, targets] - out.data[n + rows, targets]
    return multipliers, contributions, delta_t


@captum_names("baselines", "return_convergence_delta")
def deeplift(model: nn.Module, x: ArrayLike, target: TargetLike = None, baseline: Optional[ArrayLike] = None,
             rule: str = "rescale", return_delta: bool = False, multiply_by_inputs: bool = True,
             eps: float = 1e-10) -> Union[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """DeepLIFT contribution scores C(Δx_i → Δt), shaped like x.

    model    -- a minicnn Module returning logits (N, classes); run in eval mode, mode restored
    x        -- batch (N, C, H, W) or (N, features)
    target   -- int, or one int per row: the logit t to explain (a logit, not a probability);
                None: each row's predicted class
    baseline -- reference x′: None (zeros), a scalar, one row, or an array like x
    rule     -- "rescale" (m = Δy/Δz at nonlinearities) or "reveal_cancel" (positive and
                negative parts of each difference kept apart; see `reveal_cancel.py`)
    return_delta -- also return the signed summation-to-delta error Σ_i C_i − (t(x) − t(x′)) per row,
                shape (N,) (Captum's sign and shape): the result is then (C, delta)
    multiply_by_inputs -- False returns the multipliers m (C = m ⊙ Δx) instead of C
    eps      -- |Δz| below which Rescale uses the derivative at the midpoint instead of Δy/Δz

    Works on any graph the engine builds (Sequential, residual additions, functional calls,
    reused modules): the rules act on the recorded ops, not on Module types.

    Max pooling differs from Captum's DeepLift on purpose: our rule (`max_pool.py`) is exact,
    so summation-to-delta always holds, while Captum 0.9's misses it whenever the reference
    activations entering a pool are non-zero (about 20 % apart on a LeNet with conv biases;
    docs/methods.md, Differences from Captum's defaults). Captum's keywords `baselines` and
    `return_convergence_delta` are accepted for baseline and return_delta.
    """
    multipliers, contributions, delta_t = deeplift_multipliers(model, x, target, baseline, rule, eps)
    result = contributions if multiply_by_inputs else multipliers
    if return_delta:
        error = contributions.reshape(len(contributions), -1).sum(axis=1) - delta_t
        return result, error
    return result

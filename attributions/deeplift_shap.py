"""DeepLIFT-SHAP (Lundberg & Lee 2017, §4.2; Captum's `DeepLiftShap`): DeepLIFT averaged over a
set of baselines x′_1 … x′_B, each input explained against every one of them:

    C_i(x) = (1/B) Σ_b C^DeepLIFT_i(x; x′_b)

Each term obeys summation-to-delta, Σ_i C^DeepLIFT_i(x; x′_b) = F(x) − F(x′_b), so the mean does
so exactly against the *mean baseline output*:

    Σ_i C_i(x) = F(x) − (1/B) Σ_b F(x′_b)

One DeepLIFT pass on the N·B pairs (x_n, x′_b): 2·N·B rows (the stacked batch [x; x′]).
"""

from __future__ import annotations

from typing import Union

import numpy as np

from minicnn import nn

from .captum_names import captum_names
from .deeplift_rules import deeplift
from .expected_gradients import prepare_baselines
from .inputs import ArrayLike, TargetLike, explained_targets, prepare_input

__all__ = ["deeplift_shap"]


@captum_names("return_convergence_delta")
def deeplift_shap(model: nn.Module, x: ArrayLike, target: TargetLike, baselines: ArrayLike, rule: str = "rescale",
                  return_delta: bool = False, eps: float = 1e-10) -> Union[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """DeepLIFT-SHAP contributions (1/B) Σ_b C(x; x′_b), shaped like x.

    model     -- a minicnn Module returning logits (N, classes); run in eval mode, mode restored
    x         -- batch (N, C, H, W) or (N, features)
    target    -- int, or one int per row: the logit F to explain; None: each row's predicted class
    baselines -- array (B, *x.shape[1:]) of references (or one row, B = 1)
    rule      -- "rescale" or "reveal_cancel", as `deeplift`
    return_delta -- also return Σ_i C_i − (F(x) − mean_b F(x′_b)) per row, shape (N,): the mean of
                 the B per-baseline deltas (Captum's `DeepLiftShap` returns all N·B of them, row n's
                 at n·B … n·B + B − 1); Captum's `return_convergence_delta` is accepted for it
    eps       -- as `deeplift`
    """
    x = prepare_input(x, model)
    references = prepare_baselines(baselines, x)
    n, b = len(x), len(references)
    targets = explained_targets(model, x, target)
    # pair (n, b) is row n·B + b: each input repeated B times against the B baselines
    pairs_x = np.repeat(x, b, axis=0)
    pairs_ref = np.tile(references, (n,) + (1,) * (x.ndim - 1))
    contributions, errors = deeplift(model, pairs_x, np.repeat(targets, b), pairs_ref, rule=rule,
                                     return_delta=True, eps=eps)
    result = contributions.reshape((n, b) + x.shape[1:]).mean(axis=1)
    if return_delta:
        return result, errors.reshape(n, b).mean(axis=1)  # the mean of the B summation errors
    return result

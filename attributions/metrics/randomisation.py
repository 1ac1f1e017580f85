"""Randomisation sanity checks (Adebayo, Gilmer, Muelly, Goodfellow, Hardt & Kim, NeurIPS 2018).

**Cascading model-parameter randomisation.** Let L_1, …, L_K be the layers that own parameters,
from the top (output) down. On a deep copy of the model, re-initialise L_1, then L_1 and L_2,
…, cumulatively, with each layer's own initialiser (`reset_parameters`, PyTorch's defaults;
seeded). After each step compare the new map a^(k) with the original a^(0):

    ρ_k = Spearman rank correlation (a^(0), a^(k))            per image

computed on |pixel map| by default (Adebayo et al. rank the absolute maps; a sign flip then is
no change), or on the signed map with `absolute=False`. An explanation that depends on what the
model learnt decorrelates quickly: **lower ρ is better** (passes the check); a map that stays
highly correlated after the top layers are random does not explain the model's decision.
Row 0 ("none") re-explains with the untouched copy: ρ = 1 for a deterministic method.
Quantus's MPRT has the same cascade and ρ. It draws the new weights with torch (after
`torch.manual_seed(seed + 1)` for every layer) and ranks |a| channel by channel, where we rank
|Σ_c a|. So it agrees given the same draws and one input channel (tests/test_metrics_quantus.py).

**Cross-class correlation** (a class-discriminativeness check, cf. Sixt et al. 2020):
Spearman (a_c(x), a_c′(x)) for the target class c and another class c′ on the same image.
A class-discriminative method gives different maps for different classes: **lower is better**.

The model passed in is never modified. (Data randomisation — retraining on permuted labels — is
not implemented: it needs a second training run.)
"""

# No `from __future__ import annotations` here: the NamedTuple's fields keep real types, which
# the API site (pdoc) can read; string annotations of a NamedTuple cannot be resolved.

import copy
import inspect
from typing import NamedTuple, Sequence, Union, cast

import numpy as np

from minicnn import nn
from minicnn.validation import check_int

from ..inputs import ArrayLike, Explainer, TargetLike
from ._pixels import as_array, checked_targets, pixel_map
from .correlation import spearman_rows

__all__ = [
    "RandomisationResult", "parameter_layers", "randomise_layer", "model_randomisation",
    "cross_class_correlation",
]


class RandomisationResult(NamedTuple):
    """layers: names, "none" first, then each cumulatively randomised layer (top down);
    spearman: (len(layers), N) rank correlation with the original maps."""

    layers: list
    spearman: np.ndarray


def parameter_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(dotted name, module) of the modules that own parameters directly, from the top (output)
    down: the reverse of registration order, which is the forward order for the model zoo."""
    owners = [(name, m) for name, m in model.named_modules() if any(True for _ in m.parameters(recurse=False))]
    return owners[::-1]


def randomise_layer(module: nn.Module, rng: np.random.Generator) -> None:
    """Re-initialise one module's own parameters in place: its `reset_parameters(rng)` when it has
    one (Linear, Conv2d: PyTorch's U(±1/√fan_in)); otherwise N(0, 1)·1/√fan_in for every
    parameter (BatchNorm's γ, β included)."""
    reset = getattr(module, "reset_parameters", None)
    if callable(reset) and "rng" in inspect.signature(reset).parameters:
        reset(rng=rng)
        return
    for param in module.parameters(recurse=False):
        fan_in = int(np.prod(param.shape[1:])) if param.ndim > 1 else param.shape[0]
        nn.init.normal_(param, 0.0, 1.0 / np.sqrt(max(fan_in, 1)), rng=rng)


def _compare(original, new, absolute, shape):
    a, b = pixel_map(original, shape), pixel_map(new, shape, "explain(randomised model, x, target)")
    if absolute:
        a, b = np.abs(a), np.abs(b)
    return spearman_rows(a, b)


def model_randomisation(model: nn.Module, x: ArrayLike, target: TargetLike, explain: Explainer,
                        layers: Union[None, int, Sequence[str]] = None, absolute: bool = True,
                        seed: int = 0) -> RandomisationResult:
    """Cascading parameter randomisation, top layer first; see the module docstring.

    explain  -- callable (model, x, target) → attributions (shaped like x, or (N, H, W))
    layers   -- None (all of `parameter_layers(model)`), an int k (the top k of them; 0: none),
                or a list of dotted module names, randomised cumulatively in the order given
    absolute -- rank |map| (default, as Adebayo et al.) or the signed map
    seed     -- seeds the re-initialisation
    Returns RandomisationResult(layers=["none", name_1, …], spearman (1 + K, N)).
    """
    if not callable(explain):
        raise TypeError(f"explain: expected a callable (model, x, target) → attributions, got {type(explain).__name__}")
    x = as_array(x, "x")
    targets = checked_targets(model, x, target)
    available = parameter_layers(model)
    if layers is None:
        chosen = [name for name, _ in available]
    elif isinstance(layers, (int, np.integer)) and not isinstance(layers, bool):
        chosen = [name for name, _ in available[: check_int(layers, "layers", 0, len(available))]]
    else:
        names = dict(available)
        chosen = list(cast(Sequence[str], layers))  # neither None nor an int here
        unknown = [name for name in chosen if name not in names]
        if unknown:
            raise ValueError(f"layers: unknown or parameter-free modules {unknown}; expected names from {list(names)}")
    original = as_array(explain(model, x, targets), "explain(model, x, target)")
    shape = x.shape if x.ndim == 4 else None
    twin = copy.deepcopy(model)  # the caller's model is never touched
    modules = dict(twin.named_modules())
    rng = np.random.default_rng(seed)
    rows = [_compare(original, explain(twin, x, targets), absolute, shape)]
    for name in chosen:
        randomise_layer(modules[name], rng)
        rows.append(_compare(original, explain(twin, x, targets), absolute, shape))
    return RandomisationResult(["none"] + chosen, np.stack(rows))


def cross_class_correlation(model: nn.Module, x: ArrayLike, target: TargetLike, other_target: TargetLike,
                            explain: Explainer, absolute: bool = False) -> np.ndarray:
    """Spearman ρ between the maps for `target` and for `other_target` on the same images, (N,).
    **Lower is better** (class-discriminative). Signed maps by default."""
    if not callable(explain):
        raise TypeError(f"explain: expected a callable (model, x, target) → attributions, got {type(explain).__name__}")
    x = as_array(x, "x")
    targets = checked_targets(model, x, target)
    others = checked_targets(model, x, other_target)
    if (targets == others).any():
        raise ValueError(f"other_target: must differ from target in every row; equal in rows {np.flatnonzero(targets == others).tolist()}")
    shape = x.shape if x.ndim == 4 else None
    return _compare(explain(model, x, targets), explain(model, x, others), absolute, shape)

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

**Independent randomisation** (`cascading=False`): re-initialise only L_k, on the otherwise
trained model, for each k in turn. Both orders draw the very same new parameters for L_k, so the
two curves differ only in what else is random.

The model passed in is never modified. (Data randomisation — retraining on permuted labels — needs
a training run: `attributions/reproduce/sanity_checks.py` does it.)
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
    "RandomisationResult", "RandomisedMaps", "parameter_layers", "randomise_layer", "randomised_maps",
    "model_randomisation", "cross_class_correlation",
]


class RandomisationResult(NamedTuple):
    """layers: names, "none" first, then each cumulatively randomised layer (top down);
    spearman: (len(layers), N) rank correlation with the original maps."""

    layers: list
    spearman: np.ndarray


class RandomisedMaps(NamedTuple):
    """layers: "none" first, then the randomised layers in order; maps: one (N, H, W) pixel map per
    layer (row 0: the untouched model); original: the maps of the caller's model."""

    layers: list
    maps: list
    original: np.ndarray


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


def _compare(original, new, absolute):
    if absolute:
        original, new = np.abs(original), np.abs(new)
    return spearman_rows(original, new)


def _chosen_layers(model, layers):
    available = parameter_layers(model)
    if layers is None:
        return [name for name, _ in available]
    if isinstance(layers, (int, np.integer)) and not isinstance(layers, bool):
        return [name for name, _ in available[: check_int(layers, "layers", 0, len(available))]]
    names = dict(available)
    chosen = list(cast(Sequence[str], layers))  # neither None nor an int here
    unknown = [name for name in chosen if name not in names]
    if unknown:
        raise ValueError(f"layers: unknown or parameter-free modules {unknown}; expected names from {list(names)}")
    return chosen


def _random_parameters(model, chosen, seed):
    """{layer: {parameter name: new values}}: every chosen layer re-initialised in the given order
    from one seeded generator (the draws cascading randomisation has always made)."""
    twin = copy.deepcopy(model)
    modules = dict(twin.named_modules())
    rng = np.random.default_rng(seed)
    drawn = {}
    for name in chosen:
        randomise_layer(modules[name], rng)
        drawn[name] = {key: param.data.copy() for key, param in modules[name].named_parameters(recurse=False)}
    return drawn


def randomised_maps(model: nn.Module, x: ArrayLike, target: TargetLike, explain: Explainer,
                    layers: Union[None, int, Sequence[str]] = None, cascading: bool = True,
                    seed: int = 0) -> RandomisedMaps:
    """The pixel maps of `explain` after each randomisation step; see the module docstring.

    explain   -- callable (model, x, target) → attributions (shaped like x, or (N, H, W))
    layers    -- None (all of `parameter_layers(model)`), an int k (the top k of them; 0: none),
                 or a list of dotted module names, in the order they are randomised
    cascading -- True: step k has layers 1…k random; False: step k has only layer k random
    seed      -- seeds the re-initialisation (the same new parameters in both orders)
    """
    if not callable(explain):
        raise TypeError(f"explain: expected a callable (model, x, target) → attributions, got {type(explain).__name__}")
    if not isinstance(cascading, (bool, np.bool_)):
        raise TypeError(f"cascading: expected True or False, got {cascading!r}")
    x = as_array(x, "x")
    targets = checked_targets(model, x, target)
    chosen = _chosen_layers(model, layers)
    shape = x.shape if x.ndim == 4 else None
    original = pixel_map(explain(model, x, targets), shape, "explain(model, x, target)")
    drawn = _random_parameters(model, chosen, seed)
    twin = copy.deepcopy(model)  # the caller's model is never touched
    modules = dict(twin.named_modules())
    trained = {name: {key: p.data.copy() for key, p in modules[name].named_parameters(recurse=False)} for name in chosen}

    def assign(name, values):
        for key, param in modules[name].named_parameters(recurse=False):
            param.data[...] = values[key]

    maps = [pixel_map(explain(twin, x, targets), shape, "explain(randomised model, x, target)")]
    for step, name in enumerate(chosen):
        if not cascading and step:  # only this layer random: the previous one gets its trained values back
            assign(chosen[step - 1], trained[chosen[step - 1]])
        assign(name, drawn[name])
        maps.append(pixel_map(explain(twin, x, targets), shape, "explain(randomised model, x, target)"))
    return RandomisedMaps(["none"] + chosen, maps, original)


def model_randomisation(model: nn.Module, x: ArrayLike, target: TargetLike, explain: Explainer,
                        layers: Union[None, int, Sequence[str]] = None, absolute: bool = True,
                        seed: int = 0, cascading: bool = True) -> RandomisationResult:
    """Spearman ρ of each randomisation step's map with the original one; see the module docstring.

    explain, layers, seed, cascading -- as in `randomised_maps` (cascading from the top by default)
    absolute -- rank |map| (default, as Adebayo et al.) or the signed map
    Returns RandomisationResult(layers=["none", name_1, …], spearman (1 + K, N)).
    """
    steps = randomised_maps(model, x, target, explain, layers, cascading, seed)
    return RandomisationResult(steps.layers, np.stack([_compare(steps.original, m, absolute) for m in steps.maps]))


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
    maps = [pixel_map(explain(model, x, t), shape, "explain(model, x, target)") for t in (targets, others)]
    return _compare(maps[0], maps[1], absolute)

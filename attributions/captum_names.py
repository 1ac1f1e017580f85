"""Captum's keyword names, accepted wherever they mean exactly what ours mean.

A researcher who knows Captum can write
`A.integrated_gradients(model, x, target, baselines=b, n_steps=32, internal_batch_size=16,
return_convergence_delta=True)` and get `(attributions, delta)`, as from Captum's
`IntegratedGradients(model).attribute(...)`. The renaming lives here, once: each method lists
the Captum names it takes with the decorator `captum_names`, and the decorator hands the value
to our argument of the same meaning.

    Captum                    ours          taken by
    baselines                 baseline      IG, DeepLIFT, occlusion, the layer methods, completeness_delta
    n_steps                   steps         IG, layer IG, conductance, neuron conductance
    internal_batch_size       batch_size    the same path methods, expected_gradients
    return_convergence_delta  return_delta  IG, DeepLIFT, DeepLIFT-SHAP, LRP
    relu_attributions         relu          the Grad-CAM family
    sliding_window_shapes     window        occlusion
    strides                   stride        occlusion
    nt_samples                samples       noise_tunnel
    nt_type                   mode          noise_tunnel
    nt_samples_batch_size     batch_size    noise_tunnel
    n_samples                 samples       expected_gradients (Captum's GradientShap)

Giving both spellings is allowed when the values are equal, and a one-line TypeError otherwise.
A value in Captum's spelling may be a torch tensor: it is read as a NumPy array (the library
itself never imports torch). Only names whose semantics coincide are here: Captum's `stdevs`
is `noise_tunnel`'s own argument (an absolute σ, beside our relative `stdev`), and
`perturbations_per_eval` (occlusions per example per pass) is not our `batch_size` (occluded
inputs per pass).

Conventions that stay ours, said where they apply: the convergence delta is Σ_i a_i − (F(x) −
F(x′)), shape (N,), as Captum's for IG and DeepLIFT; DeepLIFT-SHAP returns the mean of the B
deltas of a row (Captum returns all N·B); LRP's is Σ_i R_i − t (Captum's LRP reports t − Σ_i R_i).
And `target=None` means each row's predicted class (`inputs.explained_targets`), where Captum's
None means "the model has a single output".
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, TypeVar

import numpy as np

__all__ = ["CAPTUM_NAMES", "captum_names", "from_torch"]

CAPTUM_NAMES = {
    "baselines": "baseline",
    "n_steps": "steps",
    "internal_batch_size": "batch_size",
    "return_convergence_delta": "return_delta",
    "relu_attributions": "relu",
    "sliding_window_shapes": "window",
    "strides": "stride",
    "nt_samples": "samples",
    "nt_type": "mode",
    "nt_samples_batch_size": "batch_size",
    "n_samples": "samples",
}

Function = TypeVar("Function", bound=Callable[..., Any])


def from_torch(value: Any) -> Any:
    """A torch tensor as a NumPy array; anything else (a minicnn Tensor too) as it is. Known by its
    type's module, so torch is never imported here."""
    if type(value).__module__.split(".")[0] == "torch":
        return value.detach().cpu().numpy()
    return value


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    except (TypeError, ValueError):  # values NumPy cannot compare are not the same value
        return False


def _describe(value: Any) -> str:
    """A short one-line picture of a value: arrays by shape, everything else by repr."""
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return f"an array of shape {value.shape}"
    return repr(value)


def captum_names(*names: str) -> Callable[[Function], Function]:
    """Decorator: let the function take Captum's keywords `names` (keys of CAPTUM_NAMES) for
    its own arguments CAPTUM_NAMES[name]. The wrapped function keeps its signature and docstring."""
    unknown = [name for name in names if name not in CAPTUM_NAMES]
    if unknown:
        raise ValueError(f"names: expected Captum names from CAPTUM_NAMES, got {unknown}")

    def decorate(function: Function) -> Function:
        signature = inspect.signature(function)
        missing = [CAPTUM_NAMES[name] for name in names if CAPTUM_NAMES[name] not in signature.parameters]
        if missing:
            raise TypeError(f"names: {function.__name__} has no argument {', '.join(missing)} to rename to")

        @functools.wraps(function)
        def renamed(*args: Any, **kwargs: Any) -> Any:
            captums = {captum: from_torch(kwargs.pop(captum)) for captum in names if captum in kwargs}
            given = signature.bind_partial(*args, **kwargs).arguments if captums else {}
            for captum, value in captums.items():
                ours = CAPTUM_NAMES[captum]
                if ours in given:  # both spellings: fine only if they agree
                    if not _same(from_torch(given[ours]), value):
                        raise TypeError(f"{captum}: Captum's name for {ours}, given with a different value "
                                        f"({ours}={_describe(given[ours])}, {captum}={_describe(value)}); pass one")
                    continue
                kwargs[ours] = value
            return function(*args, **kwargs)

        return renamed  # type: ignore[return-value]  # functools.wraps keeps the signature

    return decorate

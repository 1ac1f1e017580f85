"""SmoothGrad and VarGrad: average an attribution method over noisy copies of the input.

Notation: M the wrapped method (saliency, IG, LRP, …), x one input row, ξ_s ~ N(0, I) for
s = 1…S, σ = stdev · (max x − min x) the noise level relative to the row's value range (as
Smilkov et al. 2017 set it: "σ/(x_max − x_min)"), and a_s = M(x + σ ξ_s):

    smoothgrad     (1/S) Σ_s a_s                  (Smilkov, Thorat, Kim, Viégas & Wattenberg 2017)
    smoothgrad_sq  (1/S) Σ_s a_s²                 (Hooker et al. 2019, "SmoothGrad-Squared")
    vargrad        (1/S) Σ_s a_s² − ((1/S) Σ_s a_s)²   (Adebayo et al. 2018; the population variance)

The noisy copies go through M as stacked batches (all S samples of an input in one call, capped
like Integrated Gradients' batches), never one call per sample. Captum's `NoiseTunnel` with
`stdevs=σ` computes the same three quantities (tests/test_noise_tunnel.py feeds it our noise).
Captum's `stdevs` is an absolute σ, the same for every row; it is accepted as such (`stdevs=`),
beside our relative `stdev`, with Captum's `nt_samples`, `nt_type` and `nt_samples_batch_size`
for samples, mode and batch_size.
"""

from __future__ import annotations

import inspect
import numbers
from typing import Any, Optional, Union

import numpy as np

from minicnn import nn

from .captum_names import captum_names, from_torch
from .inputs import ArrayLike, Explainer, TargetLike, eval_mode, explained_targets, prepare_input
from .integrated_gradients import _rows_per_batch

__all__ = ["noise_tunnel", "MODES"]

MODES = ("smoothgrad", "smoothgrad_sq", "vargrad")


def _resolve(method: Union[str, Explainer]) -> tuple[Explainer, Explainer]:
    """(a callable f(model, x, target, **kwargs), the library function whose signature it has)
    for a registered method name or a function."""
    if isinstance(method, str):
        from .app.registry import IG_STEPS, get  # here: the registry imports this package

        registered = get(method)
        settings = dict(registered.settings)
        if registered.takes_steps:
            settings["steps"] = IG_STEPS

        def run(model: nn.Module, x: np.ndarray, target: np.ndarray, **kwargs: Any) -> np.ndarray:
            return registered.function(model, x, target, **{**settings, **kwargs})
        return run, registered.function
    if not callable(method):
        raise TypeError(f"method: expected a registered method name or a function, got {method!r}")
    return method, method


def _baseline_keywords(function: Explainer, method_kwargs: dict) -> list[str]:
    """The keywords of method_kwargs that hold x′, one reference per input row: `baseline`, and
    Captum's `baselines` unless that is the function's own argument (for `expected_gradients`
    and `deeplift_shap`, `baselines` is a set of references for every row)."""
    try:
        own = inspect.signature(function).parameters
    except (TypeError, ValueError):  # a callable without a signature: no renaming to know of
        own = inspect.Signature().parameters
    return [k for k in ("baseline", "baselines") if k in method_kwargs and not (k == "baselines" and k in own)]


def _standard_normal(noise: Optional[ArrayLike], samples: int, seed: Optional[int],
                     shape: tuple[int, ...]) -> np.ndarray:
    if noise is None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"seed: expected None or an int, got {seed!r}")
        return np.random.default_rng(seed).standard_normal((samples,) + shape)
    xi = np.asarray(noise, dtype=np.float64)
    if xi.shape != (samples,) + shape:
        raise ValueError(f"noise: expected shape {(samples,) + shape} (samples, *x.shape), got {xi.shape}")
    if not np.isfinite(xi).all():
        raise ValueError("noise: contains NaN or inf values")
    return xi


@captum_names("nt_samples", "nt_type", "nt_samples_batch_size")
def noise_tunnel(method: Union[str, Explainer], model: nn.Module, x: ArrayLike, target: TargetLike = None,
                 samples: int = 50, stdev: Optional[float] = None, mode: str = "smoothgrad", seed: Optional[int] = 0,
                 batch_size: Optional[int] = None, noise: Optional[ArrayLike] = None, stdevs: Optional[float] = None,
                 **method_kwargs: Any) -> np.ndarray:
    """SmoothGrad / SmoothGrad² / VarGrad of `method` at x, shaped like method's result.

    method     -- a name of the method registry ("saliency", "lrp_epsilon", …) or a function
                  f(model, x, target, **method_kwargs) returning one map per row
    target     -- int, or one int per row; None: each row's predicted class (of the clean x)
    samples    -- S ≥ 1 noisy copies per input row
    stdev      -- σ as a fraction of each row's value range max − min (0 returns M(x)); None: 0.15
    stdevs     -- Captum's absolute σ instead, the same for every row (give stdev or stdevs)
    mode       -- "smoothgrad", "smoothgrad_sq" or "vargrad"
    seed       -- seed of the noise ξ (None: fresh noise); ignored when `noise` is given
    batch_size -- at most this many noisy inputs per call of `method`; None: all S of a row,
                  capped by activation memory as in `integrated_gradients`
    noise      -- the standard-normal draws ξ themselves, shape (S, *x.shape): x_s = x + σ ξ_s
                  (reproducible research, and the comparison with Captum)
    method_kwargs -- passed to every call; a `baseline` (or Captum's `baselines` for it) shaped
                  like x follows its rows
    """
    function, signature_of = _resolve(method)
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise ValueError(f"samples: expected an int ≥ 1, got {samples!r}")
    if stdev is not None and stdevs is not None:
        raise TypeError(f"stdevs: Captum's absolute σ, given with our relative stdev={stdev!r}; pass one")
    for name, value in (("stdev", stdev), ("stdevs", stdevs)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0):
            what = "a fraction of the input's range" if name == "stdev" else "an absolute noise level"
            raise ValueError(f"{name}: expected a number ≥ 0 ({what}), got {value!r}")
    x = prepare_input(x, model)
    n, samples = len(x), int(samples)
    xi = _standard_normal(noise, samples, seed, x.shape)
    rows = x.reshape(n, -1)
    spread = np.ones(n) if stdevs is not None else rows.max(axis=1) - rows.min(axis=1)
    level = stdevs if stdevs is not None else (0.15 if stdev is None else stdev)
    sigma = (level * spread).reshape((n,) + (1,) * (x.ndim - 1))
    with eval_mode(model):  # measuring the activations must not update BatchNorm's statistics
        targets = explained_targets(model, x, target)
        per_batch = _rows_per_batch(batch_size, samples, model, x[0])
    per_row = {}  # the references shaped like x: row r of a noisy batch gets row r's
    for keyword in _baseline_keywords(signature_of, method_kwargs):
        baseline = from_torch(method_kwargs[keyword])
        if isinstance(baseline, np.ndarray) and baseline.shape == x.shape and n > 1:
            per_row[keyword] = baseline
    sums: list[np.ndarray] = []  # [Σ_s a_s, Σ_s a_s²] per input row, made at the first batch (M's output shape)
    # Noisy input p ↔ (input row p // S, sample p % S); batches are ranges of p.
    for start in range(0, n * samples, per_batch):
        p = np.arange(start, min(start + per_batch, n * samples))
        row, s = p // samples, p % samples
        kwargs = {**method_kwargs, **{keyword: baseline[row] for keyword, baseline in per_row.items()}}
        a = np.asarray(function(model, x[row] + sigma[row] * xi[s, row], targets[row], **kwargs), dtype=np.float64)
        if not sums:
            sums = [np.zeros((n,) + a.shape[1:]), np.zeros((n,) + a.shape[1:])]
        first = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])   # p is sorted: each row is one run
        sums[0][row[first]] += np.add.reduceat(a, first, axis=0)
        sums[1][row[first]] += np.add.reduceat(a * a, first, axis=0)
    mean, mean_sq = sums[0] / samples, sums[1] / samples
    result = {"smoothgrad": mean, "smoothgrad_sq": mean_sq, "vargrad": mean_sq - mean * mean}[mode]
    return np.asarray(result).astype(x.dtype)

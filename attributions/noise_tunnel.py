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
"""

from __future__ import annotations

import numbers

import numpy as np

from .inputs import eval_mode, prepare_input, prepare_targets
from .integrated_gradients import _rows_per_batch

__all__ = ["noise_tunnel", "MODES"]

MODES = ("smoothgrad", "smoothgrad_sq", "vargrad")


def _resolve(method):
    """A callable f(model, x, target, **kwargs): a registered method name or a function."""
    if isinstance(method, str):
        from .app.registry import IG_STEPS, get  # here: the registry imports this package

        registered = get(method)
        settings = dict(registered.settings)
        if registered.takes_steps:
            settings["steps"] = IG_STEPS
        return lambda model, x, target, **kwargs: registered.function(model, x, target, **{**settings, **kwargs})
    if not callable(method):
        raise TypeError(f"method: expected a registered method name or a function, got {method!r}")
    return method


def _standard_normal(noise, samples, seed, shape):
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


def noise_tunnel(method, model, x, target, samples=50, stdev=0.15, mode="smoothgrad", seed=0, batch_size=None,
                 noise=None, **method_kwargs):
    """SmoothGrad / SmoothGrad² / VarGrad of `method` at x, shaped like method's result.

    method     -- a name of the method registry ("saliency", "lrp_epsilon", …) or a function
                  f(model, x, target, **method_kwargs) returning one map per row
    samples    -- S ≥ 1 noisy copies per input row
    stdev      -- σ as a fraction of each row's value range max − min (0 returns M(x))
    mode       -- "smoothgrad", "smoothgrad_sq" or "vargrad"
    seed       -- seed of the noise ξ (None: fresh noise); ignored when `noise` is given
    batch_size -- at most this many noisy inputs per call of `method`; None: all S of a row,
                  capped by activation memory as in `integrated_gradients`
    noise      -- the standard-normal draws ξ themselves, shape (S, *x.shape): x_s = x + σ ξ_s
                  (reproducible research, and the comparison with Captum)
    method_kwargs -- passed to every call; a `baseline` shaped like x follows its rows
    """
    function = _resolve(method)
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise ValueError(f"samples: expected an int ≥ 1, got {samples!r}")
    if isinstance(stdev, bool) or not isinstance(stdev, numbers.Real) or not stdev >= 0:
        raise ValueError(f"stdev: expected a number ≥ 0 (a fraction of the input's range), got {stdev!r}")
    x = prepare_input(x, model)
    n, samples = len(x), int(samples)
    targets = prepare_targets(target, n)
    xi = _standard_normal(noise, samples, seed, x.shape)
    rows = x.reshape(n, -1)
    sigma = (stdev * (rows.max(axis=1) - rows.min(axis=1))).reshape((n,) + (1,) * (x.ndim - 1))
    with eval_mode(model):  # measuring the activations must not update BatchNorm's statistics
        per_batch = _rows_per_batch(batch_size, samples, model, x[0])
    baseline = method_kwargs.get("baseline")
    per_row_baseline = isinstance(baseline, np.ndarray) and baseline.shape == x.shape and n > 1
    total = total_sq = None
    # Noisy input p ↔ (input row p // S, sample p % S); batches are ranges of p.
    for start in range(0, n * samples, per_batch):
        p = np.arange(start, min(start + per_batch, n * samples))
        row, s = p // samples, p % samples
        kwargs = {**method_kwargs, "baseline": baseline[row]} if per_row_baseline else method_kwargs
        a = np.asarray(function(model, x[row] + sigma[row] * xi[s, row], targets[row], **kwargs), dtype=np.float64)
        if total is None:
            total, total_sq = np.zeros((n,) + a.shape[1:]), np.zeros((n,) + a.shape[1:])
        first = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])   # p is sorted: each row is one run
        total[row[first]] += np.add.reduceat(a, first, axis=0)
        total_sq[row[first]] += np.add.reduceat(a * a, first, axis=0)
    mean, mean_sq = total / samples, total_sq / samples
    result = {"smoothgrad": mean, "smoothgrad_sq": mean_sq, "vargrad": mean_sq - mean * mean}[mode]
    return result.astype(x.dtype)

"""Occlusion (Zeiler & Fergus, ECCV 2014; Captum's `Occlusion`): slide a window over the input,
replace what it covers by the baseline, and see how much the target logit drops.

Notation: x input, x′ baseline, F the target logit, W_p the set of elements the window at
position p covers, x^(p) = x with W_p replaced by x′ (x^(p)_i = x′_i for i ∈ W_p, else x_i).

    a_i = (1 / |{p : i ∈ W_p}|) · Σ_{p : i ∈ W_p} [F(x) − F(x^(p))]

The positions along an axis of length L with window w and stride s start at 0, s, 2s, …,
s·⌈(L − w)/s⌉, Captum's choice: when s does not divide L − w, the last window is cut at the
edge, so every element is covered at least once. Only forward passes: all positions of all
inputs go through the network `batch_size` occluded inputs at a time.
"""

from __future__ import annotations

import itertools
from typing import Any, Optional, Sequence, Union

import numpy as np

from minicnn import nn

from .captum_names import captum_names
from .inputs import ArrayLike, TargetLike, eval_mode, explained_targets, forward_scores, prepare_baseline, prepare_input

__all__ = ["occlusion", "window_positions"]


def _as_shape(value: Any, ndim: int, name: str) -> tuple[int, ...]:
    value = (value,) * ndim if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
    if not (isinstance(value, tuple) and len(value) == ndim
            and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in value)):
        raise ValueError(f"{name}: expected an int ≥ 1 or a tuple of {ndim} ints ≥ 1 (one per axis of a row), got {value!r}")
    return tuple(int(v) for v in value)


def window_positions(row_shape: Sequence[int], window: Sequence[int],
                     stride: Sequence[int]) -> list[tuple[slice, ...]]:
    """The slices of every window position over one row, in C order of the position grid."""
    starts = []
    for length, w, s in zip(row_shape, window, stride):
        if w > length:
            raise ValueError(f"window: {tuple(window)} is larger than a row of the input {tuple(row_shape)}")
        starts.append([s * q for q in range(-(-(length - w) // s) + 1)])  # 0, s, …, s·⌈(L − w)/s⌉
    return [tuple(slice(b, b + w) for b, w in zip(begin, window)) for begin in itertools.product(*starts)]


@captum_names("sliding_window_shapes", "strides", "baselines")
def occlusion(model: nn.Module, x: ArrayLike, target: TargetLike = None,
              window: Union[int, tuple[int, ...]] = (1, 4, 4), stride: Union[int, tuple[int, ...]] = (1, 2, 2),
              baseline: Optional[ArrayLike] = 0.0, batch_size: int = 64) -> np.ndarray:
    """Occlusion a_i = mean over the windows p covering i of F(x) − F(x with W_p set to x′); shaped like x.

    model    -- a minicnn Module returning logits (N, classes); run in eval mode, mode restored
    x        -- batch (N, C, H, W) or (N, features)
    target   -- int, or one int per row; None: each row's predicted class
    window   -- the window's extent along each axis of a row ((C, H, W): (1, 4, 4) occludes one
                channel at a time), or one int for every axis
    stride   -- the step between positions, per axis (or one int)
    baseline -- x′: a scalar, one row, or an array like x (what the window shows instead)
    batch_size -- occluded inputs per forward pass

    Captum's `sliding_window_shapes`, `strides` and `baselines` are accepted for window, stride
    and baseline (Captum's default stride is 1; ours is half the default window). Captum's
    `perturbations_per_eval` counts occlusions per example and pass: not our batch_size.
    """
    x = prepare_input(x, model)
    window = _as_shape(window, x.ndim - 1, "window")
    stride = _as_shape(stride, x.ndim - 1, "stride")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size: expected an int ≥ 1, got {batch_size!r}")
    reference = prepare_baseline(0.0 if baseline is None else baseline, x)
    positions = window_positions(x.shape[1:], window, stride)
    covered = np.zeros(x.shape[1:], dtype=np.float64)  # |{p : i ∈ W_p}|, the same for every row
    for where in positions:
        covered[where] += 1
    n, count = len(x), len(positions)
    total = np.zeros(x.shape, dtype=np.float64)
    with eval_mode(model):
        targets = explained_targets(model, x, target)
        scores = forward_scores(model, x, targets).astype(np.float64)
        for start in range(0, n * count, batch_size):
            jobs = np.arange(start, min(start + batch_size, n * count))
            rows, windows = jobs // count, [positions[q] for q in jobs % count]  # job q ↔ (row, window position)
            occluded = x[rows]
            for r, (row, w) in enumerate(zip(rows, windows)):
                occluded[r][w] = reference[row][w]  # occluded[r] is a view: this writes into the batch
            drops = scores[rows] - forward_scores(model, occluded, targets[rows])
            for drop, row, w in zip(drops, rows, windows):
                total[row][w] += drop
    return (total / covered).astype(x.dtype)

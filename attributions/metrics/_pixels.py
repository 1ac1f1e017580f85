"""Plumbing shared by the metrics: attribution maps as (N, H, W) pixel maps, pixel orderings,
batched model outputs, and row-wise Pearson / Spearman correlations.

Conventions used by every metric:
- an attribution for an image batch x (N, C, H, W) is either shaped like x or (N, H, W)
  (Grad-CAM); the *pixel map* is the sum over the channel axis, so a pixel's relevance is the
  total relevance of its channels (Petsiuk et al. 2018; Arras et al. 2022);
- every result is one number per image, shape (N,): the caller aggregates (mean ± s.e.);
- a score that is undefined for an image (e.g. a correlation with a constant vector) is NaN.
"""

from __future__ import annotations

import numpy as np

import minicnn as mc

from ..inputs import eval_mode, num_classes, prepare_input, prepare_targets

__all__ = [
    "as_array", "pixel_map", "check_images", "check_masks", "check_int", "check_fraction",
    "pixel_ranks", "model_outputs", "checked_targets", "pearson_rows", "average_ranks", "spearman_rows",
]


def as_array(a, name) -> np.ndarray:
    """`a` (ndarray or Tensor) as a numeric float ndarray; ValueError/TypeError naming `name`."""
    array = np.asarray(a.data if isinstance(a, mc.Tensor) else a)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a numeric array, got dtype {array.dtype}")
    if array.ndim == 0 or array.shape[0] == 0:
        raise ValueError(f"{name}: expected a non-empty batch (N, ...), got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: contains NaN or inf values")
    return array.astype(np.float64)


def check_images(x, model=None, name="x") -> np.ndarray:
    """An image batch (N, C, H, W) with N ≥ 1, in the model's dtype when a model is given."""
    x = prepare_input(x, model, name) if model is not None else as_array(x, name)
    if x.ndim != 4:
        raise ValueError(f"{name}: expected an image batch of shape (N, C, H, W), got shape {x.shape}")
    return x


def pixel_map(attributions, shape=None, name="attributions") -> np.ndarray:
    """Attributions (N, C, H, W) summed over channels, or (N, H, W) as given → float64 (N, H, W).

    shape -- the image batch's shape (N, C, H, W) (or (N, H, W)) the maps must match, if known.
    """
    a = as_array(attributions, name)
    if a.ndim == 4:
        if shape is not None and len(shape) == 4 and a.shape != tuple(shape):
            raise ValueError(f"{name}: expected shape {tuple(shape)} (like x) or {(shape[0],) + tuple(shape[2:])}, got {a.shape}")
        a = a.sum(axis=1)
    elif a.ndim != 3:
        raise ValueError(f"{name}: expected a batch of maps (N, C, H, W) or (N, H, W), got shape {a.shape}")
    if shape is not None:
        expected = (shape[0],) + tuple(shape[-2:])
        if a.shape != expected:
            raise ValueError(f"{name}: expected maps of shape {expected} (N, H, W of x), got {a.shape}")
    return a


def check_masks(masks, maps_shape, name="masks") -> np.ndarray:
    """Boolean ground-truth masks shaped like the pixel maps (N, H, W), each with ≥ 1 pixel."""
    m = np.asarray(masks)
    if m.dtype != bool:
        if m.dtype.kind not in "biuf" or not np.isin(m, (0, 1)).all():
            raise TypeError(f"{name}: expected a boolean (or 0/1) array, got dtype {m.dtype}")
        m = m.astype(bool)
    if m.shape != tuple(maps_shape):
        raise ValueError(f"{name}: expected shape {tuple(maps_shape)} (like the attribution maps), got {m.shape}")
    empty = np.flatnonzero(~m.reshape(len(m), -1).any(axis=1))
    if len(empty):
        raise ValueError(f"{name}: every mask needs at least one pixel; rows {empty.tolist()} are empty")
    return m


def check_int(value, name, low, high=None) -> int:
    """An int in [low, high] (high None: unbounded); ValueError naming the argument otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name}: expected an int, got {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f"≥ {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name}: expected an int {bounds}, got {value}")
    return int(value)


def check_fraction(value, name, closed_low=False) -> float:
    """A number in (0, 1] (or [0, 1] with closed_low); ValueError naming the argument otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name}: expected a number in {'[' if closed_low else '('}0, 1], got {value!r}")
    ok = (0 <= value <= 1) if closed_low else (0 < value <= 1)
    if not ok:
        raise ValueError(f"{name}: expected a number in {'[' if closed_low else '('}0, 1], got {value!r}")
    return float(value)


def pixel_ranks(maps, seed=0) -> np.ndarray:
    """rank[n, p] = position of pixel p when image n's pixels are sorted by decreasing relevance
    (0 = most relevant); maps (N, H, W) → int (N, H·W).

    Ties (a constant map, the zeros of a ReLU'd Grad-CAM) are broken in a seeded random order,
    not in raster order, which would favour the top rows of the image.
    """
    flat = maps.reshape(len(maps), -1)
    tie_break = np.random.default_rng(seed).random(flat.shape)
    order = np.lexsort((tie_break, -flat), axis=-1)  # last key is the primary one
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(flat.shape[1])[None, :].repeat(len(flat), 0), axis=1)
    return ranks


def model_outputs(model, images, targets, output="probability", batch_size=256) -> np.ndarray:
    """Target score of every image, (M,) float64: softmax probability or logit, no graph, eval mode.

    The images go through the model `batch_size` at a time (the caller already validated them).
    """
    if output not in ("probability", "logit"):
        raise ValueError(f"output: expected 'probability' or 'logit', got {output!r}")
    scores = np.empty(len(images))
    with eval_mode(model), mc.no_grad():
        for start in range(0, len(images), batch_size):
            stop = min(start + batch_size, len(images))
            logits = model(mc.Tensor(images[start:stop])).data.astype(np.float64)
            if logits.ndim != 2:
                raise ValueError(f"model: expected logits of shape (N, classes), got shape {logits.shape}")
            rows = np.arange(stop - start)
            if output == "logit":
                scores[start:stop] = logits[rows, targets[start:stop]]
            else:
                z = logits - logits.max(axis=1, keepdims=True)
                p = np.exp(z)
                scores[start:stop] = p[rows, targets[start:stop]] / p.sum(axis=1)
    return scores


def checked_targets(model, x, target) -> np.ndarray:
    """One class index per row of x, checked against the model's number of logits."""
    with eval_mode(model):
        return prepare_targets(target, len(x), num_classes(model, x))


def pearson_rows(a, b) -> np.ndarray:
    """Pearson correlation of a[n] and b[n] for each row n (any trailing shape): (N,), NaN where a
    row of either is constant."""
    a = a.reshape(len(a), -1).astype(np.float64)
    b = b.reshape(len(b), -1).astype(np.float64)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    scale = np.maximum(np.abs(a).max(axis=1), 1e-300) * np.maximum(np.abs(b).max(axis=1), 1e-300)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a * b).sum(axis=1) / denominator
    # a row that is constant up to rounding has no defined correlation
    r[denominator <= 1e-12 * scale * a.shape[1]] = np.nan
    return r


def average_ranks(v) -> np.ndarray:
    """Ranks 1…P of each row of v (N, P), ties sharing their average rank (scipy's rankdata
    'average'), vectorised over rows."""
    n, p = v.shape
    order = np.argsort(v, axis=1, kind="stable")
    sorted_v = np.take_along_axis(v, order, axis=1)
    starts = np.ones((n, p), dtype=bool)
    starts[:, 1:] = sorted_v[:, 1:] != sorted_v[:, :-1]  # a new tie group begins; row starts always do
    group = np.cumsum(starts.ravel()) - 1
    positions = np.tile(np.arange(1, p + 1, dtype=np.float64), n)
    mean_rank = np.bincount(group, weights=positions) / np.bincount(group)
    ranks = np.empty((n, p))
    np.put_along_axis(ranks, order, mean_rank[group].reshape(n, p), axis=1)
    return ranks


def spearman_rows(a, b) -> np.ndarray:
    """Spearman rank correlation ρ of a[n] and b[n] per row: Pearson of the average ranks."""
    a = a.reshape(len(a), -1)
    b = b.reshape(len(b), -1)
    return pearson_rows(average_ranks(a), average_ranks(b))

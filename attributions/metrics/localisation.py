"""Localisation: does the attribution point at the object that decides the label?

Notation: a the pixel map (attribution summed over channels), M ⊂ pixels the ground-truth mask
(e.g. `load_dataset("shapes").masks_test`), |M| its size, a⁺ = max(a, 0). All three scores lie
in [0, 1] and **higher is better**. Chance level (a map unrelated to the image) is about |M|/P,
the share of the image the mask covers (P = H·W pixels).

- **Pointing game** (Zhang et al., ECCV 2016): hit_n = [argmax_i a_i ∈ M]. (No tolerance
  margin; a tie for the maximum is broken in a seeded random order.)
- **Relevance mass accuracy** (Arras, Osman & Samek, Information Fusion 2022):
  R_mass = Σ_{i∈M} a⁺_i / Σ_i a⁺_i  (NaN when the map has no positive relevance at all).
- **Relevance rank accuracy** (ibid.): with K = |M| and T_K the K pixels of highest a,
  R_rank = |T_K ∩ M| / K.

Quantus (tests/test_metrics_quantus.py) agrees except in two places. Its PointingGame counts a
hit when *any* tied maximum lies in M, so ours ≤ Quantus's. Its RelevanceMassAccuracy sums the
signed a, so ours(a) = Quantus(a⁺). Its RelevanceRankAccuracy agrees unless a tie straddles
the K-th place.
"""

from __future__ import annotations

import numpy as np

from ..inputs import ArrayLike
from ._pixels import check_masks, pixel_map, pixel_ranks

__all__ = ["pointing_game", "relevance_mass_accuracy", "relevance_rank_accuracy"]


def _maps_and_masks(attributions: ArrayLike, masks: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    maps = pixel_map(attributions)
    return maps, check_masks(masks, maps.shape)


def pointing_game(attributions: ArrayLike, masks: ArrayLike, seed: int = 0) -> np.ndarray:
    """1.0 where the most relevant pixel lies in the mask, else 0.0; (N,). **Higher is better.**

    attributions -- (N, C, H, W) or (N, H, W); masks -- bool (N, H, W), each non-empty
    """
    maps, masks = _maps_and_masks(attributions, masks)
    top = np.argmin(pixel_ranks(maps, seed), axis=1)  # the pixel of rank 0
    return masks.reshape(len(masks), -1)[np.arange(len(masks)), top].astype(np.float64)


def relevance_mass_accuracy(attributions: ArrayLike, masks: ArrayLike) -> np.ndarray:
    """Σ_{i∈M} a⁺_i / Σ_i a⁺_i per image, (N,), NaN for a map without positive relevance.
    **Higher is better.**"""
    maps, masks = _maps_and_masks(attributions, masks)
    positive = np.maximum(maps, 0).reshape(len(maps), -1)
    inside = (positive * masks.reshape(len(masks), -1)).sum(axis=1)
    total = positive.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, inside / np.where(total > 0, total, 1), np.nan)


def relevance_rank_accuracy(attributions: ArrayLike, masks: ArrayLike, seed: int = 0) -> np.ndarray:
    """|top-K pixels ∩ M| / K with K = |M|, per image, (N,). **Higher is better.**"""
    maps, masks = _maps_and_masks(attributions, masks)
    flat = masks.reshape(len(masks), -1)
    k = flat.sum(axis=1)
    top_k = pixel_ranks(maps, seed) < k[:, None]
    return (top_k & flat).sum(axis=1) / k

"""The stacked batch [x; x′] every DeepLIFT pass runs on, and the guarded ratio Δy/Δz.

Rows :n belong to the input x and rows n: to the reference x′. In the backward pass the grad
arrays have the same 2n rows: with the Rescale rule both halves carry the same multiplier m;
with RevealCancel the top half carries m⁺ and the bottom half m⁻, the multipliers of the
positive and negative parts (Δ⁺, Δ⁻) of each difference.
"""

from __future__ import annotations

import numpy as np

__all__ = ["halves", "stack", "safe_ratio", "times_both_halves", "sign_split", "collapse_pair"]


def halves(array: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(top, bottom) = (rows of x, rows of x′), or (m⁺, m⁻) in a RevealCancel backward pass."""
    n = len(array) // 2
    return array[:n], array[n:]


def stack(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    return np.concatenate([top, bottom])


def safe_ratio(numerator: np.ndarray, denominator: np.ndarray, fallback: np.ndarray | float,
               small: float) -> np.ndarray:
    """numerator / denominator where |denominator| > small, else `fallback` (finite everywhere)."""
    big = np.abs(denominator) > small
    ratio = np.empty(np.broadcast_shapes(np.shape(numerator), np.shape(denominator)),
                     dtype=np.result_type(numerator, denominator))
    ratio[...] = fallback
    return np.divide(numerator, denominator, out=ratio, where=big)    # divides only where big


def times_both_halves(grad: np.ndarray, m: np.ndarray) -> np.ndarray:
    """grad · [m; m]: the same multiplier for the input and the reference half of the batch
    (broadcast over a leading axis of 2 instead of copying m)."""
    return (grad.reshape((2,) + m.shape) * m).reshape(grad.shape)


def sign_split(delta: np.ndarray) -> np.ndarray:
    """[Δ⁺; Δ⁻] = [max(Δ, 0); min(Δ, 0)], stacked like the batch."""
    return stack(np.maximum(delta, 0), np.minimum(delta, 0))


def collapse_pair(grad: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """One multiplier from the pair [m⁺; m⁻]: m⁺ where Δ > 0, m⁻ where Δ < 0, their mean where Δ = 0."""
    m_pos, m_neg = halves(grad)
    return np.where(delta > 0, m_pos, np.where(delta < 0, m_neg, (m_pos + m_neg) / 2))

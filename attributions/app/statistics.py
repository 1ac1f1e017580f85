"""Summaries of per-image values for the reports: mean ± standard error over the defined ones."""

from __future__ import annotations

import numpy as np

from ..inputs import ArrayLike

__all__ = ["mean_and_error"]


def mean_and_error(values: ArrayLike) -> tuple[float, float, int]:
    """(mean, standard error, count) over the finite entries."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return np.nan, np.nan, 0
    se = v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else np.nan
    return float(v.mean()), float(se), len(v)

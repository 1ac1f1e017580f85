"""Is this input like the ones the model was trained on? A one-line warning when it is not.

A model answers every input with a class and a probability, also a photo of a cat given to a
digits model, or a dark-on-light drawing given to a model that only saw light-on-dark digits.
`explain` compares each input with the model's data on three statistics, computed once per run:

* the image's mean pixel value μ(x) = (1/P) Σ_p x_p (how much ink / how bright);
* its standard deviation σ(x) = √((1/P) Σ_p (x_p − μ(x))²) (how much contrast);
* the model's confidence, the largest softmax probability max_c p_c(x).

An input is flagged when μ or σ lies outside the range [q_lo, q_hi] spanned by the training
images' values from the QUANTILE-th to the (1 − QUANTILE)-th quantile, widened by SLACK × its
width on both sides, or when its confidence is below the QUANTILE-th quantile of the confidences
on the held-out test images. Not the training images: the model was fitted to those and is more
sure of them than of anything new (bundled digits model: 0.5 % quantile 0.97 on training images,
0.66 on test images; the training floor flagged 27 of the 449 test digits, the pixel ranges none).
The rule is deliberately simple: it catches inverted, blank, saturated, noisy or low-contrast
inputs, and inputs the model cannot place; it is no guarantee that an unflagged input is in
distribution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import minicnn.functional as F
from minicnn import nn
from minicnn.data import Dataset
from minicnn.train import predict

__all__ = ["QUANTILE", "SLACK", "TrainingStatistics", "training_statistics", "unfamiliar"]

QUANTILE = 0.005  # 0.5 % of the training images may lie outside the range without a warning ...
SLACK = 0.1  # ... and the range is widened by 10 % of its width: "far" outside, not at the edge


def _pixel_statistics(x):
    flat = x.reshape(len(x), -1)
    return {"mean pixel value": flat.mean(axis=1), "pixel standard deviation": flat.std(axis=1)}


@dataclass(frozen=True)
class TrainingStatistics:
    """ranges: statistic → (low, high) accepted; confidence_floor: the lowest accepted max-softmax;
    n_images: (training, test) images they were computed from."""

    ranges: dict
    confidence_floor: float
    n_images: tuple


def training_statistics(model: nn.Module, data: Dataset) -> TrainingStatistics:
    """The accepted ranges from a Dataset's training images and the model's (eval mode)
    confidence on its test images."""
    ranges = {}
    for name, values in _pixel_statistics(data.x_train).items():
        low, high = np.quantile(values, [QUANTILE, 1.0 - QUANTILE])
        slack = SLACK * (high - low)
        ranges[name] = (float(low - slack), float(high + slack))
    confidence = F.softmax(predict(model, data.x_test), axis=1).data.max(axis=1)
    return TrainingStatistics(ranges, float(np.quantile(confidence, QUANTILE)), (len(data.x_train), len(data.x_test)))


def unfamiliar(statistics: TrainingStatistics, x: np.ndarray, probabilities: np.ndarray) -> list[str]:
    """The warnings for one input x (1, C, H, W) with the model's probabilities (K,): one line each."""
    warnings = []
    for name, values in _pixel_statistics(x).items():
        value = float(values[0])
        low, high = statistics.ranges[name]
        if not low <= value <= high:
            warnings.append(f"its {name} {value:.3f} is outside the training images' range "
                            f"[{low:.3f}, {high:.3f}]; the prediction may mean little")
    confidence = float(np.max(probabilities))
    if confidence < statistics.confidence_floor:
        warnings.append(f"the model's confidence (max softmax {confidence:.2f}) is below that on "
                        f"{100 * (1 - QUANTILE):g} % of its test images ({statistics.confidence_floor:.2f})")
    return warnings

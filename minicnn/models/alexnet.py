"""AlexNet as torchvision has it: the single-GPU variant of Krizhevsky's "One weird trick for
parallelizing convolutional neural networks" (2014, arXiv:1404.5997), after Krizhevsky, Sutskever
& Hinton 2012 (NeurIPS). It has 64, 192, 384, 256, 256 conv channels (not the 2012 paper's 96,
256, 384, 384, 256) and no local response normalisation.

    features:   [conv 11×11/4 → ReLU → max-pool 3×3/2] → [conv 5×5 → ReLU → max-pool 3×3/2]
                → conv 3×3 → ReLU → conv 3×3 → ReLU → conv 3×3 → ReLU → max-pool 3×3/2
    classifier: Dropout → 4096 → ReLU → Dropout → 4096 → ReLU → classes
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn
from ..tensor import Tensor
from ..typing import DTypeLike

__all__ = ["AlexNet", "alexnet"]


class AlexNet(nn.Module):
    """Input (N, 3, H, W), H, W ≥ 63 (224 as trained); the adaptive pool maps whatever the
    features give to the 6×6 the classifier expects."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(), nn.MaxPool2d(3, stride=2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, stride=2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(4096, 4096), nn.ReLU(),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(F.flatten(self.avgpool(self.features(x)), 1))


def alexnet(num_classes: int = 1000, dtype: DTypeLike = np.float64) -> AlexNet:
    """AlexNet ("one weird trick" variant); 61,100,840 parameters with 1000 classes."""
    return AlexNet(num_classes).to(dtype)

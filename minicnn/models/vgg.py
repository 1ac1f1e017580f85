"""VGG-11, VGG-16 and VGG-16 with batch normalisation (Simonyan & Zisserman 2015, "Very Deep
Convolutional Networks for Large-Scale Image Recognition", ICLR), with torchvision's module names.

VGG is only 3×3 convolutions (padding 1, so the size is kept) and 2×2 max-pools (which halve
it); two stacked 3×3 convs see 5×5 with fewer parameters than one 5×5 conv. Each conv layer is

    y = ReLU(conv3×3(x))          or, in the _bn variants,  y = ReLU(BN(conv3×3(x)))

and the five pooled stages are followed by three fully connected layers (4096, 4096, classes).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import functional as F
from .. import nn
from ..tensor import Tensor
from ..typing import DTypeLike

__all__ = ["VGG", "CONFIGS", "make_layers", "vgg11", "vgg16", "vgg16_bn"]

# The paper's Table 1: an int is a 3×3 conv with that many output channels, "M" a 2×2 max-pool.
CONFIGS: dict[str, list[int | str]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],                       # VGG-11
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],  # VGG-16
}


def make_layers(config: Sequence[int | str], batch_norm: bool = False) -> nn.Sequential:
    """The `features` Sequential of a configuration, flat (conv, [BN,] ReLU, …, max-pool), so
    its parameters are numbered like torchvision's (features.0.weight, features.3.weight, …)."""
    layers: list[nn.Module] = []
    in_channels = 3
    for v in config:
        if v == "M":
            layers.append(nn.MaxPool2d(2, stride=2))
            continue
        out_channels = int(v)
        layers.append(nn.Conv2d(in_channels, out_channels, 3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.ReLU())
        in_channels = out_channels
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """features → adaptive average pool to 7×7 (so inputs other than 224×224 fit the classifier)
    → flatten → Linear(512·7·7, 4096) → ReLU → Dropout → Linear(4096, 4096) → ReLU → Dropout →
    Linear(4096, classes)."""

    def __init__(self, features: nn.Module, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(F.flatten(self.avgpool(self.features(x)), 1))


def vgg11(num_classes: int = 1000, dtype: DTypeLike = np.float64) -> VGG:
    """VGG-11 (configuration A); 132,863,336 parameters with 1000 classes."""
    return VGG(make_layers(CONFIGS["A"]), num_classes).to(dtype)


def vgg16(num_classes: int = 1000, dtype: DTypeLike = np.float64) -> VGG:
    """VGG-16 (configuration D); 138,357,544 parameters with 1000 classes."""
    return VGG(make_layers(CONFIGS["D"]), num_classes).to(dtype)


def vgg16_bn(num_classes: int = 1000, dtype: DTypeLike = np.float64) -> VGG:
    """VGG-16 with a BatchNorm after every conv; 138,365,992 parameters with 1000 classes."""
    return VGG(make_layers(CONFIGS["D"], batch_norm=True), num_classes).to(dtype)

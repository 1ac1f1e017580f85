"""SqueezeNet 1.1 (Iandola, Han, Moskewicz, Ashraf, Dally & Keutzer 2016, "SqueezeNet:
AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size", arXiv:1602.07360;
version 1.1 from the authors' repository, as in torchvision), with torchvision's module names.

Its building block, the Fire module, first squeezes the channels with 1×1 convs, then expands
with 1×1 and 3×3 convs side by side:

    s = ReLU(conv1×1(x)),    y = concat(ReLU(conv1×1(s)), ReLU(conv3×3(s)))   (along channels)

There are no fully connected layers: a 1×1 conv gives one map per class, averaged to a score.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn
from ..tensor import Tensor
from ..typing import DTypeLike

__all__ = ["Fire", "SqueezeNet", "squeezenet1_1"]


class Fire(nn.Module):
    """Squeeze to `squeeze_planes` channels, expand to expand1x1_planes + expand3x3_planes."""

    def __init__(self, inplanes: int, squeeze_planes: int, expand1x1_planes: int, expand3x3_planes: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, 1)
        self.squeeze_activation = nn.ReLU()
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, 1)
        self.expand1x1_activation = nn.ReLU()
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, 3, padding=1)
        self.expand3x3_activation = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        s = self.squeeze_activation(self.squeeze(x))
        return F.concatenate(
            [self.expand1x1_activation(self.expand1x1(s)), self.expand3x3_activation(self.expand3x3(s))], axis=1,
        )


class SqueezeNet(nn.Module):
    """SqueezeNet 1.1: conv 3×3/2 → ReLU → max-pool, then Fire modules with max-pools between
    them (ceil_mode: a partial window at the edge still makes an output, as in Caffe where the
    net was trained); classifier Dropout → conv 1×1 to classes → ReLU → global average pool.
    Input (N, 3, H, W), H, W ≥ 17 (224 as trained)."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 3, stride=2), nn.ReLU(), nn.MaxPool2d(3, stride=2, ceil_mode=True),
            Fire(64, 16, 64, 64), Fire(128, 16, 64, 64), nn.MaxPool2d(3, stride=2, ceil_mode=True),
            Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), nn.MaxPool2d(3, stride=2, ceil_mode=True),
            Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256), Fire(512, 64, 256, 256),
        )
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Conv2d(512, num_classes, 1), nn.ReLU(), nn.AdaptiveAvgPool2d((1, 1)),
        )

    def forward(self, x: Tensor) -> Tensor:
        return F.flatten(self.classifier(self.features(x)), 1)


def squeezenet1_1(num_classes: int = 1000, dtype: DTypeLike = np.float64) -> SqueezeNet:
    """SqueezeNet 1.1; 1,235,496 parameters with 1000 classes."""
    return SqueezeNet(num_classes).to(dtype)

"""MobileNetV2 (Sandler, Howard, Zhu, Zhmoginov & Chen 2018, "MobileNetV2: Inverted Residuals
and Linear Bottlenecks", CVPR), with torchvision's module names.

Its block, the inverted residual, widens the channels t-fold with a 1×1 conv, filters each
channel on its own with a 3×3 depthwise conv (groups = channels: 9 weights per channel instead
of 9·C), and projects back with a 1×1 conv that has no activation (the "linear bottleneck":
a ReLU on the narrow representation would destroy information):

    y = x + BN(conv1×1(ReLU6(BN(dwconv3×3(ReLU6(BN(conv1×1(x))))))))

the residual x + … only where stride is 1 and the width is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import functional as F
from .. import nn
from ..tensor import Tensor
from ..typing import DTypeLike

__all__ = ["Conv2dNormActivation", "InvertedResidual", "MobileNetV2", "mobilenet_v2"]


class Conv2dNormActivation(nn.Sequential):
    """conv (no bias: the BN's shift replaces it; 'same' padding) → BatchNorm → activation,
    as torchvision.ops.Conv2dNormActivation, so the parameters are `0.weight`, `1.weight`, …"""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 groups: int = 1, activation_layer: Callable[[], nn.Module] = nn.ReLU) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=(kernel_size - 1) // 2,
                      groups=groups, bias=False),
            nn.BatchNorm2d(out_channels),
            activation_layer(),
        )


class InvertedResidual(nn.Module):
    """Expand `inp` channels by `expand_ratio` (the 1×1 expansion is left out when it is 1),
    depthwise 3×3 conv with `stride`, linear 1×1 projection to `oup` channels."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden_dim = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(Conv2dNormActivation(inp, hidden_dim, 1, activation_layer=nn.ReLU6))
        layers += [
            Conv2dNormActivation(hidden_dim, hidden_dim, stride=stride, groups=hidden_dim, activation_layer=nn.ReLU6),
            nn.Conv2d(hidden_dim, oup, 1, bias=False),
            nn.BatchNorm2d(oup),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """conv 3×3/2 to 32 channels, the 17 inverted residuals of the paper's Table 2, conv 1×1 to
    1280, global average pool, Dropout → Linear(1280, classes). Input (N, 3, H, W), 224 as trained
    (the net downsamples 32-fold)."""

    # The paper's Table 2: expansion t, output channels c, repeats n, first stride s.
    SETTINGS = [
        (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
    ]

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        features: list[nn.Module] = [Conv2dNormActivation(3, 32, stride=2, activation_layer=nn.ReLU6)]
        in_channels = 32
        for t, c, n, s in self.SETTINGS:
            for i in range(n):
                features.append(InvertedResidual(in_channels, c, s if i == 0 else 1, expand_ratio=t))
                in_channels = c
        features.append(Conv2dNormActivation(in_channels, 1280, 1, activation_layer=nn.ReLU6))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(1280, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        x = F.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(F.flatten(x, 1))


def mobilenet_v2(num_classes: int = 1000, dtype: DTypeLike = np.float64) -> MobileNetV2:
    """MobileNetV2 (width 1.0); 3,504,872 parameters with 1000 classes."""
    return MobileNetV2(num_classes).to(dtype)

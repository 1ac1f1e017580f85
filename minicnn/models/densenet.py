"""DenseNet-121 (Huang, Liu, van der Maaten & Weinberger 2017, "Densely Connected Convolutional
Networks", CVPR; the DenseNet-BC variant), with torchvision's module names.

Inside a dense block every layer sees the feature maps of all layers before it, concatenated
along the channels, and adds k ("growth rate") new ones:

    x_ℓ = H_ℓ([x_0, x_1, …, x_{ℓ−1}]),   H = BN → ReLU → conv1×1 (to 4k) → BN → ReLU → conv3×3 (to k)

Between blocks a transition (BN → ReLU → conv1×1 halving the channels → avg-pool 2×2) shrinks
the maps. Features are reused rather than relearned, so the net is narrow (k = 32) yet accurate.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .. import functional as F
from .. import nn
from ..tensor import Tensor
from ..typing import DTypeLike

__all__ = ["DenseLayer", "DenseBlock", "Transition", "DenseNet", "densenet121"]


class DenseLayer(nn.Module):
    """H_ℓ: the k new feature maps computed from everything concatenated so far (pre-activation
    order, BN → ReLU → conv, twice; the 1×1 conv is the "bottleneck" of DenseNet-BC)."""

    def __init__(self, num_input_features: int, growth_rate: int, bn_size: int) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, 3, padding=1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        bottleneck = self.conv1(self.relu1(self.norm1(x)))
        return self.conv2(self.relu2(self.norm2(bottleneck)))


class DenseBlock(nn.Module):
    """`num_layers` DenseLayers (named denselayer1, denselayer2, …); each one's output is
    appended to the running concatenation, which is the block's output."""

    def __init__(self, num_layers: int, num_input_features: int, bn_size: int, growth_rate: int) -> None:
        super().__init__()
        for i in range(num_layers):
            layer = DenseLayer(num_input_features + i * growth_rate, growth_rate, bn_size)
            self.add_module(f"denselayer{i + 1}", layer)

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.children():
            x = F.concatenate([x, layer(x)], axis=1)
        return x


class Transition(nn.Sequential):
    """BN → ReLU → conv 1×1 → avg-pool 2×2/2, as torchvision's `_Transition` (norm, relu, conv, pool)."""

    def __init__(self, num_input_features: int, num_output_features: int) -> None:
        super().__init__(OrderedDict([
            ("norm", nn.BatchNorm2d(num_input_features)),
            ("relu", nn.ReLU()),
            ("conv", nn.Conv2d(num_input_features, num_output_features, 1, bias=False)),
            ("pool", nn.AvgPool2d(2, stride=2)),
        ]))


class DenseNet(nn.Module):
    """stem (conv0 7×7/2, norm0, relu0, pool0 3×3/2), dense blocks of `block_config` layers with
    transitions between them, norm5, then ReLU → global average pool → Linear. All of it except
    the last three steps sits in `features`, named as torchvision names it.
    Input (N, 3, H, W), H, W ≥ 32 (224 as trained)."""

    def __init__(self, growth_rate: int = 32, block_config: tuple[int, ...] = (6, 12, 24, 16),
                 num_init_features: int = 64, bn_size: int = 4, num_classes: int = 1000) -> None:
        super().__init__()
        self.features = nn.Sequential(OrderedDict([
            ("conv0", nn.Conv2d(3, num_init_features, 7, stride=2, padding=3, bias=False)),
            ("norm0", nn.BatchNorm2d(num_init_features)),
            ("relu0", nn.ReLU()),
            ("pool0", nn.MaxPool2d(3, stride=2, padding=1)),
        ]))
        channels = num_init_features
        for i, num_layers in enumerate(block_config, start=1):
            self.features.add_module(f"denseblock{i}", DenseBlock(num_layers, channels, bn_size, growth_rate))
            channels += num_layers * growth_rate
            if i != len(block_config):
                self.features.add_module(f"transition{i}", Transition(channels, channels // 2))
                channels //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(channels))
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = F.adaptive_avg_pool2d(F.relu(self.features(x)), (1, 1))
        return self.classifier(F.flatten(x, 1))


def densenet121(num_classes: int = 1000, dtype: DTypeLike = np.float64) -> DenseNet:
    """DenseNet-121: k = 32, blocks of 6, 12, 24, 16 layers; 7,978,856 parameters with 1000 classes."""
    return DenseNet(32, (6, 12, 24, 16), 64, num_classes=num_classes).to(dtype)

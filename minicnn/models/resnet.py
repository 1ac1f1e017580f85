"""ResNet-18, -34 and -50 (He, Zhang, Ren & Sun 2016, "Deep Residual Learning for Image
Recognition", CVPR), with torchvision's module names, so torchvision's state_dicts load unchanged.

A residual block learns a correction F(x) to its input instead of a whole new mapping:

    y = ReLU(F(x) + shortcut(x))

where the shortcut is the identity, or a strided 1×1 conv + BN when F changes the shape. The
shortcut gives the gradient a path around every block, which is what lets 50+ layers train.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import functional as F
from .. import nn
from ..tensor import Tensor
from ..typing import DTypeLike

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50"]


def _projection(in_channels: int, out_channels: int, stride: int) -> nn.Sequential | None:
    """The shortcut where the block changes the shape: 1×1 conv (strided like the block) + BN;
    None (the identity) where it does not."""
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels),
    )


class BasicBlock(nn.Module):
    """The two-conv residual block of ResNet-18/34:

        y = ReLU(BN(conv3×3(ReLU(BN(conv3×3_stride(x))))) + shortcut(x))

    `downsample` is the shortcut; left as None, the block builds the 1×1 conv + BN projection
    itself when stride ≠ 1 or the width changes (torchvision's `_make_layer` builds the same
    module and passes it in; the state_dict names are the same either way).
    """

    expansion = 1  # output channels = planes · expansion

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()  # one module used twice, as torchvision does (a hook on it fires twice)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = _projection(inplanes, planes, stride) if downsample is None else downsample

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """The bottleneck block of ResNet-50: a 1×1 conv narrows to `planes` channels, the 3×3 conv
    works there (and carries the stride, torchvision's "ResNet v1.5"), a 1×1 conv widens to 4·planes:

        y = ReLU(BN(conv1×1(ReLU(BN(conv3×3_stride(ReLU(BN(conv1×1(x)))))))) + shortcut(x))
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        out_channels = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        self.downsample = _projection(inplanes, out_channels, stride) if downsample is None else downsample

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    """ImageNet ResNet: stem (conv 7×7/2 → BN → ReLU → max-pool 3×3/2), four stages of
    `layers[i]` blocks at widths 64, 128, 256, 512 (stages 2–4 halve the resolution in their
    first block), global average pooling, one linear layer. Input (N, 3, H, W): 224×224 as trained;
    the net downsamples 32-fold, and the average pooling accepts any final size.
    """

    def __init__(self, block: type[BasicBlock] | type[Bottleneck], layers: Sequence[int],
                 num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.inplanes = 64  # the width the next stage starts from, advanced by _make_layer
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block: type[BasicBlock] | type[Bottleneck], planes: int, blocks: int,
                    stride: int = 1) -> nn.Sequential:
        stage = [block(self.inplanes, planes, stride)]
        self.inplanes = planes * block.expansion
        stage += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*stage)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(F.flatten(self.avgpool(x), 1))


def resnet18(num_classes: int = 1000, dtype: DTypeLike = np.float64) -> ResNet:
    """ResNet-18: BasicBlocks [2, 2, 2, 2]; 11,689,512 parameters with 1000 classes."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes).to(dtype)


def resnet34(num_classes: int = 1000, dtype: DTypeLike = np.float64) -> ResNet:
    """ResNet-34: BasicBlocks [3, 4, 6, 3]; 21,797,672 parameters with 1000 classes."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes).to(dtype)


def resnet50(num_classes: int = 1000, dtype: DTypeLike = np.float64) -> ResNet:
    """ResNet-50: Bottlenecks [3, 4, 6, 3]; 25,557,032 parameters with 1000 classes."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes).to(dtype)

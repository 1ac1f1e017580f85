"""The small nets the bundled weights were trained with: a LeNet-style net, a small VGG-style net
and a small ResNet.

Every architecture takes the input shape (C, H, W) and the number of classes, so the same code
serves digits (1×16×16), faces (1×25×25) and shapes (1×32×32). The module names follow the
PyTorch way of writing the same nets, so a PyTorch state_dict of the same architecture loads
unchanged.
"""

from __future__ import annotations

from .. import functional as F
from .. import nn
from ..tensor import Tensor
from .resnet import BasicBlock

__all__ = ["LeNet", "VGGSmall", "ResNetSmall"]


class LeNet(nn.Module):
    """LeNet-5 style (LeCun et al. 1998, with ReLU and max pooling):
    conv 6@5×5 (pad 2) → ReLU → max-pool 2 → conv 16@5×5 → ReLU → max-pool 2 → 120 → 84 → classes."""

    def __init__(self, input_shape: tuple[int, int, int] = (1, 28, 28), num_classes: int = 10) -> None:
        super().__init__()
        c, h, w = input_shape
        self.features = nn.Sequential(
            nn.Conv2d(c, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        )
        fh, fw = ((h // 2) - 4) // 2, ((w // 2) - 4) // 2
        if fh < 1 or fw < 1:
            raise ValueError(f"LeNet: input_shape must be at least 12×12, got {input_shape}")
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * fh * fw, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


class VGGSmall(nn.Module):
    """VGG style (Simonyan & Zisserman 2015), two blocks of two 3×3 convs:
    [conv c₁, ReLU, conv c₁, ReLU, max-pool 2] → [conv c₂, ReLU, conv c₂, ReLU, max-pool 2] → hidden → classes."""

    def __init__(self, input_shape: tuple[int, int, int] = (3, 32, 32), num_classes: int = 10,
                 channels: tuple[int, int] = (16, 32), hidden: int = 64) -> None:
        super().__init__()
        c, h, w = input_shape
        c1, c2 = channels
        self.features = nn.Sequential(
            nn.Conv2d(c, c1, 3, padding=1), nn.ReLU(), nn.Conv2d(c1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.Conv2d(c2, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        if h < 4 or w < 4:
            raise ValueError(f"VGGSmall: input_shape must be at least 4×4, got {input_shape}")
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(c2 * (h // 4) * (w // 4), hidden), nn.ReLU(), nn.Linear(hidden, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


class ResNetSmall(nn.Module):
    """A small ResNet: stem conv 3×3 → BN → ReLU, two of ResNet-18's BasicBlocks at widths
    (w, 2w) (the second strided), global average pooling, linear classifier."""

    def __init__(self, input_shape: tuple[int, int, int] = (3, 32, 32), num_classes: int = 10,
                 width: int = 16) -> None:
        super().__init__()
        c = input_shape[0]
        self.conv1 = nn.Conv2d(c, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.layer1 = BasicBlock(width, width)
        self.layer2 = BasicBlock(width, 2 * width, stride=2)
        self.fc = nn.Linear(2 * width, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.layer2(self.layer1(h))
        return self.fc(F.flatten(F.adaptive_avg_pool2d(h, 1), 1))



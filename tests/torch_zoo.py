"""PyTorch twins of minicnn.models' ImageNet architectures and small nets, the reference for tests/test_zoo.py
(and for the metrics cross-checked against Quantus in tests/test_metrics_quantus.py).

torchvision cannot be imported next to this torch, so the twins are written here with plain
`torch.nn`, with torchvision's module names: their state_dict keys are torchvision's (checked
against torchvision's published parameter counts and a sample of its keys in test_zoo.py).
They are written differently from minicnn.models on purpose (one residual block for both ResNet
block kinds, architectures as layer lists, DenseNet concatenating all earlier maps at every
layer), so that a mistake is unlikely to be made the same way twice.

    twin = seeded_twin("resnet18", num_classes=10)          # float64, eval, random BN statistics
    model.load_state_dict(numpy_state_dict(twin))
"""

from collections import OrderedDict

import torch
from torch import nn

__all__ = ["TWINS", "seeded_twin", "numpy_state_dict", "randomize_batchnorm", "ResNetSmallTwin", "LeNetTwin", "VGGSmallTwin"]


# ---- ResNet ---------------------------------------------------------------------------------
class ResidualBlock(nn.Module):
    """torchvision's BasicBlock (kernels 3, 3) or Bottleneck (kernels 1, 3, 1 and 4× wider
    output): conv{i}/bn{i} pairs, ReLU after all but the last, the stride on the first 3×3 conv,
    then relu(out + downsample(x))."""

    def __init__(self, inplanes, planes, stride=1, bottleneck=False):
        super().__init__()
        kernels = (1, 3, 1) if bottleneck else (3, 3)
        widths = [inplanes] + [planes] * (len(kernels) - 1) + [planes * (4 if bottleneck else 1)]
        strided = kernels.index(3)
        for i, k in enumerate(kernels):
            conv = nn.Conv2d(widths[i], widths[i + 1], k, stride if i == strided else 1, k // 2, bias=False)
            self.add_module(f"conv{i + 1}", conv)
            self.add_module(f"bn{i + 1}", nn.BatchNorm2d(widths[i + 1]))
        self.relu = nn.ReLU()
        self.depth = len(kernels)
        self.downsample = None
        if stride != 1 or inplanes != widths[-1]:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, widths[-1], 1, stride, bias=False), nn.BatchNorm2d(widths[-1]),
            )

    def forward(self, x):
        out = x
        for i in range(1, self.depth + 1):
            out = getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(out))
            if i < self.depth:
                out = self.relu(out)
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNetTwin(nn.Module):
    def __init__(self, layers, bottleneck, num_classes):
        super().__init__()
        expansion = 4 if bottleneck else 1
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes = 64
        for i, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers)):
            stage = [ResidualBlock(inplanes if j == 0 else planes * expansion, planes,
                                   2 if i > 0 and j == 0 else 1, bottleneck) for j in range(blocks)]
            self.add_module(f"layer{i + 1}", nn.Sequential(*stage))
            inplanes = planes * expansion
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512 * expansion, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(1, 5):
            x = getattr(self, f"layer{i}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


class ResNetSmallTwin(nn.Module):
    """minicnn.models.ResNetSmall (3 input channels, width w) in PyTorch."""

    def __init__(self, num_classes=10, width=16):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.layer1 = ResidualBlock(width, width)
        self.layer2 = ResidualBlock(width, 2 * width, stride=2)
        self.fc = nn.Linear(2 * width, num_classes)

    def forward(self, x):
        x = self.layer2(self.layer1(torch.relu(self.bn1(self.conv1(x)))))
        return self.fc(x.mean(dim=(2, 3)))


class LeNetTwin(nn.Module):
    """minicnn.models.LeNet (the bundled digits and faces nets) in PyTorch, the same module names."""

    def __init__(self, input_shape=(1, 16, 16), num_classes=10):
        super().__init__()
        c, h, w = input_shape
        self.features = nn.Sequential(nn.Conv2d(c, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        side = (((h // 2) - 4) // 2) * (((w // 2) - 4) // 2)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(16 * side, 120), nn.ReLU(), nn.Linear(120, 84),
                                        nn.ReLU(), nn.Linear(84, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


class VGGSmallTwin(nn.Module):
    """minicnn.models.VGGSmall (the bundled shapes net) in PyTorch, the same module names."""

    def __init__(self, input_shape=(3, 32, 32), num_classes=10, channels=(16, 32), hidden=64):
        super().__init__()
        c, h, w = input_shape
        layers = []
        for width in channels:  # two blocks of [conv, ReLU, conv, ReLU, max-pool]
            layers += [nn.Conv2d(c, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
                       nn.MaxPool2d(2)]
            c = width
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(c * (h // 4) * (w // 4), hidden), nn.ReLU(),
                                        nn.Linear(hidden, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


# ---- the plain feature stacks: VGG and AlexNet ----------------------------------------------
class PooledClassifier(nn.Module):
    """features → AdaptiveAvgPool2d(size) → flatten → classifier (VGG's and AlexNet's forward)."""

    def __init__(self, features, size, classifier):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d(size)
        self.classifier = classifier

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def vgg_twin(config, batch_norm, num_classes):
    layers, channels = [], 3
    for v in config:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, v, 3, padding=1)] + [nn.BatchNorm2d(v)] * batch_norm + [nn.ReLU()]
            channels = v
    head = [nn.Linear(512 * 49, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout()]
    return PooledClassifier(nn.Sequential(*layers), 7, nn.Sequential(*head, nn.Linear(4096, num_classes)))


def alexnet_twin(num_classes):
    # (out channels, kernel, stride, padding, max-pool after)
    convs = [(64, 11, 4, 2, True), (192, 5, 1, 2, True), (384, 3, 1, 1, False), (256, 3, 1, 1, False),
             (256, 3, 1, 1, True)]
    layers, channels = [], 3
    for out, k, s, p, pool in convs:
        layers += [nn.Conv2d(channels, out, k, s, p), nn.ReLU()] + [nn.MaxPool2d(3, 2)] * pool
        channels = out
    head = [nn.Dropout(), nn.Linear(256 * 36, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU()]
    return PooledClassifier(nn.Sequential(*layers), 6, nn.Sequential(*head, nn.Linear(4096, num_classes)))


VGG_A = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]
VGG_D = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


# ---- SqueezeNet 1.1 -------------------------------------------------------------------------
class Fire(nn.Module):
    def __init__(self, inplanes, squeeze, expand):
        super().__init__()
        self.squeeze = nn.Conv2d(inplanes, squeeze, 1)
        self.squeeze_activation = nn.ReLU()
        self.expand1x1 = nn.Conv2d(squeeze, expand, 1)
        self.expand1x1_activation = nn.ReLU()
        self.expand3x3 = nn.Conv2d(squeeze, expand, 3, padding=1)
        self.expand3x3_activation = nn.ReLU()

    def forward(self, x):
        s = self.squeeze_activation(self.squeeze(x))
        return torch.cat([self.expand1x1_activation(self.expand1x1(s)), self.expand3x3_activation(self.expand3x3(s))], 1)


class SqueezeNetTwin(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        pool = lambda: nn.MaxPool2d(3, 2, ceil_mode=True)  # noqa: E731
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 3, 2), nn.ReLU(), pool(), Fire(64, 16, 64), Fire(128, 16, 64), pool(),
            Fire(128, 32, 128), Fire(256, 32, 128), pool(),
            Fire(256, 48, 192), Fire(384, 48, 192), Fire(384, 64, 256), Fire(512, 64, 256),
        )
        self.classifier = nn.Sequential(nn.Dropout(), nn.Conv2d(512, num_classes, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))

    def forward(self, x):
        return self.classifier(self.features(x)).flatten(1)


# ---- MobileNetV2 ----------------------------------------------------------------------------
def conv_bn_relu6(cin, cout, k=3, stride=1, groups=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout), nn.ReLU6())


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hidden = cin * t
        expand = [conv_bn_relu6(cin, hidden, 1)] if t != 1 else []
        self.conv = nn.Sequential(*expand, conv_bn_relu6(hidden, hidden, 3, stride, hidden),
                                  nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.conv(x)
        return x + y if self.residual else y


class MobileNetV2Twin(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        blocks, cin = [conv_bn_relu6(3, 32, stride=2)], 32
        for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                           (6, 160, 3, 2), (6, 320, 1, 1)]:
            for i in range(n):
                blocks.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        self.features = nn.Sequential(*blocks, conv_bn_relu6(320, 1280, 1))
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x).mean(dim=(2, 3)))


# ---- DenseNet-121 ---------------------------------------------------------------------------
class DenseLayer(nn.Module):
    def __init__(self, cin, growth=32, bn_size=4):
        super().__init__()
        self.norm1, self.relu1 = nn.BatchNorm2d(cin), nn.ReLU()
        self.conv1 = nn.Conv2d(cin, bn_size * growth, 1, bias=False)
        self.norm2, self.relu2 = nn.BatchNorm2d(bn_size * growth), nn.ReLU()
        self.conv2 = nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False)

    def forward(self, earlier):  # the list of every earlier map in the block, as torchvision now does
        x = self.conv1(self.relu1(self.norm1(torch.cat(earlier, 1))))
        return self.conv2(self.relu2(self.norm2(x)))


class DenseBlock(nn.ModuleDict):
    def forward(self, x):
        maps = [x]
        for layer in self.values():
            maps.append(layer(maps))
        return torch.cat(maps, 1)


class DenseNetTwin(nn.Module):
    def __init__(self, num_classes, blocks=(6, 12, 24, 16), growth=32):
        super().__init__()
        features = OrderedDict(conv0=nn.Conv2d(3, 64, 7, 2, 3, bias=False), norm0=nn.BatchNorm2d(64),
                               relu0=nn.ReLU(), pool0=nn.MaxPool2d(3, 2, 1))
        c = 64
        for b, n in enumerate(blocks, 1):
            features[f"denseblock{b}"] = DenseBlock({f"denselayer{i + 1}": DenseLayer(c + i * growth) for i in range(n)})
            c += n * growth
            if b < len(blocks):
                features[f"transition{b}"] = nn.Sequential(OrderedDict(
                    norm=nn.BatchNorm2d(c), relu=nn.ReLU(), conv=nn.Conv2d(c, c // 2, 1, bias=False), pool=nn.AvgPool2d(2, 2),
                ))
                c //= 2
        features["norm5"] = nn.BatchNorm2d(c)
        self.features = nn.Sequential(features)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x):
        return self.classifier(torch.relu(self.features(x)).mean(dim=(2, 3)))


# name → f(num_classes): the same names as minicnn.models.IMAGENET.
TWINS = {
    "resnet18": lambda num_classes: ResNetTwin([2, 2, 2, 2], False, num_classes),
    "resnet34": lambda num_classes: ResNetTwin([3, 4, 6, 3], False, num_classes),
    "resnet50": lambda num_classes: ResNetTwin([3, 4, 6, 3], True, num_classes),
    "vgg11": lambda num_classes: vgg_twin(VGG_A, False, num_classes),
    "vgg16": lambda num_classes: vgg_twin(VGG_D, False, num_classes),
    "vgg16_bn": lambda num_classes: vgg_twin(VGG_D, True, num_classes),
    "alexnet": alexnet_twin,
    "squeezenet1_1": SqueezeNetTwin,
    "mobilenet_v2": MobileNetV2Twin,
    "densenet121": DenseNetTwin,
}


# ---- weights ----------------------------------------------------------------------------------
def randomize_batchnorm(model, generator):
    """Random BatchNorm statistics and affine parameters, so that eval mode (which uses the running
    statistics) is really tested: running_mean ~ N(0, 0.1), running_var ~ U(0.5, 1.5),
    weight ~ U(0.5, 1.5), bias ~ N(0, 0.1), num_batches_tracked = 7."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1, generator=generator)
                m.running_var.uniform_(0.5, 1.5, generator=generator)
                m.weight.uniform_(0.5, 1.5, generator=generator)
                m.bias.normal_(0, 0.1, generator=generator)
                m.num_batches_tracked.fill_(7)
    return model


def seeded_twin(name, num_classes=10, seed=0):
    """The twin of architecture `name`: PyTorch's default initialisation from `seed`, random
    BatchNorm statistics, float64, eval mode."""
    torch.manual_seed(seed)
    model = TWINS[name](num_classes).double()
    return randomize_batchnorm(model, torch.Generator().manual_seed(seed + 1)).eval()


def numpy_state_dict(model):
    """A torch state_dict as NumPy arrays (num_batches_tracked included), for minicnn's load_state_dict."""
    return {k: v.detach().numpy() for k, v in model.state_dict().items()}

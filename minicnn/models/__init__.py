"""The model zoo: the small nets of the bundled weights, loading those weights, and the ImageNet
architectures with torchvision's constructors and state_dict names.

    from minicnn import models
    model, data = models.load_pretrained("digits")      # the bundled digits LeNet, eval mode
    net = models.resnet18()                              # untrained; torchvision's state_dict loads:
    net.load_state_dict({k: v.numpy() for k, v in torch_state_dict.items()})
"""

from .alexnet import AlexNet, alexnet
from .densenet import DenseBlock, DenseLayer, DenseNet, Transition, densenet121
from .mobilenet import Conv2dNormActivation, InvertedResidual, MobileNetV2, mobilenet_v2
from .pretrained import ARCHITECTURES, BUNDLED, build, load_pretrained, weights_path
from .resnet import BasicBlock, Bottleneck, ResNet, resnet18, resnet34, resnet50
from .small import LeNet, ResNetSmall, VGGSmall
from .squeezenet import Fire, SqueezeNet, squeezenet1_1
from .vgg import CONFIGS, VGG, make_layers, vgg11, vgg16, vgg16_bn

# name → constructor f(num_classes=1000, dtype=np.float64), torchvision's names.
IMAGENET = {
    "resnet18": resnet18, "resnet34": resnet34, "resnet50": resnet50,
    "vgg11": vgg11, "vgg16": vgg16, "vgg16_bn": vgg16_bn,
    "alexnet": alexnet, "squeezenet1_1": squeezenet1_1, "mobilenet_v2": mobilenet_v2, "densenet121": densenet121,
}

__all__ = [
    "LeNet", "VGGSmall", "ResNetSmall",
    "ARCHITECTURES", "BUNDLED", "build", "load_pretrained", "weights_path",
    "IMAGENET",
    "ResNet", "BasicBlock", "Bottleneck", "resnet18", "resnet34", "resnet50",
    "VGG", "CONFIGS", "make_layers", "vgg11", "vgg16", "vgg16_bn",
    "AlexNet", "alexnet",
    "SqueezeNet", "Fire", "squeezenet1_1",
    "MobileNetV2", "InvertedResidual", "Conv2dNormActivation", "mobilenet_v2",
    "DenseNet", "DenseBlock", "DenseLayer", "Transition", "densenet121",
]

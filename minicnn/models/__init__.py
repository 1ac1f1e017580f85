"""The model zoo: the small nets of the bundled weights, and loading those weights.

    from minicnn import models
    model, data = models.load_pretrained("digits")      # the bundled digits LeNet, eval mode
"""

from .pretrained import ARCHITECTURES, BUNDLED, build, load_pretrained, weights_path
from .small import BasicBlock, LeNet, ResNetSmall, VGGSmall

__all__ = [
    "LeNet", "VGGSmall", "ResNetSmall", "BasicBlock",
    "ARCHITECTURES", "BUNDLED", "build", "load_pretrained", "weights_path",
]

"""ImageNet weights for the commands: where Grad-CAM looks in each architecture, how to get
weights (none are bundled, nothing is downloaded), and loading a user's file into a model.

    model = load_imagenet_model("resnet50", "resnet50.safetensors")   # float32, eval mode
    A.grad_cam(model, x, target, layer=GRADCAM_LAYERS["resnet50"])

Weights files: `.npz` and `.safetensors` are read by `minicnn.load` (which never unpickles, so
an `.npz` holding a pickled object array is refused); a PyTorch `.pth` / `.pt` by
`minicnn.interop.load_torch_checkpoint` (``torch.load(weights_only=True)``; needs torch).
Every problem is one line naming the file; the full key lists of a mismatch are the error's
`details`, shown by `--debug`.
"""

from __future__ import annotations

import os

import numpy as np
import numpy.typing as npt

from minicnn import nn

from .errors import CLIError, UsageError, mismatch_details

__all__ = ["GRADCAM_LAYERS", "WEIGHT_SUFFIXES", "missing_weights_message", "load_imagenet_model"]

# The layer whose output Grad-CAM explains, per architecture, always passed explicitly (the
# library's default layer is not an ImageNet choice): the last stage of convolutions, i.e. the
# 7×7 feature maps the classifier head pools — ResNet's `layer4` (after its last residual
# addition and ReLU), the `features` Sequential of the others (torchvision's module names).
GRADCAM_LAYERS = {
    "resnet18": "layer4", "resnet34": "layer4", "resnet50": "layer4",
    "vgg11": "features", "vgg16": "features", "vgg16_bn": "features",
    "alexnet": "features", "squeezenet1_1": "features", "mobilenet_v2": "features", "densenet121": "features",
}

_NUMPY_SUFFIXES = (".npz", ".safetensors")
_TORCH_SUFFIXES = (".pth", ".pt")
WEIGHT_SUFFIXES = _NUMPY_SUFFIXES + _TORCH_SUFFIXES


def missing_weights_message(arch: str) -> str:
    """The one line printed when an ImageNet architecture is used without `--weights`."""
    return (f"--weights: {arch} needs ImageNet weights, and none are bundled or downloaded; on a machine with "
            f"internet, build torchvision's (or timm's) pretrained {arch} and torch.save(model.state_dict(), "
            f"'{arch}.pth'), then run `python -m minicnn.convert {arch}.pth {arch}.safetensors --arch {arch}` "
            f"and pass --weights {arch}.safetensors")


def _read_state(path, arch):
    """{name: ndarray} from the file, its problems as one-line CLIErrors."""
    import minicnn as mc
    from minicnn.interop import load_torch_checkpoint

    suffix = os.path.splitext(path)[1].lower()
    if suffix not in WEIGHT_SUFFIXES:
        raise UsageError(f"--weights {path}: expected a {', '.join(WEIGHT_SUFFIXES)} file, got "
                         f"{suffix or 'no extension'}")
    if not os.path.isfile(path):
        raise CLIError(f"weights file not found: {path}")
    try:
        if suffix in _NUMPY_SUFFIXES:
            return mc.load(path)
        return load_torch_checkpoint(path)
    except ImportError:
        stem = os.path.splitext(os.path.basename(path))[0]
        raise CLIError(f"--weights {path}: reading a PyTorch file needs torch (pip install 'minicnn[torch]'), "
                       f"or convert it once on a machine with torch: python -m minicnn.convert {path} "
                       f"{stem}.safetensors --arch {arch}") from None
    except (ValueError, OSError) as error:  # damaged, foreign or pickled: minicnn says which
        raise CLIError(f"cannot read weights file {path}: {error}") from None


def load_imagenet_model(arch: str, path: str, dtype: npt.DTypeLike = np.float32) -> nn.Module:
    """The ImageNet architecture `arch` (a key of `minicnn.models.IMAGENET`) with the weights in
    `path`, in eval mode and in `dtype` (float32: what the weights were trained in, and half
    the memory and time of float64 on a 224×224 input)."""
    from minicnn import nn
    from minicnn.models import IMAGENET

    state = _read_state(path, arch)
    model = IMAGENET[arch](num_classes=1000)
    try:
        model.load_state_dict(state)
    except nn.StateDictError as error:
        raise CLIError(f"weights file {path} does not fit --arch {arch} (weights of another architecture?): "
                       f"{'; '.join(error.problems)}", details=mismatch_details(error)) from error
    return model.to(dtype).eval()

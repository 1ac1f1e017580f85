"""Neural-network building blocks with PyTorch's names, signatures and state_dict layouts.

    from minicnn import nn
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(8 * 14 * 14, 10))

Reproducible initialisation: `nn.init.manual_seed(0)` before building, or `rng=` per layer.
"""

from . import init
from .containers import Sequential
from .layers import (
    AdaptiveAvgPool2d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    Hardtanh,
    Identity,
    Lambda,
    Linear,
    LogSoftmax,
    MaxPool2d,
    ReLU,
    ReLU6,
    Sigmoid,
    Softmax,
    Tanh,
)
from .losses import CrossEntropyLoss, MSELoss
from .module import IncompatibleKeys, Module, Parameter, RemovableHandle, StateDictError

__all__ = [
    "Module", "Parameter", "RemovableHandle", "StateDictError", "IncompatibleKeys",
    "Sequential",
    "Identity", "Lambda", "Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "Flatten",
    "ReLU", "ReLU6", "Hardtanh", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Dropout", "BatchNorm1d", "BatchNorm2d",
    "CrossEntropyLoss", "MSELoss",
    "init",
]

"""Every differentiable op of the engine as a `Function` subclass (forward and derivative side by side).

Users call the lowercase wrappers in `minicnn.functional`; these classes are what the graph
records, and what backward-rule tables (DeepLIFT, guided backprop) are keyed by.
"""

from .activations import LogSoftmax, Relu, Sigmoid, Softmax, Tanh
from .arithmetic import Add, Cast, Div, Exp, Log, MatMul, Mul, Neg, Pow, Sub, unbroadcast
from .layers import Conv2d, Linear
from .losses import CrossEntropy
from .normalization import BatchNorm, Dropout
from .pooling import AvgPool2d, BilinearResize, MaxPool2d
from .reductions import Max, Mean, Sum
from .shapes import Concatenate, GetItem, Reshape, Transpose

__all__ = [
    "Add", "Sub", "Mul", "Div", "Neg", "Pow", "MatMul", "Exp", "Log", "Cast", "unbroadcast",
    "Sum", "Mean", "Max",
    "Reshape", "Transpose", "Concatenate", "GetItem",
    "Relu", "Sigmoid", "Tanh", "Softmax", "LogSoftmax",
    "CrossEntropy",
    "Linear", "Conv2d",
    "MaxPool2d", "AvgPool2d", "BilinearResize",
    "BatchNorm", "Dropout",
]

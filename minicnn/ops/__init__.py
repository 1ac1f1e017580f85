"""Every differentiable op of the engine: a `Function` subclass (forward and derivative side by
side) and, right after it, the lowercase function users call (`Mul` and `mul`).

One file per family; read an op in its file, from the class docstring (the formula and its
derivative) to the function (the argument checks). `minicnn.functional` re-exports the
functions (`import minicnn.functional as F`); the classes are what the graph records, and what
backward-rule tables (DeepLIFT, guided backprop) are keyed by.
"""

from .activations import (
    Clamp, LogSoftmax, Relu, Sigmoid, Softmax, Tanh,
    hardtanh, log_softmax, relu, relu6, sigmoid, softmax, tanh,
)
from .arithmetic import (
    Add, Cast, Div, Exp, Log, MatMul, Mul, Neg, Pow, Sub,
    add, cast, div, exp, log, matmul, mul, neg, pow, sub, unbroadcast,
)
from .conv import Conv2d, conv2d
from .linear import Linear, linear
from .losses import CrossEntropy, cross_entropy, mse_loss
from .normalization import BatchNorm, Dropout, batch_norm, dropout
from .pooling import (
    AdaptiveAvgPool2d, AvgPool2d, BilinearResize, MaxPool2d,
    adaptive_avg_pool2d, avg_pool2d, interpolate, max_pool2d,
)
from .reductions import Max, MaxResult, Mean, Sum, max, mean, sum
from .shapes import (
    Concatenate, GetItem, Reshape, Transpose,
    cat, concatenate, flatten, getitem, permute, reshape, squeeze, transpose, unsqueeze, view,
)

__all__ = [
    "Add", "Sub", "Mul", "Div", "Neg", "Pow", "MatMul", "Exp", "Log", "Cast", "unbroadcast",
    "Sum", "Mean", "Max",
    "Reshape", "Transpose", "Concatenate", "GetItem",
    "Relu", "Clamp", "Sigmoid", "Tanh", "Softmax", "LogSoftmax",
    "CrossEntropy",
    "Linear", "Conv2d",
    "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "BilinearResize",
    "BatchNorm", "Dropout",
    "add", "sub", "mul", "div", "neg", "pow", "matmul", "exp", "log", "cast",
    "sum", "mean", "max", "MaxResult",
    "reshape", "view", "transpose", "permute", "unsqueeze", "squeeze", "flatten", "concatenate", "cat", "getitem",
    "relu", "hardtanh", "relu6", "sigmoid", "tanh", "softmax", "log_softmax",
    "cross_entropy", "mse_loss",
    "linear", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "interpolate",
    "batch_norm", "dropout",
]

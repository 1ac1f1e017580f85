"""The engine's ops as lowercase functions (`import minicnn.functional as F`).

Each function lives next to its op class in `minicnn/ops/` (e.g. `mul` beside `Mul` in
`ops/arithmetic.py`): it checks its arguments, then runs the op. Inputs may be Tensors, ndarrays
or numbers. Names follow `torch.nn.functional` where PyTorch has the function.
"""

from .ops import (
    adaptive_avg_pool2d, add, avg_pool2d, batch_norm, cast, cat, concatenate, conv2d, cross_entropy,
    div, dropout, exp, flatten, getitem, hardtanh, interpolate, linear, log, log_softmax, matmul,
    max, max_pool2d, mean, mse_loss, mul, neg, permute, pow, relu, relu6, reshape, sigmoid, softmax,
    squeeze, sub, sum, tanh, transpose, unsqueeze,
)

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "matmul", "exp", "log", "cast",
    "sum", "mean", "max",
    "reshape", "transpose", "permute", "unsqueeze", "squeeze", "flatten", "concatenate", "cat", "getitem",
    "relu", "relu6", "hardtanh", "sigmoid", "tanh", "softmax", "log_softmax",
    "cross_entropy", "mse_loss",
    "linear", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "interpolate",
    "batch_norm", "dropout",
]

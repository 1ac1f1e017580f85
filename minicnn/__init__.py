"""minicnn: a small reverse-mode autodiff CNN engine in NumPy + Numba, for learning.

    import minicnn as mc
    from minicnn import nn, optim
    import minicnn.functional as F

The reading order of the engine, file by file: tensor.py (Tensor), autograd.py (Function, the
backward pass, the rule hook), ops/ (each op: formula, derivative, argument checks),
kernels/reference.py (the arithmetic in NumPy; kernels/fast/ is the same in Numba), nn/
(Module, layers), optim.py, models/, train.py, data/. The type hints' few aliases (TensorLike,
Axis, ...) are in typing.py.
"""

from . import functional, interop, kernels, nn, ops, optim
from .autograd import Function, enable_grad, grad, is_grad_enabled, no_grad
from .gradcheck import GradcheckError, gradcheck
from .io import load, save
from .ops import cat
from .random import manual_seed
from .tensor import Tensor, as_tensor

__all__ = [
    "Tensor", "as_tensor", "Function", "no_grad", "enable_grad", "is_grad_enabled", "grad",
    "gradcheck", "GradcheckError", "save", "load", "manual_seed", "cat",
    "functional", "nn", "optim", "ops", "interop", "kernels",
]
__version__ = "0.1.0"

"""minicnn: a small reverse-mode autodiff CNN engine in NumPy + Numba, for learning.

    import minicnn as mc
    from minicnn import nn, optim
    import minicnn.functional as F
"""

from . import functional, interop, nn, ops, optim
from .autograd import Function, enable_grad, grad, is_grad_enabled, no_grad
from .gradcheck import GradcheckError, gradcheck
from .io import load, save
from .tensor import Tensor, as_tensor

__all__ = [
    "Tensor", "as_tensor", "Function", "no_grad", "enable_grad", "is_grad_enabled", "grad",
    "gradcheck", "GradcheckError", "save", "load",
    "functional", "nn", "optim", "ops", "interop",
]
__version__ = "0.1.0"

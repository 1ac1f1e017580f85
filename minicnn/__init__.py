"""minicnn: a small reverse-mode autodiff CNN engine in NumPy + Numba, for learning.

    import minicnn as mc
    from minicnn import nn, optim
    import minicnn.functional as F
"""

from ._memory import tune_malloc

tune_malloc()   # big freed buffers stay in the heap: fewer page faults per step (see _memory.py)

from . import functional, interop, nn, ops, optim  # noqa: E402
from .autograd import Function, enable_grad, grad, is_grad_enabled, no_grad  # noqa: E402
from .gradcheck import GradcheckError, gradcheck  # noqa: E402
from .io import load, save  # noqa: E402
from .tensor import Tensor, as_tensor  # noqa: E402

__all__ = [
    "Tensor", "as_tensor", "Function", "no_grad", "enable_grad", "is_grad_enabled", "grad",
    "gradcheck", "GradcheckError", "save", "load",
    "functional", "nn", "optim", "ops", "interop",
]
__version__ = "0.1.0"

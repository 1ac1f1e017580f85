"""Check analytic gradients against central finite differences, element by element.

For a function y = fn(x₁, …, x_k) with array output, the analytic side is the full Jacobian,
row by row: one backward pass per output element with a unit seed eᵢ gives eᵢᵀ J. The numeric
side perturbs one input element at a time:

    J[:, j] ≈ (fn(x + ε e_j) − fn(x − ε e_j)) / (2ε)          (error O(ε²))

An element passes when |numeric − analytic| ≤ atol + rtol·|numeric|, as torch.autograd.gradcheck.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np

from .autograd import grad, no_grad
from .tensor import Tensor

__all__ = ["gradcheck", "GradcheckError", "numerical_jacobian", "analytical_jacobian"]


class GradcheckError(AssertionError):
    """Raised by `gradcheck` when an analytic gradient disagrees with finite differences."""


def _outputs(fn: Callable[..., Tensor], inputs: Sequence[Tensor]) -> Tensor:
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    return out


def numerical_jacobian(fn: Callable[..., Tensor], inputs: Sequence[Tensor], index: int,
                       eps: float = 1e-6) -> np.ndarray:
    """J (output size × input size) of fn with respect to inputs[index], by central differences."""
    x = inputs[index]
    with no_grad():
        out_size = _outputs(fn, inputs).size
        jacobian = np.zeros((out_size, x.size), dtype=np.float64)
        for j in range(x.size):
            element = np.unravel_index(j, x.shape)  # perturb x.data in place (works for any strides)
            original = x.data[element]
            x.data[element] = original + eps
            plus = _outputs(fn, inputs).data.astype(np.float64).reshape(-1)
            x.data[element] = original - eps
            minus = _outputs(fn, inputs).data.astype(np.float64).reshape(-1)
            x.data[element] = original
            jacobian[:, j] = (plus - minus) / (2 * eps)
    return jacobian


def analytical_jacobian(fn: Callable[..., Tensor], inputs: Sequence[Tensor], index: int) -> np.ndarray:
    """J of fn with respect to inputs[index], one backward pass (unit seed) per output element."""
    out = _outputs(fn, inputs)
    x = inputs[index]
    jacobian = np.zeros((out.size, x.size), dtype=np.float64)
    for i in range(out.size):
        seed = np.zeros(out.size, dtype=out.dtype)
        seed[i] = 1
        (g,) = grad(out, [x], grad_outputs=seed.reshape(out.shape))
        jacobian[i] = g.reshape(-1)
    return jacobian


def gradcheck(fn: Callable[..., Tensor], inputs: Tensor | Sequence[Tensor], eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3) -> bool:
    """True if every input's analytic Jacobian matches central differences; else GradcheckError.

    fn     -- callable taking the inputs (Tensors) and returning a Tensor
    inputs -- Tensors (or a single Tensor); those with requires_grad=True are checked
    The error names the input, the worst element (output index, input index) and both values.
    """
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not inputs or not all(isinstance(x, Tensor) for x in inputs):
        raise TypeError("gradcheck: inputs must be a Tensor or a non-empty sequence of Tensors")
    checked = [i for i, x in enumerate(inputs) if x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True, nothing to check")
    if any(inputs[i].dtype != np.float64 for i in checked):
        warnings.warn(
            "gradcheck: float32 inputs make finite differences inaccurate; use float64",
            RuntimeWarning,
            stacklevel=2,
        )
    for i in checked:
        numeric = numerical_jacobian(fn, inputs, i, eps)
        analytic = analytical_jacobian(fn, inputs, i)
        error = np.abs(numeric - analytic) - (atol + rtol * np.abs(numeric))
        finite = np.isfinite(analytic).all() and np.isfinite(numeric).all()
        if (error > 0).any() or not finite:
            worst = np.unravel_index(np.argmax(np.where(np.isfinite(error), error, np.inf)), error.shape)
            out_index = [int(k) for k in np.unravel_index(worst[0], _outputs(fn, inputs).shape)]
            in_index = [int(k) for k in np.unravel_index(worst[1], inputs[i].shape)]
            raise GradcheckError(
                f"gradcheck: Jacobian mismatch for input {i} (shape {inputs[i].shape}): "
                f"d output{out_index} / d input{in_index}: "
                f"numeric {numeric[worst]:.10g}, analytic {analytic[worst]:.10g} "
                f"(atol={atol}, rtol={rtol})"
            )
    return True

"""The two simplest attributions: the gradient itself, and the gradient times the input.

Notation: x input, t the target output (a logit, before softmax), ∇t(x) = ∂t/∂x.

- **Saliency** (Simonyan, Vedaldi & Zisserman, ICLR workshop 2014): M = |∂t/∂x|, how much a small
  change of each input would move the target.
- **Gradient × input** (Shrikumar et al. 2016): a_i = x_i · ∂t/∂x_i, the first-order Taylor term
  of t around 0. For a piecewise-linear network without biases it sums to t(x); in general it
  does not (e.g. a saturated ReLU gives 0 although the input mattered — see the tests).

Both are one forward and one backward pass; they are the baselines every comparison needs.
target=None explains each row's predicted class (Captum's None means a single-output model).
"""

from __future__ import annotations

import numpy as np

from minicnn import nn

from .inputs import ArrayLike, TargetLike, eval_mode, explained_targets, prepare_input, target_gradient

__all__ = ["saliency", "gradient_x_input", "input_gradient"]


def input_gradient(model: nn.Module, x: ArrayLike, target: TargetLike = None) -> np.ndarray:
    """∂t_n/∂x_n for every row n, shaped like x (the raw, signed gradient).

    model  -- a minicnn Module returning logits (N, classes); run in eval mode, mode restored
    x      -- batch (N, C, H, W) or (N, features); cast to the model's dtype
    target -- int, or one int per row: the logit t to differentiate; None: each row's predicted class
    """
    return _checked_gradient(model, x, target)[1]


def _checked_gradient(model: nn.Module, x: ArrayLike, target: TargetLike) -> tuple[np.ndarray, np.ndarray]:
    """(x as validated, ∂t/∂x)."""
    x = prepare_input(x, model)
    with eval_mode(model):
        grad, _ = target_gradient(model, x, explained_targets(model, x, target))
    return x, grad


def saliency(model: nn.Module, x: ArrayLike, target: TargetLike = None, abs: bool = True) -> np.ndarray:
    """Saliency map M_i = |∂t/∂x_i| (Simonyan et al. 2014), shaped like x.

    abs -- True (the default, as Captum's `Saliency`): the magnitude |∂t/∂x|, which is what the
           paper visualises; False: the signed gradient ∂t/∂x.
    See `input_gradient` for model, x and target.
    """
    if not isinstance(abs, (bool, np.bool_)):
        raise TypeError(f"abs: expected True or False, got {abs!r}")
    grad = input_gradient(model, x, target)
    return np.abs(grad) if abs else grad


def gradient_x_input(model: nn.Module, x: ArrayLike, target: TargetLike = None) -> np.ndarray:
    """Gradient × input a_i = x_i · ∂t/∂x_i (Captum's `InputXGradient`), shaped like x.

    See `input_gradient` for model, x and target.
    """
    x, grad = _checked_gradient(model, x, target)
    return x * grad

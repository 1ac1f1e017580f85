"""The two simplest attributions: the gradient itself, and the gradient times the input.

Notation: x input, t the target output (a logit, before softmax), ∇t(x) = ∂t/∂x.

- **Saliency** (Simonyan, Vedaldi & Zisserman, ICLR workshop 2014): M = |∂t/∂x|, how much a small
  change of each input would move the target.
- **Gradient × input** (Shrikumar et al. 2016): a_i = x_i · ∂t/∂x_i, the first-order Taylor term
  of t around 0. For a piecewise-linear network without biases it sums to t(x); in general it
  does not (e.g. a saturated ReLU gives 0 although the input mattered — see the tests).

Both are one forward and one backward pass; they are the baselines every comparison needs.
"""

from __future__ import annotations

import numpy as np

from .inputs import eval_mode, prepare_input, prepare_targets, target_gradient

__all__ = ["saliency", "gradient_x_input", "input_gradient"]


def input_gradient(model, x, target):
    """∂t_n/∂x_n for every row n, shaped like x (the raw, signed gradient).

    model  -- a minicnn Module returning logits (N, classes); run in eval mode, mode restored
    x      -- batch (N, C, H, W) or (N, features); cast to the model's dtype
    target -- int, or one int per row: the logit t to differentiate
    """
    return _checked_gradient(model, x, target)[1]


def _checked_gradient(model, x, target):
    """(x as validated, ∂t/∂x)."""
    x = prepare_input(x, model)
    with eval_mode(model):
        targets = prepare_targets(target, len(x))
        grad, _ = target_gradient(model, x, targets)
    return x, grad


def saliency(model, x, target, abs=True):
    """Saliency map M_i = |∂t/∂x_i| (Simonyan et al. 2014), shaped like x.

    abs -- True (the default, as Captum's `Saliency`): the magnitude |∂t/∂x|, which is what the
           paper visualises; False: the signed gradient ∂t/∂x.
    See `input_gradient` for model, x and target.
    """
    if not isinstance(abs, (bool, np.bool_)):
        raise TypeError(f"abs: expected True or False, got {abs!r}")
    grad = input_gradient(model, x, target)
    return np.abs(grad) if abs else grad


def gradient_x_input(model, x, target):
    """Gradient × input a_i = x_i · ∂t/∂x_i (Captum's `InputXGradient`), shaped like x.

    See `input_gradient` for model, x and target.
    """
    x, grad = _checked_gradient(model, x, target)
    return x * grad

"""What DeepLIFT says when it meets an op it has no rule for."""

from __future__ import annotations

from minicnn.autograd import Function

__all__ = ["DeepLiftError", "no_rule_error"]


class DeepLiftError(TypeError):
    """The model uses an op for which DeepLIFT has no rule (the message names it)."""


def no_rule_error(node: Function) -> DeepLiftError:
    """The error for an op that is neither linear nor an element-wise nonlinearity with a rule."""
    return DeepLiftError(
        f"DeepLIFT has no rule for the op {type(node).__name__}: it is neither linear nor an element-wise "
        "nonlinearity with a Rescale/RevealCancel rule (supported nonlinearities: Relu, Clamp (ReLU6, Hardtanh), Sigmoid, Tanh, "
        "Exp, Log, Pow, MaxPool2d). Attribute a logit, before any softmax."
    )

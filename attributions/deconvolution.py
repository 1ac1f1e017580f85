"""Deconvolution (Zeiler & Fergus, ECCV 2014), beside guided backpropagation (gradcam.py).

The "deconvnet" maps a logit back to the input with the network's own transposed operations,
but at every ReLU it applies a ReLU to the *signal coming back*, ignoring where the forward
pass was active:

    gradient:        g ↦ g · [z > 0]
    deconvolution:   g ↦ max(g, 0)                 (no forward mask)
    guided backprop: g ↦ g · [z > 0] · [g > 0]     (both)

Max pooling keeps its switches (the argmax of the forward pass), convolutions their transposes:
every other op keeps its ordinary derivative. Captum's `Deconvolution` does the same at
nn.ReLU modules; here the rule acts on every ReLU op of the graph (modules and F.relu alike).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from minicnn import nn, ops

from .inputs import ArrayLike, TargetLike, eval_mode, explained_targets, prepare_input, target_gradient

__all__ = ["deconvolution", "DECONVOLUTION_RULES"]


def _deconv_relu(node: ops.Relu, grad_output: np.ndarray) -> tuple[np.ndarray]:
    """The deconvnet's backward through y = max(z, 0): g ↦ max(g, 0), whatever z was."""
    return (np.maximum(grad_output, 0),)


DECONVOLUTION_RULES: dict[type, Callable[..., tuple]] = {ops.Relu: _deconv_relu}


def deconvolution(model: nn.Module, x: ArrayLike, target: TargetLike = None) -> np.ndarray:
    """Deconvolution: ∂y^c/∂x with every ReLU's backward replaced by g ↦ max(g, 0); shaped like x.

    model  -- a minicnn Module returning logits (N, classes); run in eval mode, mode restored
    x      -- batch (N, C, H, W) or (N, features)
    target -- int, or one int per row; None: each row's predicted class
    """
    x = prepare_input(x, model)
    with eval_mode(model):
        grad, _ = target_gradient(model, x, explained_targets(model, x, target), rules=DECONVOLUTION_RULES)
    return grad

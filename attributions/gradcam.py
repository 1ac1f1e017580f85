"""Grad-CAM, counterfactual Grad-CAM, guided backpropagation and Guided Grad-CAM
(Selvaraju et al., ICCV 2017; Springenberg et al., ICLR workshop 2015).

Notation: A^k the k-th feature map (m × n) of a chosen conv layer, y^c the score (logit, before
softmax) of class c.

    α^c_k = (1/(m·n)) Σ_ij ∂y^c/∂A^k_ij                  (channel weights: pooled gradients)
    L^c   = ReLU(Σ_k α^c_k A^k)                           (the class-discriminative map, m × n)

then L^c is upsampled to the input size with bilinear interpolation (half-pixel centres, i.e.
PyTorch's `interpolate(mode="bilinear", align_corners=False)`; `minicnn.functional.interpolate`).

One mechanism serves every CAM variant (the pytorch-grad-cam design): a forward hook on the layer
keeps its output A, `minicnn.grad` gives ∂y^c/∂A without touching any parameter's .grad, and a
*channel-weight function* (A, ∂y^c/∂A) ↦ α is all a variant defines. Counterfactual Grad-CAM
("what speaks against c") uses −∂y^c/∂A.

Guided backpropagation replaces the backward of every ReLU by g ↦ g·[z > 0]·[g > 0] (only
positive signal that also passed forward); Guided Grad-CAM multiplies it by the upsampled L^c.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np

import minicnn as mc
import minicnn.functional as F
from minicnn import nn, ops

from .captum_names import captum_names
from .inputs import (
    ArrayLike,
    LayerLike,
    TargetLike,
    eval_mode,
    explained_targets,
    module_outputs,
    prepare_input,
    target_gradient,
    target_seed,
)

# (A, ∂y^c/∂A) ↦ channel weights (N, K) or element-wise weights (N, K, m, n)
ChannelWeights = Callable[[np.ndarray, np.ndarray], np.ndarray]

__all__ = [
    "grad_cam",
    "grad_cam_maps",
    "guided_backprop",
    "guided_grad_cam",
    "class_activation_maps",
    "gradcam_weights",
    "layer_activation_and_gradient",
    "layer_activation",
    "run_capturing",
    "weighted_sum",
    "upsampled_to_input",
    "check_flag",
    "upsample_maps",
    "find_layer",
    "default_layer",
]


# ---- the layer: a Module of the model, or its dotted name ------------------------------------
def _layers_with_4d_output(model: nn.Module, x: np.ndarray) -> list[str]:
    """Dotted names of the submodules whose output is 4-D for input x (one row, no graph)."""
    names = [name for name, _, output in module_outputs(model, x[0]) if isinstance(output, mc.Tensor) and output.ndim == 4]
    return list(dict.fromkeys(names))


def _no_such_layer(model: nn.Module, x: np.ndarray, problem: str) -> ValueError:
    candidates = _layers_with_4d_output(model, x)
    listed = ", ".join(repr(c) for c in candidates) if candidates else "(none: the model has no 4-D activations)"
    return ValueError(f"layer: {problem}; layers with a 4-D (N, C, H, W) output: {listed}")


def default_layer(model: nn.Module, x: np.ndarray) -> tuple[str, nn.Module]:
    """(dotted name, Module) of the last 4-D feature map that reaches the classifier, in
    *execution* order: ResNet's `layer4`, VGG's, AlexNet's, SqueezeNet's, MobileNetV2's and
    DenseNet's `features`, a Sequential net's last pooling layer.

    One forward pass with a hook on every submodule records each output in the order the modules
    finish. Then:
    - a container and its last child return the same tensor: the container is kept (the block,
      `layer4`, rather than its last ReLU);
    - adaptive average pooling is skipped: it only resizes the map for the classifier (VGG's 7×7,
      ResNet's global pooling);
    - nothing inside a submodule whose own output is no longer a feature map (not 4-D, or the
      output of an adaptive pooling) counts: that is the classifier, and SqueezeNet's classifier
      holds a 1×1 convolution over 13×13 class maps.
    Registration order would be wrong: ResNet registers each block's 1×1 shortcut convolution
    after its main path, and DenseNet-style models compute with functional ops after the last module.
    """
    finished = module_outputs(model, x[0])  # a child before its container
    pooled = {id(output) for _, module, output in finished if isinstance(module, nn.AdaptiveAvgPool2d)}

    def feature_map(output: Any) -> bool:
        return isinstance(output, mc.Tensor) and output.ndim == 4 and id(output) not in pooled

    heads = {name for name, _, output in finished if not feature_map(output)}
    chosen = None
    for name, module, output in finished:  # the last one that qualifies wins
        if feature_map(output) and not any(name.startswith(head + ".") for head in heads):
            chosen = (name, module)
    if chosen is None:
        raise _no_such_layer(model, x, f"{type(model).__name__} has no 4-D feature map to use by default; pass layer=")
    return chosen


def find_layer(model: nn.Module, layer: LayerLike, x: np.ndarray) -> tuple[str, nn.Module]:
    """(dotted name, Module) for `layer` = None (`default_layer`: the last 4-D feature map that
    reaches the classifier, in execution order), a dotted name, or a Module of the model.
    ValueError, listing the candidate names, if there is no such layer."""
    if layer is None:
        return default_layer(model, x)
    modules = list(model.named_modules())
    if isinstance(layer, str):
        for name, module in modules:
            if name == layer:
                return name, module
        raise _no_such_layer(model, x, f"{type(model).__name__} has no submodule named {layer!r}")
    if isinstance(layer, nn.Module):
        for name, module in modules:
            if module is layer:
                return name, module
        raise _no_such_layer(model, x, f"the module {layer!r} is not part of {type(model).__name__}")
    raise TypeError(f"layer: expected None, a dotted module name or a Module of the model, got {type(layer).__name__}")


# ---- the shared mechanism ---------------------------------------------------------------------
def run_capturing(model: nn.Module, x: np.ndarray, layer: LayerLike, requires_grad: bool = True,
                  replace: Optional[Callable[[mc.Tensor], mc.Tensor]] = None,
                  input_tensor: Optional[mc.Tensor] = None) -> tuple[mc.Tensor, mc.Tensor, str]:
    """(logits, the layer's output Tensor A, layer name) from one forward pass of x with a hook
    on `layer` (as in `find_layer`). `replace`: A ↦ a Tensor the rest of the model sees instead
    (Layer Integrated Gradients); `input_tensor`: the Tensor of x to run on, when the caller
    differentiates with respect to it. The layer must run exactly once per forward pass."""
    name, module = find_layer(model, layer, x)
    captured = []

    def hook(m: nn.Module, inputs: Any, output: Any) -> Optional[mc.Tensor]:
        captured.append(output)
        return None if replace is None else replace(output)

    handle = module.register_forward_hook(hook)
    try:
        # requires_grad on the input: the graph then reaches A even for a frozen model.
        out = model(mc.Tensor(x, requires_grad=requires_grad) if input_tensor is None else input_tensor)
    finally:
        handle.remove()
    if len(captured) != 1:
        problem = "never runs" if not captured else f"runs {len(captured)} times"
        raise _no_such_layer(model, x, f"the layer {name!r} {problem} in a forward pass; pick one that runs once")
    if not isinstance(captured[0], mc.Tensor):
        raise _no_such_layer(model, x, f"the output of layer {name!r} is a {type(captured[0]).__name__}, not a Tensor")
    return out, captured[0], name


def _require_4d(model: nn.Module, x: np.ndarray, activation: mc.Tensor, name: str) -> None:
    if activation.ndim != 4:
        raise _no_such_layer(model, x, f"the output of layer {name!r} has shape {activation.shape}, not (N, C, H, W)")


def layer_activation(model: nn.Module, x: np.ndarray, layer: LayerLike = None) -> np.ndarray:
    """A at `layer` (N, K, m, n) from one forward pass without a graph (gradient-free CAMs)."""
    with mc.no_grad():
        _, activation, name = run_capturing(model, x, layer, requires_grad=False)
    _require_4d(model, x, activation, name)
    return activation.data


def layer_activation_and_gradient(model: nn.Module, x: np.ndarray, targets: np.ndarray,
                                  layer: LayerLike = None) -> tuple[np.ndarray, np.ndarray]:
    """(A, ∂y^c/∂A) at `layer` for every row: one forward pass with a hook, one backward pass.

    x must be validated (`prepare_input`) and the model in eval mode; targets one int per row.
    """
    out, activation, name = run_capturing(model, x, layer)
    _require_4d(model, x, activation, name)
    if out.ndim != 2:
        raise ValueError(f"model: Grad-CAM needs logits of shape (N, classes), got shape {out.shape}")
    (grad,) = mc.grad(out, [activation], grad_outputs=target_seed(out.shape, targets).astype(out.dtype))
    return activation.data, grad


def gradcam_weights(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """Grad-CAM's channel weights α_k = (1/(m·n)) Σ_ij ∂y^c/∂A^k_ij  → shape (N, K)."""
    return gradients.mean(axis=(2, 3))


def weighted_sum(weights: np.ndarray, activations: np.ndarray) -> np.ndarray:
    """Σ_k α_k ⊙ A^k → (N, m, n), for channel weights α (N, K) or element-wise weights (N, K, m, n)
    (HiResCAM, LayerCAM)."""
    if weights.ndim == 2:
        return np.einsum("nk,nkij->nij", weights, activations)
    return (weights * activations).sum(axis=1)


def check_flag(name: str, value: Any) -> None:
    """TypeError naming the argument unless value is True or False."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {value!r}")


@captum_names("relu_attributions")
def class_activation_maps(model: nn.Module, x: ArrayLike, target: TargetLike = None, layer: LayerLike = None,
                          channel_weights: ChannelWeights = gradcam_weights, relu: bool = True,
                          counterfactual: bool = False) -> np.ndarray:
    """L = ReLU(Σ_k α_k A^k) at `layer`, shape (N, m, n), before upsampling, for any CAM variant.

    channel_weights -- (A, G) ↦ α of shape (N, K) (or (N, K, m, n): element-wise), with
                       G = ∂y^c/∂A (or −∂y^c/∂A if counterfactual)
    relu            -- False keeps the negative part of Σ_k α_k A^k
    """
    check_flag("relu", relu)
    check_flag("counterfactual", counterfactual)
    x = prepare_input(x, model)
    with eval_mode(model):
        targets = explained_targets(model, x, target)
        activations, gradients = layer_activation_and_gradient(model, x, targets, layer)
    if counterfactual:
        gradients = -gradients
    maps = weighted_sum(channel_weights(activations, gradients), activations)
    return np.maximum(maps, 0) if relu else maps


def upsample_maps(maps: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """Bilinear resize of (N, m, n) maps to (N, *size), half-pixel centres (PyTorch's
    `interpolate(mode="bilinear", align_corners=False)`)."""
    with mc.no_grad():
        return F.interpolate(mc.Tensor(maps[:, None]), size=(int(size[0]), int(size[1]))).data[:, 0]


# ---- the public methods -----------------------------------------------------------------------
@captum_names("relu_attributions")
def grad_cam(model: nn.Module, x: ArrayLike, target: TargetLike = None, layer: LayerLike = None, relu: bool = True,
             upsample: bool = True, counterfactual: bool = False) -> np.ndarray:
    """Grad-CAM L^c = ReLU(Σ_k α^c_k A^k), α^c_k = (1/(m·n)) Σ_ij ∂y^c/∂A^k_ij; shape (N, H, W).

    model  -- a minicnn Module returning logits (N, classes); run in eval mode, mode restored
    x      -- batch (N, C, H, W); cast to the model's dtype
    target -- int, or one int per row: the class c (its logit y^c is differentiated); None: each
              row's predicted class
    layer  -- where A is taken: None (default) = `default_layer`, the last 4-D feature map that
              reaches the classifier, in execution order; or a dotted name from
              `named_modules()` ("features.3"), or a Module of the model. Its output must be 4-D
              and it must run once per forward.
    relu   -- apply the final ReLU (False: the signed map Σ_k α_k A^k)
    upsample -- True: bilinear resize to x's (H, W) (after the ReLU); False: the layer's (m, n)
    counterfactual -- use −∂y^c/∂A: regions whose removal would raise the score of c

    Two defaults differ from Captum's `LayerGradCam` on purpose, because the paper defines L^c
    with the ReLU and upsamples it bilinearly (a smooth map invents no blocky edges): the ReLU is
    on (Captum: `relu_attributions=False`), and the map comes at the input size, bilinear with
    half-pixel centres (Captum: the layer's size; `LayerAttribution.interpolate`: nearest).
    Captum's `relu_attributions` is accepted for relu.
    """
    maps = class_activation_maps(model, x, target, layer, gradcam_weights, relu, counterfactual)
    return upsampled_to_input(maps, x, upsample)


def upsampled_to_input(maps: np.ndarray, x: ArrayLike, upsample: bool = True) -> np.ndarray:
    """The (N, m, n) maps bilinearly resized to x's (H, W) (`upsample_maps`), or as they are."""
    check_flag("upsample", upsample)
    if not upsample:
        return maps
    shape = np.shape(x.data if isinstance(x, mc.Tensor) else x)
    if len(shape) != 4:
        raise ValueError(f"x: upsampling to the input size needs a batch (N, C, H, W), got shape {shape}; use upsample=False")
    return upsample_maps(maps, shape[2:])


@captum_names("relu_attributions")
def grad_cam_maps(model: nn.Module, x: ArrayLike, target: TargetLike = None, layer: LayerLike = None,
                  relu: bool = True, counterfactual: bool = False) -> np.ndarray:
    """Grad-CAM at the layer's own resolution (N, m, n): `grad_cam(..., upsample=False)`."""
    return grad_cam(model, x, target, layer, relu=relu, upsample=False, counterfactual=counterfactual)


def _guided_relu(node: ops.Relu, grad_output: np.ndarray) -> tuple[np.ndarray]:
    """Guided backprop through y = max(z, 0): g ↦ g·[z > 0]·[g > 0]."""
    z = node.inputs[0].data
    return (grad_output * ((z > 0) & (grad_output > 0)),)


GUIDED_RULES: dict[type, Callable[..., tuple]] = {ops.Relu: _guided_relu}


def guided_backprop(model: nn.Module, x: ArrayLike, target: TargetLike = None) -> np.ndarray:
    """Guided backpropagation (Springenberg et al. 2015): ∂y^c/∂x with every ReLU's backward
    replaced by g·[z > 0]·[g > 0]; every other op keeps its ordinary derivative. Shaped like x.

    Applies to every ReLU op in the graph (nn.ReLU modules and F.relu calls alike).
    target=None: each row's predicted class.
    """
    x = prepare_input(x, model)
    with eval_mode(model):
        grad, _ = target_gradient(model, x, explained_targets(model, x, target), rules=GUIDED_RULES)
    return grad


def guided_grad_cam(model: nn.Module, x: ArrayLike, target: TargetLike = None, layer: LayerLike = None) -> np.ndarray:
    """Guided Grad-CAM = guided backprop ⊙ upsampled Grad-CAM, the map broadcast over the input
    channels; shape (N, C, H, W) like x. `layer` and target=None as in `grad_cam`.

    The Grad-CAM map is upsampled bilinearly, where Captum's `GuidedGradCam` defaults to
    `interpolate_mode="nearest"`: the paper upsamples bilinearly, and nearest puts the layer's
    blocky grid into the fine guided-backprop map (with "bilinear" the two agree to 1e-6).
    """
    x = prepare_input(x, model)
    target = explained_targets(model, x, target)  # once, for both maps
    cam = grad_cam(model, x, target, layer=layer)
    return guided_backprop(model, x, target) * cam[:, None]

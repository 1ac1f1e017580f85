"""Attribution to a hidden layer and through one neuron (Captum's LayerIntegratedGradients,
LayerDeepLift, LayerConductance, NeuronConductance; Dhamdhere, Sundararajan & Yan, ICLR 2019).

Notation: x input, x′ baseline, Δx = x − x′, F the target logit, y = y(x) the output of the
chosen layer (any shape), y_j one of its units ("neurons"), α_k and w_k a quadrature rule.

    layer IG         IG_j  = (y_j(x) − y_j(x′)) · Σ_k w_k ∂F/∂y_j at y′ + α_k(y − y′)
    layer DeepLIFT   C_j   = m_j · Δy_j        (RevealCancel: m⁺_j Δy⁺_j + m⁻_j Δy⁻_j)
    conductance      Cond_j = Σ_{k<n} ∂F/∂y_j(x′ + α_k Δx) · [y_j(x′ + α_{k+1}Δx) − y_j(x′ + α_kΔx)]
    neuron cond.     NC^j_i = Δx_i · Σ_k w_k ∂F/∂y_j · ∂y_j/∂x_i   at x′ + α_k Δx

Definition choices (Captum's, followed here):
- Layer IG integrates along the straight line *in the layer's space*, from y(x′) to y(x): the
  layer's output is replaced by the interpolated value while the rest of the network still runs
  on x (a skip connection around the layer keeps x's values). Σ_j IG_j = F(x) − F(x′) only if
  every path from x to F goes through the layer.
- Conductance integrates along the straight line *in input space* and takes the layer's
  change along that path (a Riemann–Stieltjes sum on the nodes α_0 … α_n of `quadrature(method,
  n + 1)`; the weights are not used). With the trapezoid rule's nodes 0 … 1 its sum over the
  layer telescopes to F(x) − F(x′) up to the path discretisation.
- Neuron conductance is the part of IG_i that flows through unit j: summed over every unit of
  a layer all paths pass through, it is IG_i.
- Layer DeepLIFT is `deeplift`'s own pass read at the layer: the multipliers m at y times Δy.

Our `riemann_trapezoid` weights sum to 1; Captum's to (n−1)/n (see `quadrature`): with that
rule, layer IG and neuron conductance are Captum's times n/(n−1). Conductance uses no weights.
As everywhere, target=None explains each row's predicted class, and Captum's `baselines`,
`n_steps` and `internal_batch_size` are accepted for baseline, steps and batch_size.
"""

from __future__ import annotations

from typing import Callable, Optional, Union

import numpy as np

import minicnn as mc
from minicnn import nn
from minicnn.autograd import topological_order

from .captum_names import captum_names

from .deeplift_rules import RULES as DEEPLIFT_RULES
from .deeplift_rules.reveal_cancel import reveal_cancel_parts
from .deeplift_rules.rules import rule_table
from .deeplift_rules.stacked import halves, stack
from .expected_gradients import add_per_row, point_batches
from .gradcam import find_layer, run_capturing, upsample_maps
from .inputs import (
    ArrayLike,
    LayerLike,
    TargetLike,
    eval_mode,
    explained_targets,
    prepare_baseline,
    prepare_input,
    target_seed,
)
from .integrated_gradients import _rows_per_batch, quadrature

__all__ = ["layer_integrated_gradients", "layer_deeplift", "conductance", "neuron_conductance", "layer_map"]


def _seed(out: mc.Tensor, targets: np.ndarray) -> np.ndarray:
    if out.ndim != 2:
        raise ValueError(f"model: attribution needs logits of shape (N, classes), got shape {out.shape}")
    return target_seed(out.shape, targets).astype(out.dtype)


def _layer_values(model: nn.Module, x: np.ndarray, layer: LayerLike) -> np.ndarray:
    """y(x) at the layer, no graph."""
    with mc.no_grad():
        return run_capturing(model, x, layer, requires_grad=False)[1].data


def _setup(model: nn.Module, x: ArrayLike, target: TargetLike, layer: LayerLike,
           baseline: Optional[ArrayLike]) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, ...]]:
    """(x, x′, targets, the shape of one row of y), validated (a bad layer fails before any
    work); in eval mode by the caller."""
    x = prepare_input(x, model)
    reference = prepare_baseline(baseline, x)
    targets = explained_targets(model, x, target)
    find_layer(model, layer, x)
    return x, reference, targets, _layer_values(model, x[:1], layer).shape[1:]


def _broadcast(alphas: np.ndarray, ndim: int) -> np.ndarray:
    return alphas[(slice(None),) + (None,) * (ndim - 1)]


@captum_names("baselines", "n_steps", "internal_batch_size")
def layer_integrated_gradients(model: nn.Module, x: ArrayLike, target: TargetLike, layer: LayerLike,
                               baseline: Optional[ArrayLike] = None, steps: int = 50,
                               method: str = "riemann_trapezoid", batch_size: Optional[int] = None) -> np.ndarray:
    """Layer IG_j = Δy_j · Σ_k w_k ∂F/∂y_j(y′ + α_k Δy), shaped like the layer's output (N, ...).

    layer    -- the Module, or its dotted name (None: `default_layer`, the last 4-D feature map)
    baseline -- x′ as for `integrated_gradients`; y′ = y(x′)
    steps, method, batch_size -- as `integrated_gradients` (Captum's default method is
                                 gausslegendre; ours stays IG's riemann_trapezoid)
    """
    alphas, weights = quadrature(method, steps)
    with eval_mode(model):
        x, reference, targets, _ = _setup(model, x, target, layer, baseline)
        n = len(x)
        y, y_ref = _layer_values(model, x, layer), _layer_values(model, reference, layer)
        delta = y - y_ref
        total = np.zeros(y.shape, dtype=np.float64)
        for row, k in point_batches(n, steps, _rows_per_batch(batch_size, steps, model, x[0])):
            point = mc.Tensor(y_ref[row] + _broadcast(alphas[k], y.ndim).astype(y.dtype) * delta[row],
                              requires_grad=True)

            def replace(output: mc.Tensor, point: mc.Tensor = point) -> mc.Tensor:
                if output.shape != point.shape:
                    raise ValueError(f"layer: its output shape {output.shape} changes with the batch; cannot interpolate it")
                return point

            out, _, _ = run_capturing(model, x[row], layer, requires_grad=False, replace=replace)
            (grad,) = mc.grad(out, [point], grad_outputs=_seed(out, targets[row]))
            add_per_row(total, row, _broadcast(weights[k], y.ndim) * grad)
    return (delta * total).astype(x.dtype)


@captum_names("baselines")
def layer_deeplift(model: nn.Module, x: ArrayLike, target: TargetLike, layer: LayerLike,
                   baseline: Optional[ArrayLike] = None, rule: str = "rescale", eps: float = 1e-10) -> np.ndarray:
    """Layer DeepLIFT C_j = m_j · (y_j(x) − y_j(x′)), shaped like the layer's output; Σ_j C_j =
    F(x) − F(x′) exactly when every path from x to F goes through the layer.

    With RevealCancel the multipliers come in pairs for the positive and negative parts of Δy:
    C_j = m⁺_j Δy⁺_j + m⁻_j Δy⁻_j. Other arguments as `deeplift`; layer as for
    `layer_integrated_gradients`.
    """
    if rule not in DEEPLIFT_RULES:
        raise ValueError(f"rule: expected one of {', '.join(DEEPLIFT_RULES)}, got {rule!r}")
    x = prepare_input(x, model)
    reference = prepare_baseline(baseline, x)
    with eval_mode(model):
        targets = explained_targets(model, x, target)
        stacked = mc.Tensor(stack(x, reference), requires_grad=True)
        out, y, _ = run_capturing(model, stacked.data, layer, input_tensor=stacked)  # one pass on [x; x′]
        deltas, parts = reveal_cancel_parts(topological_order([out]), stacked) if rule == "reveal_cancel" else ({}, {})
        (m,) = mc.grad(out, [y], grad_outputs=_seed(out, targets), rules=rule_table(rule, eps, deltas, parts))
    top, bottom = halves(y.data)
    if rule == "rescale":
        return (halves(m)[0] * (top - bottom)).astype(x.dtype)
    part_pos, part_neg = halves(parts[id(y)])
    m_pos, m_neg = halves(m)
    return (m_pos * part_pos + m_neg * part_neg).astype(x.dtype)


def _path(model: nn.Module, x: np.ndarray, reference: np.ndarray, targets: np.ndarray, layer: LayerLike,
          alphas: np.ndarray, batch_size: Optional[int],
          visit: Callable[[np.ndarray, np.ndarray, mc.Tensor, mc.Tensor, np.ndarray], None]) -> None:
    """For every point x′ + α_k Δx (batched): y and ∂F/∂y at the layer, handed to
    visit(row, k, inputs Tensor, y Tensor, ∂F/∂y)."""
    n, steps = len(x), len(alphas)
    for row, k in point_batches(n, steps, _rows_per_batch(batch_size, steps, model, x[0])):
        points = reference[row] + _broadcast(alphas[k], x.ndim).astype(x.dtype) * (x - reference)[row]
        inputs = mc.Tensor(points, requires_grad=True)
        out, y, _ = run_capturing(model, points, layer, input_tensor=inputs)
        (grad,) = mc.grad(out, [y], grad_outputs=_seed(out, targets[row]))
        visit(row, k, inputs, y, grad)


@captum_names("baselines", "n_steps", "internal_batch_size")
def conductance(model: nn.Module, x: ArrayLike, target: TargetLike, layer: LayerLike,
                baseline: Optional[ArrayLike] = None, steps: int = 50, method: str = "riemann_trapezoid",
                batch_size: Optional[int] = None) -> np.ndarray:
    """Layer conductance Cond_j = Σ_{k<n} ∂F/∂y_j(x′ + α_k Δx)·[y_j(x′ + α_{k+1}Δx) − y_j(x′ + α_kΔx)],
    on the n + 1 nodes of `quadrature(method, steps + 1)` (Captum's LayerConductance); shaped
    like the layer's output. Arguments as `layer_integrated_gradients`; `steps` ≥ 1 intervals.
    """
    alphas, _ = quadrature(method, steps + 1)
    with eval_mode(model):
        x, reference, targets, shape = _setup(model, x, target, layer, baseline)
        ys = np.zeros((len(x), steps + 1) + shape, dtype=np.float64)
        grads = np.zeros_like(ys)

        def visit(row: np.ndarray, k: np.ndarray, inputs: mc.Tensor, y: mc.Tensor, grad: np.ndarray) -> None:
            ys[row, k], grads[row, k] = y.data, grad

        _path(model, x, reference, targets, layer, alphas, batch_size, visit)
    return (grads[:, :-1] * np.diff(ys, axis=1)).sum(axis=1).astype(x.dtype)


def _neuron_index(neuron: Union[int, tuple[int, ...]], shape: tuple[int, ...]) -> int:
    """A flat index into one row of the layer's output from an int (flat) or a tuple (c, i, j, …)."""
    size = int(np.prod(shape))
    if isinstance(neuron, (int, np.integer)) and not isinstance(neuron, bool):
        if not 0 <= neuron < size:
            raise ValueError(f"neuron: expected a flat index in [0, {size}) for a layer output of shape {shape}, got {neuron}")
        return int(neuron)
    if isinstance(neuron, tuple) and len(neuron) == len(shape) and all(
            isinstance(i, (int, np.integer)) and not isinstance(i, bool) and 0 <= i < s for i, s in zip(neuron, shape)):
        return int(np.ravel_multi_index(neuron, shape))
    raise ValueError(f"neuron: expected an int or a tuple of {len(shape)} indices within {shape}, got {neuron!r}")


@captum_names("baselines", "n_steps", "internal_batch_size")
def neuron_conductance(model: nn.Module, x: ArrayLike, target: TargetLike, layer: LayerLike,
                       neuron: Union[int, tuple[int, ...]], baseline: Optional[ArrayLike] = None, steps: int = 50,
                       method: str = "riemann_trapezoid", batch_size: Optional[int] = None) -> np.ndarray:
    """Neuron conductance NC^j_i = Δx_i · Σ_k w_k ∂F/∂y_j · ∂y_j/∂x_i at x′ + α_k Δx, shaped like x:
    how much of input i's IG flows through unit j of the layer (Captum's NeuronConductance).

    neuron -- unit j: an index tuple into one row of the layer's output ((c, i, j) for a feature
              map) or a flat int index. Other arguments as `layer_integrated_gradients`.
    Two backward passes per batch: ∂F/∂y at the layer, then ∂(∂F/∂y_j · y_j)/∂x with ∂F/∂y_j held fixed.
    """
    alphas, weights = quadrature(method, steps)
    with eval_mode(model):
        x, reference, targets, shape = _setup(model, x, target, layer, baseline)
        j = _neuron_index(neuron, shape)
        total = np.zeros(x.shape, dtype=np.float64)

        def visit(row: np.ndarray, k: np.ndarray, inputs: mc.Tensor, y: mc.Tensor, grad: np.ndarray) -> None:
            seed = np.zeros((len(row), int(np.prod(shape))), dtype=y.dtype)
            seed[:, j] = grad.reshape(len(row), -1)[:, j]  # ∂F/∂y_j, the only unit followed back
            (through,) = mc.grad(y, [inputs], grad_outputs=seed.reshape(y.shape))
            add_per_row(total, row, _broadcast(weights[k], x.ndim) * through)

        _path(model, x, reference, targets, layer, alphas, batch_size, visit)
    return ((x - reference) * total).astype(x.dtype)


def layer_map(attributions: np.ndarray, x: ArrayLike) -> np.ndarray:
    """A layer attribution (N, K, m, n) as a picture of x: summed over channels and resized
    bilinearly to x's (H, W), like Grad-CAM (Captum's `LayerAttribution.interpolate`)."""
    if attributions.ndim != 4:
        raise ValueError(f"attributions: expected a layer attribution (N, K, m, n), got shape {attributions.shape}")
    return upsample_maps(attributions.sum(axis=1), np.shape(x)[2:])

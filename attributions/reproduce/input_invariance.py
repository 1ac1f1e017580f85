"""`reproduce input-invariance`: a constant shift of the input, absorbed in the first layer's bias.

Kindermans, Hooker, Adebayo, Alber, Schütt, Dähne, Erhan & Kim 2019, "The (Un)reliability of
Saliency Methods" (§2–3, Fig. 2–4). Two networks that compute the same function of the same
data, one on x, one on the shifted x₂ = x + m₂ (here m₂ = −1: pixels [0, 1] → [−1, 0], the paper's
MNIST shift), where the shift is absorbed in the first layer's bias:

    z = W x + b,      z₂ = W x₂ + b₂ with b₂ = b − W m₂   ⇒   z₂ = z,  f₂(x₂) = f(x) for every x.

A method is *input invariant* when its map of f₂ at x₂ equals its map of f at x. The paper:
the gradient and SmoothGrad are (they only see f's derivatives, which the shift does not touch),
and so are IG and DeepLIFT when the baseline is shifted with the input (x′₂ = x′ + m₂); gradient ×
input, LRP and IG/DeepLIFT with a zero baseline in each network's own input space are not (x₂ ·
∂f/∂x ≠ x · ∂f/∂x; the zero image is a different reference for the two networks).

The network is the bundled digits LeNet. Its first convolution pads with zeros, and a padded
zero does not shift with the input, so no bias can absorb the shift at the border: the padding is
moved into the input instead (x is the 20 × 20 zero-padded digit and the convolution pads nothing),
which computes the same logits, and then b₂ = b − m₂ Σ W holds at every output position.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from matplotlib.figure import Figure

import minicnn as mc
from minicnn import nn

from .. import deeplift, gradient_x_input, input_gradient, integrated_gradients, lrp, noise_tunnel
from ..inputs import module_outputs
from .page import Result, markdown_table
from .samples import bundled_model, correct_test_images

__all__ = ["run", "shifted_network", "SHIFT", "EXACT", "DIFFERENT"]

SHIFT = -1.0  # m₂: the paper's MNIST shift of [0, 1] to [−1, 0]
SHIFTS = (SHIFT, -1 / 3)  # and one that digit pixels (multiples of 1/256) cannot take exactly
EXACT = 1e-10  # "equal to machine precision": max |a₂ − a| ≤ EXACT · max |a| (see the module text)
DIFFERENT = 1e-3  # "not invariant": max |a₂ − a| > DIFFERENT · max |a|
IMAGES, QUICK_IMAGES = 16, 3
SAMPLES, QUICK_SAMPLES = 50, 8  # SmoothGrad's noisy copies
IG_STEPS = 50


def padding_in_input(model):
    """(copy of model whose first convolution pads nothing, that padding): the padding becomes input."""
    unpadded = copy.deepcopy(model)
    first = unpadded.features[0]
    padding = first.padding
    first.padding = (0, 0)
    return unpadded, padding


def shifted_network(network: nn.Module, shift: float) -> nn.Module:
    """f₂: a copy of `network` whose first layer's bias is b₂ = b − shift · Σ_(c,i,j) W_k,c,i,j, so that
    f₂(x + shift) = f(x) (every input element shifted by the same constant)."""
    shifted = copy.deepcopy(network)
    first = shifted.features[0]
    first.bias.data = first.bias.data - shift * first.weight.data.sum(axis=(1, 2, 3))
    return shifted


def _relu_patterns(network, x):
    """Every ReLU's on/off pattern for every row: with the max-pool choices, all that the backward
    pass of a ReLU/max-pool net reads of the forward values."""
    return [output.data > 0 for row in x for _, module, output in module_outputs(network, row)
            if type(module).__name__ == "ReLU"]


def _methods(x, shift, noise):
    """name → (paper says invariant, function(network, inputs, target, shifted: bool))."""
    reference = np.zeros_like(x)

    def baseline(shifted):  # the baseline moves with the input
        return reference + shift if shifted else reference

    def smoothgrad(net, inputs, t, shifted):
        return noise_tunnel(input_gradient, net, inputs, t, samples=len(noise), stdev=0.15, noise=noise)

    return {
        "gradient": (True, lambda net, inputs, t, shifted: input_gradient(net, inputs, t)),
        "SmoothGrad (same noise draws)": (True, smoothgrad),
        "IG, baseline shifted too": (True, lambda net, inputs, t, shifted: integrated_gradients(
            net, inputs, t, baseline=baseline(shifted), steps=IG_STEPS)),
        "DeepLIFT-Rescale, baseline shifted too": (True, lambda net, inputs, t, shifted: deeplift(
            net, inputs, t, baseline=baseline(shifted))),
        "DeepLIFT-RevealCancel, baseline shifted too": (True, lambda net, inputs, t, shifted: deeplift(
            net, inputs, t, baseline=baseline(shifted), rule="reveal_cancel")),
        "gradient × input": (False, lambda net, inputs, t, shifted: gradient_x_input(net, inputs, t)),
        "LRP-ε": (False, lambda net, inputs, t, shifted: lrp(net, inputs, t, rule="epsilon")),
        "IG, zero baseline": (False, lambda net, inputs, t, shifted: integrated_gradients(
            net, inputs, t, steps=IG_STEPS)),
        "DeepLIFT-Rescale, zero baseline": (False, lambda net, inputs, t, shifted: deeplift(net, inputs, t)),
    }


def _figure(maps, x):
    names = list(maps)
    figure = Figure(figsize=(1.35 * (len(names) + 1), 1.45 * 3), layout="constrained")
    grid = figure.subplots(3, len(names) + 1, squeeze=False)
    for axes in grid.ravel():
        axes.set_axis_off()
    grid[0, 0].imshow(x[0, 0], cmap="gray")
    grid[0, 0].set_title("x (padded)", fontsize=7)
    grid[1, 0].imshow(x[0, 0] + SHIFT, cmap="gray")
    grid[1, 0].set_title(f"x₂ = x + m₂, m₂ = {_shift_name(SHIFT)}", fontsize=7)
    for column, name in enumerate(names, start=1):
        a, a2 = maps[name][0][0, 0], maps[name][1][0, 0]
        scale = max(np.abs(a).max(), np.abs(a2).max(), 1e-300)
        for row, image in enumerate((a, a2, a2 - a)):
            grid[row, column].imshow(image, cmap="bwr", vmin=-scale, vmax=scale)
        grid[0, column].set_title(name.replace(", ", "\n"), fontsize=6)
    grid[2, 0].text(0.5, 0.5, "rows: map of f at x,\nof f₂ at x₂,\ndifference\n(same colour scale)",
                    ha="center", va="center", fontsize=6, transform=grid[2, 0].transAxes)
    return figure


def _verdict(rows):
    claimed = [r for r in rows if r["paper: invariant"]]
    differ = [r["method"] for r in claimed if max(r[_column(m)] for m in SHIFTS) > EXACT]
    stay = [r["method"] for r in rows if not r["paper: invariant"] and min(r[_column(m)] for m in SHIFTS) <= DIFFERENT]
    if not differ and not stay:
        bitwise = {m: sum(r[_column(m, bits=True)] for r in claimed) for m in SHIFTS}
        counts = ", ".join(f"{bitwise[m]} of {len(claimed)} bit for bit with m₂ = {_shift_name(m)}" for m in SHIFTS)
        return (f"Agrees: the {len(claimed)} methods the paper calls input invariant give the same maps for the "
                f"shifted network ({counts}, all within {EXACT:g} of the map's scale), and the "
                f"{len(rows) - len(claimed)} others change by more than {DIFFERENT:g} of it.")
    problems = ([f"{', '.join(differ)} differ although the paper calls them invariant"] if differ else []) + \
               ([f"{', '.join(stay)} stay equal although the paper says they change"] if stay else [])
    return "Disagrees: " + "; ".join(problems) + "."


def _shift_name(shift):
    return "−1" if shift == -1 else "−1/3" if np.isclose(shift, -1 / 3) else f"{shift:g}"


def _column(shift, bits=False):
    return f"{'bit for bit' if bits else 'relative max |a₂ − a|'}, m₂ = {_shift_name(shift)}"


def _compare(network, x, labels, shift, noise):
    """For one shift: {method: (a, a₂)} and the arithmetic facts that decide bit-for-bit equality."""
    shifted = shifted_network(network, shift)
    x2 = x + shift
    with mc.no_grad():
        first, first2 = network.features[0](x).data, shifted.features[0](x2).data
        logits, logits2 = network(x).data, shifted(x2).data
    facts = {
        "Δx₂ = Δx bit for bit: (x + m₂) − (0 + m₂) = x − 0": bool(np.array_equal(x2 - (0 + shift), x)),
        "first-layer pre-activations z₂ = z bit for bit": bool(np.array_equal(first, first2)),
        "max |z₂ − z| / max |z| at the first layer": float(np.abs(first2 - first).max() / np.abs(first).max()),
        "every ReLU pattern identical": all(np.array_equal(a, b) for a, b in
                                            zip(_relu_patterns(network, x), _relu_patterns(shifted, x2))),
        "logits: max |f₂(x₂) − f(x)|": float(np.abs(logits2 - logits).max()),
    }
    maps = {name: (method(network, x, labels, False), method(shifted, x2, labels, True))
            for name, (_, method) in _methods(x, shift, noise).items()}
    return maps, facts


def run(quick: bool = False, seed: int = 0, **options: Any) -> Result:
    """Maps of f at x and of f₂ at x + m₂ for every method and shift; see the module docstring."""
    if options:
        raise TypeError(f"input-invariance: unexpected options {', '.join(options)}")
    model, data = bundled_model("digits")
    images, labels, _ = correct_test_images(model, data, QUICK_IMAGES if quick else IMAGES, seed)
    network, padding = padding_in_input(model)
    x = np.pad(images, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    with mc.no_grad():
        moved_padding = float(np.abs(network(x).data - model(images).data).max())
    noise = np.random.default_rng(seed).standard_normal(((QUICK_SAMPLES if quick else SAMPLES),) + x.shape)
    claims = {name: invariant for name, (invariant, _) in _methods(x, SHIFT, noise).items()}
    rows = [{"method": name, "paper: invariant": invariant} for name, invariant in claims.items()]
    numbers, facts, figure_maps = {"logits: padding in the input vs bundled model, max |difference|": moved_padding}, {}, None
    for shift in SHIFTS:
        maps, facts[shift] = _compare(network, x, labels, shift, noise)
        figure_maps = figure_maps or maps  # the paper's shift comes first
        for row in rows:
            a, a2 = maps[row["method"]]
            row[_column(shift, bits=True)] = bool(np.array_equal(a, a2))
            row[_column(shift)] = float(np.abs(a2 - a).max() / max(np.abs(a).max(), 1e-300))
            numbers[f"{row['method']}: {_column(shift)}"] = row[_column(shift)]
            numbers[f"{row['method']}: {_column(shift, bits=True)}"] = row[_column(shift, bits=True)]
        numbers.update({f"m₂ = {_shift_name(shift)}: {fact}": value for fact, value in facts[shift].items()})
    for row in rows:
        row["measured: invariant"] = max(row[_column(m)] for m in SHIFTS) <= EXACT
    fact_table = markdown_table([{"arithmetic": fact, **{f"m₂ = {_shift_name(m)}": facts[m][fact] for m in SHIFTS}}
                                 for fact in facts[SHIFT]])
    details = (
        f"**Protocol.** {len(x)} correctly classified digits test images (seed {seed}), each explained for its "
        f"label; every input element shifted by m₂ = −1 (the paper's [0, 1] → [−1, 0]) and, to show what rounding "
        f"does, by m₂ = −1/3; IG {IG_STEPS} trapezoid steps; SmoothGrad of the signed gradient with {len(noise)} "
        "noise draws ξ (σ = 0.15 of each image's range), the same draws for both networks. \"Relative max |a₂ − a|\" "
        "is the largest difference over all images and pixels divided by the largest |a|.\n\n"
        "**Why bit for bit, and when only to machine precision.** z₂ = W(x + m₂) + b₂ equals z = Wx + b in exact "
        "arithmetic; in floating point it may differ by rounding, about 1e-16 of the terms. The backward pass of a "
        "ReLU/max-pool net reads the forward values only through the ReLU on/off patterns and the max-pool choices, "
        "so while no pre-activation lies within rounding of 0 the gradient, and SmoothGrad with the same draws, are "
        "bit for bit equal whatever the rounding. IG multiplies those gradients by Δx₂ = (x + m₂) − (x′ + m₂): bit "
        "for bit equal when that subtraction gives Δx exactly. DeepLIFT's multipliers Δy/Δz are ratios of the "
        "forward values themselves: bit for bit equal only when z₂ = z bit for bit already at the first layer; "
        "otherwise the maps agree to rounding, amplified by 1/|Δz| where a unit's Δz is tiny (its contribution "
        f"is then tiny too): the bound used is max |a₂ − a| ≤ {EXACT:g} · "
        "max |a|. What the arithmetic did here:\n\n" + fact_table + "\n\n"
        f"Moving the first convolution's padding into the input changes the bundled model's logits by at most "
        f"{moved_padding:.1e}. The paper used an MLP on MNIST; this is the bundled convolutional digits net.")
    return Result(name="input-invariance", title="Input invariance: a constant shift absorbed in the first bias",
                  claim="the gradient and SmoothGrad, and IG and DeepLIFT with the baseline shifted too, give the same "
                        "attributions for two networks that differ only by an input shift absorbed in the first "
                        "layer's bias; gradient × input, LRP and IG/DeepLIFT with a zero baseline do not",
                  source="Kindermans et al. 2019, *The (Un)reliability of Saliency Methods*, §2–3 and Fig. 2–4",
                  table=rows, verdict=_verdict(rows), figure=_figure(figure_maps, x), numbers=numbers, details=details)

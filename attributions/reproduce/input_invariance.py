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

import numpy as np
from matplotlib.figure import Figure

import minicnn as mc

from .. import deeplift, gradient_x_input, input_gradient, integrated_gradients, lrp, noise_tunnel
from ..inputs import module_outputs
from .page import Result
from .samples import bundled_model, correct_test_images

__all__ = ["run", "shifted_network", "SHIFT", "EXACT", "DIFFERENT"]

SHIFT = -1.0  # m₂: the paper's MNIST shift of [0, 1] to [−1, 0]
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


def shifted_network(network, shift):
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
    grid[1, 0].set_title(f"x₂ = x {SHIFT:+g}", fontsize=7)
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
    differ = [r["method"] for r in claimed if r["relative max |a₂ − a|"] > EXACT]
    stay = [r["method"] for r in rows if not r["paper: invariant"] and r["relative max |a₂ − a|"] <= DIFFERENT]
    if not differ and not stay:
        bitwise = sum(r["bit-for-bit equal"] for r in claimed)
        return (f"Agrees: the {len(claimed)} methods the paper calls input invariant give the same maps for the "
                f"shifted network ({bitwise} of them bit for bit, the others within {EXACT:g} of the map's scale), "
                f"and the {len(rows) - len(claimed)} others change by more than {DIFFERENT:g} of it.")
    problems = ([f"{', '.join(differ)} differ although the paper calls them invariant"] if differ else []) + \
               ([f"{', '.join(stay)} stay equal although the paper says they change"] if stay else [])
    return "Disagrees: " + "; ".join(problems) + "."


def run(quick: bool = False, seed: int = 0, **options) -> Result:
    """Maps of f at x and of f₂ at x + m₂ for every method; see the module docstring."""
    if options:
        raise TypeError(f"input-invariance: unexpected options {', '.join(options)}")
    model, data = bundled_model("digits")
    images, labels, _ = correct_test_images(model, data, QUICK_IMAGES if quick else IMAGES, seed)
    network, padding = padding_in_input(model)
    x = np.pad(images, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    x2 = x + SHIFT
    shifted = shifted_network(network, SHIFT)
    with mc.no_grad():
        logits, logits_padded, logits_shifted = model(images).data, network(x).data, shifted(x2).data
    noise = np.random.default_rng(seed).standard_normal(((QUICK_SAMPLES if quick else SAMPLES),) + x.shape)
    same_decisions = all(np.array_equal(a, b) for a, b in zip(_relu_patterns(network, x),
                                                              _relu_patterns(shifted, x2)))
    rows, maps, numbers = [], {}, {}
    for name, (invariant, method) in _methods(x, SHIFT, noise).items():
        a, a2 = method(network, x, labels, False), method(shifted, x2, labels, True)
        maps[name] = (a, a2)
        relative = float(np.abs(a2 - a).max() / max(np.abs(a).max(), 1e-300))
        equal = bool(np.array_equal(a, a2))
        rows.append({"method": name, "paper: invariant": invariant, "bit-for-bit equal": equal,
                     "relative max |a₂ − a|": relative, "measured: invariant": relative <= EXACT})
        numbers[f"{name}: relative difference"] = relative
        numbers[f"{name}: bit-for-bit"] = equal
    numbers["logits: f₂(x₂) vs f(x), max |difference|"] = float(np.abs(logits_shifted - logits_padded).max())
    numbers["logits: padding in the input vs bundled model, max |difference|"] = float(np.abs(logits_padded - logits).max())
    numbers["every ReLU pattern identical"] = same_decisions
    details = (
        f"**Protocol.** {len(x)} correctly classified digits test images (seed {seed}), each explained for its "
        f"label; shift m₂ = {SHIFT:g} on every input element; IG {IG_STEPS} trapezoid steps; SmoothGrad of the "
        f"signed gradient with {len(noise)} noise draws ξ (σ = 0.15 of each image's range), the same draws for "
        "both networks. \"Relative max |a₂ − a|\" is the largest difference over all images and pixels divided by "
        "the largest |a|.\n\n"
        "**Why bit for bit, and where only to machine precision.** z₂ = W(x + m₂) + b₂ and z = Wx + b are equal in "
        "exact arithmetic, not in floating point: they differ by rounding, about 1e-16 of |Wx|. The backward pass of "
        "a ReLU/max-pool net reads the forward values only through the ReLU on/off patterns and the max-pool "
        "choices, so as long as no pre-activation lies within rounding of 0 (here: every ReLU pattern identical "
        f"= {'yes' if same_decisions else 'no'}) the gradient, and SmoothGrad with the same draws, come out bit "
        "for bit equal. IG with the shifted baseline multiplies the same gradients by Δx₂ = (x + m₂) − (x′ + m₂), "
        "which equals Δx exactly here (digit pixels are multiples of 1/256 and m₂ = −1, so every subtraction is "
        "exact). DeepLIFT's multipliers Δy/Δz are ratios of the forward values themselves, so their rounding "
        f"shows: equal to a few ulps, inside the stated bound max |a₂ − a| ≤ {EXACT:g} · max |a|.\n\n"
        f"Logits: f₂(x₂) − f(x) at most {numbers['logits: f₂(x₂) vs f(x), max |difference|']:.1e}; moving the "
        "padding into the input changes the bundled model's logits by at most "
        f"{numbers['logits: padding in the input vs bundled model, max |difference|']:.1e}. The paper used an "
        "MLP on MNIST; this is the bundled convolutional digits net.")
    return Result(name="input-invariance", title="Input invariance: a constant shift absorbed in the first bias",
                  claim="the gradient and SmoothGrad, and IG and DeepLIFT with the baseline shifted too, give the same "
                        "attributions for two networks that differ only by an input shift absorbed in the first "
                        "layer's bias; gradient × input, LRP and IG/DeepLIFT with a zero baseline do not",
                  source="Kindermans et al. 2019, *The (Un)reliability of Saliency Methods*, §2–3 and Fig. 2–4",
                  table=rows, verdict=_verdict(rows), figure=_figure(maps, x), numbers=numbers, details=details)

"""`reproduce ancona-identities`: when ε-LRP, DeepLIFT-Rescale and gradient × input are one method.

Ancona, Ceolini, Öztireli & Gross 2018, "Towards better understanding of gradient-based attribution
methods for Deep Neural Networks" (ICLR), §3. Both methods are input × a *modified* gradient, the
chain rule with each nonlinearity's derivative f′(z) replaced by a ratio:

    Proposition 1   ε-LRP:             R_i = x_i · ∂ᵍf/∂x_i,   g(z) = f(z)/z              (ε → 0)
    Proposition 2   DeepLIFT-Rescale:  C_i = (x_i − x̄_i) · ∂ᵍf/∂x_i,   g(z) = (f(z) − f(z̄))/(z − z̄)

For ReLU, f(z)/z = 1[z > 0] = f′(z), so ε-LRP → gradient × input as ε → 0, biases or not. With no
biases and the baseline x̄ = 0, every z̄ is 0, so g^DL = f(z)/z and DeepLIFT-Rescale = ε-LRP
(ε → 0) = gradient × input. (Max pooling passes both through its winner, as the gradient does.)
With biases z̄ ≠ 0 and the identity fails; then, in the empirical comparison of §4, IG and
DeepLIFT-Rescale are still strongly correlated — DeepLIFT a one-pass approximation of IG.

Measured on the three bundled ReLU/max-pool nets (digits and faces LeNet, shapes VGG): the
relative difference max |a − b| / max |b| over correctly classified test images explained for
their label, to machine precision where the propositions give an identity, and the per-image
Pearson r of IG against DeepLIFT-Rescale.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from minicnn import nn

from .. import deeplift, gradient_x_input, integrated_gradients, lrp
from ..metrics import pearson_rows
from .page import Result
from .samples import BUNDLED_DATASETS, bundled_model, correct_test_images

__all__ = ["run", "without_biases", "relative_difference", "MACHINE_PRECISION", "STRONG_CORRELATION"]

EPSILONS = (1e-2, 1e-4, 1e-6, 1e-9, 0.0)  # ε of LRP-ε, towards Proposition 1's limit (0 is LRP-0)
MACHINE_PRECISION = 1e-12  # relative difference that counts as an identity in float64 (u = 1.1e-16)
DIFFERENT = 1e-3  # relative difference that shows an identity failing where its condition fails
STRONG_CORRELATION = 0.9  # our reading of "strongly correlated" (median per-image Pearson r)
IMAGES, QUICK_IMAGES = 32, 4
IG_STEPS = 100


def without_biases(model: nn.Module) -> nn.Module:
    """A copy of model with every bias set to 0 (Proposition 2's condition)."""
    stripped = copy.deepcopy(model)
    for name, parameter in stripped.named_parameters():
        if name.endswith("bias"):
            parameter.data = np.zeros_like(parameter.data)
    return stripped


def relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    """max |a − b| / max |b| over everything (one number for a batch of maps)."""
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


def _measure(model, x, y):
    """{quantity: value} for one model and its images."""
    grad_x_input = gradient_x_input(model, x, y)
    measured = {f"LRP-ε={eps:g} vs gradient × input": relative_difference(lrp(model, x, y, rule="epsilon", epsilon=eps),
                                                                       grad_x_input) for eps in EPSILONS}
    rescale = deeplift(model, x, y)
    measured["DeepLIFT-Rescale vs gradient × input, with biases"] = relative_difference(rescale, grad_x_input)
    bare = without_biases(model)
    bare_grad_x_input, bare_rescale = gradient_x_input(bare, x, y), deeplift(bare, x, y)
    measured["DeepLIFT-Rescale vs gradient × input, biases 0"] = relative_difference(bare_rescale, bare_grad_x_input)
    measured["DeepLIFT-Rescale vs LRP-0, biases 0"] = relative_difference(bare_rescale, lrp(bare, x, y, epsilon=0.0))
    r = pearson_rows(integrated_gradients(model, x, y, steps=IG_STEPS), rescale)
    measured["IG vs DeepLIFT-Rescale, median Pearson r"] = float(np.nanmedian(r))
    measured["IG vs DeepLIFT-Rescale, lowest Pearson r"] = float(np.nanmin(r))
    return measured, r


ROWS = (  # (quantity, condition, what Ancona et al. say: "identity", "differs" or "correlated")
    ("LRP-ε={eps:g} vs gradient × input", "ReLU net with biases, ε = {eps:g}", None),
    ("DeepLIFT-Rescale vs gradient × input, biases 0", "biases 0, baseline 0 (Prop. 2)", "identity"),
    ("DeepLIFT-Rescale vs LRP-0, biases 0", "biases 0, baseline 0 (Prop. 2)", "identity"),
    ("DeepLIFT-Rescale vs gradient × input, with biases", "biases kept: the condition fails", "differs"),
    ("IG vs DeepLIFT-Rescale, median Pearson r", f"biases kept, IG {IG_STEPS} steps (§4)", "correlated"),
    ("IG vs DeepLIFT-Rescale, lowest Pearson r", f"biases kept, IG {IG_STEPS} steps", None),
)


def _expected(quantity, eps=None):
    if eps is not None:
        return "identity" if eps == 0 else "→ 0 with ε"
    return next(claim for q, _, claim in ROWS if q == quantity)


def _holds(expected, value):
    return {"identity": value <= MACHINE_PRECISION, "differs": value > DIFFERENT,
            "correlated": value >= STRONG_CORRELATION}.get(expected)


def _table(measured):
    rows = []
    for dataset, values in measured.items():
        for quantity, condition, _ in ROWS:
            for eps in (EPSILONS if "{eps" in quantity else (None,)):
                name = quantity.format(eps=eps) if eps is not None else quantity
                expected = _expected(quantity, eps)
                holds = _holds(expected, values[name])
                rows.append({"model": dataset, "quantity": name, "condition": condition.format(eps=eps),
                             "paper": expected or "–", "measured": values[name],
                             "as the paper says": "–" if holds is None else holds})
    return rows


def _verdict(rows, measured):
    checked = [r for r in rows if r["as the paper says"] != "–"]
    failed = [f"{r['model']}: {r['quantity']} = {r['measured']:.3g}" for r in checked if not r["as the paper says"]]
    positive = [eps for eps in EPSILONS if eps > 0]
    gaps = np.array([[values[f"LRP-ε={eps:g} vs gradient × input"] for eps in positive] for values in measured.values()])
    steadily = "steadily " if np.all(np.diff(gaps, axis=1) < 0) else ""
    if not failed:
        return (f"Agrees: on {', '.join(measured)} LRP-0 and, with biases 0 and baseline 0, DeepLIFT-Rescale equal "
                f"gradient × input within {MACHINE_PRECISION:g}, LRP-ε's gap shrinks {steadily}as ε → 0 (at most "
                f"{gaps[:, -1].max():.2g} at ε = {positive[-1]:g}), the identity fails once biases are kept, and IG "
                f"and DeepLIFT-Rescale still correlate (median r ≥ {STRONG_CORRELATION}).")
    return "Disagrees where " + "; ".join(failed) + " (see the table)."


def _figure(correlations):
    figure = Figure(figsize=(4.8, 3.2), layout="constrained")
    axes = figure.subplots()
    axes.boxplot(list(correlations.values()), showfliers=True)
    axes.set_xticks(range(1, len(correlations) + 1), list(correlations))
    axes.axhline(STRONG_CORRELATION, color="k", ls="--", lw=0.8)
    axes.set(ylabel="per-image Pearson r", title=f"IG ({IG_STEPS} steps) vs DeepLIFT-Rescale (dashed: {STRONG_CORRELATION})")
    return figure


def run(quick: bool = False, seed: int = 0, **options: Any) -> Result:
    """Measure the identities and the correlation on the bundled nets; see the module docstring."""
    if options:
        raise TypeError(f"ancona-identities: unexpected options {', '.join(options)}")
    datasets = ("digits",) if quick else BUNDLED_DATASETS
    measured, correlations = {}, {}
    for dataset in datasets:
        model, data = bundled_model(dataset)
        x, y, _ = correct_test_images(model, data, QUICK_IMAGES if quick else IMAGES, seed)
        measured[dataset], correlations[dataset] = _measure(model, x, y)
    rows = _table(measured)
    numbers = {f"{dataset}: {quantity}": value for dataset, values in measured.items() for quantity, value in values.items()}
    details = (
        f"**Protocol.** {QUICK_IMAGES if quick else IMAGES} correctly classified test images per bundled net (seed "
        f"{seed}), each explained for its label; DeepLIFT and IG with the baseline 0; \"measured\" is max |a − b| / "
        "max |b| over all the images' maps (b the second method), or a Pearson r. An identity counts as holding "
        f"below {MACHINE_PRECISION:g} (float64 rounding is 1.1e-16, summed over a few thousand products per unit), a "
        f"failing one above {DIFFERENT:g}; \"strongly correlated\" is our reading, median r ≥ {STRONG_CORRELATION}. "
        "The biases are set to 0 on a copy of the trained net: the identity is about the computation, which need "
        "not classify well. The paper showed the identities on MNIST/CIFAR-10 MLPs and CNNs and ImageNet networks; "
        "these are the project's small nets.")
    return Result(name="ancona-identities", title="Ancona et al.: ε-LRP = gradient × input = DeepLIFT-Rescale",
                  claim="for ReLU networks ε-LRP equals gradient × input as ε → 0 (Prop. 1); with no biases and a zero "
                        "baseline DeepLIFT-Rescale equals ε-LRP (Prop. 2); IG and DeepLIFT-Rescale are strongly "
                        "correlated in practice",
                  source="Ancona, Ceolini, Öztireli & Gross 2018, *Towards better understanding of gradient-based "
                         "attribution methods for Deep Neural Networks*, §3 Prop. 1–2 and the empirical comparison of §4",
                  table=rows, verdict=_verdict(rows, measured), figure=_figure(correlations), numbers=numbers,
                  details=details)

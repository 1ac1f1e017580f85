"""`reproduce deeplift-digits`: erase the pixels that make an 8 an 8 rather than a 3 (DeepLIFT §4.1).

Shrikumar, Greenside & Kundaje 2017, "Learning Important Features Through Propagating Activation
Differences", §4.1 and Fig. 5. Given an image of class c_o and a target class c_t, each method's
scores S_i^c (for the pre-softmax logit of class c, reference x′ = 0) rank the pixels by

    S_i^diff = S_i^{c_o} − S_i^{c_t},

and up to 20 % of the pixels, those with S_i^diff > 0 in descending order of S_i^diff, are erased
(set to the reference value 0, the background). The score is the change of the log-odds of the
target against the original class,

    Δ = [z_t(x̃) − z_o(x̃)] − [z_t(x) − z_o(x)]         (log p_t/p_o = z_t − z_o under the softmax),

for x̃ the erased image: the larger Δ, the better the method found the pixels that tell c_o from c_t.
Pairs 8→3, 8→6, 9→1, 4→1; all test images of class c_o. The paper: RevealCancel gives the largest
increase, IG (5 or 10 midpoint intervals) about gradient × input, guided backprop and |gradient|
the smallest.

Methods as in Fig. 5: DeepLIFT RevealCancel and Rescale, IG with 5 and 10 intervals of the
midpoint rule, gradient × input, guided backprop × input, |gradient| (Simonyan et al.).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
from matplotlib.figure import Figure

import minicnn as mc
from minicnn import nn

from .. import deeplift, gradient_x_input, guided_backprop, integrated_gradients, saliency
from .page import Result
from .samples import bundled_model

__all__ = ["run", "erase_top", "log_odds_increase", "PAIRS", "ERASE_FRACTION"]

PAIRS = ((8, 3), (8, 6), (9, 1), (4, 1))
ERASE_FRACTION = 0.2  # the paper: 157 of MNIST's 784 pixels
REFERENCE = 0.0  # x′ and the value of an erased pixel: the black background
QUICK_IMAGES = 6  # per pair in --quick (the full run takes every test image of class c_o)

METHODS = {
    "DeepLIFT-RevealCancel": lambda m, x, t: deeplift(m, x, t, rule="reveal_cancel"),
    "DeepLIFT-Rescale": lambda m, x, t: deeplift(m, x, t, rule="rescale"),
    "IG, 10 intervals": lambda m, x, t: integrated_gradients(m, x, t, steps=10, method="riemann_middle"),
    "IG, 5 intervals": lambda m, x, t: integrated_gradients(m, x, t, steps=5, method="riemann_middle"),
    "gradient × input": gradient_x_input,
    "guided backprop × input": lambda m, x, t: guided_backprop(m, x, t) * x,
    "|gradient|": saliency,
}


def erase_top(x: np.ndarray, score_difference: np.ndarray, fraction: float = ERASE_FRACTION,
              value: float = REFERENCE) -> np.ndarray:
    """x with, per row, the pixels of largest positive score_difference set to `value`: at most
    round(fraction · pixels) of them, in descending order, only those with a difference > 0."""
    n = len(x)
    flat_x, flat_s = x.reshape(n, -1).copy(), score_difference.reshape(n, -1)
    budget = int(round(fraction * flat_x.shape[1]))
    order = np.argsort(-flat_s, axis=1, kind="stable")[:, :budget]
    chosen = np.take_along_axis(flat_s, order, axis=1) > 0
    rows = np.repeat(np.arange(n)[:, None], budget, axis=1)
    flat_x[rows[chosen], order[chosen]] = value
    return flat_x.reshape(x.shape)


def log_odds_increase(model: nn.Module, x: np.ndarray, erased: np.ndarray, original: int, target: int) -> np.ndarray:
    """Δ = [z_t − z_o](erased) − [z_t − z_o](x), per row."""
    with mc.no_grad():
        before, after = model(x).data, model(erased).data
    return (after[:, target] - after[:, original]) - (before[:, target] - before[:, original])


def _figure(increases):
    figure = Figure(figsize=(3.3 * len(increases), 3.9), layout="constrained")
    names = list(METHODS)
    for axes, ((o, t), by_method) in zip(figure.subplots(1, len(increases), squeeze=False)[0], increases.items()):
        axes.boxplot([by_method[name] for name in names], showfliers=False)
        axes.set_xticks(range(1, len(names) + 1), [n.replace(", ", "\n").replace(" × ", "×\n") for n in names],
                        rotation=90, fontsize=7)
        axes.set_title(f"{o} → {t}")
    figure.supylabel("increase in log-odds of target vs original")
    return figure


def _verdict(increases, erased, budget, ink, pixels):
    """From the per-image increases: RevealCancel against the best method of each pair, with the
    standard error of the paired difference, how many pixels each changed, and the images' mean
    number of non-zero pixels (`ink`)."""
    best = "DeepLIFT-RevealCancel"
    clear, close, filled = [], [], True
    for pair, by_method in increases.items():
        winner = max(by_method, key=lambda name: by_method[name].mean())
        if winner == best:
            continue
        difference = by_method[winner] - by_method[best]  # the same images: a paired difference
        error = difference.std(ddof=1) / np.sqrt(len(difference)) if len(difference) > 1 else np.inf
        text = f"{pair[0]}→{pair[1]} ({winner} ahead by {difference.mean():.2f} ± {error:.2f}"
        fewer = erased[pair][best] < erased[pair][winner] - 0.5
        text += f"; RevealCancel changed {erased[pair][best]:.1f} pixels against {erased[pair][winner]:.1f})" if fewer \
            else ")"
        is_clear = difference.mean() > 2 * error
        (clear if is_clear else close).append(text)
        filled &= not is_clear or min(erased[pair][best], erased[pair][winner]) >= budget
    pairs = len(increases)
    if not clear and not close:
        return f"Agrees: DeepLIFT-RevealCancel gives the largest mean increase in log-odds in all {pairs} pairs."
    if not clear:
        return (f"Agrees within noise: DeepLIFT-RevealCancel is best or within two standard errors of the best in "
                f"every pair ({'; '.join(close)}).")
    why = ""
    if filled:  # then the two rankings differ only in which pixels come first, not in how many are erased
        why = (f"; where it loses clearly, both methods erase the full {budget} pixels, as these digits have "
               f"{ink:.0f} non-zero pixels of {pixels} on average, so the budget rather than the sign of S_o − S_t "
               "ends the erasure and only the ranking differs")
    return (f"Disagrees in {len(clear)} of {pairs} pairs: another method erases clearly better pixels in "
            f"{'; '.join(clear)}" + (f", and is ahead within noise in {'; '.join(close)}" if close else "") + why + ".")


def _data_and_model(mnist, model_path, quick, seed):
    if mnist is None:
        if model_path is not None:
            from ..app.errors import UsageError

            raise UsageError("--model: applies with --mnist DIR (the bundled digits model is used otherwise)")
        model, data = bundled_model("digits")
        return model, data, "the bundled digits LeNet (scikit-learn digits at 16 × 16)"
    from .mnist import load_mnist, mnist_lenet

    data = load_mnist(mnist)
    model, how = mnist_lenet(data, model_path, quick=quick, seed=seed)
    return model, data, f"a LeNet on MNIST from {mnist} ({how})"


def run(quick: bool = False, seed: int = 0, mnist: Optional[str] = None, model: Optional[str] = None,
        **options: Any) -> Result:
    """The erasure experiment on the bundled digits model (or MNIST); see the module docstring.

    mnist -- a directory with MNIST's four IDX files (mnist.py); model -- LeNet weights for it"""
    if options:
        raise TypeError(f"deeplift-digits: unexpected options {', '.join(options)}")
    net, data, described = _data_and_model(mnist, model, quick, seed)
    rng = np.random.default_rng(seed)
    increases: dict[tuple[int, int], dict[str, np.ndarray]] = {}
    erased: dict[tuple[int, int], dict[str, float]] = {}
    table: list[dict[str, Any]] = []
    numbers: dict[str, Any] = {}
    pixels = int(np.prod(data.input_shape[1:]))
    for original, target in PAIRS:
        x = data.x_test[data.y_test == original]
        if quick:
            x = x[np.sort(rng.permutation(len(x))[:QUICK_IMAGES])]
        pair = (original, target)
        increases[pair], erased[pair] = {}, {}
        for name, method in METHODS.items():
            difference = method(net, x, original) - method(net, x, target)
            changed = erase_top(x, difference)
            increases[pair][name] = log_odds_increase(net, x, changed, original, target)
            erased[pair][name] = float((changed != x).reshape(len(x), -1).sum(axis=1).mean())
        for name in METHODS:
            numbers[f"{original}→{target} {name}"] = float(increases[pair][name].mean())
            numbers[f"{original}→{target} {name}: pixels changed"] = erased[pair][name]
        table.append({"pair": f"{original} → {target}", "images": len(x), "mean of": "Δ log-odds",
                      **{name: numbers[f"{original}→{target} {name}"] for name in METHODS}})
        table.append({"pair": f"{original} → {target}", "images": len(x), "mean of": "pixels changed",
                      **erased[pair]})
    for name in METHODS:
        numbers[f"mean over pairs {name}"] = float(np.mean([numbers[f"{o}→{t} {name}"] for o, t in PAIRS]))
    images = sum(len(next(iter(by.values()))) for by in increases.values())
    table.append({"pair": "mean over pairs", "images": images, "mean of": "Δ log-odds",
                  **{name: numbers[f"mean over pairs {name}"] for name in METHODS}})
    budget = int(round(ERASE_FRACTION * pixels))
    originals = np.concatenate([data.x_test[data.y_test == o] for o in sorted({o for o, _ in PAIRS})])
    ink = float((originals != REFERENCE).reshape(len(originals), -1).sum(axis=1).mean())
    numbers["mean non-zero pixels of the original-class images"] = ink
    numbers["pairs where RevealCancel is best"] = sum(
        max(by, key=lambda name: by[name].mean()) == "DeepLIFT-RevealCancel" for by in increases.values())
    sample = f" (at most {QUICK_IMAGES}, seeded)" if quick else ""
    elsewhere = "" if mnist else (" The paper's CNN was trained on MNIST's 28 × 28 images (157 erased pixels); pass "
                                  "`--mnist DIR` (and `--model PATH`) to run on MNIST.")
    details = (
        f"**Protocol.** {described}; every test image of the original class{sample}; scores for the pre-softmax "
        f"logits with reference x′ = 0 (black); at most {ERASE_FRACTION:.0%} of the {pixels} pixels ({budget}) with "
        f"S_o − S_t > 0 erased to 0, largest first; the images of the original classes have {ink:.0f} non-zero "
        "pixels on average. The cells are the mean increase Δ of the log-odds z_t − z_o over the images (larger is "
        "better) and the mean number of pixels changed (erased pixels that were not 0 already; fewer also when "
        "fewer pixels have S_o − S_t > 0); the figure shows the spread of Δ as in the paper's Fig. 5. Guided "
        "backprop is ranked times the input, as in Fig. 5, because erasing a pixel that is already 0 changes "
        "nothing. DeepLIFT-RevealCancel applies its rule at every ReLU of the net." + elsewhere)
    return Result(name="deeplift-digits", title="DeepLIFT on digits: erasing the pixels that tell two digits apart",
                  claim="erasing the pixels ranked by S_o − S_t turns a digit towards the target class most for "
                        "DeepLIFT-RevealCancel, ahead of Rescale, IG, gradient × input, guided backprop and |gradient|",
                  source="Shrikumar, Greenside & Kundaje 2017, *Learning Important Features Through Propagating "
                         "Activation Differences*, §4.1 and Fig. 5",
                  table=table, verdict=_verdict(increases, erased, budget, ink, pixels), figure=_figure(increases),
                  numbers=numbers, details=details)

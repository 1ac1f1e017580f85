"""`reproduce sanity-checks`: Adebayo, Gilmer, Muelly, Goodfellow, Hardt & Kim, "Sanity Checks for
Saliency Maps", NeurIPS 2018, on the bundled models (digits LeNet 16×16, shapes VGG-small 32×32).

An explanation of what a model learnt must change when what it learnt is destroyed. For N test
images x_n (explained for their label) and each method E, with a = E(f, x) the map of the trained
model f and a′ = E(f′, x) that of a damaged model f′:

    cascading      f′ = f with its K parameter layers re-initialised from the top, L_1 … L_k
    independent    f′ = f with only layer L_k re-initialised (the same new values as above)
    data           f′ = the same architecture trained with the same recipe and seed on the
                   training labels permuted at random (it can only memorise)

and the similarity s(a, a′) by the four measures of `attributions.metrics.similarity`
(Spearman ρ of |a| and of a, SSIM, HOG correlation).

**When does a map "stay similar"?** s_rand = s(a, π(a)), the similarity of a map with its own
pixels shuffled (the same values, no spatial structure), is what an unrelated map of the same
values scores. A map counts as changed when s(a, a′) < (1 + s_rand) / 2, half-way from that
baseline to identity, or when a′ became all zero (Grad-CAM's ReLU can cut the whole map); a
method *passes* when more than half of the images' maps changed with all layers random.

The paper's claim: the gradient and Grad-CAM change (pass); guided backprop and Guided Grad-CAM
stay similar (fail). `compare` says that Guided Grad-CAM passes on the shapes model; the table
separates the possible reasons: the measure (signed or |a|, SSIM, HOG), the model (16×16 vs
32×32), the order (from the top, or one layer alone) and the method (guided backprop alone, its
product with Grad-CAM, Grad-CAM alone).
"""

from __future__ import annotations

import dataclasses
import shlex
from typing import Any
from functools import partial

import numpy as np

import attributions as A
import minicnn as mc
from minicnn.models import BUNDLED, build, load_pretrained
from minicnn.train import evaluate, train

from ..app.registry import IG_STEPS, get
from ..app.statistics import mean_and_error
from ..metrics import SIMILARITIES, map_similarity, parameter_layers, pixel_map, randomised_maps
from .page import Result

__all__ = ["run", "METHODS", "EXPECTED", "changed_share", "shuffled"]

# name → label; every method is called as explain(model, x, target)
METHODS = {
    "gradient": "Gradient",
    "gradient_x_input": "Gradient × input",
    "integrated_gradients": "Integrated Gradients",
    "smoothgrad": "SmoothGrad",
    "vargrad": "VarGrad",
    "guided_backprop": "Guided backprop",
    "grad_cam": "Grad-CAM",
    "guided_grad_cam": "Guided Grad-CAM",
}
QUICK_METHODS = ("gradient", "guided_backprop", "grad_cam", "guided_grad_cam")
# the paper's verdict for the methods the issue names: True = the map changes (passes)
EXPECTED = {"gradient": True, "grad_cam": True, "guided_backprop": False, "guided_grad_cam": False}
# a 2-core budget: the random-label model sees at most this many training images (shapes has 4000)
RANDOM_LABEL_IMAGES = 1000
MEASURE_LABELS = {"spearman_abs": "ρ |a|", "spearman": "ρ signed", "ssim": "SSIM", "hog": "HOG r"}


def _explainers(quick):
    """name → explain(model, x, target); fewer IG steps and noise samples with --quick."""
    samples = 8 if quick else 50
    steps = 16 if quick else IG_STEPS
    noise = partial(A.noise_tunnel, "saliency", samples=samples, stdev=0.15)
    return {
        "gradient": A.input_gradient,  # the raw, signed gradient, as in the paper
        "gradient_x_input": get("gradient_x_input"),
        "integrated_gradients": lambda model, x, target: get("integrated_gradients")(model, x, target, steps=steps),
        "smoothgrad": partial(noise, mode="smoothgrad"),
        "vargrad": partial(noise, mode="vargrad"),
        "guided_backprop": A.guided_backprop,
        "grad_cam": get("grad_cam"),
        "guided_grad_cam": get("guided_grad_cam"),
    }


def shuffled(maps: np.ndarray, seed: int = 0) -> np.ndarray:
    """Each (H, W) map with its pixels in a seeded random order: the same values, no structure."""
    rng = np.random.default_rng(seed)
    flat = maps.reshape(len(maps), -1)
    return np.stack([row[rng.permutation(len(row))] for row in flat]).reshape(maps.shape)


def changed_share(similarity: np.ndarray, bound: float, new_maps: np.ndarray, original: np.ndarray) -> float:
    """Share of the images whose map changed: s < bound, or the new map is all zero; images
    whose original map is all zero have nothing to compare and are left out."""
    zero = lambda m: ~np.abs(m.reshape(len(m), -1)).any(axis=1)  # noqa: E731
    defined = ~zero(original)
    changed = (np.nan_to_num(similarity, nan=np.inf) < bound) | zero(new_maps)
    return float(changed[defined].mean()) if defined.any() else float("nan")


def _recipe(dataset):
    """(epochs, lr) of the command that trained the bundled model (`minicnn.models.BUNDLED`)."""
    words = shlex.split(BUNDLED[dataset][2])
    option = lambda name, default: type(default)(words[words.index(name) + 1]) if name in words else default  # noqa: E731
    return option("--epochs", 10), option("--lr", 1e-3)


def _random_label_model(dataset, data, seed, epochs):
    """The bundled architecture trained with its recipe and seed on the first
    `RANDOM_LABEL_IMAGES` training images with their labels permuted."""
    arch = BUNDLED[dataset][0]
    recipe_epochs, lr = _recipe(dataset)
    kept = slice(0, RANDOM_LABEL_IMAGES)
    permuted = np.random.default_rng(seed).permutation(data.y_train[kept])
    noisy = dataclasses.replace(data, x_train=data.x_train[kept], y_train=permuted, masks_train=None, masks_test=None)
    mc.nn.init.manual_seed(seed)
    model = build(arch, data.input_shape, data.n_classes)
    history = train(model, noisy, epochs or recipe_epochs, lr, seed=seed, progress=False)
    return model.eval(), history[-1]["train_accuracy"], evaluate(model, data.x_test, data.y_test)


def _measure(maps_a, maps_b):
    return {m: map_similarity(maps_a, maps_b, m) for m in SIMILARITIES}


def _one_dataset(dataset, names, explainers, n, seed, epochs):
    """numbers, per-layer curves and data-randomisation facts for one dataset."""
    model, data = load_pretrained(dataset)
    x, y = data.x_test[:n], data.y_test[:n]
    random_model, memorised, chance_accuracy = _random_label_model(dataset, data, seed, epochs)
    numbers = {f"{dataset}.random_labels.train_accuracy": memorised,
               f"{dataset}.random_labels.test_accuracy": chance_accuracy,
               f"{dataset}.trained.test_accuracy": evaluate(model, data.x_test, data.y_test)}
    curves = {}
    shape = x.shape
    # the cascade step at which every dense (Linear) layer, the whole classifier, is random
    dense = next(k for k, (_, m) in enumerate(parameter_layers(model)) if not isinstance(m, mc.nn.Linear))
    for name in names:
        explain = explainers[name]
        cascade = randomised_maps(model, x, y, explain, seed=seed)
        single = randomised_maps(model, x, y, explain, seed=seed, cascading=False)
        relabelled = pixel_map(explain(random_model, x, y), shape)
        original = cascade.original
        baseline = _measure(original, shuffled(original, seed))
        curves[name] = {"layers": cascade.layers, "cascading": {}, "independent": {}}
        for measure in SIMILARITIES:
            key = f"{dataset}.{name}.{measure}"
            cascading = [map_similarity(original, m, measure) for m in cascade.maps]
            independent = [map_similarity(original, m, measure) for m in single.maps]
            curves[name]["cascading"][measure] = [mean_and_error(s)[0] for s in cascading]
            curves[name]["independent"][measure] = [mean_and_error(s)[0] for s in independent]
            bound = (1 + mean_and_error(baseline[measure])[0]) / 2
            data_similarity = map_similarity(original, relabelled, measure)
            numbers.update({
                f"{key}.unchanged": mean_and_error(cascading[0])[0],
                f"{key}.top_layer": mean_and_error(cascading[1])[0],
                f"{key}.all_layers": mean_and_error(cascading[-1])[0],
                f"{key}.dense_layers": mean_and_error(cascading[dense])[0],
                f"{key}.all_layers_defined": mean_and_error(cascading[-1])[2] / len(x),
                f"{key}.bottom_layer_only": mean_and_error(independent[-1])[0],
                f"{key}.top_layer_only": mean_and_error(independent[1])[0],
                f"{key}.random_labels": mean_and_error(data_similarity)[0],
                f"{key}.shuffled": mean_and_error(baseline[measure])[0],
                f"{key}.bound": bound,
                f"{key}.changed_all_layers": changed_share(cascading[-1], bound, cascade.maps[-1], original),
                f"{key}.changed_random_labels": changed_share(data_similarity, bound, relabelled, original),
            })
    return numbers, curves


def _passes(numbers, dataset, name, measure="spearman_abs"):
    return numbers[f"{dataset}.{name}.{measure}.changed_all_layers"] > 0.5


def _table(numbers, datasets, names):
    rows = []
    for dataset in datasets:
        for name in names:
            key = f"{dataset}.{name}"
            expected = EXPECTED.get(name)
            rows.append({
                "dataset": dataset, "method": METHODS[name],
                "ρ |a| top layer": numbers[f"{key}.spearman_abs.top_layer"],
                "ρ |a| classifier": numbers[f"{key}.spearman_abs.dense_layers"],
                "ρ |a| all layers": numbers[f"{key}.spearman_abs.all_layers"],
                "ρ signed all": numbers[f"{key}.spearman.all_layers"],
                "SSIM all": numbers[f"{key}.ssim.all_layers"],
                "HOG r all": numbers[f"{key}.hog.all_layers"],
                "ρ |a| bottom layer only": numbers[f"{key}.spearman_abs.bottom_layer_only"],
                "ρ |a| random labels": numbers[f"{key}.spearman_abs.random_labels"],
                "bound ρ |a|": numbers[f"{key}.spearman_abs.bound"],
                "share changed, all layers": numbers[f"{key}.spearman_abs.changed_all_layers"],
                "share changed, random labels": numbers[f"{key}.spearman_abs.changed_random_labels"],
                "paper": "—" if expected is None else ("changes" if expected else "stays similar"),
            })
    return rows


def _verdict(numbers, datasets, names):
    """One sentence from the numbers: which of the paper's four verdicts hold, and where guided
    backprop's similarity goes (the reason the answer depends on how far the randomisation goes)."""
    checked = [n for n in EXPECTED if n in names]
    parts = []
    for d in datasets:
        wrong = [METHODS[n] for n in checked if _passes(numbers, d, n) != EXPECTED[n]]
        parts.append(f"{len(checked) - len(wrong)} hold on {d}" + (f" (not {', '.join(wrong)})" if wrong else ""))
    gb = lambda what: " / ".join(f"{numbers[f'{d}.guided_backprop.spearman_abs.{what}']:.2f}" for d in datasets)  # noqa: E731
    return (f"Of the paper's {len(checked)} verdicts (ρ |a| with all layers re-initialised), {' and '.join(parts)}: "
            f"guided backprop keeps ρ |a| = {gb('dense_layers')} ({' / '.join(datasets)}) with the whole classifier "
            f"random but falls to {gb('all_layers')} with every layer random, so it ignores the classifier and follows "
            "the convolution filters, which these small nets re-initialise within 2–4 layers.")


def _details(numbers, datasets, n, epochs):
    lines = [
        f"**Protocol.** The bundled models (digits: LeNet on 16×16, shapes: VGG-small on 32×32), the first {n} test "
        "images, each explained for its label. Cascading: the parameter layers re-initialised from the output down "
        "with each layer's own initialiser (seeded); \"classifier\" = every dense layer random, \"all layers\" = "
        "every layer; \"bottom layer only\" = only the first convolution random (independent randomisation; the "
        "figure's dotted lines show every layer alone). Random labels: the same architecture trained with the bundled "
        f"recipe{'' if epochs is None else f' for {epochs} epochs'} and seed on the first {RANDOM_LABEL_IMAGES} "
        "training images with their labels permuted "
        + ", ".join(f"(train accuracy {numbers[f'{x}.random_labels.train_accuracy']:.2f}, test "
                    f"{numbers[f'{x}.random_labels.test_accuracy']:.2f} on {x})" for x in datasets)
        + ". Bound: a map counts as changed when ρ |a| < (1 + ρ_shuffled)/2, ρ_shuffled being the map against its own "
          "pixels shuffled; an all-zero map (Grad-CAM's ReLU) counts as changed; a method changes when more than half "
          "of its maps do. SSIM and HOG: `attributions.metrics.similarity` (scikit-image).",
        "",
        _diagnosis(numbers, datasets[0]),
    ]
    return "\n".join(lines)


def _diagnosis(numbers, d):
    """The paragraph on why `compare` found Guided Grad-CAM passing: measure, order, method."""
    value = lambda name, what, measure="spearman_abs": numbers[f"{d}.{name}.{measure}.{what}"]  # noqa: E731
    below = {m: value("guided_backprop", "all_layers", m) < value("guided_backprop", "bound", m) for m in SIMILARITIES}
    measures = ", ".join(f"{MEASURE_LABELS[m]} {value('guided_backprop', 'all_layers', m):.2f} (bound "
                         f"{value('guided_backprop', 'bound', m):.2f})" for m in SIMILARITIES)
    if all(below.values()) or not any(below.values()):
        measure = (f"The measure is not the reason: with all layers random guided backprop's {measures} all say it "
                   f"{'changed' if all(below.values()) else 'stayed similar'}.")
    else:
        measure = (f"The measure matters: with all layers random guided backprop's {measures} disagree on whether it "
                   "changed.")
    dense_kept = value("guided_backprop", "dense_layers") >= value("guided_backprop", "bound")
    order = (f"The order does: with the whole classifier random guided backprop keeps ρ |a| = "
             f"{value('guided_backprop', 'dense_layers'):.2f} (top layer alone {value('guided_backprop', 'top_layer'):.2f}), "
             f"above its bound, and moves when the convolutions are re-initialised (the first one alone: "
             f"{value('guided_backprop', 'bottom_layer_only'):.2f}). Adebayo et al.'s Inception v3 has dozens of "
             "convolutions above its first ones, our nets 2 (LeNet) and 4 (VGG-small), so \"all layers random\" reaches "
             "the low filters that guided backprop follows almost at once." if dense_kept else
             f"The order does not explain it: already with the classifier random guided backprop's ρ |a| is "
             f"{value('guided_backprop', 'dense_layers'):.2f}, below its bound.")
    cam_changed = value("grad_cam", "dense_layers") < value("grad_cam", "bound")
    method = (f"The method: Guided Grad-CAM is guided backprop times the Grad-CAM map (ρ |a| "
              f"{value('guided_grad_cam', 'dense_layers'):.2f} with the classifier random, "
              f"{value('guided_grad_cam', 'all_layers'):.2f} with all layers; share of maps changed "
              f"{value('guided_grad_cam', 'changed_all_layers'):.0%}), and Grad-CAM "
              + (f"changes as soon as the classifier does ({value('grad_cam', 'dense_layers'):.2f})" if cam_changed else
                 f"still has ρ |a| = {value('grad_cam', 'dense_layers'):.2f} with the classifier random")
              + f"; with all layers random {1 - value('grad_cam', 'all_layers_defined'):.0%} of the Grad-CAM maps are all "
              "zero, which `compare` leaves out of its mean but this page counts as changed.")
    return f"**Why `compare` said Guided Grad-CAM passes** ({d}). {measure} {order} {method}"


def _figure(curves, datasets):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.2 * len(SIMILARITIES), 3.0 * len(datasets)))
    axes = fig.subplots(len(datasets), len(SIMILARITIES), squeeze=False)
    colours = dict(zip(METHODS, [f"C{i}" for i in range(len(METHODS))]))
    for row, dataset in zip(axes, datasets):
        for ax, measure in zip(row, SIMILARITIES):
            for name, curve in curves[dataset].items():
                steps = range(len(curve["layers"]))
                ax.plot(steps, curve["cascading"][measure], marker="o", markersize=3, color=colours[name], label=METHODS[name])
                ax.plot(steps, curve["independent"][measure], linestyle=":", color=colours[name])
            layers = next(iter(curves[dataset].values()))["layers"]
            ax.set_xticks(range(len(layers)))
            ax.set_xticklabels(["trained"] + layers[1:], rotation=40, ha="right", fontsize=6)
            ax.axhline(0, color="grey", linewidth=0.5)
            ax.set_title(f"{dataset}: {MEASURE_LABELS[measure]}", fontsize=8)
    axes[0, 0].legend(fontsize=6)
    fig.suptitle("Model-parameter randomisation: solid = cascading from the top (layers up to the tick random), "
                 "dotted = only the tick's layer random", fontsize=8)
    fig.tight_layout()
    return fig


def run(quick: bool = False, seed: int = 0, n: int | None = None, epochs: int | None = None, **options: Any) -> Result:
    """The sanity checks on the bundled models; `quick`: digits only, 8 images, 4 methods, 10 epochs.

    n      -- test images explained (default 16; 8 with quick)
    epochs -- of the random-label training (default: the bundled model's recipe; 10 with quick)
    """
    if options:
        raise TypeError(f"sanity-checks: unexpected options {sorted(options)}; expected quick, seed, n, epochs")
    datasets = ("digits",) if quick else ("shapes", "digits")
    names = QUICK_METHODS if quick else tuple(METHODS)
    n = n or (8 if quick else 16)
    epochs = epochs or (10 if quick else None)
    explainers = _explainers(quick)
    numbers, curves = {}, {}
    for dataset in datasets:
        found, curves[dataset] = _one_dataset(dataset, names, explainers, n, seed, epochs)
        numbers.update(found)
    return Result(
        name="sanity-checks",
        title="Sanity checks for saliency maps: model and data randomisation",
        claim="Randomising a trained model's weights (cascading from the top) or training it on random labels changes "
              "the gradient and Grad-CAM maps, but guided backprop and Guided Grad-CAM stay visually similar: they "
              "fail the check.",
        source="Adebayo, Gilmer, Muelly, Goodfellow, Hardt & Kim, Sanity Checks for Saliency Maps, NeurIPS 2018",
        table=_table(numbers, datasets, names),
        verdict=_verdict(numbers, datasets, names),
        figure=_figure(curves, datasets),
        numbers=numbers,
        details=_details(numbers, datasets, n, epochs),
    )

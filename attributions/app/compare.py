"""`python -m attributions compare`: every method, every metric, one table and its figures.

    python -m attributions compare --dataset shapes --n 100 --out compare-shapes --seed 0 [--save]

runs every method of the registry (the poster's seven and those beyond it) and two controls
(random, centre Gaussian) on the bundled model and a seeded sample of test images (each explained
for its true label), then writes

    compare.md           methods × metrics, mean ± standard error over the images, the poster's
                         claims checked, and why the numbers say what they say
    deletion.png         mean deletion curve per method      insertion.png   the same, insertion
    ig_convergence.png   IG completeness error against steps, one line per quadrature rule
    deeplift_vs_ig.png   DeepLIFT against IG, pixel by pixel, with the correlation
    randomisation.png    Spearman ρ per cumulatively randomised layer (Adebayo et al. 2018)
    attributions.npz     with --save: the sample, its labels and logits, x′ = 0, one array per method
    maps.png             every method's map for the first images next to their ground-truth masks
                         (datasets with masks)

The report ends by checking, with stated thresholds, the claims of the poster "Backpropagation-based
visualization methods for explaining CNNs" (Christian Ickler, Friedrich Schiller University Jena,
AI Summer School 2023). Localisation metrics only when the dataset has ground-truth masks (shapes,
or an image folder with `<name>.mask.png` files); otherwise a note says they were skipped.
`--model W.npz --arch A` runs on your weights, `--data DIR` on your own images (user_data.py). The
expensive checks (model randomisation, max-sensitivity, class discrimination) run on the first
`--sanity-n` images of the sample; the cheaper ones on all `--n`. With the defaults a shapes run of
the 26 methods and controls took 854 s on 2 shared cores (2026-12-02).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

import minicnn as mc
from minicnn import nn
from minicnn.data import Dataset

from .. import metrics as M
from ..baselines import blurred_baseline
from ..completeness import completeness_delta
from ..gradcam import grad_cam_maps, guided_backprop
from ..inputs import forward_scores
from ..integrated_gradients import METHODS as QUADRATURE_RULES
from ..integrated_gradients import integrated_gradients
from . import plots
from .arguments import fraction, int_at_least, positive_int
from .outputs import output_directory, results_arrays, save_arrays, save_figure, write_text
from .registry import METHODS, get
from .statistics import mean_and_error

__all__ = ["CompareResults", "DEFAULT_DATASET", "DESCRIPTION", "add_arguments", "check_args", "output_path", "compute", "render", "run"]

DESCRIPTION = (
    "Compare every attribution method (saliency, gradient × input, Integrated Gradients, DeepLIFT-Rescale and "
    "RevealCancel, Grad-CAM, Guided Grad-CAM, the methods beyond the poster, and two controls) on a bundled model "
    "or your own (--model W.npz --arch A; --data DIR for an ImageFolder of images) and a seeded sample of its "
    "test images, each explained for its true label, with every metric: faithfulness (deletion, insertion, "
    "faithfulness correlation, sensitivity-n), localisation against the ground-truth masks (shapes, or a folder "
    "with DIR/<class>/<name>.mask.png), the model-randomisation sanity check, robustness, complexity and cost. "
    "Writes compare.md (methods "
    "× metrics, mean ± standard error, and whether the poster's claims hold), its figures (deletion and insertion "
    "curves, IG convergence, DeepLIFT against IG, randomisation, and each method's maps beside the masks) into "
    "--out (default: compare-<dataset>). A shapes run with the defaults took 854 s on 2 shared cores."
)

DEFAULT_DATASET = "shapes"  # the bundled dataset with ground-truth masks

BLUR_SIGMA = 3.0  # pixels; the canvas of insertion
FIGURE_IMAGES = 4  # rows of maps.png
BATCH = 25  # images per attribution call when timing (IG: 50 interpolated rows per image on top)
AGREEMENT = ("deeplift_rescale", "deeplift_reveal_cancel", "gradient_x_input", "saliency")  # compared with IG
COMPLETE = ("integrated_gradients", "deeplift_rescale", "deeplift_reveal_cancel", "gradient_x_input")


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the compare options to an argparse (sub)parser."""
    parser.add_argument("--dataset", choices=("shapes", "digits", "faces"),
                        help=f"bundled model and its test set (default: {DEFAULT_DATASET}, the one with masks)")
    parser.add_argument("--n", type=positive_int, default=100, help="number of test images (default 100)")
    parser.add_argument("--out", metavar="DIR", default=None, help="output directory (default: compare-<dataset>)")
    parser.add_argument("--seed", type=int_at_least(0), default=0, help="seed of the sample and of every metric (default 0)")
    parser.add_argument("--sanity-n", type=positive_int, default=16,
                        help="images for randomisation, robustness and class discrimination (default 16)")
    parser.add_argument("--fraction", type=fraction, default=0.0625,
                        help="share of pixels per deletion/insertion step, in (0, 1] (default 1/16: 17 points)")
    parser.add_argument("--subsets", type=int_at_least(2), default=16,
                        help="random subsets per image for faithfulness correlation and sensitivity-n (default 16)")
    parser.add_argument("--save", action="store_true",
                        help="also write attributions.npz into --out: the sample x, its labels (the targets), logits, "
                             "the baseline x′ = 0 and one attribution array per method (np.load(path, allow_pickle=False))")
    return parser


def output_path(args: argparse.Namespace) -> str:
    """The output directory of a compare run: --out, or compare-<dataset>."""
    return args.out or f"compare-{args.dataset}"


# ---- statistics and formatting ------------------------------------------------------------------
def _cell(values, total, digits=3):
    mean, se, count = mean_and_error(values)
    if count == 0:
        return "–"
    text = f"{mean:.{digits}f} ± {se:.{digits}f}" if np.isfinite(se) else f"{mean:.{digits}f}"
    return text if count == total else f"{text} ({count}/{total})"


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# ---- the run: compute → CompareResults → render ----------------------------------------------------
def check_args(args: argparse.Namespace, n_test: int) -> Optional[str]:
    """The problem with the options that depends on the data, as one line naming the option, or
    None (each option's own range is checked while parsing, by its type)."""
    if args.n > n_test:
        return f"--n: expected at most the {n_test} {args.dataset} test images, got {args.n}"
    return None


@dataclass
class CompareResults:
    """Everything `render` writes, keyed by registry name (`results[name][column]`: per-image values)."""

    settings: dict
    results: dict
    curves: dict         # name → (deletion, insertion) PerturbationCurve
    attributions: dict   # name → (n, C, H, W) or (n, H, W)
    why: dict            # the measurements behind "Why the numbers say this" (see `_why`)
    randomisation: dict  # name → RandomisationResult
    agreement: dict      # name → (Pearson, Spearman) per image, against IG
    completeness: dict   # name → |Σ a − (t(x) − t(0))| per image
    convergence: dict    # {"steps": [...], "errors": {quadrature rule: [...]}}
    images: Optional[np.ndarray] = None  # the first FIGURE_IMAGES images and masks, for maps.png
    masks: Optional[np.ndarray] = None


def compute(model: nn.Module, data: Dataset, dataset: str, n: int = 100, seed: int = 0, sanity_n: int = 16,
            fraction: float = 0.0625, subsets: int = 16,
            progress: Optional[Callable[[str], None]] = None, model_label: str = "bundled") -> CompareResults:
    """Run every registered method and metric on a seeded sample of n test images (each explained
    for its true label); the expensive checks on the first `sanity_n`. Returns CompareResults.

    progress -- optional callable(description) called before each stage (a progress bar)
    model_label -- the model's weights as the report names them: "bundled" or the user's file
    """
    step = progress or (lambda description: None)
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    index = np.sort(rng.choice(len(data.x_test), size=n, replace=False))
    x, y = data.x_test[index].astype(np.float64), data.y_test[index].astype(np.int64)
    masks = None if data.masks_test is None else data.masks_test[index]
    k = min(sanity_n, n)
    runner_up = M.runner_up(model, x[:k], y[:k])  # the contrast class of class discrimination
    with mc.no_grad():
        accuracy = float((model(mc.Tensor(x)).data.argmax(axis=1) == y).mean())

    # Subset drops depend on the model only: computed once, shared by every method.
    step("subset drops")
    shape = x.shape[2:]
    n_pixels = int(np.prod(shape))
    sens_n = max(1, n_pixels // 32)
    faith_subsets = M.random_subsets(len(x), shape, 0.1, subsets, seed=seed)
    faith_drops = M.subset_drops(model, x, y, faith_subsets, baseline=0.0)
    step("subset drops")
    sens_subsets = M.random_subsets(len(x), shape, sens_n, subsets, seed=seed + 1)
    sens_drops = M.subset_drops(model, x, y, sens_subsets, baseline=0.0)

    # Deleted pixels are inpainted from their neighbours: set to 0 (or blurred), even a random 6 % of
    # the pixels makes the model give up, and deleting an object leaves its outline, which on shapes
    # still tells the class (measured: `_why`).
    results: dict[str, dict] = {}
    curves: dict[str, tuple] = {}
    attributions: dict[str, np.ndarray] = {}
    randomisation: dict[str, M.RandomisationResult] = {}
    for name, explain in METHODS.items():
        label = explain.label
        r = results[name] = {}
        step(f"{label}: attribute")
        a = np.concatenate([np.asarray(explain(model, x[i:i + BATCH], y[i:i + BATCH]), dtype=np.float64)
                            for i in range(0, len(x), BATCH)])
        # Timed separately on the first k images, shortest of 3 runs: the machine may be shared.
        _, cost = M.measure_cost(model, x[:k], y[:k], explain, batch_size=BATCH, repeats=3)
        attributions[name] = a
        r["ms / image"] = np.full(k, 1000 * cost.seconds_per_image)
        r["forward / image"] = np.full(k, cost.forward_per_image)
        r["backward / image"] = np.full(k, cost.backward_per_image)
        r["sparseness"], r["entropy"] = M.sparseness(a), M.entropy(a)
        if masks is not None:
            r["pointing"] = M.pointing_game(a, masks, seed=seed)
            r["mass acc."] = M.relevance_mass_accuracy(a, masks)
            r["rank acc."] = M.relevance_rank_accuracy(a, masks, seed=seed)
            r["mask pixels < 0"] = _negative_share(a, masks)
        step(f"{label}: deletion")
        magnitude = np.abs(M.pixel_map(a, x.shape))
        deletion = M.deletion(model, x, y, a, fraction=fraction, baseline="inpaint", seed=seed)
        r["deletion AUC"] = deletion.auc
        r["deletion AUC by |a|"] = M.deletion(model, x, y, magnitude, fraction=fraction, baseline="inpaint", seed=seed).auc
        step(f"{label}: insertion")
        insertion = M.insertion(model, x, y, a, fraction=fraction, blur_sigma=BLUR_SIGMA, seed=seed)
        r["insertion AUC"] = insertion.auc
        r["insertion AUC by |a|"] = M.insertion(model, x, y, magnitude, fraction=fraction, blur_sigma=BLUR_SIGMA,
                                                seed=seed).auc
        curves[name] = (deletion, insertion)
        step(f"{label}: correlations")
        r["faithfulness corr."] = M.subset_correlation(a, faith_subsets, faith_drops)
        r["sensitivity-n"] = M.subset_correlation(a, sens_subsets, sens_drops)
        step(f"{label}: sanity checks")
        rand = M.model_randomisation(model, x[:k], y[:k], explain, seed=seed)
        randomisation[name] = rand
        r["ρ top layer random"] = rand.spearman[1]
        r["ρ all layers random"] = rand.spearman[-1]
        r["ρ mean over the cascade"] = _mean_over_layers(rand.spearman[1:])
        # the same method for the runner-up class (metrics/discrimination.py: one definition for demo and compare)
        theirs = np.asarray(explain(model, x[:k], runner_up), dtype=np.float64)
        r["class discrimination"] = M.class_discrimination_of_maps(a[:k], theirs, x[:k].shape)
        r["runner-up map constant"] = M.constant_maps(theirs, x[:k].shape).astype(np.float64)
        r["max-sensitivity"] = M.max_sensitivity(model, x[:k], y[:k], explain, radius=0.02, n_samples=3, seed=seed)

    step("IG convergence")
    convergence = _ig_convergence(model, x[: min(k, 4)], y[: min(k, 4)])
    step("why the numbers say this")
    why = _why(model, x, y, masks, k, fraction, seed, results)
    settings = dict(dataset=dataset, model=model_label, n=n, k=k, seed=seed, index=index, accuracy=accuracy, elapsed=time.perf_counter() - started,
                    fraction=fraction, subsets=subsets, sens_n=sens_n, n_pixels=n_pixels,
                    masks=masks is not None, mask_share=None if masks is None else float(masks.mean()),
                    layers=next(iter(randomisation.values())).layers)
    shown = slice(0, min(FIGURE_IMAGES, n))
    return CompareResults(settings, results, curves, attributions, why, randomisation, _agreement(attributions),
                          _completeness(model, x, y, attributions), convergence, x[shown],
                          None if masks is None else masks[shown])


def render(results: CompareResults, out: str) -> list[str]:
    """Write compare.md and the figures of `results` into the existing directory `out` (maps.png
    only when the dataset has masks); the paths."""
    labelled = {field: {get(name).label: value for name, value in getattr(results, field).items()}
                for field in ("results", "curves", "attributions", "randomisation", "agreement", "completeness")}
    controls = tuple(get(name).label for name in METHODS if get(name).control)
    paths = [os.path.join(out, name) for name in
             ("compare.md", "deletion.png", "insertion.png", "ig_convergence.png", "deeplift_vs_ig.png", "randomisation.png")]
    plots.perturbation_curves(labelled["curves"], paths[1], 0, "Deletion (pixels inpainted from the others)",
                              "lower AUC is better", controls)
    plots.perturbation_curves(labelled["curves"], paths[2], 1, "Insertion (pixels put back into a blurred image)",
                              "higher AUC is better", controls)
    plots.ig_convergence(results.convergence, paths[3])
    plots.deeplift_against_ig(labelled["attributions"], labelled["agreement"], paths[4])
    plots.randomisation(labelled["randomisation"], paths[5], controls)
    if results.masks is not None and results.images is not None:  # compute sets both
        paths.append(os.path.join(out, "maps.png"))
        shown = {label: a[: len(results.images)] for label, a in labelled["attributions"].items()}
        save_figure(plots.maps_and_masks(results.images, shown, results.masks,
                                         titles={get(name).label: get(name).title for name in METHODS}), paths[-1], 110)
    report = _report(labelled["results"], results.settings, labelled["agreement"], labelled["completeness"],
                     results.convergence, controls, results.why)
    write_text(paths[0], report)
    return paths


def sample_arrays(results: CompareResults, model: nn.Module, data: Dataset) -> dict[str, np.ndarray]:
    """What `--save` writes: `outputs.results_arrays` for the sample (x, target = the true label,
    logits, baseline x′ = 0, classes, one array per method) and its test indices as `index`."""
    index = results.settings["index"]
    x = data.x_test[index].astype(np.float64)
    with mc.no_grad():
        logits = model(mc.Tensor(x)).data
    return results_arrays(x, data.y_test[index], logits, results.attributions, data.classes, index=index)


def run(args: argparse.Namespace, model: nn.Module, data: Dataset, model_label: str = "bundled") -> int:
    """`python -m attributions compare`: compute, render, report where; 0 on success.

    Everything is written into a temporary directory next to --out, renamed into place at the
    end: a failure or Ctrl-C leaves nothing behind (`outputs.output_directory`)."""
    from tqdm import tqdm

    out = output_path(args)
    stages = 5 * len(METHODS) + 4
    with output_directory(out) as staging, tqdm(total=stages, desc="compare", file=sys.stderr, leave=False) as bar:
        def progress(description):
            bar.set_description(description)
            bar.update()

        results = compute(model, data, args.dataset, n=args.n, seed=args.seed, sanity_n=args.sanity_n,
                          fraction=args.fraction, subsets=args.subsets, progress=progress, model_label=model_label)
        paths = render(results, staging)
        if args.save:
            save_arrays(os.path.join(staging, "attributions.npz"), sample_arrays(results, model, data))
    saved = " and attributions.npz" if args.save else ""
    print(f"compare: wrote {out}/compare.md, {len(paths) - 1} figures{saved} in {results.settings['elapsed']:.0f} s",
          file=sys.stderr)
    return 0


# ---- extra measurements for the poster's claims ----------------------------------------------
def _mean_over_layers(spearman):
    """Per image, the mean ρ over the randomised layers where it is defined (NaN if nowhere)."""
    defined = np.isfinite(spearman)
    return np.where(defined.any(axis=0), np.where(defined, spearman, 0).sum(axis=0) / np.maximum(defined.sum(axis=0), 1),
                    np.nan)


def _negative_share(a, masks):
    """Per image, the share of the mask's pixels whose attribution is negative."""
    maps = M.pixel_map(a, (len(masks),) + masks.shape[1:])
    return ((maps < 0) & masks).sum(axis=(1, 2)) / masks.sum(axis=(1, 2))


def _probability(model, images, y):
    with mc.no_grad():
        z = model(mc.Tensor(images)).data.astype(np.float64)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    return p[np.arange(len(y)), y] / p.sum(axis=1)


def _why(model, x, y, masks, k, fraction, seed, results):
    """The measurements `_explanations` cites: what each metric does with a map that knows the
    answer (the ground-truth mask as attribution, "oracle") and with the previous deletion fill
    (the blurred image), where the shapes lie, and guided backprop alone under randomisation."""
    why = {"cam_shape": tuple(grad_cam_maps(model, x[:1], y[:1]).shape[1:]), "image_shape": tuple(x.shape[2:])}
    rand = M.model_randomisation(model, x[:k], y[:k], guided_backprop, seed=seed)
    why["guided_backprop"] = [float(np.nanmean(row)) for row in rand.spearman]
    why["guided_backprop_mean"] = float(np.nanmean(_mean_over_layers(rand.spearman[1:])))
    others = M.runner_up(model, x[:k], y[:k])
    why["guided_backprop_d"] = float(np.nanmean(M.class_discrimination_of_maps(
        guided_backprop(model, x[:k], y[:k]), guided_backprop(model, x[:k], others), x[:k].shape)))
    if masks is None:
        return why
    oracle = masks.astype(np.float64)
    blurred = blurred_baseline(x, BLUR_SIGMA)
    inpainted = M.inpaint(x, masks)
    why["oracle deletion"] = float(M.deletion(model, x, y, oracle, fraction=fraction, baseline="inpaint", seed=seed).auc.mean())
    why["oracle deletion, blurred fill"] = float(M.deletion(model, x, y, oracle, fraction=fraction, baseline=blurred,
                                                            seed=seed).auc.mean())
    why["random deletion, blurred fill"] = float(M.deletion(model, x, y, M.random_attribution(model, x, seed=seed),
                                                            fraction=fraction, baseline=blurred, seed=seed).auc.mean())
    why["oracle insertion"] = float(M.insertion(model, x, y, oracle, fraction=fraction, blur_sigma=BLUR_SIGMA,
                                                seed=seed).auc.mean())
    why["p, object blurred"] = float(_probability(model, np.where(masks[:, None], blurred, x), y).mean())
    why["p, object inpainted"] = float(_probability(model, inpainted, y).mean())
    why["p, x"] = float(_probability(model, x, y).mean())
    rows, cols = np.indices(masks.shape[1:])
    centre = (np.array(masks.shape[1:]) - 1) / 2
    area = masks.sum(axis=(1, 2))
    distance = np.hypot((masks * rows).sum(axis=(1, 2)) / area - centre[0], (masks * cols).sum(axis=(1, 2)) / area - centre[1])
    near = distance <= np.median(distance)
    centre_auc = results["centre_gaussian"]["insertion AUC"]
    why["median distance"] = float(np.median(distance))
    why["centre insertion near"], why["centre insertion far"] = float(centre_auc[near].mean()), float(centre_auc[~near].mean())
    return why


def _ig_convergence(model, x, y, steps=(2, 4, 8, 16, 32)):
    """Mean |completeness delta| / |t(x) − t(0)| for each quadrature rule and number of steps."""
    gap = np.abs(forward_scores(model, x, y) - forward_scores(model, np.zeros_like(x), y))
    table = {}
    for rule in QUADRATURE_RULES:
        errors = []
        for s in steps:
            _, delta = integrated_gradients(model, x, y, steps=max(s, 2), method=rule, return_delta=True)
            errors.append(float(np.mean(np.abs(delta) / np.maximum(gap, 1e-12))))
        table[rule] = errors
    return {"steps": list(steps), "errors": table}


def _agreement(attributions):
    """Per-image Pearson and Spearman between IG and each method of AGREEMENT (full attributions)."""
    ig = attributions["integrated_gradients"]
    n = len(ig)
    return {name: (M.pearson_rows(ig.reshape(n, -1), attributions[name].reshape(n, -1)),
                   M.spearman_rows(ig.reshape(n, -1), attributions[name].reshape(n, -1)))
            for name in AGREEMENT}


def _completeness(model, x, y, attributions):
    """|Σ a − (t(x) − t(0))| per image for the methods that claim completeness."""
    return {name: np.abs(completeness_delta(model, attributions[name], x, y)) for name in COMPLETE}


# ---- the report -------------------------------------------------------------------------------------
FAITHFULNESS = ("deletion AUC", "deletion AUC by |a|", "insertion AUC", "insertion AUC by |a|", "faithfulness corr.",
                "sensitivity-n")
LOCALISATION = ("pointing", "mass acc.", "rank acc.")
SANITY = ("ρ top layer random", "ρ all layers random", "ρ mean over the cascade", "class discrimination",
          "max-sensitivity", "sparseness", "entropy")
PER_K = SANITY[:5]  # measured on the first k images only
COST = ("ms / image", "forward / image", "backward / image")
ARROWS = {"deletion AUC": "↓", "deletion AUC by |a|": "↓", "insertion AUC": "↑", "insertion AUC by |a|": "↑",
          "faithfulness corr.": "↑", "sensitivity-n": "↑", "pointing": "↑", "mass acc.": "↑", "rank acc.": "↑",
          "ρ top layer random": "↓", "ρ all layers random": "↓", "ρ mean over the cascade": "↓",
          "class discrimination": "↑", "max-sensitivity": "↓", "sparseness": "", "entropy": "",
          "ms / image": "↓", "forward / image": "↓", "backward / image": "↓"}
DISCRIMINATIVE = M.DISCRIMINATIVE  # D ≥ this: the two classes' |maps| rank the pixels less alike than ρ = 0.5
FAILS_RANDOMISATION = 0.5  # mean ρ over the cascade ≥ this: the map stays like the trained model's


def _section(results, columns, total):
    header = ["method"] + [f"{c} {ARROWS[c]}".strip() for c in columns]
    rows = []
    for name, r in results.items():
        cells = []
        for c in columns:
            if c in COST:
                cells.append(f"{float(np.mean(r[c])):.1f}")
            else:
                cells.append(_cell(r[c], len(r[c]) if c in PER_K else total, 3))
        rows.append([name] + cells)
    return _table(header, rows)


def _mean(results, name, column):
    return mean_and_error(results[name][column])[0]


def _report(results, s, agreement, completeness, convergence, controls, why) -> str:
    n, k = s["n"], s["k"]
    parts = [
        f"# Comparison of attribution methods on `{s['dataset']}`",
        "",
        f"{'Bundled model' if s['model'] == 'bundled' else 'Your model (' + s['model'] + ')'}, {n} test images "
        f"(seed {s['seed']}, accuracy on them {s['accuracy']:.3f}), each explained "
        f"for its true label. Cells: mean ± standard error over images (a count like (97/100) means the "
        f"metric was undefined for the others, e.g. a map with no positive relevance). ↑ higher is better, "
        f"↓ lower is better. Run time of this comparison: {s['elapsed']:.0f} s.",
        "",
        "## Faithfulness" + (" and localisation" if s["masks"] else ""),
        "",
        _section(results, FAITHFULNESS + (LOCALISATION if s["masks"] else ()), n),
        "",
        f"Deletion: the most relevant pixels first (signed a, as Samek et al. 2017 and Quantus's pixel flipping), "
        f"{s['fraction']:.3g} of the pixels per step, each deleted pixel inpainted from the kept ones (the mean of "
        f"its neighbours: `attributions.metrics.inpaint`, the fill of ROAD, Rong et al. 2022); insertion: pixels "
        f"copied from x into the Gaussian-blurred image (σ = {BLUR_SIGMA:g} px); \"by |a|\": the same, pixels "
        f"ranked by |a|. Score = softmax probability of the target; AUC by the trapezoid rule on [0, 1]. Both "
        f"curves start and end at the same points for every method, so only the order of the pixels matters. "
        f"Faithfulness correlation: {s['subsets']} random subsets of 10 % of the pixels set to 0, logit drop; "
        f"sensitivity-n: the same with n = {s['sens_n']} pixels.",
    ]
    if s["masks"]:
        parts += ["", f"Localisation chance level: the mask covers {100 * s['mask_share']:.1f} % of the pixels on "
                  "average, so a map unrelated to the image scores about that on all three."]
    else:
        parts += ["", "Localisation metrics (pointing, mass and rank accuracy) skipped: these images have no "
                  "ground-truth masks."]
    parts += [
        "",
        f"## Sanity checks, class discrimination, robustness and complexity (first {k} images)",
        "",
        _section(results, SANITY, n),
        "",
        "ρ: Spearman rank correlation with the original |map| after re-initialising the top layer "
        f"(`{s['layers'][1]}`) / all {len(s['layers']) - 1} parameter layers, cumulatively from the top "
        "(Adebayo et al. 2018), and its mean over the whole cascade; an all-zero map after randomisation "
        "(Grad-CAM's ReLU) has no rank correlation and is left out (the count shows it). Class discrimination: "
        "D = 1 − Spearman ρ(|a_c|, |a_c′|) between the maps for the true class c and for the runner-up c′ "
        "(the highest other logit), the definition `demo`'s Table 1 uses too (`attributions.metrics.class_discrimination`): "
        "0 = the same pixels for both classes, 1 = unrelated; a constant runner-up map (nothing speaks for c′) has no "
        "ρ and is left out. Max-sensitivity: 3 uniform perturbations of radius 0.02, relative change of the map. "
        "Sparseness (Gini of |a|) and entropy (nats; uniform map: "
        f"log {s['n_pixels']} = {np.log(s['n_pixels']):.2f}) describe concentration; neither direction is "
        "better in itself. Sparseness and entropy use all images.",
        "",
        f"## Cost (first {k} images, up to {BATCH} per call, shortest of 3 runs)",
        "",
        _section(results, COST, n),
        "",
        "Forward / backward: rows through the model's forward and through backward passes, counted by a "
        "hook, divided by the number of images (DeepLIFT's batch [x; x′] counts 2, IG's 50 points 50).",
        "",
        "## IG and DeepLIFT",
        "",
    ]
    rows = [[f"IG vs {rule}", _cell(pearson, n), _cell(spearman, n)] for rule, (pearson, spearman) in agreement.items()]
    parts += [_table(["pair", "Pearson r per image", "Spearman ρ per image"], rows), ""]
    rows = [[name, _cell(values, n, 4)] for name, values in completeness.items()]
    parts += [_table(["method", "|Σ a − (t(x) − t(0))| (logit units)"], rows), ""]
    conv = convergence["errors"]
    parts += ["IG relative completeness error, mean over the first images, by steps "
              f"({', '.join(map(str, convergence['steps']))}):", ""]
    parts += [_table(["rule"] + [str(st) for st in convergence["steps"]],
                     [[rule] + [f"{e:.2g}" for e in errs] for rule, errs in conv.items()]), ""]
    parts += ["## What the numbers say about the poster's claims", "", _claims(results, agreement, s, controls, why), ""]
    parts += ["## Why the numbers say this", "", _explanations(results, s, controls, why), ""]
    figures = "deletion.png, insertion.png, ig_convergence.png, deeplift_vs_ig.png, randomisation.png"
    parts += [f"Figures: {figures}" + (", maps.png (every method's maps next to the masks)." if s["masks"] else "."), ""]
    return "\n".join(parts)


def _ranked(values, skip=()):
    return ", ".join(f"{name} {v:.2f}" for name, v in sorted(values.items(), key=lambda item: -item[1]) if name not in skip)


def _claims(results, agreement, s, controls, why) -> str:
    """Plain sentences, each computed from the measured numbers with its threshold stated."""
    lines = []
    r_mean = float(np.nanmean(agreement["DeepLIFT-Rescale"][0]))
    rc_mean = float(np.nanmean(agreement["DeepLIFT-RevealCancel"][0]))
    gxi_mean = float(np.nanmean(agreement["Gradient × input"][0]))
    verdict = "supported" if r_mean >= 0.9 else ("partly supported" if r_mean >= 0.7 else "not supported")
    lines.append(
        f"- *IG and DeepLIFT produce very similar results*: {verdict} (threshold: mean per-image Pearson ≥ 0.9). "
        f"IG vs DeepLIFT-Rescale r = {r_mean:.3f}, vs RevealCancel r = {rc_mean:.3f} "
        f"(for scale: IG vs gradient × input r = {gxi_mean:.3f})."
    )
    t_ig, t_dl = _mean(results, "Integrated Gradients", "ms / image"), _mean(results, "DeepLIFT-Rescale", "ms / image")
    f_ig, f_dl = _mean(results, "Integrated Gradients", "forward / image"), _mean(results, "DeepLIFT-Rescale", "forward / image")
    b_ig, b_dl = _mean(results, "Integrated Gradients", "backward / image"), _mean(results, "DeepLIFT-Rescale", "backward / image")
    verdict = "supported" if t_dl < t_ig and f_dl < f_ig else "not supported"
    lines.append(
        f"- *DeepLIFT is more efficient than IG*: {verdict}. DeepLIFT-Rescale {t_dl:.1f} ms and "
        f"{f_dl:.1f} forward / {b_dl:.1f} backward rows per image against IG (50 steps) {t_ig:.1f} ms and "
        f"{f_ig:.1f} / {b_ig:.1f}: {t_ig / t_dl:.1f}× faster in wall time."
    )
    poster = ("Saliency", "Gradient × input", "Integrated Gradients", "DeepLIFT-Rescale", "DeepLIFT-RevealCancel",
              "Grad-CAM", "Guided Grad-CAM")
    d = {name: _mean(results, name, "class discrimination") for name in poster}
    verdict = "supported" if d["Grad-CAM"] >= DISCRIMINATIVE and d["Grad-CAM"] == max(d.values()) else \
        ("partly supported" if d["Grad-CAM"] >= DISCRIMINATIVE else "not supported")
    lines.append(
        f"- *Grad-CAM is class-discriminative*: {verdict} (criterion: D ≥ {DISCRIMINATIVE}, and the highest D of the "
        f"poster's methods). Grad-CAM D = {d['Grad-CAM']:.3f}; the others: {_ranked(d, ('Grad-CAM',))}."
    )
    if s["masks"]:
        chance = s["mask_share"]
        loc = {c: _mean(results, "Grad-CAM", c) for c in LOCALISATION}
        best = {c: max((_mean(results, name, c), name) for name in results) for c in LOCALISATION}
        verdict = "above chance" if min(loc.values()) > 1.5 * chance else "not clearly above chance"
        lines.append(
            f"- *Grad-CAM localises*: {verdict} (chance ≈ {chance:.3f}): pointing {loc['pointing']:.3f}, "
            f"mass accuracy {loc['mass acc.']:.3f}, rank accuracy {loc['rank acc.']:.3f}. Best per metric: "
            + ", ".join(f"{c} {name} ({v:.3f})" for c, (v, name) in best.items()) + "."
        )
    cascade = {name: _mean(results, name, "ρ mean over the cascade") for name in ("Guided Grad-CAM", "Grad-CAM", "Saliency")}
    ggc = cascade["Guided Grad-CAM"]
    lines.append(
        "- *Guided Grad-CAM fails the randomisation sanity check, Grad-CAM and the gradient pass* (Adebayo et al. 2018): "
        + ("reproduced" if ggc >= FAILS_RANDOMISATION > max(cascade["Grad-CAM"], cascade["Saliency"]) else "not reproduced")
        + f" (criterion: mean ρ over the cascade ≥ {FAILS_RANDOMISATION} fails). Mean ρ: Guided Grad-CAM {ggc:.3f}, "
        f"Grad-CAM {cascade['Grad-CAM']:.3f}, saliency {cascade['Saliency']:.3f}; guided backprop alone "
        f"{why['guided_backprop_mean']:.3f} ({'fails' if why['guided_backprop_mean'] >= FAILS_RANDOMISATION else 'passes'})."
    )
    return "\n".join(lines)


def _explanations(results, s, controls, why) -> str:
    """For each place where a table contradicts a claim or a control, the measurement that says why."""
    random_label, centre_label = controls[0], controls[-1]
    methods = [name for name in results if name not in controls]
    lines = []
    if s["masks"]:
        best = min(methods, key=lambda name: _mean(results, name, "deletion AUC"))
        worse = [name for name in methods if _mean(results, name, "deletion AUC") >= _mean(results, random_label, "deletion AUC")]
        lines.append(
            f"- **Deletion: the fill, not the methods.** The ground-truth mask used as a map (an \"oracle\" that "
            f"deletes the object first) scored {why['oracle deletion, blurred fill']:.3f} with the blurred image as "
            f"the fill (the previous definition) against {why['random deletion, blurred fill']:.3f} for the random "
            f"control: with the object blurred away the model still gave its class p = {why['p, object blurred']:.2f} "
            f"(p = {why['p, x']:.2f} on x), because the blurred blob keeps the silhouette that defines a shape. "
            f"Inpainted from its surroundings, the object is gone (p = {why['p, object inpainted']:.2f}) and the oracle "
            f"scores {why['oracle deletion']:.3f} against random {_mean(results, random_label, 'deletion AUC'):.3f}. "
            f"Best method: {best} ({_mean(results, best, 'deletion AUC'):.3f})."
            + (f" Still no better than random: {', '.join(worse)}." if worse else " Every method now beats the random control.")
        )
        signed = ["Integrated Gradients", "DeepLIFT-Rescale", "Gradient × input"]
        neg = ", ".join(f"{name} {100 * _mean(results, name, 'mask pixels < 0'):.0f} %" for name in signed)
        lines.append(
            "- **Signed order: the ×(x − x′) methods put part of the object last.** Deletion and insertion rank by "
            f"signed a (most positive first), as the definitions do. IG and DeepLIFT explain against x′ = 0, and give "
            f"part of the object's own pixels a negative score (share of mask pixels with a < 0: {neg}): "
            "those come last, so the object is deleted (inserted) only in part until the end. Ranked by |a| the same "
            "maps score " + ", ".join(
                f"{name} {_mean(results, name, 'deletion AUC by |a|'):.3f} / {_mean(results, name, 'insertion AUC by |a|'):.3f}"
                for name in signed)
            + " (deletion / insertion; signed: " + ", ".join(
                f"{_mean(results, name, 'deletion AUC'):.3f} / {_mean(results, name, 'insertion AUC'):.3f}" for name in signed)
            + "). Their sign says \"against the class relative to a black image\", not \"unimportant\"."
        )
        centre = _mean(results, centre_label, "insertion AUC")
        beaten = [name for name in methods if _mean(results, name, "insertion AUC") < centre]
        lines.append(
            f"- **Insertion: the centre prior is a property of the data.** The centre-Gaussian control scores "
            f"{centre:.3f} (the oracle {why['oracle insertion']:.3f}, IG "
            f"{_mean(results, 'Integrated Gradients', 'insertion AUC'):.3f}). Shapes lie fully inside the image, so half "
            f"of them have their centre within {why['median distance']:.1f} px of the image centre; on that half the "
            f"control scores {why['centre insertion near']:.3f}, on the other half {why['centre insertion far']:.3f}: "
            "inserting a central disc first puts the object back in one piece whenever it lies near the middle. "
            + (f"Below the control: {', '.join(beaten)}. " if beaten else "Every method beats it. ")
            + "Read this column against the control: it is the score of knowing only where objects usually are."
        )
    d = {name: _mean(results, name, "class discrimination") for name in methods}
    constant = 100 * _mean(results, "Grad-CAM", "runner-up map constant")
    lines.append(
        f"- **Class discrimination: where, not which sign.** D compares where the two classes' maps put their weight. "
        f"Grad-CAM D = {d['Grad-CAM']:.2f}"
        + (f" (its runner-up map was all zero for {constant:.0f} % of the images: nothing spoke for that class; "
           "those have no ρ and are left out)" if constant > 0 else "")
        + f". IG ({d['Integrated Gradients']:.2f}) and DeepLIFT-Rescale ({d['DeepLIFT-Rescale']:.2f}) light the same "
        "pixels for both classes, with other signs: their maps carry the factor (x − x′), the same for every class. "
        f"Guided Grad-CAM ({d['Guided Grad-CAM']:.2f}) can only discriminate through its Grad-CAM factor: guided "
        f"backprop alone scores D = {why['guided_backprop_d']:.2f}. The earlier reports disagreed because they used "
        "two statistics: the demo's "
        "1 − |Pearson r| counts two maps that light complementary regions (r < 0) as the same map, which is what "
        "Grad-CAM's maps for two classes do on the digits model's 2×2 layer (table1.md's notes); compare used a "
        "random other class. Both now use D with the runner-up."
    )
    gbp, ggc = why["guided_backprop"], _mean(results, "Guided Grad-CAM", "ρ mean over the cascade")
    fails = why["guided_backprop_mean"] >= FAILS_RANDOMISATION
    lines.append(
        f"- **Randomisation: Guided Grad-CAM changes as much as its Grad-CAM factor lets it.** Guided backprop alone "
        f"keeps ρ = {gbp[1]:.2f} after the top layer and {gbp[min(2, len(gbp) - 1)]:.2f} after two (mean over the "
        f"cascade {why['guided_backprop_mean']:.2f}): it {'fails, as in Adebayo et al' if fails else 'passes here'}. "
        f"Guided Grad-CAM (mean {ggc:.2f}) multiplies it by Grad-CAM's map (mean "
        f"{_mean(results, 'Grad-CAM', 'ρ mean over the cascade'):.2f}), here {why['cam_shape'][0]}×{why['cam_shape'][1]} "
        f"for a {why['image_shape'][0]}×{why['image_shape'][1]} image (in Adebayo et al.'s Inception v3, 8×8 for "
        "299×299): the coarser that factor is relative to the image, the more of Guided Grad-CAM's pixel ranking is "
        "guided backprop's, and the closer it stays to it."
    )
    return "\n".join(lines)

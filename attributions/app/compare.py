"""`python -m attributions compare`: every method, every metric, one table and five figures.

    python -m attributions compare --dataset shapes --n 100 --out compare-shapes --seed 0 [--save]

runs saliency, gradient × input, Integrated Gradients (50 steps), DeepLIFT (Rescale and
RevealCancel), Grad-CAM, Guided Grad-CAM and two controls (random, centre Gaussian) on the
bundled model and a seeded sample of test images (each explained for its true label), then writes

    compare.md           methods × metrics, mean ± standard error over the images
    deletion.png         mean deletion curve per method      insertion.png   the same, insertion
    ig_convergence.png   IG completeness error against steps, one line per quadrature rule
    deeplift_vs_ig.png   DeepLIFT against IG, pixel by pixel, with the correlation
    randomisation.png    Spearman ρ per cumulatively randomised layer (Adebayo et al. 2018)
    attributions.npz     with --save: the sample, its labels and logits, x′ = 0, one array per method

The report ends by checking, with stated thresholds, the claims of the poster "Backpropagation-based
visualization methods for explaining CNNs" (Christian Ickler, Friedrich Schiller University Jena,
AI Summer School 2023). Localisation metrics only when the dataset has ground-truth masks (shapes,
or an image folder with `<name>.mask.png` files); otherwise a note says they were skipped.
`--model W.npz --arch A` runs on your weights, `--data DIR` on your own images (user_data.py). The expensive checks
(model randomisation, max-sensitivity, cross-class) run on the first `--sanity-n` images of the
sample; the cheaper ones on all `--n`. The defaults keep a shapes run within ~3 minutes on 2 cores.
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
from ..inputs import forward_scores
from ..integrated_gradients import METHODS as QUADRATURE_RULES
from ..integrated_gradients import integrated_gradients
from . import plots
from .arguments import fraction, int_at_least, positive_int
from .outputs import output_directory, results_arrays, save_arrays, write_text
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
    "× metrics, mean ± standard error, and whether the poster's claims hold) and five figures into --out "
    "(default: compare-<dataset>). A shapes run with the defaults takes about 3 minutes on 2 cores."
)

DEFAULT_DATASET = "shapes"  # the bundled dataset with ground-truth masks

BLUR_SIGMA = 3.0  # pixels; the canvas of insertion and the value of deleted pixels
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
                        help="images for randomisation, robustness and cross-class checks (default 16)")
    parser.add_argument("--fraction", type=fraction, default=0.0625,
                        help="share of pixels per deletion/insertion step, in (0, 1] (default 1/16: 17 points)")
    parser.add_argument("--subsets", type=int_at_least(2), default=16,
                        help="random subsets per image for faithfulness correlation and sensitivity-n (default 16)")
    parser.add_argument("--save", action="store_true",
                        help="also write attributions.npz into --out: the sample x, its labels (the targets), logits, "
                             "the baseline x′ = 0 and one attribution array per method (np.load(path, allow_pickle=False))")
    return parser


def output_path(args):
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
    randomisation: dict  # name → RandomisationResult
    agreement: dict      # name → (Pearson, Spearman) per image, against IG
    completeness: dict   # name → |Σ a − (t(x) − t(0))| per image
    convergence: dict    # {"steps": [...], "errors": {quadrature rule: [...]}}


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
    n_classes = len(data.classes)
    other = (y + rng.integers(1, n_classes, size=len(y))) % n_classes  # a different class per image
    k = min(sanity_n, n)
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

    # Deleted pixels take the blurred image's value: set to 0, even random 6 % of the pixels make
    # the model give up (salt-and-pepper is far off its training data), so every map would score alike.
    canvas = blurred_baseline(x, BLUR_SIGMA)
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
        step(f"{label}: deletion")
        deletion = M.deletion(model, x, y, a, fraction=fraction, baseline=canvas, seed=seed)
        r["deletion AUC"] = deletion.auc
        r["deletion AUC, x′ = 0"] = M.deletion(model, x, y, a, fraction=fraction, baseline=0.0, seed=seed).auc
        step(f"{label}: insertion")
        insertion = M.insertion(model, x, y, a, fraction=fraction, blur_sigma=BLUR_SIGMA, seed=seed)
        r["insertion AUC"] = insertion.auc
        curves[name] = (deletion, insertion)
        step(f"{label}: correlations")
        r["faithfulness corr."] = M.subset_correlation(a, faith_subsets, faith_drops)
        r["sensitivity-n"] = M.subset_correlation(a, sens_subsets, sens_drops)
        step(f"{label}: sanity checks")
        rand = M.model_randomisation(model, x[:k], y[:k], explain, seed=seed)
        randomisation[name] = rand
        r["ρ top layer random"] = rand.spearman[1]
        r["ρ all layers random"] = rand.spearman[-1]
        # cross-class: the same maps for another class; signed (sign flips count) and |a| (where, not which way)
        mine = M.pixel_map(a[:k], x[:k].shape)
        theirs = M.pixel_map(np.asarray(explain(model, x[:k], other[:k]), dtype=np.float64), x[:k].shape)
        r["cross-class ρ"] = M.spearman_rows(mine, theirs)
        r["cross-class ρ |a|"] = M.spearman_rows(np.abs(mine), np.abs(theirs))
        r["max-sensitivity"] = M.max_sensitivity(model, x[:k], y[:k], explain, radius=0.02, n_samples=3, seed=seed)

    step("IG convergence")
    convergence = _ig_convergence(model, x[: min(k, 4)], y[: min(k, 4)])
    settings = dict(dataset=dataset, model=model_label, n=n, k=k, seed=seed, index=index, accuracy=accuracy, elapsed=time.perf_counter() - started,
                    fraction=fraction, subsets=subsets, sens_n=sens_n, n_pixels=n_pixels,
                    masks=masks is not None, mask_share=None if masks is None else float(masks.mean()),
                    layers=next(iter(randomisation.values())).layers)
    return CompareResults(settings, results, curves, attributions, randomisation, _agreement(attributions),
                          _completeness(model, x, y, attributions), convergence)


def render(results: CompareResults, out: str) -> list[str]:
    """Write compare.md and the five figures of `results` into the existing directory `out`; the paths."""
    labelled = {field: {get(name).label: value for name, value in getattr(results, field).items()}
                for field in ("results", "curves", "attributions", "randomisation", "agreement", "completeness")}
    controls = tuple(get(name).label for name in METHODS if get(name).control)
    paths = [os.path.join(out, name) for name in
             ("compare.md", "deletion.png", "insertion.png", "ig_convergence.png", "deeplift_vs_ig.png", "randomisation.png")]
    plots.perturbation_curves(labelled["curves"], paths[1], 0, "Deletion (pixels replaced by the blurred image)",
                              "lower AUC is better", controls)
    plots.perturbation_curves(labelled["curves"], paths[2], 1, "Insertion (pixels put back into a blurred image)",
                              "higher AUC is better", controls)
    plots.ig_convergence(results.convergence, paths[3])
    plots.deeplift_against_ig(labelled["attributions"], labelled["agreement"], paths[4])
    plots.randomisation(labelled["randomisation"], paths[5], controls)
    report = _report(labelled["results"], results.settings, labelled["agreement"], labelled["completeness"],
                     results.convergence, controls)
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
    stages = 5 * len(METHODS) + 3
    with output_directory(out) as staging, tqdm(total=stages, desc="compare", file=sys.stderr, leave=False) as bar:
        def progress(description):
            bar.set_description(description)
            bar.update()

        results = compute(model, data, args.dataset, n=args.n, seed=args.seed, sanity_n=args.sanity_n,
                          fraction=args.fraction, subsets=args.subsets, progress=progress, model_label=model_label)
        render(results, staging)
        if args.save:
            save_arrays(os.path.join(staging, "attributions.npz"), sample_arrays(results, model, data))
    saved = " and attributions.npz" if args.save else ""
    print(f"compare: wrote {out}/compare.md, 5 figures{saved} in {results.settings['elapsed']:.0f} s", file=sys.stderr)
    return 0


# ---- extra measurements for the poster's claims ----------------------------------------------
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
FAITHFULNESS = ("deletion AUC", "deletion AUC, x′ = 0", "insertion AUC", "faithfulness corr.", "sensitivity-n")
LOCALISATION = ("pointing", "mass acc.", "rank acc.")
SANITY = ("ρ top layer random", "ρ all layers random", "cross-class ρ", "cross-class ρ |a|", "max-sensitivity", "sparseness", "entropy")
COST = ("ms / image", "forward / image", "backward / image")
ARROWS = {"deletion AUC": "↓", "deletion AUC, x′ = 0": "↓", "cross-class ρ |a|": "↓", "insertion AUC": "↑", "faithfulness corr.": "↑", "sensitivity-n": "↑",
          "pointing": "↑", "mass acc.": "↑", "rank acc.": "↑", "ρ top layer random": "↓", "ρ all layers random": "↓",
          "cross-class ρ": "↓", "max-sensitivity": "↓", "sparseness": "", "entropy": "",
          "ms / image": "↓", "forward / image": "↓", "backward / image": "↓"}


def _section(results, columns, total):
    header = ["method"] + [f"{c} {ARROWS[c]}".strip() for c in columns]
    rows = []
    for name, r in results.items():
        cells = []
        for c in columns:
            values = r[c]
            digits = 1 if c in COST else 3
            if c in COST:
                mean = float(np.mean(values))
                cells.append(f"{mean:.{digits}f}")
            else:
                cells.append(_cell(values, total if c not in SANITY[:5] else len(values), digits))
        rows.append([name] + cells)
    return _table(header, rows)


def _mean(results, name, column):
    return mean_and_error(results[name][column])[0]


def _report(results, s, agreement, completeness, convergence, controls) -> str:
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
        f"Deletion: pixels (all channels) replaced by those of the Gaussian-blurred image (σ = {BLUR_SIGMA:g} px), "
        f"{s['fraction']:.3g} of the pixels per step (the column \"x′ = 0\" sets them to 0 instead, the reference IG "
        f"and DeepLIFT explain against); insertion: pixels copied from x into the blurred image; score = softmax "
        f"probability of the target; AUC by the trapezoid rule on [0, 1]. Both curves start and end at the same "
        f"points for every method, so only the order of the pixels matters. Faithfulness correlation: {s['subsets']} random subsets of 10 % of the pixels "
        f"set to 0, logit drop; sensitivity-n: the same with n = {s['sens_n']} pixels.",
    ]
    if s["masks"]:
        parts += ["", f"Localisation chance level: the mask covers {100 * s['mask_share']:.1f} % of the pixels on "
                  "average, so a map unrelated to the image scores about that on all three."]
    else:
        parts += ["", "Localisation metrics (pointing, mass and rank accuracy) skipped: these images have no "
                  "ground-truth masks."]
    parts += [
        "",
        f"## Sanity checks, robustness and complexity (first {k} images)",
        "",
        _section(results, SANITY, n),
        "",
        "ρ: Spearman rank correlation with the original |map| after re-initialising the top layer "
        f"(`{s['layers'][1]}`) / all {len(s['layers']) - 1} parameter layers, cumulatively from the top "
        "(Adebayo et al. 2018); an all-zero map after randomisation (Grad-CAM's ReLU) has no rank correlation and is "
        "left out (the count shows it). Cross-class ρ: Spearman between the maps for the true class and for a "
        "random other class, signed and of |a| (the signed one drops when the map only flips sign). Max-sensitivity: 3 uniform perturbations of radius 0.02, relative change of the "
        "map. Sparseness (Gini of |a|) and entropy (nats; uniform map: "
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
    rows = []
    for rule, (pearson, spearman) in agreement.items():
        rows.append([f"IG vs {rule}", _cell(pearson, n), _cell(spearman, n)])
    parts += [_table(["pair", "Pearson r per image", "Spearman ρ per image"], rows), ""]
    rows = [[name, _cell(values, n, 4)] for name, values in completeness.items()]
    parts += [_table(["method", "|Σ a − (t(x) − t(0))| (logit units)"], rows), ""]
    conv = convergence["errors"]
    parts += ["IG relative completeness error, mean over the first images, by steps "
              f"({', '.join(map(str, convergence['steps']))}):", ""]
    parts += [_table(["rule"] + [str(st) for st in convergence["steps"]],
                     [[rule] + [f"{e:.2g}" for e in errs] for rule, errs in conv.items()]), ""]
    parts += ["## What the numbers say about the poster's claims", "", _claims(results, agreement, s, controls), ""]
    parts += ["Figures: deletion.png, insertion.png, ig_convergence.png, deeplift_vs_ig.png, randomisation.png.", ""]
    return "\n".join(parts)


def _claims(results, agreement, s, controls) -> str:
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
    cc = {name: _mean(results, name, "cross-class ρ |a|") for name in results if name not in controls}
    signed = {name: _mean(results, name, "cross-class ρ") for name in cc}
    lowest = min(cc, key=lambda name: cc[name])
    verdict = "supported" if lowest == "Grad-CAM" and cc["Grad-CAM"] < 0.5 else "not supported"
    lines.append(
        f"- *Grad-CAM is class-discriminative*: {verdict} (criterion: the lowest cross-class Spearman ρ of |map| "
        f"among the methods, and below 0.5). Grad-CAM ρ = {cc['Grad-CAM']:.3f}; the others: "
        + ", ".join(f"{name} {v:.2f}" for name, v in sorted(cc.items(), key=lambda item: item[1]) if name != "Grad-CAM")
        + ". Signed ρ: " + ", ".join(f"{name} {v:.2f}" for name, v in signed.items())
        + " (a negative signed ρ with a high |map| ρ: the same pixels, with the sign flipped)."
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
    ggc_top = _mean(results, "Guided Grad-CAM", "ρ top layer random")
    ggc_all = _mean(results, "Guided Grad-CAM", "ρ all layers random")
    valid = mean_and_error(results["Guided Grad-CAM"]["ρ all layers random"])[2]
    total = len(results["Guided Grad-CAM"]["ρ all layers random"])
    verdict = "fails" if ggc_all >= 0.5 else "passes"
    lines.append(
        f"- *Guided Grad-CAM and the randomisation sanity check*: it {verdict} (threshold: ρ ≥ 0.5 with all "
        f"layers random means the map barely depends on the weights). ρ = {ggc_top:.3f} after the top layer, "
        f"{ggc_all:.3f} after all layers ({valid} of {total} images; the map of the others became all zero) (Grad-CAM {_mean(results, 'Grad-CAM', 'ρ all layers random'):.3f}, "
        f"saliency {_mean(results, 'Saliency', 'ρ all layers random'):.3f}, gradient × input "
        f"{_mean(results, 'Gradient × input', 'ρ all layers random'):.3f}; the model-independent controls stay at 1)."
    )
    return "\n".join(lines)


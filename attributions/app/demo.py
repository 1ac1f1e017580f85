"""The main job: explain a few test images of a bundled model with every registered method, draw
the grid (Figure 1) and measure Table 1 of the poster "Backpropagation-based visualization methods
for explaining CNNs" (Christian Ickler, Friedrich Schiller University Jena, AI Summer School 2023)
for this model.

    python -m attributions demo [--dataset digits|faces|shapes] [--model PATH] [--n 6] [--out DIR] [--save]

What is measured (per method, on the n chosen images, target = the predicted class, reference x′ = 0):

* **completeness error** — mean over images of |Σ_i a_i − (t(x) − t(x′))| / |t(x) − t(x′)|
  (relative summation-to-delta error; n/a for Grad-CAM, whose map lives on a feature-map grid
  and is not meant to add up to anything);
* **ms / image** — wall time of the method's call on the whole batch (time.perf_counter) / n,
  the fastest of 3 calls made after the first (so Numba loading and first-call costs and one-off
  machine noise are not counted);
* **backward passes** — counted, not assumed: `attributions.metrics.count_passes` wraps the
  engine's one backward entry point (`minicnn.autograd.backward_pass`) while the method runs and
  records every call and the number of rows it propagates. "calls" is per batch of n images; "rows / image" is
  rows / n: saliency 1, IG = steps (all steps in one batched call), DeepLIFT 2 (one call on the
  doubled batch [x; x′]), Grad-CAM 1, Guided Grad-CAM 2 (Grad-CAM + guided backprop);
* **Pearson r with IG** — per image, the Pearson correlation between the method's map and the
  IG map (both summed over channels; Grad-CAM's upsampled map as is), averaged over images
  (`attributions.metrics.pearson_rows`: a map constant up to rounding has no r and is left out);
* **class discrimination** — per image, D = 1 − ρ_s(|a_c|, |a_c′|), the Spearman rank correlation
  of the magnitudes of the maps for the predicted class c and the runner-up c′ (second-largest
  logit), averaged: `attributions.metrics.class_discrimination`, the definition `compare` uses too.
  0: both maps weigh the same pixels; 1: unrelated. Images where a map is constant (Grad-CAM's
  all-zero map for a class nothing speaks for) have no ρ and are left out of the mean.

The claimed columns (reference required, class-discriminative, operating area, sign) come from
the method registry (`registry.py`); the measured columns are there to check them on this model.
Where the measured D disagrees with the claim (D ≥ `metrics.DISCRIMINATIVE` counts as
class-discriminative), the claim cell says so and a note under the table gives the measurement
that explains it (`_discrimination_evidence`).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import minicnn as mc
from minicnn import nn
from minicnn.data import Dataset

from .. import visualize
from ..completeness import completeness_delta
from ..gradcam import default_layer, grad_cam, guided_backprop
from ..inputs import module_outputs
from ..metrics import DISCRIMINATIVE, class_discrimination_of_maps, constant_maps, count_passes, pearson_rows, spearman_rows
from .outputs import output_directory, results_arrays, save_arrays, save_figure, write_text
from .registry import IG_STEPS, get, names

__all__ = ["pick_images", "run_demo", "format_table", "table_label", "DemoResult"]


def table_label(name: str, ig_steps: int = IG_STEPS) -> str:
    """The method's row name in Table 1: its label, with the number of steps for a path method."""
    method = get(name)
    return f"{method.label} ({ig_steps} steps)" if method.takes_steps else method.label


def pick_images(labels: np.ndarray, predictions: np.ndarray, n: int) -> np.ndarray:
    """n test indices, deterministic: the first correctly classified image of each class in class
    order (then the next correct ones), and the first misclassified image, placed last, if any."""
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    wrong = np.flatnonzero(labels != predictions)
    correct = np.flatnonzero(labels == predictions)
    n = min(n, len(labels))
    slots = n - 1 if len(wrong) else n
    chosen: list[int] = []
    for c in np.unique(labels):
        hits = correct[labels[correct] == c]
        if len(hits) and len(chosen) < slots:
            chosen.append(int(hits[0]))
    for i in correct:
        if len(chosen) >= slots:
            break
        if i not in chosen:
            chosen.append(int(i))
    if len(wrong):
        chosen.append(int(wrong[0]))
    for index in range(len(labels)):  # only when there are too few correct images
        if len(chosen) >= n:
            break
        if index not in chosen:
            chosen.append(index)
    return np.array(chosen[:n], dtype=np.int64)


def _maps(a):
    """(N, H, W) display maps: channels summed (as in the figures)."""
    return a.sum(axis=1) if a.ndim == 4 else a


def _nanmean(values):
    values = np.asarray(values, dtype=np.float64)
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


@dataclass
class DemoResult:
    dataset: str
    model_path: str
    accuracy: float
    indices: np.ndarray
    labels: np.ndarray
    predictions: np.ndarray
    runner_up: np.ndarray
    attributions: dict
    rows: dict = field(default_factory=dict)  # method → measured values
    evidence: dict = field(default_factory=dict)  # the measurements behind the class-discrimination notes
    figure_path: str = ""
    table_path: str = ""
    arrays_path: str = ""
    seconds: float = 0.0


TIMING_REPEATS = 3  # ms / image is the fastest of this many calls: one slow call is machine noise


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def _progress(iterable, description, total=None):
    from tqdm.auto import tqdm

    # delay: the bar appears only for steps that take longer than a second
    return tqdm(iterable, desc=description, total=total, file=sys.stderr, delay=1.0, leave=False)


def _predict(model, x, batch=256):
    chunks = []
    with mc.no_grad():
        for start in _progress(range(0, len(x), batch), "predicting", total=-(-len(x) // batch)):
            chunks.append(model(x[start : start + batch]).data)
    return np.concatenate(chunks)


def run_demo(model: nn.Module, data: Dataset, dataset: str, n: int = 6, out: str = "attributions_demo",
             model_path: str = "bundled", ig_steps: int = IG_STEPS, dpi: int = 100,
             log: Callable[..., None] = print, save: bool = False) -> DemoResult:
    """Explain n test images with every method, write figure1.png and table1.md into `out`
    (save: also attributions.npz, `outputs.results_arrays` with the test indices as `index`, the
    true labels as `label`). The directory appears only when everything is written; a failure
    or Ctrl-C leaves nothing (`outputs.output_directory`).

    model, data -- a minicnn model (eval mode) and the minicnn Dataset it was trained on
    Returns a DemoResult (paths, chosen images, attributions and the measured table rows).
    """
    with output_directory(out) as staging:
        result = _run_demo(model, data, dataset, n, staging, model_path, ig_steps, dpi, save)
    result.figure_path, result.table_path = os.path.join(out, "figure1.png"), os.path.join(out, "table1.md")
    result.arrays_path = os.path.join(out, "attributions.npz") if save else ""
    return result


def _run_demo(model, data, dataset, n, staging, model_path, ig_steps, dpi, save):
    start = time.perf_counter()
    logits_all = _predict(model, data.x_test)
    predicted_all = logits_all.argmax(axis=1)
    accuracy = float((predicted_all == data.y_test).mean())
    indices = pick_images(data.y_test, predicted_all, n)
    x = data.x_test[indices].astype(np.float64)
    labels = data.y_test[indices]
    logits = logits_all[indices]
    order = np.argsort(-logits, axis=1, kind="stable")
    predicted, runner_up = order[:, 0], order[:, 1]
    delta_t = logits[np.arange(len(x)), predicted] - _predict(model, np.zeros_like(x[:1]))[0, predicted]

    methods = [get(name) for name in names()]
    for method in methods:  # warm-up: Numba kernels loaded/compiled, first-call costs paid
        method(model, x[:1], int(predicted[0]), steps=2)

    attributions, runner_maps, rows = {}, {}, {}
    jobs = [(method, which) for method in methods for which in ("predicted", "runner-up")]
    for method, which in _progress(jobs, "attributing"):
        name = method.name
        if which == "runner-up":
            runner_maps[name] = method(model, x, runner_up, steps=ig_steps)
            continue
        with count_passes(model) as count:
            a = method(model, x, predicted, steps=ig_steps)
        seconds = min(_timed(method, model, x, predicted, steps=ig_steps) for _ in range(TIMING_REPEATS))
        attributions[name] = a
        if a.shape == x.shape:
            gap = np.abs(completeness_delta(model, a, x, predicted))
            completeness = _nanmean(gap / np.maximum(np.abs(delta_t), 1e-12))
        else:
            completeness = None
        rows[name] = {
            "completeness": completeness,
            "ms_per_image": 1000.0 * seconds / len(x),
            "backward_calls": count.backward_calls,
            "rows_per_image": count.backward_rows / len(x),
        }
    ig = _maps(attributions["integrated_gradients"])
    off_reference = np.any(x != 0, axis=1)  # pixels where x ≠ x′ = 0
    for name in rows:
        mine, theirs = _maps(attributions[name]), _maps(runner_maps[name])
        rows[name]["pearson_ig"] = _nanmean(pearson_rows(mine, ig))
        rows[name]["class_discrimination"] = _nanmean(class_discrimination_of_maps(mine, theirs))
        rows[name]["signed_rho"] = _nanmean(spearman_rows(mine, theirs))
        rows[name]["runner_up_constant"] = int(constant_maps(theirs).sum())
        rows[name]["d_off_reference"] = _nanmean([
            1.0 - spearman_rows(np.abs(m[keep])[None], np.abs(t[keep])[None])[0] if keep.sum() > 1 else np.nan
            for m, t, keep in zip(mine, theirs, off_reference)])

    result = DemoResult(dataset, model_path, accuracy, indices, labels, predicted, runner_up, attributions, rows,
                        evidence=_discrimination_evidence(model, x, predicted, runner_up, off_reference))
    fig = visualize.attribution_grid(x, attributions, labels=labels, predictions=predicted, classes=data.classes,
                                     titles={name: get(name).title for name in attributions})
    fig.suptitle(
        f"{dataset}: {type(model).__name__}, test accuracy {accuracy:.1%}; reference x′ = 0, IG {ig_steps} steps",
        fontsize=9, y=0.998,
    )
    save_figure(fig, os.path.join(staging, "figure1.png"), dpi)
    write_text(os.path.join(staging, "table1.md"), format_table(result, type(model).__name__, ig_steps))
    if save:
        save_arrays(os.path.join(staging, "attributions.npz"),
                    results_arrays(x, predicted, logits, attributions, data.classes, index=indices, label=labels))
    result.seconds = time.perf_counter() - start
    return result


def _discrimination_evidence(model, x, predicted, runner_up, off_reference):
    """What the notes on class discrimination cite: Grad-CAM's D at each convolution and pooling
    layer (the default layer last), the statistic the table used before (1 − |Pearson r|) with the
    mean r behind it, guided backprop's D, and the share of pixels where x = x′."""
    def d_and_constant(explain):
        mine, theirs = _maps(explain(predicted)), _maps(explain(runner_up))
        return _nanmean(class_discrimination_of_maps(mine, theirs)), int(constant_maps(theirs).sum()), mine, theirs

    default = default_layer(model, x)[0]
    outputs = {name: output for name, _, output in module_outputs(model, x[0])}
    layers = [name for name, module, output in module_outputs(model, x[0])
              if isinstance(module, (nn.Conv2d, nn.MaxPool2d)) and isinstance(output, mc.Tensor) and output.ndim == 4]
    if all(outputs[name] is not outputs[default] for name in layers):  # the default is a container's output
        layers.append(default)
    by_layer = []
    for layer in dict.fromkeys(layers):
        d, constant, mine, theirs = d_and_constant(lambda t, layer=layer: grad_cam(model, x, t, layer=layer))
        by_layer.append((layer, tuple(outputs[layer].shape[2:]), d, constant, outputs[layer] is outputs[default]))
    mine, theirs = d_and_constant(lambda t: grad_cam(model, x, t))[2:]
    r = pearson_rows(mine, theirs)
    return {
        "grad_cam_by_layer": by_layer, "default_layer": default,
        "grad_cam_old": _nanmean(1.0 - np.abs(r)), "grad_cam_r": _nanmean(r),
        "guided_backprop": d_and_constant(lambda t: guided_backprop(model, x, t))[0],
        "reference_share": float(1.0 - off_reference.mean()),
    }


def _fmt(value, spec):
    if value is None:
        return "n/a"
    if isinstance(value, float) and not np.isfinite(value):
        return "n/a"
    return format(value, spec)


def _yes_no(flag):
    return "yes" if flag else "no"


def format_table(result: DemoResult, model_name: str = "model", ig_steps: int = IG_STEPS) -> str:
    """Table 1 as Markdown: claimed properties next to the values measured for this model."""
    n = len(result.indices)
    lines = [
        f"# Table 1 — attribution methods on `{result.dataset}` ({model_name}, weights: {result.model_path})",
        "",
        f"{n} test images (indices {', '.join(map(str, result.indices.tolist()))}), target = predicted class, "
        f"reference x′ = 0; test accuracy {result.accuracy:.1%}.",
        "",
        "| method | reference required | class-discriminative | operating area | attribution sign "
        "| completeness error | ms / image | backward calls (batch) | rows / image "
        "| Pearson r with IG | class discrimination |",
        "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    notes: list[str] = []
    for name, row in result.rows.items():
        method = get(name)
        reference, discriminative = _yes_no(method.needs_baseline), _discrimination_cell(result, name, notes)
        lines.append(
            f"| {table_label(name, ig_steps)} | {reference} | {discriminative} | {method.area} | {method.sign} "
            f"| {_fmt(row['completeness'], '.2e')} | {_fmt(row['ms_per_image'], '.2f')} "
            f"| {row['backward_calls']} | {_fmt(row['rows_per_image'], 'g')} "
            f"| {_fmt(row['pearson_ig'], '.3f')} | {_fmt(row['class_discrimination'], '.3f')} |"
        )
    lines += [
        "",
        "Claimed columns: design properties as usually summarised (Grad-CAM paper Table 1, DeepLIFT, IG).",
        "Measured columns, averaged over the images:",
        "",
        "- completeness error: |Σa − (t(x) − t(x′))| / |t(x) − t(x′)| (n/a for Grad-CAM);",
        "- ms / image: wall time of one call on the batch / n, the fastest of 3 calls after the first;",
        "- backward calls (batch): engine backward passes for the whole batch; rows / image: rows they",
        "  propagate / n (IG: one row per step; DeepLIFT: one pass on the doubled batch [x; x′]);",
        "- Pearson r with IG: per-image correlation with the IG map (channels summed);",
        "- class discrimination: D = 1 − Spearman ρ(|a_c|, |a_c′|) between the maps for the predicted class c",
        "  and the runner-up c′ (0 = the same pixels for both classes, 1 = unrelated; `compare` uses it too);",
        f"  the claim column says \"measured\" where D disagrees with the claim (D ≥ {DISCRIMINATIVE:g}: class-discriminative).",
        "",
        "Notes on class discrimination (computed from this run):",
        "",
    ]
    lines += [f"{i}. {note}" for i, note in enumerate(notes + [_grad_cam_note(result)], start=1)]
    lines.append("")
    return "\n".join(lines)


def _discrimination_cell(result, name, notes):
    """"yes"/"no" when the measured D agrees with the claim, otherwise the claim, the measurement
    and the number of the note (appended to `notes`) that says why."""
    method, row = get(name), result.rows[name]
    d = row["class_discrimination"]
    if d is None or not np.isfinite(d) or (d >= DISCRIMINATIVE) == method.class_discriminative:
        return _yes_no(method.class_discriminative)
    notes.append(_why_not(result, name))
    return f"{_yes_no(method.class_discriminative)} (poster) / measured {d:.2f}: {_yes_no(d >= DISCRIMINATIVE)} [{len(notes)}]"


def _why_not(result, name):
    """The note for a claim the measured D contradicts, from the numbers of this run."""
    method, row, e = get(name), result.rows[name], result.evidence
    label = table_label(name)
    if method.class_discriminative and method.area == "input" and method.sign == "signed":
        return (f"{label}: its map is (x − x′) times an average gradient, 0 wherever x = x′ for every class "
                f"({e['reference_share']:.0%} of the pixels here), so both classes' maps weigh the same pixels (ρ of "
                f"|a| = {1 - row['class_discrimination']:.2f}); what changes with the class is the sign (signed "
                f"ρ = {row['signed_rho']:.2f}).")
    if method.class_discriminative and "input" in method.area and "feature maps" in method.area:
        return (f"{label}: its guided-backprop factor does not change with the class (guided backprop alone: "
                f"D = {e['guided_backprop']:.2f}); only its Grad-CAM factor does (Grad-CAM: "
                f"D = {result.rows['grad_cam']['class_discrimination']:.2f}).")
    if not method.class_discriminative:
        where = (": the maps differ mostly where x = x′, off the object a heat map shows"
                 if row["d_off_reference"] < DISCRIMINATIVE else ": the maps differ on the object itself")
        return (f"{label}: measured D = {row['class_discrimination']:.2f}; on the pixels where x ≠ x′ alone "
                f"D = {row['d_off_reference']:.2f}{where}.")
    return f"{label}: measured D = {row['class_discrimination']:.2f} (signed ρ = {row['signed_rho']:.2f}); see the next note."


def _grad_cam_note(result):
    e = result.evidence
    layers = ", ".join(f"`{layer}`{' (the default layer)' if is_default else ''} {'×'.join(map(str, shape))}: {d:.2f}"
                       + (f" ({constant} all-zero)" if constant else "")
                       for layer, shape, d, constant, is_default in e["grad_cam_by_layer"])
    return (f"Grad-CAM's D by layer (all-zero runner-up maps left out): {layers}. The statistic this table used "
            f"before, 1 − |Pearson r|, gives {e['grad_cam_old']:.2f} at the default layer, although the mean r is "
            f"{e['grad_cam_r']:.2f}: for many images r is strongly negative (the two classes' maps light different "
            f"regions of the coarse map), and |r| counted that as the same map.")

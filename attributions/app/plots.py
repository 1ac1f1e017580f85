"""The figures of the commands: explain's row of overlays, Figure 1 of a photograph (an ImageNet
model), and compare's figures (curves, convergence, agreement, randomisation, maps against masks).

Drawing of single maps (normalisation, colormaps, overlays, the method grid) is in
`attributions.visualize`; here those pieces are composed into the pictures the commands write.
Every function that writes a file uses the Agg backend and closes its figure.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure

from .. import visualize
from ..metrics import PerturbationCurve, RandomisationResult
from .photos import PhotoExplanation
from .statistics import mean_and_error

__all__ = ["PHOTO_FIGSIZE", "explanation_figure", "explanation_figure_size", "photo_figure", "perturbation_curves",
           "ig_convergence", "deeplift_against_ig", "randomisation", "maps_and_masks"]

PHOTO_FIGSIZE = (9.6, 7.0)  # inches, Figure 1 of a photograph (2 × 3 panels)
_BAR_STRIP = 0.55  # inches under explain's row of maps for the colour bar and its label
_MIN_WIDTH = 5.6  # inches: room for the title line and the colour bar's words with one or two maps


def explanation_figure_size(n_maps: int) -> tuple[float, float]:
    """(width, height) in inches of `explanation_figure` with n_maps maps (known before any work)."""
    return max(1.6 * (1 + n_maps), _MIN_WIDTH), 2.2 + _BAR_STRIP


def explanation_figure(image: np.ndarray, maps: Mapping[str, np.ndarray], image_title: str, suptitle: str) -> Figure:
    """One row: the input, then each map (titled by its key) as an overlay on it; under the maps
    a colour bar that says in words what red and blue mean."""
    width, height = explanation_figure_size(len(maps))
    fig = Figure(figsize=(width, height))
    axes = fig.subplots(1, 1 + len(maps), squeeze=False)[0]
    visualize.show_image(image, ax=axes[0], title=image_title)
    for ax, (title, a) in zip(axes[1:], maps.items()):
        visualize.overlay(image, a[0], ax=ax, title=title)
    fig.suptitle(suptitle, fontsize=9)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=(_BAR_STRIP + 0.05) / height, top=1 - 0.62 / height, wspace=0.08)
    few = len(maps) < 3  # a narrow figure: the bar spans the whole row and says it shorter
    first, last = axes[0 if few else 1].get_position(), axes[-1].get_position()
    cax = fig.add_axes((first.x0, 0.3 / height, last.x1 - first.x0, 0.09 / height))
    visualize.add_colorbar(fig, cax, signed=True, label="red raises the class score, blue lowers it" if few else None)
    return fig


def _class_title(method, names, index, probability):
    from .photos import format_probability

    return f"{method}\n{names[index]} ({index}), p = {format_probability(probability)}"


def photo_figure(explanation: PhotoExplanation, photo_title: str, suptitle: str) -> Figure:
    """The poster's Figure 1 for one photo, 2 × 3 panels (`photos.PhotoExplanation`):

        photo                 DeepLIFT (target)             Integrated Gradients (target)
        top-5 probabilities   Grad-CAM (target)             Grad-CAM (strongest other class)

    Every map is drawn over the photo (the 224×224 crop the model saw, unnormalised); titles
    name the class, its index and its softmax probability.
    """
    from minicnn.data import imagenet_classes, imagenet_unnormalize

    from .photos import format_probability, top_classes

    names = imagenet_classes()
    e = explanation
    p = e.probabilities
    photo = imagenet_unnormalize(e.x[0])
    fig = Figure(figsize=PHOTO_FIGSIZE)
    axes = fig.subplots(2, 3)
    visualize.show_image(photo, ax=axes[0, 0], title=photo_title)
    visualize.overlay(photo, e.deeplift, ax=axes[0, 1], title=_class_title("DeepLIFT-Rescale", names, e.target, p[e.target]))
    visualize.overlay(photo, e.integrated_gradients, ax=axes[0, 2],
                      title=_class_title(f"Integrated Gradients ({e.ig_steps} steps)", names, e.target, p[e.target]))
    for ax, cls in zip(axes[1, 1:], (e.target, e.contrast)):
        visualize.overlay(photo, e.grad_cam[cls], ax=ax, signed=False,
                          title=_class_title(f"Grad-CAM ({e.layer})", names, cls, p[cls]))
    top = top_classes(p, 5)
    bars = axes[1, 0]
    bars.barh(range(len(top))[::-1], [q for _, _, q in top], color=["tab:red" if i == e.target else "tab:grey" for i, _, _ in top])
    bars.set_yticks(range(len(top))[::-1])
    bars.set_yticklabels([f"{name} ({i})" for i, name, _ in top], fontsize=7)
    widest = max(q for _, _, q in top)
    bars.set_xlim(0, min(1.0, 1.3 * widest) if widest > 0 else 1.0)  # random weights: p ≈ 0.001, still readable
    for row, (_, _, q) in zip(range(len(top))[::-1], top):
        bars.text(q, row, f" {format_probability(q)}", va="center", fontsize=7)
    bars.set_xlabel("softmax probability", fontsize=8)
    bars.set_title("top-5 classes", fontsize=9)
    bars.tick_params(axis="x", labelsize=7)
    for ax in axes.ravel()[1:]:
        ax.title.set_fontsize(9)
    fig.suptitle(f"{suptitle}; reference x′ = 0 (the mean ImageNet colour)", fontsize=9)
    fig.subplots_adjust(left=0.12, right=0.91, bottom=0.06, top=0.88, wspace=0.12, hspace=0.3)
    for row, signed, label in ((0, True, "red raises the class score, blue lowers it"),
                               (1, False, "darker red: more evidence for the class")):
        box = axes[row, 2].get_position()
        visualize.add_colorbar(fig, fig.add_axes((0.925, box.y0, 0.012, box.height)), signed=signed,
                               orientation="vertical", label=label)
    return fig


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _style(name, controls):
    """Controls dashed (the first grey, the others black), so they read as reference lines."""
    return {"linestyle": "--", "color": "grey" if name == controls[0] else "black"} if name in controls else {}


def perturbation_curves(curves: Mapping[str, tuple[PerturbationCurve, PerturbationCurve]], path: str, which: int,
                        title: str, note: str, controls: Sequence[str] = ()) -> None:
    """Mean deletion (which = 0) or insertion (1) curve per method, {label: (deletion, insertion)}."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for name, pair in curves.items():
        c = pair[which]
        ax.plot(c.fractions, c.scores.mean(axis=0), marker=".", label=f"{name} (AUC {c.auc.mean():.3f})", **_style(name, controls))
    ax.set_xlabel("fraction of pixels " + ("deleted" if which == 0 else "inserted"))
    ax.set_ylabel("target probability (mean over images)")
    ax.set_title(f"{title}; {note}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7)
    _save(fig, path)


def _save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)


def ig_convergence(convergence: Mapping[str, Any], path: str) -> None:
    """IG's relative completeness error against steps, one line per quadrature rule (log-log)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for rule, errors in convergence["errors"].items():
        ax.loglog(convergence["steps"], np.maximum(errors, 1e-16), marker="o", label=rule)
    ax.set_xlabel("steps (quadrature nodes)")
    ax.set_ylabel("mean |Σ IG − (t(x) − t(0))| / |t(x) − t(0)|")
    ax.set_title("Integrated Gradients: completeness error against steps")
    ax.legend(fontsize=8)
    _save(fig, path)


def deeplift_against_ig(attributions: Mapping[str, np.ndarray], agreement: Mapping[str, Any], path: str) -> None:
    """DeepLIFT (both rules) against IG pixel by pixel, {label: attributions}, with the correlations."""
    plt = _pyplot()
    ig = attributions["Integrated Gradients"].ravel()
    rng = np.random.default_rng(0)
    pick = rng.choice(len(ig), size=min(len(ig), 20000), replace=False)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    for ax, rule in zip(axes, ("DeepLIFT-Rescale", "DeepLIFT-RevealCancel")):
        dl = attributions[rule].ravel()
        pooled = np.corrcoef(ig, dl)[0, 1]
        per_image = np.nanmean(agreement[rule][0])
        ax.scatter(ig[pick], dl[pick], s=2, alpha=0.3)
        lim = np.abs(np.concatenate([ig[pick], dl[pick]])).max()
        ax.plot([-lim, lim], [-lim, lim], color="black", linewidth=0.8)
        ax.set_xlabel("Integrated Gradients (50 steps), per pixel")
        ax.set_ylabel(f"{rule}, per pixel")
        ax.set_title(f"pooled r = {pooled:.3f}; mean per-image r = {per_image:.3f}", fontsize=9)
    fig.suptitle("DeepLIFT against Integrated Gradients (zero baseline)")
    _save(fig, path)


def randomisation(results: Mapping[str, RandomisationResult], path: str, controls: Sequence[str] = ()) -> None:
    """Spearman ρ per cumulatively randomised layer, one line per method ({label: RandomisationResult})."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for name, result in results.items():
        means = [mean_and_error(row)[0] for row in result.spearman]
        errors = [mean_and_error(row)[1] for row in result.spearman]
        ax.errorbar(range(len(means)), means, yerr=np.nan_to_num(errors), marker="o", capsize=2, label=name, **_style(name, controls))
    layers = next(iter(results.values())).layers
    ax.set_xticks(range(len(layers)))
    ax.set_xticklabels(["original"] + [f"+{name}" for name in layers[1:]], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("Spearman ρ with the original |map|")
    ax.set_xlabel("layers re-initialised, cumulatively from the top")
    ax.set_title("Cascading model-parameter randomisation (lower = depends on the weights)")
    ax.axhline(0, color="grey", linewidth=0.6)
    ax.legend(fontsize=7)
    _save(fig, path)


def maps_and_masks(images: np.ndarray, attributions: Mapping[str, np.ndarray], masks: npt.ArrayLike,
                   titles: Optional[Mapping[str, str]] = None) -> Figure:
    """Every method's map next to the ground truth: one row per image, the columns the input, its
    mask, then one signed map per method ({label: (N, C, H, W) or (N, H, W)}), each map with the
    mask's outline drawn on it, so one sees at a glance which maps stay inside the object.
    Returns the Figure (`visualize.attribution_grid` with the mask as its first map column)."""
    masks = np.asarray(masks)
    if masks.ndim != 3 or len(masks) != len(images):
        raise ValueError(f"masks: expected one (H, W) mask per image, shape ({len(images)}, H, W), got {masks.shape}")
    columns = {"ground-truth mask": masks.astype(np.float64), **attributions}
    fig = visualize.attribution_grid(images, columns, titles={"ground-truth mask": "mask", **(titles or {})},
                                     cell_size=1.1)
    axes = np.asarray(fig.axes[: len(images) * (1 + len(columns))]).reshape(len(images), 1 + len(columns))
    for row, mask in zip(axes, masks):
        for ax in row[2:]:
            ax.contour(mask.astype(np.float64), levels=[0.5], colors="black", linewidths=0.5)
    return fig

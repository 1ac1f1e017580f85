"""The figures of the commands: explain's row of overlays, and compare's five figures.

Drawing of single maps (normalisation, colormaps, overlays, the method grid) is in
`attributions.visualize`; here those pieces are composed into the pictures the commands write.
Every function that writes a file uses the Agg backend and closes its figure.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .. import visualize
from .statistics import mean_and_error

__all__ = ["explanation_figure", "perturbation_curves", "ig_convergence", "deeplift_against_ig", "randomisation"]


def explanation_figure(image, maps, image_title, suptitle):
    """One row: the input, then each map (titled by its key) as an overlay on it."""
    fig = Figure(figsize=(1.6 * (1 + len(maps)), 2.2))
    axes = fig.subplots(1, 1 + len(maps), squeeze=False)[0]
    visualize.show_image(image, ax=axes[0], title=image_title)
    for ax, (title, a) in zip(axes[1:], maps.items()):
        visualize.overlay(image, a[0], ax=ax, title=title)
    fig.suptitle(suptitle, fontsize=9)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.03, top=0.72, wspace=0.08)
    return fig


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _style(name, controls):
    """Controls dashed (the first grey, the others black), so they read as reference lines."""
    return {"linestyle": "--", "color": "grey" if name == controls[0] else "black"} if name in controls else {}


def perturbation_curves(curves, path, which, title, note, controls=()):
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


def ig_convergence(convergence, path):
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


def deeplift_against_ig(attributions, agreement, path):
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


def randomisation(results, path, controls=()):
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

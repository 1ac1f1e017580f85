"""`reproduce ig-convergence`: how many steps Integrated Gradients needs for completeness within 5 %.

Sundararajan, Taly & Yan 2017, "Axiomatic Attribution for Deep Networks", §5 (Computing
integrated gradients): IG is approximated by a Riemann sum over m steps,

    IG_i(x) ≈ (x_i − x′_i) · Σ_{k=1}^{m} ∂F(x′ + (k/m)(x − x′))/∂x_i · 1/m,

and "somewhere between 20 and 300 steps are enough to approximate the integral (within 5%)",
checked through completeness Σ_i IG_i = F(x) − F(x′).

Here, for every bundled model, quadrature rule (`attributions.quadrature`; the paper's sum is
`riemann_right`) and image, the relative completeness error

    e(m) = |Σ_i IG_i(x; m) − (F(x) − F(x′))| / |F(x) − F(x′)|,   x′ = 0 (the paper's black image),

is measured on a grid of step counts m; the steps needed are the smallest m of the grid from which
e stays ≤ 5 % for every larger m of the grid ("within 5 %" that does not come back out).
F is the logit of the image's (correctly) predicted class.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from matplotlib.figure import Figure

from ..inputs import forward_scores
from ..integrated_gradients import METHODS as RULES
from ..integrated_gradients import integrated_gradients
from .page import Result
from .samples import BUNDLED_DATASETS, bundled_model, correct_test_images

__all__ = ["run", "steps_needed", "TOLERANCE", "PAPER_RULE", "PAPER_RANGE"]

TOLERANCE = 0.05  # the paper's "within 5%"
PAPER_RULE = "riemann_right"  # the sum in the paper's §5, k = 1…m
PAPER_RANGE = (20, 300)
GRID = (2, 3, 4, 6, 8, 12, 16, 20, 32, 50, 64, 100, 128, 200, 300)  # every point costs its steps' passes
QUICK_GRID = (2, 4, 8, 16, 32, 64, 128, 300)
IMAGES, QUICK_IMAGES = 20, 4
AGREE_SHARE = 0.95  # "300 steps suffice" holds when at least this share of images is within 5 % by 300


def steps_needed(errors: np.ndarray, grid: Sequence[int], tolerance: float = TOLERANCE) -> np.ndarray:
    """The smallest m of `grid` with errors ≤ tolerance at m and at every larger m of the grid, per
    row of `errors` (images × grid); NaN where even the last m is outside."""
    inside = np.asarray(errors) <= tolerance
    stays = np.flip(np.logical_and.accumulate(np.flip(inside, axis=1), axis=1), axis=1)  # inside from m on
    first = np.argmax(stays, axis=1)
    return np.where(stays[:, -1], np.asarray(grid, dtype=np.float64)[first], np.nan)


def _errors(model, x, y, grid):
    """e(m) for every image (rows), rule and m (columns): {rule: (images, len(grid)) array}."""
    gap = forward_scores(model, x, y) - forward_scores(model, np.zeros_like(x), y)
    errors = {}
    for rule in RULES:
        columns = [integrated_gradients(model, x, y, steps=m, method=rule, return_delta=True)[1] for m in grid]
        errors[rule] = np.abs(np.stack(columns, axis=1)) / np.abs(gap)[:, None]
    return errors, gap


def _figure(curves, grid):
    figure = Figure(figsize=(4.2 * len(curves), 3.6), layout="constrained")
    for axes, (dataset, errors) in zip(figure.subplots(1, len(curves), squeeze=False)[0], curves.items()):
        for rule, e in errors.items():
            axes.loglog(grid, np.median(e, axis=0), marker=".", label=rule, lw=2 if rule == PAPER_RULE else 1)
        axes.axhline(TOLERANCE, color="k", ls="--", lw=0.8)
        axes.axvspan(*PAPER_RANGE, color="0.9", zorder=0)
        axes.set(title=f"{dataset} (median over images)", xlabel="steps m", ylabel="relative completeness error")
    axes.legend(fontsize=7)
    figure.suptitle("Integrated Gradients: completeness error against steps (grey: the paper's 20–300; dashed: 5 %)")
    return figure


def _verdict(share_300, median_paper_rule, fastest_rule, fastest_median):
    low, high = PAPER_RANGE
    if share_300 < AGREE_SHARE:
        return (f"Disagrees: with the paper's right Riemann sum only {share_300:.0%} of the images are within 5 % "
                f"by {high} steps (median need {median_paper_rule:g} steps).")
    where = "inside" if low <= median_paper_rule <= high else ("below" if median_paper_rule < low else "above")
    sentence = (f"Agrees that {high} steps suffice ({share_300:.0%} of the images within 5 % with the paper's right "
                f"Riemann sum); the median need is {median_paper_rule:g} steps, {where} the paper's {low}–{high}")
    if where == "below":
        sentence += (", likely because these small nets' logits bend less along the path than the paper's "
                     "Inception network's")
    return sentence + f"; {fastest_rule} needs fewest (median {fastest_median:g})."


def run(quick: bool = False, seed: int = 0, **options: Any) -> Result:
    """Measure the steps needed per model and rule; see the module docstring."""
    if options:
        raise TypeError(f"ig-convergence: unexpected options {', '.join(options)}")
    grid, n = (QUICK_GRID, QUICK_IMAGES) if quick else (GRID, IMAGES)
    datasets = ("digits",) if quick else BUNDLED_DATASETS
    table: list[dict[str, Any]] = []
    numbers: dict[str, Any] = {}
    curves: dict[str, Any] = {}
    paper_needs: list[np.ndarray] = []
    all_needs: dict[str, list[np.ndarray]] = {rule: [] for rule in RULES}
    for dataset in datasets:
        model, data = bundled_model(dataset)
        x, y, _ = correct_test_images(model, data, n, seed)
        errors, gap = _errors(model, x, y, grid)
        keep = np.abs(gap) > 1e-6  # a relative error needs F(x) ≠ F(x′)
        errors = {rule: e[keep] for rule, e in errors.items()}
        curves[dataset] = errors
        for rule, e in errors.items():
            needs = steps_needed(e, grid)
            all_needs[rule].append(needs)
            if rule == PAPER_RULE:
                paper_needs.append(needs)
            at = {m: float(np.mean(e[:, grid.index(m)] <= TOLERANCE)) for m in PAPER_RANGE if m in grid}
            key = f"{dataset}_{rule}"
            numbers[f"{key}_median_steps"] = float(np.nanmedian(needs)) if np.isfinite(needs).any() else np.nan
            numbers[f"{key}_max_steps"] = float(np.max(needs)) if np.isfinite(needs).all() else np.nan
            numbers[f"{key}_share_within_at_20"] = at.get(20, np.nan)
            numbers[f"{key}_share_within_at_300"] = at[300]
            table.append({"model": dataset, "rule": rule, "images": int(keep.sum()),
                          "median steps to 5 %": numbers[f"{key}_median_steps"],
                          "max steps to 5 %": numbers[f"{key}_max_steps"],
                          "share within 5 % at 20 steps": numbers[f"{key}_share_within_at_20"],
                          "share within 5 % at 300 steps": numbers[f"{key}_share_within_at_300"]})
    paper = np.concatenate(paper_needs)
    numbers["share_within_by_300_paper_rule"] = float(np.mean(np.isfinite(paper)))
    numbers["median_steps_paper_rule"] = float(np.median(np.where(np.isfinite(paper), paper, np.inf)))
    medians = {rule: float(np.median(np.where(np.isfinite(v), v, np.inf))) for rule, v in
               ((rule, np.concatenate(v)) for rule, v in all_needs.items())}
    fastest = min(medians, key=lambda rule: medians[rule])
    numbers["fastest_rule_median_steps"] = medians[fastest]
    verdict = _verdict(numbers["share_within_by_300_paper_rule"], numbers["median_steps_paper_rule"], fastest,
                       medians[fastest])
    details = (
        "**Protocol.** Baseline x′ = 0 (a black image, the paper's choice); F = the logit of the predicted class "
        f"of {n} correctly classified test images per bundled model (seed {seed}); relative completeness "
        f"error e(m) on the step grid {', '.join(map(str, grid))}; \"steps to 5 %\" = the smallest m of the grid "
        "from which e stays ≤ 5 %, empty (–) when e is above 5 % at 300. The paper's rule is the right Riemann sum "
        "(`riemann_right`); the other rules of `attributions.quadrature` are shown beside it. The paper measured "
        "on Inception (ImageNet); these are the project's small digit, face and shape nets.")
    return Result(name="ig-convergence", title="Integrated Gradients: steps for completeness within 5 %",
                  claim="somewhere between 20 and 300 steps are enough to approximate the integral within 5 %, "
                        "checked through completeness Σᵢ IGᵢ = F(x) − F(x′)",
                  source="Sundararajan, Taly & Yan 2017, *Axiomatic Attribution for Deep Networks*, §5",
                  table=table, verdict=verdict, figure=_figure(curves, grid), numbers=numbers, details=details)

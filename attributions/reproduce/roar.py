"""`reproduce roar`: Hooker, Erhan, Kindermans & Kim, "A Benchmark for Interpretability Methods in
Deep Neural Networks", NeurIPS 2019 — RemOve And Retrain (ROAR), on shapes and digits.

A model f is trained on the clean data. Each estimator e ranks every image's P pixels by |e(x)|
(channels summed; e for the image's label, computed on f, for the training AND the test images).
For each fraction t, x̃ is x with its ⌈t·P⌉ top-ranked pixels replaced by the per-channel mean of
the clean training images μ_c, in every channel. A fresh model f_{e,t} is trained from the same
seed with the same recipe on (x̃_train, y_train) and its accuracy measured on x̃_test:

    acc(e, t) = accuracy of f_{e,t} on the degraded test set        t ∈ {0.1, 0.3, 0.5, 0.7, 0.9}

Retraining is the point: removing pixels without retraining moves the images off the training
distribution, so the accuracy would drop whatever was removed. A ranking that finds the
informative pixels leaves less to learn: **lower accuracy is better**. The reference is a random
ranking. At t = 0 nothing is removed: the retrained model is the trained one, bit for bit.

Estimators (Hooker et al.'s base estimators and their ensembles over noisy copies, on the raw
gradient g): gradient g, Integrated Gradients, guided backprop, SmoothGrad mean g, SmoothGrad²
mean g², VarGrad mean g² − (mean g)². The paper: gradient, IG and guided backprop are no better
than random (and SmoothGrad is not either); SmoothGrad² and VarGrad are far better.

"Better than random": the accuracy averaged over the five fractions is lower than the random
ranking's by more than twice the standard error of that difference. The error counts only the
test images' sampling (binomial, sqrt(p(1−p)/n) per accuracy); Hooker et al. also retrained five
times per cell, which a 2-core budget cannot afford, so seed-to-seed variation is not in it.

The retrainings (and the rankings) are independent jobs run by `jobs.job_runner`: a dask
`LocalCluster` by default, `scheduler=ADDRESS` for an existing cluster, "serial" without dask;
they are seeded, so the numbers are the same wherever they ran.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Mapping, Optional, Sequence

import numpy as np

import attributions as A
import minicnn as mc
from minicnn.data import Dataset, load_dataset
from minicnn.models import build
from minicnn.train import evaluate, train

from ..app.registry import get
from ..metrics import pixel_map
from ..metrics._pixels import pixel_ranks
from .jobs import default_scheduler, job_runner
from .page import Result

__all__ = ["run", "Setup", "METHODS", "FRACTIONS", "remove_pixels", "ranking", "retrain", "roar_accuracies"]

FRACTIONS = (0.1, 0.3, 0.5, 0.7, 0.9)
METHODS = {  # name → label
    "random": "Random",
    "gradient": "Gradient",
    "integrated_gradients": "Integrated Gradients",
    "guided_backprop": "Guided backprop",
    "smoothgrad": "SmoothGrad",
    "smoothgrad_sq": "SmoothGrad²",
    "vargrad": "VarGrad",
}
EXPECTED_BETTER = {"random": False, "gradient": False, "integrated_gradients": False, "guided_backprop": False,
                   "smoothgrad": False, "smoothgrad_sq": True, "vargrad": True}


@dataclasses.dataclass(frozen=True)
class Setup:
    """Everything a job needs to rebuild the data and the training run (small, sent to workers)."""

    dataset: str
    arch: str
    data_options: tuple  # (("n_train", 4000), ...): keyword arguments of the dataset loader
    epochs: int
    lr: float
    batch_size: int = 64
    seed: int = 0
    samples: int = 15      # noisy copies for SmoothGrad / SmoothGrad² / VarGrad
    stdev: float = 0.15    # their noise level, as a fraction of the image's range (the registry's)
    ig_steps: int = 16
    chunk: int = 256       # images explained per call

    def data(self) -> Dataset:
        return load_dataset(self.dataset, seed=self.seed, **dict(self.data_options))


def remove_pixels(x: np.ndarray, ranks: np.ndarray, fraction: float, fill: np.ndarray) -> np.ndarray:
    """x (N, C, H, W) with the ⌈fraction·P⌉ top-ranked pixels of each image (rank 0 = most
    relevant; ranks (N, H·W)) set to fill[c] in every channel c."""
    n, c, h, w = x.shape
    removed = (ranks < math.ceil(fraction * h * w - 1e-9)).reshape(n, 1, h, w)
    return np.where(removed, np.asarray(fill, dtype=x.dtype).reshape(1, c, 1, 1), x)


def _trained_model(setup, x_train, y_train, data):
    mc.nn.init.manual_seed(setup.seed)
    model = build(setup.arch, data.input_shape, data.n_classes)
    train(model, dataclasses.replace(data, x_train=x_train, y_train=y_train), setup.epochs, setup.lr,
          setup.batch_size, seed=setup.seed, progress=False)
    return model


def retrain(setup: Setup, ranks: Optional[tuple[np.ndarray, np.ndarray]] = None, fraction: float = 0.0,
            keep_state: bool = False) -> dict[str, Any]:
    """One ROAR cell: degrade train and test by `ranks` = (train ranks, test ranks) at `fraction`
    (None or 0: the clean data), train a fresh model from the seed, test it.
    Returns {"accuracy", and "state" (the weights) with keep_state}."""
    data = setup.data()
    x_train, x_test = data.x_train, data.x_test
    if ranks is not None and fraction > 0:
        fill = data.x_train.mean(axis=(0, 2, 3))  # the per-channel mean of the clean training images
        x_train = remove_pixels(x_train, ranks[0], fraction, fill)
        x_test = remove_pixels(x_test, ranks[1], fraction, fill)
    model = _trained_model(setup, x_train, data.y_train, data)
    out = {"accuracy": evaluate(model, x_test, data.y_test)}
    if keep_state:
        out["state"] = model.state_dict()
    return out


def _estimator(name, setup):
    """explain(model, x, target) for the method `name` (raw gradient as the ensembles' base)."""
    noise = dict(samples=setup.samples, stdev=setup.stdev, seed=setup.seed)
    if name == "random":
        return get("random")
    if name == "gradient":
        return A.input_gradient
    if name == "integrated_gradients":
        return lambda model, x, target: A.integrated_gradients(model, x, target, steps=setup.ig_steps)
    if name == "guided_backprop":
        return A.guided_backprop
    if name in ("smoothgrad", "smoothgrad_sq"):
        return lambda model, x, target: A.noise_tunnel(A.input_gradient, model, x, target, mode=name, **noise)
    if name == "vargrad":
        return lambda model, x, target: A.noise_tunnel(A.input_gradient, model, x, target, mode="vargrad", **noise)
    raise ValueError(f"method: expected one of {', '.join(METHODS)}, got {name!r}")


def ranking(setup: Setup, baseline: Mapping[str, Any], name: str) -> tuple[np.ndarray, ...]:
    """(train ranks, test ranks), int16 (N, H·W), of method `name` on the model trained on the
    clean data (`baseline["state"]`), each image explained for its label."""
    data = setup.data()
    model = build(setup.arch, data.input_shape, data.n_classes)
    model.load_state_dict(baseline["state"])
    model.eval()
    explain = _estimator(name, setup)
    out = []
    for x, y in ((data.x_train, data.y_train), (data.x_test, data.y_test)):
        maps = [pixel_map(np.abs(explain(model, x[i:i + setup.chunk], y[i:i + setup.chunk])))
                for i in range(0, len(x), setup.chunk)]
        out.append(pixel_ranks(np.concatenate(maps), seed=setup.seed).astype(np.int16))
    return tuple(out)


def roar_accuracies(setup: Setup, methods: Sequence[str], fractions: Sequence[float], scheduler: str = "local"
                    ) -> dict[str, Any]:
    """{"baseline": accuracy of the model trained on clean data, "clean": the t = 0 retraining,
    method: [accuracy at each fraction]}; every training and ranking one job (see `jobs`)."""
    with job_runner(scheduler) as jobs:
        baseline = jobs.submit(retrain, setup, None, 0.0, True)
        clean = jobs.submit(retrain, setup)
        ranks = {name: jobs.submit(ranking, setup, baseline, name) for name in methods}
        cells = {name: [jobs.submit(retrain, setup, ranks[name], t) for t in fractions] for name in methods}
        first = jobs.gather([baseline, clean])
        accuracies = {name: [c["accuracy"] for c in jobs.gather(cells[name])] for name in methods}
    return {"baseline": first[0]["accuracy"], "clean": first[1]["accuracy"], **accuracies}


TITLE = "ROAR: remove the top-ranked pixels, retrain, test"
CLAIM = ("Removing the pixels ranked most important by the gradient, Integrated Gradients or guided backprop and "
         "retraining degrades accuracy no more than removing random pixels; SmoothGrad² and VarGrad rankings degrade "
         "it far more.")
SOURCE = ("Hooker, Erhan, Kindermans & Kim, A Benchmark for Interpretability Methods in Deep Neural Networks, "
          "NeurIPS 2019, Fig. 4")

# the runs: (dataset, architecture, loader options, epochs, lr). Sized for 2 shared cores: each of
# the 37 trainings per dataset is a LeNet (the bundled shapes VGG would take ~8× longer), for 10
# epochs (the bundled digits model trained 40), on 1000 / 500 shapes images (of 4000 / 1000).
FULL = (
    ("shapes", "lenet", (("n_train", 1000), ("n_test", 500)), 10, 3e-3),
    ("digits", "lenet", (("size", 16),), 10, 3e-3),
)
QUICK = (("digits", "lenet", (("size", 16),), 5, 3e-3),)
QUICK_METHODS = ("random", "gradient", "smoothgrad_sq")
QUICK_FRACTIONS = (0.1, 0.5, 0.9)


def _better_than_random(numbers, dataset, name, n_test, fractions):
    """(mean accuracy − random's, 2 × its standard error): the verdict's margin."""
    def mean_and_variance(method):
        acc = np.array([numbers[f"{dataset}.{method}.{t:g}"] for t in fractions])
        return acc.mean(), (acc * (1 - acc) / n_test).sum() / len(acc) ** 2

    m, v = mean_and_variance(name)
    r, w = mean_and_variance("random")
    return float(m - r), 2 * math.sqrt(v + w)


def _table_and_verdict(numbers, runs, methods, fractions):
    rows, agreements = [], []
    for dataset, n_test in runs:
        for name in methods:
            difference, margin = _better_than_random(numbers, dataset, name, n_test, fractions)
            better = difference < -margin
            numbers[f"{dataset}.{name}.better_than_random"] = bool(better)
            if name != "random":
                agreements.append((dataset, name, better == EXPECTED_BETTER[name]))
            numbers[f"{dataset}.{name}.mean_minus_random"] = float(difference)
            rows.append({"dataset": dataset, "method": METHODS[name], "0%": numbers[f"{dataset}.clean"],
                         **{f"{t:.0%}": numbers[f"{dataset}.{name}.{t:g}"] for t in fractions},
                         "mean − random": difference, "2 s.e.": margin,
                         "better than random": bool(better),
                         "paper": "—" if name == "random" else ("better" if EXPECTED_BETTER[name] else "not better")})
    held = [f"{METHODS[n]} on {d}" for d, n, ok in agreements if not ok]
    better = "; ".join(f"on {d}: {', '.join(METHODS[n] for n in methods if numbers[f'{d}.{n}.better_than_random']) or 'none'}"
                       for d, _ in runs)
    verdict = (f"{len(agreements) - len(held)} of {len(agreements)} (dataset, method) cells agree with the paper; "
               f"better than random {better}" + (f"; disagreeing: {', '.join(held)}." if held else "."))
    return rows, verdict


def _figure(numbers, datasets, methods, fractions):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2 * len(datasets), 3.4))
    axes = fig.subplots(1, len(datasets), squeeze=False)[0]
    for ax, dataset in zip(axes, datasets):
        for i, name in enumerate(methods):
            acc = [numbers[f"{dataset}.clean"]] + [numbers[f"{dataset}.{name}.{t:g}"] for t in fractions]
            ax.plot([0, *fractions], acc, marker="o", markersize=3, color="black" if name == "random" else f"C{i}",
                    linestyle="--" if name == "random" else "-", label=METHODS[name])
        ax.set_xlabel("fraction of pixels removed (then retrained)")
        ax.set_ylabel("test accuracy")
        ax.set_title(f"ROAR on {dataset}", fontsize=9)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def run(quick: bool = False, seed: int = 0, scheduler: str | None = None, datasets: str | None = None,
        **options: Any) -> Result:
    """ROAR on shapes and digits (LeNets); `quick`: digits, 3 methods, 3 fractions, 5 epochs.

    scheduler -- "local" (a dask LocalCluster; the default when dask.distributed is installed),
                 "serial" (the default without it), or the address of a dask scheduler
    datasets  -- a comma-separated subset of the runs ("digits"): a shorter full run
    """
    if options:
        raise TypeError(f"roar: unexpected options {sorted(options)}; expected quick, seed, scheduler")
    scheduler = scheduler or default_scheduler()
    configs: tuple[tuple, ...] = QUICK if quick else FULL
    if datasets is not None:
        wanted = datasets.split(",")
        known = [c[0] for c in configs]
        if not wanted or any(d not in known for d in wanted):
            raise ValueError(f"datasets: expected a comma-separated subset of {', '.join(known)}, got {datasets!r}")
        configs = tuple(c for c in configs if c[0] in wanted)
    methods = QUICK_METHODS if quick else tuple(METHODS)
    fractions = QUICK_FRACTIONS if quick else FRACTIONS
    numbers, runs, details = {}, [], []
    for dataset, arch, data_options, epochs, lr in configs:
        setup = Setup(dataset, arch, data_options, epochs, lr, seed=seed, samples=4 if quick else 15)
        found = roar_accuracies(setup, methods, fractions, scheduler)
        numbers[f"{dataset}.baseline"] = found["baseline"]
        numbers[f"{dataset}.clean"] = found["clean"]
        for name in methods:
            numbers.update({f"{dataset}.{name}.{t:g}": a for t, a in zip(fractions, found[name])})
        runs.append((dataset, len(setup.data().y_test)))
        details.append(f"{dataset}: {arch}, {dict(data_options)}, {epochs} epochs of Adam at lr {lr:g}, batch "
                       f"{setup.batch_size}, seed {seed}")
    table, verdict = _table_and_verdict(numbers, runs, methods, fractions)
    return Result(
        name="roar", title=TITLE, claim=CLAIM, source=SOURCE,
        table=table,
        verdict=verdict,
        figure=_figure(numbers, [d for d, _ in runs], methods, fractions),
        numbers=numbers,
        details=_details(details, methods, fractions, scheduler, setup, numbers, [d for d, _ in runs]),
    )


def _details(runs, methods, fractions, scheduler, setup, numbers, datasets):
    where = {"serial": "one after the other in this process", "local": "on a dask LocalCluster (2 worker processes, "
             "1 thread each)"}.get(scheduler, f"on the dask cluster at {scheduler}")
    return (
        f"**Protocol.** Fractions {', '.join(f'{t:.0%}' for t in fractions)} of each image's pixels removed (set to the "
        "per-channel mean of the clean training images) by the ranking of |e(x)| that the model trained on the clean "
        "data gives, for the training and the test images (each explained for its label); then a fresh model of the "
        f"same architecture is trained from the same seed and tested on the degraded test set. Runs — "
        f"{'; '.join(runs)}. Estimators: {', '.join(METHODS[m] for m in methods)}; the noise ensembles average "
        f"{setup.samples} copies at noise {setup.stdev:g} × the image's range around the raw gradient, IG uses {setup.ig_steps} steps from a black image. 0% is one retraining on the clean data; with the "
        "same seed and data it must equal the trained model's accuracy: "
        + ", ".join(f"{numbers[f'{d}.clean']:.4f} against {numbers[f'{d}.baseline']:.4f} on {d}" for d in datasets)
        + ". "
        f"The {1 + 1 + len(methods) * (1 + len(fractions))} jobs per dataset ran {where}.\n\n"
        "**What differs from the paper.** Hooker et al. retrained ResNet-50s on ImageNet, Birdsnap and Food-101 five "
        "times per cell; here one small LeNet per cell on 16×16 digits and 32×32 shapes, so \"better than random\" "
        "only accounts for the test set's sampling error (2 s.e. of the difference of the mean accuracies), not for "
        "seed-to-seed variation of training.")

"""Attribution speed: minicnn's DeepLIFT, IG and Grad-CAM against Captum on the same networks.

    python benchmarks/attributions.py [--quick] [--threads 2]

For LeNet-5 (1×28×28) and the VGG-ish net (3×32×32), float64, weights copied from PyTorch:
per-image (batch 1) and per-batch (16 images) median milliseconds per call of
  - one forward + backward pass (saliency): the unit of cost,
  - DeepLIFT-Rescale, Integrated Gradients (50 steps, trapezoid), Grad-CAM (last conv),
  - LRP-ε (every layer ε; target ≤ 1.2 × DeepLIFT) and SmoothGrad of saliency with 50 samples
    (≈ 50 × one forward+backward at batch 1), against Captum's LRP and NoiseTunnel,
  - Occlusion (window 1×4×4, stride 1×2×2, 64 occluded inputs per forward pass on both sides;
    batch 1 only),
for minicnn and for Captum (when importable), their ratio, and each method's cost in units of
one forward+backward (the poster's efficiency claim: DeepLIFT ≈ 1 pass on a doubled batch,
IG ≈ steps passes). Runs alternate in short bursts (ours, theirs, ours, …) so machine noise hits
both alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import attributions as A  # noqa: E402
from minicnn import nn  # noqa: E402


# Forward passes only, one per window position (LeNet: 13 × 13; VGG-ish: 3 × 15 × 15), 64 per batch
OCCLUSION = "Occlusion (1×4×4, stride 2)"


def lenet(lib):
    return lib.Sequential(
        lib.Conv2d(1, 6, 5, padding=2), lib.ReLU(), lib.MaxPool2d(2),
        lib.Conv2d(6, 16, 5), lib.ReLU(), lib.MaxPool2d(2), lib.Flatten(),
        lib.Linear(400, 120), lib.ReLU(), lib.Linear(120, 84), lib.ReLU(), lib.Linear(84, 10),
    ), (1, 28, 28), "3"


def vgg(lib):
    return lib.Sequential(
        lib.Conv2d(3, 32, 3, padding=1), lib.ReLU(), lib.Conv2d(32, 32, 3, padding=1), lib.ReLU(), lib.MaxPool2d(2),
        lib.Conv2d(32, 64, 3, padding=1), lib.ReLU(), lib.Conv2d(64, 64, 3, padding=1), lib.ReLU(), lib.MaxPool2d(2),
        lib.Flatten(), lib.Linear(4096, 128), lib.ReLU(), lib.Linear(128, 10),
    ), (3, 32, 32), "7"


def captum_lrp_model(torch, sequential):
    """The same modules with the flatten done in forward: Captum's LRP has no rule for nn.Flatten."""
    layers = list(sequential)
    cut = next(i for i, layer in enumerate(layers) if isinstance(layer, torch.nn.Flatten))

    class Twin(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.before, self.after = torch.nn.Sequential(*layers[:cut]), torch.nn.Sequential(*layers[cut + 1:])

        def forward(self, x):
            return self.after(torch.flatten(self.before(x), 1))

    return Twin().eval()


def interleaved(pairs, repeats, burst=3):
    """Median ms per call of each callable, measured in alternating bursts so machine noise hits
    all of them alike. Each burst starts with one untimed call: thread pools (PyTorch's, OpenBLAS's,
    Numba's) that went idle while the other framework ran are awake again before the clock starts."""
    samples = {name: [] for name in pairs}
    for fn in pairs.values():
        fn()  # warm up (Numba compile, caches)
    for _ in range(repeats):
        for name, fn in pairs.items():
            fn()
            start = time.perf_counter()
            for _ in range(burst):
                fn()
            samples[name].append((time.perf_counter() - start) / burst)
    return {name: 1000 * statistics.median(s) for name, s in samples.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (about 30 s)")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("NUMBA_NUM_THREADS", os.cpu_count() or 1)))
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 7
    warnings.filterwarnings("ignore")  # Captum warns about hooks on every call
    try:
        import torch
        from captum import attr as captum_attr

        torch.set_num_threads(args.threads)
        torch.set_default_dtype(torch.float64)
    except ImportError:
        torch = captum_attr = None
        print("torch/captum not importable: minicnn timings only")
    rng = np.random.default_rng(0)
    rows = []
    for build in (lenet, vgg):
        ours, shape, last_conv = build(nn)
        if torch is not None:
            theirs = build(torch.nn)[0].double().eval()
            ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
        ours.eval()
        for batch in (1, 16):
            x = rng.normal(size=(batch,) + shape)
            target = np.arange(batch) % 10
            ours_fns = {
                "forward+backward": lambda: A.saliency(ours, x, target, abs=False),
                "DeepLIFT": lambda: A.deeplift(ours, x, target),
                "IG (50 steps)": lambda: A.integrated_gradients(ours, x, target, steps=50),
                "Grad-CAM": lambda: A.grad_cam(ours, x, target),
                "LRP-ε": lambda: A.lrp(ours, x, target, rule="epsilon", epsilon=1e-6),
                "SmoothGrad (50)": lambda: A.noise_tunnel("saliency", ours, x, target, samples=50, stdev=0.15),
            }
            if batch == 1:  # 16 images are ~10⁴ occluded forward rows a call (Captum: 90 s on the VGG-ish net)
                ours_fns[OCCLUSION] = lambda: A.occlusion(ours, x, target, window=(1, 4, 4), stride=(1, 2, 2),
                                                          batch_size=64)
            theirs_fns = {}
            if torch is not None:
                tx, tt = torch.from_numpy(x), torch.from_numpy(target)
                conv = theirs.get_submodule(last_conv)
                lrp_twin = captum_lrp_model(torch, theirs)
                theirs_fns = {
                    "forward+backward": lambda: captum_attr.Saliency(theirs).attribute(tx, target=tt, abs=False),
                    "DeepLIFT": lambda: captum_attr.DeepLift(theirs).attribute(tx, target=tt),
                    "IG (50 steps)": lambda: captum_attr.IntegratedGradients(theirs).attribute(
                        tx, target=tt, n_steps=50, method="riemann_trapezoid"
                    ),
                    "Grad-CAM": lambda: torch.nn.functional.interpolate(
                        captum_attr.LayerGradCam(theirs, conv).attribute(tx, target=tt, relu_attributions=True),
                        size=shape[1:], mode="bilinear", align_corners=False,
                    ),
                    "LRP-ε": lambda: captum_attr.LRP(lrp_twin).attribute(tx, target=tt),  # EpsilonRule everywhere
                    "SmoothGrad (50)": lambda: captum_attr.NoiseTunnel(captum_attr.Saliency(theirs)).attribute(
                        tx, target=tt, nt_type="smoothgrad", nt_samples=50, stdevs=0.15),
                }
                theirs_fns[OCCLUSION] = lambda: captum_attr.Occlusion(theirs).attribute(
                    tx, target=tt, sliding_window_shapes=(1, 4, 4), strides=(1, 2, 2), baselines=0.0,
                    perturbations_per_eval=64,
                )
            unit = None
            for method in ours_fns:
                pairs = {"ours": ours_fns[method]}
                if method in theirs_fns:
                    pairs["captum"] = theirs_fns[method]
                times = interleaved(pairs, repeats)
                unit = unit or times["ours"]
                rows.append((build.__name__, batch, method, times["ours"], times.get("captum"), times["ours"] / unit))
    print(f"\nthreads: {args.threads}; float64; median of {repeats} interleaved runs\n")
    print("| model | batch | method | minicnn ms | Captum ms | ratio | cost (× fwd+bwd) |")
    print("|---|---|---|---|---|---|---|")
    for model, batch, method, ours_ms, captum_ms, cost in rows:
        captum = f"{captum_ms:.1f}" if captum_ms else "—"
        ratio = f"{ours_ms / captum_ms:.2f}" if captum_ms else "—"
        print(f"| {model} | {batch} | {method} | {ours_ms:.1f} | {captum} | {ratio} | {cost:.2f} |")


if __name__ == "__main__":
    main()

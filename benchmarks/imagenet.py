"""ImageNet-scale speed: torchvision's architectures at 224×224 in minicnn against PyTorch/Captum.

    python benchmarks/imagenet.py            # every row (about 25 minutes on 2 cores)
    python benchmarks/imagenet.py --quick    # ResNet-18 batch-1 rows, fewer repeats (about 40 s)
    python benchmarks/imagenet.py --rows resnet50-fwdbwd-b1-float32,mobilenet_v2-fwdbwd-b1-float32

Each measurement runs in a process of its own (`--child`), and the frameworks alternate
A B A B …: PyTorch's OpenMP threads keep spinning after a call and would steal the cores of the
next minicnn step in the same process. A child builds the model with seeded random weights
(the same weights in both frameworks, BatchNorm statistics randomised, eval mode, parameters
requiring gradients as PyTorch's do by default), runs the case twice to warm up (Numba's cache,
allocator), then times it `--repeats` times and prints the median. The table gives, per row,
the median over the rounds of those medians, the spread (min–max over rounds) and the ratio.

Cases
    fwd        forward at batch B
    fwdbwd     forward + backward of the sum of the logits: input and every parameter gradient
    deeplift   DeepLIFT-Rescale of the top class (one pass over [x; x′]), Captum's DeepLift
               (PyTorch side: a ResNet written without module reuse, which Captum needs)
    ig50       Integrated Gradients, 50 steps, internal batch 10, against Captum's
    gradcam    Grad-CAM at layer4 against Captum's LayerGradCam + bilinear upsampling
    memory     the fwdbwd step; the row gives, in MB, the peak resident set (VmHWM) over all the
               child's steps minus the RSS before the first one (model, input and libraries in
               place; the peak counter reset then, Linux /proc/self/clear_refs). Over all steps,
               not one: memory an allocator keeps after a step (glibc with minicnn's tuned
               thresholds) is resident before the next, so one step's increase would hide it

Columns
    minicnn, PyTorch   ms (memory rows: MB), median over the rounds, spread min–max
    NumPy ref          forward rows only: the same forward on the reference backend
                       (MINICNN_KERNELS=reference, the kernels' NumPy twins), one round
    GF/s               the row's multiply-add FLOPs (2 per multiply-add of every convolution and
                       linear layer) per second: a forward counts F (counted with hooks on the
                       model), fwd+bwd 3F (∂x and ∂W of every product), DeepLIFT 4F (forward and
                       input gradient of [x; x′]), IG-50 100F (50 points × forward + ∂x), Grad-CAM F
                       (its backward stops at layer4)

Runs go without this machine's OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE overrides (benchmarks/_env.py).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _env  # noqa: E402

_env.prepare(__file__, sys.argv[1:])

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from _timing import gemm_peak, reset_peak_rss, rss_mb  # noqa: E402

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (arch, case, batch, dtype, limit of minicnn / PyTorch from issue 12's targets)
ROWS = [
    ("resnet18", "fwd", 1, "float32", 1.5), ("resnet18", "fwdbwd", 1, "float32", 1.5),
    ("resnet18", "fwdbwd", 1, "float64", 1.0), ("resnet18", "fwdbwd", 16, "float32", 1.5),
    ("resnet50", "fwd", 1, "float32", 1.5), ("resnet50", "fwdbwd", 1, "float32", 1.5),
    ("resnet50", "fwdbwd", 1, "float64", 1.0), ("resnet50", "fwdbwd", 16, "float32", 1.5),
    ("mobilenet_v2", "fwdbwd", 1, "float32", 2.0),
    ("resnet50", "deeplift", 1, "float32", None), ("resnet50", "ig50", 1, "float32", 1.2),
    ("resnet50", "gradcam", 1, "float32", 1.2),
    ("resnet50", "deeplift", 1, "float64", None), ("resnet50", "ig50", 1, "float64", 1.2),
    ("resnet50", "gradcam", 1, "float64", 1.2),
    ("resnet50", "memory", 16, "float32", 1.5),
]
QUICK = [row for row in ROWS if row[0] == "resnet18" and row[2] == 1]
# FLOPs of a case in units of one forward pass's (see the module docstring)
FORWARDS_PER_CASE = {"fwd": 1, "fwdbwd": 3, "deeplift": 4, "ig50": 100, "gradcam": 1}


def row_name(row):
    arch, case, batch, dtype, _ = row
    return f"{arch}-{case}-b{batch}-{dtype}"


# ---- the children ----------------------------------------------------------------------------

def _torch_twin(arch, torch):
    sys.path.insert(0, os.path.join(_ROOT, "tests"))
    import torch_zoo  # the PyTorch reference nets with torchvision's names (tests/torch_zoo.py)

    return torch_zoo.seeded_twin(arch, num_classes=1000, seed=0)


def child(framework, arch, case, batch, dtype, repeats):
    """Time one case in this process; prints {"seconds": median} as JSON."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 3, 224, 224)).astype(dtype)
    if framework == "torch":
        import torch

        tmodel = _torch_twin(arch, torch).to(getattr(torch, dtype)).eval()
        tx = torch.from_numpy(x)
        run = _torch_case(case, tmodel, tx, torch)
    else:
        import minicnn as mc
        from minicnn import models

        sys.path.insert(0, os.path.join(_ROOT, "tests"))
        import torch_zoo

        model = models.IMAGENET[arch](num_classes=1000)
        torch = _try_torch()
        if torch is not None:  # the same weights as the PyTorch child
            model.load_state_dict(torch_zoo.numpy_state_dict(_torch_twin(arch, torch)))
        model = model.to(np.dtype(dtype)).eval()
        flops = forward_flops(model, x, mc)
        run = _minicnn_case(case, model, x, mc)
    before, reset = rss_mb("VmRSS"), reset_peak_rss()
    for _ in range(1 if os.environ.get("MINICNN_KERNELS") == "reference" else 2):  # no JIT to warm
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    result = {"seconds": statistics.median(times)}
    if framework != "torch":
        result["forward_flops"] = flops
    if case == "memory":
        result["megabytes"] = rss_mb("VmHWM") - before if reset else float("nan")
    print(json.dumps(result))


def forward_flops(model, x, mc):
    """2 × the multiply-adds of every convolution and linear layer in one forward pass of x:
    each output element of a convolution takes (C/G)·KH·KW of them, of a linear layer `in`."""
    from minicnn import nn

    counted = []

    def count(module, inputs, output):
        per_output = (int(np.prod(module.weight.shape[1:])) if isinstance(module, nn.Conv2d)
                      else module.weight.shape[1])
        counted.append(2 * output.size * per_output)

    handles = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with mc.no_grad():
        model(x[:1])
    for handle in handles:
        handle.remove()
    return sum(counted) * x.shape[0]


def _try_torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _minicnn_case(case, model, x, mc):
    sys.path.insert(0, _ROOT)  # the package, not benchmarks/attributions.py beside this script
    import attributions as A

    if case == "fwd":
        def forward():
            with mc.no_grad():  # as the PyTorch child: inference builds no graph
                model(x)
        return forward
    if case in ("fwdbwd", "memory"):
        def step():
            model.zero_grad()
            xt = mc.Tensor(x, requires_grad=True)
            model(xt).sum().backward()
        return step
    target = 0
    if case == "deeplift":
        return lambda: A.deeplift(model, x, target)
    if case == "ig50":
        return lambda: A.integrated_gradients(model, x, target, steps=50, batch_size=10)
    if case == "gradcam":
        return lambda: A.grad_cam(model, x, target, layer="layer4")
    raise ValueError(case)


def _torch_case(case, tmodel, tx, torch):
    if case == "fwd":
        def forward():
            with torch.no_grad():
                tmodel(tx)
        return forward
    if case in ("fwdbwd", "memory"):
        def step():
            tmodel.zero_grad()
            xt = tx.clone().requires_grad_(True)
            tmodel(xt).sum().backward()
        return step
    import captum.attr as captum_attr

    target = 0
    if case == "deeplift":
        explainer = captum_attr.DeepLift(_without_module_reuse(tmodel, torch))
        return lambda: explainer.attribute(tx.clone().requires_grad_(True), baselines=tx * 0, target=target)
    if case == "ig50":
        explainer = captum_attr.IntegratedGradients(tmodel)
        return lambda: explainer.attribute(tx.clone().requires_grad_(True), target=target, n_steps=50,
                                           method="riemann_trapezoid", internal_batch_size=10)
    if case == "gradcam":
        explainer = captum_attr.LayerGradCam(tmodel, tmodel.layer4)

        def gradcam():
            cam = explainer.attribute(tx.clone().requires_grad_(True), target=target, relu_attributions=True)
            captum_attr.LayerAttribution.interpolate(cam, tx.shape[2:], interpolate_mode="bilinear")
        return gradcam
    raise ValueError(case)


def _without_module_reuse(tmodel, torch):
    """Captum's DeepLift hooks modules, so a ReLU module used several times (torchvision's blocks,
    and tests/torch_zoo.py's ResidualBlock) breaks it: give each use its own ReLU module."""
    import copy

    model = copy.deepcopy(tmodel)
    for block in model.modules():
        if not hasattr(block, "depth"):
            continue
        block.relus = torch.nn.ModuleList(torch.nn.ReLU() for _ in range(block.depth))

        def forward(x, block=block):
            out = x
            for i in range(1, block.depth + 1):
                out = getattr(block, f"bn{i}")(getattr(block, f"conv{i}")(out))
                if i < block.depth:
                    out = block.relus[i - 1](out)
            shortcut = x if block.downsample is None else block.downsample(x)
            return block.relus[-1](out + shortcut)

        block.forward = forward
    return model


# ---- the parent ------------------------------------------------------------------------------

def measure(framework, row, repeats, threads):
    """The child's JSON result: seconds (median), forward_flops (minicnn), megabytes (memory).
    framework "reference" is minicnn on its NumPy reference backend."""
    arch, case, batch, dtype, _ = row
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               OPENBLAS_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    if framework == "reference":
        framework, env["MINICNN_KERNELS"] = "minicnn", "reference"
    code = [sys.executable, os.path.abspath(__file__), "--child", framework, arch, case, str(batch), dtype,
            str(repeats), "--threads", str(threads)]
    proc = subprocess.run(code, env=env, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"{framework} {row_name(row)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="ResNet-18 batch-1 rows only, 2 rounds of 3 repeats")
    parser.add_argument("--rows", help="comma-separated row names (arch-case-bB-dtype) to run")
    parser.add_argument("--rounds", type=int, help="A B rounds per row (default 3, quick 2)")
    parser.add_argument("--repeats", type=int, help="timed calls per child (default 5, quick 3)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--keep-openblas-env", action="store_true", help="keep OPENBLAS_CORETYPE/L2_SIZE")
    args = parser.parse_args(argv)
    rows = QUICK if args.quick else ROWS
    if args.rows:
        wanted = args.rows.split(",")
        rows = [row for row in ROWS if row_name(row) in wanted]
        unknown = sorted(set(wanted) - {row_name(row) for row in ROWS})
        if unknown:
            parser.error(f"--rows: unknown {', '.join(unknown)}; rows are {', '.join(row_name(r) for r in ROWS)}")
    rounds = args.rounds or (2 if args.quick else 3)
    repeats = args.repeats or (3 if args.quick else 5)
    has_torch = _try_torch() is not None
    for line in _env.describe():
        print(line)
    print(f"{time.strftime('%Y-%m-%d')}, {args.threads} threads, {rounds} rounds × {repeats} timed calls per child; "
          f"NumPy GEMM peak {gemm_peak(np.float32, 1024):.0f} GFLOP/s float32, {gemm_peak(np.float64, 1024):.0f} float64")
    print(f"{'row':<34}{'minicnn':>10}{'spread':>13}{'NumPy ref':>11}{'PyTorch':>10}{'spread':>13}"
          f"{'ratio':>7}{'limit':>7}{'GF/s':>7}{'PT GF/s':>8}   (ms; memory rows: MB)")
    for row in rows:
        ours, theirs = [], []
        for _ in range(rounds):
            ours.append(measure("minicnn", row, repeats, args.threads))
            if has_torch:
                theirs.append(measure("torch", row, repeats, args.threads))
        # the reference twins are 10-100x slower: one round of one call, forward rows only
        reference = measure("reference", row, 1, args.threads)["seconds"] * 1e3 if row[1] == "fwd" else None
        print(table_line(row, ours, theirs, reference), flush=True)


def table_line(row, ours, theirs, reference_ms):
    """One row of the table from the children's results (lists over the rounds: `ours` minicnn's,
    `theirs` PyTorch's) and the NumPy reference's time (forward rows, else None)."""
    key, unit = ("megabytes", 1) if row[1] == "memory" else ("seconds", 1e3)
    mine_all, torch_all = [r[key] * unit for r in ours], [r[key] * unit for r in theirs]
    mine = statistics.median(mine_all)
    spread = f"{min(mine_all):.0f}–{max(mine_all):.0f}"
    torch_value = statistics.median(torch_all) if torch_all else float("nan")
    torch_spread = f"{min(torch_all):.0f}–{max(torch_all):.0f}" if torch_all else ""
    ratio = f"{mine / torch_value:.2f}" if torch_all else "n/a"
    limit = "" if row[4] is None else f"≤ {row[4]}"
    reference = "" if reference_ms is None else f"{reference_ms:.0f}"
    mine_gf = torch_gf = ""
    if row[1] in FORWARDS_PER_CASE:
        gflop = FORWARDS_PER_CASE[row[1]] * ours[0]["forward_flops"] / 1e9
        mine_gf = f"{gflop / (mine / 1e3):.0f}"
        torch_gf = f"{gflop / (torch_value / 1e3):.0f}" if torch_all else ""
    return (f"{row_name(row):<34}{mine:>10.1f}{spread:>13}{reference:>11}{torch_value:>10.1f}{torch_spread:>13}"
            f"{ratio:>7}{limit:>7}{mine_gf:>7}{torch_gf:>8}")


if __name__ == "__main__":
    if "--child" in sys.argv:
        i = sys.argv.index("--child")
        framework, arch, case, batch, dtype, repeats = sys.argv[i + 1:i + 7]
        child(framework, arch, case, int(batch), dtype, int(repeats))
    else:
        main([a for a in sys.argv[1:]])

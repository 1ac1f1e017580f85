"""Time the convolution kernels on the conv layers of LeNet-5 and a small VGG, against PyTorch.

    python benchmarks/kernels.py [--quick] [--batch 64] [--repeats 15] [--threads T]
    python benchmarks/kernels.py --layers [resnet18,resnet50] [--batch 1] [--dtypes float32]

For each layer and dtype it times one training step's worth of convolution work, forward +
grad-input + grad-weight, as the median of several repeats. Our kernels and PyTorch are
interleaved (ours, torch, ours, torch, ...) so that clock-frequency drift and noisy neighbours
hit both alike, and PyTorch gets the same number of threads as Numba. It also measures the
NumPy GEMM peak in the same run: im2col + GEMM can at best approach that number.

``--layers`` times instead every distinct convolution of torchvision's ResNet-18/50 at 224×224
(default batch 1), forward, ∂L/∂x and ∂L/∂w separately, with the number of times it occurs in
the net, its GFLOP/s against the GEMM peak, and the share of the net's conv time it takes.

Threads and OpenBLAS settings as in benchmarks/engine.py (benchmarks/_env.py): --threads T for
every pool, and the script re-executes itself once without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE,
which select slower GEMM kernels (--keep-openblas-env keeps them).
"""

import argparse
import os
import statistics
import sys
import time


import _env  # noqa: E402  (benchmarks/_env.py: threads and OpenBLAS settings, before NumPy)

if __name__ == "__main__":
    _env.prepare(__file__, sys.argv[1:])

import numpy as np  # noqa: E402  (after the thread-count environment is set)

try:
    import minicnn.kernels as K
except ImportError:                     # running from a checkout without installing
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import minicnn.kernels as K

import numba

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = None

SETTLE_SECONDS = 0.03

# name, input (C, H, W), out channels, kernel, padding  (stride 1 everywhere)
LAYERS = [
    ("lenet.conv1", (1, 28, 28), 6, 5, 2),
    ("lenet.conv2", (6, 14, 14), 16, 5, 0),
    ("vgg.conv1", (3, 32, 32), 32, 3, 1),
    ("vgg.conv2", (32, 32, 32), 32, 3, 1),
    ("vgg.conv3", (32, 16, 16), 64, 3, 1),
    ("vgg.conv4", (64, 16, 16), 64, 3, 1),
]


# name, input (C, H, W), out channels, kernel, stride, padding, occurrences in the net
# (bench_layer takes padding before stride)
RESNET_LAYERS = {
    "resnet18": [
        ("stem7x7s2", (3, 224, 224), 64, 7, 2, 3, 1),
        ("l1.3x3", (64, 56, 56), 64, 3, 1, 1, 4),
        ("l2.3x3s2", (64, 56, 56), 128, 3, 2, 1, 1),
        ("l2.3x3", (128, 28, 28), 128, 3, 1, 1, 3),
        ("l2.ds1x1s2", (64, 56, 56), 128, 1, 2, 0, 1),
        ("l3.3x3s2", (128, 28, 28), 256, 3, 2, 1, 1),
        ("l3.3x3", (256, 14, 14), 256, 3, 1, 1, 3),
        ("l3.ds1x1s2", (128, 28, 28), 256, 1, 2, 0, 1),
        ("l4.3x3s2", (256, 14, 14), 512, 3, 2, 1, 1),
        ("l4.3x3", (512, 7, 7), 512, 3, 1, 1, 3),
        ("l4.ds1x1s2", (256, 14, 14), 512, 1, 2, 0, 1),
    ],
    "resnet50": [
        ("stem7x7s2", (3, 224, 224), 64, 7, 2, 3, 1),
        ("l1.1x1a", (64, 56, 56), 64, 1, 1, 0, 1),
        ("l1.1x1a'", (256, 56, 56), 64, 1, 1, 0, 2),
        ("l1.3x3", (64, 56, 56), 64, 3, 1, 1, 3),
        ("l1.1x1b", (64, 56, 56), 256, 1, 1, 0, 4),       # 3 expansions + the downsample
        ("l2.1x1a0", (256, 56, 56), 128, 1, 1, 0, 1),
        ("l2.3x3s2", (128, 56, 56), 128, 3, 2, 1, 1),
        ("l2.ds1x1s2", (256, 56, 56), 512, 1, 2, 0, 1),
        ("l2.1x1a", (512, 28, 28), 128, 1, 1, 0, 3),
        ("l2.3x3", (128, 28, 28), 128, 3, 1, 1, 3),
        ("l2.1x1b", (128, 28, 28), 512, 1, 1, 0, 4),
        ("l3.1x1a0", (512, 28, 28), 256, 1, 1, 0, 1),
        ("l3.3x3s2", (256, 28, 28), 256, 3, 2, 1, 1),
        ("l3.ds1x1s2", (512, 28, 28), 1024, 1, 2, 0, 1),
        ("l3.1x1a", (1024, 14, 14), 256, 1, 1, 0, 5),
        ("l3.3x3", (256, 14, 14), 256, 3, 1, 1, 5),
        ("l3.1x1b", (256, 14, 14), 1024, 1, 1, 0, 6),
        ("l4.1x1a0", (1024, 14, 14), 512, 1, 1, 0, 1),
        ("l4.3x3s2", (512, 14, 14), 512, 3, 2, 1, 1),
        ("l4.ds1x1s2", (1024, 14, 14), 2048, 1, 2, 0, 1),
        ("l4.1x1a", (2048, 7, 7), 512, 1, 1, 0, 2),
        ("l4.3x3", (512, 7, 7), 512, 3, 1, 1, 2),
        ("l4.1x1b", (512, 7, 7), 2048, 1, 1, 0, 3),
    ],
}


def gemm_peak(dtype, n=2048, repeats=5):
    """GFLOP/s of one large NumPy matmul (2·n³ flops), best of ``repeats``."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)).astype(dtype), rng.standard_normal((n, n)).astype(dtype)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_layer(layer, batch, dtype, repeats):
    name, (c, h, w), o, k, p = layer[:5]
    s = layer[5] if len(layer) > 5 else 1
    rng = np.random.default_rng(0)
    stride, padding = (s, s), (p, p)
    x = rng.standard_normal((batch, c, h, w)).astype(dtype)
    wt = rng.standard_normal((o, c, k, k)).astype(dtype)
    oh, ow = K.output_size(h, k, s, p), K.output_size(w, k, s, p)
    g = rng.standard_normal((batch, o, oh, ow)).astype(dtype)

    parts = {"fwd": [], "bwd_x": [], "bwd_w": [], "ours": [], "torch": []}

    def ours():
        t0 = time.perf_counter()
        K.conv2d_forward(x, wt, stride, padding)
        t1 = time.perf_counter()
        K.conv2d_backward_input(g, wt, x.shape, stride, padding)
        t2 = time.perf_counter()
        K.conv2d_backward_weight(g, x, wt.shape, stride, padding)
        t3 = time.perf_counter()
        parts["fwd"].append(t1 - t0)
        parts["bwd_x"].append(t2 - t1)
        parts["bwd_w"].append(t3 - t2)
        parts["ours"].append(t3 - t0)

    if torch is not None:
        xt = torch.from_numpy(x).requires_grad_(True)
        wtt = torch.from_numpy(wt).requires_grad_(True)
        gt = torch.from_numpy(g)

        def theirs():
            t0 = time.perf_counter()
            xt.grad = wtt.grad = None
            F.conv2d(xt, wtt, stride=s, padding=p).backward(gt)
            parts["torch"].append(time.perf_counter() - t0)
    else:
        def theirs():
            pass

    ours()                       # warm-up: Numba compilation / cache load, BLAS thread start
    theirs()
    for key in parts:
        parts[key].clear()
    for _ in range(repeats):
        # Idle gaps: after a parallel region PyTorch's OpenMP threads (and OpenBLAS's) keep
        # spinning for a while; without the pause whichever library runs next shares its cores
        # with the other one's spinning threads.
        time.sleep(SETTLE_SECONDS)
        ours()
        time.sleep(SETTLE_SECONDS)
        theirs()
    median = {key: statistics.median(v) if v else float("nan") for key, v in parts.items()}
    flops = 3 * 2 * batch * o * c * k * k * oh * ow   # forward + two backward products
    return median, flops


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--batch", type=int, default=None, help="default 64, with --layers 1")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for Numba, OpenBLAS and torch (default: Numba's default)")
    parser.add_argument("--layers", nargs="?", const="resnet18,resnet50", default=None,
                        help="time the convolutions of these ResNets at 224×224 instead (default batch 1)")
    parser.add_argument("--dtypes", default="float32,float64", help="comma-separated dtypes")
    parser.add_argument("--keep-openblas-env", action="store_true",
                        help="do not re-run without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE")
    args = parser.parse_args(argv)
    repeats = args.repeats or (5 if args.quick else 15)
    dtypes = [np.dtype(d).type for d in args.dtypes.split(",")]
    args.batch = args.batch or (1 if args.layers else 64)

    threads = numba.get_num_threads()
    if torch is not None:
        torch.set_num_threads(threads)
    print(f"numba threads {threads}; torch {torch.__version__ if torch else 'not installed'}; "
          f"batch {args.batch}; median of {repeats}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load > 0.5:
        print(f"  warning: load average {load:.1f} before starting; other processes share the "
              f"cores and the timings will be noisy")
    for line in _env.describe():
        print(f"  {line}")
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if var in os.environ:
            print(f"  note: {var}={os.environ[var]}")

    header = (f"{'layer':<12} {'dtype':<7} {'fwd':>7} {'bwd_x':>7} {'bwd_w':>7} {'ours ms':>8} "
              f"{'torch ms':>8} {'ratio':>6} {'GFLOP/s':>8} {'torch GF/s':>10}")
    if args.layers:
        return layer_table(args, dtypes, repeats)
    for dtype in dtypes:
        peak = gemm_peak(dtype, n=1024 if args.quick else 2048)
        print(f"\nNumPy GEMM peak {np.dtype(dtype).name}: {peak:.1f} GFLOP/s")
        print(header)
        total_ours = total_torch = 0.0
        for layer in LAYERS:
            m, flops = bench_layer(layer, args.batch, dtype, repeats)
            total_ours += m["ours"]
            total_torch += m["torch"]
            print(f"{layer[0]:<12} {np.dtype(dtype).name:<7} {m['fwd'] * 1e3:7.2f} "
                  f"{m['bwd_x'] * 1e3:7.2f} {m['bwd_w'] * 1e3:7.2f} {m['ours'] * 1e3:8.2f} "
                  f"{m['torch'] * 1e3:8.2f} {m['ours'] / m['torch']:6.2f} "
                  f"{flops / m['ours'] / 1e9:8.1f} {flops / m['torch'] / 1e9:10.1f}")
        print(f"{'total':<12} {np.dtype(dtype).name:<7} {'':>7} {'':>7} {'':>7} "
              f"{total_ours * 1e3:8.2f} {total_torch * 1e3:8.2f} {total_ours / total_torch:6.2f}")


def layer_table(args, dtypes, repeats):
    """The --layers mode: every distinct conv of the named ResNets, weighted by occurrences."""
    header = (f"{'layer':<12} {'×':>2} {'fwd':>7} {'bwd_x':>7} {'bwd_w':>7} {'ours ms':>8} "
              f"{'torch ms':>8} {'ratio':>6} {'GFLOP/s':>8} {'%peak':>6} {'share':>6}")
    for dtype in dtypes:
        peak = gemm_peak(dtype, n=1024 if args.quick else 2048)
        print(f"\nNumPy GEMM peak {np.dtype(dtype).name}: {peak:.1f} GFLOP/s (all threads)")
        for net in args.layers.split(","):
            results = [(layer, *bench_layer(layer[:4] + (layer[5], layer[4]), args.batch, dtype, repeats))
                       for layer in RESNET_LAYERS[net]]
            total_ours = sum(m["ours"] * layer[6] for layer, m, _ in results)
            total_torch = sum(m["torch"] * layer[6] for layer, m, _ in results)
            print(f"\n{net}, batch {args.batch}, {np.dtype(dtype).name} (ms per occurrence)")
            print(header)
            for layer, m, flops in results:
                rate = flops / m["ours"] / 1e9
                print(f"{layer[0]:<12} {layer[6]:>2} {m['fwd'] * 1e3:7.2f} {m['bwd_x'] * 1e3:7.2f} "
                      f"{m['bwd_w'] * 1e3:7.2f} {m['ours'] * 1e3:8.2f} {m['torch'] * 1e3:8.2f} "
                      f"{m['ours'] / m['torch']:6.2f} {rate:8.1f} {100 * rate / peak:5.0f}% "
                      f"{100 * m['ours'] * layer[6] / total_ours:5.1f}%")
            print(f"{'all convs':<12} {'':>2} {'':>7} {'':>7} {'':>7} {total_ours * 1e3:8.2f} "
                  f"{total_torch * 1e3:8.2f} {total_ours / total_torch:6.2f}")


if __name__ == "__main__":
    main()

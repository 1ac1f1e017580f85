"""Time a whole training step of minicnn against its pure-NumPy reference and PyTorch.

    python benchmarks/engine.py [--quick] [--batch 64] [--repeats R] [--threads T]
                                [--skip-startup] [--skip-memory] [--keep-openblas-env]

Train step = forward + cross-entropy + backward + SGD step (lr 0.01, momentum 0.9), batch 64,
random data, on two nets built identically in both frameworks and given the same weights
(PyTorch's initialisation, copied into minicnn through the state_dict):

    lenet  1×28×28: conv 6@5×5 pad 2, ReLU, maxpool 2; conv 16@5×5, ReLU, maxpool 2; 400→120→84→10
    vgg    3×32×32: conv 32, conv 32, maxpool; conv 64, conv 64, maxpool (3×3 pad 1, ReLU); 4096→128→10

For each model × dtype it prints

    minicnn ms     median step time of the engine as shipped (Numba kernels + NumPy BLAS)
    ref ms         the same step on the reference backend (``minicnn.kernels.use("reference")``:
                   every kernel's plain NumPy twin), i.e. pure NumPy
    torch ms       the same step in PyTorch (when importable), torch.set_num_threads(T)
    ratios         minicnn/torch (targets: float32 ≤ 1.5, float64 ≤ 1.0) and ref/minicnn
    conv GFLOP/s   FLOPs of every conv product the step ran (forward, ∂x where needed, ∂w:
                   2·N·O·C·KH·KW·OH·OW each) over the time spent in the conv kernels, measured
                   inside the same minicnn steps; next to it the NumPy GEMM peak measured in this
                   run (best of a few 2048² matmuls) and the fraction of it reached.

Then the start-up time (a subprocess running ``import minicnn`` + the first LeNet train step,
wall clock including interpreter start; "warm" with the Numba cache as it is, "cold" with
NUMBA_CACHE_DIR pointing at a fresh empty directory) and the peak memory of the VGG float32 step.

Peak memory: each framework runs the VGG float32 step in its own subprocess, with libraries,
model, data and optimiser loaded first. We reset the kernel's peak-RSS counter (Linux:
/proc/self/clear_refs), run 4 steps, and report the peak resident set (VmHWM in
/proc/self/status) and its increase over the RSS just before the steps. The increase is the
number to compare: the absolute peak is dominated by the libraries (torch alone maps a few
hundred MB). resource.getrusage's ru_maxrss is not used because on Linux a child started by
this process inherits the parent's peak through fork + exec. For minicnn we also print
tracemalloc's peak of NumPy allocations during one step (RSS can be lower: NumPy's large
temporaries are mapped lazily and returned to the OS when freed).

Method: runs are interleaved (minicnn, torch, minicnn, torch, ...) so clock drift and noisy
neighbours hit both alike; each run is an idle gap (spinning BLAS/OpenMP threads of the other
library go to sleep), one untimed step, then 3 timed back-to-back steps (the steady state of a
training loop); the median over runs of the time per step is reported. The pure-NumPy reference
runs after all of them: it allocates arrays of hundreds of MB, and its frees would otherwise
change the state of the process heap the next minicnn steps start from.

Threads and OpenBLAS (benchmarks/_env.py): T threads everywhere, T = --threads, or
NUMBA_NUM_THREADS, or Numba's default (the number of cores), given to OpenBLAS/OpenMP through
their environment variables before NumPy loads and to PyTorch by torch.set_num_threads(T).
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, which select slower GEMM kernels, are dropped by
re-executing the script once without them (unless --keep-openblas-env); the header says so.
"""

import os
import sys

import _env  # noqa: E402  (benchmarks/_env.py: threads and OpenBLAS settings, before NumPy)

if __name__ == "__main__":
    _env.prepare(__file__, sys.argv[1:])

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
try:
    import minicnn  # noqa: F401
except ImportError:                     # running from a checkout without installing
    sys.path.insert(0, _ROOT)
import minicnn.functional as F  # noqa: E402
import minicnn.kernels as K  # noqa: E402
from _timing import gemm_peak, reset_peak_rss, rss_mb  # noqa: E402,F401  (rss_mb, reset_peak_rss: used by MEMORY_CODE as engine.*)
from minicnn import nn, optim  # noqa: E402
from minicnn.interop import from_torch_state_dict  # noqa: E402

# Idle gap before every timed step. OpenBLAS's worker threads keep spinning for about 2^28
# cycles (~0.1 s) after a GEMM and PyTorch's OpenMP threads spin too; a shorter gap lets one
# library's spinning threads steal cores from the other's next step.
SETTLE_SECONDS = 0.2
LR, MOMENTUM = 0.01, 0.9
MODELS = ("lenet", "vgg")
INPUT_SHAPES = {"lenet": (1, 28, 28), "vgg": (3, 32, 32)}

# The minicnn statement the start-up subprocess runs, after `import minicnn` (timed from the
# interpreter's launch to its exit).
STARTUP_CODE = """
import time, numpy as np
import minicnn
from minicnn import nn, optim
import minicnn.functional as F
dtype = np.{dtype}
model = nn.Sequential(
    nn.Conv2d(1, 6, 5, padding=2, dtype=dtype), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(6, 16, 5, dtype=dtype), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
    nn.Linear(400, 120, dtype=dtype), nn.ReLU(), nn.Linear(120, 84, dtype=dtype), nn.ReLU(),
    nn.Linear(84, 10, dtype=dtype))
rng = np.random.default_rng(0)
x = rng.standard_normal((64, 1, 28, 28)).astype(dtype)
y = rng.integers(0, 10, 64)
opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
opt.zero_grad()
F.cross_entropy(model(x), y).backward()
opt.step()
"""


# ----------------------------------------------------------------------------------------------
# The two nets, layer for layer the same in both frameworks (Sequential, so the state_dict keys
# "0.weight", "0.bias", ... match)
# ----------------------------------------------------------------------------------------------

def minicnn_model(name, dtype):
    if name == "lenet":
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2, dtype=dtype), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5, dtype=dtype), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120, dtype=dtype), nn.ReLU(), nn.Linear(120, 84, dtype=dtype), nn.ReLU(),
            nn.Linear(84, 10, dtype=dtype))
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1, dtype=dtype), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1, dtype=dtype), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, dtype=dtype), nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1, dtype=dtype), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(4096, 128, dtype=dtype), nn.ReLU(), nn.Linear(128, 10, dtype=dtype))


def torch_model(name, torch):
    tnn = torch.nn
    if name == "lenet":
        return tnn.Sequential(
            tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
            tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
            tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, 10))
    return tnn.Sequential(
        tnn.Conv2d(3, 32, 3, padding=1), tnn.ReLU(), tnn.Conv2d(32, 32, 3, padding=1), tnn.ReLU(),
        tnn.MaxPool2d(2),
        tnn.Conv2d(32, 64, 3, padding=1), tnn.ReLU(), tnn.Conv2d(64, 64, 3, padding=1), tnn.ReLU(),
        tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(4096, 128), tnn.ReLU(), tnn.Linear(128, 10))


def import_torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def make_steps(name, dtype, batch, torch, seed=0):
    """(minicnn_step, torch_step or None): closures running one full train step each."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch,) + INPUT_SHAPES[name]).astype(dtype)
    y = rng.integers(0, 10, batch)
    model = minicnn_model(name, dtype)
    torch_step = None
    if torch is not None:
        torch.manual_seed(seed)
        tmodel = torch_model(name, torch).to(torch.float32 if dtype == np.float32 else torch.float64)
        model.load_state_dict(from_torch_state_dict(tmodel.state_dict()))
        topt = torch.optim.SGD(tmodel.parameters(), lr=LR, momentum=MOMENTUM)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        loss_fn = torch.nn.functional.cross_entropy

        def torch_step():
            topt.zero_grad()
            loss_fn(tmodel(tx), ty).backward()
            topt.step()
    opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def minicnn_step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return minicnn_step, torch_step


# ----------------------------------------------------------------------------------------------
# Kernel swapping: reference twins, and a timing wrapper for the conv kernels
# ----------------------------------------------------------------------------------------------

# The ops call the kernels through the `minicnn.kernels` module, so wrapping its conv functions
# times every conv product of a step.
_SWAPPABLE = {K: ("conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight")}


@contextlib.contextmanager
def patched(replacement):
    """Temporarily replace kernel functions of minicnn.kernels: module.f = replacement(f)."""
    saved = []
    try:
        for module, names in _SWAPPABLE.items():
            for fn_name in names:
                original = getattr(module, fn_name)
                saved.append((module, fn_name, original))
                setattr(module, fn_name, replacement(fn_name, original))
        yield
    finally:
        for module, fn_name, original in saved:
            setattr(module, fn_name, original)


def _conv_flops(fn_name, args):
    """2·N·O·C·KH·KW·OH·OW for any of the three conv products (from the call's arguments)."""
    if fn_name == "conv2d_forward":
        x, w = args[0], args[1]
        n, o, c, kh, kw = x.shape[0], w.shape[0], w.shape[1], w.shape[2], w.shape[3]
        g_shape = None
    elif fn_name == "conv2d_backward_input":
        g, w = args[0], args[1]
        n, o, c, kh, kw = g.shape[0], w.shape[0], w.shape[1], w.shape[2], w.shape[3]
        g_shape = g.shape
    else:
        g, x, w_shape = args[0], args[1], args[2]
        n, (o, c, kh, kw) = x.shape[0], w_shape
        g_shape = g.shape
    if g_shape is None:
        (sh, sw), (ph, pw) = K.windows.pair(args[2]), K.windows.pair(args[3])
        oh = K.output_size(x.shape[2], kh, sh, ph)
        ow = K.output_size(x.shape[3], kw, sw, pw)
    else:
        oh, ow = g_shape[2], g_shape[3]
    return 2 * n * o * c * kh * kw * oh * ow


class ConvTimer:
    """Wraps the conv kernels: accumulates seconds and FLOPs per call (and per layer shape)."""

    def __init__(self):
        self.seconds = 0.0
        self.flops = 0
        self.calls = []            # (fn_name, shape key, seconds, flops) of the current step

    def reset(self):
        self.seconds, self.flops, self.calls = 0.0, 0, []

    def __call__(self, fn_name, original):
        if not fn_name.startswith("conv2d"):
            return original

        def timed(*args):
            start = time.perf_counter()
            out = original(*args)
            seconds = time.perf_counter() - start
            flops = _conv_flops(fn_name, args)
            self.seconds += seconds
            self.flops += flops
            self.calls.append((fn_name, seconds, flops))
            return out
        return timed


# ----------------------------------------------------------------------------------------------
# Measurements
# ----------------------------------------------------------------------------------------------

def bench_model(name, dtype, batch, repeats, torch, inner=3):
    """Interleaved medians of minicnn and torch for one model × dtype. Returns a dict of results.

    One round = for each framework: an idle gap, one untimed step (wakes the parked thread
    pools and brings the weights back into cache, as in a training loop where steps follow each
    other), then ``inner`` back-to-back timed steps. The reported time per step is the median
    over rounds of their mean."""
    minicnn_step, torch_step = make_steps(name, dtype, batch, torch)
    timer = ConvTimer()
    times = {"minicnn": [], "torch": [], "conv": []}
    per_call = []

    def run_minicnn(record):
        minicnn_step()
        timer.reset()
        with patched(timer):
            start = time.perf_counter()
            for _ in range(inner):
                minicnn_step()
            elapsed = time.perf_counter() - start
        if record:
            times["minicnn"].append(elapsed / inner)
            times["conv"].append(timer.seconds / inner)
            per_call.append(list(timer.calls))
        return timer.flops // inner

    def run_torch(record):
        if torch_step is None:
            return
        torch_step()
        start = time.perf_counter()
        for _ in range(inner):
            torch_step()
        if record:
            times["torch"].append((time.perf_counter() - start) / inner)

    # Warm-up: Numba cache load / compilation, BLAS and OpenMP thread start-up, first-touch pages.
    conv_flops = run_minicnn(False)
    run_torch(False)
    for _ in range(repeats):
        time.sleep(SETTLE_SECONDS)
        run_minicnn(True)
        time.sleep(SETTLE_SECONDS)
        run_torch(True)
    med = {k: statistics.median(v) if v else float("nan") for k, v in times.items()}
    # Per conv call (the same sequence every step): median over all timed steps.
    n_calls = len(per_call[0]) // inner
    calls = [(per_call[0][j][0],
              statistics.median(rnd[k * n_calls + j][1] for rnd in per_call for k in range(inner)),
              per_call[0][j][2]) for j in range(n_calls)]
    return {"model": name, "dtype": np.dtype(dtype).name, **med, "conv_flops": conv_flops,
            "calls": calls}


def bench_reference(name, dtype, batch, repeats):
    """Median time of the same train step with the kernels' pure-NumPy reference twins (plain
    NumPy: nothing to compile, so no warm-up)."""
    ref_step, _ = make_steps(name, dtype, batch, None)
    times = []
    with K.use("reference"):
        for _ in range(repeats):
            start = time.perf_counter()
            ref_step()
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_child(code, env, timeout=600):
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=timeout)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"subprocess failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed, proc.stdout


def child_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (os.path.abspath(_ROOT), env.get("PYTHONPATH")) if p)
    return env


def bench_startup(dtype_name, warm_runs, cold_runs):
    """Wall-clock seconds of `python -c "import minicnn; <first LeNet train step>"`."""
    code = STARTUP_CODE.format(dtype=dtype_name)
    env = child_env()
    run_child(code, env)                                    # make sure the cache is warm
    warm = [run_child(code, env)[0] for _ in range(warm_runs)]
    cold = []
    for _ in range(cold_runs):
        cache = tempfile.mkdtemp(prefix="minicnn-cold-cache-")
        try:
            cold.append(run_child(code, {**env, "NUMBA_CACHE_DIR": cache})[0])
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    return statistics.median(warm), (statistics.median(cold) if cold else float("nan"))


MEMORY_CODE = """
import json, os, resource, sys, tracemalloc
sys.path.insert(0, {bench_dir!r})
import numpy as np
import engine
framework, threads = {framework!r}, {threads}
torch = engine.import_torch() if framework == "torch" else None
if torch is not None:
    torch.set_num_threads(threads)
minicnn_step, torch_step = engine.make_steps("vgg", np.float32, {batch}, torch)
step = torch_step if framework == "torch" else minicnn_step
before = engine.rss_mb("VmRSS")         # libraries, model, data, optimiser in place
reset = engine.reset_peak_rss()
for _ in range(4):
    step()
peak = engine.rss_mb("VmHWM")
traced = None
if framework == "minicnn":
    tracemalloc.start()
    step()
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
print(json.dumps({{"before": before, "peak": peak, "reset": reset, "traced": traced}}))
"""


def bench_memory(framework, batch, threads):
    code = MEMORY_CODE.format(bench_dir=os.path.dirname(os.path.abspath(__file__)),
                              framework=framework, threads=threads, batch=batch)
    _, out = run_child(code, child_env())
    return json.loads(out.strip().splitlines()[-1])


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------

def _ratio(a, b):
    return a / b if b == b and b > 0 else float("nan")


def print_conv_detail(result, peak):
    print(f"  {result['model']} {result['dtype']} conv calls (median ms, GFLOP/s, % of peak):")
    for fn_name, seconds, flops in result["calls"]:
        short = fn_name.replace("conv2d_", "")
        gf = flops / seconds / 1e9
        print(f"    {short:<16} {flops / 1e6:8.1f} MFLOP {seconds * 1e3:8.2f} ms {gf:7.1f} "
              f"{100 * gf / peak:5.0f}%")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 30 s: fewer repeats, "
                        "smaller GEMM, one cold start-up run")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=None, help="timed steps per model × dtype")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for Numba, OpenBLAS and torch (default: NUMBA_NUM_THREADS or "
                             "Numba's default)")
    parser.add_argument("--skip-startup", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--detail", action="store_true", help="per conv call timings")
    parser.add_argument("--keep-openblas-env", action="store_true",
                        help="do not re-run without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    repeats = args.repeats or (4 if args.quick else 20)
    ref_repeats = 1 if args.quick else 5

    import numba

    threads = numba.get_num_threads()
    torch = import_torch()
    if torch is not None:
        torch.set_num_threads(threads)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"minicnn engine benchmark  {time.strftime('%Y-%m-%d %H:%M:%S')}  "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"threads T={threads} (numba layer {numba.config.THREADING_LAYER}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}); "
          f"numpy {np.__version__}, numba {numba.__version__}, "
          f"torch {torch.__version__ if torch else 'not installed'}; batch {args.batch}; "
          f"median of {repeats} (reference: {ref_repeats})")
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
          + ("  (warning: other processes share the cores; timings will be noisy)"
             if load[0] > 0.5 * (os.cpu_count() or 1) else ""))
    for line in _env.describe():
        print(line)

    # The best size depends on the cache hierarchy, so the peak is the best of two sizes.
    peaks = {dt: max(gemm_peak(dt, n) for n in (1024, 2048)) for dt in ("float32", "float64")}
    print(f"NumPy GEMM peak (best of 5 square matmuls, n = 1024 and 2048): "
          f"float32 {peaks['float32']:.1f} GFLOP/s, float64 {peaks['float64']:.1f} GFLOP/s\n")

    header = (f"{'model':<6} {'dtype':<8} {'minicnn ms':>10} {'ref ms':>9} {'torch ms':>9} "
              f"{'mc/torch':>8} {'target':>6} {'ref/mc':>7} {'conv ms':>8} {'conv GF/s':>9} "
              f"{'GEMM peak':>9} {'%peak':>6}")
    results = []
    for dtype in (np.float32, np.float64):
        for name in MODELS:
            print(f"  timing {name} {np.dtype(dtype).name} ...", flush=True)
            results.append(bench_model(name, dtype, args.batch, repeats, torch))
    for r in results:
        print(f"  timing the NumPy reference of {r['model']} {r['dtype']} ...", flush=True)
        r["ref"] = bench_reference(r["model"], np.dtype(r["dtype"]).type, args.batch, ref_repeats)
    print()
    print(header)
    for r in results:
        peak = peaks[r["dtype"]]
        gf = r["conv_flops"] / r["conv"] / 1e9
        ratio = _ratio(r["minicnn"], r["torch"])
        target = 1.5 if r["dtype"] == "float32" else 1.0
        verdict = "" if ratio != ratio else ("ok" if ratio <= target else "MISS")
        print(f"{r['model']:<6} {r['dtype']:<8} {r['minicnn'] * 1e3:10.2f} {r['ref'] * 1e3:9.1f} "
              f"{r['torch'] * 1e3:9.2f} {ratio:8.2f} {'≤' + str(target):>6} "
              f"{_ratio(r['ref'], r['minicnn']):7.1f} {r['conv'] * 1e3:8.2f} {gf:9.1f} "
              f"{peak:9.1f} {100 * gf / peak:5.0f}%  {verdict}", flush=True)
    if args.detail:
        print()
        for r in results:
            print_conv_detail(r, peaks[r["dtype"]])

    if not args.skip_startup:
        print("\nstart-up: `import minicnn` + first LeNet train step (batch 64), subprocess wall "
              "clock incl. interpreter start; warm = Numba cache present, cold = fresh "
              "NUMBA_CACHE_DIR (targets: warm ≤ 3 s, cold ≤ 60 s)")
        for dtype_name in ("float32", "float64"):
            warm, cold = bench_startup(dtype_name, warm_runs=1 if args.quick else 3,
                                       cold_runs=(1 if dtype_name == "float32" else 0) if args.quick
                                       else 2)
            cold_text = f"{cold:.2f} s" if cold == cold else "(skipped with --quick)"
            print(f"  {dtype_name}: warm {warm:.2f} s   cold {cold_text}", flush=True)

    if not args.skip_memory:
        print("\npeak memory, VGG float32 train step (own subprocess per framework: peak RSS "
              "(VmHWM) over the first 4 steps, and its increase over the RSS before them, with "
              "libraries, model and data already loaded)")
        mem = {fw: bench_memory(fw, args.batch, threads)
               for fw in (("minicnn", "torch") if torch is not None else ("minicnn",))}
        for fw, m in mem.items():
            extra = (f"   (tracemalloc peak of NumPy allocations in one step: {m['traced']:.1f} MB)"
                     if m["traced"] is not None else "")
            note = "" if m["reset"] else " (peak not reset: includes start-up)"
            print(f"  {fw:<8} peak RSS {m['peak']:7.1f} MB   step increment "
                  f"{m['peak'] - m['before']:6.1f} MB{note}{extra}")
        if "torch" in mem:
            inc = {fw: m["peak"] - m["before"] for fw, m in mem.items()}
            print(f"  ratio minicnn/torch: increment {_ratio(inc['minicnn'], inc['torch']):.2f}, "
                  f"peak RSS {_ratio(mem['minicnn']['peak'], mem['torch']['peak']):.2f} "
                  f"(target ≤ 2)")


if __name__ == "__main__":
    main()

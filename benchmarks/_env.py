"""Environment set-up shared by the benchmark scripts; it must run before NumPy is imported.

OpenBLAS reads its settings once, when NumPy loads it:

* threads: ``--threads T`` (or NUMBA_NUM_THREADS) becomes NUMBA_NUM_THREADS and, unless already
  set, OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS, so every pool gets T threads;
* OPENBLAS_CORETYPE (e.g. "Haswell") forces older, slower GEMM kernels than the CPU supports and
  OPENBLAS_L2_SIZE changes the blocking; on the development machine they halve NumPy's float32
  GEMM speed, and some CI/tox setups export them. Unless ``--keep-openblas-env`` is given, the
  script re-executes itself once without them (REEXEC_MARK then tells it which it removed). It
  never changes the environment of anything else (tests, CI).
"""

import os
import sys

OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
REEXEC_MARK = "MINICNN_BENCH_REMOVED_OPENBLAS_ENV"


def thread_count(argv):
    """T from ``--threads T`` / ``--threads=T``, else NUMBA_NUM_THREADS, else None."""
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1])
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
    if os.environ.get("NUMBA_NUM_THREADS"):
        return int(os.environ["NUMBA_NUM_THREADS"])
    return None


def prepare(script, argv):
    """Re-execute ``script`` without the OpenBLAS overrides (once), then set the thread counts."""
    skip = "--keep-openblas-env" in argv or "--child" in argv or REEXEC_MARK in os.environ
    removed = [f"{v}={os.environ[v]}" for v in OPENBLAS_OVERRIDES if v in os.environ]
    if removed and not skip:
        env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_OVERRIDES}
        env[REEXEC_MARK] = " ".join(removed)
        sys.stdout.flush()
        os.execve(sys.executable, [sys.executable, os.path.abspath(script), *argv], env)
    threads = thread_count(argv)
    if threads is not None:
        os.environ["NUMBA_NUM_THREADS"] = str(threads)
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, str(threads))


def describe():
    """Lines for the report header: which overrides were removed, which are still set."""
    lines = []
    if os.environ.get(REEXEC_MARK):
        lines.append(f"note: re-executed without {os.environ[REEXEC_MARK]} (slower OpenBLAS "
                     f"kernels); pass --keep-openblas-env to keep them")
    lines += [f"note: {v}={os.environ[v]} is set (NumPy GEMM may be slower)"
              for v in OPENBLAS_OVERRIDES if v in os.environ]
    return lines

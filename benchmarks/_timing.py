"""Shared by the benchmark scripts: the machine's reference speed (NumPy's GEMM rate) and a
process's peak memory."""

import resource
import time

import numpy as np

__all__ = ["gemm_peak", "rss_mb", "reset_peak_rss"]


def gemm_peak(dtype, n=2048, repeats=5):
    """GFLOP/s of a large square NumPy matmul (2·n³ flops), best of ``repeats`` (all BLAS threads)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    out = a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def rss_mb(field):
    """VmRSS (now) or VmHWM (peak) of this process in MB, from /proc/self/status (Linux).

    Not resource.getrusage's ru_maxrss: Linux carries the parent's peak across fork + exec into
    the child's ru_maxrss, so a child of this (large) benchmark process would report the
    parent's size. Elsewhere we fall back to ru_maxrss for the peak."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss():
    """Reset VmHWM to the current RSS (Linux: write 5 to /proc/self/clear_refs); True if done,
    so that the peak afterwards is the peak of the train steps alone."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False

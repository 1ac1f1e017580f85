"""The machine's reference speed, shared by the benchmark scripts: NumPy's GEMM rate."""

import time

import numpy as np

__all__ = ["gemm_peak"]


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

"""Tests for minicnn.kernels.fast.malloc.tune_malloc (glibc malloc thresholds) and kernels.one_blas_thread."""

import sys

import numpy as np
import pytest
import threadpoolctl

from minicnn.kernels.fast.malloc import tune_malloc
from minicnn.kernels import one_blas_thread


def test_tune_malloc_respects_the_opt_out(monkeypatch):
    monkeypatch.setenv("MINICNN_DEFAULT_MALLOC", "1")
    assert tune_malloc() is False


def test_tune_malloc_leaves_user_thresholds_alone(monkeypatch):
    monkeypatch.delenv("MINICNN_DEFAULT_MALLOC", raising=False)
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1000000")
    assert tune_malloc() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_tune_malloc_applies_on_linux(monkeypatch):
    monkeypatch.delenv("MINICNN_DEFAULT_MALLOC", raising=False)
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    assert tune_malloc() is True
    # Allocation still works, of course, below and above the new mmap threshold.
    assert np.ones(10 * 2**20).sum() == 10 * 2**20


def blas_threads():
    return [lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"]


def test_one_blas_thread_limits_and_restores():
    before = blas_threads()
    assert before, "NumPy's BLAS should be visible to threadpoolctl"
    with one_blas_thread():
        assert all(n == 1 for n in blas_threads())
    assert blas_threads() == before


def test_one_blas_thread_restores_after_an_error():
    before = blas_threads()
    with pytest.raises(RuntimeError):
        with one_blas_thread():
            raise RuntimeError("boom")
    assert blas_threads() == before

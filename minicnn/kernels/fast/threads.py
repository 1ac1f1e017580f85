"""Threads: `threaded` kernels (a parallel and a serial twin) and `one_blas_thread`.

`threaded` compiles a `prange` kernel twice — with threads and without — and picks per call.

Starting Numba's worker threads costs far more than a serial kernel needs for a small array
(the measurements are in docs/performance.md). Attribution methods call the engine on one or two
images at a time, so for small work the serial twin is used: in it `prange` is an ordinary
`range`, so both twins compute exactly the same thing.

`run_items` runs the conv kernels, which hand out work items (an image, or a fixed part of one:
`parts_per_image`) to the threads and call BLAS from inside Numba; `one_blas_thread` keeps BLAS
single-threaded meanwhile (see its docstring).
"""

import types
from typing import Any, Callable

import numba
import numpy as np
import threadpoolctl
from numba import njit

from ...typing import DTypeLike, Shape

__all__ = ["threaded", "SMALL_WORK", "one_blas_thread", "run_items", "parts_per_image", "ceil_div",
           "per_thread", "contiguous"]

# Elements of the largest array argument below which the serial twin runs.
SMALL_WORK = 1 << 18


class ThreadedKernel:
    """Callable like the kernel; `parallel` and `serial` are the two compiled twins."""

    def __init__(self, fn):
        self.parallel = njit(parallel=True, cache=True)(fn)
        # Numba's on-disk cache is keyed by the function's qualified name, not by the parallel
        # flag, so the serial twin is compiled from a renamed copy to get cache files of its own.
        twin = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_serial", fn.__defaults__, fn.__closure__)
        twin.__qualname__ = fn.__qualname__ + "_serial"
        twin.__doc__ = fn.__doc__
        self.serial = njit(cache=True)(twin)
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__

    def __call__(self, *args):
        work = max((a.size for a in args if isinstance(a, np.ndarray)), default=0)
        return (self.parallel if work >= SMALL_WORK else self.serial)(*args)


def threaded(fn: Callable[..., None]) -> ThreadedKernel:
    """Decorator: `fn` (written with `prange`) as a ThreadedKernel."""
    return ThreadedKernel(fn)


class one_blas_thread:
    """Context manager: every loaded BLAS library (NumPy's, and SciPy's, which np.dot inside
    Numba calls) runs single-threaded inside the block; the thread counts are restored after.

    The engine's GEMMs run inside Numba threads that each call BLAS on their own share of the
    work, so BLAS must not start threads of its own. It matters beyond that block, too: after a
    multi-threaded call OpenBLAS keeps its worker threads spinning for a while, and a spinning
    worker takes a core away from the next Numba kernel (docs/performance.md). So the engine
    makes every GEMM of a training step (conv and linear layers) inside this block. The
    libraries are looked up once, on first use."""

    _libraries = None

    def __enter__(self):
        if one_blas_thread._libraries is None:
            controller = threadpoolctl.ThreadpoolController()
            one_blas_thread._libraries = [lib for lib in controller.lib_controllers
                                          if lib.user_api == "blas"]
        self.saved = [lib.num_threads for lib in self._libraries]
        for lib in self._libraries:
            lib.set_num_threads(1)
        return self

    def __exit__(self, *exc):
        for lib, threads in zip(self._libraries, self.saved):
            lib.set_num_threads(threads)


# Multiply-adds of a convolution below which its per-image kernels run on one thread: on
# Numba's "workqueue" layer, where this was tuned, waking the threads paid off only when the
# serial kernel would take a few hundred µs (docs/performance.md; TBB starts them faster, and
# the threshold was kept so that the split of an image, hence its bits, did not change).
PARALLEL_MACS = 8_000_000


# An image whose convolution takes at least this many multiply-adds is cut into PARTS_PER_IMAGE
# work items (bands of output rows, blocks of channels: each kernel says which), so that one
# image keeps every core busy. The cut depends on the layer's shape only — never on the batch
# size or the number of threads — and every item writes its own part of the result (or its own
# partial sum, added in a fixed order), so the results are the same bits on 1 or 2 threads and
# for an image alone or inside a batch.
PARTS_PER_IMAGE = 4


def parts_per_image(image_macs: int) -> int:
    """Work items per image: PARTS_PER_IMAGE for an image of at least PARALLEL_MACS multiply-adds, else 1."""
    return PARTS_PER_IMAGE if image_macs >= PARALLEL_MACS else 1


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def run_items(kernel: ThreadedKernel, n_items: int, macs: int, *args: Any) -> None:
    """Run a `threaded` conv kernel over `n_items` work items with BLAS single-threaded: the
    threaded twin for two items or more and at least PARALLEL_MACS multiply-adds in all, else the
    serial one. Either way every item is computed by the same code and the same single-threaded
    GEMMs, so results do not depend on the number of threads."""
    parallel = n_items > 1 and macs >= PARALLEL_MACS and numba.get_num_threads() > 1
    with one_blas_thread():
        (kernel.parallel if parallel else kernel.serial)(*args)


def per_thread(shape: Shape, dtype: DTypeLike) -> np.ndarray:
    """A scratch buffer of ``shape`` for each Numba thread (kernels index it by get_thread_id)."""
    return np.empty((numba.get_num_threads(),) + tuple(shape), dtype=dtype)


def contiguous(a: np.ndarray) -> np.ndarray:
    """``a`` C-contiguous: the kernels index raw memory row-major, so a view (a transpose, a
    slice) is copied once here. (Not np.ascontiguousarray on every array: it turns a 0-d array
    into shape (1,).)"""
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)

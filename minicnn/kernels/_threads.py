"""`threaded`: compile a `prange` kernel twice — with threads and without — and pick per call.

Starting Numba's worker threads costs about 60 µs per call here, while a serial kernel on a
small array finishes in a few µs (a 28×28 max pool: 2 µs serial, 65 µs threaded). Attribution
methods call the engine on one or two images at a time, so for small work the serial twin is
used: in it `prange` is an ordinary `range`, so both twins compute exactly the same thing.
"""

import types

import numpy as np
from numba import njit

__all__ = ["threaded", "SMALL_WORK"]

# Elements of the largest array argument below which the serial twin runs.
SMALL_WORK = 1 << 16


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


def threaded(fn):
    """Decorator: `fn` (written with `prange`) as a ThreadedKernel."""
    return ThreadedKernel(fn)

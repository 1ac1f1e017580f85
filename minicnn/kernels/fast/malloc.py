"""Keep freed activation buffers in the process heap instead of handing them back to the OS.

A training step allocates and frees dozens of multi-MB arrays (activations, their gradients,
masks). glibc's malloc serves an allocation above its *mmap threshold* with a fresh mmap, and
gives freed heap memory above its *trim threshold* back to the kernel. Either way the next step
gets brand-new pages, and the kernel must fault in and zero every 4 KB page on first touch
(and unmap it again on free, interrupting the other core to flush its TLB). On a VGG float32 train step this
cut the page faults per step by well over an order of magnitude (docs/performance.md).

glibc adjusts both thresholds by itself as large blocks are freed, but only up to 32 MB, so a
step's 150 MB of temporaries still go back and forth. `tune_malloc` raises them once: blocks up
to MMAP_THRESHOLD come from the heap, and up to TRIM_THRESHOLD of free heap is kept for reuse
(the resident size stays near the peak of the steps instead of dropping between them). PyTorch
avoids the same cost with its own caching allocators.

It only acts on Linux with glibc, leaves alone any MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_
the user set, and is skipped when the environment variable MINICNN_DEFAULT_MALLOC=1 is set.
"""

import ctypes
import ctypes.util
import os
import sys

MMAP_THRESHOLD = 64 * 2**20
TRIM_THRESHOLD = 256 * 2**20

# mallopt parameter numbers from glibc's <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def tune_malloc() -> bool:
    """Raise glibc's mmap and trim thresholds (see module docstring). Returns True if it did."""
    if not sys.platform.startswith("linux") or os.environ.get("MINICNN_DEFAULT_MALLOC") == "1":
        return False
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):          # not glibc (musl has no mallopt thresholds)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))

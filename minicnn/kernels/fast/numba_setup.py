"""Numba settings the fast kernels need, applied once when the fast backend loads.

Two settings, each overridable by the user's own environment variable:

- the threading layer (TBB if installed, else "workqueue", unless NUMBA_THREADING_LAYER is set), and
- where compiled kernels are cached (NUMBA_CACHE_DIR wins).
"""

import ctypes
import os
import sys
import tempfile

import numba

__all__ = ["choose_threading_layer", "ensure_cache_dir"]


# Numba's threading layer: TBB where the `tbb` package is installed (a dependency of minicnn on
# Linux and Windows x86-64), else "workqueue". A ResNet-50 forward pass at batch 1 starts ~200
# parallel kernels (convolutions, batch norm, ReLU), and starting one costs ~100 µs on
# "workqueue" against ~3 µs on TBB: 127 → 82 ms for the whole pass (docs/performance.md).
# OpenMP starts as fast, but its threads busy-wait after every loop: next to PyTorch's OpenMP
# runtime in the same process, or OpenBLAS's threads, that made PyTorch and our convolutions
# many times slower. TBB's idle workers go to sleep, as workqueue's do. The layer is fixed when
# Numba's threads first start; NUMBA_THREADING_LAYER or NUMBA_THREADING_LAYER_PRIORITY from the
# user always wins. The priority goes into the environment as well as numba.config, because
# Numba re-reads its configuration from the environment when a NUMBA_* variable changes.
# (numba.config sets its options through globals(), which mypy cannot see: hence the
# ignores here and in ensure_cache_dir.)
LAYER_PRIORITY = ["tbb", "workqueue", "omp"]


def _preload_tbb() -> None:
    """Load the tbb wheel's libtbb.so.12 from this environment's lib/ directory.

    pip puts it in <sys.prefix>/lib, where the dynamic loader of a virtual environment's
    interpreter does not look (its RUNPATH is the base installation's lib/), so Numba's TBB layer
    would fail to load and Numba fall back without a word. Loaded once by full path, the library
    is found by its name afterwards, by Numba's version check and by its tbbpool extension."""
    path = os.path.join(sys.prefix, "lib", "libtbb.so.12")
    if sys.platform.startswith("linux") and os.path.exists(path):
        try:
            ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        except OSError:  # a broken or foreign library: Numba falls back to workqueue
            pass


def choose_threading_layer() -> None:
    """Prefer TBB, then "workqueue" (see above), unless the user chose a layer."""
    if ("NUMBA_THREADING_LAYER" in os.environ or "NUMBA_THREADING_LAYER_PRIORITY" in os.environ
            or numba.config.THREADING_LAYER != "default"):  # type: ignore[attr-defined]
        return
    _preload_tbb()
    os.environ["NUMBA_THREADING_LAYER_PRIORITY"] = " ".join(LAYER_PRIORITY)
    numba.config.THREADING_LAYER_PRIORITY = list(LAYER_PRIORITY)  # type: ignore[attr-defined]


# Where the compiled kernels are cached (``cache=True``). Numba tries, in order: NUMBA_CACHE_DIR,
# the ``__pycache__`` next to this file, then a user-wide directory ($XDG_CACHE_HOME or
# ~/.cache, "numba" inside). A read-only install (site-packages owned by root) therefore already
# caches in ~/.cache/numba. Only when none of them is writable (read-only package *and* no
# writable home, e.g. a service account or a locked-down container) does Numba refuse to import
# a ``cache=True`` function at all ("no locator available"); then we point it at a per-user
# directory under the system temp dir. An explicit NUMBA_CACHE_DIR always wins.
def _writable_dir(path):
    """True if ``path`` exists or can be created, and a file can be written in it (Numba's test)."""
    try:
        os.makedirs(path, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
        return True
    except OSError:
        return False


def ensure_cache_dir() -> None:
    if numba.config.CACHE_DIR:  # type: ignore[attr-defined]
        return
    if _writable_dir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__")):
        return
    try:  # the same directory Numba's UserWideCacheLocator would use
        from numba.misc.appdirs import AppDirs

        user_cache = AppDirs(appname="numba", appauthor=False).user_cache_dir
    except ImportError:
        user_cache = os.path.join(os.getenv("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "numba")
    if _writable_dir(user_cache):
        return
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    numba.config.CACHE_DIR = os.path.join(tempfile.gettempdir(), f"minicnn-numba-cache-{uid}")  # type: ignore[attr-defined]

"""Writing the commands' outputs so that a failed run leaves nothing behind.

* a file is written to a temporary name next to it and renamed over the target (`os.replace` is
  atomic), so the target is either absent / the old file or the complete new one;
* a directory of outputs is filled under a temporary name next to it and renamed into place; a
  directory that already holds files is never replaced (it may be the user's working directory):
  each new file is then renamed into it one by one;
* several files that belong together (a figure and its `.npz` of results) are all written to
  temporary names first and renamed only when every one is complete (`write_all`);
* `check_output_file` / `check_output_directory` are called before any work, so a wrong `--out`
  fails in a second, not after a minute of attributions, and without creating a directory;
  `check_figure_pixels` likewise refuses a figure too large to draw before it is computed.

Results saved as data (`save_arrays`) are a plain `.npz` of numeric and string arrays, readable
with `np.load(path, allow_pickle=False)`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Optional, Sequence

if TYPE_CHECKING:  # matplotlib is imported only by the commands that draw
    from matplotlib.figure import Figure

import numpy as np
from numpy.typing import ArrayLike

from .errors import CLIError, UsageError

__all__ = ["check_output_file", "check_output_directory", "check_figure_pixels", "pixel_limit", "write_all",
           "figure_writer", "arrays_writer", "results_arrays", "save_figure", "save_arrays", "write_text", "output_directory"]

# What `write_all` takes for each file: write(temporary path) writes the file's content there.
Writer = Callable[[str], None]


def _nearest_existing(path):
    """The closest existing ancestor of `path` (itself if it exists)."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def _check_creatable_dir(directory, what):
    existing = _nearest_existing(directory)
    if not os.path.isdir(existing):
        raise CLIError(f"{what} {directory!r} is not writable: {existing!r} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CLIError(f"{what} {directory!r} is not writable: no write permission in {existing!r}")


def check_output_file(path: str, option: str = "--out") -> None:
    """Before any work: `path` has a figure format matplotlib writes and its directory can be
    written to (or created). Nothing is created here."""
    from matplotlib.figure import Figure

    suffix = os.path.splitext(path)[1].lower().lstrip(".")
    formats = Figure().canvas.get_supported_filetypes()
    if suffix not in formats:
        raise UsageError(f"{option} {path}: expected a figure file ending with one of "
                         f"{', '.join('.' + f for f in sorted(formats))}, got {('.' + suffix) if suffix else 'no extension'}")
    if os.path.isdir(path):
        raise UsageError(f"{option} {path}: expected a file name, got a directory")
    _check_creatable_dir(os.path.dirname(os.path.abspath(path)), "output directory")


def check_output_directory(path: str, option: str = "--out") -> None:
    """Before any work: `path` is a directory that exists or can be created. Nothing is created."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise CLIError(f"output directory {path!r} is not writable: it is a file")
    _check_creatable_dir(path, "output directory")


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def pixel_limit() -> Optional[int]:
    """Pillow's decompression-bomb guard `PIL.Image.MAX_IMAGE_PIXELS` (None: no limit): the largest
    image the commands read, and the largest figure they draw (one Pillow would refuse to open)."""
    from PIL import Image

    return Image.MAX_IMAGE_PIXELS


def check_figure_pixels(size_inches: Sequence[float], dpi: int, what: str, remedy: str = "lower --dpi") -> None:
    """Before any work: a figure of `size_inches` (width, height) at `dpi` stays within `pixel_limit()`."""
    width, height = (round(side * dpi) for side in size_inches)
    limit = pixel_limit()
    if limit is not None and width * height > limit:
        raise UsageError(f"--dpi {dpi}: {what} would be {width}×{height} = {width * height:,} pixels, above the "
                         f"limit of {limit:,} (PIL.Image.MAX_IMAGE_PIXELS); {remedy}")


def write_all(writers: Mapping[str, Writer]) -> None:
    """{path: write(temporary path)}: every file written next to its target under a temporary name,
    then all renamed into place (`os.replace` is atomic); if any write fails, none is renamed and
    the temporary files (and directories made for them) are removed. OSError becomes a one-line
    CLIError naming the file."""
    written = {}
    path = None
    try:
        with contextlib.ExitStack() as directories:  # unwound after the temporary files are gone
            try:
                for path, write in writers.items():
                    directories.enter_context(_parent_directories(os.path.dirname(os.path.abspath(path))))
                    fd, written[path] = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.splitext(path)[1],
                                                         dir=os.path.dirname(os.path.abspath(path)))
                    os.close(fd)
                    write(written[path])
                    os.chmod(written[path], 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
                for path, tmp in written.items():
                    os.replace(tmp, path)
            finally:
                for tmp in written.values():
                    with contextlib.suppress(OSError):
                        os.remove(tmp)  # already renamed on success
    except OSError as error:
        raise CLIError(f"cannot write {path}: {error.strerror or error}") from None


def figure_writer(fig: Figure, path: str, dpi: int) -> Writer:
    """A writer for `write_all`: fig.savefig in the format of `path`'s extension."""
    fmt = os.path.splitext(path)[1].lstrip(".").lower() or None
    return lambda tmp: fig.savefig(tmp, dpi=dpi, format=fmt)


def arrays_writer(arrays: Mapping[str, ArrayLike]) -> Writer:
    """A writer for `write_all`: {name: array} as an uncompressed .npz (numeric and str arrays only,
    so `np.load(..., allow_pickle=False)` reads it back)."""
    converted = {name: np.asarray(value) for name, value in arrays.items()}
    for name, array in converted.items():
        if array.dtype.hasobject:
            raise TypeError(f"arrays[{name!r}]: expected a numeric or string array, got dtype object")

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:  # a file object: np.savez would append .npz to a name
            # numpy's stubs check **kwds against the allow_pickle: bool keyword; these are arrays
            np.savez(f, **converted)  # type: ignore[arg-type]

    return write


def results_arrays(x: ArrayLike, targets: ArrayLike, logits: ArrayLike, attributions: Mapping[str, ArrayLike],
                   classes: Sequence[Any], **extra: ArrayLike) -> dict[str, np.ndarray]:
    """What `--save` writes: {name: array}, for `arrays_writer` (loadable without pickle).

    x (N, C, H, W) the model inputs; target (N,) the explained classes; logits (N, K) the class
    scores; baseline the reference x′ = 0 that the methods needing one explain against (shaped
    like x); classes (K,) the class names; one array per method under its registry name
    (attributions[name][i] explains target[i] of x[i]); then `extra` (e.g. the test indices).
    """
    arrays = {"x": np.asarray(x), "target": np.asarray(targets, dtype=np.int64), "logits": np.asarray(logits),
              "baseline": np.zeros_like(np.asarray(x)), "classes": np.asarray([str(c) for c in classes])}
    for name, a in attributions.items():
        arrays[name] = np.asarray(a)
    for name, value in extra.items():
        arrays[name] = np.asarray(value)
    return arrays


def save_figure(fig: Figure, path: str, dpi: int) -> None:
    """fig.savefig to `path` atomically; OSError becomes a one-line CLIError."""
    write_all({path: figure_writer(fig, path, dpi)})


def save_arrays(path: str, arrays: Mapping[str, ArrayLike]) -> None:
    """{name: array} to the .npz `path` atomically (see `arrays_writer`)."""
    write_all({path: arrays_writer(arrays)})


def write_text(path: str, text: str) -> None:
    """A UTF-8 text file written atomically."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    write_all({path: write})


@contextlib.contextmanager
def _parent_directories(directory):
    """Create `directory` (and its missing parents) for the block; if the block fails, remove the
    ones created here again (when they are still empty), so a failed run leaves no empty folder."""
    missing = []
    here = os.path.abspath(directory)
    while not os.path.exists(here):
        missing.append(here)
        here = os.path.dirname(here)
    os.makedirs(directory, exist_ok=True)
    try:
        yield
    except BaseException:
        for made in missing:  # deepest first
            with contextlib.suppress(OSError):
                os.rmdir(made)
        raise


@contextlib.contextmanager
def output_directory(path: str) -> Iterator[str]:
    """Yield a temporary directory to write the outputs into; on success it becomes `path`.

    If `path` is missing or empty, the temporary directory (made next to it) is renamed into place.
    If it already holds files, they are kept and each new file is renamed into it (replacing one
    of the same name). On any failure or interruption (Ctrl-C) the temporary directory, and any
    parent directory made for it, is removed and `path` is untouched.
    """
    target = os.path.abspath(path)
    parent = os.path.dirname(target)
    with _parent_directories(parent):
        staging = tempfile.mkdtemp(prefix=".tmp-" + os.path.basename(target) + "-", dir=parent)
        try:
            yield staging
            try:
                if os.path.isdir(target) and not os.listdir(target):
                    os.rmdir(target)
                if not os.path.exists(target):
                    os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes 0700
                    os.replace(staging, target)
                    return
                for name in sorted(os.listdir(staging)):
                    os.replace(os.path.join(staging, name), os.path.join(target, name))
            except OSError as error:
                raise CLIError(f"cannot write the output directory {path}: {error.strerror or error}") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)

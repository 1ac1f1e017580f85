"""Writing the commands' outputs so that a failed run leaves nothing behind.

* a file is written to a temporary name next to it and renamed over the target (`os.replace` is
  atomic), so the target is either absent / the old file or the complete new one;
* a directory of outputs is filled under a temporary name next to it and renamed into place; a
  directory that already holds files is never replaced (it may be the user's working directory):
  each new file is then renamed into it one by one;
* `check_output_file` is called before any work, so a wrong `--out` fails in a second, not after
  a minute of attributions, and without creating a directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:  # matplotlib is imported only by the commands that draw
    from matplotlib.figure import Figure

from .errors import CLIError, UsageError

__all__ = ["check_output_file", "check_output_directory", "save_figure", "write_text", "output_directory"]


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


def _atomic(path, write):
    """write(temporary path) next to `path`, then rename it over `path`; on failure remove it."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    suffix = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=directory)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def save_figure(fig: Figure, path: str, dpi: int) -> None:
    """fig.savefig to `path` atomically; OSError becomes a one-line CLIError."""
    fmt = os.path.splitext(path)[1].lstrip(".").lower() or None
    try:
        _atomic(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format=fmt))
    except OSError as error:
        raise CLIError(f"cannot write {path}: {error.strerror or error}") from None


def write_text(path: str, text: str) -> None:
    """A UTF-8 text file written atomically."""

    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    try:
        _atomic(path, write)
    except OSError as error:
        raise CLIError(f"cannot write {path}: {error.strerror or error}") from None


@contextlib.contextmanager
def output_directory(path: str) -> Iterator[str]:
    """Yield a temporary directory to write the outputs into; on success it becomes `path`.

    If `path` is missing or empty, the temporary directory (made next to it) is renamed into place.
    If it already holds files, they are kept and each new file is renamed into it (replacing one
    of the same name). On any failure the temporary directory is removed and `path` is untouched.
    """
    target = os.path.abspath(path)
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".tmp-" + os.path.basename(target) + "-", dir=parent)
    try:
        yield staging
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

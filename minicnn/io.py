"""Save and load state dicts as .npz or .safetensors files: atomic writes, loads that never unpickle.

Two formats, chosen by the file's extension:

* ``.npz`` -- NumPy's zip of .npy arrays. Read with ``allow_pickle=False``, so a file can only
  hold plain numeric arrays; an archive with a pickled (object) array is refused.
* ``.safetensors`` -- the format Hugging Face and timm publish weights in: a JSON header of
  names, dtypes, shapes and byte offsets, then the raw bytes. Nothing in it can run code.
  Read and written through the ``safetensors`` package's NumPy API
  (``pip install safetensors``, or the ``weights`` extra).

A PyTorch ``.pth`` file is a pickle; it is read only by `minicnn.interop.load_torch_checkpoint`
(``torch.load(weights_only=True)``), or converted once with ``python -m minicnn.convert``.

Every write goes to a temporary file in the same directory that is then renamed over the real
name (``os.replace`` is atomic), so a crash or a full disk never leaves a half-written file.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections import OrderedDict

import numpy as np

from .typing import PathLike, StateDict

__all__ = ["save", "load", "FORMATS"]

FORMATS = (".npz", ".safetensors")

# safetensors stores tensors in its own order (by alignment, then name); the state_dict's order
# (module registration order, what PyTorch prints) is kept in the header's free-form metadata.
_ORDER_KEY = "minicnn.key_order"
_TORCH_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt", ".tar")


def save(state_dict: StateDict, path: PathLike) -> None:
    """Write {name: array} to `path`: an .npz or a .safetensors file, by its extension.

    Values may be ndarrays, minicnn Tensors or anything `np.asarray` accepts, as long as they
    are numeric. The file is written to a temporary name in the same directory, flushed to disk
    and renamed over `path`, so `path` is either the old file or the complete new one.
    """
    arrays = _numeric_arrays(state_dict)
    path = os.fspath(path)
    suffix = _format_of(path, "save")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save: directory {directory!r} does not exist")
    writer = _write_npz if suffix == ".npz" else _safetensors_writer(arrays)
    _write_atomically(path, directory, suffix, lambda f: writer(f, arrays))


def load(path: PathLike) -> OrderedDict[str, np.ndarray]:
    """Read an .npz or .safetensors file into an OrderedDict {name: ndarray}; never unpickles.

    The arrays are plain, writable ndarrays in the dtypes stored in the file.
    """
    path = os.fspath(path)
    suffix = _format_of(path, "load")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load: no such file {path!r}")
    return _load_npz(path) if suffix == ".npz" else _load_safetensors(path)


# ---- checks shared by both formats ---------------------------------------------------------
def _format_of(path, caller):
    suffix = os.path.splitext(path)[1].lower()
    if suffix in FORMATS:
        return suffix
    hint = ""
    if suffix in _TORCH_SUFFIXES:
        hint = ("; a PyTorch checkpoint is read with minicnn.interop.load_torch_checkpoint, "
                f"or converted once with: python -m minicnn.convert {path} weights.npz")
    raise ValueError(f"{caller}: path must end with .npz or .safetensors, got {path!r}{hint}")


def _numeric_arrays(state_dict):
    if not hasattr(state_dict, "items"):
        raise TypeError(f"save: state_dict must be a mapping of names to arrays, got {type(state_dict).__name__}")
    arrays = OrderedDict()
    for name, value in state_dict.items():
        if not isinstance(name, str):
            raise TypeError(f"save: keys must be strings, got {name!r}")
        array = np.asarray(getattr(value, "data", value))
        if array.dtype.hasobject or array.dtype.kind not in "biufc":
            raise TypeError(f"save: {name!r} must be a numeric array, got dtype {array.dtype}")
        arrays[name] = array
    return arrays


def _write_atomically(path, directory, suffix, write):
    """Call write(file) on a temporary file in `directory`, then rename it to `path`."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---- .npz ----------------------------------------------------------------------------------
def _write_npz(f, arrays):
    # Each array is one "<name>.npy" member, written by hand rather than via np.savez, whose
    # own keyword arguments ("file", "allow_pickle") would clash with such names.
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            with archive.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def _load_npz(path):
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not a named .npz archive")
        with archive:
            foreign = [n for n in archive.zip.namelist() if not n.endswith(".npy")]
            if foreign:
                raise ValueError(f"it is a zip file with non-array members {foreign[:3]}")
            pickled = _first_object_array(archive.zip)
            if pickled is not None:
                raise _PickledArray(pickled)
            return OrderedDict((name, archive[name]) for name in archive.files)
    except _PickledArray as error:
        raise ValueError(f"load: {path!r} holds a pickled object array {error.args[0]!r}; minicnn loads "
                         "plain numeric arrays only and never unpickles (save the weights as numbers)") from None
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as error:
        raise ValueError(f"load: {path!r} is not a readable minicnn .npz file ({error})") from None


class _PickledArray(Exception):
    """Internal: an .npz member whose dtype holds Python objects (stored as a pickle)."""


def _first_object_array(archive):
    """Name of the first member whose .npy header declares an object dtype, or None.

    Only the header is read (a Python literal, parsed without eval), never the data."""
    for member_name in archive.namelist():
        with archive.open(member_name) as member:
            version = np.lib.format.read_magic(member)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            _, _, dtype = read_header(member)
        if dtype.hasobject:
            return member_name[: -len(".npy")]
    return None


# ---- .safetensors --------------------------------------------------------------------------
def _safetensors():
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError(".safetensors files need the safetensors package: pip install safetensors "
                          "(or pip install 'minicnn[weights]')") from None
    return safetensors


def _safetensors_writer(arrays):
    """A writer for the .safetensors format (checked for the package before any file is made)."""
    safetensors = _safetensors()

    def write(f, arrays):
        # np.ascontiguousarray would turn a 0-d array (num_batches_tracked) into shape (1,).
        contiguous = {name: array if array.flags.c_contiguous else array.copy(order="C")
                      for name, array in arrays.items()}
        try:
            encoded = safetensors.numpy.save(contiguous, metadata={_ORDER_KEY: json.dumps(list(arrays))})
        except safetensors.SafetensorError as error:  # e.g. complex128, which the format lacks
            raise TypeError(f"save: cannot write these arrays as .safetensors ({error})") from None
        f.write(encoded)

    return write


def _load_safetensors(path):
    safetensors = _safetensors()
    try:
        with safetensors.safe_open(path, framework="np") as f:
            metadata = f.metadata() or {}
            names = list(f.keys())
            arrays = {name: f.get_tensor(name) for name in names}
    except (safetensors.SafetensorError, OSError, ValueError, TypeError) as error:
        raise ValueError(f"load: {path!r} is not a readable .safetensors file ({error})") from None
    order = _stored_order(metadata, names)
    return OrderedDict((name, np.array(arrays[name], copy=True)) for name in order)


def _stored_order(metadata, names):
    """The state_dict order saved by `save`, when it lists exactly the file's tensors; else the
    file's own order (files written elsewhere carry no order)."""
    try:
        order = json.loads(metadata.get(_ORDER_KEY, "null"))
    except ValueError:
        return names
    if isinstance(order, list) and sorted(map(str, order)) == sorted(names):
        return order
    return names

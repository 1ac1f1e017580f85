"""Save and load state dicts as .npz files: atomic writes, and loads that never unpickle.

An .npz is a zip of .npy arrays; with `allow_pickle=False` a file can only contain plain
numeric arrays, so loading a file from anywhere cannot run code.
"""

import os
import tempfile
import zipfile
from collections import OrderedDict

import numpy as np

__all__ = ["save", "load"]


def save(state_dict, path):
    """Write {name: array} to `path` (.npz). Writes a temporary file in the same directory and
    renames it over `path`, so a crash never leaves a half-written file under the real name."""
    if not hasattr(state_dict, "items"):
        raise TypeError(f"save: state_dict must be a mapping of names to arrays, got {type(state_dict).__name__}")
    arrays = OrderedDict()
    for name, value in state_dict.items():
        if not isinstance(name, str):
            raise TypeError(f"save: keys must be strings, got {name!r}")
        array = np.asarray(getattr(value, "data", value))
        if array.dtype == object:
            raise TypeError(f"save: {name!r} is not a numeric array")
        arrays[name] = array
    path = os.fspath(path)
    if not path.endswith(".npz"):
        raise ValueError(f"save: path must end with .npz, got {path!r}")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save: directory {directory!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            # Each array is one "<name>.npy" member, written by hand rather than via np.savez,
            # whose own keyword arguments ("file", "allow_pickle") would clash with such names.
            with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for name, array in arrays.items():
                    with archive.open(name + ".npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, array, allow_pickle=False)
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


def load(path):
    """Read an .npz written by `save` into an OrderedDict {name: ndarray} (no pickle, ever)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load: no such file {path!r}")
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not a named .npz archive")
        with archive:
            foreign = [n for n in archive.zip.namelist() if not n.endswith(".npy")]
            if foreign:
                raise ValueError(f"it is a zip file with non-array members {foreign[:3]}")
            return OrderedDict((name, archive[name]) for name in archive.files)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as error:
        raise ValueError(f"load: {path!r} is not a readable minicnn .npz file ({error})") from None

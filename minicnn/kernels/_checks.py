"""Input validation and index arithmetic shared by the kernels.

Everything here is ordinary Python so it can be read and unit-tested on its own; the Numba kernels
receive already-validated, contiguous arrays and plain integers.
"""

import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)


def as_pair(value, name):
    """Return ``value`` as a tuple of two ints; an int ``k`` means ``(k, k)``."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value), int(value)
    if (isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)):
        return int(value[0]), int(value[1])
    raise TypeError(f"{name} must be an int or a pair of ints (h, w), got {value!r}")


def positive_pair(value, name):
    pair = as_pair(value, name)
    if pair[0] < 1 or pair[1] < 1:
        raise ValueError(f"{name} must be positive, got {pair}")
    return pair


def non_negative_pair(value, name):
    pair = as_pair(value, name)
    if pair[0] < 0 or pair[1] < 0:
        raise ValueError(f"{name} must be non-negative, got {pair}")
    return pair


def float_array(a, name, ndim=None):
    """Check ``a`` is a float32/float64 ndarray with ``ndim`` dims (any number if None); return
    it C-contiguous."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    if a.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64, got {a.dtype}")
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {a.shape}")
    # Kernels index raw memory row-major; a view (transpose, slice) is copied once here.
    # (Not np.ascontiguousarray on every array: it turns a 0-d array into shape (1,).)
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def same_dtype(a, b, name_a, name_b):
    if a.dtype != b.dtype:
        raise TypeError(f"{name_a} and {name_b} must have the same dtype, got {a.dtype} and {b.dtype}")


def shape4(shape, name):
    """Check ``shape`` is a 4-tuple of non-negative ints (N, C, H, W)."""
    try:
        out = tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of 4 ints, got {shape!r}") from None
    if len(out) != 4 or min(out) < 0:
        raise ValueError(f"{name} must be 4 non-negative ints (N, C, H, W), got {shape!r}")
    return out


def output_size(size, kernel, stride, padding):
    """Number of window positions along one axis: ``(size + 2·padding − kernel) // stride + 1``.

    This is PyTorch's rule with ``ceil_mode=False`` and dilation 1: a window must fit entirely
    inside the padded input, so trailing rows that do not fill a whole stride are never visited.
    """
    return (size + 2 * padding - kernel) // stride + 1


def output_hw(h, w, kernel, stride, padding, name="input"):
    """Spatial output size (OH, OW); raises if the kernel does not fit into the padded input."""
    kh, kw = kernel
    sh, sw = stride
    ph, pw = padding
    if h + 2 * ph < kh or w + 2 * pw < kw:
        raise ValueError(
            f"kernel {kernel} is larger than the padded {name} ({h + 2 * ph}, {w + 2 * pw}) "
            f"(spatial size ({h}, {w}), padding {padding})")
    return output_size(h, kh, sh, ph), output_size(w, kw, sw, pw)

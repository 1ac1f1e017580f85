"""Window arithmetic shared by the convolution and pooling kernels (ordinary Python, unit-tested)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["pair", "output_size", "output_hw", "dilated_extent", "pooled_size", "pooled_hw", "adaptive_bins"]


def pair(value: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    """An (h, w) pair from an int or a pair: the kernels' shorthand, `conv2d_forward(x, w, 1, 2)`
    (the engine's ops have already checked the values)."""
    if isinstance(value, (tuple, list)):
        return int(value[0]), int(value[1])
    return int(value), int(value)


def output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Number of window positions along one axis: ``(size + 2·padding − kernel) // stride + 1``.

    This is PyTorch's rule with ``ceil_mode=False`` and dilation 1: a window must fit entirely
    inside the padded input, so trailing rows that do not fill a whole stride are never visited.
    """
    return (size + 2 * padding - kernel) // stride + 1


def dilated_extent(kernel: Sequence[int], dilation: Sequence[int] = (1, 1)) -> tuple[int, ...]:
    """The span d·(K − 1) + 1 of a K-tap window whose taps are d apart, on each axis."""
    return tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))


def output_hw(h: int, w: int, kernel: Sequence[int], stride: Sequence[int], padding: Sequence[int],
              dilation: Sequence[int] = (1, 1)) -> tuple[int, int]:
    """Spatial output size (OH, OW) of a window of size `kernel` (taps `dilation` apart) over an
    (h, w) input."""
    kh, kw = dilated_extent(kernel, dilation)
    return output_size(h, kh, stride[0], padding[0]), output_size(w, kw, stride[1], padding[1])


def pooled_size(size: int, kernel: int, stride: int, padding: int, ceil_mode: bool = False) -> int:
    """Pooling windows along one axis, PyTorch's rule: `output_size`, or with ``ceil_mode`` one
    more window for a remainder that does not fill a whole stride, unless that window would start
    in the right padding (then it is dropped again)."""
    span = size + 2 * padding - kernel
    count = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (count - 1) * stride >= size + padding:
        count -= 1
    return count


def pooled_hw(h: int, w: int, kernel: Sequence[int], stride: Sequence[int], padding: Sequence[int],
              ceil_mode: bool = False) -> tuple[int, int]:
    """Spatial output size (OH, OW) of a pooling layer."""
    return (pooled_size(h, kernel[0], stride[0], padding[0], ceil_mode),
            pooled_size(w, kernel[1], stride[1], padding[1], ceil_mode))


def adaptive_bins(size: int, bins: int) -> list[tuple[int, int]]:
    """PyTorch's adaptive-pooling bin edges along one axis: bin i covers
    ⌊i·size/bins⌋ ≤ h < ⌈(i+1)·size/bins⌉ (neighbouring bins overlap when bins does not divide size)."""
    return [((i * size) // bins, -((-(i + 1) * size) // bins)) for i in range(bins)]

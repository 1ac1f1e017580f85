"""The engine's ops as lowercase functions (`import minicnn.functional as F`).

Each function checks its arguments, then calls `SomeOp.apply(...)`: the `Function` subclass in
`minicnn/ops/` that holds the forward formula and its derivative side by side. Inputs may be
Tensors, ndarrays or numbers.
"""

from __future__ import annotations

import numpy as np

from . import ops
from .tensor import Tensor, as_tensor

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "matmul", "exp", "log", "cast",
    "sum", "mean", "max",
    "reshape", "transpose", "flatten", "concatenate", "getitem",
    "relu", "sigmoid", "tanh", "softmax", "log_softmax",
    "cross_entropy", "mse_loss",
    "linear", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "interpolate",
    "batch_norm", "dropout",
]

_sum, _max, _pow = sum, max, pow  # the builtins, before this module's ops shadow them


# ---- arithmetic -----------------------------------------------------------------------------
def add(a, b):
    """a + b (broadcasting)."""
    return ops.Add.apply(a, b)


def sub(a, b):
    """a − b (broadcasting)."""
    return ops.Sub.apply(a, b)


def mul(a, b):
    """a · b element-wise (broadcasting)."""
    return ops.Mul.apply(a, b)


def div(a, b):
    """a / b element-wise (broadcasting)."""
    return ops.Div.apply(a, b)


def neg(a):
    """−a."""
    return ops.Neg.apply(a)


def pow(a, exponent):
    """a ** exponent for a constant (number) exponent."""
    if isinstance(exponent, Tensor) or np.ndim(exponent) != 0:
        raise TypeError(f"pow: exponent must be a number, got {type(exponent).__name__}")
    return ops.Pow.apply(a, exponent=float(exponent))


def matmul(a, b):
    """a @ b (2-D, vector or batched matrix product)."""
    return ops.MatMul.apply(a, b)


def exp(a):
    """eᵃ element-wise."""
    return ops.Exp.apply(a)


def log(a):
    """Natural logarithm element-wise."""
    return ops.Log.apply(a)


def cast(a, dtype):
    """`a` converted to float32 or float64 (differentiable)."""
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"cast: dtype must be float32 or float64, got {dtype}")
    return ops.Cast.apply(a, dtype=dtype)


# ---- reductions -----------------------------------------------------------------------------
def sum(a, axis=None, keepdims=False):
    """Σ over `axis` (None: all axes)."""
    return ops.Sum.apply(a, axis=axis, keepdims=keepdims)


def mean(a, axis=None, keepdims=False):
    """Mean over `axis` (None: all axes)."""
    return ops.Mean.apply(a, axis=axis, keepdims=keepdims)


def max(a, axis=None, keepdims=False):
    """Maximum over `axis` (None: all axes); ties share the gradient equally."""
    return ops.Max.apply(a, axis=axis, keepdims=keepdims)


# ---- shapes ---------------------------------------------------------------------------------
def reshape(a, shape):
    """`a` with a new shape (one entry may be −1)."""
    return ops.Reshape.apply(a, shape=tuple(shape))


def transpose(a, axes=None):
    """`a` with its axes permuted (None reverses them)."""
    return ops.Transpose.apply(a, axes=None if axes is None else tuple(axes))


def flatten(a, start_dim=1):
    """Merge axes start_dim… into one: (N, C, H, W) → (N, C·H·W) by default."""
    a = as_tensor(a)
    if not -a.ndim <= start_dim < _max(a.ndim, 1):
        raise ValueError(f"flatten: start_dim must be in [-{a.ndim}, {a.ndim}), got {start_dim}")
    start_dim %= _max(a.ndim, 1)
    return reshape(a, a.shape[:start_dim] + (-1,))


def concatenate(tensors, axis=0):
    """Join a sequence of tensors along an existing axis."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate: tensors must be a non-empty sequence")
    return ops.Concatenate.apply(*tensors, axis=axis)


def getitem(a, index):
    """a[index]: slices, integers, None, Ellipsis, integer or boolean arrays."""
    if isinstance(index, Tensor):
        index = index.data.astype(np.int64)
    elif isinstance(index, tuple):
        index = tuple(i.data.astype(np.int64) if isinstance(i, Tensor) else i for i in index)
    return ops.GetItem.apply(a, index=index)


# ---- activations ----------------------------------------------------------------------------
def relu(a):
    """max(a, 0)."""
    return ops.Relu.apply(a)


def sigmoid(a):
    """1 / (1 + e^(−a))."""
    return ops.Sigmoid.apply(a)


def tanh(a):
    """tanh(a)."""
    return ops.Tanh.apply(a)


def softmax(a, axis=-1):
    """e^(a_i) / Σ_j e^(a_j) along `axis`."""
    return ops.Softmax.apply(a, axis=axis)


def log_softmax(a, axis=-1):
    """a_i − log Σ_j e^(a_j) along `axis`, computed stably."""
    return ops.LogSoftmax.apply(a, axis=axis)


# ---- losses ---------------------------------------------------------------------------------
def cross_entropy(logits, targets, reduction="mean"):
    """−log softmax(logits)[target], averaged (or summed) over the batch.

    logits: (N, K) Tensor; targets: N integer class indices in [0, K).
    """
    logits = as_tensor(logits)
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: logits must have shape (N, K), got {logits.shape}")
    targets = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    if targets.dtype.kind == "f":
        if not np.all(targets == np.round(targets)):
            raise TypeError("cross_entropy: targets must be integer class indices, got non-integer floats")
    elif targets.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: targets must be integer class indices, got dtype {targets.dtype}")
    targets = targets.astype(np.int64).reshape(-1)
    n, k = logits.shape
    if n == 0:
        raise ValueError("cross_entropy: logits must have at least one row, got an empty batch")
    if targets.shape[0] != n:
        raise ValueError(f"cross_entropy: {n} rows of logits but {targets.shape[0]} targets")
    if targets.size and (targets.min() < 0 or targets.max() >= k):
        raise ValueError(f"cross_entropy: targets must lie in [0, {k}), got values in [{targets.min()}, {targets.max()}]")
    if reduction not in ("mean", "sum"):
        raise ValueError(f"cross_entropy: reduction must be 'mean' or 'sum', got {reduction!r}")
    return ops.CrossEntropy.apply(logits, targets=targets, reduction=reduction)


def mse_loss(prediction, target, reduction="mean"):
    """mean((prediction − target)²) (or the sum)."""
    prediction, target = as_tensor(prediction), as_tensor(target, dtype=as_tensor(prediction).dtype)
    if prediction.shape != target.shape:
        raise ValueError(f"mse_loss: prediction has shape {prediction.shape} but target has {target.shape}")
    if reduction not in ("mean", "sum"):
        raise ValueError(f"mse_loss: reduction must be 'mean' or 'sum', got {reduction!r}")
    squared = (prediction - target) ** 2
    return mean(squared) if reduction == "mean" else sum(squared)


# ---- layers ---------------------------------------------------------------------------------
def linear(x, weight, bias=None):
    """x Wᵀ + b with W of shape (out, in), as `torch.nn.functional.linear`."""
    x, weight = as_tensor(x), as_tensor(weight)
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out, in), got shape {weight.shape}")
    if x.ndim < 1 or x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: expected input with last axis {weight.shape[1]}, got shape {x.shape}")
    if x.dtype != weight.dtype:
        raise TypeError(f"linear: input is {x.dtype} but weight is {weight.dtype}; cast one of them")
    _check_bias(bias, weight, "linear")
    args = (x, weight) if bias is None else (x, weight, bias)
    return ops.Linear.apply(*args)


def _check_bias(bias, weight, op):
    if bias is None:
        return
    bias = as_tensor(bias)
    if bias.shape != (weight.shape[0],):
        raise ValueError(f"{op}: bias must have shape ({weight.shape[0]},), got {bias.shape}")
    if bias.dtype != weight.dtype:
        raise TypeError(f"{op}: bias is {bias.dtype} but weight is {weight.dtype}; cast one of them")


def _pair(value, name, op, minimum):
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and v >= minimum for v in pair):
        raise ValueError(f"{op}: {name} must be an int ≥ {minimum} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def _check_4d(x, op):
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W), got shape {x.shape}")


def conv2d(x, weight, bias=None, stride=1, padding=0):
    """2-D cross-correlation as `torch.nn.functional.conv2d`: x (N,C,H,W), weight (O,C,KH,KW)."""
    x, weight = as_tensor(x), as_tensor(weight)
    _check_4d(x, "conv2d")
    if weight.ndim != 4 or weight.shape[1] != x.shape[1]:
        raise ValueError(
            f"conv2d: weight of shape {weight.shape} expects an input with {weight.shape[1] if weight.ndim == 4 else '?'} "
            f"channels, got input of shape {x.shape}"
        )
    stride = _pair(stride, "stride", "conv2d", 1)
    padding = _pair(padding, "padding", "conv2d", 0)
    for axis in (0, 1):
        if x.shape[2 + axis] + 2 * padding[axis] < weight.shape[2 + axis]:
            raise ValueError(
                f"conv2d: kernel {weight.shape[2:]} is larger than the padded input {x.shape[2:]} + 2·{padding}"
            )
    if x.dtype != weight.dtype:
        raise TypeError(f"conv2d: input is {x.dtype} but weight is {weight.dtype}; cast one of them")
    _check_bias(bias, weight, "conv2d")
    args = (x, weight) if bias is None else (x, weight, bias)
    return ops.Conv2d.apply(*args, stride=stride, padding=padding)


def _pool_settings(x, kernel_size, stride, padding, op):
    x = as_tensor(x)
    _check_4d(x, op)
    kernel = _pair(kernel_size, "kernel_size", op, 1)
    stride = kernel if stride is None else _pair(stride, "stride", op, 1)
    padding = _pair(padding, "padding", op, 0)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel {kernel}")
    if x.shape[2] + 2 * padding[0] < kernel[0] or x.shape[3] + 2 * padding[1] < kernel[1]:
        raise ValueError(f"{op}: kernel {kernel} is larger than the padded input {x.shape[2:]}")
    return x, dict(kernel_size=kernel, stride=stride, padding=padding)


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Max over windows (stride defaults to kernel_size; ties go to the first in row-major order)."""
    x, settings = _pool_settings(x, kernel_size, stride, padding, "max_pool2d")
    return ops.MaxPool2d.apply(x, **settings)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Mean over windows, padding zeros included in the count (PyTorch's default)."""
    x, settings = _pool_settings(x, kernel_size, stride, padding, "avg_pool2d")
    return ops.AvgPool2d.apply(x, **settings)


def adaptive_avg_pool2d(x, output_size=1):
    """Global average pooling to 1×1 (the only output size supported): mean over H and W."""
    x = as_tensor(x)
    _check_4d(x, "adaptive_avg_pool2d")
    if output_size not in (1, (1, 1)):
        raise ValueError(f"adaptive_avg_pool2d: only output_size 1 is supported, got {output_size!r}")
    return mean(x, axis=(2, 3), keepdims=True)


def interpolate(x, size, mode="bilinear", align_corners=False):
    """Resize (N, C, H, W) to `size` = (OH, OW), as `torch.nn.functional.interpolate(...,
    mode="bilinear", align_corners=False)`; those are the only mode and setting supported."""
    x = as_tensor(x)
    _check_4d(x, "interpolate")
    if mode != "bilinear" or align_corners:
        raise ValueError(f"interpolate: only mode='bilinear' with align_corners=False is supported, got {mode!r}, {align_corners}")
    size = _pair(size, "size", "interpolate", 1)
    return ops.BilinearResize.apply(x, size=size)


def batch_norm(x, running_mean, running_var, weight, bias, training=False, momentum=0.1, eps=1e-5):
    """Batch normalisation over axis 1; running statistics (ndarrays) are updated in place in training."""
    x = as_tensor(x)
    if x.ndim < 2 or x.shape[1] != np.shape(running_mean)[0]:
        raise ValueError(f"batch_norm: expected input with {np.shape(running_mean)[0]} channels on axis 1, got shape {x.shape}")
    for name, value in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        if np.asarray(getattr(value, "data", value)).dtype != x.dtype:
            raise TypeError(f"batch_norm: input is {x.dtype} but {name} is {np.asarray(getattr(value, 'data', value)).dtype}")
    return ops.BatchNorm.apply(
        x, weight, bias, running_mean=running_mean, running_var=running_var,
        training=training, momentum=momentum, eps=eps,
    )


_default_rng = np.random.default_rng()


def dropout(x, p=0.5, training=True, rng=None):
    """Zero each element with probability p and scale the rest by 1/(1 − p); identity when not training."""
    if not 0 <= p < 1:
        raise ValueError(f"dropout: p must be in [0, 1), got {p}")
    x = as_tensor(x)
    if not training or p == 0:
        return x
    return ops.Dropout.apply(x, p=p, rng=rng if rng is not None else _default_rng)

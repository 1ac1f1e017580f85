"""The layers: thin Modules that hold parameters and settings and call `minicnn.functional`.

Constructor signatures, attribute names, `state_dict` layouts and default initialisation follow
`torch.nn` (conv/pool sizes are stored as (h, w) tuples). Each forward checks its input first, so
a wrong shape fails with a message that names the layer, the expected and the received shape,
instead of deep inside a kernel.

Every layer with parameters takes `dtype=` (float64 by default) and `rng=` (an
`np.random.Generator` or an int seed, for reproducible initialisation; see `minicnn.nn.init`).
"""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from . import init
from .module import Module, Parameter

__all__ = [
    "Identity", "Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "Flatten",
    "ReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Dropout", "BatchNorm1d", "BatchNorm2d",
]


# ---- argument checks --------------------------------------------------------------------------
def _positive_int(value, name, layer):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")
    return int(value)


def _pair(value, name, layer, minimum):
    """An int or a pair of ints ≥ minimum, as an (h, w) tuple."""
    pair = (value, value) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
    try:
        pair = tuple(pair)
    except TypeError:
        pair = ()
    if len(pair) != 2 or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= minimum for v in pair
    ):
        raise ValueError(f"{layer}: {name} must be an int ≥ {minimum} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def _float_dtype(dtype, layer):
    dtype = np.dtype(np.float64 if dtype is None else dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"{layer}: dtype must be np.float32 or np.float64, got {dtype}")
    return dtype


def _check_dtype(layer, x, dtype):
    if x.dtype != dtype:
        raise TypeError(
            f"{layer!r}: input is {x.dtype} but the layer's parameters are {dtype}; cast the input "
            f"(x.astype(np.{dtype})) or the model (model.to(np.{x.dtype}))"
        )


def _check_4d(layer, x, channels=None):
    if x.ndim != 4 or (channels is not None and x.shape[1] != channels):
        expected = f"(N, {'C' if channels is None else channels}, H, W)"
        raise ValueError(f"{layer!r}: expected input of shape {expected}, got {tuple(x.shape)}")


class _Prefixed:
    """Context manager: re-raise a functional op's ValueError with the layer's repr in front."""

    def __init__(self, layer):
        self.layer = layer

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if kind is ValueError:
            raise ValueError(f"{self.layer!r}: {error}") from error
        return False


# ---- containers of nothing --------------------------------------------------------------------
class Identity(Module):
    """y = x (a placeholder, e.g. to cut a head off a model); ignores constructor arguments."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Lambda(Module):
    """y = fn(x) for a plain function of a Tensor: a parameter-free model built in one line,
    e.g. `Lambda(lambda x: 1 - F.relu(1 - x))` for the small hand-checkable cases."""

    def __init__(self, fn):
        super().__init__()
        if not callable(fn):
            raise TypeError(f"Lambda: fn must be callable, got {type(fn).__name__}")
        self.fn = fn

    def forward(self, x):
        return self.fn(x)

    def extra_repr(self):
        return getattr(self.fn, "__name__", "fn")


# ---- layers with weights ----------------------------------------------------------------------
class Linear(Module):
    """y = x Wᵀ + b with weight W (out_features, in_features) and bias b (out_features,).

    Init (PyTorch's): W ~ kaiming_uniform_(a=√5) = U(−1/√in, 1/√in), b ~ U(−1/√in, 1/√in).
    Input (N, in_features) — or (*, in_features), as PyTorch.
    """

    def __init__(self, in_features, out_features, bias=True, dtype=None, rng=None):
        super().__init__()
        self.in_features = _positive_int(in_features, "in_features", "Linear")
        self.out_features = _positive_int(out_features, "out_features", "Linear")
        dtype = _float_dtype(dtype, "Linear")
        self.weight = Parameter(np.zeros((self.out_features, self.in_features)), dtype=dtype)
        if bias:
            self.bias = Parameter(np.zeros(self.out_features), dtype=dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None):
        """Draw fresh weights from PyTorch's default distributions."""
        rng = init.get_rng(rng)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), rng=rng)
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound, rng=rng)

    def forward(self, x):
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            hint = " (did you forget nn.Flatten()?)" if x.ndim > 2 else ""
            raise ValueError(
                f"{self!r}: expected input of shape (N, {self.in_features}), got {tuple(x.shape)}{hint}"
            )
        _check_dtype(self, x, self.weight.dtype)
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Conv2d(Module):
    """2-D cross-correlation over (N, C_in, H, W) → (N, C_out, OH, OW), OH = (H + 2p − k)//s + 1.

    weight (out_channels, in_channels, kh, kw), bias (out_channels,); PyTorch's init with
    fan_in = in_channels·kh·kw. `padding` may be an int, a pair, "valid" (0) or "same" (stride 1
    and odd kernels only).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True,
                 dtype=None, rng=None):
        super().__init__()
        self.in_channels = _positive_int(in_channels, "in_channels", "Conv2d")
        self.out_channels = _positive_int(out_channels, "out_channels", "Conv2d")
        self.kernel_size = _pair(kernel_size, "kernel_size", "Conv2d", 1)
        self.stride = _pair(stride, "stride", "Conv2d", 1)
        self.padding = self._padding(padding)
        dtype = _float_dtype(dtype, "Conv2d")
        self.weight = Parameter(np.zeros((self.out_channels, self.in_channels) + self.kernel_size), dtype=dtype)
        if bias:
            self.bias = Parameter(np.zeros(self.out_channels), dtype=dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(rng)

    def _padding(self, padding):
        if padding == "valid":
            return (0, 0)
        if padding == "same":
            if self.stride != (1, 1) or any(k % 2 == 0 for k in self.kernel_size):
                raise ValueError(
                    f"Conv2d: padding='same' needs stride 1 and odd kernel sizes, got "
                    f"stride={self.stride}, kernel_size={self.kernel_size}"
                )
            return (self.kernel_size[0] // 2, self.kernel_size[1] // 2)
        return _pair(padding, "padding", "Conv2d", 0)

    def reset_parameters(self, rng=None):
        """Draw fresh weights from PyTorch's default distributions."""
        rng = init.get_rng(rng)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), rng=rng)
        if self.bias is not None:
            fan_in, _ = init.calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound, rng=rng)

    def forward(self, x):
        _check_4d(self, x, self.in_channels)
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        if x.shape[2] + 2 * ph < kh or x.shape[3] + 2 * pw < kw:
            raise ValueError(
                f"{self!r}: input of shape {tuple(x.shape)} is smaller than the kernel {self.kernel_size} "
                f"even after padding {self.padding}"
            )
        _check_dtype(self, x, self.weight.dtype)
        return F.conv2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.bias is None:
            s += ", bias=False"
        return s


# ---- pooling ----------------------------------------------------------------------------------
class _Pool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = _pair(kernel_size, "kernel_size", name, 1)
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride", name, 1)
        self.padding = _pair(padding, "padding", name, 0)
        if self.padding[0] > self.kernel_size[0] // 2 or self.padding[1] > self.kernel_size[1] // 2:
            raise ValueError(
                f"{name}: padding {self.padding} must be at most half the kernel size {self.kernel_size}"
            )

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """y = max over each kh×kw window (stride defaults to kernel_size; padding counts as −∞)."""

    def forward(self, x):
        _check_4d(self, x)
        with _Prefixed(self):
            return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    """y = mean over each kh×kw window (padding zeros are counted, PyTorch's default)."""

    def forward(self, x):
        _check_4d(self, x)
        with _Prefixed(self):
            return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class AdaptiveAvgPool2d(Module):
    """Average-pool (N, C, H, W) to (N, C, oh, ow) whatever H and W are, as PyTorch:
    output cell i averages rows ⌊i·H/oh⌋ … ⌈(i+1)·H/oh⌉ − 1 (likewise for columns).

    output_size 1 is global average pooling; when oh, ow divide H, W this is avg_pool2d with
    kernel = stride = (H/oh, W/ow); otherwise the (possibly overlapping) windows are averaged
    one by one (slower, but exact).
    """

    def __init__(self, output_size):
        super().__init__()
        self._size = _pair(output_size, "output_size", "AdaptiveAvgPool2d", 1)
        self.output_size = output_size

    def forward(self, x):
        _check_4d(self, x)
        (oh, ow), (h, w) = self._size, x.shape[2:]
        if (oh, ow) == (1, 1):
            return F.adaptive_avg_pool2d(x, 1)
        if h % oh == 0 and w % ow == 0:
            return F.avg_pool2d(x, (h // oh, w // ow))
        rows = []
        for i in range(oh):
            r0, r1 = (i * h) // oh, -((-(i + 1) * h) // oh)
            cells = [
                F.mean(x[:, :, r0:r1, (j * w) // ow:-((-(j + 1) * w) // ow)], axis=(2, 3), keepdims=True)
                for j in range(ow)
            ]
            rows.append(F.concatenate(cells, axis=3))
        return F.concatenate(rows, axis=2)

    def extra_repr(self):
        return f"output_size={self.output_size}"


# ---- reshaping --------------------------------------------------------------------------------
class Flatten(Module):
    """Merge dims start_dim … end_dim into one: (N, C, H, W) → (N, C·H·W) by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = int(start_dim)
        self.end_dim = int(end_dim)

    def forward(self, x):
        ndim = max(x.ndim, 1)
        start = self.start_dim % ndim if -ndim <= self.start_dim < ndim else None
        end = self.end_dim % ndim if -ndim <= self.end_dim < ndim else None
        if start is None or end is None or start > end:
            raise ValueError(
                f"{self!r}: start_dim and end_dim do not fit an input of shape {tuple(x.shape)}"
            )
        shape = tuple(x.shape)
        return F.reshape(x, shape[:start] + (-1,) + shape[end + 1:])

    def extra_repr(self):
        s = f"start_dim={self.start_dim}"
        return s if self.end_dim == -1 else s + f", end_dim={self.end_dim}"


# ---- activations ------------------------------------------------------------------------------
class ReLU(Module):
    """y = max(x, 0)."""

    def forward(self, x):
        return F.relu(x)


class Sigmoid(Module):
    """y = 1 / (1 + e^(−x))."""

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    """y = tanh x."""

    def forward(self, x):
        return F.tanh(x)


class Softmax(Module):
    """y_i = e^(x_i) / Σ_j e^(x_j) along `dim`."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = int(dim)

    def forward(self, x):
        return F.softmax(x, axis=self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """y_i = x_i − log Σ_j e^(x_j) along `dim`."""

    def forward(self, x):
        return F.log_softmax(x, axis=self.dim)


# ---- train/eval-dependent layers --------------------------------------------------------------
class Dropout(Module):
    """Training: zero each element with probability p and scale the rest by 1/(1 − p), so the
    expected output is x. Evaluation: identity. `rng` (Generator or seed) makes the masks
    reproducible."""

    def __init__(self, p=0.5, rng=None):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float, np.floating, np.integer)) or not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be a probability in [0, 1), got {p!r}")
        self.p = float(p)
        self.rng = None if rng is None else init.get_rng(rng)

    def forward(self, x):
        return F.dropout(x, self.p, training=self.training, rng=self.rng)

    def extra_repr(self):
        return f"p={self.p}"


class _BatchNorm(Module):
    """y = γ (x − μ) / √(σ² + ε) + β per channel (axis 1).

    train: μ, σ² from the batch; running_mean/var ← (1 − momentum)·running + momentum·batch
           (unbiased variance), num_batches_tracked += 1.
    eval:  μ, σ² = running_mean, running_var.
    Parameters weight γ = 1, bias β = 0; buffers running_mean 0, running_var 1 (PyTorch's).
    """

    _expected = "(N, C, ...)"

    def __init__(self, num_features, eps=1e-5, momentum=0.1, dtype=None):
        super().__init__()
        name = type(self).__name__
        self.num_features = _positive_int(num_features, "num_features", name)
        if not isinstance(eps, (int, float, np.floating)) or not eps > 0:
            raise ValueError(f"{name}: eps must be a positive number, got {eps!r}")
        if not isinstance(momentum, (int, float, np.floating)) or not 0 <= momentum <= 1:
            raise ValueError(f"{name}: momentum must be a number in [0, 1], got {momentum!r}")
        self.eps = float(eps)
        self.momentum = float(momentum)
        dtype = _float_dtype(dtype, name)
        self.weight = Parameter(np.ones(self.num_features), dtype=dtype)
        self.bias = Parameter(np.zeros(self.num_features), dtype=dtype)
        self.register_buffer("running_mean", np.zeros(self.num_features, dtype=dtype))
        self.register_buffer("running_var", np.ones(self.num_features, dtype=dtype))
        self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))

    def reset_running_stats(self):
        self.running_mean[...] = 0
        self.running_var[...] = 1
        self.num_batches_tracked[...] = 0

    def _check_input(self, x):
        if x.ndim not in self._ndims or x.shape[1] != self.num_features:
            expected = self._expected.replace("C", str(self.num_features))
            raise ValueError(f"{self!r}: expected input of shape {expected}, got {tuple(x.shape)}")

    def forward(self, x):
        self._check_input(x)
        _check_dtype(self, x, self.weight.dtype)
        with _Prefixed(self):
            y = F.batch_norm(
                x, self.running_mean, self.running_var, self.weight, self.bias,
                training=self.training, momentum=self.momentum, eps=self.eps,
            )
        if self.training:
            self.num_batches_tracked += 1  # a 0-d array, updated in place
        return y

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm2d(_BatchNorm):
    __doc__ = "Batch normalisation of (N, C, H, W) input; statistics over N, H, W.\n" + _BatchNorm.__doc__
    _expected = "(N, C, H, W)"
    _ndims = (4,)


class BatchNorm1d(_BatchNorm):
    __doc__ = "Batch normalisation of (N, C) or (N, C, L) input.\n" + _BatchNorm.__doc__
    _expected = "(N, C) or (N, C, L)"
    _ndims = (2, 3)

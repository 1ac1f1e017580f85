"""The layers: thin Modules that hold parameters and settings and call `minicnn.functional`.

Constructor signatures, attribute names, `state_dict` layouts and default initialisation follow
`torch.nn` (conv/pool sizes are stored as (h, w) tuples). A layer checks its own settings when it
is built; its input is checked once, by the functional op it calls, and `errors_named_after`
puts the layer's name in front of that op's message, so a wrong shape fails with one line that
names the layer, the expected and the received shape, instead of deep inside a kernel.

Every layer with parameters takes `dtype=` (float64 by default) and `rng=` (an
`np.random.Generator` or an int seed, for reproducible initialisation; see `minicnn.nn.init`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import functional as F
from ..ops.pooling import pool_window
from ..tensor import Tensor
from ..typing import DTypeLike, IntPair, Seed
from ..validation import check_int, check_pair
from . import init
from .module import Module, Parameter

__all__ = [
    "Identity", "Lambda", "Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "Flatten",
    "ReLU", "ReLU6", "Hardtanh", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Dropout",
    "BatchNorm1d", "BatchNorm2d", "errors_named_after",
]


# ---- argument checks --------------------------------------------------------------------------
def _positive_int(value: Any, name: str, layer: str) -> int:
    return check_int(value, f"{layer}: {name}", minimum=1)


def _float_dtype(dtype: DTypeLike | None, layer: str) -> np.dtype:
    dtype = np.dtype(np.float64 if dtype is None else dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"{layer}: dtype must be np.float32 or np.float64, got {dtype}")
    return dtype


def _check_channels(layer: Module, x: Tensor, channels: int) -> None:
    """The layer's own expectation, in its own words: (N, C, H, W) with its C."""
    if x.ndim != 4 or x.shape[1] != channels:
        raise ValueError(f"{layer!r}: expected input of shape (N, {channels}, H, W), got {tuple(x.shape)}")


class errors_named_after:
    """Context manager: a functional op's ValueError or TypeError raised inside the block comes
    out with the layer's repr in front ("Conv2d(1, 8, …): conv2d: kernel (5, 5) is larger …"),
    so the op validates the input once and the message still says which layer it was."""

    def __init__(self, layer: Module) -> None:
        self.layer = layer

    def __enter__(self) -> errors_named_after:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: Any) -> None:
        if kind in (ValueError, TypeError):
            raise kind(f"{self.layer!r}: {error}") from error


# ---- containers of nothing --------------------------------------------------------------------
class Identity(Module):
    """y = x (a placeholder, e.g. to cut a head off a model); ignores constructor arguments."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


class Lambda(Module):
    """y = fn(x) for a plain function of a Tensor: a parameter-free model built in one line,
    e.g. `Lambda(lambda x: 1 - F.relu(1 - x))` for the small hand-checkable cases."""

    def __init__(self, fn: Callable[[Tensor], Tensor]) -> None:
        super().__init__()
        if not callable(fn):
            raise TypeError(f"Lambda: fn must be callable, got {type(fn).__name__}")
        self.fn = fn

    def forward(self, x: Tensor) -> Tensor:
        return self.fn(x)

    def extra_repr(self) -> str:
        return getattr(self.fn, "__name__", "fn")


# ---- layers with weights ----------------------------------------------------------------------
class Linear(Module):
    """y = x Wᵀ + b with weight W (out_features, in_features) and bias b (out_features,).

    Init (PyTorch's): W ~ kaiming_uniform_(a=√5) = U(−1/√in, 1/√in), b ~ U(−1/√in, 1/√in).
    Input (N, in_features) — or (*, in_features), as PyTorch.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype: DTypeLike | None = None,
                 rng: Seed = None) -> None:
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

    def reset_parameters(self, rng: Seed = None) -> None:
        """Draw fresh weights from PyTorch's default distributions."""
        rng = init.get_rng(rng)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), rng=rng)
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound, rng=rng)

    def forward(self, x: Tensor) -> Tensor:
        with errors_named_after(self):
            return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Conv2d(Module):
    """2-D cross-correlation over (N, C_in, H, W) → (N, C_out, OH, OW),
    OH = (H + 2p − d·(k − 1) − 1)//s + 1.

    weight (out_channels, in_channels/groups, kh, kw), bias (out_channels,); PyTorch's init with
    fan_in = in_channels/groups·kh·kw. `padding` may be an int, a pair, "valid" (0) or "same"
    (stride 1 and odd kernels only). `groups` splits the channels into independent groups
    (groups = in_channels: depthwise); `dilation` spaces the kernel's taps.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntPair, stride: IntPair = 1,
                 padding: IntPair | str = 0, dilation: IntPair = 1, groups: int = 1, bias: bool = True,
                 dtype: DTypeLike | None = None, rng: Seed = None) -> None:
        super().__init__()
        self.in_channels = _positive_int(in_channels, "in_channels", "Conv2d")
        self.out_channels = _positive_int(out_channels, "out_channels", "Conv2d")
        self.kernel_size = check_pair(kernel_size, "Conv2d: kernel_size", 1)
        self.stride = check_pair(stride, "Conv2d: stride", 1)
        self.dilation = check_pair(dilation, "Conv2d: dilation", 1)
        self.groups = _positive_int(groups, "groups", "Conv2d")
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"Conv2d: groups={self.groups} must divide in_channels={self.in_channels} "
                             f"and out_channels={self.out_channels}")
        self.padding = self._padding(padding)
        dtype = _float_dtype(dtype, "Conv2d")
        weight_shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        self.weight = Parameter(np.zeros(weight_shape), dtype=dtype)
        if bias:
            self.bias = Parameter(np.zeros(self.out_channels), dtype=dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(rng)

    def _padding(self, padding: IntPair | str) -> tuple[int, int]:
        if padding == "valid":
            return (0, 0)
        if padding == "same":
            if self.stride != (1, 1) or any(k % 2 == 0 for k in self.kernel_size):
                raise ValueError(
                    f"Conv2d: padding='same' needs stride 1 and odd kernel sizes, got "
                    f"stride={self.stride}, kernel_size={self.kernel_size}"
                )
            (kh, kw), (dh, dw) = self.kernel_size, self.dilation
            return dh * (kh // 2), dw * (kw // 2)
        return check_pair(padding, "Conv2d: padding", 0)

    def reset_parameters(self, rng: Seed = None) -> None:
        """Draw fresh weights from PyTorch's default distributions."""
        rng = init.get_rng(rng)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), rng=rng)
        if self.bias is not None:
            fan_in, _ = init.calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound, rng=rng)

    def forward(self, x: Tensor) -> Tensor:
        _check_channels(self, x, self.in_channels)
        with errors_named_after(self):
            return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


# ---- pooling ----------------------------------------------------------------------------------
class MaxPool2d(Module):
    """y = max over each kh×kw window (stride defaults to kernel_size; padding counts as −∞;
    `ceil_mode` keeps a last window that does not fill a whole stride, as PyTorch)."""

    def __init__(self, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = pool_window("MaxPool2d", kernel_size, stride, padding)
        self.ceil_mode = bool(ceil_mode)

    def forward(self, x: Tensor) -> Tensor:
        with errors_named_after(self):
            return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode)

    def extra_repr(self) -> str:
        s = f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
        return s + ", ceil_mode=True" if self.ceil_mode else s


class AvgPool2d(Module):
    """y = mean over each kh×kw window (padding zeros are counted, PyTorch's default)."""

    def __init__(self, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = pool_window("AvgPool2d", kernel_size, stride, padding)

    def forward(self, x: Tensor) -> Tensor:
        with errors_named_after(self):
            return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average-pool (N, C, H, W) to (N, C, oh, ow) whatever H and W are, as PyTorch:
    output cell i averages rows ⌊i·H/oh⌋ … ⌈(i+1)·H/oh⌉ − 1 (likewise for columns); 1 is global
    average pooling, (7, 7) VGG's and (6, 6) AlexNet's head."""

    def __init__(self, output_size: IntPair | tuple[int | None, int | None]) -> None:
        super().__init__()
        if isinstance(output_size, (tuple, list)):
            check_pair(tuple(1 if s is None else s for s in output_size), "AdaptiveAvgPool2d: output_size", 1)
        else:
            check_pair(output_size, "AdaptiveAvgPool2d: output_size", 1)
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        with errors_named_after(self):
            return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


# ---- reshaping --------------------------------------------------------------------------------
class Flatten(Module):
    """Merge dims start_dim … end_dim into one: (N, C, H, W) → (N, C·H·W) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = int(start_dim)
        self.end_dim = int(end_dim)

    def forward(self, x: Tensor) -> Tensor:
        ndim = max(x.ndim, 1)
        start = self.start_dim % ndim if -ndim <= self.start_dim < ndim else None
        end = self.end_dim % ndim if -ndim <= self.end_dim < ndim else None
        if start is None or end is None or start > end:
            raise ValueError(
                f"{self!r}: start_dim and end_dim do not fit an input of shape {tuple(x.shape)}"
            )
        shape = tuple(x.shape)
        return F.reshape(x, shape[:start] + (-1,) + shape[end + 1:])

    def extra_repr(self) -> str:
        s = f"start_dim={self.start_dim}"
        return s if self.end_dim == -1 else s + f", end_dim={self.end_dim}"


# ---- activations ------------------------------------------------------------------------------
class ReLU(Module):
    """y = max(x, 0). (`inplace` is accepted for PyTorch code and ignored: minicnn never
    overwrites an array the graph may still need.)"""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class Hardtanh(Module):
    """y = min(max(x, min_val), max_val)."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if not min_val < max_val:
            raise ValueError(f"Hardtanh: min_val must be less than max_val, got {min_val} and {max_val}")
        self.min_val = float(min_val)
        self.max_val = float(max_val)

    def forward(self, x: Tensor) -> Tensor:
        with errors_named_after(self):
            return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


class ReLU6(Hardtanh):
    """y = min(max(x, 0), 6) (MobileNetV2)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0)

    def extra_repr(self) -> str:
        return ""


class Sigmoid(Module):
    """y = 1 / (1 + e^(−x))."""

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """y = tanh x."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class Softmax(Module):
    """y_i = e^(x_i) / Σ_j e^(x_j) along `dim`."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = int(dim)

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, axis=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """y_i = x_i − log Σ_j e^(x_j) along `dim`."""

    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, axis=self.dim)


# ---- train/eval-dependent layers --------------------------------------------------------------
class Dropout(Module):
    """Training: zero each element with probability p and scale the rest by 1/(1 − p), so the
    expected output is x. Evaluation: identity. `rng` (Generator or seed) makes the masks
    reproducible."""

    def __init__(self, p: float = 0.5, inplace: bool = False, rng: Seed = None) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float, np.floating, np.integer)) or not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be a probability in [0, 1), got {p!r}")
        self.p = float(p)
        self.rng = None if rng is None else init.get_rng(rng)

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, training=self.training, rng=self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class _BatchNorm(Module):
    """y = γ (x − μ) / √(σ² + ε) + β per channel (axis 1).

    train: μ, σ² from the batch; running_mean/var ← (1 − momentum)·running + momentum·batch
           (unbiased variance), num_batches_tracked += 1.
    eval:  μ, σ² = running_mean, running_var.
    Parameters weight γ = 1, bias β = 0; buffers running_mean 0, running_var 1 (PyTorch's).
    """

    _expected = "(N, C, ...)"

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 dtype: DTypeLike | None = None) -> None:
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

    def reset_running_stats(self) -> None:
        self.running_mean[...] = 0
        self.running_var[...] = 1
        self.num_batches_tracked[...] = 0

    def _check_input(self, x: Tensor) -> None:
        if x.ndim not in self._ndims or x.shape[1] != self.num_features:
            expected = self._expected.replace("C", str(self.num_features))
            raise ValueError(f"{self!r}: expected input of shape {expected}, got {tuple(x.shape)}")

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        with errors_named_after(self):
            y = F.batch_norm(
                x, self.running_mean, self.running_var, self.weight, self.bias,
                training=self.training, momentum=self.momentum, eps=self.eps,
            )
        if self.training:
            self.num_batches_tracked += 1  # a 0-d array, updated in place
        return y

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm2d(_BatchNorm):
    __doc__ = "Batch normalisation of (N, C, H, W) input; statistics over N, H, W.\n" + (_BatchNorm.__doc__ or "")
    _expected = "(N, C, H, W)"
    _ndims = (4,)


class BatchNorm1d(_BatchNorm):
    __doc__ = "Batch normalisation of (N, C) or (N, C, L) input.\n" + (_BatchNorm.__doc__ or "")
    _expected = "(N, C) or (N, C, L)"
    _ndims = (2, 3)

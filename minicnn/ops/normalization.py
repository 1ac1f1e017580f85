"""Batch normalisation and dropout: the two ops that behave differently in train and eval mode."""

from __future__ import annotations

import numbers
import numpy as np

from .. import kernels
from ..autograd import Function
from ..random import get_rng
from ..tensor import Tensor, as_tensor
from ..typing import Seed, TensorLike

__all__ = ["BatchNorm", "batch_norm", "Dropout", "dropout"]


class BatchNorm(Function):
    """y = γ · (x − μ) / √(σ² + ε) + β, per channel (axis 1), statistics over all other axes.

    train: μ, σ² are the batch's mean and (biased) variance; the running averages are updated
           in place, r ← (1 − momentum)·r + momentum·stat, with the *unbiased* variance, as PyTorch.
    eval:  μ, σ² are the running averages, so y is an affine map of x (DeepLIFT's linear rule):
           y = scale · x + shift with scale = γ/√(σ² + ε), shift = β − scale · μ, which the node
           exposes as `scale` and `shift` (shaped to broadcast against x).

    Backward in eval mode: ∂L/∂x = scale · g, ∂L/∂γ = Σ g · x̂, ∂L/∂β = Σ g (sums over the
    statistics axes, x̂ = (x − μ)/σ).

    Backward in train mode (x̂ = (x − μ)/σ, m = elements per channel, ĝ = g·γ):
        ∂L/∂x = (1/σ) · (ĝ − mean(ĝ) − x̂ · mean(ĝ · x̂)),   means over the statistics axes,
    because μ and σ themselves depend on every x of the channel.
    """

    def __init__(self, running_mean: np.ndarray, running_var: np.ndarray, training: bool = False,
                 momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        self.running_mean = running_mean   # ndarrays, updated in place in training
        self.running_var = running_var
        self.training = training
        self.momentum = momentum
        self.eps = eps

    def forward(self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        if self.training:
            count = x.size // x.shape[1]
            mean = x.mean(axis=axes)
            var = x.var(axis=axes)
            with np.errstate(all="ignore"):
                self.running_mean *= 1 - self.momentum
                self.running_mean += self.momentum * mean
                self.running_var *= 1 - self.momentum
                self.running_var += self.momentum * var * count / (count - 1)
        else:
            mean, var = self.running_mean, self.running_var
        inv_std = 1.0 / np.sqrt(var + self.eps)
        scale = weight * inv_std
        shift = bias - scale * mean
        self.scale, self.shift = scale.reshape(shape), shift.reshape(shape)
        if not self.training:
            # Eval: y = scale·x + shift, one pass over x (kernels.channel_affine_*); the
            # backward needs only x, which the graph keeps anyway, not a normalised copy.
            self.save_for_backward(x, mean, inv_std, scale)
            return kernels.channel_affine_forward(x, scale, shift)
        x_hat = (x - mean.reshape(shape)) * inv_std.reshape(shape)
        self.save_for_backward(x_hat, inv_std, weight, axes, shape)
        return x_hat * weight.reshape(shape) + bias.reshape(shape)

    def backward(self, g: np.ndarray) -> tuple:
        if not self.training:
            # ∂L/∂x = scale·g,  ∂L/∂γ = Σ g·x̂ = (1/σ)·Σ g·(x − μ),  ∂L/∂β = Σ g.
            x, mean, inv_std, scale = self.saved
            grad_x, weighted, total = kernels.channel_affine_backward(g, x, scale, mean)
            return grad_x, weighted * inv_std, total
        x_hat, inv_std, weight, axes, shape = self.saved
        g_hat = g * weight.reshape(shape)
        grad_x = inv_std.reshape(shape) * (
            g_hat - g_hat.mean(axis=axes, keepdims=True) - x_hat * (g_hat * x_hat).mean(axis=axes, keepdims=True)
        )
        return grad_x, (g * x_hat).sum(axis=axes), g.sum(axis=axes)


def batch_norm(x: TensorLike, running_mean: np.ndarray, running_var: np.ndarray, weight: TensorLike,
               bias: TensorLike | None, training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation over axis 1; running statistics (ndarrays) are updated in place in training."""
    x = as_tensor(x, name="batch_norm: x")
    if x.ndim < 2 or x.shape[1] != np.shape(running_mean)[0]:
        raise ValueError(f"batch_norm: expected input with {np.shape(running_mean)[0]} channels on axis 1, got shape {x.shape}")
    for name, value in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        dtype = np.asarray(getattr(value, "data", value)).dtype
        if dtype != x.dtype:
            raise TypeError(f"batch_norm: input is {x.dtype} but {name} is {dtype}")
    if training and x.size // x.shape[1] < 2:
        raise ValueError(f"batch_norm: training needs more than one value per channel, got input of shape {x.shape}")
    return BatchNorm(running_mean, running_var, training, momentum, eps)(x, weight, bias)


class Dropout(Function):
    """Training: y = x · mask / (1 − p) with mask ~ Bernoulli(1 − p), so E[y] = x; ∂y/∂x = mask/(1 − p)."""

    def __init__(self, p: float, rng: np.random.Generator) -> None:
        super().__init__()
        self.p = p
        self.rng = rng

    def forward(self, x: np.ndarray) -> np.ndarray:
        keep = self.rng.random(x.shape) >= self.p
        scale = keep.astype(x.dtype) / (1 - self.p)
        self.save_for_backward(scale)
        return x * scale

    def backward(self, g: np.ndarray) -> tuple:
        (scale,) = self.saved
        return (g * scale,)


def dropout(x: TensorLike, p: float = 0.5, training: bool = True, rng: Seed = None) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1 − p); identity when not
    training. The mask comes from `rng`, or from the engine's generator (`minicnn.manual_seed`)."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p < 1:
        raise ValueError(f"dropout: p must be in [0, 1), got {p!r}")
    x = as_tensor(x, name="dropout: x")
    if not training or p == 0:
        return x
    return Dropout(float(p), get_rng(rng))(x)

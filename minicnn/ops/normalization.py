"""Batch normalisation and dropout: the two ops that behave differently in train and eval mode."""

import numpy as np

from ..autograd import Function

__all__ = ["BatchNorm", "Dropout"]


class BatchNorm(Function):
    """y = γ · (x − μ) / √(σ² + ε) + β, per channel (axis 1), statistics over all other axes.

    train: μ, σ² are the batch's mean and (biased) variance; the running averages are updated
           in place, r ← (1 − momentum)·r + momentum·stat, with the *unbiased* variance, as PyTorch.
    eval:  μ, σ² are the running averages, so y is an affine map of x (DeepLIFT's linear rule):
           y = scale · x + shift with scale = γ/√(σ² + ε), shift = β − scale · μ, which the node
           exposes as `scale` and `shift` (shaped to broadcast against x).

    Backward in train mode (x̂ = (x − μ)/σ, m = elements per channel, ĝ = g·γ):
        ∂L/∂x = (1/σ) · (ĝ − mean(ĝ) − x̂ · mean(ĝ · x̂)),   means over the statistics axes,
    because μ and σ themselves depend on every x of the channel.
    """

    def forward(self, x, weight, bias):
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        if self.training:
            count = x.size // x.shape[1]
            if count < 2:
                raise ValueError(
                    f"batch_norm: training needs more than one value per channel, got input of shape {x.shape}"
                )
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
        x_hat = (x - mean.reshape(shape)) * inv_std.reshape(shape)
        self.save_for_backward(x_hat, inv_std, weight)
        self.axes, self.shape = axes, shape
        self.scale = (weight * inv_std).reshape(shape)
        self.shift = bias.reshape(shape) - self.scale * mean.reshape(shape)
        return x_hat * weight.reshape(shape) + bias.reshape(shape)

    def backward(self, g):
        x_hat, inv_std, weight = self.saved
        axes, shape = self.axes, self.shape
        g_hat = g * weight.reshape(shape)
        if self.training:
            grad_x = inv_std.reshape(shape) * (
                g_hat - g_hat.mean(axis=axes, keepdims=True) - x_hat * (g_hat * x_hat).mean(axis=axes, keepdims=True)
            )
        else:
            grad_x = g_hat * inv_std.reshape(shape)
        return grad_x, (g * x_hat).sum(axis=axes), g.sum(axis=axes)


class Dropout(Function):
    """Training: y = x · mask / (1 − p) with mask ~ Bernoulli(1 − p), so E[y] = x; ∂y/∂x = mask/(1 − p)."""

    def forward(self, x):
        keep = self.rng.random(x.shape) >= self.p
        self.scale = keep.astype(x.dtype) / (1 - self.p)
        return x * self.scale

    def backward(self, g):
        return (g * self.scale,)

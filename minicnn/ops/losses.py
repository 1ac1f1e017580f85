"""Cross-entropy for integer class targets, fused with log-softmax for stability."""

import numpy as np

from ..autograd import Function
from ..tensor import Tensor, as_tensor
from .arithmetic import sub
from .reductions import mean, sum

__all__ = ["CrossEntropy", "cross_entropy", "mse_loss"]


class CrossEntropy(Function):
    """L = −(1/N) Σ_n log softmax(z_n)[t_n]   (reduction "mean"; "sum" drops the 1/N).

    ∂L/∂z_n = (softmax(z_n) − onehot(t_n)) / N. Computing log-softmax with the log-sum-exp trick
    keeps logits of ±1e4 exact; the naive log(softmax) would give log(0) = −inf.
    """

    def __init__(self, targets: np.ndarray, reduction: str = "mean"):
        super().__init__()
        self.targets = targets
        self.reduction = reduction

    def forward(self, logits):
        n = logits.shape[0]
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        scale = 1.0 / n if self.reduction == "mean" else 1.0
        self.save_for_backward(np.exp(log_probs), scale)
        picked = log_probs[np.arange(n), self.targets]
        return np.asarray(-picked.sum() * scale, dtype=logits.dtype)

    def backward(self, g):
        probabilities, scale = self.saved
        grad = probabilities.copy()
        grad[np.arange(grad.shape[0]), self.targets] -= 1
        return (grad * (g * scale),)


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
    return CrossEntropy(targets, reduction)(logits)


def mse_loss(prediction, target, reduction="mean"):
    """mean((prediction − target)²) (or the sum), composed of the ops above."""
    prediction = as_tensor(prediction)
    target = as_tensor(target, dtype=prediction.dtype)
    if prediction.shape != target.shape:
        raise ValueError(f"mse_loss: prediction has shape {prediction.shape} but target has {target.shape}")
    if reduction not in ("mean", "sum"):
        raise ValueError(f"mse_loss: reduction must be 'mean' or 'sum', got {reduction!r}")
    squared = sub(prediction, target) ** 2
    return mean(squared) if reduction == "mean" else sum(squared)

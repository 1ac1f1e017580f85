"""Losses: cross-entropy (fused with log-softmax for stability) and the mean squared error,
with `torch.nn.functional`'s arguments (reduction, weight, ignore_index, label_smoothing)."""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..tensor import Tensor, as_tensor
from ..typing import DTypeLike, Shape, TensorLike
from ..validation import check_fraction, check_int
from .arithmetic import sub
from .reductions import mean, sum
from .shapes import reshape, transpose

__all__ = [
    "CrossEntropy", "cross_entropy", "mse_loss", "REDUCTIONS", "check_loss_settings", "check_cross_entropy_settings",
]

REDUCTIONS = ("mean", "sum", "none")


class CrossEntropy(Function):
    """ℓ_n = −Σ_k q_nk log softmax(z_n)_k;   ∂ℓ_n/∂z_n = (Σ_k q_nk) softmax(z_n) − q_n.

    q (N, K), the target weights, is built by `cross_entropy`: for class indices t_n it is
    q_nk = m_n w_k ((1 − ε) [k = t_n] + ε/K), for class probabilities y_n it is
    q_nk = w_k ((1 − ε) y_nk + ε/K), with the class weights w (all 1 by default), the label
    smoothing ε and m_n = 0 for a row whose target is `ignore_index` (1 otherwise).
    The result is ℓ (reduction "none"), Σ_n ℓ_n ("sum") or Σ_n ℓ_n / `divisor` ("mean").

    Log-softmax uses the log-sum-exp trick, so logits of ±1e4 stay exact; the naive
    log(softmax) would give log(0) = −inf.
    """

    def __init__(self, target_weights: np.ndarray, reduction: str = "mean", divisor: float = 1.0) -> None:
        super().__init__()
        self.target_weights = target_weights
        self.reduction = reduction
        self.divisor = divisor

    def forward(self, logits: np.ndarray) -> np.ndarray:
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.save_for_backward(np.exp(log_probs))
        losses = -(self.target_weights * log_probs).sum(axis=1)
        if self.reduction == "none":
            return losses.astype(logits.dtype, copy=False)
        total = losses.sum() / (self.divisor if self.reduction == "mean" else 1.0)
        return np.asarray(total, dtype=logits.dtype)

    def backward(self, g: np.ndarray) -> tuple:
        (probabilities,) = self.saved
        q = self.target_weights
        grad = q.sum(axis=1, keepdims=True) * probabilities - q
        if self.reduction == "none":
            return (grad * g[:, None],)
        return (grad * (g / (self.divisor if self.reduction == "mean" else 1.0)),)


def check_loss_settings(op: str, reduction: str, size_average: bool | None = None,
                        reduce: bool | None = None) -> None:
    """`reduction` must be one of REDUCTIONS; PyTorch's deprecated `size_average` and `reduce`
    are refused (they predate `reduction`, which says the same thing)."""
    if size_average is not None or reduce is not None:
        raise TypeError(f"{op}: size_average and reduce are deprecated in PyTorch and not supported; "
                        f"use reduction='mean', 'sum' or 'none'")
    if not isinstance(reduction, str):  # e.g. PyTorch's positional `weight` given third
        raise TypeError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {type(reduction).__name__}; "
                        "pass class weights as weight=...")
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def check_cross_entropy_settings(op: str, ignore_index: int, reduction: str, label_smoothing: float,
                                 size_average: bool | None = None, reduce: bool | None = None) -> tuple[int, float]:
    """(ignore_index as an int, label_smoothing as a float in [0, 1]), after `check_loss_settings`."""
    check_loss_settings(op, reduction, size_average, reduce)
    smoothing = check_fraction(label_smoothing, f"{op}: label_smoothing", include_zero=True, include_one=True)
    return check_int(ignore_index, f"{op}: ignore_index"), smoothing


def cross_entropy(logits: TensorLike, targets: TensorLike, reduction: str = "mean", *,
                  weight: TensorLike | None = None, ignore_index: int = -100, label_smoothing: float = 0.0,
                  size_average: bool | None = None, reduce: bool | None = None) -> Tensor:
    """−log softmax(logits)[target], per row, averaged ("mean"), summed ("sum") or not ("none").

    The arguments of `torch.nn.functional.cross_entropy`, all but `reduction` by keyword (minicnn's
    third argument has always been `reduction`; PyTorch's is `weight`, which is refused there):
    logits          -- (N, K), or (N, K, d₁, …) with one class axis (segmentation), or (K,)
    targets         -- class indices, shape (N,) (or (N, d₁, …), or ()), ints in [0, K) or
                       `ignore_index`; or class probabilities: floats shaped like `logits`
    weight          -- None or K class weights w_k (rescale each class's loss)
    ignore_index    -- a target value whose rows count for nothing (class-index targets only)
    reduction       -- "mean": Σ ℓ_n / Σ_n w_{t_n} over the rows not ignored (PyTorch's
                       weighted mean, NaN if all are ignored; N for probabilities), "sum", or
                       "none" (one loss per target, shaped like the class-index targets)
    label_smoothing -- ε ∈ [0, 1]: the target is mixed with the uniform distribution, (1 − ε) + ε/K
    """
    ignore_index, smoothing = check_cross_entropy_settings(
        "cross_entropy", ignore_index, reduction, label_smoothing, size_average, reduce)
    logits = as_tensor(logits, name="cross_entropy: logits")
    if logits.ndim == 0:
        raise ValueError("cross_entropy: logits must have shape (N, K), (N, K, d1, ...) or (K,), got a scalar")
    rows = _class_axis_last(logits)
    k = rows.shape[1]
    if rows.shape[0] == 0:
        raise ValueError("cross_entropy: logits must have at least one row, got an empty batch")
    class_weights = _class_weights(weight, k, rows.dtype)
    targets = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    if targets.shape == logits.shape:  # PyTorch's rule: targets shaped like the logits are probabilities
        if ignore_index >= 0:
            raise ValueError("cross_entropy: ignore_index is not supported with class-probability targets")
        target_weights = _probability_weights(targets, class_weights, smoothing)
        divisor = float(rows.shape[0])
    else:
        indices = _class_indices(targets, logits, k, ignore_index)
        kept = indices != ignore_index
        safe = np.where(kept, indices, 0)  # any class; the row's weights are zeroed below
        one_hot = np.zeros((len(safe), k), dtype=rows.dtype)
        one_hot[np.arange(len(safe)), safe] = 1.0
        target_weights = kept[:, None] * class_weights * ((1.0 - smoothing) * one_hot + smoothing / k)
        divisor = float((kept * class_weights[safe]).sum())
    loss = CrossEntropy(target_weights.astype(rows.dtype), reduction, divisor)(rows)
    return reshape(loss, _row_shape(logits)) if reduction == "none" else loss


def _row_shape(logits: Tensor) -> Shape:
    """The shape of the class-index targets (and of the "none" loss): the logits without their
    class axis, (N, d₁, …), or () for one unbatched row (K,)."""
    return logits.shape[:1] + logits.shape[2:] if logits.ndim > 1 else ()


def _class_axis_last(logits: Tensor) -> Tensor:
    """(rows, K): the class axis (axis 1, or 0 for one unbatched row) last, all others flattened
    into rows; (N, K, d₁, …) → (N·d₁·…, K) in the order of the targets' (N, d₁, …)."""
    if logits.ndim == 1:
        return reshape(logits, (1, -1))
    if logits.ndim == 2:
        return logits
    return reshape(transpose(logits, (0,) + tuple(range(2, logits.ndim)) + (1,)), (-1, logits.shape[1]))


def _class_weights(weight: TensorLike | None, k: int, dtype: DTypeLike) -> np.ndarray:
    if weight is None:
        return np.ones(k, dtype=dtype)
    w = np.asarray(as_tensor(weight, name="cross_entropy: weight").data, dtype=dtype)
    if w.shape != (k,):
        raise ValueError(f"cross_entropy: weight must hold one number per class, shape ({k},), got shape {w.shape}")
    return w


def _probability_weights(targets: np.ndarray, class_weights: np.ndarray, smoothing: float) -> np.ndarray:
    """q for class-probability targets shaped like the logits (class axis 1, or 0 if unbatched)."""
    if targets.dtype.kind != "f":
        raise TypeError(f"cross_entropy: targets shaped like the logits are class probabilities and must be "
                        f"floats, got dtype {targets.dtype}")
    k = len(class_weights)
    probabilities = _class_axis_last(Tensor(targets)).data
    return class_weights * ((1.0 - smoothing) * probabilities + smoothing / k)


def _class_indices(targets: np.ndarray, logits: Tensor, k: int, ignore_index: int) -> np.ndarray:
    """The targets as one int64 class index per row of `_class_axis_last(logits)`."""
    expected = _row_shape(logits)
    if targets.shape != expected:
        raise ValueError(f"cross_entropy: logits of shape {logits.shape} need class indices of shape {expected} "
                         f"or class probabilities of shape {logits.shape}, got targets of shape {targets.shape}")
    if targets.dtype.kind == "f":
        if not np.all(targets == np.round(targets)):
            raise TypeError("cross_entropy: targets must be integer class indices, got non-integer floats")
    elif targets.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: targets must be integer class indices, got dtype {targets.dtype}")
    indices = targets.astype(np.int64).reshape(-1)
    outside = (indices != ignore_index) & ((indices < 0) | (indices >= k))
    if outside.any():
        raise ValueError(f"cross_entropy: targets must lie in [0, {k}) (or equal ignore_index={ignore_index}), "
                         f"got {indices[outside][0]}")
    return indices


def mse_loss(prediction: TensorLike, target: TensorLike, reduction: str = "mean", *,
             size_average: bool | None = None, reduce: bool | None = None) -> Tensor:
    """(prediction − target)², averaged ("mean"), summed ("sum") or element-wise ("none"),
    composed of the ops above; `torch.nn.functional.mse_loss`'s arguments (but `reduction` may
    come third, by position, as it always could here). The shapes must be
    equal (PyTorch broadcasts them with a warning; here that is an error)."""
    check_loss_settings("mse_loss", reduction, size_average, reduce)
    prediction = as_tensor(prediction, name="mse_loss: prediction")
    target = as_tensor(target, dtype=prediction.dtype, name="mse_loss: target")
    if prediction.shape != target.shape:
        raise ValueError(f"mse_loss: prediction has shape {prediction.shape} but target has {target.shape}")
    squared = sub(prediction, target) ** 2
    if reduction == "none":
        return squared
    return mean(squared) if reduction == "mean" else sum(squared)

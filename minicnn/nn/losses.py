"""The loss modules `nn.CrossEntropyLoss` and `nn.MSELoss`: `torch.nn`'s constructors, each
holding its settings and calling the functional loss (`minicnn.ops.losses`) in `forward`.

    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    loss = criterion(model(x), labels)         # as F.cross_entropy(model(x), labels, label_smoothing=0.1)
"""

from __future__ import annotations

from .. import functional as F
from ..ops.losses import check_cross_entropy_settings, check_loss_settings
from ..tensor import Tensor, as_tensor
from ..typing import TensorLike
from .module import Module

__all__ = ["CrossEntropyLoss", "MSELoss"]


class CrossEntropyLoss(Module):
    """L = −log softmax(input)[target] per row, reduced (see `F.cross_entropy` for every argument).

    `weight` (K class weights, or None) is a buffer, as in PyTorch: it is in `state_dict` and
    `to(dtype)` casts it. PyTorch's deprecated `size_average` and `reduce` are refused.
    """

    def __init__(self, weight: TensorLike | None = None, size_average: bool | None = None, ignore_index: int = -100,
                 reduce: bool | None = None, reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.ignore_index, self.label_smoothing = check_cross_entropy_settings(
            "CrossEntropyLoss", ignore_index, reduction, label_smoothing, size_average, reduce)
        self.reduction = reduction
        weights = None if weight is None else as_tensor(weight, name="CrossEntropyLoss: weight").data.copy()
        if weights is not None and weights.ndim != 1:
            raise ValueError(f"CrossEntropyLoss: weight must be one number per class (1-D), got shape {weights.shape}")
        self.register_buffer("weight", weights)

    def forward(self, input: TensorLike, target: TensorLike) -> Tensor:
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class MSELoss(Module):
    """L = (input − target)², averaged ("mean"), summed ("sum") or element-wise ("none")."""

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__()
        check_loss_settings("MSELoss", reduction, size_average, reduce)
        self.reduction = reduction

    def forward(self, input: TensorLike, target: TensorLike) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)

"""The batch-norm canonizer: fold an eval-mode BatchNorm into the Conv2d/Linear right before it.

A convolution followed by batch norm in eval mode is one affine map,
    y = scale ⊙ (W ∗ x + b) + shift = (scale·W) ∗ x + (scale·b + shift),
but the rules that treat weights by sign (γ, αβ, z⁺) give different relevances for the pair and
for the folded layer: (scale·W)⁺ ≠ scale·W⁺ where scale < 0. LRP is defined on the folded layer
(Montavon et al. 2019, §10.3.3; zennit's SequentialMergeBatchNorm), so we fold first.

We fold on the recorded graph, not on Modules: the pass finds every BatchNorm node whose input
is produced by a Conv2d/Linear node and used by nothing else. That works for every way a model
can be written (Sequential, ResNet blocks, functional calls), needs no copy of the model and no
change to its parameters, and uses the `scale`/`shift` the BN node exposes. A BatchNorm that
follows anything else (DenseNet's BN → ReLU → conv) keeps the ε rule of an element-wise
linear map (table.py).
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import minicnn as mc
from minicnn import ops

__all__ = ["batch_norm_folds"]


def batch_norm_folds(order: Sequence[mc.Tensor]) -> dict[int, ops.BatchNorm]:
    """{id(weighted node): its BatchNorm node} for the foldable pairs among the tensors `order`
    (inputs before outputs, `minicnn.autograd.topological_order`)."""
    uses = Counter(id(p) for t in order if t.creator is not None for p in t.creator.inputs)
    folds = {}
    for tensor in order:
        bn = tensor.creator
        if not isinstance(bn, ops.BatchNorm) or bn.training:
            continue
        source = bn.inputs[0]
        if isinstance(source.creator, (ops.Conv2d, ops.Linear)) and uses[id(source)] == 1:
            folds[id(source.creator)] = bn
    return folds

"""The few type names minicnn's hints use, so a signature reads like its docstring.

    def conv2d(x: TensorLike, weight: TensorLike, bias: TensorLike | None = None, ...) -> Tensor

- `TensorLike`: what every op accepts: a Tensor, or anything `np.asarray` turns into numbers
  (an ndarray, a list, a Python number);
- `ArrayOrTensor`: an ndarray or a Tensor (what the attribution methods take as `x`);
- `FloatArray`: a float32 or float64 ndarray (`Tensor.data`, `Tensor.grad`, kernel results);
- `Axis`: None (every axis), one axis or a tuple of axes; `Shape`: a tuple of sizes;
- `IntPair`: k or (h, w), the 2-D layers' kernel sizes, strides and paddings;
- `Seed`: None (the engine's generator), an int seed or an `np.random.Generator`;
- `StateDict`: {dotted parameter name: ndarray}, as `Module.state_dict()` returns it.

Hints only: nothing here is checked at run time (the functions validate their arguments).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Optional, Tuple, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

if TYPE_CHECKING:  # tensor.py imports this module; the name is only needed by the type checker
    from .tensor import Tensor

__all__ = [
    "ArrayLike", "DTypeLike", "NDArray", "FloatArray", "TensorLike", "ArrayOrTensor",
    "Axis", "Shape", "IntPair", "Seed", "StateDict", "PathLike",
]

FloatArray = NDArray[np.floating[Any]]
TensorLike = Union["Tensor", ArrayLike]
ArrayOrTensor = Union[np.ndarray, "Tensor"]
Axis = Optional[Union[int, Tuple[int, ...]]]
Shape = Tuple[int, ...]
IntPair = Union[int, Tuple[int, int]]
Seed = Optional[Union[int, np.random.Generator]]
StateDict = Mapping[str, Any]  # values: ndarrays (what minicnn returns), Tensors or torch tensors
PathLike = Union[str, "os.PathLike[str]"]

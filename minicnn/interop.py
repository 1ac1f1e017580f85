"""Move weights between PyTorch and minicnn.

minicnn's modules use PyTorch's parameter names and layouts (Conv2d weight (out, in, kH, kW),
Linear weight (out, in), BatchNorm running_mean / running_var / num_batches_tracked), so a
state_dict moves unchanged; all that is needed is turning tensors into arrays and back.
torch is imported only inside `to_torch_state_dict`; this module works without it.

Example: a PyTorch LeNet written with the same module names as `minicnn.models.LeNet`

    import torch, torch.nn as tnn
    from minicnn.interop import from_torch_state_dict, to_torch_state_dict
    from minicnn.models import LeNet

    class TorchLeNet(tnn.Module):                       # input 1×16×16, 10 classes
        def __init__(self):
            super().__init__()
            self.features = tnn.Sequential(
                tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
                tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2))
            self.classifier = tnn.Sequential(
                tnn.Flatten(), tnn.Linear(16 * 1 * 1, 120), tnn.ReLU(),
                tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, 10))
        def forward(self, x):
            return self.classifier(self.features(x))

    torch_model = TorchLeNet()                         # ... trained in PyTorch
    model = LeNet((1, 16, 16), 10)
    model.load_state_dict(from_torch_state_dict(torch_model.state_dict()))   # strict
    # the other way:  torch_model.load_state_dict(to_torch_state_dict(model.state_dict()))

The parameters keep minicnn's dtype on load (`load_state_dict` copies into the existing arrays);
call `model.double()` first to compare with a float64 PyTorch model bit for bit.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

__all__ = ["from_torch_state_dict", "to_torch_state_dict", "to_numpy"]


def to_numpy(value) -> np.ndarray:
    """A copy of `value` as an ndarray: a torch tensor (detached, moved to the CPU), a minicnn
    Tensor, or anything `np.asarray` accepts. Recognises torch tensors without importing torch."""
    if hasattr(value, "detach") and hasattr(value, "cpu") and hasattr(value, "numpy"):
        return value.detach().cpu().numpy().copy()
    return np.array(getattr(value, "data", value), copy=True)


def _check_mapping(state_dict, name):
    if not hasattr(state_dict, "items"):
        raise TypeError(f"{name}: expected a mapping name → tensor/array (a state_dict), got {type(state_dict).__name__}")


def from_torch_state_dict(state_dict, dtype=None) -> OrderedDict:
    """{name: ndarray} from a PyTorch state_dict (tensors, on any device), order kept.

    dtype -- None keeps each tensor's dtype; e.g. np.float64 casts the floating-point entries
             (integer buffers such as BatchNorm's num_batches_tracked are never cast).
    The names are kept as they are: load the result with `model.load_state_dict`, which is
    strict and lists every missing, unexpected or mis-shaped key.
    """
    _check_mapping(state_dict, "state_dict")
    result = OrderedDict()
    for key, value in state_dict.items():
        if not isinstance(key, str):
            raise TypeError(f"state_dict: keys must be strings, got {key!r}")
        array = to_numpy(value)
        if array.dtype == object:
            raise TypeError(f"state_dict[{key!r}]: expected a tensor or numeric array, got {type(value).__name__}")
        if dtype is not None and array.dtype.kind == "f":
            array = array.astype(dtype)
        result[key] = array
    return result


def to_torch_state_dict(state_dict, dtype=None):
    """A PyTorch state_dict (OrderedDict of CPU torch tensors) from minicnn's {name: ndarray}.

    dtype -- None keeps each array's dtype (float64 stays float64: call `.double()` on the torch
             model, or pass torch.float32 / np.float32 to cast the floating-point entries).
    Raises ImportError with a hint when torch is not installed.
    """
    try:
        import torch
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("to_torch_state_dict needs PyTorch: pip install 'minicnn[torch]'") from error
    _check_mapping(state_dict, "state_dict")
    if dtype is not None and not isinstance(dtype, torch.dtype):
        dtype = torch.from_numpy(np.zeros(0, dtype=dtype)).dtype  # np.float32 → torch.float32
    result = OrderedDict()
    for key, value in state_dict.items():
        tensor = torch.from_numpy(np.ascontiguousarray(to_numpy(value)))
        if dtype is not None and tensor.is_floating_point():
            tensor = tensor.to(dtype)
        result[key] = tensor
    return result

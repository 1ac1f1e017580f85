"""Move weights between PyTorch and minicnn.

minicnn's modules use PyTorch's parameter names and layouts (Conv2d weight (out, in, kH, kW),
Linear weight (out, in), BatchNorm running_mean / running_var / num_batches_tracked), so a
state_dict moves unchanged; all that is needed is turning tensors into arrays and back.
torch is imported only inside the functions that need it; this module imports without it.

* `from_torch_state_dict` / `to_torch_state_dict` -- a state_dict in memory, either way;
* `load_torch_checkpoint` -- a ``.pth`` file (torchvision's weights) read with
  ``torch.load(weights_only=True)``, which refuses any pickled object that is not a tensor.

Example: a PyTorch LeNet written with the same module names as `minicnn.models.LeNet`

    import numpy as np
    import torch, torch.nn as tnn
    from minicnn.interop import from_torch_state_dict, to_torch_state_dict
    from minicnn.models import LeNet

    class TorchLeNet(tnn.Module):                       # input 1×16×16, 10 classes
        def __init__(self):
            super().__init__()
            self.features = tnn.Sequential(                # 16×16 → 16×16 → 8×8 → 4×4 → 2×2
                tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
                tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2))
            self.classifier = tnn.Sequential(
                tnn.Flatten(), tnn.Linear(16 * 2 * 2, 120), tnn.ReLU(),
                tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, 10))
        def forward(self, x):
            return self.classifier(self.features(x))

    torch_model = TorchLeNet().double()                # ... trained in PyTorch
    model = LeNet((1, 16, 16), 10)
    model.load_state_dict(from_torch_state_dict(torch_model.state_dict()))   # strict
    x = np.random.default_rng(0).random((2, 1, 16, 16))
    assert np.allclose(model(x).data, torch_model(torch.from_numpy(x)).detach().numpy())
    torch_model.load_state_dict(to_torch_state_dict(model.state_dict()))     # the other way

The parameters keep minicnn's dtype on load (`load_state_dict` copies into the existing arrays);
call `model.double()` first to compare with a float64 PyTorch model bit for bit.
"""

from __future__ import annotations

import os
import re
import warnings
from collections import OrderedDict
from typing import Any

import numpy as np

from .typing import DTypeLike, PathLike, StateDict

__all__ = ["from_torch_state_dict", "to_torch_state_dict", "to_numpy", "load_torch_checkpoint"]

# Where training scripts commonly nest the weights inside a checkpoint dict, tried in this order.
_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model")
_PARALLEL_PREFIX = "module."  # what nn.DataParallel / DistributedDataParallel put before every key


def to_numpy(value: Any) -> np.ndarray:
    """A copy of `value` as an ndarray: a torch tensor (detached, moved to the CPU), a minicnn
    Tensor, or anything `np.asarray` accepts. Recognises torch tensors without importing torch."""
    if hasattr(value, "detach") and hasattr(value, "cpu") and hasattr(value, "numpy"):
        return value.detach().cpu().numpy().copy()
    return np.array(getattr(value, "data", value), copy=True)


def _check_mapping(state_dict: Any, name: str) -> None:
    if not hasattr(state_dict, "items"):
        raise TypeError(f"{name}: expected a mapping name → tensor/array (a state_dict), got {type(state_dict).__name__}")


def from_torch_state_dict(state_dict: StateDict, dtype: DTypeLike | None = None) -> OrderedDict[str, np.ndarray]:
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


def to_torch_state_dict(state_dict: StateDict, dtype: Any = None) -> OrderedDict[str, Any]:
    """A PyTorch state_dict (OrderedDict of CPU torch tensors) from minicnn's {name: ndarray}.

    dtype -- None keeps each array's dtype (float64 stays float64: call `.double()` on the torch
             model, or pass torch.float32 / np.float32 to cast the floating-point entries).
    Raises ImportError with a hint when torch is not installed.
    """
    torch = _import_torch("to_torch_state_dict needs PyTorch: pip install 'minicnn[torch]'")
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


def load_torch_checkpoint(path: PathLike, dtype: DTypeLike | None = None) -> OrderedDict[str, np.ndarray]:
    """{name: ndarray} from a PyTorch checkpoint file (a torchvision ``.pth``), order kept.

    The file is read only with ``torch.load(path, weights_only=True, map_location="cpu")``: a
    .pth is a pickle, and `weights_only` makes torch refuse every pickled object that is not a
    tensor or a plain container, so loading a file from anywhere cannot run code. Needs torch;
    without it, convert the file once where torch is installed (``python -m minicnn.convert
    IN.pth OUT.npz``) and `minicnn.load` the result.

    Handled, each reported by a one-line UserWarning:
    * a training checkpoint that nests the weights under "state_dict", "model_state_dict" or
      "model" (the other entries, e.g. the optimiser's state, are ignored);
    * the "module." prefix nn.DataParallel puts before every key (stripped);
    * bfloat16 / float8 tensors, which NumPy cannot hold (widened to float32).

    dtype -- as in `from_torch_state_dict`: None keeps each tensor's dtype.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_torch_checkpoint: no such file {path!r}")
    torch = _import_torch(
        f"load_torch_checkpoint: reading {path!r} needs PyTorch: pip install 'minicnn[torch]', or convert "
        f"it on a machine with torch: python -m minicnn.convert {path} weights.npz")
    try:
        checkpoint = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as error:  # torch raises many types here; all mean "not a weights file"
        raise ValueError(f"load_torch_checkpoint: {path!r} cannot be read by torch.load(weights_only=True), "
                         f"which accepts tensors and plain containers only ({_torch_load_reason(error)}); "
                         "save model.state_dict() rather than the model object") from None
    state, notes = _weights_in_checkpoint(checkpoint, path)
    state, widened = _numpy_compatible(state, torch)
    if widened:
        notes.append(f"widened {widened} bfloat16/float8 tensor(s) to float32 (NumPy has no such dtype)")
    for note in notes:
        warnings.warn(f"load_torch_checkpoint: {path!r}: {note}", UserWarning, stacklevel=2)
    return from_torch_state_dict(state, dtype=dtype)


def _torch_load_reason(error):
    """The cause in torch.load's many-line message, e.g. "Unsupported global: GLOBAL
    __main__.Net was not an allowed global by default" (the rest tells how to load unsafely)."""
    text = str(error)
    if "WeightsUnpickler error:" in text:
        text = text.split("WeightsUnpickler error:", 1)[1]
    paragraphs = [p for p in re.split(r"\n\s*\n", re.sub(r"\x1b\[[0-9;]*m", "", text)) if p.strip()]
    first = " ".join(paragraphs[0].split()) if paragraphs else ""  # one line, no terminal colours
    return first.split(". ")[0].rstrip(".") or type(error).__name__


def _weights_in_checkpoint(checkpoint, path):
    """(state_dict, notes): the mapping of names to tensors inside what torch.load returned."""
    if not hasattr(checkpoint, "items"):
        raise ValueError(f"load_torch_checkpoint: {path!r} holds a {type(checkpoint).__name__}, "
                         "expected a state_dict (a dict of names to tensors)")
    notes = []
    state = checkpoint
    if not all(_is_tensor(v) for v in checkpoint.values()):
        wrapper = next((k for k in _WRAPPER_KEYS if hasattr(checkpoint.get(k), "items")), None)
        if wrapper is not None:
            state = checkpoint[wrapper]
            others = [k for k in checkpoint if k != wrapper]
            notes.append(f"took the weights from checkpoint[{wrapper!r}]"
                         + (f" (ignored: {', '.join(map(repr, others[:5]))})" if others else ""))
    for key, value in state.items():
        if not isinstance(key, str) or not _is_tensor(value):
            raise ValueError(f"load_torch_checkpoint: {path!r}: entry {key!r} is not a tensor ("
                             f"{type(value).__name__}); top-level keys: {list(checkpoint)[:8]}")
    if state and all(k.startswith(_PARALLEL_PREFIX) for k in state):
        state = OrderedDict((k[len(_PARALLEL_PREFIX):], v) for k, v in state.items())
        notes.append(f"stripped the {_PARALLEL_PREFIX!r} prefix (nn.DataParallel) from all {len(state)} keys")
    return state, notes


def _numpy_compatible(state, torch):
    """(state, how many tensors were widened): bfloat16 and float8 tensors become float32."""
    result, widened = OrderedDict(), 0
    for key, tensor in state.items():
        if tensor.is_floating_point() and tensor.dtype not in (torch.float16, torch.float32, torch.float64):
            tensor, widened = tensor.float(), widened + 1
        result[key] = tensor
    return result, widened


def _is_tensor(value):
    """A torch tensor, recognised without importing torch."""
    return all(hasattr(value, a) for a in ("detach", "cpu", "numpy", "is_floating_point"))


def _import_torch(message):
    try:
        import torch
    except ImportError:
        raise ImportError(message) from None
    return torch

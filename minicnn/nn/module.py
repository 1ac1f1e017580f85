"""`Module` and `Parameter`: the bookkeeping every layer and model shares, as in PyTorch.

A Module owns three kinds of state, each registered by plain attribute assignment:

    self.weight = Parameter(...)      → _parameters  (trained: the optimiser updates them)
    self.block  = SomeModule(...)     → _modules     (children, named by the attribute)
    self.register_buffer("running_mean", np.zeros(c))  → _buffers  (state that is not trained)

Everything else (`parameters()`, `state_dict()`, `to(dtype)`, `train()`/`eval()`, `repr`) walks
that tree. Names are dotted paths from the root — `features.0.weight` — exactly PyTorch's, so a
`state_dict` moves between the two frameworks unchanged (`{k: v.detach().numpy() ...}`).
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ..tensor import Tensor, as_tensor
from ..typing import DTypeLike, StateDict, TensorLike
from ..validation import check_not_torch, check_not_torch_module, torch_kind

if TYPE_CHECKING:
    from typing import Self  # "the same class as the receiver" (Python ≥ 3.11; only mypy reads it)

__all__ = ["Module", "Parameter", "RemovableHandle", "StateDictError", "IncompatibleKeys"]


class Parameter(Tensor):
    """A Tensor that is a trainable weight of a Module: `requires_grad=True` by default.

    Assigning a Parameter to a Module attribute registers it (`module.parameters()` finds it).
    `Parameter(tensor)` shares the tensor's data (as `torch.nn.Parameter`) unless `dtype` asks
    for a cast; an ndarray or list is copied.
    """

    def __init__(self, data: TensorLike, requires_grad: bool = True, dtype: DTypeLike | None = None) -> None:
        if isinstance(data, Tensor):
            super().__init__(data.data, requires_grad=requires_grad, dtype=dtype, _copy=False)
        else:
            super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class StateDictError(ValueError, KeyError):
    """`load_state_dict` found missing keys, unexpected keys or shape mismatches.

    A ValueError *and* a KeyError, so either `except` catches it. The message is one line with
    the counts and the first key of each kind; the full lists are attributes: `missing_keys`,
    `unexpected_keys`, `shape_mismatches` ([(key, the model's shape, the state_dict's shape)]).
    """

    def __init__(self, message: str, missing_keys: Iterable[str] = (), unexpected_keys: Iterable[str] = (),
                 shape_mismatches: Iterable[tuple] = ()) -> None:
        super().__init__(message)
        self.missing_keys = list(missing_keys)
        self.unexpected_keys = list(unexpected_keys)
        self.shape_mismatches = list(shape_mismatches)

    def __str__(self) -> str:  # KeyError would repr() the message (quotes around it)
        return str(self.args[0])

    @property
    def problems(self) -> list[str]:
        """One phrase per kind of problem in the lists, e.g. ["3 missing keys (first: 'fc.weight')",
        ...]: what a report prints one line each (`python -m minicnn.convert --arch` does)."""
        return _mismatch_summary(self.missing_keys, self.unexpected_keys, self.shape_mismatches)


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict` returns (PyTorch's name): the keys it did not find, and did not use."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class RemovableHandle:
    """Returned by `register_forward_hook`; `handle.remove()` unregisters the hook."""

    _next_id = itertools.count()

    def __init__(self, hooks: dict) -> None:
        self._hooks = hooks
        self.id = next(RemovableHandle._next_id)

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class Module:
    """Base class of every layer and model.

    Subclasses call `super().__init__()` first, assign their parameters and submodules as
    attributes, and implement `forward(*inputs)`. Calling the module (`model(x)`) runs the
    forward pre-hooks, `forward`, then the forward hooks.
    """

    def __init__(self) -> None:
        # object.__setattr__: our own __setattr__ needs these dicts to exist already.
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "training", True)

    # ---- registration --------------------------------------------------------------------
    def _check_initialised(self, what):
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {what} before Module.__init__() call "
                f"(call super().__init__() first in {type(self).__name__}.__init__)"
            )

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Parameter):
            self._check_initialised("parameters")
            self._forget(name, self._parameters)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._check_initialised("submodules")
            self._forget(name, self._modules)
            self._modules[name] = value
        elif torch_kind(value) is not None:  # it would be a plain attribute, its weights unregistered
            check_not_torch_module(value, f"{type(self).__name__}.{name}")
        elif "_parameters" in self.__dict__ and name in self._parameters:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter '{name}' "
                    "(a Parameter or None is expected)"
                )
            self._parameters[name] = None
        elif "_modules" in self.__dict__ and name in self._modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as child module '{name}' "
                    "(a Module or None is expected)"
                )
            self._modules[name] = None
        elif "_buffers" in self.__dict__ and name in self._buffers:
            self._buffers[name] = None if value is None else np.asarray(_to_numpy(value))
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name, keep):
        """Drop `name` from the registries other than `keep` (it is being re-assigned); within
        `keep` the old entry is overwritten in place, so the registration order is kept."""
        self.__dict__.pop(name, None)
        for registry in (self._parameters, self._buffers, self._modules):
            if registry is not keep:
                registry.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails, i.e. for registered names.
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in d and name in d[registry]:
                return d[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register `param` (a Parameter, or None for an absent one such as `bias=False`)."""
        self._check_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: param must be a Parameter or None, got {type(param).__name__}")
        self._forget(name, self._parameters)
        self._parameters[name] = param

    def register_buffer(self, name: str, value: TensorLike | None) -> None:
        """Register a non-trained array (e.g. BatchNorm's running statistics); it is saved in
        `state_dict` and cast by `to(dtype)` when it holds floats."""
        self._check_name(name, "buffer")
        if value is not None:
            if isinstance(value, Tensor):
                value = value.data
            value = np.asarray(value)
        self._forget(name, self._buffers)
        self._buffers[name] = value

    def add_module(self, name: str, module: Module | None) -> None:
        """Register a child module under `name` (what attribute assignment does)."""
        self._check_name(name, "module")
        if module is not None and not isinstance(module, Module):
            check_not_torch_module(module, f"add_module: {name}")
            raise TypeError(f"add_module: module must be a Module or None, got {type(module).__name__}")
        self._forget(name, self._modules)
        self._modules[name] = module

    def _check_name(self, name, kind):
        self._check_initialised(f"a {kind}")
        if not isinstance(name, str) or not name or "." in name:
            raise ValueError(f"{kind} name must be a non-empty string without '.', got {name!r}")

    # ---- the forward pass ----------------------------------------------------------------
    def forward(self, *inputs: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no forward() method")

    def __call__(self, *inputs: Any, **kwargs: Any) -> Any:
        for index, x in enumerate(inputs):  # a torch tensor would otherwise fail deep in NumPy
            check_not_torch(x, "x" if len(inputs) == 1 else f"input {index}")
        inputs = tuple(self._as_input(x) for x in inputs)
        for hook in list(self._forward_pre_hooks.values()):
            replaced = hook(self, inputs)
            if replaced is not None:
                inputs = replaced if isinstance(replaced, tuple) else (replaced,)
        output = self.forward(*inputs, **kwargs)
        for hook in list(self._forward_hooks.values()):
            replaced = hook(self, inputs, output)
            if replaced is not None:
                output = replaced
        return output

    def _as_input(self, x):
        """A plain ndarray input becomes a constant Tensor in the dtype of the module's
        parameters (float64 when it has none and the array is not float32)."""
        if not isinstance(x, (np.ndarray, np.generic)):
            return x
        first = next(self.parameters(), None)
        return as_tensor(x, dtype=None if first is None else first.dtype)

    def register_forward_hook(self, hook: Callable[[Module, tuple, Any], Any]) -> RemovableHandle:
        """Call `hook(module, inputs, output)` after every forward; a non-None return value
        replaces the output. Returns a handle whose `.remove()` unregisters the hook."""
        if not callable(hook):
            raise TypeError(f"register_forward_hook: hook must be callable, got {type(hook).__name__}")
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def register_forward_pre_hook(self, hook: Callable[[Module, tuple], Any]) -> RemovableHandle:
        """Call `hook(module, inputs)` before every forward; a non-None return value replaces
        the inputs (a tuple, or a single input). Returns a removable handle."""
        if not callable(hook):
            raise TypeError(f"register_forward_pre_hook: hook must be callable, got {type(hook).__name__}")
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    # ---- walking the tree ----------------------------------------------------------------
    def named_modules(self, prefix: str = "", memo: set[int] | None = None) -> Iterator[tuple[str, Module]]:
        """(name, module) for this module (name `prefix`, "" by default) and all descendants,
        depth first, each module once."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is None:
                continue
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) for the direct submodules."""
        seen = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def _named_members(self, registry_name, recurse=True):
        seen = set()
        modules = self.named_modules() if recurse else [("", self)]
        for module_name, module in modules:
            for name, value in getattr(module, registry_name).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_name}.{name}" if module_name else name), value

    def named_parameters(self, recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) pairs, e.g. ('features.0.weight', ...); shared ones once."""
        return self._named_members("_parameters", recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse):
            yield param

    def named_buffers(self, recurse: bool = True) -> Iterator[tuple[str, np.ndarray]]:
        """(dotted name, ndarray) pairs of the registered buffers."""
        return self._named_members("_buffers", recurse)

    def buffers(self, recurse: bool = True) -> Iterator[np.ndarray]:
        for _, buf in self.named_buffers(recurse):
            yield buf

    def apply(self, fn: Callable[[Module], Any]) -> Self:
        """Call fn(module) on every submodule (children first) and on self; returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---- modes, gradients, dtypes --------------------------------------------------------
    def train(self, mode: bool = True) -> Self:
        """Set training mode (Dropout drops, BatchNorm uses batch statistics) recursively."""
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"train: mode must be a bool, got {type(mode).__name__}")
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> Self:
        """Evaluation mode: `train(False)`."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Self:
        """Freeze (False) or unfreeze every parameter; returns self."""
        for param in self.parameters():
            param.requires_grad = bool(requires_grad)
        return self

    def zero_grad(self) -> None:
        """Forget the gradients of every parameter (`p.grad = None`, PyTorch's default)."""
        for param in self.parameters():
            param.grad = None

    def to(self, dtype: DTypeLike) -> Self:
        """Cast every parameter (and its gradient) and every floating-point buffer to `dtype`
        (float32 or float64), in place; returns self. `to("cpu")` is accepted and does nothing."""
        if isinstance(dtype, str) and dtype == "cpu":
            return self
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"to: dtype must be np.float32 or np.float64, got {dtype!r}") from None
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"to: dtype must be np.float32 or np.float64, got {dtype}")
        for param in self.parameters():
            param.data = param.data.astype(dtype, copy=False)
            if param.grad is not None:
                param.grad = param.grad.astype(dtype, copy=False)
        for module in self.modules():
            for name, buf in module._buffers.items():
                if buf is not None and buf.dtype.kind == "f":
                    module._buffers[name] = buf.astype(dtype, copy=False)
        return self

    def float(self) -> Self:
        """`to(np.float32)`."""
        return self.to(np.float32)

    def double(self) -> Self:
        """`to(np.float64)`."""
        return self.to(np.float64)

    # ---- saving and loading --------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """OrderedDict name → ndarray copy of every parameter and buffer, PyTorch's names and
        order (each module's parameters, then its buffers, then its children)."""
        state = OrderedDict()
        for module_name, module in self.named_modules():
            prefix = f"{module_name}." if module_name else ""
            for name, param in module._parameters.items():
                if param is not None:
                    state[prefix + name] = param.data.copy()
            for name, buf in module._buffers.items():
                if buf is not None:
                    state[prefix + name] = buf.copy()
        return state

    def load_state_dict(self, state_dict: StateDict, strict: bool = True) -> IncompatibleKeys:
        """Copy the arrays of `state_dict` into this module's parameters and buffers, in place
        and in their current dtype.

        Values may be anything `np.asarray` accepts, minicnn Tensors, or torch tensors. With
        `strict` (the default), missing and unexpected keys are errors; shape mismatches always
        are. All problems are reported by one `StateDictError` (a ValueError and a KeyError) whose
        one-line message counts them and names the first of each kind.
        Returns (missing_keys, unexpected_keys).
        """
        if torch_kind(state_dict) == "torch.nn.Module":
            raise TypeError("load_state_dict: state_dict: expected a mapping name → array, got a torch.nn.Module "
                            f"({type(state_dict).__name__}); pass minicnn.interop.from_torch_state_dict("
                            "torch_model.state_dict())")
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"load_state_dict: expected a mapping name → array, got {type(state_dict).__name__}")
        targets = self._state_targets()
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict.keys() if k not in targets]
        mismatched, values = [], {}
        for key, (kind, module, name) in targets.items():
            if key not in state_dict:
                continue
            value = _to_numpy(state_dict[key])
            current = module._parameters[name].data if kind == "param" else module._buffers[name]
            if value.shape != current.shape:
                # PyTorch stores num_batches_tracked as a 0-d tensor; accept (1,) as well.
                if not (value.size == current.size == 1):
                    mismatched.append((key, current.shape, value.shape))
                    continue
                value = value.reshape(current.shape)
            values[key] = value
        if mismatched or (strict and (missing or unexpected)):
            raise StateDictError(
                _describe_mismatch(type(self).__name__, missing if strict else [],
                                   unexpected if strict else [], mismatched),
                missing, unexpected, mismatched,
            )
        for key, value in values.items():
            kind, module, name = targets[key]
            current = module._parameters[name].data if kind == "param" else module._buffers[name]
            current[...] = value.astype(current.dtype, copy=False)
        return IncompatibleKeys(missing, unexpected)

    def _state_targets(self):
        targets = OrderedDict()
        for module_name, module in self.named_modules():
            prefix = f"{module_name}." if module_name else ""
            for name, param in module._parameters.items():
                if param is not None:
                    targets[prefix + name] = ("param", module, name)
            for name, buf in module._buffers.items():
                if buf is not None:
                    targets[prefix + name] = ("buffer", module, name)
        return targets

    # ---- printing ------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The layer's settings inside the parentheses of its repr; subclasses override it."""
        return ""

    def __repr__(self) -> str:
        lines = []
        extra = self.extra_repr()
        if extra:
            lines.extend(extra.split("\n"))
        for name, child in self._modules.items():
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"({name}): {child_repr}")
        name = type(self).__name__
        if not self._modules:
            return f"{name}({extra})"
        return name + "(\n  " + "\n  ".join(lines) + "\n)"


def _to_numpy(value) -> np.ndarray:
    if isinstance(value, Tensor):
        return value.data
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor (no torch import)
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _describe_mismatch(model, missing, unexpected, mismatched) -> str:
    """One line: how many keys are missing, unexpected and mis-shaped, with the first of each
    (the full lists stay on the StateDictError); a 300-key list helps nobody read the cause."""
    return f"state_dict does not match {model}: " + ", ".join(_mismatch_summary(missing, unexpected, mismatched))


def _mismatch_summary(missing, unexpected, mismatched) -> list:
    """One phrase per kind of problem, e.g. "3 missing keys (first: 'fc.weight')"; kinds with no
    problem are left out. `mismatched` holds (key, model's shape, state_dict's shape)."""
    parts = []
    if missing:
        parts.append(f"{_count(len(missing), 'missing key')} (first: {missing[0]!r})")
    if unexpected:
        parts.append(f"{_count(len(unexpected), 'unexpected key')} (first: {unexpected[0]!r})")
    if mismatched:
        key, expected, got = mismatched[0]
        parts.append(f"{_count(len(mismatched), 'shape mismatch', 'shape mismatches')} "
                     f"(first: {key!r} is {tuple(got)} in the state_dict, {tuple(expected)} in the model)")
    return parts


def _count(n, singular, plural=None):
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"

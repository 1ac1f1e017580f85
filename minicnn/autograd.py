"""Reverse-mode automatic differentiation: the `Function` base class and the backward pass.

A forward computation builds a graph: every `Tensor` produced by an op remembers the `Function`
node that made it (`tensor.creator`), and every node remembers its input tensors. The backward
pass visits the graph in reverse topological order and applies the chain rule

    ∂L/∂x_i  =  Σ_{nodes y = f(..., x_i, ...)}  (∂y/∂x_i)ᵀ · ∂L/∂y

one node at a time: each node turns the gradient of its output into one gradient per input
(a vector-Jacobian product, "VJP"). Gradients of a tensor used several times are summed.

The hook point: `backward_pass(..., rules={FunctionType: rule})` replaces the VJP of the chosen
Function types *for that one pass*. A rule is a callable `rule(node, grad_output)` that returns
one gradient (or None) per input of `node`; it may read `node.inputs` (the input Tensors),
`node.output` (the output array) and whatever the node saved. DeepLIFT and guided backprop are
written this way; the engine itself never needs to know about them.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .typing import ArrayLike, FloatArray

if TYPE_CHECKING:  # tensor.py imports this module
    from .tensor import Tensor

__all__ = [
    "Function",
    "promote_inputs",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "topological_order",
    "find_rule",
    "backward_pass",
    "grad",
    "Rule",
]

_grad_enabled = True


def is_grad_enabled() -> bool:
    """True unless inside a `no_grad()` block."""
    return _grad_enabled


@contextlib.contextmanager
def _set_grad_enabled(mode: bool) -> Iterator[None]:
    global _grad_enabled
    previous = _grad_enabled
    _grad_enabled = mode
    try:
        yield
    finally:
        _grad_enabled = previous


def no_grad() -> contextlib.AbstractContextManager[None]:
    """Context manager: ops inside build no graph (inference, optimiser steps)."""
    return _set_grad_enabled(False)


def enable_grad() -> contextlib.AbstractContextManager[None]:
    """Context manager: turn graph building back on inside a `no_grad()` block."""
    return _set_grad_enabled(True)


class Function:
    """One differentiable op: `forward` and `backward` work on raw ndarrays.

    Subclasses implement

    - `__init__(self, <settings>)`: the op's non-tensor settings (axis, stride, ...) as named
      arguments stored as attributes, after `super().__init__()`; an op without settings needs
      no `__init__`;
    - `forward(self, *arrays) -> ndarray`: compute y from the input arrays; keep what the
      derivative needs with `self.save_for_backward(...)`;
    - `backward(self, grad_output) -> tuple`: given ∂L/∂y, return ∂L/∂x_i for every input
      (None for an input that needs no gradient). `self.needs_input_grad[i]` tells whether
      input i needs one in this pass, so expensive gradients (a conv's weights) can be skipped.
      A single-input op may return the bare array instead of a 1-tuple.

    A node is used once: `Mul()(a, b)` builds a node and calls it on Tensors (or array-likes);
    `Mul.apply(a, b)` does the same in one step. After the call, a node that is part of a graph
    also holds `inputs` (the input Tensors) and `output` (the output array), which backward
    rules may read, next to whatever the op exposes by name (e.g. `MaxPool2d.argmax`).
    """

    saved: tuple
    inputs: tuple[Tensor, ...]
    output: np.ndarray | None
    needs_input_grad: tuple[bool, ...]

    def __init__(self) -> None:
        self.saved = ()
        self.inputs = ()
        self.output = None
        self.needs_input_grad = ()

    def save_for_backward(self, *values: Any) -> None:
        """Keep `values` (arrays, shapes) for `backward`, as `self.saved`."""
        self.saved = values

    def evaluate(self, *arrays: np.ndarray) -> np.ndarray:
        """f(arrays) with this node's settings, leaving the node itself (what it saved for its
        backward pass) untouched. DeepLIFT's RevealCancel rule runs a linear op's forward
        formula again on the positive and negative parts of its input's difference."""
        fresh = copy.copy(self)  # a shallow copy: the settings are shared, `saved` is its own
        return fresh.forward(*arrays)

    def forward(self, *arrays: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}.forward is not implemented")

    def backward(self, grad_output: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}.backward is not implemented")

    def __call__(self, *inputs: Any) -> Tensor:
        """Run the op on Tensors (or array-likes) and record it in the graph when needed."""
        from .tensor import Tensor

        tensors = promote_inputs(inputs, op=type(self).__name__)
        out = self.forward(*(t.data for t in tensors))
        needs_grad = _grad_enabled and any(t.requires_grad for t in tensors)
        result = Tensor(out, requires_grad=needs_grad, _copy=False)
        if needs_grad:
            self.inputs = tensors
            self.output = out
            self.needs_input_grad = tuple(t.requires_grad for t in tensors)
            result.creator = self
        return result

    @classmethod
    def apply(cls, *inputs: Any, **settings: Any) -> Tensor:
        """`cls(**settings)(*inputs)`: build the node and run it."""
        return cls(**settings)(*inputs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} node>"


# A backward rule of the hook point: rule(node, grad_output) -> one gradient (or None) per input.
Rule = Callable[[Function, np.ndarray], Any]


def promote_inputs(inputs: Iterable[Any], op: str = "op") -> tuple[Tensor, ...]:
    """The inputs as Tensors, with PyTorch's type promotion between float32 and float64:

    - Tensors, and NumPy float arrays with at least one axis, keep their dtype, and an op on
      float32 and float64 operands computes (and returns) float64, as `torch.float32 tensor *
      torch.float64 tensor` does;
    - Python numbers, NumPy scalars, 0-d arrays and integer or bool arrays take the dtype of the
      first Tensor operand, so `float32_tensor * 2.0` stays float32 (a "wrapped number" in
      PyTorch does not promote); with no Tensor operand they become float64.

    Gradients come back in each input's own dtype (see `backward_pass`). `op` names the op in
    the message that refuses an input (a torch tensor, say).
    """
    from .tensor import Tensor, as_tensor

    like = next((x for x in inputs if isinstance(x, Tensor)), None)
    dtype = like.dtype if like is not None else None

    def promoted(x: Any, name: str) -> Tensor:
        if isinstance(x, Tensor):
            return x
        if isinstance(x, np.ndarray) and x.ndim > 0 and x.dtype.kind == "f":
            return as_tensor(x, name=name)
        return as_tensor(x, dtype=dtype, name=name)

    return tuple(promoted(x, f"{op}: input {i}") for i, x in enumerate(inputs))


def topological_order(roots: Iterable[Tensor]) -> list[Tensor]:
    """Tensors reachable from `roots` that take part in differentiation, inputs before outputs.

    Iterative depth-first search with an explicit stack, so deep graphs (long training runs,
    many residual blocks) never hit Python's recursion limit.
    """
    order, visited = [], set()
    stack = [(t, False) for t in reversed(list(roots))]
    while stack:
        tensor, expanded = stack.pop()
        if expanded:
            order.append(tensor)
            continue
        if id(tensor) in visited or not tensor.requires_grad:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        if tensor.creator is not None:
            for parent in reversed(tensor.creator.inputs):
                if id(parent) not in visited:
                    stack.append((parent, False))
    return order


def find_rule(rules: Mapping[type, Rule], node: Function) -> Rule | None:
    """The entry of `rules` for node's Function type or its nearest base class (None if none)."""
    for cls in type(node).__mro__:
        rule = rules.get(cls)
        if rule is not None:
            return rule
    return None


def backward_pass(roots: Sequence[Tensor], grad_roots: Sequence[np.ndarray],
                  rules: Mapping[type, Rule] | None = None, wanted: Sequence[Tensor] | None = None,
                  accumulate: bool = True) -> list[FloatArray | None]:
    """Propagate gradients from `roots` (with seeds `grad_roots`) back through the graph.

    rules      -- {Function subclass: rule(node, grad_output) -> tuple of input gradients};
                  replaces the VJP of those op types for this pass only (see module docstring).
    wanted     -- tensors whose gradients are returned (in a list, None where unreachable).
    accumulate -- add the gradients of leaf tensors with requires_grad into their `.grad`
                  (what `Tensor.backward` does); `grad()` turns this off.
    """
    rules = rules or {}
    wanted = list(wanted or [])
    wanted_ids = {id(t) for t in wanted}
    found: dict[int, np.ndarray] = {}
    grads: dict[int, np.ndarray] = {}
    for root, seed in zip(roots, grad_roots):
        _accumulate(grads, root, seed)
    order = topological_order(roots)
    # Only tensors that lead to something we want need a gradient; skipping the rest saves,
    # e.g., every weight gradient when an attribution method only asks for ∂y/∂x.
    needed = _tensors_needing_grad(order, wanted_ids) if not accumulate else None
    for tensor in reversed(order):
        g = grads.pop(id(tensor), None)
        if g is None:
            continue
        if id(tensor) in wanted_ids:
            found[id(tensor)] = g
        node = tensor.creator
        if node is None:
            if accumulate:
                tensor.grad = g.copy() if tensor.grad is None else tensor.grad + g
            continue
        if needed is None:
            node.needs_input_grad = tuple(p.requires_grad for p in node.inputs)
        else:
            node.needs_input_grad = tuple(id(p) in needed for p in node.inputs)
        rule = find_rule(rules, node) if rules else None
        input_grads = rule(node, g) if rule is not None else node.backward(g)
        if isinstance(input_grads, np.ndarray):  # a single-input op may return the bare array
            input_grads = (input_grads,)
        if len(input_grads) != len(node.inputs):
            raise RuntimeError(
                f"{type(node).__name__} backward returned {len(input_grads)} gradients "
                f"for {len(node.inputs)} inputs"
            )
        for parent, parent_grad in zip(node.inputs, input_grads):
            if parent_grad is None or not parent.requires_grad:
                continue
            if needed is not None and id(parent) not in needed:
                continue
            if parent_grad.shape != parent.shape:
                raise RuntimeError(
                    f"{type(node).__name__} backward gave a gradient of shape {parent_grad.shape} "
                    f"for an input of shape {parent.shape}"
                )
            if parent_grad.dtype != parent.dtype:  # a float32 input of a promoted float64 op
                parent_grad = parent_grad.astype(parent.dtype)
            _accumulate(grads, parent, parent_grad)
    return [found.get(id(t)) for t in wanted]


def _tensors_needing_grad(order: list[Tensor], wanted_ids: set[int]) -> set[int]:
    """ids of the tensors in `order` that are wanted or computed from a wanted tensor."""
    needed = set()
    for tensor in order:  # inputs before outputs
        if id(tensor) in wanted_ids or (
            tensor.creator is not None and any(id(p) in needed for p in tensor.creator.inputs)
        ):
            needed.add(id(tensor))
    return needed


def _accumulate(grads: dict[int, np.ndarray], tensor: Tensor, g: np.ndarray) -> None:
    key = id(tensor)
    grads[key] = g if key not in grads else grads[key] + g


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: ArrayLike | Sequence[ArrayLike] | None = None,
         rules: Mapping[type, Rule] | None = None) -> list[FloatArray]:
    """Gradients of `outputs` with respect to `inputs`, returned, not stored in `.grad`.

    Like `torch.autograd.grad`: leaves' `.grad` (e.g. model parameters) are left untouched, and
    `inputs` may be intermediate tensors (Grad-CAM asks for ∂y/∂A at a hidden layer). An input
    the outputs do not depend on gets a zero array. `rules` is the hook point described above.
    """
    outputs = _as_list(outputs)
    inputs = _as_list(inputs)
    if grad_outputs is None:
        for out in outputs:
            if out.size != 1:
                raise ValueError(
                    f"grad: grad_outputs is required for a non-scalar output (shape {out.shape})"
                )
        grad_outputs = [np.ones_like(out.data) for out in outputs]
    grad_outputs = [np.asarray(g, dtype=out.dtype) for g, out in zip(_as_list(grad_outputs), outputs)]
    for g, out in zip(grad_outputs, outputs):
        if g.shape != out.shape:
            raise ValueError(f"grad: grad_outputs of shape {g.shape} for an output of shape {out.shape}")
    result = backward_pass(outputs, grad_outputs, rules=rules, wanted=inputs, accumulate=False)
    # Copies: a gradient may be the caller's seed or shared between inputs (a + b).
    return [np.zeros_like(t.data) if g is None else np.array(g, copy=True) for g, t in zip(result, inputs)]


def _as_list(x: Any) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]

"""Optimisers: update parameters in place from their `.grad`, with PyTorch's exact formulas.

    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in batches:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

Notation for one parameter θ with gradient g at step t (λ = weight_decay, μ = momentum,
η = lr); the updates are written exactly as `torch.optim` computes them, so one step agrees with
PyTorch to rounding. Like PyTorch, `params` may also be a list of dicts ("parameter groups"),
each with its own settings: `SGD([{"params": a}, {"params": b, "lr": 0.01}], lr=0.1)`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, Union

import numpy as np

from .autograd import enable_grad, no_grad
from .tensor import Tensor

__all__ = ["Optimizer", "SGD", "Adam", "Params"]

# What an optimiser is given: Tensors (model.parameters()), or parameter groups (dicts).
Params = Union[Iterable[Tensor], Iterable[dict]]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


class Optimizer:
    """Base class: holds `param_groups` (list of dicts with "params" and settings) and a
    per-parameter `state` dict; subclasses implement `_update(param, grad, state, group)`."""

    def __init__(self, params: Params, defaults: dict) -> None:
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state: dict[Tensor, dict] = {}  # Parameter → dict (Tensors hash by identity)
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of Tensors (e.g. model.parameters()), "
                "got a single Tensor; wrap it in a list"
            )
        given: list[Any] = list(params)
        if not given:
            raise ValueError(f"{type(self).__name__}: params is an empty parameter list")
        groups = given if isinstance(given[0], dict) else [{"params": given}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict) -> None:
        """Add a dict {"params": [...], setting: value, ...}; missing settings take the defaults."""
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{type(self).__name__}: a parameter group must be a dict with a 'params' entry")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: params must be Tensors, got {type(p).__name__}")
            if not p.requires_grad:
                raise ValueError(f"{type(self).__name__}: a parameter has requires_grad=False; it cannot be optimised")
        known = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or any(id(p) in known for p in params):
            raise ValueError(f"{type(self).__name__}: a parameter appears more than once in params")
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise ValueError(f"{type(self).__name__}: unknown setting(s) {sorted(unknown)} in a parameter group")
        full = {**self.defaults, **group, "params": params}
        self._validate(full)
        self.param_groups.append(full)

    def _validate(self, group: dict) -> None:  # pragma: no cover - overridden
        pass

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (`p.grad = None`, PyTorch's default)."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient (those with grad None are skipped).

        `closure` (optional) re-evaluates the model and returns the loss, which is returned.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = np.asarray(p.grad)
                    if grad.shape != p.data.shape:
                        raise ValueError(
                            f"{type(self).__name__}: gradient of shape {grad.shape} for a parameter of shape {p.data.shape}"
                        )
                    self._update(p, grad.astype(p.data.dtype, copy=False), self.state.setdefault(p, {}), group)
        return loss

    def _update(self, param: Tensor, grad: np.ndarray, state: dict, group: dict) -> None:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params")
        return "\n".join(lines) + "\n)"


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay:

        d = g + λθ
        b ← d  (first step),   b ← μ b + (1 − dampening) d  (later steps)
        d ← d + μ b  (nesterov)   or   d ← b
        θ ← θ − η d
    """

    def __init__(self, params: Params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False, dampening: float = 0.0) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                                      nesterov=nesterov, dampening=dampening))

    def _validate(self, group: dict) -> None:
        for name in ("lr", "momentum", "weight_decay", "dampening"):
            if not _number(group[name]) or not group[name] >= 0:
                raise ValueError(f"SGD: {name} must be a number ≥ 0, got {group[name]!r}")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"SGD: nesterov=True needs momentum > 0 and dampening = 0, got momentum={group['momentum']}, "
                f"dampening={group['dampening']}"
            )

    def _update(self, param: Tensor, grad: np.ndarray, state: dict, group: dict) -> None:
        lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
        d = grad + wd * param.data if wd != 0 else grad
        if mu != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = d.copy()
            else:
                buf *= mu
                buf += (1 - group["dampening"]) * d
            d = d + mu * buf if group["nesterov"] else buf
        param.data -= lr * d


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with L2 weight decay added to the gradient (as torch.optim.Adam):

        g ← g + λθ
        m ← β₁ m + (1 − β₁) g              (first moment)
        v ← β₂ v + (1 − β₂) g²             (second moment; amsgrad: v̂ = max(v̂, v) is used below)
        θ ← θ − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
    """

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad))

    def _validate(self, group: dict) -> None:
        for name in ("lr", "eps", "weight_decay"):
            if not _number(group[name]) or not group[name] >= 0:
                raise ValueError(f"Adam: {name} must be a number ≥ 0, got {group[name]!r}")
        betas = group["betas"]
        if (not isinstance(betas, (tuple, list)) or len(betas) != 2
                or not all(_number(b) and 0 <= b < 1 for b in betas)):
            raise ValueError(f"Adam: betas must be a pair of numbers in [0, 1), got {betas!r}")

    def _update(self, param: Tensor, grad: np.ndarray, state: dict, group: dict) -> None:
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param.data)
            state["exp_avg_sq"] = np.zeros_like(param.data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(param.data)
        state["step"] += 1
        t = state["step"]
        if wd != 0:
            grad = grad + wd * param.data
        m, v = state["exp_avg"], state["exp_avg_sq"]
        # m ← m + (1 − β₁)(g − m): torch's lerp, which switches form at weight ½ for accuracy.
        w = 1 - beta1
        if abs(w) < 0.5:
            m += w * (grad - m)
        else:
            m[...] = grad - (grad - m) * (1 - w)
        v *= beta2
        v += (1 - beta2) * grad * grad
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        step_size = lr / (1 - beta1**t)
        denom = np.sqrt(v) / math.sqrt(1 - beta2**t) + eps
        param.data += -step_size * (m / denom)

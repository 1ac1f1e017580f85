"""`Sequential`: modules applied one after the other, the output of each the input of the next."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from ..validation import check_not_torch_module
from .module import Module

__all__ = ["Sequential"]


class Sequential(Module):
    """Sequential(m0, m1, ...) or Sequential(OrderedDict(name=module, ...)).

    Children are named "0", "1", … (or by the OrderedDict's keys), as PyTorch, so parameters
    are called e.g. `3.weight`. Indexing with an int gives a module, with a slice a Sequential
    that shares the modules (and keeps their names).
    """

    def __init__(self, *modules: Module | OrderedDict[str, Module]) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self._add(name, module)
        else:
            for index, entry in enumerate(modules):
                self._add(str(index), entry)

    def _add(self, name, module):
        if not isinstance(module, Module):
            check_not_torch_module(module, f"Sequential: entry {name!r}")
            raise TypeError(
                f"Sequential: every element must be a Module, got {type(module).__name__} for entry {name!r}"
            )
        self.add_module(str(name), module)

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x

    def _index(self, index):
        n = len(self._modules)
        if not isinstance(index, int) or isinstance(index, bool):
            raise TypeError(f"Sequential indices must be integers or slices, got {type(index).__name__}")
        if not -n <= index < n:
            raise IndexError(f"Sequential index {index} is out of range for {n} modules")
        return index % n

    def __getitem__(self, index: int | slice) -> Module:
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        return items[self._index(index)][1]

    def __setitem__(self, index: int, module: Module) -> None:
        name = list(self._modules)[self._index(index)]
        self._add(name, module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        """Add `module` at the end (named str(len(self))); returns self."""
        self._add(str(len(self)), module)
        return self

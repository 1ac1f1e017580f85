"""Type hints of the public API: mypy passes with the shared configuration ([tool.mypy] in
pyproject.toml), and every public function and method of both packages is annotated.

"Public" is what a module exports in `__all__`, for every module whose dotted name has no part
starting with "_", and for a class its methods not starting with "_" plus __init__ and __call__.
The mypy run is skipped when mypy is missing (install the 'docs' extra); the completeness check
needs nothing.
"""

import importlib
import inspect
import pkgutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("attributions", "minicnn")


def public_modules(package_name):
    package = importlib.import_module(package_name)
    yield package
    for info in pkgutil.walk_packages(package.__path__, prefix=package_name + "."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            yield importlib.import_module(info.name)


def _function_of(obj):
    """The Python function behind obj (a numba dispatcher's py_func), or None if obj is not one."""
    obj = getattr(obj, "py_func", obj)
    return obj if inspect.isfunction(obj) else None


def public_callables(modules):
    """(qualified name, function, is a method) of every public function and method, each once."""
    seen = set()
    for module in modules:
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if _function_of(obj) is not None:
                yield f"{module.__name__}.{name}", _function_of(obj), False
            elif inspect.isclass(obj) and obj.__module__.split(".")[0] == module.__name__.split(".")[0]:
                for attribute, member in vars(obj).items():
                    if attribute.startswith("_") and attribute not in ("__init__", "__call__"):
                        continue
                    method = not isinstance(member, staticmethod)  # its first parameter is self or cls
                    if isinstance(member, (staticmethod, classmethod)):
                        member = member.__func__
                    if isinstance(member, property):
                        member = member.fget
                    if _function_of(member) is not None:
                        yield f"{obj.__module__}.{obj.__name__}.{attribute}", _function_of(member), method


def missing_annotations(callables):
    """'name: what is missing' for every function without an annotation on a parameter (but the
    self/cls of a method) or on its return."""
    problems = []
    for name, function, method in callables:
        signature = inspect.signature(function)
        parameters = list(signature.parameters.values())[1 if method else 0:]
        unannotated = [p.name for p in parameters if p.annotation is inspect.Parameter.empty]
        if unannotated:
            problems.append(f"{name}: parameters {', '.join(unannotated)}")
        if signature.return_annotation is inspect.Signature.empty:
            problems.append(f"{name}: return")
    return problems


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_function_is_annotated(package):
    callables = list(public_callables(public_modules(package)))
    assert len(callables) > 50  # the walk found the API, not an empty list
    problems = missing_annotations(callables)
    assert not problems, f"{len(problems)} public functions lack type hints:\n" + "\n".join(problems)


def test_the_check_finds_an_unannotated_function_and_method():
    module = types.ModuleType("example")

    def half(x, y: int) -> int:
        return y

    class Thing:
        def __init__(self, size: int) -> None:
            self.size = size

        def grow(self, by: int):
            return by

    module.__all__, module.half, module.Thing = ["half", "Thing"], half, Thing
    Thing.__module__ = half.__module__ = "example"
    assert missing_annotations(public_callables([module])) == ["example.half: parameters x",
                                                                "example.Thing.grow: return"]


def test_mypy_passes_on_both_packages():
    pytest.importorskip("mypy", reason="mypy is optional; install the 'docs' extra to type-check")
    run = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr

"""Reproductions of published experiments: `python -m attributions reproduce NAME [--quick]`.

    from attributions import reproduce
    result = reproduce.run("ig-convergence", quick=True, out_dir="docs/reproductions")
    result.verdict, result.numbers          # also written to docs/reproductions/ig-convergence.md

Each experiment is one module, `attributions/reproduce/<name_with_underscores>.py`, exposing
`run(quick=False, seed=0, **options) -> Result` (page.py). `EXPERIMENTS` lists them in the order of
the index; a module is imported only when its experiment runs, so `reproduce --help` stays fast.
`run` here calls the experiment, writes its page (`page.write_page`) and regenerates the index
(`page.write_index`).
"""

from __future__ import annotations

import importlib
import inspect
import time
from types import ModuleType
from typing import Any
from collections import OrderedDict

from ..app.errors import UsageError
from .page import Result, markdown_table, write_index, write_page

__all__ = ["EXPERIMENTS", "Result", "run", "experiment", "DEFAULT_OUT"]

DEFAULT_OUT = "docs/reproductions"

# name → module path, in the order of the index (issue 16, point 2)
EXPERIMENTS = OrderedDict([
    ("deeplift-digits", "attributions.reproduce.deeplift_digits"),
    ("input-invariance", "attributions.reproduce.input_invariance"),
    ("ig-convergence", "attributions.reproduce.ig_convergence"),
    ("ancona-identities", "attributions.reproduce.ancona_identities"),
    ("sanity-checks", "attributions.reproduce.sanity_checks"),
    ("roar", "attributions.reproduce.roar"),
])


def experiment(name: str) -> ModuleType:
    """The module of experiment `name`, imported now; UsageError listing the names otherwise."""
    if name not in EXPERIMENTS:
        raise UsageError(f"reproduce: unknown experiment {name!r}; choose from {', '.join(EXPERIMENTS)} or all")
    return importlib.import_module(EXPERIMENTS[name])


def _check_options(name, function, options):
    """Options the experiment's run() does not take are a usage error naming the option."""
    accepted = inspect.signature(function).parameters
    for option in options:
        if option not in accepted:
            takers = [n for n in EXPERIMENTS if option in inspect.signature(experiment(n).run).parameters]
            where = f"it applies to {', '.join(takers)}" if takers else "no experiment takes it"
            raise UsageError(f"--{option.replace('_', '-')}: not an option of {name}; {where}")


def run(name: str, quick: bool = False, out_dir: str = DEFAULT_OUT, **options: Any) -> Result:
    """Run experiment `name`, write out_dir/NAME.md (+ NAME.png) and the index; return its Result.

    quick   -- the short version (a few images, fewer steps): what the tests run; the page says so
    options -- passed to the experiment's run(): seed=, and its own (deeplift-digits: mnist=, model=)
    """
    module = experiment(name)
    options = {key: value for key, value in options.items() if value is not None}
    _check_options(name, module.run, options)
    started = time.perf_counter()
    result = module.run(quick=quick, **options)
    seconds = time.perf_counter() - started
    if not isinstance(result, Result) or result.name != name:
        raise TypeError(f"{EXPERIMENTS[name]}.run: expected a Result named {name!r}, got {result!r:.80}")
    flags = " --quick" if quick else ""
    flags += "".join(f" --{k.replace('_', '-')} {v}" for k, v in options.items())
    kind = "quick run (fewer images and steps than the full experiment)" if quick else "full run"
    note = f"{kind}: `python -m attributions reproduce {name}{flags}`, {seconds:.0f} s"
    write_page(out_dir, name, result.title, result.claim, result.source, markdown_table(result.table),
               result.verdict, figure=result.figure, details_md=result.details, run_note=note)
    write_index(out_dir, order=list(EXPERIMENTS))
    return result

"""`python -m attributions reproduce NAME`: published claims about attribution methods, re-measured.

(Placeholder for the framework built on branch reproduce-a; this branch only adds experiments.)
"""

from __future__ import annotations

import importlib

__all__ = ["EXPERIMENTS", "run"]

# name → module (imported only when that experiment runs)
EXPERIMENTS = {
    "sanity-checks": "attributions.reproduce.sanity_checks",
    "roar": "attributions.reproduce.roar",
}


def run(name, quick=False, out_dir="docs/reproductions", **options):
    """Run experiment `name`, write its page (NAME.md, NAME.png) into out_dir; returns the Result."""
    from .page import write_index, write_page

    if name not in EXPERIMENTS:
        raise ValueError(f"name: expected one of {', '.join(EXPERIMENTS)}, got {name!r}")
    result = importlib.import_module(EXPERIMENTS[name]).run(quick=quick, **options)
    write_page(result, out_dir)
    write_index(out_dir)
    return result

"""`python -m attributions reproduce NAME|all [--quick] [--out DIR] [--seed S]`: the subcommand.

    python -m attributions reproduce ig-convergence             # docs/reproductions/ig-convergence.md + .png
    python -m attributions reproduce all --quick --out /tmp/r   # every experiment, short, elsewhere
    python -m attributions reproduce deeplift-digits --mnist ~/mnist [--model lenet_mnist.npz]
    python -m attributions reproduce roar --scheduler tcp://10.0.0.5:8786   # its retrainings on a dask cluster

Each page is written when its experiment finishes, then the index (DIR.md next to DIR). Options
that only some experiments take (--mnist, --model) are a usage error with the others.
"""

from __future__ import annotations

import sys

import argparse

from ..app.errors import UsageError
from ..app.outputs import check_output_directory

__all__ = ["add_arguments", "run_command"]


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the reproduce options to an argparse (sub)parser."""
    from . import DEFAULT_OUT, EXPERIMENTS

    parser.add_argument("name", metavar="NAME", help=f"experiment: {', '.join(EXPERIMENTS)}, or all")
    parser.add_argument("--quick", action="store_true", help="a short run (a few images, fewer steps)")
    parser.add_argument("--out", metavar="DIR", default=DEFAULT_OUT,
                        help=f"directory of the pages (default: {DEFAULT_OUT}; the index is DIR.md)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice (default: 0)")
    parser.add_argument("--mnist", metavar="DIR", default=None,
                        help="deeplift-digits: run on MNIST from the four IDX files in DIR (nothing is downloaded)")
    parser.add_argument("--model", metavar="PATH", default=None,
                        help="deeplift-digits with --mnist: LeNet weights (.npz) for 1×28×28 MNIST; "
                             "without it a LeNet is trained on DIR's training set first")
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="roar: where its retrainings run: local (a dask LocalCluster, the default when dask is "
                             "installed), serial, or the address of a dask scheduler (tcp://host:8786)")
    parser.add_argument("--datasets", metavar="LIST", default=None,
                        help="roar: a comma-separated subset of its datasets (shapes,digits), for a shorter full run")
    return parser


def run_command(args: argparse.Namespace) -> int:
    """Run one experiment or all; print each verdict and the files written. 0 on success."""
    from . import EXPERIMENTS, run
    from .page import index_path

    names = list(EXPERIMENTS) if args.name == "all" else [args.name]
    if args.name != "all" and args.name not in EXPERIMENTS:
        raise UsageError(f"reproduce: unknown experiment {args.name!r}; choose from {', '.join(EXPERIMENTS)} or all")
    if args.name == "all" and (args.mnist or args.model):
        raise UsageError("--mnist/--model: give them with `reproduce deeplift-digits`, not with all")
    if args.name == "all" and (args.scheduler or args.datasets):
        raise UsageError("--scheduler/--datasets: give them with `reproduce roar`, not with all")
    check_output_directory(args.out)
    options = {"seed": args.seed, "mnist": args.mnist, "model": args.model, "scheduler": args.scheduler,
               "datasets": args.datasets}
    for name in names:
        print(f"reproduce {name} ...", file=sys.stderr, flush=True)
        result = run(name, quick=args.quick, out_dir=args.out, **options)
        print(f"{name}: {result.verdict}")
        print(f"wrote {args.out}/{name}.md" + (f" and {name}.png" if result.figure is not None else ""))
    print(f"wrote {index_path(args.out)}")
    return 0

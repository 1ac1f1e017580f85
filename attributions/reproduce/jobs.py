"""Independent jobs of an experiment, run in this process or on a dask.distributed cluster.

    with job_runner("local") as jobs:                 # "serial" | "local" | "tcp://host:8786"
        baseline = jobs.submit(train_model, spec)      # a dask Future, or the value itself
        scores = [jobs.submit(score, baseline, k) for k in range(10)]
        print(jobs.gather(scores))

Everything that schedules, moves data and balances work is dask's: `Client.submit` and
`Client.gather`. A future passed as an argument stays on the cluster and reaches the job as its
value, so a large result (a ranking of every training image) is not sent back and forth. The
serial runner calls each function at once, so the same code runs without dask.

scheduler:
- "serial": every job in this process, one after the other (no dask needed);
- "local": a `LocalCluster` on this machine: 2 worker processes with 1 thread each, and
  NUMBA_NUM_THREADS=1 in them, so two jobs use the two cores without oversubscribing them;
- an address ("tcp://10.0.0.5:8786"): the scheduler of an existing cluster; its workers need this
  package installed (`pip install -e ".[distributed]"`).

Jobs must be deterministic functions of their arguments (seeded): the numbers then do not
depend on where, or in which order, the jobs ran.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Union

__all__ = ["job_runner", "default_scheduler", "SCHEDULERS", "LOCAL_WORKERS"]

SCHEDULERS = ("serial", "local")  # or a scheduler address
LOCAL_WORKERS = 2


class _Serial:
    """The runner without dask: submit runs the job now; gather returns the values."""

    def submit(self, function, *args):
        return function(*args)

    def gather(self, results):
        return list(results)


class _Dask:
    def __init__(self, client):
        self.client = client

    def submit(self, function, *args):
        # pure=False: the jobs are deterministic, but hashing their large array arguments to
        # deduplicate them would cost more than it saves
        return self.client.submit(function, *args, pure=False)

    def gather(self, futures):
        return self.client.gather(list(futures))


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ImportError("scheduler: the dask scheduler needs dask.distributed: pip install -e \".[distributed]\" "
                          "(or pass scheduler='serial')") from None
    return distributed


def default_scheduler() -> str:
    """"local" when dask.distributed is installed, else "serial" (same numbers, one core)."""
    import importlib.util

    return "local" if importlib.util.find_spec("distributed") is not None else "serial"


@contextlib.contextmanager
def job_runner(scheduler: str = "local") -> Iterator[Union[_Serial, _Dask]]:
    """A runner with `submit(function, *args)` and `gather(results)`; see the module docstring."""
    if not isinstance(scheduler, str) or not scheduler:
        raise TypeError(f"scheduler: expected 'serial', 'local' or a scheduler address, got {scheduler!r}")
    if scheduler == "serial":
        yield _Serial()
        return
    if scheduler != "local" and "://" not in scheduler and ":" not in scheduler:
        raise ValueError(f"scheduler: expected 'serial', 'local' or an address like tcp://host:8786, got {scheduler!r}")
    distributed = _distributed()
    if scheduler == "local":
        with distributed.LocalCluster(n_workers=LOCAL_WORKERS, threads_per_worker=1, processes=True,
                                      dashboard_address=":0", env={"NUMBA_NUM_THREADS": "1"}) as cluster, \
                distributed.Client(cluster) as client:
            yield _Dask(client)
        return
    with distributed.Client(scheduler) as client:
        yield _Dask(client)

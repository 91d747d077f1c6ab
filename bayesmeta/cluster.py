"""The dask.distributed client of the package's parallel runs (`simulate`, `corpus`):
a local cluster of worker processes, or an existing scheduler beyond this machine."""

from __future__ import annotations

import os
import signal
from typing import Any

from bayesmeta.errors import InputError


def dask_client(
    workers: int | None, scheduler: str | None, processes: bool = True
) -> tuple[Any, Any]:
    """A dask.distributed ``(client, cluster)``: on the scheduler at ``scheduler`` (cluster
    None), else on a new LocalCluster of ``workers`` single-threaded workers (default: one
    per CPU). An unreachable scheduler is an `InputError`.

    Examples:
        Starting a cluster takes seconds, so it is not run as a doctest; the simulation and
        corpus tests use it (tests/simulate, tests/corpus).

        >>> from bayesmeta.cluster import dask_client
        >>> client, cluster = dask_client(2, None)  # doctest: +SKIP
    """
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="10s"), None
        except (OSError, TimeoutError) as e:
            raise InputError(f"cannot reach the dask scheduler {scheduler!r}: {e}") from None
    n = workers or os.cpu_count() or 1
    # Worker processes start with SIGINT ignored (Python keeps an inherited SIG_IGN), so a
    # Ctrl-C reaches only this process, which stops the cluster: one line, no worker
    # tracebacks; finished chunks stay on disk for resume.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=None,
            silence_logs=40,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    return Client(cluster), cluster

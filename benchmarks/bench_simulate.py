"""Simulation throughput: replicates per second per worker for each method, and the
speed-up of a whole (small) study from 1 to 2 dask workers (LocalCluster, processes).

Run: ``python benchmarks/bench_simulate.py [--reps N]``. Prints one line per method and the
wall times of the 1- and 2-worker runs (cluster start-up included and reported separately).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from bayesmeta.errors import ConvergenceError
from bayesmeta.simulate.replicate import classical, draw
from bayesmeta.simulate.run import run_study
from bayesmeta.simulate.spec import parse_spec

METHODS = ["FE", "DL-Wald", "REML-HKSJ", "PM-HKSJ", "review-rule"]


def study(reps: int, chunk: int) -> dict:
    return {
        "study": {"name": "bench", "seed": 1, "replicates": reps, "bayes_replicates": reps // 4,
                  "chunk_size": chunk, "methods": METHODS},
        "bayes": [{"name": "bayes", "tau_prior": "halfnormal(1)", "mu_prior": "normal(0, 10)"}],
        "scenarios": [{"name": "g", "k": [3, 10], "mu": 0.0, "tau": [0.0, 1.0], "tau_unit": "se",
                       "se": {"dist": "uniform", "low": 0.5, "high": 2.0}}],
    }  # fmt: skip


def per_method(reps: int) -> None:
    from bayesmeta.exact import NormalNormal

    spec = parse_spec(study(reps, reps))
    data = [draw(spec, sc, r) for sc in spec.scenarios for r in range(reps)]
    t0 = time.perf_counter()
    [draw(spec, sc, r) for sc in spec.scenarios for r in range(reps)]
    dt = time.perf_counter() - t0
    print(f"{'draw':12s} {len(data) / dt:9.0f} replicates/s per worker")
    for m in METHODS:
        t0 = time.perf_counter()
        for _, _, y, s in data:
            try:
                classical(m, y, s**2, 0.95)
            except ConvergenceError:  # counted as a failed fit in a study
                pass
        print(f"{m:12s} {len(data) / (time.perf_counter() - t0):9.0f} replicates/s per worker")
    sub = data[: max(len(data) // 8, 20)]
    t0 = time.perf_counter()
    for mu, _, y, s in sub:
        fit = NormalNormal(y, s, "halfnormal(1)", "normal(0, 10)")
        fit.mu.interval(0.95), fit.mu.median, fit.mu.cdf(mu)
    print(
        f"{'bayes exact':12s} {len(sub) / (time.perf_counter() - t0):9.0f} replicates/s per worker"
    )


def speedup(reps: int) -> None:
    """Wall time of the study on an already running 1- and 2-worker cluster (start-up
    excluded: the study is sent to the cluster through ``scheduler=``)."""
    from dask.distributed import LocalCluster

    walls: dict[int, float] = {}
    spec = parse_spec(study(reps, max(reps // 4, 1)))
    n_reps = len(spec.scenarios) * reps
    for n in (1, 2):
        t0 = time.perf_counter()
        with LocalCluster(n_workers=n, threads_per_worker=1, dashboard_address=None) as c:
            start = time.perf_counter() - t0
            with tempfile.TemporaryDirectory() as d:
                t0 = time.perf_counter()
                run_study(spec, Path(d), scheduler=c.scheduler_address, progress=False)
                walls[n] = time.perf_counter() - t0
        print(f"{n} worker(s): {walls[n]:6.1f} s wall for {n_reps} replicates x "
              f"{len(spec.all_methods)} methods ({n_reps / walls[n]:.0f} replicates/s; "
              f"cluster start-up {start:.1f} s not included)")  # fmt: skip
    print(f"speed-up 1 -> 2 workers: {walls[1] / walls[2]:.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=400, help="replicates per scenario (4 scenarios)")
    a = ap.parse_args()
    np.seterr(all="ignore")
    per_method(a.reps)
    speedup(a.reps)


if __name__ == "__main__":
    main()

"""Time ``bayesmeta corpus`` on a synthetic corpus and compare it with a loop over the
single-analysis API (prints figures; not a test).

    python benchmarks/bench_corpus.py [--n 20000] [--workers 2]

A long table of ``n`` analyses (k from 2 to 40, one scale-safe default prior each) is written
as Parquet; the command runs in a fresh process (start-up, reading, all columns, summary and
figures included) with ``--workers``. The loop baseline computes the same numbers for 200
analyses with `pool` (DL; REML + HKSJ + prediction interval), `NormalNormal` (median and
interval of mu and tau, P(mu > 0)) and `model_average`, scaled to ``n``. Printed: wall time
against the 20 s target, time per analysis, the speed-up, and the peak memory of the run
(the largest resident set of the process and its workers).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def corpus(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    k = rng.integers(2, 41, n)
    a = np.repeat(np.arange(n), k)
    s = rng.uniform(0.05, 1.0, a.size)
    mu = rng.normal(0, 0.5, n)[a]
    tau = rng.choice([0.0, 0.1, 0.3, 0.6], n)[a]
    y = mu + rng.normal(0, 1, a.size) * tau + rng.normal(0, 1, a.size) * s
    study = np.concatenate([np.arange(j) for j in k])
    ni = rng.integers(20, 500, a.size).astype(float)
    return pd.DataFrame({"analysis": [f"A{i:06d}" for i in a], "study": study, "yi": y,
                         "vi": s**2, "ni": ni})  # fmt: skip


def loop_seconds(df: pd.DataFrame, m: int) -> float:
    from bayesmeta.classical import pool
    from bayesmeta.errors import ConvergenceError
    from bayesmeta.exact import NormalNormal
    from bayesmeta.exact.averaging import model_average
    from bayesmeta.studies import StudyTable

    groups = list(df.groupby("analysis", sort=False))[:m]
    t0 = time.perf_counter()
    for _, g in groups:
        t = StudyTable.from_arrays(g["yi"], g["vi"], ni=g["ni"])
        pool(t, method="DL", tau2_ci=False)
        try:
            pool(t, method="REML", ci="hksj", tau2_ci=False)
        except ConvergenceError:  # the corpus reports NaN for it; the loop goes on
            pass
        f = NormalNormal.from_table(t)
        f.mu.median, f.mu.interval(0.95), f.tau.median, f.tau.interval(0.95), f.mu.cdf(0.0)
        model_average(t.yi, t.sei, n=t.ni, tau_prior=f.tau_prior.text)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    df = corpus(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "corpus.parquet"
        df.to_parquet(path, index=False)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bayesmeta.cli", "corpus", str(path), "--out",
                        str(Path(tmp) / "out"), "--workers", str(args.workers), "--quiet"],
                       check=True, capture_output=True)  # fmt: skip
        wall = time.perf_counter() - t0
        rows = len(pd.read_parquet(Path(tmp) / "out" / "analyses.parquet"))
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    m = 200
    single = loop_seconds(df, m) / m
    per = wall / args.n
    print(f"analyses                    {rows} ({len(df)} study rows)")
    print(f"bayesmeta corpus            {wall:6.1f} s wall, workers {args.workers} "
          f"(target <= 20 s) {'ok' if wall <= 20 else 'OVER TARGET'}")  # fmt: skip
    print(f"per analysis                {1e3 * per:6.2f} ms (single-analysis loop "
          f"{1e3 * single:.2f} ms)")  # fmt: skip
    print(f"speed-up                    {single / per:6.1f} x (target >= 10)")
    print(f"peak memory                 {peak:6.0f} MB (largest process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The batched exact engine against a loop over the single-analysis engine (prints figures;
not a test).

    python benchmarks/bench_batch.py [--n 2000]

A synthetic corpus of ``n`` analyses (k from 2 to 40, half-normal tau priors with one scale
per analysis): the time of `bayesmeta.exact.batch.batch_posterior` for all of them, the time
of `NormalNormal` with the same summaries on every 10th analysis (scaled up), the ratio, and
the largest relative difference between the two on the analyses both computed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bayesmeta.exact import NormalNormal
from bayesmeta.exact.batch import KEYS, TauPriors, batch_posterior


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    n = ap.parse_args().n
    rng = np.random.default_rng(1)
    ys, ss = [], []
    for _ in range(n):
        k = int(rng.integers(2, 41))
        s = rng.uniform(0.05, 1.0, k)
        ys.append(rng.normal(0.3, rng.choice([0.0, 0.1, 0.5]), k) + rng.normal(0, s))
        ss.append(s)
    sc = np.array([s.mean() for s in ss])
    t0 = time.perf_counter()
    out = batch_posterior(ys, ss, TauPriors.halfnormal(sc))
    t_batch = time.perf_counter() - t0
    idx = range(0, n, 10)
    worst = 0.0
    t0 = time.perf_counter()
    for i in idx:
        f = NormalNormal(ys[i], ss[i], f"halfnormal({float(sc[i])!r})")
        ref = [f.mu.median, f.mu.quantile(0.025), f.mu.quantile(0.975), f.tau.median,
               f.tau.quantile(0.025), f.tau.quantile(0.975), f.theta_new.quantile(0.025),
               f.theta_new.quantile(0.975), 1.0 - f.mu.cdf(0.0)]  # fmt: skip
        for key, want in zip(KEYS[:9], ref, strict=True):
            worst = max(worst, abs(out[key][i] - want) / max(abs(want), 1e-12))
    t_single = (time.perf_counter() - t0) * n / len(idx)
    print(f"analyses                       {n}")
    print(f"batched exact engine           {t_batch:7.2f} s ({1e3 * t_batch / n:.3f} ms each)")
    print(f"single-analysis loop (scaled)  {t_single:7.2f} s ({1e3 * t_single / n:.3f} ms each)")
    print(f"speed-up                       {t_single / t_batch:7.1f} x")
    print(f"largest relative difference    {worst:.1e}")


if __name__ == "__main__":
    main()

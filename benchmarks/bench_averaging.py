"""Speed of the exact Bayesian model averaging (prints figures; not a test).

    python benchmarks/bench_averaging.py [--n 300]

Fits `bayesmeta.exact.averaging.model_average` (four models, exact marginal likelihoods) to
``--n`` simulated data sets of k = 5 to 30 studies and prints data sets per second against
the target of 100 per second. R's RoBMA needs minutes per data set by its own vignette.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bayesmeta.exact.averaging import model_average


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    a = ap.parse_args()
    rng = np.random.default_rng(1)
    sets = []
    for _ in range(a.n):
        k = int(rng.integers(5, 31))
        s = rng.uniform(0.1, 0.5, k)
        sets.append((rng.normal(0.2, 0.1, k) + rng.normal(0, s), s))
    model_average(*sets[0], mu_prior="normal(0, 1)", tau_prior="halfnormal(0.5)")  # warm up
    t0 = time.perf_counter()
    for y, s in sets:
        model_average(y, s, mu_prior="normal(0, 1)", tau_prior="halfnormal(0.5)")
    dt = time.perf_counter() - t0
    rate = a.n / dt
    print(f"{a.n} data sets (k = 5..30) in {dt:.2f} s: {rate:.0f} per second "
          f"(target >= 100: {'ok' if rate >= 100 else 'UNDER TARGET'})")  # fmt: skip


if __name__ == "__main__":
    main()

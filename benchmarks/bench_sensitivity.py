"""Benchmark: prior sweeps of the review's 18 published rows through the exact engine.

:func:`bayesmeta.sensitivity.review.review_sweep` with n = 50: each of the 18 analyses (6
cell-type models on the published subgroup summaries, 12 single published summaries) swept
over 100 tau priors (halfnormal and halfcauchy, scales 0.1-2 times the review's tau-prior
scale) with the review's mu prior. Target: <= 5 s in total.

    /work/venv312/bin/python benchmarks/bench_sensitivity.py
"""

from __future__ import annotations

import time

from bayesmeta.sensitivity.review import review_analyses, review_sweep


def main() -> None:
    n_analyses = len(review_analyses())
    review_sweep(n=2)  # warm-up (imports, caches)
    start = time.perf_counter()
    res = review_sweep(n=50)
    elapsed = time.perf_counter() - start
    fits = res.drop_duplicates(["analysis", "tau_prior"]).shape[0]
    print(
        f"{n_analyses} analyses x 100 tau priors = {fits} exact fits in {elapsed:.2f} s "
        f"({1000 * elapsed / fits:.2f} ms per fit; target <= 5 s)"
    )


if __name__ == "__main__":
    main()

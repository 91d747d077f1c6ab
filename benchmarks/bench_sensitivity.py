"""Benchmark: prior sweeps of the review's 18 published rows through the exact engine.

The 6 overall rows are the review's cell-type models (the published subgroup summaries,
one estimate per cell type, as :func:`bayesmeta.review.celltype.fit_exact`); the 12
subgroup rows are single published summaries (k = 1). Each analysis is swept over 100 tau
priors, ``halfnormal`` and ``halfcauchy`` with scales 0.1-2 times the review's tau-prior
scale (n = 50 each), with the review's mu prior. Target: <= 5 s in total.

    /work/venv312/bin/python benchmarks/bench_sensitivity.py
"""

from __future__ import annotations

import time

import pandas as pd

from bayesmeta.review.published import analysis_stats
from bayesmeta.review.spec import load_spec
from bayesmeta.sensitivity import sweep


def analyses() -> list[tuple[str, pd.DataFrame, float, str]]:
    """(name, table, review tau-prior scale, review mu prior) for the 18 published rows."""
    spec = load_spec()
    out = []
    for disease, outcome in spec.groups():
        scale = float(spec.tau_prior_text(disease, outcome).split("(")[1].rstrip(")"))
        mu = spec.mu_prior_text(disease, outcome)
        subs = spec.subgroups(disease, outcome)
        stats = [analysis_stats(a, spec.level) for a in subs]
        cells = pd.DataFrame(
            {"study": [a.subgroup for a in subs], "yi": [s.md for s in stats],
             "sei": [s.se for s in stats]}
        )  # fmt: skip
        out.append((f"{disease}/{outcome}/cell-type model", cells, scale, mu))
        for a, s in zip(subs, stats, strict=True):
            one = pd.DataFrame({"study": [a.subgroup], "yi": [s.md], "sei": [s.se]})
            out.append((a.key, one, scale, mu))
    return out


def main() -> None:
    rows = analyses()
    start = time.perf_counter()
    n = 0
    for _name, table, scale, mu in rows:
        lo, hi = 0.1 * scale, 2.0 * scale
        res = sweep(table, [f"halfnormal({lo}..{hi}, n=50)", f"halfcauchy({lo}..{hi}, n=50)"], mu)
        n += len(res)
    elapsed = time.perf_counter() - start
    print(
        f"{len(rows)} analyses x 100 tau priors = {n} exact fits in {elapsed:.2f} s "
        f"({1000 * elapsed / n:.2f} ms per fit; target <= 5 s)"
    )


if __name__ == "__main__":
    main()

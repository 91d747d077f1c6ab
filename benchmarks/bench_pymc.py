"""Benchmark of the PyMC engine on the eight schools (Rubin 1981), printed as a table.

* cold fit: a fresh Python process (subprocess) that imports bayesmeta.hierarchical, builds,
  compiles (nutpie, numba) and samples once — wall time, and its ratio to the R anchor
  "brms compile 39 s" (the Stan model's C++ compilation alone);
* warm refit: a same-shape model with new data in the same process (cache hit, no
  recompilation);
* ESS per second: minimum bulk ESS over mu, tau, theta divided by the sampler's wall time;
* centred vs non-centred: divergences of the centred parameterisation (the funnel) against
  the non-centred default, at target_accept 0.8 (PyMC's default, the setting of the R-side
  anchor "centred 8-schools PyMC: 156 divergences") and at this package's default 0.99.

Priors mu ~ N(0, 5^2), tau ~ half-Cauchy(5); 4 chains x 1000 draws after 1000 tuning steps.
Run: ``python benchmarks/bench_pymc.py`` (about a minute on 2 cores).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import warnings

ANCHOR_BRMS_COMPILE_S = 39.0
ANCHOR_CENTRED_DIVERGENCES = 156
RUN = {"draws": 1000, "tune": 1000, "chains": 4, "seed": 20201}
PRIORS = {"mu_prior": "normal(0, 5)", "tau_prior": "halfcauchy(5)"}

COLD = """
import json, time
t0 = time.perf_counter()
from bayesmeta import datasets
from bayesmeta.hierarchical import BayesianMeta, MetaData
t_import = time.perf_counter() - t0
df = datasets.load("rubin1981")
data = MetaData.from_arrays(df["effect"], df["stderr"], study=df["school"])
bm = BayesianMeta(**{run}, **{priors}, warn=False).fit(data)
print(json.dumps({{"import": t_import, "total": time.perf_counter() - t0,
                  "sampling": bm.sampling_time_}}))
"""


def ess_per_second(bm) -> float:
    d = bm.diagnostics_
    return d["min_ess_bulk"] / bm.sampling_time_


def main() -> None:
    import numpy as np

    from bayesmeta import datasets
    from bayesmeta.hierarchical import BayesianMeta, MetaData, cache_info

    code = COLD.format(run=RUN, priors=PRIORS)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    cold_wall = time.perf_counter() - t0
    cold = json.loads(out.stdout.strip().splitlines()[-1])

    df = datasets.load("rubin1981")
    data = MetaData.from_arrays(df["effect"], df["stderr"], study=df["school"])
    moved = MetaData.from_arrays(df["effect"] + 3.0, df["stderr"] * 1.2, study=df["school"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = BayesianMeta(**RUN, **PRIORS).fit(data)  # compiles in this process
        t0 = time.perf_counter()
        warm = BayesianMeta(**RUN, **PRIORS).fit(moved)
        warm_wall = time.perf_counter() - t0
        compiled = cache_info()["compilations"]  # 1: the refit reused the first compilation
        div = {}
        for centred in (False, True):
            for ta in (0.8, 0.99):
                bm = BayesianMeta(**RUN, **PRIORS, centred=centred, target_accept=ta).fit(data)
                div[(centred, ta)] = (bm.diagnostics_["divergences"], ess_per_second(bm))
    assert warm.cache_hit_ and not first.cache_hit_

    rows = [
        ("cold fit, fresh process (s)", cold_wall),
        ("  of which import (s)", cold["import"]),
        ("  of which sampling (s)", cold["sampling"]),
        ("  ratio to brms compile 39 s", cold_wall / ANCHOR_BRMS_COMPILE_S),
        ("warm same-shape refit, total (s)", warm_wall),
        ("  of which sampling (s)", warm.sampling_time_),
        (
            "  cache hit / compilations after 2 fits",
            f"{warm.cache_hit_} / {compiled}",
        ),
        ("min bulk ESS per sampling second (warm)", ess_per_second(warm)),
        ("min bulk ESS per second of warm refit", warm.diagnostics_["min_ess_bulk"] / warm_wall),
    ]
    for (centred, ta), (n, eps) in sorted(div.items()):
        name = "centred" if centred else "non-centred"
        rows.append((f"{name}, target_accept {ta}: divergences", n))
        rows.append((f"{name}, target_accept {ta}: min bulk ESS/s", eps))
    n_centred = div[(True, 0.8)][0]
    rows.append(
        ("centred divergences vs anchor 156 (ratio)", n_centred / ANCHOR_CENTRED_DIVERGENCES)
    )
    width = max(len(r[0]) for r in rows)
    print(f"PyMC engine, eight schools, {RUN['chains']} chains x {RUN['draws']} draws")
    for label, value in rows:
        text = f"{value:.3f}" if isinstance(value, float) and not np.isnan(value) else str(value)
        print(f"{label:<{width}}  {text}")


if __name__ == "__main__":
    main()

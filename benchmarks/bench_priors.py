"""Time and accuracy of `bayesmeta.empirical.learn_priors` on simulated corpora (prints
figures; not a test).

    python benchmarks/bench_priors.py [--sizes 200,2000]

Each corpus has ``n`` analyses of 2-12 studies drawn from the Turner model with known
hyperparameters (m, s, a, b) = (-2.5, 1.3, 0.1, 0.3); one setting, held-out fraction 1/2
(so two fits: training half and all). Prints the wall time, the Pareto k, the posterior
mean +- SD of each hyperparameter against its true value, and the held-out scores.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from bayesmeta.corpus.sources import Analysis
from bayesmeta.empirical.learn import learn_priors

TRUTH = (-2.5, 1.3, 0.1, 0.3)


def corpus(n: int, seed: int) -> list[Analysis]:
    rng = np.random.default_rng(seed)
    m, s, a, b = TRUTH
    out = []
    for j in range(n):
        k = int(rng.integers(2, 13))
        tau = math.exp(rng.normal(m, s) / 2)
        v = rng.uniform(0.01, 0.3, k)
        y = rng.normal(rng.normal(a, b) + rng.normal(0, tau, k), np.sqrt(v))
        out.append(Analysis("sim", f"a{j}", f"a{j}", "sim", "OR", y, v))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="200,2000")
    sizes = [int(x) for x in ap.parse_args().sizes.split(",")]
    for n in sizes:
        data = corpus(n, n)
        t0 = time.perf_counter()
        res = learn_priors(data, draws=2000)
        dt = time.perf_counter() - t0
        s = res.settings["all"]
        assert s.fit is not None
        summ = s.fit.summary
        print(f"n = {n} analyses ({s.n_studies} studies): {dt:.1f} s, Pareto k "
              f"{s.fit.pareto_k:.2f}, ESS {s.fit.ess:.0f}")  # fmt: skip
        for p, t in zip("msab", TRUTH, strict=True):
            mean, sd = summ.loc[p, "mean"], summ.loc[p, "sd"]
            print(f"  {p}: {mean:.3f} +- {sd:.3f} (true {t}, z = {(mean - t) / sd:+.2f})")
        h = s.heldout
        print(f"  held-out ({h['n']}): lpd learned {h['lpd_learned']:.4f}, default "
              f"{h['lpd_default']:.4f}, turner {h['lpd_turner']:.4f}; learned - default "
              f"{h['learned_minus_default']:.4f} (SE {h['learned_minus_default_se']:.4f}); "
              f"PIT KS p {h['pit_ks_p']:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()

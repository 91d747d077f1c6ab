"""Larger simulation-based calibration (SBC) of the exact engine than the unit test runs.

For each setting, draw (mu, tau) from the prior, theta_i ~ N(mu, tau^2), y_i ~ N(theta_i, s_i^2),
fit the exact engine under the same prior, and record the posterior CDF at the truth (PIT).
A calibrated posterior gives uniform PITs: printed are the chi-square test on 20 bins, the KS
test, and the fits per second. Run: ``python benchmarks/bench_sbc.py [--reps 2000]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats

from bayesmeta.exact import NormalNormal
from bayesmeta.priors import parse_prior

SETTINGS = [
    # (k, standard errors, tau prior, mu prior)
    (3, [0.5, 1.0, 2.0], "halfnormal(0.5)", "normal(0, 4)"),
    (8, [0.3, 0.5, 0.8, 1.0, 1.2, 1.5, 2.0, 3.0], "halfcauchy(1)", "normal(0, 2)"),
    (2, [1.0, 1.0], "exponential(2)", "normal(0, 1)"),
]


def pit_test(pit: np.ndarray, bins: int = 20) -> tuple[float, float]:
    counts = np.histogram(pit, bins=bins, range=(0.0, 1.0))[0]
    return float(stats.chisquare(counts).pvalue), float(stats.kstest(pit, "uniform").pvalue)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20201)
    args = parser.parse_args()
    print(f"SBC of the exact engine, {args.reps} replicates per setting")
    print(
        f"{'k':>3} {'tau prior':<16} {'mu prior':<14} {'param':<5} {'chi2 p':>8} {'KS p':>8}"
        f" {'fits/s':>8}"
    )
    for j, (k, se, tau_text, mu_text) in enumerate(SETTINGS):
        rng = np.random.default_rng([args.seed, j])
        tau_p, mu_p = parse_prior(tau_text, "tau"), parse_prior(mu_text, "mu")
        s = np.asarray(se, dtype=float)
        pit = {"mu": np.empty(args.reps), "tau": np.empty(args.reps)}
        t0 = time.perf_counter()
        for r in range(args.reps):
            mu, tau = float(mu_p.rvs(1, rng)[0]), float(tau_p.rvs(1, rng)[0])
            y = rng.normal(rng.normal(mu, tau, k), s)
            fit = NormalNormal(y, s, tau_p, mu_p)
            pit["mu"][r] = float(fit.mu.cdf(mu))
            pit["tau"][r] = float(fit.tau.cdf(tau))
        rate = args.reps / (time.perf_counter() - t0)
        for name, values in pit.items():
            chi2_p, ks_p = pit_test(values)
            print(
                f"{k:>3} {tau_text:<16} {mu_text:<14} {name:<5} {chi2_p:>8.3f} {ks_p:>8.3f}"
                f" {rate:>8.0f}"
            )
    print("uniform PITs (p not small) = calibrated; p < 0.001 would flag a wrong posterior")


if __name__ == "__main__":
    main()

"""Larger simulation-based calibration (SBC) of the exact engine than the unit test runs.

For each setting, draw (mu, tau) from the prior, theta_i ~ N(mu, tau^2), y_i ~ N(theta_i, s_i^2),
fit the exact engine under the same prior, and record the posterior CDF at the truth (PIT).
A calibrated posterior gives uniform PITs: printed are the chi-square test on 20 bins, the KS
test, and the fits per second. Run: ``python benchmarks/bench_sbc.py [--reps 2000]``.

``--mcmc N`` adds the PyMC models that have no exact posterior, N simulated data sets each
(the tests run 50-60): the binomial-logit rate model (k = 8), the binomial-normal 2x2 model
(k = 6) and the step-function selection model with known selection (k = 12), truth drawn from
the priors they are fitted with; one compiled model serves all N fits of a model.
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
    parser.add_argument(
        "--mcmc",
        type=int,
        default=0,
        metavar="N",
        help="also N data sets for each PyMC model (binomial, selection)",
    )
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
    if args.mcmc:
        mcmc_sbc(args.mcmc, args.seed)
    print("uniform PITs (p not small) = calibrated; p < 0.001 would flag a wrong posterior")


def _binomial(rng: np.random.Generator, kind: str, k: int) -> dict[str, float]:
    from bayesmeta.hierarchical.binomial import BinomialMeta

    n = rng.integers(20, 80, size=k)
    mu, tau = rng.normal(0, 1), abs(rng.normal(0, 0.5))
    theta = mu + tau * rng.standard_normal(k)
    bm = BinomialMeta(kind, mu_prior="normal(0, 1)", tau_prior="halfnormal(0.5)",
                      baseline_prior="normal(-1, 1)", draws=250, tune=400, chains=2,
                      seed=int(rng.integers(1 << 30)))  # fmt: skip
    if kind == "rate":
        bm.fit(rng.binomial(n, 1 / (1 + np.exp(-theta))), n)
    else:
        alpha = rng.normal(-1, 1, size=k)
        bm.fit(rng.binomial(n, 1 / (1 + np.exp(-(alpha + theta)))), n,
               rng.binomial(n, 1 / (1 + np.exp(-alpha))), n)  # fmt: skip
    return {"mu": float(np.mean(bm.draws_of("mu") < mu)),
            "tau": float(np.mean(bm.draws_of("tau") < tau))}  # fmt: skip


def _selection(rng: np.random.Generator) -> dict[str, float]:
    from bayesmeta.classical.selection import simulate_selected
    from bayesmeta.hierarchical.selection import BayesianSelection

    v = np.linspace(0.02, 0.12, 12)
    mu, tau, omega = rng.normal(0, 0.5), abs(rng.normal(0, 0.3)), rng.uniform()
    y = simulate_selected(rng, mu, tau, [1.0, omega], v)
    bs = BayesianSelection((0.025,), mu_prior="normal(0, 0.5)", tau_prior="halfnormal(0.3)",
                           draws=200, tune=400, chains=2,
                           seed=int(rng.integers(1 << 30))).fit(y, v)  # fmt: skip
    return {"mu": float(np.mean(bs.draws_of("mu") < mu)),
            "tau": float(np.mean(bs.draws_of("tau") < tau)),
            "omega": float(np.mean(bs.draws_of("omega")[:, 1] < omega))}  # fmt: skip


def mcmc_sbc(reps: int, seed: int) -> None:
    """SBC of the PyMC models without an exact posterior (module docstring)."""
    import warnings

    warnings.simplefilter("ignore")
    models = {
        "binomial rates, k = 8": lambda rng: _binomial(rng, "rate", 8),
        "binomial-normal 2x2, k = 6": lambda rng: _binomial(rng, "2x2", 6),
        "selection (step at 0.025), k = 12": _selection,
    }
    print(f"SBC of the PyMC models, {reps} data sets each")
    for j, (name, one) in enumerate(models.items()):
        rng = np.random.default_rng([seed, 100 + j])
        t0 = time.perf_counter()
        rows = [one(rng) for _ in range(reps)]
        rate = reps / (time.perf_counter() - t0)
        for param in rows[0]:
            chi2_p, ks_p = pit_test(np.array([r[param] for r in rows]), bins=10)
            print(f"  {name:<36} {param:<6} chi2 p {chi2_p:6.3f}  KS p {ks_p:6.3f}  "
                  f"{rate:5.1f} fits/s")  # fmt: skip


if __name__ == "__main__":
    main()

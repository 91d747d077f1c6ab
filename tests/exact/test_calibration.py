"""Simulation-based calibration of the exact engine (Talts et al. 2018, arXiv:1804.06788).

Draw (mu, tau) from the prior, theta_i ~ N(mu, tau^2), y_i ~ N(theta_i, s_i^2) and a new
study's theta_new ~ N(mu, tau^2); if the posterior is right, the PIT values F(mu_true | y),
F(tau_true | y), F(theta_1 | y), F(theta_new | y) are Uniform(0, 1). Seeded, 400 replicates.
Each check: 10-bin histogram counts inside the two-sided binomial 99.9 % bounds (with a
Bonferroni split over the bins) and a KS test p-value > 1e-3.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bayesmeta.exact import NormalNormal
from bayesmeta.priors import parse_prior

N_REP = 400
BINS = 10


def _pits(tau_prior: str, mu_prior: str, k: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    tp, mp = parse_prior(tau_prior, "tau"), parse_prior(mu_prior, "mu")
    s = np.linspace(0.2, 0.7, k)
    out: dict[str, list[float]] = {"mu": [], "tau": [], "theta1": [], "theta_new": []}
    for _ in range(N_REP):
        mu, tau = float(mp.rvs(1, rng)[0]), float(tp.rvs(1, rng)[0])
        theta = rng.normal(mu, tau, k)
        y = rng.normal(theta, s)
        new = rng.normal(mu, tau)
        fit = NormalNormal(y, s, tp, mp)
        out["mu"].append(float(fit.mu.cdf(mu)))
        out["tau"].append(float(fit.tau.cdf(tau)))
        out["theta1"].append(float(fit.theta(0).cdf(theta[0])))
        out["theta_new"].append(float(fit.theta_new.cdf(new)))
    return {key: np.asarray(v) for key, v in out.items()}


def _assert_uniform(u: np.ndarray, what: str) -> None:
    counts = np.histogram(u, bins=BINS, range=(0.0, 1.0))[0]
    alpha = 1e-3 / BINS
    lo = stats.binom.ppf(alpha / 2, u.size, 1 / BINS)
    hi = stats.binom.isf(alpha / 2, u.size, 1 / BINS)
    assert np.all((counts >= lo) & (counts <= hi)), f"{what}: {counts} outside [{lo}, {hi}]"
    assert stats.kstest(u, "uniform").pvalue > 1e-3, what


@pytest.mark.parametrize(
    ("tau_prior", "mu_prior", "k", "seed"),
    [
        ("halfnormal(0.5)", "normal(0, 1)", 5, 11),
        ("lognormal(-1, 0.8)", "normal(0.5, 2)", 3, 12),
        ("halfcauchy(0.3)", "normal(0, 1)", 2, 13),
    ],
)
def test_posterior_is_calibrated(tau_prior, mu_prior, k, seed):
    pits = _pits(tau_prior, mu_prior, k, seed)
    for name, u in pits.items():
        _assert_uniform(u, f"{name} ({tau_prior}, {mu_prior}, k={k})")


def test_a_wrong_posterior_is_detected():
    """The check has power: a posterior computed with a 3x too wide tau prior fails it."""
    rng = np.random.default_rng(5)
    s = np.linspace(0.2, 0.7, 5)
    u = []
    for _ in range(N_REP):
        mu, tau = rng.normal(0, 1), abs(rng.normal(0, 0.5))
        y = rng.normal(rng.normal(mu, tau, 5), s)
        u.append(float(NormalNormal(y, s, "halfnormal(1.5)", "normal(0, 1)").tau.cdf(tau)))
    with pytest.raises(AssertionError):
        _assert_uniform(np.asarray(u), "tau with a wrong prior")

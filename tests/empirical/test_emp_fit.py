"""The hyperparameter posterior: recovery of known hyperparameters on simulated corpora of
200 and 2,000 analyses, simulation-based calibration (Talts et al. 2018), the predictive
prior's moments, and scale equivariance."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from bayesmeta.empirical.fit import HyperPriors, fit_hyper
from bayesmeta.empirical.likelihood import AnalysisTables
from bayesmeta.errors import InputError


def simulate(rng: np.random.Generator, J: int, m: float, s: float, a: float, b: float,
             nu: float | None = None, scale: float = 1.0) -> tuple[list, list]:  # fmt: skip
    """A corpus: J analyses of 2-12 studies, within-study variances 0.01-0.3 (x scale^2)."""
    z = rng.standard_normal(J) if nu is None else rng.standard_t(nu, J)
    tau = np.exp((m + s * z) / 2)
    mu = rng.normal(a, b, J)
    k = rng.integers(2, 13, J)
    v = [rng.uniform(0.01, 0.3, n) * scale**2 for n in k]
    y = [rng.normal(mu[j] + rng.normal(0, tau[j], k[j]), np.sqrt(v[j])) for j in range(J)]
    return y, v


@pytest.mark.slow
@pytest.mark.parametrize(
    ("J", "truth", "nu"),
    [
        (200, (-2.5, 1.3, 0.1, 0.3), None),
        (2000, (-2.5, 1.3, 0.1, 0.3), None),
        (2000, (-1.0, 0.8, -0.3, 0.1), None),
        (1000, (-3.0, 1.2, 0.0, 0.2), 5.0),
    ],
)
def test_recovers_known_hyperparameters(J: int, truth: tuple, nu: float | None) -> None:
    y, v = simulate(np.random.default_rng(J), J, *truth, nu=nu)
    fit = fit_hyper(AnalysisTables(y, v), HyperPriors.default(y, v), nu=nu, draws=1500)
    assert fit.pareto_k < 0.7
    summ = fit.summary
    for p, t in zip("msab", truth, strict=True):
        z = (summ.loc[p, "mean"] - t) / summ.loc[p, "sd"]
        assert abs(z) < 3.5, (p, summ.loc[p].to_dict(), t)  # within 3.5 posterior SDs


@pytest.mark.slow
def test_simulation_based_calibration() -> None:
    """Ranks of the true (m, s, a, b) among weighted posterior draws are uniform (KS p > 0.01
    for each of 4 parameters, 120 corpora of 30 analyses drawn from the hyperprior)."""
    hp = HyperPriors(m_mean=math.log(0.1), m_sd=1.5, s_scale=1.0, a_sd=0.5, b_scale=0.5)
    rng = np.random.default_rng(11)
    ranks = []
    for r in range(120):
        truth = (rng.normal(hp.m_mean, hp.m_sd), abs(rng.normal(0, hp.s_scale)),
                 rng.normal(0, hp.a_sd), abs(rng.normal(0, hp.b_scale)))  # fmt: skip
        y, v = simulate(rng, 30, *truth)
        fit = fit_hyper(AnalysisTables(y, v), hp, draws=800, seed=r)
        ranks.append([np.sum(fit.weights * (fit.draws[:, i] < t)) for i, t in enumerate(truth)])
    q = np.array(ranks)
    for i in range(4):
        assert stats.kstest(q[:, i], "uniform").pvalue > 0.01, "msab"[i]


def test_predictive_prior_is_the_mixture_moments() -> None:
    y, v = simulate(np.random.default_rng(3), 60, -2.0, 1.0, 0.1, 0.2)
    fit = fit_hyper(AnalysisTables(y, v), HyperPriors.default(y, v), draws=600)
    M, S = fit.predictive_log_tau2()
    rng = np.random.default_rng(0)
    d = rng.choice(fit.draws.shape[0], 200_000, p=fit.weights)
    u = rng.normal(fit.draws[d, 0], fit.draws[d, 1])
    assert M == pytest.approx(u.mean(), abs=0.02) and S == pytest.approx(u.std(), rel=0.01)
    assert fit.tau_prior_text() == f"tau2lognormal({M:.4g}, {S:.4g})"
    # the predictive CDF is the mixture CDF
    tau = np.exp(0.5 * np.quantile(u, [0.1, 0.5, 0.9]))
    np.testing.assert_allclose(fit.tau_cdf(tau), [0.1, 0.5, 0.9], atol=0.005)


def test_scale_equivariance() -> None:
    """y x 100: m moves by 2 log 100, a and b scale by 100, s and the weights stay."""
    y, v = simulate(np.random.default_rng(5), 40, -2.0, 1.0, 0.1, 0.2)
    c = 100.0
    f1 = fit_hyper(AnalysisTables(y, v), HyperPriors.default(y, v), draws=400, seed=1)
    y2, v2 = [x * c for x in y], [x * c * c for x in v]
    f2 = fit_hyper(AnalysisTables(y2, v2), HyperPriors.default(y2, v2), draws=400, seed=1)
    # same draws up to the optimiser's tolerance (its stopping point moves by ~1e-4)
    np.testing.assert_allclose(
        f2.draws[:, 0] - 2 * math.log(c), f1.draws[:, 0], rtol=1e-3, atol=2e-3
    )
    np.testing.assert_allclose(f2.draws[:, 1], f1.draws[:, 1], rtol=1e-3, atol=2e-3)
    np.testing.assert_allclose(f2.draws[:, 2:] / c, f1.draws[:, 2:], rtol=1e-3, atol=2e-3)
    assert f2.predictive_mu()[1] / c == pytest.approx(f1.predictive_mu()[1], rel=2e-3)


def test_too_few_draws() -> None:
    y, v = simulate(np.random.default_rng(5), 12, -2.0, 1.0, 0.1, 0.2)
    with pytest.raises(InputError, match="draws"):
        fit_hyper(AnalysisTables(y, v), HyperPriors.default(y, v), draws=10)

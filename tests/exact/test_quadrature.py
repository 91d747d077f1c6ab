"""The tau quadrature against independent adaptive quadrature (scipy.integrate.quad).

The reference integrates p(tau) L(tau) and the mixtures over u = log(tau) with QUADPACK
at epsrel = 1e-13, split at the posterior median +- 1, 3; it shares only the closed-form
integrand with the engine. Tolerance 1e-10 absolute on probabilities / normalised masses.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special

from bayesmeta.exact import NormalNormal

Y = np.array([-2.3097026, -0.4595323, -2.3025851, -1.7578579, -1.258461, -2.4178959])
S = np.sqrt([0.35937183, 0.30957602, 0.775, 0.20781609, 0.41215909, 2.3372623])
RNG = np.random.default_rng(1)
Y200 = RNG.normal(0.3, 0.2, 200)
S200 = RNG.uniform(0.05, 0.3, 200)
Y200 = Y200 + RNG.normal(0, S200)

CASES = {
    "halfnormal": (Y, S, "halfnormal(0.5)", "normal(0, 4)"),
    "flat-flat": (Y, S, "flat", "flat"),
    "jeffreys": (Y, S, "jeffreys", "flat"),
    "rhodes": (Y, S, "rhodes", "flat"),
    "turner": (Y, S, "turner", "normal(0, 4)"),
    "k1-halfcauchy": (Y[:1], S[:1], "halfcauchy(1)", "flat"),
    "k1-rhodes": (Y[:1], S[:1], "rhodes", "flat"),
    "k2": (Y[:2], S[:2], "halfnormal(1)", "flat"),
    "k200": (Y200, S200, "halfcauchy(1)", "flat"),
    "uniform": (Y, S, "uniform(0.2, 0.6)", "normal(0, 4)"),
    "prior-far-below-data": (Y, S, "lognormal(-8, 0.3)", "normal(0, 4)"),
    "huge-variances": (Y, S * 1e4, "halfnormal(0.5)", "normal(0, 4)"),
}


def _reference(fit: NormalNormal, fn, t_hi: float | None = None) -> float:
    """integral over tau in (support, t_hi) of fn(tau) p(tau|y), in u = log tau."""
    lo, hi = fit.tau.support
    ua = math.log(lo) if lo > 0 else -340.0
    ub = math.log(hi) if hi < np.inf else 340.0
    if t_hi is not None:
        ub = math.log(t_hi)
    um = math.log(fit.tau.median)
    brk = sorted({ua, ub, *[x for x in (um - 3, um - 1, um, um + 1, um + 3) if ua < x < ub]})
    c = fit.tau.log_norm

    def h(u: float) -> float:
        t = math.exp(u)
        lq = float(fit._logq(np.array([t]))[0])
        return math.exp(lq - c + u) * fn(t) if np.isfinite(lq) else 0.0

    return sum(
        integrate.quad(h, a, b, epsabs=0, epsrel=1e-13, limit=1000)[0]
        for a, b in zip(brk[:-1], brk[1:], strict=False)
    )


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")  # roundoff at 1e-13
@pytest.mark.parametrize("case", list(CASES))
def test_normalisation_cdf_and_mixture_match_adaptive_quadrature(case):
    y, s, tp, mp = CASES[case]
    fit = NormalNormal(y, s, tp, mp)
    assert _reference(fit, lambda t: 1.0) == pytest.approx(1.0, abs=1e-10)
    for p in (0.05, 0.5, 0.9):
        q = float(fit.tau.quantile(p))
        assert _reference(fit, lambda t: 1.0, t_hi=q) == pytest.approx(p, abs=1e-10)
    x0 = fit.mu.median

    def mucdf(t: float) -> float:
        m, v = fit.conditional_mu(np.array([t]))
        return float(special.ndtr((x0 - m[0]) / math.sqrt(v[0])))

    assert _reference(fit, mucdf) == pytest.approx(0.5, abs=1e-10)


@pytest.mark.parametrize("case", ["halfnormal", "jeffreys", "k1-halfcauchy", "uniform"])
def test_higher_order_rule_agrees(case):
    """Order 12 (default) vs order 24 panels: summaries agree to 1e-11."""
    y, s, tp, mp = CASES[case]
    a, b = NormalNormal(y, s, tp, mp), NormalNormal(y, s, tp, mp, order=24)
    for name in ("median", "mean"):
        ta, tb, ma, mb = (getattr(x, name) for x in (a.tau, b.tau, a.mu, b.mu))
        assert ta == pytest.approx(tb, rel=1e-11)  # inf == inf when the mean does not exist
        assert ma == pytest.approx(mb, rel=1e-11, abs=1e-14, nan_ok=True)
    assert a.tau.log_norm == pytest.approx(b.tau.log_norm, abs=1e-11)


def test_cdf_is_continuous_across_panel_edges_and_monotone():
    fit = NormalNormal(Y, S, "halfnormal(0.5)", "normal(0, 4)")
    edges = np.exp(fit.tau.edges[1:-1])
    jump = fit.tau.cdf(edges * (1 + 1e-12)) - fit.tau.cdf(edges * (1 - 1e-12))
    assert np.all(np.abs(jump) < 1e-11)
    t = np.geomspace(1e-6, 10, 500)
    assert np.all(np.diff(fit.tau.cdf(t)) >= -1e-16)
    np.testing.assert_allclose(fit.tau.cdf(t) + fit.tau.sf(t), 1.0, atol=1e-14)

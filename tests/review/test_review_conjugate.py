"""Conjugate normal re-analysis of a published estimate, checked by numerical integration."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from bayesmeta.review.conjugate import normal_update


def _numerical(y, se, m0, s0):
    """Posterior by quadrature of prior x likelihood: mean, sd and the cdf."""

    def f(t):
        return stats.norm.pdf(t, m0, s0) * stats.norm.pdf(y, t, se)

    c = 12 * max(se, s0)
    lo, hi = min(y, m0) - c, max(y, m0) + c
    pts = sorted({y, m0})

    def quad(g, upper=hi):
        inner = [p for p in pts if lo < p < upper] or None
        return integrate.quad(g, lo, upper, points=inner, epsabs=0, epsrel=1e-12, limit=500)[0]

    z = quad(f)
    mean = quad(lambda t: t * f(t)) / z
    var = quad(lambda t: (t - mean) ** 2 * f(t)) / z

    def cdf(x):
        return quad(f, x) / z

    return mean, np.sqrt(var), cdf


@pytest.mark.parametrize(
    "y, se, m0, s0",
    [
        (0.41, 0.1786, 0.0, 0.2492),
        (-35.76, 2.4057, -35.76, 21.7385),
        (-0.52, 0.4388, 0.0, 52.0),
        (-0.04, 0.0255, 0.0, 2.1033),
    ],
)
def test_posterior_matches_quadrature(y, se, m0, s0):
    """Mean and sd to 1e-7 relative, P(theta < 0) and the 97.5 % quantile to 1e-7."""
    post = normal_update(y, se, m0, s0)
    mean, sd, cdf = _numerical(y, se, m0, s0)
    assert post.mean == pytest.approx(mean, rel=1e-7, abs=1e-12)
    assert post.sd == pytest.approx(sd, rel=1e-7)
    assert post.prob_below(0.0) == pytest.approx(cdf(0.0), abs=1e-7)
    q = optimize.brentq(lambda x: cdf(x) - 0.975, mean - 10 * sd, mean + 10 * sd, xtol=1e-12)
    assert post.interval(0.95)[1] == pytest.approx(q, abs=1e-6 * sd)


def test_benefit_direction_and_threshold():
    post = normal_update(-0.87, 0.2551, 0.0, 1e4)
    assert post.prob_benefit(-1) == pytest.approx(stats.norm.cdf(0, -0.87, 0.2551), rel=1e-6)
    assert post.prob_benefit(+1) == pytest.approx(1 - post.prob_benefit(-1))
    assert post.prob_benefit(-1, beyond=0.5) == pytest.approx(
        stats.norm.cdf(-0.5, -0.87, 0.2551), rel=1e-6
    )


def test_vague_prior_returns_the_published_ci():
    """Prior sd 100 x D: posterior interval = MD +/- 1.96 SE to 1e-4 relative."""
    post = normal_update(-3.46, 1.3010, 0.0, 346.0)
    lo, hi = post.interval()
    assert (lo, hi) == pytest.approx((-6.01, -0.91), abs=2e-3)


def test_bad_input():
    with pytest.raises(ValueError):
        normal_update(0.0, 0.0, 0.0, 1.0)
    with pytest.raises(ValueError):
        normal_update(0.0, 1.0, 0.0, -1.0)

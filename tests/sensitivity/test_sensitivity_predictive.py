"""Prior predictive of theta_i - mu and I^2, checked against independent integrals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from bayesmeta.errors import InputError
from bayesmeta.priors import parse_prior
from bayesmeta.sensitivity.predictive import (
    abs_delta_cdf,
    delta_half_width,
    prior_predictive,
    typical_variance,
)


@pytest.mark.parametrize("h", [0.05, 0.3, 1.0, 4.0])
def test_halfnormal_product_of_normals(h):
    """tau ~ HN(s): theta - mu = s Z1 Z2, whose density is K0(|x|)/pi (product of two
    standard normals), so P(|delta| <= h) = (2/pi) int_0^{h/s} K0(x) dx. Tol 1e-8."""
    s = 0.7
    ref = 2.0 / math.pi * integrate.quad(special.k0, 0.0, h / s, limit=200)[0]
    assert abs_delta_cdf(parse_prior(f"halfnormal({s})", "tau"), h) == pytest.approx(ref, abs=1e-8)


@pytest.mark.parametrize(
    "text", ["halfcauchy(0.5)", "uniform(0.1, 2)", "lognormal(-1, 0.8)", "turner"]
)
def test_half_width_against_direct_integral(text):
    """Direct adaptive quadrature (scipy quad over log tau) at the returned half-width.
    Tol 1e-7 on the probability."""
    p = parse_prior(text, "tau")
    h = delta_half_width(p, 0.95)

    def f(v):  # integrand in v = log(tau)
        t = math.exp(v)
        return float(p.pdf(t)) * t * (2.0 * stats.norm.cdf(h / t) - 1.0)

    val = integrate.quad(f, -40.0, 40.0, limit=500, epsabs=1e-12)[0]
    assert val == pytest.approx(0.95, abs=1e-7)


def test_typical_variance_higgins_thompson():
    """s^2 = (k-1) sum w / ((sum w)^2 - sum w^2); equal variances give that variance."""
    assert typical_variance([0.2, 0.2, 0.2]) == pytest.approx(0.2, rel=1e-14)
    v = np.array([0.1, 0.2, 0.05, 0.4])
    w = 1 / v
    assert typical_variance(v) == pytest.approx(
        3 * w.sum() / (w.sum() ** 2 - (w**2).sum()), rel=1e-14
    )
    assert typical_variance([0.3]) == 0.3
    with pytest.raises(InputError):
        typical_variance([0.1, -1.0])


def test_table_columns_and_i2():
    out = prior_predictive(["halfnormal(0.2..0.4, n=2)", "flat"], [0.04, 0.04], level=0.9)
    assert list(out["tau_prior"]) == ["halfnormal(0.2)", "halfnormal(0.4)", "flat"]
    r = out.iloc[0]
    q50 = 0.2 * stats.halfnorm.ppf(0.5)
    assert r["prior_tau_median"] == pytest.approx(q50, rel=1e-12)
    assert r["prior_i2_median"] == pytest.approx(q50**2 / (q50**2 + 0.04), rel=1e-12)
    assert r["prior_i2_high"] == pytest.approx(
        (0.2 * stats.halfnorm.ppf(0.95)) ** 2 / ((0.2 * stats.halfnorm.ppf(0.95)) ** 2 + 0.04),
        rel=1e-12,
    )
    assert out.iloc[1]["prior_delta_half_width"] == pytest.approx(
        2 * r["prior_delta_half_width"], rel=1e-9
    )  # scale family
    assert np.isnan(out.iloc[2]["prior_delta_half_width"])  # improper: no prior predictive
    assert out.attrs["typical_variance"] == pytest.approx(0.04)

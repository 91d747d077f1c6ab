"""The empirical-prior forms of the grammar: log-normal and log-t on tau^2, inverse-gamma on
tau, Student-t on mu; against scipy.stats and the equivalent published forms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bayesmeta.errors import InputError
from bayesmeta.priors import parse_prior

X = np.array([0.01, 0.1, 0.3, 1.0, 4.0])


def test_tau2lognormal_is_turners_form() -> None:
    a, b = parse_prior("tau2lognormal(-2.56, 1.74)", "tau"), parse_prior("turner", "tau")
    np.testing.assert_allclose(a.logpdf(X), b.logpdf(X), rtol=1e-14)
    # tau^2 ~ lognormal(-2.56, 1.74)  <=>  p(tau) = 2 tau f(tau^2)
    ref = np.log(2 * X * stats.lognorm.pdf(X**2, s=1.74, scale=np.exp(-2.56)))
    np.testing.assert_allclose(a.logpdf(X), ref, rtol=1e-12)


def test_tau2logt_is_rhodes_form_and_any_df() -> None:
    a, b = parse_prior("tau2logt(5, -3.44, 2.59)", "tau"), parse_prior("rhodes", "tau")
    np.testing.assert_allclose(a.logpdf(X), b.logpdf(X), rtol=1e-14)
    c = parse_prior("tau2logt(3, -2, 1.5)", "tau")
    ref = stats.t.logpdf(np.log(X**2), 3, -2, 1.5) + np.log(2 / X)
    np.testing.assert_allclose(c.logpdf(X), ref, rtol=1e-12)
    np.testing.assert_allclose(c.cdf(X), stats.t.cdf(np.log(X**2), 3, -2, 1.5), rtol=1e-12)
    assert c.tail_power == -1 and c.tail_log_decay


def test_invgamma_and_student() -> None:
    p = parse_prior("invgamma(1.71, 0.4)", "tau")
    np.testing.assert_allclose(p.pdf(X), stats.invgamma.pdf(X, 1.71, scale=0.4), rtol=1e-12)
    np.testing.assert_allclose(p.cdf(X), stats.invgamma.cdf(X, 1.71, scale=0.4), rtol=1e-12)
    np.testing.assert_allclose(p.ppf([0.1, 0.5]), stats.invgamma.ppf([0.1, 0.5], 1.71, scale=0.4))
    m = parse_prior("t(4, 0.1, 0.5)", "mu")
    assert m.text == "student(4, 0.1, 0.5)"
    np.testing.assert_allclose(m.logpdf(X), stats.t.logpdf(X, 4, 0.1, 0.5), rtol=1e-12)
    np.testing.assert_allclose(m.ppf(0.9), stats.t.ppf(0.9, 4, 0.1, 0.5), rtol=1e-12)
    draws = m.rvs(20000, rng=1)
    assert abs(np.median(draws) - 0.1) < 0.02


@pytest.mark.parametrize(
    "text",
    ["tau2lognormal(0, -1)", "tau2logt(0, 0, 1)", "invgamma(1, 0)", "tau2lognormal(1)",
     "tau2lognormal(400, 1)"],
)  # fmt: skip
def test_bad_forms(text: str) -> None:
    with pytest.raises(InputError):
        parse_prior(text, "tau")


@pytest.mark.slow
def test_pymc_densities_equal_ours() -> None:
    import pymc as pm

    cases = (("invgamma(1.7, 0.4)", "tau"), ("tau2logt(4, -2, 1.2)", "tau"),
             ("tau2lognormal(-2, 1.2)", "tau"), ("student(4, 0.1, 0.5)", "mu"))  # fmt: skip
    for text, kind in cases:
        p = parse_prior(text, kind)  # type: ignore[arg-type]
        with pm.Model() as m:
            p.to_pymc("x")
        point = {"x_log__": np.log(0.3)} if kind == "tau" else {"x": 0.3}
        val = m.compile_logp(jacobian=False)(point)
        assert val == pytest.approx(float(p.logpdf(0.3)), rel=1e-8), text

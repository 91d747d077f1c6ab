"""Priors for nu (Student-t degrees of freedom) and r (pre/post correlation).

Densities against scipy.stats (1e-12) and normalisation by quadrature (1e-8).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from bayesmeta.errors import InputError
from bayesmeta.hierarchical.extra_priors import ShapePrior, parse_nu, parse_r
from bayesmeta.priors import Prior


def test_parse_nu_forms():
    assert parse_nu(4) == 4.0
    g = parse_nu("gamma(2, 0.1)")
    assert isinstance(g, ShapePrior) and g.text == "gamma(2, 0.1)"
    x = np.array([0.5, 4.0, 30.0])
    np.testing.assert_allclose(g.logpdf(x), stats.gamma(2, scale=10).logpdf(x), rtol=1e-12)
    e = parse_nu("exponential(0.1)")
    assert isinstance(e, Prior) and e.text == "exponential(0.1)"


@pytest.mark.parametrize(
    "bad", [0, -2, float("inf"), "gamma(2)", "gamma(-1, 1)", "jeffreys", "flat", True, None]
)
def test_parse_nu_rejects(bad):
    with pytest.raises(InputError):
        parse_nu(bad)


def test_parse_r_forms_and_normalisation():
    assert parse_r(0.5) == 0.5
    b = parse_r("beta(2, 3)")
    assert b.text == "beta(2, 3) on r"
    np.testing.assert_allclose(
        b.logpdf([0.2, 0.7]), stats.beta(2, 3).logpdf([0.2, 0.7]), rtol=1e-12
    )
    sym = parse_r("beta(2, 3)", "(r+1)/2")
    assert sym.text == "beta(2, 3) on (r+1)/2"
    total, _ = integrate.quad(lambda r: np.exp(sym.logpdf(r)), -1, 1)
    assert total == pytest.approx(1.0, abs=1e-8)
    draws = sym.rvs(20000, rng=1)
    assert draws.min() > -1 and draws.max() < 1
    assert draws.mean() == pytest.approx(2 * 2 / 5 - 1, abs=0.01)  # 2 E[Beta] - 1


@pytest.mark.parametrize("bad", [1.0, -1.0, "beta(0, 1)", "uniform(0, 1)", "beta(a, b)"])
def test_parse_r_rejects(bad):
    with pytest.raises(InputError):
        parse_r(bad)
    with pytest.raises(InputError, match="r_scale"):
        parse_r("beta(1, 1)", "fisher-z")

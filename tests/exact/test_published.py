"""Published numbers (Roever 2020, J Stat Softw 93(6); /work/shared/datasets/README.md).

Crins et al. (2014): log odds ratios of acute rejection (0.5 added to each cell of a table
with a zero cell), mu ~ N(0, 4^2), tau ~ half-normal(0.5), k = 6; JSS section 3.3:
``bayesmeta(crins.es, tau.prior=function(t) dhalfnormal(t, scale=0.5), mu.prior.mean=0,
mu.prior.sd=4)``. Rubin (1981) eight schools: ``bayesmeta(y, sigma,
tau.prior=function(t) dhalfcauchy(t, scale=25))`` (flat mu).

Tolerances (from the README): bayesmeta integrates p(tau | y) directly, so tau figures are
compared at 1e-6 relative (they are printed to 7 significant digits); mu, theta_new and the
shrunken effects come from its DIRECT normal mixture at the default delta = 0.01 /
epsilon = 1e-4, good to ~1e-3, so they are compared at 2e-3 relative. The tail probability
P(mu > 0) = 6.187e-5 is more sensitive: d log P / d mu = f(0)/P ~ 6 here, so a shift of the
mixture by 1e-3 sd(mu) changes P by 2 %; it is compared at 5 % relative, and to 1e-4 against
R at delta = 1e-5 in test_bayesmeta_r.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayesmeta._paths import data_dir
from bayesmeta.exact import NormalNormal
from conftest import load_fixture

DATA = data_dir()  # the shipped copies (identical to shared/datasets, tested in test_datasets)


def _crins() -> tuple[np.ndarray, np.ndarray, list[str]]:
    d = pd.read_csv(DATA / "crins2014.csv")
    a, n1 = d["exp.AR.events"].to_numpy(float), d["exp.total"].to_numpy(float)
    c, n2 = d["cont.AR.events"].to_numpy(float), d["cont.total"].to_numpy(float)
    b, dd = n1 - a, n2 - c
    zero = (a == 0) | (b == 0) | (c == 0) | (dd == 0)
    a, b, c, dd = (x + 0.5 * zero for x in (a, b, c, dd))
    return np.log(a * dd / (b * c)), np.sqrt(1 / a + 1 / b + 1 / c + 1 / dd), list(d["publication"])


@pytest.fixture(scope="module")
def crins() -> NormalNormal:
    y, s, lab = _crins()
    return NormalNormal(y, s, "halfnormal(0.5)", "normal(0, 4)", labels=lab)


def test_crins_tau(crins):
    assert crins.tau.median == pytest.approx(0.3445023, rel=1e-6)
    assert crins.tau.mean == pytest.approx(0.3810562, rel=1e-6)
    lo, hi = crins.tau.interval(0.95, "shortest")
    assert lo == 0.0
    assert hi == pytest.approx(0.8607193, rel=1e-6)


def test_crins_mu_prediction_and_shrinkage(crins):
    rel = 2e-3
    assert crins.mu.median == pytest.approx(-1.5734819, rel=rel)
    assert crins.mu.mean == pytest.approx(-1.5764365, rel=rel)
    assert crins.mu.sd == pytest.approx(0.3295301, rel=rel)
    lo, hi = crins.mu.interval(0.95, "shortest")
    assert lo == pytest.approx(-2.2311251, rel=rel)
    assert hi == pytest.approx(-0.9263075, rel=rel)
    assert crins.theta_new.median == pytest.approx(-1.5701653, rel=rel)
    assert crins.theta_new.sd == pytest.approx(0.5671855, rel=rel)
    assert crins.theta("Heffron (2003)").median == pytest.approx(-1.7411356, rel=rel)
    assert crins.mu.prob_above(0.0) == pytest.approx(6.187343e-05, rel=0.05)


def test_crins_reml_conditional():
    """mu | tau = tau_REML under a flat mu prior has the REML mean and SE (README):
    metafor rma(method="REML"): mu = -1.591513, SE = 0.3340882, tau = 0.4670268 (7 digits,
    so 1e-6 relative); and to 1e-10 with the full-precision REML tau from the fixture."""
    y, s, _ = _crins()
    fit = NormalNormal(y, s, "halfnormal(0.5)", "flat")
    m, v = fit.conditional_mu(0.4670268)
    assert m == pytest.approx(-1.591513, rel=1e-6)
    assert np.sqrt(v) == pytest.approx(0.3340882, rel=1e-6)
    reml = load_fixture("bayesmeta_fits.json")["reml"]
    m, v = fit.conditional_mu(np.sqrt(reml["tau2"]))
    assert m == pytest.approx(reml["estimate"], rel=1e-10)
    assert np.sqrt(v) == pytest.approx(reml["se"], rel=1e-10)


def test_rubin_eight_schools():
    d = pd.read_csv(DATA / "rubin1981.csv")
    fit = NormalNormal(d["effect"], d["stderr"], "halfcauchy(25)", "flat", labels=d["school"])
    assert fit.tau.median == pytest.approx(4.76877, rel=1e-6)
    assert fit.mu.median == pytest.approx(8.03827, rel=2e-3)
    assert fit.mu.mean == pytest.approx(8.06757, rel=2e-3)

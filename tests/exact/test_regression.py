"""NormalNormalRegression and subgroup_analysis: closed forms, reductions, R bmr() fixture.

R reference (tests/fixtures/bayesmeta_fits.json, "regressions", written by
tests/fixtures/make_bayesmeta_fixtures.R), e.g.
``bmr(y, sigma, X=cbind(daclizumab, basiliximab), tau.prior=function(t)
dhalfnormal(t, scale=0.5), beta.prior.mean=c(0,0), beta.prior.sd=c(4,4), delta=1e-5,
epsilon=1e-9)``; tau quantities come from R's direct integration (tolerance 1e-8 relative,
1e-7 for the SD), coefficient / contrast / prediction quantiles from its DIRECT mixture at
delta = 1e-5, which carries errors up to ~1e-5 in probability (see test_bayesmeta_r.py):
|F_ours(q_R(p)) - p| <= 1e-5 and quantiles within 3e-5 x posterior SD; SDs 1e-5 relative.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from bayesmeta.errors import InputError
from bayesmeta.exact import NormalNormal, NormalNormalRegression, subgroup_analysis
from conftest import load_fixture

Y = np.array([-2.3097026, -0.4595323, -2.3025851, -1.7578579, -1.258461, -2.4178959])
S = np.sqrt([0.35937183, 0.30957602, 0.775, 0.20781609, 0.41215909, 2.3372623])
G = ["d", "b", "d", "b", "b", "b"]
X2 = np.array([[1.0 if g == lv else 0.0 for lv in ("d", "b")] for g in G])


@pytest.mark.parametrize(
    ("tau_prior", "prior"), [("halfnormal(0.5)", "normal(0, 4)"), ("halfcauchy(1)", None)]
)
def test_intercept_only_equals_normal_normal(tau_prior, prior):
    reg = NormalNormalRegression(Y, S, np.ones(6), tau_prior, prior)
    nn = NormalNormal(Y, S, tau_prior, prior or "flat")
    assert reg.tau.median == pytest.approx(nn.tau.median, rel=1e-12)
    assert reg.beta(0).median == pytest.approx(nn.mu.median, rel=1e-12)
    assert reg.beta(0).sd == pytest.approx(nn.mu.sd, rel=1e-12)
    assert reg.predict([1.0]).interval(0.9) == pytest.approx(nn.theta_new.interval(0.9), rel=1e-11)
    lml, lml_nn = reg.log_marginal_likelihood, nn.log_marginal_likelihood
    assert lml == pytest.approx(lml_nn, rel=1e-12, nan_ok=True)


def test_log_likelihood_is_the_multivariate_normal_marginal():
    """beta ~ N(b0, S0) integrated out: y ~ N(X b0, V(tau) + X S0 X')."""
    b0, s0 = np.array([0.5, -1.0]), np.array([[4.0, 1.0], [1.0, 9.0]])
    reg = NormalNormalRegression(Y, S, X2, "exponential(1)", (b0, s0))
    tau = 0.6
    cov = np.diag(S**2 + tau**2) + X2 @ s0 @ X2.T
    ref = stats.multivariate_normal(X2 @ b0, cov).logpdf(Y)
    assert reg.log_likelihood(tau) == pytest.approx(ref, rel=1e-12)
    beta, bcov, _ = reg.conditional_beta(tau)
    # conditional posterior by the Gaussian conditioning formula
    joint_cov_yb = X2 @ s0
    gain = np.linalg.solve(cov, joint_cov_yb).T
    np.testing.assert_allclose(beta, b0 + gain @ (Y - X2 @ b0), rtol=1e-11)
    np.testing.assert_allclose(bcov, s0 - gain @ joint_cov_yb, rtol=1e-10)


def test_subgroup_analysis_contrasts_and_structure():
    res = subgroup_analysis(Y, S, G, "halfnormal(0.5)", "normal(0, 4)")
    reg = NormalNormalRegression(Y, S, X2, "halfnormal(0.5)", "normal(0, 4)", names=["d", "b"])
    assert set(res.subgroups) == {"d", "b"}
    assert res.subgroups["d"].k == 2 and res.subgroups["b"].k == 4
    assert res.subgroups["b"].estimate == pytest.approx(reg.beta("b").median, rel=1e-12)
    assert res.subgroups["d"].tau2 == pytest.approx(reg.tau.median**2, rel=1e-12)
    row = res.extra["contrasts"].iloc[0]
    diff = reg.linear([1, -1])
    assert row["contrast"] == "d - b"
    assert row["median"] == pytest.approx(diff.median, rel=1e-12)
    assert row["p_gt_0"] == pytest.approx(diff.prob_above(0.0), rel=1e-12)
    # top level: the study-weighted mean of the subgroup means (k_d = 2, k_b = 4), common tau
    assert res.estimate == pytest.approx(reg.linear([2 / 6, 4 / 6]).median, rel=1e-12)
    assert res.tau2 == pytest.approx(reg.tau.median**2, rel=1e-12)
    assert res.pi_low is None
    ignoring = res.extra["overall_ignoring_subgroups"]
    overall = NormalNormal(Y, S, "halfnormal(0.5)", "normal(0, 4)")
    assert ignoring.estimate == pytest.approx(overall.mu.median, rel=1e-12)
    one = subgroup_analysis(Y, S, ["all"] * 6, "halfnormal(0.5)", "normal(0, 4)")
    assert one.subgroups["all"].estimate == pytest.approx(one.estimate, rel=1e-12)


def test_regression_errors():
    with pytest.raises(InputError, match="rank 1 < 2"):
        NormalNormalRegression(Y, S, np.column_stack([np.ones(6), np.ones(6)]), "halfnormal(1)")
    with pytest.raises(InputError, match="one row per study"):
        NormalNormalRegression(Y, S, np.ones((5, 1)))
    with pytest.raises(InputError, match="needs 2 coefficients"):
        NormalNormalRegression(Y, S, X2).linear([1.0])
    with pytest.raises(InputError, match="no coefficient named"):
        NormalNormalRegression(Y, S, X2, names=["d", "b"]).beta("x")
    with pytest.raises(InputError, match="positive definite"):
        NormalNormalRegression(Y, S, X2, beta_prior=([0, 0], [[1, 2], [2, 1]]))
    with pytest.raises(InputError, match="needs at least 4 studies"):
        NormalNormalRegression(Y[:3], S[:3], X2[:3], "flat")
    with pytest.raises(InputError, match="subgroup labels"):
        subgroup_analysis(Y, S, G[:5])


def test_to_result():
    reg = NormalNormalRegression(Y, S, X2, "halfnormal(0.5)", "normal(0, 4)", names=["d", "b"])
    res = reg.to_result(0.9, "shortest")
    assert res.method == "normal-normal regression" and res.ci_method == "shortest"
    assert list(res.posterior.index) == ["d", "b", "tau"]
    assert res.estimate == pytest.approx(reg.beta("d").median)
    assert res.settings["beta_prior"] == "normal(0, 4)"
    assert res.posterior.loc["tau", "median"] == pytest.approx(reg.tau.median)


FIX = load_fixture("bayesmeta_fits.json")["regressions"]


@pytest.mark.parametrize("rec", FIX, ids=lambda r: r["name"])
def test_matches_r_bmr(rec):
    x = np.asarray(rec["X"], dtype=float)
    prior = None if rec["beta_prior"] == "flat" else rec["beta_prior"]
    reg = NormalNormalRegression(
        rec["y"], rec["sigma"], x, rec["tau_prior"], prior, names=rec["names"]
    )
    p = np.asarray(rec["p"])
    np.testing.assert_allclose(reg.tau.quantile(p), rec["tau"]["quantile"], rtol=1e-8)
    assert reg.tau.mean == pytest.approx(rec["tau"]["mean"], rel=1e-8)
    assert reg.tau.sd == pytest.approx(rec["tau"]["sd"], rel=1e-7)
    margs = [(reg.beta(j), b["quantile"]) for j, b in enumerate(rec["beta"])]
    margs += [(reg.linear(rec["contrast"]["c"]), rec["contrast"]["quantile"])]
    margs += [(reg.predict(rec["prediction"]["x"]), rec["prediction"]["quantile"])]
    for m, q in margs:
        np.testing.assert_allclose(m.cdf(q), p, rtol=0, atol=1e-5)
        np.testing.assert_allclose(m.quantile(p), q, rtol=0, atol=3e-5 * m.sd)
    for j, b in enumerate(rec["beta"]):
        assert reg.beta(j).mean == pytest.approx(b["mean"], abs=3e-5 * reg.beta(j).sd)
        assert reg.beta(j).sd == pytest.approx(b["sd"], rel=1e-5)
    bf = rec["bayesfactor_tau0"]
    if bf is None:
        assert math.isnan(reg.bayes_factor_tau0())
    else:
        assert reg.bayes_factor_tau0() == pytest.approx(bf, rel=1e-7)

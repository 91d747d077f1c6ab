"""NormalNormal: closed forms, edge cases (k = 1, 2, tau at 0, huge variances), errors.

Every reference here is independent of the engine's quadrature: a closed form, a
one-dimensional scipy quad, a property that must hold exactly (shift invariance), or the
prior itself when the data carry no information.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from bayesmeta.errors import InputError
from bayesmeta.exact import NormalNormal
from bayesmeta.priors import parse_prior
from bayesmeta.results import MetaResult

Y = np.array([-2.3097026, -0.4595323, -2.3025851, -1.7578579, -1.258461, -2.4178959])
S = np.sqrt([0.35937183, 0.30957602, 0.775, 0.20781609, 0.41215909, 2.3372623])
LABELS = ["Heffron", "Gibelli", "Schuller", "Ganschow", "Spada", "Gras"]


@pytest.fixture(scope="module")
def crins() -> NormalNormal:
    return NormalNormal(Y, S, "halfnormal(0.5)", "normal(0, 4)", labels=LABELS)


def test_conditional_moments_closed_form(crins):
    """mu | tau, y and theta_i | tau, y are the textbook precision-weighted normals."""
    tau = 0.37
    w = 1 / (S**2 + tau**2)
    prec = w.sum() + 1 / 16
    mean = (w @ Y + 0 / 16) / prec
    m, v = crins.conditional_mu(tau)
    assert m == pytest.approx(mean, rel=1e-14) and v == pytest.approx(1 / prec, rel=1e-14)
    # log L(tau) = log N(y | 0 * 1, diag(s^2 + tau^2) + 16 * 11')
    cov = np.diag(S**2 + tau**2) + 16.0
    ll = stats.multivariate_normal(np.zeros(6), cov).logpdf(Y)
    assert crins.log_likelihood(tau) == pytest.approx(ll, rel=1e-13)


def test_theta_mixture_components_match_joint_normal(crins):
    """theta_1 | tau, y from the 7-variate normal (mu, theta) | tau, y by direct algebra."""
    tau = 0.42
    # precision of (mu, theta_1..k) given tau: prior mu ~ N(0, 16), theta_i ~ N(mu, tau^2)
    k = Y.size
    q = np.zeros((k + 1, k + 1))
    q[0, 0] = 1 / 16 + k / tau**2
    q[0, 1:] = q[1:, 0] = -1 / tau**2
    q[1:, 1:] = np.diag(1 / tau**2 + 1 / S**2)
    cov = np.linalg.inv(q)
    mean = cov @ np.concatenate([[0.0], Y / S**2])
    t2 = tau**2
    b = S[0] ** 2 / (S[0] ** 2 + t2)
    m, v = crins.conditional_mu(tau)
    assert Y[0] - b * (Y[0] - m) == pytest.approx(mean[1], rel=1e-13)
    assert b * t2 + b**2 * v == pytest.approx(cov[1, 1], rel=1e-12)
    assert m == pytest.approx(mean[0], rel=1e-13) and v == pytest.approx(cov[0, 0], rel=1e-12)


def test_marginals_are_consistent(crins):
    for marg in (crins.tau, crins.mu, crins.theta_new, crins.theta("Gras"), crins.theta(0)):
        q = marg.quantile([0.01, 0.3, 0.5, 0.975])
        np.testing.assert_allclose(marg.cdf(q), [0.01, 0.3, 0.5, 0.975], rtol=1e-12)
        np.testing.assert_allclose(marg.cdf(q) + marg.sf(q), 1.0, atol=1e-15)
        lo, hi = marg.interval(0.9, "shortest")
        assert float(marg.cdf(hi) - marg.cdf(lo)) == pytest.approx(0.9, abs=1e-12)
        if lo > 0:  # equal density at both ends unless the interval starts at tau = 0
            assert float(marg.pdf(lo)) == pytest.approx(float(marg.pdf(hi)), rel=1e-8)
        lo_c, hi_c = marg.interval(0.9, "central")
        assert hi - lo <= hi_c - lo_c + 1e-12
        # mode is a maximum of the density
        m = marg.mode
        assert marg.pdf(m) >= marg.pdf(m + 1e-3) and marg.pdf(m) >= marg.pdf(max(m - 1e-3, 0))
    assert crins.theta(-1).median == crins.theta("Gras").median


def test_moments_match_quad(crins):
    """E[mu], sd(mu), E[tau] by nested scipy quad over the exact posterior density."""
    t = crins.tau
    mean_tau = integrate.quad(lambda x: x * float(t.pdf(x)), 0, np.inf, epsabs=0, epsrel=1e-12)[0]
    assert t.mean == pytest.approx(mean_tau, rel=1e-10)
    mu = crins.mu
    lo, hi = mu.quantile([1e-12, 1 - 1e-12])
    m1 = integrate.quad(lambda x: x * float(mu.pdf(x)), lo, hi, epsabs=0, epsrel=1e-12)[0]
    m2 = integrate.quad(lambda x: (x - m1) ** 2 * float(mu.pdf(x)), lo, hi, epsrel=1e-12)[0]
    assert mu.mean == pytest.approx(m1, rel=1e-10)
    assert mu.sd == pytest.approx(math.sqrt(m2), rel=1e-9)


def test_bayes_factor_mu0_equals_savage_dickey(crins):
    """p(y | mu=0)/p(y) = p(mu=0 | y)/p(mu=0) when tau and mu are a priori independent."""
    sd = float(crins.mu.pdf(0.0)) / stats.norm.pdf(0.0, 0, 4)
    assert crins.bayes_factor_mu0() == pytest.approx(sd, rel=1e-8)
    assert crins.bayes_factor_mu0("minimum") <= crins.bayes_factor_mu0() * 1.0001
    assert crins.bayes_factor_tau0("minimum") <= 1.0


def test_k1_posterior_of_tau_is_prior_with_flat_mu():
    """k = 1, flat mu: L(tau) is constant, so p(tau | y) = p(tau) and mu | tau ~ N(y, s^2+tau^2)."""
    prior = parse_prior("halfnormal(2)", "tau")
    fit = NormalNormal([1.3], [0.8], prior, "flat")
    x = np.array([0.1, 0.7, 2.0, 5.0])
    np.testing.assert_allclose(fit.tau.cdf(x), prior.cdf(x), rtol=1e-12)
    assert fit.tau.median == pytest.approx(float(prior.ppf(0.5)), rel=1e-12)

    def mucdf(m):
        return integrate.quad(
            lambda t: stats.norm.cdf(m, 1.3, math.sqrt(0.64 + t * t)) * float(prior.pdf(t)),
            0,
            np.inf,
            epsrel=1e-12,
        )[0]

    assert float(fit.mu.cdf(0.2)) == pytest.approx(mucdf(0.2), abs=1e-11)
    assert math.isnan(fit.log_marginal_likelihood)  # flat mu prior: p(y) undefined


def test_k1_normal_mu_marginal_likelihood_closed_form():
    """p(y) = integral N(y | m0, s0^2 + s^2 + tau^2) p(tau) dtau for k = 1."""
    prior = parse_prior("exponential(1.5)", "tau")
    fit = NormalNormal([0.4], [0.3], prior, "normal(0.1, 0.5)")
    ref = integrate.quad(
        lambda t: stats.norm.pdf(0.4, 0.1, math.sqrt(0.25 + 0.09 + t * t)) * float(prior.pdf(t)),
        0,
        np.inf,
        epsrel=1e-13,
    )[0]
    assert fit.log_marginal_likelihood == pytest.approx(math.log(ref), abs=1e-11)
    l0 = stats.norm.logpdf(0.4, 0.1, math.sqrt(0.34))
    assert fit.bayes_factor_tau0() == pytest.approx(math.exp(l0) / ref, rel=1e-10)


def test_heavy_tailed_posterior_reports_missing_moments():
    """k = 1, flat mu, half-Cauchy: p(tau|y) is half-Cauchy, E[tau] = inf, E[mu] undefined."""
    fit = NormalNormal([0.2], [0.5], "halfcauchy(1)", "flat")
    assert fit.tau.mean == math.inf and fit.tau.sd == math.inf
    assert math.isnan(fit.mu.mean) and fit.mu.sd == math.inf
    assert fit.theta(0).sd < 1.0  # the study effect keeps finite moments
    res = fit.to_result()
    assert res.warnings and "heavy tail" in res.warnings[0]
    assert res.estimate == pytest.approx(0.2, abs=1e-12)  # symmetric around y
    # k = 3 with the same prior: tail tau^-4, moments up to order 2 exist
    fit3 = NormalNormal([0.2, 0.5, -0.1], [0.5, 0.4, 0.6], "halfcauchy(1)", "flat")
    assert np.isfinite(fit3.tau.mean) and np.isfinite(fit3.mu.sd)


@pytest.mark.parametrize(
    ("tau_prior", "mu_prior", "k_bad", "kmin"),
    [("flat", "flat", 2, 3), ("flat", "normal(0, 1)", 1, 2), ("jeffreys", "flat", 1, 2)],
)
def test_improper_posterior_is_an_input_error(tau_prior, mu_prior, k_bad, kmin):
    with pytest.raises(InputError, match=f"needs at least {kmin} studies") as info:
        NormalNormal(Y[:k_bad], S[:k_bad], tau_prior, mu_prior)
    assert "\n" not in str(info.value)
    NormalNormal(Y[:kmin], S[:kmin], tau_prior, mu_prior)  # one more study is fine


def test_tau_at_zero():
    """Identical estimates: tau's posterior is highest at 0 (mode 0, shortest from 0)."""
    fit = NormalNormal([0.5, 0.5, 0.5, 0.5], [0.1, 0.2, 0.15, 0.1], "halfnormal(0.5)", "flat")
    assert fit.tau.mode == 0.0
    lo, hi = fit.tau.interval(0.95, "shortest")
    assert lo == 0.0 and hi == pytest.approx(float(fit.tau.quantile(0.95)), rel=1e-14)
    assert float(fit.tau.cdf(0.0)) == 0.0 and float(fit.tau.pdf(0.0)) > 0
    assert fit.mu.median == pytest.approx(0.5, abs=1e-12)


def test_rhodes_prior_diverges_at_zero_mode_is_zero():
    fit = NormalNormal(Y, S, "rhodes", "flat")
    assert fit.tau.mode == 0.0 and fit.tau.pdf(0.0) == np.inf
    assert fit.tau.interval(0.95, "shortest")[0] == 0.0


def test_huge_variances_return_the_prior():
    """s_i = 1e6: the data say nothing, so mu ~ N(0, 4) and tau ~ halfnormal(0.5)."""
    fit = NormalNormal(Y, np.full(6, 1e6), "halfnormal(0.5)", "normal(0, 4)")
    assert fit.mu.sd == pytest.approx(4.0, rel=1e-6)
    assert fit.mu.median == pytest.approx(0.0, abs=1e-5)
    hn = parse_prior("halfnormal(0.5)", "tau")
    np.testing.assert_allclose(
        fit.tau.quantile([0.1, 0.5, 0.9]), hn.ppf([0.1, 0.5, 0.9]), rtol=1e-6
    )


def test_one_huge_variance_study_is_ignored():
    base = NormalNormal(Y[:5], S[:5], "halfnormal(0.5)", "normal(0, 4)")
    more = NormalNormal(
        np.append(Y[:5], 40.0), np.append(S[:5], 1e8), "halfnormal(0.5)", "normal(0, 4)"
    )
    assert more.mu.median == pytest.approx(base.mu.median, rel=1e-10)
    assert more.tau.median == pytest.approx(base.tau.median, rel=1e-10)
    assert more.theta(5).median == pytest.approx(base.theta_new.median, rel=1e-8)


def test_shift_and_scale_invariance():
    """y -> a y + b with s -> a s, mu prior and tau prior scaled alike: summaries map."""
    a, b = 3.0, -7.0
    f1 = NormalNormal(Y, S, "halfcauchy(0.5)", "normal(1, 4)")
    f2 = NormalNormal(a * Y + b, a * S, "halfcauchy(1.5)", f"normal({a * 1 + b}, {a * 4})")
    assert f2.mu.median == pytest.approx(a * f1.mu.median + b, rel=1e-11)
    assert f2.tau.median == pytest.approx(a * f1.tau.median, rel=1e-11)
    assert f2.theta(2).sd == pytest.approx(a * f1.theta(2).sd, rel=1e-10)
    assert f2.theta_new.interval(0.9, "shortest")[1] == pytest.approx(
        a * f1.theta_new.interval(0.9, "shortest")[1] + b, rel=1e-9
    )


def test_to_result_contract(crins):
    res = crins.to_result(level=0.9, interval="shortest")
    assert isinstance(res, MetaResult)
    assert (res.engine, res.method, res.ci_method, res.k, res.level) == (
        "exact",
        "normal-normal",
        "shortest",
        6,
        0.9,
    )
    assert res.estimate == pytest.approx(crins.mu.median, rel=1e-14)
    assert res.se == pytest.approx(crins.mu.sd, rel=1e-14)
    assert (res.ci_low, res.ci_high) == pytest.approx(crins.mu.interval(0.9, "shortest"))
    assert res.tau2 == pytest.approx(crins.tau.median**2, rel=1e-14)
    lo, hi = crins.tau.interval(0.9, "shortest")
    assert (res.tau2_ci_low, res.tau2_ci_high) == pytest.approx((lo**2, hi**2))
    assert (res.pi_low, res.pi_high) == pytest.approx(crins.theta_new.interval(0.9, "shortest"))
    assert list(res.posterior.index) == ["mu", "tau", "theta_new"]
    assert list(res.posterior.columns) == ["mean", "sd", "median", "ci_low", "ci_high"]
    assert list(res.studies["study"]) == LABELS
    assert res.studies.loc[5, "median"] == pytest.approx(crins.theta("Gras").median, rel=1e-12)
    assert res.settings == {
        "mu_prior": "normal(0, 4)",
        "tau_prior": "halfnormal(0.5)",
        "interval": "shortest",
        "computation": "exact 1-D quadrature",
        "weight": "posterior mean of the inverse-variance weights (R bayesmeta $weights)",
    }
    assert "tau_prior=halfnormal(0.5)" in res.describe()
    assert res.to_dict()["estimate"] == pytest.approx(crins.mu.median)
    assert res.extra["log_marginal_likelihood"] == pytest.approx(crins.log_marginal_likelihood)
    central = crins.to_result()
    assert central.ci_method == "central" and central.level == 0.95


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (([1.0, 2.0], [0.1]), "yi has 2 values but sei has 1"),
        (([1.0, np.nan], [0.1, 0.2]), "row 2, column 'yi'"),
        (([1.0, 2.0], [0.1, 0.0]), "row 2, column 'sei': standard error must be > 0"),
        (([1.0, 2.0], [0.1, -1.0]), "must be > 0"),
        (([], []), "no studies"),
        ((["a"], [0.1]), "must be numbers"),
    ],
)
def test_bad_data_gives_input_errors(args, fragment):
    with pytest.raises(InputError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        NormalNormal(*args, tau_prior="halfnormal(1)", mu_prior="flat")


def test_bad_requests_give_input_errors(crins):
    with pytest.raises(InputError, match="no study labelled"):
        crins.theta("nobody")
    with pytest.raises(InputError, match="out of range"):
        crins.theta(6)
    with pytest.raises(InputError, match="credible level"):
        crins.mu.interval(1.5)
    with pytest.raises(InputError, match="interval kind"):
        crins.to_result(interval="hpd")
    with pytest.raises(InputError, match="labels"):
        NormalNormal(Y, S, labels=["a"])
    with pytest.raises(InputError, match="not a prior for mu"):
        NormalNormal(Y, S, mu_prior="halfnormal(1)")


def test_improper_priors_have_no_evidence():
    fit = NormalNormal(Y, S, "flat", "flat")
    assert math.isnan(fit.log_marginal_likelihood)
    assert math.isnan(fit.bayes_factor_tau0()) and math.isnan(fit.bayes_factor_mu0())
    fit2 = NormalNormal(Y, S, "halfnormal(0.5)", "flat")
    assert math.isnan(fit2.bayes_factor_tau0()) and math.isnan(fit2.bayes_factor_mu0())
    assert fit2.bayes_factor_mu0("minimum") > 0  # needs only a proper tau prior


def test_shortest_from_a_given_start_is_the_same_interval():
    """NormalMixture.shortest(start=(a, b)) converges to the interval it finds from the central
    one (rel. 1e-12), from a rough start too; a start with a >= b is refused."""
    from bayesmeta import datasets

    d = datasets.load("rubin1981")
    fit = NormalNormal(d["effect"], d["stderr"], "halfcauchy(25)", "flat")
    mix, row = fit.mu.mixture, fit.mu.row
    ref = mix.shortest([row], 0.95)
    for start in (tuple(fit.mu.quantile([0.025, 0.975])), (-5.0, 20.0)):
        got = mix.shortest([row], 0.95, start=start)
        np.testing.assert_allclose(np.ravel(got), np.ravel(ref), rtol=1e-12)
    with pytest.raises(ValueError, match="a < b"):
        mix.shortest([row], 0.95, start=(3.0, 1.0))


def test_hard_tau_bound_against_direct_quadrature_and_r():
    """Snedecor & Cochran, tau ~ U(0, 40), mu flat. R 3.4:
    bayesmeta(y = sc$mean, sigma = sqrt(sc$var), tau.prior = function(t) dunif(t, 0, 40))
    gives tau mean 11.715445168, sd 6.728249849, median 10.425994604 (matched here to 1e-8),
    and mu mean 54.504204, sd 6.083976, which a direct SciPy quadrature shows to be off by
    1.5e-3 relative in sd(mu) (R's mixture grid misses the bound); mu is checked against the
    direct quadrature to 1e-8 relative."""
    y = np.array([41.2, 64.5, 56.3, 39.6, 67.1, 53.2])
    v = np.array([35.14, 30.25, 18.99, 101.06, 38.64, 27.72])
    fit = NormalNormal(y, np.sqrt(v), tau_prior="uniform(0, 40)", mu_prior="flat")
    assert fit.tau.mean == pytest.approx(11.715445168, rel=1e-8)
    assert fit.tau.sd == pytest.approx(6.728249849, rel=1e-8)
    assert fit.tau.median == pytest.approx(10.425994604, rel=1e-8)

    def cond(t: float) -> tuple[float, float, float]:  # log p(y | tau), E(mu | tau), var
        w = 1 / (v + t * t)
        m = float((w * y).sum() / w.sum())
        logp = 0.5 * np.log(w).sum() - 0.5 * np.log(w.sum()) - 0.5 * (w * (y - m) ** 2).sum()
        return float(logp), m, float(1 / w.sum())

    c = cond(8.5)[0]

    def quad(g) -> float:
        f = lambda t: g(t) * math.exp(cond(t)[0] - c)  # noqa: E731
        return integrate.quad(f, 0, 40, limit=500, epsabs=0, epsrel=1e-13)[0]

    z = quad(lambda t: 1.0)
    mean = quad(lambda t: cond(t)[1]) / z
    second = quad(lambda t: cond(t)[2] + cond(t)[1] ** 2) / z
    assert fit.mu.mean == pytest.approx(mean, rel=1e-8)
    assert fit.mu.sd == pytest.approx(math.sqrt(second - mean**2), rel=1e-8)
    assert abs(fit.mu.sd - 6.083976) > 5e-3  # R's value is measurably off


def test_many_studies_use_a_checked_compressed_rule():
    """k = 3000 (> 2000): the study quantiles from the compressed Gauss rule equal the full
    quadrature's to 1e-12 posterior SDs; means and SDs are the full quadrature's."""
    from bayesmeta.exact import normal_normal as nn

    rng = np.random.default_rng(5)
    s = rng.uniform(0.05, 1.5, 3000)
    y = rng.normal(0.2, 0.3, 3000) + rng.normal(0.0, s)
    from bayesmeta.exact.mixture import gauss_rule

    fit = NormalNormal(y, s, "halfnormal(0.5)", "flat")
    assert fit._rule_ok(gauss_rule(fit.tau.nodes, fit.tau.weights, 8), 0.95)  # it is used
    assert not fit._rule_ok(gauss_rule(fit.tau.nodes, fit.tau.weights, 2), 0.95)  # checked
    fast = fit.studies()
    old, nn._COMPRESS_K = nn._COMPRESS_K, 10**9
    try:
        full = NormalNormal(y, s, "halfnormal(0.5)", "flat").studies()
    finally:
        nn._COMPRESS_K = old
    for col in ("mean", "sd", "median", "ci_low", "ci_high"):
        np.testing.assert_allclose(fast[col], full[col], rtol=0, atol=1e-12 * full["sd"].min())
    theta = fit.theta(17)  # one study's own marginal, the full mixture
    assert theta.median == pytest.approx(full["median"][17], abs=1e-12)


def test_gauss_rule_of_a_discrete_measure():
    """The n-point rule integrates polynomials of degree <= 2n - 1 exactly (to 1e-12)."""
    from bayesmeta.exact.mixture import gauss_rule

    rng = np.random.default_rng(3)
    t, w = np.sort(rng.uniform(0, 5, 120)), rng.uniform(0, 1, 120)
    x, v = gauss_rule(t, w, 6)
    for d in range(12):
        assert v @ x**d == pytest.approx(w @ t**d, rel=1e-10)

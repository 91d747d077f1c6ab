"""Cell-type model on the published subgroup summaries: exact engine against R bayesmeta."""

from __future__ import annotations

import numpy as np
import pytest

from bayesmeta.review import celltype
from bayesmeta.review.spec import load_spec
from conftest import load_fixture


@pytest.fixture(scope="module")
def spec():
    return load_spec()


@pytest.fixture(scope="module")
def fits(spec):
    return celltype.fit_all(spec, seed=1, mcmc=False)


def test_exact_cell_type_posteriors_match_r_bayesmeta(fits):
    """tests/fixtures/make_review_fixtures.R, e.g. for T1DM HbA1c:

    bayesmeta(y = c(-4.11, -0.04), sigma = c(0.5102, 0.0255), tau.prior = function(t)
    dhalfnormal(t, scale = 3.46), mu.prior = c(0, 346), delta = 1e-4, epsilon = 1e-8)
    Medians and central 95 % limits to 1e-4 x D; P(benefit) to 5e-5 (bayesmeta's discrete
    mixture for the shrinkage is good to ~2e-5 here; the exact value is checked by quadrature in
    test_shrunken_probability_by_quadrature).
    """
    fx = load_fixture("review_celltype.json")["fits"]
    assert set(fx) == {f"{d}/{o}" for d, o in fits}
    for (d, o), f in fits.items():
        r = fx[f"{d}/{o}"]
        np.testing.assert_allclose(f.y, r["y"], rtol=1e-12)
        np.testing.assert_allclose(f.se, r["sigma"], rtol=1e-12)
        scale = f.scale
        for name, ref in [("mu", r["mu"]), ("tau", r["tau"])] + [
            (f"theta[{lab}]", r["theta"][lab]) for lab in r["labels"]
        ]:
            got = f.exact[name]
            for key in ("median", "ci_low", "ci_high"):
                assert getattr(got, key) == pytest.approx(ref[key], abs=1e-4 * scale), (
                    d,
                    o,
                    name,
                    key,
                )
            if "p_below_0" in ref:
                sign = 1 if o == "c_peptide" else -1
                p_benefit = 1 - ref["p_below_0"] if sign > 0 else ref["p_below_0"]
                assert got.p_benefit == pytest.approx(p_benefit, abs=5e-5), (d, o, name)


def test_iid_draw_summaries_agree_with_exact(fits):
    """az.summary of 4000 i.i.d. exact joint draws: mean within 5 Monte Carlo SEs of exact."""
    for f in fits.values():
        s = f.exact_summary
        for name in ("mu", "tau"):
            m = f.exact[name]
            assert abs(s.loc[name, "mean"] - m.mean) < 5 * m.sd / np.sqrt(4000)


def test_scale_equivariance_behind_the_pymc_standardisation(spec):
    """Fitting y/D, se/D with priors in units of D and multiplying by D gives the same posterior."""
    from bayesmeta.exact import NormalNormal

    f = celltype.fit_exact(spec, "T2DM", "insulin_dose", np.random.default_rng(0), n_draws=400)
    mu_std, tau_std = celltype.standardised_priors(spec, "insulin_dose")
    nn = NormalNormal(f.y / f.scale, f.se / f.scale, tau_prior=tau_std, mu_prior=mu_std)
    mu_med = celltype._quantiles(nn.mu, np.array([0.5]))[0]
    tau_med = celltype._quantiles(nn.tau, np.array([0.5]))[0]
    assert f.scale * mu_med == pytest.approx(f.exact["mu"].median, rel=1e-6)
    assert f.scale * tau_med == pytest.approx(f.exact["tau"].median, rel=1e-6)


def test_shrunken_probability_by_quadrature(fits):
    """P(theta_MSC < 0 | y), T2DM FPG, by 1-D quadrature over tau of the Gaussian conditional
    (mu and theta given tau are jointly normal); to 1e-9."""
    from scipy import integrate, stats

    f = fits[("T2DM", "fpg")]
    y, se, d = f.y, f.se, f.scale
    s0 = 100 * d

    def post_tau(t):
        cov = np.diag(se**2 + t**2) + s0**2
        return stats.multivariate_normal.pdf(y, np.zeros(2), cov) * stats.halfnorm.pdf(t, scale=d)

    def below(t):
        w = 1 / (se**2 + t**2)
        vmu = 1 / (1 / s0**2 + w.sum())
        mmu = vmu * (w * y).sum()
        c = 1 / (1 / se[0] ** 2 + 1 / t**2)
        a, b = c * y[0] / se[0] ** 2, c / t**2
        return stats.norm.cdf(0, a + b * mmu, np.sqrt(c + b * b * vmu))

    pts = [0.01, 0.1, 0.5, 1.0]
    z = integrate.quad(post_tau, 0, 20 * d, epsabs=0, epsrel=1e-12, limit=1000, points=pts)[0]
    p = (
        integrate.quad(
            lambda t: post_tau(t) * below(t),
            0,
            20 * d,
            epsabs=0,
            epsrel=1e-12,
            limit=1000,
            points=pts,
        )[0]
        / z
    )
    assert f.labels[0] == "MSC"
    assert f.exact["theta[MSC]"].p_benefit == pytest.approx(p, abs=1e-9)


class _BrokenMarginal:
    """A normal marginal whose quantile() is wrong above p = 0.9 (as a root-finder slip)."""

    mean, sd = 1.0, 2.0

    def cdf(self, x):
        from scipy import stats

        return stats.norm.cdf(x, 1.0, 2.0)

    def quantile(self, p):
        from scipy import stats

        q = stats.norm.ppf(p, 1.0, 2.0)
        return np.where(np.asarray(p) > 0.9, q + 5.0, q)


def test_quantile_guard_repairs_a_wrong_quantile():
    from scipy import stats

    q = celltype._quantiles(_BrokenMarginal(), np.array([0.5, 0.975]))
    np.testing.assert_allclose(q, stats.norm.ppf([0.5, 0.975], 1.0, 2.0), atol=1e-10)


@pytest.mark.slow
def test_pymc_cross_check_compiles_once_and_agrees(spec):
    """PyMC (nutpie) on y/D: one compilation for all outcomes; medians within 0.15 posterior SD."""
    from bayesmeta.hierarchical import cache_info, clear_cache

    clear_cache()
    fits = celltype.fit_all(spec, seed=5, mcmc=True, draws=1000, tune=1000, chains=2)
    assert cache_info()["compilations"] == 1
    for f in fits.values():
        assert f.pymc_diagnostics["max_rhat"] < 1.05
        for name in ("mu", "tau"):
            e, m = f.exact[name], f.pymc[name]
            assert abs(m.median - e.median) < 0.15 * e.sd, (f.disease, f.outcome, name)
        assert f.pymc_summary is not None and "r_hat" in f.pymc_summary.columns

"""Tests for bayesmeta.priors against R bayesmeta 3.4 (tests/fixtures/bayesmeta_priors.json).

The fixture is written by ``Rscript tests/fixtures/make_bayesmeta_fixtures.R``; each entry
records its R call, e.g. ``dhalfnormal(tau, scale=0.5)``, ``TurnerEtAlPrior("pain",
"non-pharmacological", "pharmacological")$dprior(tau)``, ``RhodesEtAlPrior(...)$qprior(p)``
and ``bayesmeta(y, sigma, tau.prior="Jeffreys")$dprior(tau=tau)``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from bayesmeta.errors import InputError
from bayesmeta.priors import (
    MU_FORMS,
    RHODES_AREAS,
    RHODES_COMPARISONS,
    RHODES_OUTCOMES,
    TAU_FORMS,
    TURNER_COMPARISONS,
    TURNER_OUTCOMES,
    Prior,
    parse_prior,
    rhodes_prior,
    turner_prior,
)
from conftest import load_fixture

FIX = load_fixture("bayesmeta_priors.json")
PROPER_TAU = [
    "halfnormal(0.5)",
    "halfcauchy(25)",
    "halft(3, 1)",
    "exponential(1)",
    "lognormal(-1.5, 1.2)",
    "uniform(0, 5)",
    "turner",
    "turner(pain, nonpharm-vs-pharm)",
    "rhodes",
    "rhodes(obstetric, nonpharm, cancer)",
]


def close(a, b, rtol=1e-12, atol=1e-300):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=atol)


@pytest.mark.parametrize("entry", FIX["densities"], ids=lambda e: e["prior"])
def test_standard_densities_match_r(entry):
    """pdf, cdf and quantiles equal R's d/p/q functions to 1e-12 relative."""
    p = parse_prior(entry["prior"], "tau")
    close(p.pdf(entry["tau"]), entry["pdf"])
    close(p.cdf(entry["tau"]), entry["cdf"], atol=1e-15)
    close(p.ppf(entry["p"]), entry["ppf"])


def test_turner_table_matches_r():
    """All 16 x 5 cells + the marginal prior: parameters and densities equal R's."""
    assert len(FIX["turner"]) == len(TURNER_OUTCOMES) * len(TURNER_COMPARISONS) + 1
    for e in FIX["turner"]:
        p = parse_prior(e["prior"], "tau")
        assert p.text == e["prior"]
        assert p.params == pytest.approx((e["tau2_mu"], e["tau2_sigma"]), abs=1e-12)
        close(p.pdf(FIX["densities"][0]["tau"]), e["pdf"])
        close(p.cdf(FIX["densities"][0]["tau"]), e["cdf"], atol=1e-15)
        close(p.ppf(FIX["p"]), e["ppf"])


def test_rhodes_table_matches_r():
    """All 8 x 3 x 3 cells + the general prior: log-t(5) parameters and densities."""
    assert len(FIX["rhodes"]) == len(RHODES_OUTCOMES) * len(RHODES_COMPARISONS) * 3 + 1
    for e in FIX["rhodes"]:
        p = parse_prior(e["prior"], "tau")
        assert p.text == e["prior"]
        assert p.params == pytest.approx((e["tau2_location"], e["tau2_scale"]), abs=1e-12)
        tau = np.asarray(FIX["densities"][0]["tau"])
        assert tau[0] == 0 and e["pdf"][0] == 0  # R returns 0 at tau = 0; the limit is +inf
        assert p.pdf(0.0) == np.inf
        close(p.pdf(tau[1:]), e["pdf"][1:], rtol=1e-10)
        close(p.cdf(FIX["densities"][0]["tau"]), e["cdf"], rtol=1e-10, atol=1e-15)
        close(p.ppf(FIX["p"]), e["ppf"], rtol=1e-10)


def test_jeffreys_matches_r():
    """The data-dependent Jeffreys prior equals bayesmeta's (same normalisation)."""
    j = FIX["jeffreys"]
    p = parse_prior("jeffreys", "tau").bind(j["sigma"])
    close(p.pdf(j["tau"]), j["pdf"], rtol=1e-12)
    assert not p.proper and p.tail_power == -1.0
    # stable at the extremes: ~ tau sqrt(sum s^-4) near 0 and ~ sqrt(k)/tau far out
    s = np.asarray(j["sigma"])
    close(p.pdf(1e-200), 1e-200 * np.sqrt(np.sum(s**-4.0)), rtol=1e-12)
    close(p.pdf(1e200), 2.0 / 1e200, rtol=1e-12)
    assert p.pdf(0.0) == 0.0


def test_unbound_jeffreys_says_what_to_do():
    with pytest.raises(InputError, match=r"bind\(sei\)"):
        parse_prior("jeffreys", "tau").logpdf(1.0)
    with pytest.raises(InputError, match="standard errors > 0"):
        parse_prior("jeffreys", "tau").bind([1.0, 0.0])


@pytest.mark.parametrize("text", PROPER_TAU)
def test_proper_tau_priors_are_normalised_densities(text):
    """Density integrates to 1 (quad, 1e-7) and cdf(ppf(q)) = q (1e-12)."""
    p = parse_prior(text, "tau")
    lo, hi = p.support  # integrate over u = log(tau)
    med = math.log(float(p.ppf(0.5)))
    lo = math.log(lo) if lo > 0 else -700.0  # exp(-700) > 0: no underflow to tau = 0
    hi = min(math.log(hi), 700.0)
    total = sum(
        integrate.quad(lambda u: float(np.exp(p.logpdf(np.exp(u)) + u)), a, b, limit=200)[0]
        for a, b in [(lo, med), (med, hi)]
    )
    assert total == pytest.approx(1.0, abs=1e-7)
    q = np.array([1e-6, 0.01, 0.3, 0.5, 0.9, 0.999999])
    close(p.cdf(p.ppf(q)), q, rtol=1e-10)
    assert p.logpdf(-1.0) == -np.inf
    assert p.cdf(-1.0) == 0.0


@pytest.mark.parametrize("text", ["halfnormal(0.5)", "halft(3, 1)", "turner", "rhodes"])
def test_random_draws_follow_the_cdf(text):
    """Seeded KS test (n = 4000) does not reject at the 0.1 % level."""
    p = parse_prior(text, "tau")
    x = p.rvs(4000, rng=20240607)
    assert stats.kstest(x, lambda v: p.cdf(v)).pvalue > 1e-3
    assert np.array_equal(x, p.rvs(4000, rng=20240607))


def test_mu_priors():
    n = parse_prior("Normal( 0 , 4 )", "mu")
    assert (n.family, n.params, n.text, n.proper) == ("normal", (0.0, 4.0), "normal(0, 4)", True)
    close(n.logpdf([-1.0, 2.5]), stats.norm.logpdf([-1.0, 2.5], 0, 4))
    close(n.ppf(0.975), 4 * stats.norm.ppf(0.975))
    f = parse_prior("flat", "mu")
    assert not f.proper and f.support == (-math.inf, math.inf)
    assert np.all(f.logpdf([-1e9, 0.0, 3.0]) == 0.0)
    with pytest.raises(InputError, match="improper"):
        f.cdf(0.0)
    with pytest.raises(InputError, match="improper"):
        f.rvs(3)


@pytest.mark.parametrize(
    ("text", "canonical", "family"),
    [
        ("halfnormal(0.5)", "halfnormal(0.5)", "halfnormal"),
        ("Half-Normal( .5 )", "halfnormal(0.5)", "halfnormal"),
        ("half_cauchy(25.0)", "halfcauchy(25)", "halfcauchy"),
        ("HalfStudentT(3,1)", "halft(3, 1)", "halft"),
        ("exponential(1)", "exponential(1)", "exponential"),
        ("lognormal(-1.5, 1.2)", "lognormal(-1.5, 1.2)", "lognormal"),
        ("uniform(0, 5)", "uniform(0, 5)", "uniform"),
        ("improper uniform", "flat", "flat"),
        ("flat", "flat", "flat"),
        ("JEFFREYS", "jeffreys", "jeffreys"),
        ("turner(any)", "turner", "turner"),
        (
            "turner(All-cause mortality, placebo-vs-pharm)",
            "turner(all-cause-mortality, pharm-vs-placebo)",
            "turner",
        ),
        (
            "rhodes(mental health, pharm-vs-placebo)",
            "rhodes(mental-health, pharm-vs-placebo, other)",
            "rhodes",
        ),
    ],
)
def test_parse_canonical_text(text, canonical, family):
    p = parse_prior(text, "tau")
    assert (p.text, p.family, p.kind) == (canonical, family, "tau")
    assert parse_prior(p.text, "tau") == p  # canonical text round-trips
    assert parse_prior(p, "tau") is p


@pytest.mark.parametrize(
    ("text", "kind", "fragment"),
    [
        ("halfnormal(-1)", "tau", "scale must be > 0"),
        ("halfnormal(0)", "tau", "scale must be > 0"),
        ("halfnormal", "tau", "takes 1 number"),
        ("halfnormal(a)", "tau", "needs numbers"),
        ("halfnormal(inf)", "tau", "finite"),
        ("halft(1)", "tau", "takes 2 number"),
        ("uniform", "tau", "use 'flat'"),
        ("uniform(3, 1)", "tau", "0 <= lower < upper"),
        ("lognormal(0, 0)", "tau", "sdlog"),
        ("gamma(2, 1)", "tau", "unknown prior family"),
        ("normal(0, 4)", "tau", "not a prior for tau"),
        ("halfnormal(1)", "mu", "not a prior for mu"),
        ("normal(0, -4)", "mu", "sd must be > 0"),
        ("turner(pain)", "tau", "turner takes"),
        ("turner(pain, surgery)", "tau", "unknown turner comparison"),
        ("rhodes(pain, nonpharm)", "tau", "unknown rhodes outcome"),
        ("rhodes(obstetric, nonpharm, lungs)", "tau", "unknown rhodes area"),
        ("((", "tau", "cannot read"),
    ],
)
def test_bad_strings_give_one_line_input_errors(text, kind, fragment):
    with pytest.raises(InputError) as info:
        parse_prior(text, kind)
    msg = str(info.value)
    assert fragment in msg and "\n" not in msg
    assert (TAU_FORMS if kind == "tau" else MU_FORMS) in msg


def test_tail_powers_and_helpers():
    assert parse_prior("halfcauchy(1)", "tau").tail_power == -2.0
    assert parse_prior("halft(3, 1)", "tau").tail_power == -4.0
    assert parse_prior("flat", "tau").tail_power == 0.0
    assert parse_prior("halfnormal(1)", "tau").tail_power == -math.inf
    r = parse_prior("rhodes", "tau")
    assert r.tail_power == -1.0 and r.tail_log_decay
    assert parse_prior("uniform(0.5, 2)", "tau").support == (0.5, 2.0)
    assert turner_prior() == parse_prior("turner", "tau")
    assert turner_prior("pain", "pharm-vs-pharm").text == "turner(pain, pharm-vs-pharm)"
    assert rhodes_prior("subjective", "nonpharm", "cancer").text == (
        "rhodes(subjective, nonpharm, cancer)"
    )
    assert set(RHODES_AREAS) == {"other", "respiratory", "cancer"}
    assert "Table IV" in turner_prior("pain", "pharm-vs-pharm").describe()
    # turner on tau^2 = log-normal on tau with halved parameters
    t = turner_prior("pain", "pharm-vs-pharm")
    mu, sigma = t.params
    close(t.pdf(0.3), stats.lognorm.pdf(0.3, s=sigma / 2, scale=math.exp(mu / 2)))


PYMC_CASES = [
    "halfnormal(0.5)",
    "halfcauchy(25)",
    "halft(3, 1)",
    "exponential(2)",
    "lognormal(-1.5, 1.2)",
    "uniform(0.1, 5)",
    "turner",
    "rhodes",
    "jeffreys",
    "flat",
]


def _pymc_logp(prior: Prior, x: np.ndarray) -> np.ndarray:
    import pymc as pm

    with pm.Model() as model:
        rv = prior.to_pymc("tau", default_transform=None)  # kw reach the variable
    assert model.rvs_to_transforms.get(rv) is None
    logp = model.compile_logp()
    return np.array([float(logp({"tau": v})) for v in x])


@pytest.mark.parametrize("text", PYMC_CASES)
def test_to_pymc_has_the_same_log_density(text):
    """The PyMC variable (plus its Potential) has logp = our logpdf (+ const if improper)."""
    prior = parse_prior(text, "tau").bind([0.3, 0.5, 1.1])
    x = np.array([0.2, 0.7, 1.9])
    got = _pymc_logp(prior, x)
    want = prior.logpdf(x)
    if prior.proper:  # atol 1e-7: PyMC's logp formulas carry rounded constants (~6e-8)
        close(got, want, rtol=0, atol=1e-7)
    else:  # improper: equal up to a constant
        close(got - got[0], want - want[0], rtol=1e-9, atol=1e-12)


def test_to_pymc_mu_priors():
    import pymc as pm

    with pm.Model() as model:
        mu = parse_prior("normal(0, 4)", "mu").to_pymc("mu")
        flat = parse_prior("flat", "mu").to_pymc("m2")
    assert isinstance(mu.owner.op, type(pm.Normal.dist(0, 1).owner.op))
    logp = model.compile_logp()
    close(logp({"mu": 1.5, "m2": 3.0}), stats.norm.logpdf(1.5, 0, 4), rtol=0, atol=1e-7)
    assert flat.name == "m2"


def test_importing_priors_does_not_import_pymc():
    import subprocess
    import sys

    code = "import sys, bayesmeta.priors; print('pymc' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("text", ["jeffreys", "rhodes", "halfnormal(0.5)"])
def test_to_pymc_vector_variables(text):
    """dims / shape reach the variable; the Potential sums the log density over elements."""
    import pymc as pm

    prior = parse_prior(text, "tau").bind([0.3, 0.5])
    with pm.Model(coords={"g": ["a", "b", "c"]}) as model:
        prior.to_pymc("tau", dims="g", default_transform=None)
    x = np.array([0.2, 0.5, 1.0])
    got = float(model.compile_logp()({"tau": x}))
    close(got, prior.logpdf(x).sum(), rtol=0, atol=3e-7)

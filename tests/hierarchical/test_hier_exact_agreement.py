"""PyMC posteriors against the exact engine (slow): agreement within 3 Monte Carlo SEs.

The exact engine (bayesmeta.exact; p(tau | y) by quadrature, checked against R bayesmeta
3.4 in its own tests) is the reference. For each summary (mean, median, 2.5 % and 97.5 %
quantiles) the tolerance is 3 x the MCSE ArviZ reports for that summary of these draws
(``az.mcse`` with method mean / median / quantile), for a fixed seed.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest
from hier_data import crins, morris, schools

from bayesmeta.effects import mean_change
from bayesmeta.hierarchical import BayesianMeta, MetaData
from bayesmeta.studies import StudyTable

pytestmark = pytest.mark.slow

RUN = {"draws": 2000, "tune": 1000, "chains": 4, "seed": 20201}
PROBS = (0.025, 0.975)


def assert_within_mcse(draws, marginal, name: str) -> None:
    """mean, median and PROBS quantiles of the draws vs the exact marginal, 3 MCSE each."""
    da = draws.transpose("chain", "draw")
    checks = [
        ("mean", float(da.mean()), marginal.mean, az.mcse(da, method="mean")),
        ("median", float(da.median()), marginal.median, az.mcse(da, method="median")),
    ]
    exact_q = np.asarray(marginal.quantile(np.asarray(PROBS)), float)
    for p, q in zip(PROBS, exact_q, strict=True):
        mcse_q = az.mcse(da, method="quantile", prob=p)
        checks.append((f"q{p}", float(da.quantile(p)), float(q), mcse_q))
    for what, got, exact, mcse in checks:
        mcse = float(mcse)
        assert abs(got - exact) <= 3 * mcse, f"{name} {what}: {got} vs {exact} (mcse {mcse})"


def test_eight_schools_matches_the_exact_engine():
    """mu ~ N(0, 5^2), tau ~ half-Cauchy(5) on Rubin (1981)."""
    from bayesmeta.exact import NormalNormal

    data = schools()
    priors = {"mu_prior": "normal(0, 5)", "tau_prior": "halfcauchy(5)"}
    exact = NormalNormal(data.yi, data.sei, labels=list(data.study), **priors)
    bm = BayesianMeta(**(RUN | priors)).fit(data)
    assert bm.diagnostics_["divergences"] == 0
    post = bm.idata_["posterior"]
    assert_within_mcse(post["mu"], exact.mu, "mu")
    assert_within_mcse(post["tau"], exact.tau, "tau")
    assert_within_mcse(post["theta_new"], exact.theta_new, "theta_new")
    assert_within_mcse(post["theta"].sel(study="A"), exact.theta("A"), "theta[A]")


def test_prepost_with_fixed_r_matches_the_exact_engine():
    """r fixed: y_i ~ N(theta_i, vi) with vi = escalc('MC') variance -> NormalNormal."""
    from bayesmeta.exact import NormalNormal

    data = morris()
    es = mean_change(np.zeros(data.k), data.sd_pre, data.yi, data.sd_post, data.n, 0.5)
    priors = {"mu_prior": "normal(0, 20)", "tau_prior": "halfnormal(20)"}
    exact = NormalNormal(es.yi, np.sqrt(es.vi), **priors)
    bm = BayesianMeta("prepost", r=0.5, centred=True, **(RUN | priors)).fit(data)
    assert bm.diagnostics_["divergences"] == 0
    post = bm.idata_["posterior"]
    assert_within_mcse(post["mu"], exact.mu, "mu")
    assert_within_mcse(post["tau"], exact.tau, "tau")


def _regression_or_skip():
    exact = pytest.importorskip("bayesmeta.exact")
    if not hasattr(exact, "NormalNormalRegression"):
        pytest.fail("bayesmeta.exact.NormalNormalRegression is missing")
    return exact.NormalNormalRegression


def test_fixed_subgroup_means_match_exact_regression():
    """Model (b), common tau, mu_g ~ N(0, 4^2) each: X = subgroup indicators (no intercept),
    beta ~ N(0, 4^2 I) in NormalNormalRegression."""
    NormalNormalRegression = _regression_or_skip()
    frame = crins()
    table = StudyTable.from_frame(frame, subgroup="drug")
    data = MetaData.from_table(table)
    levels, idx = data.subgroups
    X = np.eye(len(levels))[idx]
    priors = {"mu_prior": "normal(0, 4)", "tau_prior": "halfnormal(0.5)"}
    reg = NormalNormalRegression(
        data.yi,
        data.sei,
        X,
        tau_prior=priors["tau_prior"],
        beta_prior=(np.zeros(len(levels)), 16.0 * np.eye(len(levels))),
        names=list(levels),
    )
    bm = BayesianMeta("subgroup", **(RUN | priors)).fit(data)
    assert bm.diagnostics_["divergences"] == 0
    post = bm.idata_["posterior"]
    assert_within_mcse(post["tau"], reg.tau, "tau")
    for j, g in enumerate(levels):
        assert_within_mcse(post["mu_subgroup"].sel(subgroup=g), reg.beta(j), f"mu[{g}]")
    c = np.zeros(len(levels))
    c[0], c[1] = 1.0, -1.0
    label = f"{levels[0]} - {levels[1]}"
    assert_within_mcse(post["mu_contrast"].sel(contrast=label), reg.linear(c), label)
    w = np.bincount(idx) / data.k
    assert_within_mcse(post["mu"], reg.linear(w), "mu (weighted)")


def test_meta_regression_matches_exact_regression():
    """Model (e), centred year: X = [1, year - mean(year)], beta ~ N((0, 0), diag(4^2, 1))."""
    NormalNormalRegression = _regression_or_skip()
    frame = crins()
    data = MetaData.from_table(StudyTable.from_frame(frame, covariates=["year"]))
    x = data.X[:, 0]
    X = np.column_stack([np.ones(data.k), x - x.mean()])
    reg = NormalNormalRegression(
        data.yi,
        data.sei,
        X,
        tau_prior="halfnormal(0.5)",
        beta_prior=(np.zeros(2), np.diag([16.0, 1.0])),
        names=["mu", "year"],
    )
    bm = BayesianMeta(
        "regression",
        mu_prior="normal(0, 4)",
        tau_prior="halfnormal(0.5)",
        beta_prior="normal(0, 1)",
        **RUN,
    ).fit(data)
    assert bm.diagnostics_["divergences"] == 0
    post = bm.idata_["posterior"]
    assert_within_mcse(post["mu"], reg.beta(0), "mu")
    assert_within_mcse(post["beta"].sel(covariate="year"), reg.beta(1), "beta[year]")
    assert_within_mcse(post["tau"], reg.tau, "tau")


EDGE_CASES = {
    "k=1": ([0.5], [0.3]),
    "k=2": ([0.5, -0.2], [0.3, 0.4]),
    "tau at 0 (identical effects)": ([0.3] * 5, [0.1] * 5),
    "huge variances (posterior = prior)": ([0.5, 1.0, -0.3], [1e4, 1e4, 1e4]),
}


@pytest.mark.parametrize("case", list(EDGE_CASES))
def test_edge_cases_match_the_exact_engine(case):
    """Priors mu ~ N(0, 4^2), tau ~ half-normal(0.5); proper, so k = 1 is defined."""
    from bayesmeta.exact import NormalNormal

    yi, sei = EDGE_CASES[case]
    exact = NormalNormal(yi, sei, "halfnormal(0.5)", "normal(0, 4)")
    priors = {"mu_prior": "normal(0, 4)", "tau_prior": "halfnormal(0.5)"}
    bm = BayesianMeta(**priors, **RUN).fit(MetaData.from_arrays(yi, sei))
    assert bm.warnings_ == []
    post = bm.idata_["posterior"]
    assert_within_mcse(post["mu"], exact.mu, "mu")
    assert_within_mcse(post["tau"], exact.tau, "tau")


@pytest.mark.parametrize("c", [0.01, 1.0, 100.0])
def test_default_priors_are_scale_equivariant_in_pymc(c):
    """Rubin (1981) with yi, sei times c and the default priors (mu flat, tau HN(0.5 x UISD)):
    the PyMC posterior of mu / c and tau / c matches the exact engine's on the unscaled data
    within 3 MCSE (as above), so scaling the data scales the answer and nothing else."""
    from bayesmeta.exact import NormalNormal
    from bayesmeta.inputs import load_studies

    base = load_studies("rubin1981")
    exact = NormalNormal.from_table(base)
    scaled = StudyTable.from_arrays(c * base.yi, sei=c * base.sei, study=base.study, ni=base.ni)
    bm = BayesianMeta(draws=1000, tune=1000, chains=4, seed=7).fit(scaled)
    assert bm.prior_default_ is not None and "unit-information" in bm.prior_default_
    post = bm.idata_["posterior"]
    assert_within_mcse(post["mu"] / c, exact.mu, f"mu (c = {c})")
    assert_within_mcse(post["tau"] / c, exact.tau, f"tau (c = {c})")

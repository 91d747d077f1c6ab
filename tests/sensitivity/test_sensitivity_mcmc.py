"""Reweighting a posterior sample to other priors (PSIS) and power-scaling sensitivity."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayesmeta import datasets
from bayesmeta.errors import InputError
from bayesmeta.exact import NormalNormal
from bayesmeta.priors import parse_prior
from bayesmeta.sensitivity.mcmc import reweight, with_log_prior

MU_PRIOR = "normal(0, 100)"


def _rubin() -> pd.DataFrame:
    d = datasets.load("rubin1981")
    return pd.DataFrame({"study": d["school"], "yi": d["effect"], "sei": d["stderr"]})


def _exact_draws_fit(tau_prior: str, n: int = 4000, seed: int = 5) -> SimpleNamespace:
    """A stand-in for a fitted BayesianMeta: independent exact posterior draws
    (tau by inverse cdf, mu | tau ~ N(M(tau), 1/P(tau))) in a 4-chain DataTree."""
    df = _rubin()
    nn = NormalNormal(df["yi"], df["sei"], tau_prior, MU_PRIOR)
    rng = np.random.default_rng(seed)
    tau = nn.tau.quantile(rng.uniform(size=n))
    m, v = nn.conditional_mu(tau)
    mu = rng.normal(m, np.sqrt(v))
    post = xr.Dataset(
        {
            "mu": (("chain", "draw"), mu.reshape(4, -1)),
            "tau": (("chain", "draw"), tau.reshape(4, -1)),
        },
        coords={"chain": np.arange(4), "draw": np.arange(n // 4)},
    )
    return SimpleNamespace(
        idata_=xr.DataTree.from_dict({"/posterior": post}),
        spec=SimpleNamespace(
            mean="common",
            mu_prior=parse_prior(MU_PRIOR, "mu"),
            tau_prior=parse_prior(tau_prior, "tau"),
        ),
        data_=SimpleNamespace(sei=df["sei"].to_numpy()),
    )


def test_reweighted_summaries_match_exact_within_mcse():
    """Draws under halfnormal(10) reweighted to nearby priors agree with the exact posterior
    under the new prior within 4 MCSE where Pareto k < 0.7."""
    fit = _exact_draws_fit("halfnormal(10)")
    rw = reweight(fit, ["halfnormal(5..20, n=4)", "halfnormal(10)"])
    df = _rubin()
    assert list(rw["tau_prior"]) == [
        "halfnormal(5)",
        "halfnormal(10)",
        "halfnormal(15)",
        "halfnormal(20)",
        "halfnormal(10)",
    ]
    assert rw["pareto_k"].iloc[1] == -np.inf and rw["ess_is"].iloc[1] == pytest.approx(4000)
    checked = 0
    for _, r in rw.iterrows():
        assert r["refit"] == (r["pareto_k"] >= 0.7 or r["ess_is"] < 100)
        if r["refit"]:
            continue
        nn = NormalNormal(df["yi"], df["sei"], r["tau_prior"], MU_PRIOR)
        assert abs(r["mu_mean"] - nn.mu.mean) < 4 * r["mu_mcse_mean"]
        assert abs(r["tau_mean"] - nn.tau.mean) < 4 * r["tau_mcse_mean"]
        checked += 1
    assert checked >= 3


def test_far_priors_are_flagged_for_refit():
    """halfnormal(10) draws cannot represent halfnormal(0.01) (almost all mass on a few
    draws: ESS < 100) nor halfcauchy(10) (power tail: the weights'
    tail is heavy, Pareto k >= 0.7)."""
    rw = reweight(_exact_draws_fit("halfnormal(10)"), ["halfnormal(0.01)", "halfcauchy(10)"])
    assert bool(rw["refit"].iloc[0]) and rw["ess_is"].iloc[0] < 100
    assert bool(rw["refit"].iloc[1]) and rw["pareto_k"].iloc[1] >= 0.7


def test_log_prior_group():
    fit = _exact_draws_fit("halfcauchy(5)", n=400)
    tree = with_log_prior(fit)
    tau = tree["posterior"]["tau"].values
    np.testing.assert_allclose(
        tree["log_prior"]["tau"].values, parse_prior("halfcauchy(5)", "tau").logpdf(tau), rtol=1e-14
    )
    mu = tree["posterior"]["mu"].values
    np.testing.assert_allclose(
        tree["log_prior"]["mu"].values, parse_prior(MU_PRIOR, "mu").logpdf(mu), rtol=1e-14
    )


def test_needs_a_fit():
    with pytest.raises(InputError, match="fit the BayesianMeta model first"):
        reweight(SimpleNamespace(idata_=None), "halfnormal(1)")


@pytest.mark.slow
def test_pymc_fit_power_sensitivity_and_reweighting():
    """A small PyMC fit (Rubin 1981, halfnormal(10)): psense flags tau's prior more than mu's
    vague prior; reweighted mu / tau means agree with the exact engine within 4 MCSE."""
    from bayesmeta.hierarchical import BayesianMeta
    from bayesmeta.sensitivity.mcmc import power_sensitivity

    df = _rubin()
    fit = BayesianMeta(
        tau_prior="halfnormal(10)",
        mu_prior=MU_PRIOR,
        draws=1000,
        tune=500,
        chains=2,
        seed=3,
        warn=False,
        prior_draws=100,
    ).fit(df)
    ps = power_sensitivity(fit)
    assert ps.loc["tau", "prior"] > ps.loc["mu", "prior"]
    rw = reweight(fit, ["halfnormal(5)", "halfnormal(20)"])
    for _, r in rw[~rw["refit"]].iterrows():
        nn = NormalNormal(df["yi"], df["sei"], r["tau_prior"], MU_PRIOR)
        assert abs(r["mu_mean"] - nn.mu.mean) < 4 * r["mu_mcse_mean"]
        assert abs(r["tau_mean"] - nn.tau.mean) < 4 * r["tau_mcse_mean"]
    assert (~rw["refit"]).sum() >= 1


def _subgroup_standin(tau_by_subgroup: bool = False) -> SimpleNamespace:
    """A fixed-subgroup-means fit stand-in: mu_subgroup (2 subgroups), mu, tau draws."""
    rng = np.random.default_rng(11)
    shape = (2, 500)
    mu_g = rng.normal(0.5, 1.0, size=(*shape, 2))
    tau = np.abs(rng.normal(0.0, 1.0, size=(*shape, 2) if tau_by_subgroup else shape)) + 0.01
    cd = ("chain", "draw")
    post = xr.Dataset(
        {
            "mu_subgroup": ((*cd, "subgroup"), mu_g),
            "mu": (cd, mu_g.mean(axis=-1)),
            "tau": ((*cd, "subgroup") if tau_by_subgroup else cd, tau),
        },
        coords={"chain": [0, 1], "draw": np.arange(500), "subgroup": ["a", "b"]},
    )
    return SimpleNamespace(
        idata_=xr.DataTree.from_dict({"/posterior": post}),
        spec=SimpleNamespace(
            mean="subgroup",
            subgroup_means="fixed",
            mu_prior=parse_prior("normal(0, 2)", "mu"),
            tau_prior=parse_prior("halfnormal(1)", "tau"),
        ),
        data_=SimpleNamespace(sei=np.array([0.3, 0.4, 0.5])),
    )


def test_subgroup_model_log_prior_sums_the_subgroup_means():
    """Fixed subgroup means: log p(mu) = sum_g log N(mu_g | 0, 2) (scipy, 1e-12)."""
    from scipy import stats

    fit = _subgroup_standin()
    tree = with_log_prior(fit)
    mu_g = tree["posterior"]["mu_subgroup"].values
    ref = stats.norm.logpdf(mu_g, 0.0, 2.0).sum(axis=-1)
    np.testing.assert_allclose(tree["log_prior"]["mu"].values, ref, rtol=1e-12)
    tau = tree["posterior"]["tau"].values
    np.testing.assert_allclose(
        tree["log_prior"]["tau"].values, stats.halfnorm.logpdf(tau, scale=1.0), rtol=1e-12
    )
    rw = reweight(fit, "halfnormal(1)", mu_prior="normal(0, 3)")
    # new mu prior only: log w = sum_g [log N(mu_g | 0, 3) - log N(mu_g | 0, 2)]
    lw = (stats.norm.logpdf(mu_g, 0, 3) - stats.norm.logpdf(mu_g, 0, 2)).sum(axis=-1).ravel()
    w = np.exp(lw - lw.max())
    w /= w.sum()
    assert rw.loc[0, "pareto_k"] < 0.7
    # PSIS smooths only the largest weights: the reweighted mean is close to the raw IS mean
    raw = float(w @ tree["posterior"]["mu"].values.ravel())
    assert abs(rw.loc[0, "mu_mean"] - raw) < 0.2 * rw.loc[0, "mu_sd"] / np.sqrt(50)


def test_a_tau_per_subgroup_cannot_be_reweighted():
    with pytest.raises(InputError, match="one tau"):
        reweight(_subgroup_standin(tau_by_subgroup=True), "halfnormal(2)")


@pytest.mark.slow
def test_pymc_subgroup_fit_reweighted_matches_the_exact_regression():
    """Crins (2014) by IL-2RA type, fixed subgroup means, one tau (PyMC, halfnormal(0.5)),
    reweighted to halfnormal(0.25) / halfnormal(1): tau's mean and each subgroup mean ...
    within 4 MCSE of the exact common-tau regression under the new prior
    (NormalNormalRegression with subgroup indicators = R bayesmeta bmr(), checked there)."""
    from bayesmeta.effects import log_or
    from bayesmeta.exact import NormalNormalRegression
    from bayesmeta.hierarchical import BayesianMeta

    d = datasets.load("crins2014")
    es = log_or(d["exp.AR.events"], ci=d["cont.AR.events"], n1i=d["exp.total"],
                n2i=d["cont.total"])  # fmt: skip
    df = pd.DataFrame({"study": d["publication"], "yi": es.yi, "vi": es.vi, "g": d["IL2RA"]})
    fit = BayesianMeta("subgroup", tau_prior="halfnormal(0.5)", mu_prior="normal(0, 4)",
                       draws=1000, tune=1000, chains=2, seed=4, warn=False, prior_draws=50
                       ).fit(df, subgroup="g")  # fmt: skip
    rw = reweight(fit, ["halfnormal(0.25)", "halfnormal(1)"])
    levels = list(fit.idata_["posterior"]["subgroup"].values)
    x = np.array([[1.0 if gi == lv else 0.0 for lv in levels] for gi in df["g"]])
    w = np.bincount([levels.index(g) for g in df["g"]], minlength=len(levels)) / len(df)
    for _, r in rw.iterrows():
        assert not r["refit"]
        reg = NormalNormalRegression(df["yi"], np.sqrt(df["vi"]), x, r["tau_prior"], "normal(0, 4)")
        assert abs(r["tau_mean"] - reg.tau.mean) < 4 * r["tau_mcse_mean"]
        assert abs(r["mu_mean"] - reg.linear(w).mean) < 4 * r["mu_mcse_mean"]

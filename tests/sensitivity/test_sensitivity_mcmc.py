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

"""Bayesian dependent-effects models (`bayesmeta.hierarchical.dependent`): the exact
normal-normal engine as the limit with one effect per cluster, long brms runs with the same
priors (within Monte Carlo error), and simulation-based calibration of the multilevel model.

brms fixture: tests/fixtures/make_dependent_brms.R (brms 2.18, rstan; 4 x 10,000 draws)."""

from __future__ import annotations

import json
from pathlib import Path

import arviz as az
import numpy as np
import pytest
import xarray as xr
from scipy import stats

from bayesmeta.hierarchical.dependent import (
    multilevel_model,
    multilevel_posterior,
    multivariate_posterior,
)
from bayesmeta.priors import parse_prior

BRMS_PATH = Path(__file__).parents[1] / "fixtures" / "dependent_brms.json"


def _da(x: np.ndarray) -> xr.DataArray:
    return xr.DataArray(np.asarray(x), dims=("chain", "draw"))


def _check(draws: np.ndarray, ref: dict, what: str) -> None:
    """Quantiles 2.5 / 50 / 97.5 % within 3 combined MCSEs of the reference."""
    da = _da(draws)
    for q, want, m_ref in zip((0.025, 0.5, 0.975), ref["q"], ref["mcse"], strict=True):
        got = float(np.quantile(draws, q))
        m_here = float(az.mcse(da, method="quantile", prob=q))
        assert abs(got - want) <= 3 * np.hypot(m_here, m_ref), (what, q, got, want)


@pytest.mark.slow
def test_one_effect_per_cluster_is_the_exact_normal_normal_model() -> None:
    from bayesmeta.exact import NormalNormal

    y = np.array([0.12, 0.45, -0.1, 0.3, 0.62, 0.05, 0.28])
    v = np.array([0.02, 0.05, 0.03, 0.04, 0.06, 0.02, 0.03])
    post = multilevel_posterior(y, v, [f"c{i}" for i in range(7)], draws=4000, seed=5)
    assert post.draws["sigma"].shape[-1] == 1  # the within level is dropped
    tau_prior = post.priors["sigma_between"]
    exact = NormalNormal(y, np.sqrt(v), tau_prior=tau_prior, mu_prior="flat")
    for q in (0.025, 0.5, 0.975):
        b = post.draws["beta"][..., 0]
        m = float(az.mcse(_da(b), method="quantile", prob=q))
        assert abs(float(np.quantile(b, q)) - float(exact.mu.quantile(q))) <= 3.5 * m, q
        t = post.draws["sigma"][..., 0]
        m = float(az.mcse(_da(t), method="quantile", prob=q))
        assert abs(float(np.quantile(t, q)) - float(exact.tau.quantile(q))) <= 3.5 * m, q


@pytest.mark.slow
def test_multilevel_agrees_with_brms() -> None:
    ref = json.loads(BRMS_PATH.read_text())["multilevel"]
    d = ref["data"]
    post = multilevel_posterior(d["yi"], d["vi"], d["cluster"], draws=5000, seed=7,
                                target_accept=0.95)  # fmt: skip
    scale = parse_prior(post.priors["sigma_between"], "tau").params[0]
    assert scale == pytest.approx(ref["scale"], rel=1e-14)  # the same prior as the brms run
    _check(post.draws["beta"][..., 0], ref["beta"], "beta")
    _check(post.draws["sigma"][..., 0] ** 2, ref["sigma2_between"], "sigma2_between")
    _check(post.draws["sigma"][..., 1] ** 2, ref["sigma2_within"], "sigma2_within")


@pytest.mark.slow
def test_multivariate_agrees_with_brms() -> None:
    ref = json.loads(BRMS_PATH.read_text())["multivariate"]
    d = ref["data"]
    post = multivariate_posterior(d["yi"], np.array(d["V"]), d["cluster"], d["outcome"],
                                  draws=5000, seed=7, target_accept=0.99)  # fmt: skip
    assert post.names == ["AL", "PD"]
    _check(post.draws["beta"][..., 0], ref["beta_AL"], "beta_AL")
    _check(post.draws["beta"][..., 1], ref["beta_PD"], "beta_PD")
    _check(post.draws["tau"][..., 0] ** 2, ref["tau2_AL"], "tau2_AL")
    _check(post.draws["tau"][..., 1] ** 2, ref["tau2_PD"], "tau2_PD")
    _check(post.draws["rho"][..., 0, 1], ref["rho"], "rho")


@pytest.mark.slow
def test_simulation_based_calibration_of_the_multilevel_model() -> None:
    """Talts et al. (2018): replicate data sets from the prior, one compiled model; the rank
    of each true parameter among the posterior draws is uniform (KS p > 0.001 for each of
    three parameters, 100 replicates)."""
    from bayesmeta.hierarchical.compiled import compile_model
    from bayesmeta.hierarchical.trace import sample_nutpie

    rng = np.random.default_rng(4)
    cluster = np.repeat(np.arange(5), 3)
    k = cluster.size
    V = np.diag(np.full(k, 0.04))
    X = np.ones((k, 1))
    sd_prior = parse_prior("halfnormal(0.3)", "tau")
    b_prior = parse_prior("normal(0, 0.5)", "mu")
    model = multilevel_model(np.zeros(k), V, list(map(str, cluster)), X, sd_prior, b_prior)
    compiled = compile_model(model)
    Winv = np.linalg.inv(np.linalg.cholesky(V))
    ranks = []
    for r in range(100):
        beta = rng.normal(0, 0.5)
        s1, s2 = np.abs(rng.normal(0, 0.3, 2))
        y = (beta + s1 * rng.normal(size=5)[cluster] + s2 * rng.normal(size=k)
             + rng.normal(0, 0.2, k))  # fmt: skip
        post, _ = sample_nutpie(compiled.with_data(y_obs=Winv @ y), draws=400, tune=600,
                                chains=2, cores=2, seed=r, progress_bar=False,
                                target_accept=0.95)  # fmt: skip
        draws = {n: np.asarray(post[n].values).ravel() for n in
                 ("beta", "sigma_between", "sigma_within")}  # fmt: skip
        truth = {"beta": beta, "sigma_between": s1, "sigma_within": s2}
        ranks.append([np.mean(draws[n] < truth[n]) for n in draws])
    q = np.array(ranks)
    for j, name in enumerate(("beta", "sigma_between", "sigma_within")):
        assert stats.kstest(q[:, j], "uniform").pvalue > 0.001, name


ML_CSV = ("study,cl,oc,yi,vi\na,1,X,0.1,0.02\nb,1,Y,0.3,0.03\nc,2,X,0.2,0.02\nd,2,Y,0.6,0.04\n"
          "e,3,X,0.5,0.02\nf,3,Y,0.9,0.03\ng,4,X,0.4,0.02\nh,4,Y,0.2,0.05\n")  # fmt: skip


def test_posterior_cluster_needs_the_pymc_engine(tmp_path: Path, capsys) -> None:
    from bayesmeta.cli import main

    f = tmp_path / "d.csv"
    f.write_text(ML_CSV)
    code = main(["posterior", str(f), "--cluster", "cl"])
    err = capsys.readouterr().err
    assert code == 2 and "--engine pymc" in err and err.count("\n") == 1


@pytest.mark.slow
@pytest.mark.parametrize("extra", [[], ["--outcome", "oc", "--rho", "0.5"]])
def test_posterior_cluster_json(tmp_path: Path, capsys, extra: list) -> None:
    from bayesmeta.cli import main

    f = tmp_path / "d.csv"
    f.write_text(ML_CSV)
    code = main(["posterior", str(f), "--cluster", "cl", "--engine", "pymc", "--json",
                 "--quiet", "--draws", "500", *extra])  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["engine"] == "pymc"
    assert out["ci_low"] < out["estimate"] < out["ci_high"]
    if extra:
        assert [o["outcome"] for o in out["outcomes"]] == ["X", "Y"] and "rho_between" in out
    else:
        assert len(out["sigma2"]) == 2

"""Binomial-likelihood models (bayesmeta.hierarchical.binomial).

* Conjugate: one rate x of n with p ~ Beta(a, b) - the sampled posterior mean and quantiles
  match the exact Beta(a + x, b + n - x) posterior (`bayesmeta.safety.beta_posterior`, itself
  checked against R qbeta to 1e-10) within 3 MCSE.
* Frequentist limit: with very wide priors (mu ~ N(0, 100^2), tau ~ half-normal(10)) the
  posterior of mu centres on metafor rma.glmm's ML estimate (PLO for logit rates; OR with
  model "UM.FS", the same fixed-baseline binomial-normal model, for 2x2 tables): |posterior
  median - ML| <= 0.25 posterior SDs for the rates (k = 14, no zero cells) and <= 0.5 for the
  sparse 2x2 tables (k = 18, six with a zero cell: the posterior of tau is wide and skewed, and
  integrating over it moves mu from the ML point), and the ML tau^2 lies within the
  posterior's central 80 % interval of tau^2. Fixture: tests/fixtures/binomial.json
  (make_binomial_fixtures.R;
  metafor 3.8.1, lme4).
* Bad counts are one line naming row and column.
"""

from __future__ import annotations

import json
from pathlib import Path

import arviz as az
import numpy as np
import pytest

from bayesmeta.errors import InputError
from bayesmeta.hierarchical.binomial import BinomialMeta
from bayesmeta.safety import beta_posterior

FIX = json.loads((Path(__file__).parents[1] / "fixtures" / "binomial.json").read_text())
WIDE = {"mu_prior": "normal(0, 100)", "tau_prior": "halfnormal(10)"}


@pytest.mark.slow
@pytest.mark.parametrize(("x", "n", "a", "b"), [(3, 124, 0.5, 0.5), (0, 24, 1.0, 1.0)])
def test_conjugate_rate_matches_the_beta_posterior(x, n, a, b):
    fit = BinomialMeta("rate", p_prior=f"beta({a}, {b})", draws=2000, chains=4, seed=11)
    fit.fit([x], [n])
    exact = beta_posterior(x, n, a, b)
    da = fit.idata_["posterior"].to_dataset()["p"]
    assert fit.diagnostics_["divergences"] == 0
    assert abs(float(da.mean()) - exact.mean) <= 3 * float(az.mcse(da, method="mean"))
    for q in (0.05, 0.5, 0.95):
        mcse = float(az.mcse(da, method="quantile", prob=q))
        assert abs(float(da.quantile(q)) - exact.quantile(q)) <= 3 * mcse, q


@pytest.mark.slow
def test_logit_rates_approach_rma_glmm_plo():
    ref = FIX["pritz1997_plo"]
    fit = BinomialMeta("rate", draws=2000, chains=4, seed=5, **WIDE).fit(ref["xi"], ref["ni"])
    mu = fit.draws_of("mu")
    assert abs(np.median(mu) - ref["beta"]) <= 0.25 * mu.std()
    t2 = fit.draws_of("tau") ** 2
    lo, hi = np.quantile(t2, [0.1, 0.9])
    assert lo <= ref["tau2"] <= hi


@pytest.mark.slow
def test_two_by_two_approaches_rma_glmm_um_fs():
    ref = FIX["nielweise2007_or"]
    fit = BinomialMeta("2x2", draws=2000, chains=4, seed=5, **WIDE)
    fit.fit(ref["ai"], ref["n1i"], ref["ci"], ref["n2i"])  # zero cells and a double zero kept
    mu = fit.draws_of("mu")
    assert abs(np.median(mu) - ref["beta"]) <= 0.5 * mu.std()
    t2 = fit.draws_of("tau") ** 2
    lo, hi = np.quantile(t2, [0.1, 0.9])
    assert lo <= ref["tau2"] <= hi
    res = fit.to_result()
    assert res.method == "binomial-normal" and res.extra["scale"] == "log odds ratio"


@pytest.mark.parametrize(
    ("x", "n", "match"),
    [([5, 2], [4, 10], "row 1, column 'events'"), ([1.5, 2], [4, 10], "whole numbers"),
     ([1, -2], [4, 10], "row 2"), ([1, 2], [4, 0], "total must be >= 1")],
)  # fmt: skip
def test_bad_counts(x, n, match):
    with pytest.raises(InputError, match=match):
        BinomialMeta("rate").fit(x, n)


@pytest.mark.slow
def test_cli_binomial_likelihood(tmp_path, capsys):
    """`posterior --likelihood binomial` runs the rate model (--measure PLO) and the
    binomial-normal model (--measure OR) on raw counts and prints the posterior of mu."""
    from bayesmeta.cli import main

    f = tmp_path / "rates.csv"
    f.write_text("study,events,total\na,0,10\nb,3,12\nc,10,10\nd,5,20\n")
    argv = ["posterior", str(f), "--measure", "PLO", "--columns", "xi=events,ni=total",
            "--likelihood", "binomial", "--draws", "300", "--json"]  # fmt: skip
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"mu", "tau", "theta_new"} and out["mu"]["ci_low"] < out["mu"]["ci_high"]
    assert main(["posterior", "crins2014", "--measure", "OR", "--likelihood", "binomial",
                 "--draws", "300", "--json"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["mu"]["median"] < 0
    assert main(["posterior", str(f), "--measure", "MD", "--likelihood", "binomial"]) == 2
    assert "give --measure PLO" in capsys.readouterr().err


BRMS_PATH = Path(__file__).parents[1] / "fixtures" / "brms_binomial.json"
BRMS = json.loads(BRMS_PATH.read_text())
BRMS_CASES = ["pritz1997_plo", "nielweise2007_or", "li2007_or"]


@pytest.mark.slow
@pytest.mark.parametrize("case", BRMS_CASES)
def test_posterior_matches_brms_with_the_same_priors(case):
    """brms 2.18 (rstan) with the package's default priors: mu ~ N(0, 10^2), baselines
    ~ N(0, 10^2), tau ~ half-normal(0.5); 4 x 5000 draws there, 4 x 5000 here. The posterior
    mean and the 2.5 % and 97.5 % quantiles of mu and tau agree within 3 combined MCSEs
    (sqrt(MCSE_here^2 + MCSE_brms^2)). Fixture: tests/fixtures/brms_binomial.json
    (make_brms_binomial_fixtures.R)."""
    ref = BRMS[case]
    if case.endswith("_plo"):
        fit = BinomialMeta("rate", draws=5000, chains=4, seed=3).fit(ref["xi"], ref["ni"])
    else:
        fit = BinomialMeta("2x2", draws=5000, chains=4, seed=3)
        fit.fit(ref["ai"], ref["n1i"], ref["ci"], ref["n2i"])
    post = fit.idata_["posterior"].to_dataset()
    for name in ("mu", "tau"):
        da, want = post[name], ref[name]
        checks = [
            (float(da.mean()), want["mean"], float(az.mcse(da, method="mean")), want["mcse_mean"]),
            *[(float(da.quantile(q)), want[key], float(az.mcse(da, method="quantile", prob=q)),
               want[f"mcse_{key}"]) for q, key in ((0.025, "q025"), (0.975, "q975"))],
        ]  # fmt: skip
        for got, brms, m_here, m_brms in checks:
            assert abs(got - brms) <= 3 * np.hypot(m_here, m_brms), (case, name, got, brms)


def _sbc(kind, reps, k, seed):
    """PITs of mu and tau over ``reps`` data sets simulated from the prior."""
    from bayesmeta.simulate.metrics import sbc_tests

    rng = np.random.default_rng(seed)
    n = rng.integers(20, 80, size=k)
    pits = {"mu": [], "tau": []}
    for _ in range(reps):
        mu, tau = rng.normal(0, 1), abs(rng.normal(0, 0.5))
        theta = mu + tau * rng.standard_normal(k)
        bm = BinomialMeta(kind, mu_prior="normal(0, 1)", tau_prior="halfnormal(0.5)",
                          baseline_prior="normal(-1, 1)", draws=250, tune=400, chains=2,
                          seed=int(rng.integers(1 << 30)))  # fmt: skip
        if kind == "rate":
            bm.fit(rng.binomial(n, 1 / (1 + np.exp(-theta))), n)
        else:
            alpha = rng.normal(-1, 1, size=k)
            ci = rng.binomial(n, 1 / (1 + np.exp(-alpha)))
            ai = rng.binomial(n, 1 / (1 + np.exp(-(alpha + theta))))
            bm.fit(ai, n, ci, n)
        for name, truth in (("mu", mu), ("tau", tau)):
            pits[name].append(float(np.mean(bm.draws_of(name) < truth)))
    return {name: sbc_tests(np.asarray(p), bins=5)["sbc_chi2_p"] for name, p in pits.items()}


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "k"), [("rate", 8), ("2x2", 6)])
def test_sbc_binomial_models(kind, k):
    """Simulation-based calibration (Talts et al. 2018): truth drawn from the priors
    (mu ~ N(0, 1), tau ~ HN(0.5), baselines ~ N(-1, 1)), counts simulated, the model fitted
    with the same priors; the PITs of mu and tau are uniform over 50 data sets (chi-square on
    5 bins, p > 0.001). One compiled model serves all 50 fits (counts are pm.Data)."""
    p = _sbc(kind, reps=50, k=k, seed=20261130)
    assert min(p.values()) > 0.001, p


@pytest.mark.slow
def test_subgroup_terms_approach_rma_glmm_with_moderators():
    """Fixed subgroup intercepts and a common tau: metafor rma.glmm(measure = "PLO",
    mods = ~ factor(grp) - 1) is the ML fit (fixture pritz1997_plo_subgroups); with very wide
    priors each posterior median of mu_subgroup is within 0.25 posterior SD of it and the ML
    tau^2 lies in the central 80 % interval. The pooled variant reuses nothing from it and
    shrinks the two subgroup means towards each other."""
    ref = FIX["pritz1997_plo_subgroups"]
    fit = BinomialMeta("rate", draws=2000, chains=4, seed=5, **WIDE)
    fit.fit(ref["xi"], ref["ni"], subgroup=ref["group"])
    res = fit.to_result()
    for j, g in enumerate(["a", "b"]):
        row = res.posterior.loc[f"mu[{g}]"]
        assert abs(row["median"] - ref["beta"][j]) <= 0.25 * row["sd"], g
    t2 = fit.draws_of("tau") ** 2
    lo, hi = np.quantile(t2, [0.1, 0.9])
    assert lo <= ref["tau2"] <= hi
    pooled = BinomialMeta("rate", subgroup_means="pooled", draws=1000, chains=4, seed=5)
    pr = pooled.fit(ref["xi"], ref["ni"], subgroup=ref["group"]).to_result().posterior
    gap_fixed = abs(res.posterior.loc["mu[a]", "median"]
                    - res.posterior.loc["mu[b]", "median"])  # fmt: skip
    gap_pooled = abs(pr.loc["mu[a]", "median"] - pr.loc["mu[b]", "median"])
    assert gap_pooled < gap_fixed and "sigma_subgroup" in pr.index


@pytest.mark.slow
def test_a_compiled_model_serves_new_counts_and_labels():
    """Second fit of the same k reuses the compiled model: the new counts are used (the
    estimate moves) and the new study labels are attached."""
    from bayesmeta.hierarchical import binomial

    n = [40, 50, 60, 70]
    first = BinomialMeta("rate", draws=300, chains=2, seed=1).fit([2, 3, 4, 5], n)
    before = len(binomial._COMPILED)
    second = BinomialMeta("rate", draws=300, chains=2, seed=1).fit(
        [20, 25, 30, 35], n, study=["w", "x", "y", "z"]
    )
    assert len(binomial._COMPILED) == before
    assert second.to_result().estimate > first.to_result().estimate + 1.5
    assert list(second.idata_["posterior"]["study"].values) == ["w", "x", "y", "z"]

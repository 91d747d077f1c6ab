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

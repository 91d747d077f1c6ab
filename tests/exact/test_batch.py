"""The batched exact engine equals the single-analysis engine (`NormalNormal`), analysis by
analysis, to 1e-8 relative (it agrees to about 1e-12): random analyses with k from 1 to 200,
tau at 0, identical effects, half-normal and half-Cauchy priors with one scale per analysis,
a shared prior of another family, flat and normal mu priors (with the log marginal
likelihood)."""

from __future__ import annotations

import numpy as np
import pytest

from bayesmeta.errors import InputError
from bayesmeta.exact import NormalNormal
from bayesmeta.exact.averaging import model_average
from bayesmeta.exact.batch import (
    KEYS,
    TauPriors,
    batch_log_evidence_mu,
    batch_model_average,
    batch_posterior,
)

REL, ABS = 1e-8, 1e-12


def single(y, s, tau_prior, mu_prior=None):
    f = NormalNormal(y, s, tau_prior, mu_prior)
    return {
        "mu_median": f.mu.median, "mu_low": f.mu.quantile(0.025), "mu_high": f.mu.quantile(0.975),
        "tau_median": f.tau.median, "tau_low": f.tau.quantile(0.025),
        "tau_high": f.tau.quantile(0.975), "theta_new_low": f.theta_new.quantile(0.025),
        "theta_new_high": f.theta_new.quantile(0.975), "p_mu_gt_0": 1.0 - f.mu.cdf(0.0),
        "log_marginal_likelihood": f.log_marginal_likelihood,
    }  # fmt: skip


def corpus(rng, n, kmax=40):
    ys, ss = [], []
    for i in range(n):
        k = int(rng.integers(1, kmax + 1))
        s = rng.uniform(0.05, 1.0, k) * 10.0 ** rng.uniform(-2, 2)
        tau = rng.choice([0.0, 0.1, 0.5, 2.0]) * s.mean()
        y = rng.normal(rng.normal(0, 1), tau, k) + rng.normal(0, s)
        if i % 25 == 0:
            y = np.full(k, y[0])  # identical effects: the posterior of tau piles up at 0
        ys.append(y)
        ss.append(s)
    return ys, ss


def check(out, i, ref):
    for key in KEYS:
        got, want = float(out[key][i]), float(ref[key])
        if np.isnan(want):
            assert np.isnan(got), (i, key)
        else:
            assert got == pytest.approx(want, rel=REL, abs=ABS), (i, key, got, want)


@pytest.mark.parametrize("family", ["halfnormal", "halfcauchy"])
def test_per_analysis_scales_equal_the_single_engine(family):
    rng = np.random.default_rng(11 if family == "halfnormal" else 12)
    ys, ss = corpus(rng, 150)
    sc = np.array([s.mean() for s in ss]) * rng.uniform(0.2, 2.0, len(ss))
    out = batch_posterior(ys, ss, getattr(TauPriors, family)(sc))
    for i in range(len(ys)):
        check(out, i, single(ys[i], ss[i], f"{family}({float(sc[i])!r})"))


def test_normal_mu_prior_and_marginal_likelihood():
    rng = np.random.default_rng(13)
    ys, ss = corpus(rng, 80)
    sc = np.array([2 * s.mean() for s in ss])
    m0, s0 = rng.normal(0, 1, len(ys)), rng.uniform(0.5, 5, len(ys)) * sc
    out = batch_posterior(ys, ss, TauPriors.halfnormal(sc), m0, s0)
    assert np.all(np.isfinite(out["log_marginal_likelihood"]))
    for i in range(len(ys)):
        check(out, i, single(ys[i], ss[i], f"halfnormal({float(sc[i])!r})",
                             f"normal({float(m0[i])!r}, {float(s0[i])!r})"))  # fmt: skip


def test_a_shared_prior_of_another_family():
    rng = np.random.default_rng(14)
    ys, ss = corpus(rng, 40)
    out = batch_posterior(ys, ss, TauPriors.shared("lognormal(-1, 1.5)", len(ys)))
    for i in range(len(ys)):
        check(out, i, single(ys[i], ss[i], "lognormal(-1, 1.5)"))


@pytest.mark.slow
def test_thousands_of_analyses_up_to_k_200():
    rng = np.random.default_rng(15)
    ys, ss = corpus(rng, 2000, kmax=200)
    sc = np.array([s.mean() for s in ss])
    out = batch_posterior(ys, ss, TauPriors.halfnormal(sc))
    for i in range(len(ys)):
        check(out, i, single(ys[i], ss[i], f"halfnormal({float(sc[i])!r})"))


def test_scale_equivariance_and_order():
    rng = np.random.default_rng(16)
    ys, ss = corpus(rng, 30)
    sc = np.array([s.mean() for s in ss])
    a = batch_posterior(ys, ss, TauPriors.halfcauchy(sc))
    c = 1e4
    b = batch_posterior([c * y for y in ys], [c * s for s in ss], TauPriors.halfcauchy(c * sc))
    for key in ("mu_median", "mu_low", "tau_median", "tau_high", "theta_new_high"):
        np.testing.assert_allclose(b[key], c * a[key], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(b["p_mu_gt_0"], a["p_mu_gt_0"], rtol=1e-8, atol=1e-12)
    perm = rng.permutation(len(ys))  # grouping by k must not mix analyses up
    p = batch_posterior([ys[i] for i in perm], [ss[i] for i in perm],
                        TauPriors.halfcauchy(sc[perm]))  # fmt: skip
    np.testing.assert_array_equal(p["mu_median"], a["mu_median"][perm])


def test_model_averaging_equals_model_average():
    """p(effect), p(heterogeneity) and the inclusion Bayes factors of the four-model average
    (equal prior probabilities), against `model_average` analysis by analysis, and the
    "mu = 0" evidence against `NormalNormal._log_lik_mu`."""
    rng = np.random.default_rng(17)
    ys, ss = corpus(rng, 60)
    sc = np.array([s.mean() for s in ss])
    s0 = 3 * sc
    got = batch_model_average(ys, ss, TauPriors.halfnormal(sc), np.zeros(len(ys)), s0)
    ev = batch_log_evidence_mu(ys, ss, TauPriors.halfnormal(sc))
    for i in range(len(ys)):
        tau = f"halfnormal({float(sc[i])!r})"
        ma = model_average(ys[i], ss[i], mu_prior=f"normal(0, {float(s0[i])!r})", tau_prior=tau)
        assert got["bf_effect"][i] == pytest.approx(ma.bf_effect, rel=REL)
        assert got["bf_heterogeneity"][i] == pytest.approx(ma.bf_heterogeneity, rel=REL)
        assert got["p_effect"][i] == pytest.approx(ma.p_effect, rel=REL, abs=ABS)
        assert ev[i] == pytest.approx(NormalNormal(ys[i], ss[i], tau)._log_lik_mu(0.0), rel=REL)


def test_bad_input():
    with pytest.raises(InputError, match="one entry per analysis"):
        batch_posterior([[1.0]], [[0.1], [0.2]], TauPriors.halfnormal([1.0]))
    with pytest.raises(InputError, match="finite and > 0"):
        TauPriors.halfnormal([0.0])
    with pytest.raises(InputError, match="sei finite and > 0"):
        batch_posterior([[1.0, 2.0]], [[0.1, 0.0]], TauPriors.halfnormal([1.0]))
    with pytest.raises(InputError, match="depends on each analysis"):
        TauPriors.shared("jeffreys", 2)


@pytest.mark.parametrize("sd_rule", ["unit", "ten_se"])
def test_normal_prior_evidence_from_the_flat_nodes(sd_rule):
    """log p(y) under mu ~ N(0, sd^2) from the flat-prior posterior's nodes (the model
    average's "random, effect" model, as the corpus computes it) equals the direct quadrature
    with that prior, also for effects far from 0 (data means up to several prior SDs)."""
    rng = np.random.default_rng(18 if sd_rule == "unit" else 19)
    ys, ss = [], []
    for k in rng.integers(1, 41, 200):
        s = rng.uniform(0.05, 0.6, k)
        ys.append(rng.normal(rng.normal(0, 1.5), rng.choice([0.0, 0.2, 0.8]), k)
                  + rng.normal(0, s))  # fmt: skip
        ss.append(s)
    sd = (np.ones(len(ys)) if sd_rule == "unit"
          else np.array([10 / np.mean(1 / s) for s in ss]))  # fmt: skip
    pri = TauPriors.halfnormal(np.full(len(ys), 0.5))
    got = batch_posterior(ys, ss, pri, averaging_sd=sd)["log_evidence_normal"]
    want = batch_posterior(ys, ss, pri, np.zeros(len(ys)), sd,
                           evidence_only=True)["log_marginal_likelihood"]  # fmt: skip
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)

"""Replicate generation and the per-replicate method fits."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bayesmeta.classical import fixed_effect, rma
from bayesmeta.exact import NormalNormal
from bayesmeta.simulate.replicate import classical, draw, q_pvalue, run_chunk
from bayesmeta.simulate.spec import Chunk, parse_spec

METHODS = ["FE", "DL-Wald", "REML-HKSJ", "PM-HKSJ", "review-rule"]


def spec(se=None, mu=0.3, tau=0.4, k=4, reps=20, bayes=True):
    se = se or {"dist": "uniform", "low": 0.2, "high": 0.6}
    doc = {
        "study": {"name": "t", "seed": 99, "replicates": reps, "bayes_replicates": 6,
                  "chunk_size": 7, "methods": METHODS},
        "scenarios": [{"name": "a", "k": k, "mu": mu, "tau": tau, "se": se}],
    }  # fmt: skip
    if bayes:
        doc["bayes"] = [{"name": "B", "tau_prior": "halfnormal(0.5)", "mu_prior": "normal(0, 4)"}]
    return parse_spec(doc)


def test_draws_do_not_depend_on_chunking():
    s = spec()
    whole = run_chunk(s, Chunk(0, 0, 0, 20))
    parts = pd.concat([run_chunk(s, c) for c in s.chunks()], ignore_index=True)
    pd.testing.assert_frame_equal(whole, parts)
    assert set(whole["method"]) == {*METHODS, "B"}
    assert (whole["method"] == "B").sum() == 6  # bayes_replicates
    a, b = draw(s, s.scenarios[0], 3), draw(s, s.scenarios[0], 4)
    assert not np.allclose(a[2], b[2])
    np.testing.assert_array_equal(draw(s, s.scenarios[0], 3)[2], a[2])


def test_draw_moments():
    """y_i ~ N(mu, tau^2 + s_i^2), s ~ U(a, b): mean and variance within 4 MC SE."""
    s = spec(reps=4000)
    sc = s.scenarios[0]
    y = np.array([draw(s, sc, r)[2] for r in range(4000)]).ravel()
    n = y.size
    var = 0.4**2 + (0.2**2 + 0.2 * 0.6 + 0.6**2) / 3
    assert abs(y.mean() - 0.3) < 4 * math.sqrt(var / n)
    # Var of the sample variance ~ 2 var^2 / n for a normal mixture close to normal
    assert abs(y.var() - var) < 4 * var * math.sqrt(3 / n)
    lo = spec(se={"dist": "loguniform", "low": 0.1, "high": 10.0}, reps=2000)
    s_all = np.concatenate([draw(lo, lo.scenarios[0], r)[3] for r in range(2000)])
    assert stats.kstest(np.log(s_all), "uniform", args=(math.log(0.1), math.log(100))).pvalue > 1e-3


def test_classical_methods_match_the_engine():
    rng = np.random.default_rng(2)
    for _ in range(20):
        y, v = rng.normal(size=5), rng.uniform(0.05, 0.5, 5)
        est, se = fixed_effect(y, v)
        z = stats.norm.isf(0.025)
        assert classical("FE", y, v, 0.95) == pytest.approx((est, est - z * se, est + z * se))
        for name, (m, t) in {"DL-Wald": ("DL", "z"), "REML-HKSJ": ("REML", "knha"),
                             "PM-HKSJ": ("PM", "knha")}.items():  # fmt: skip
            f = rma(y, v, m, t)
            got = classical(name, y, v, 0.95)
            assert got == pytest.approx((f.beta[0], f.ci_low[0], f.ci_high[0]), rel=1e-12)
        qp = rma(y, v, "FE").qe_p
        assert q_pvalue(y, v) == pytest.approx(qp, rel=1e-10)
        rule = classical("review-rule", y, v, 0.95)
        expect = classical("FE" if qp >= 0.10 else "DL-Wald", y, v, 0.95)
        assert rule == expect


def test_review_rule_switches_on_heterogeneity():
    v = np.full(4, 0.01)
    homog = np.array([0.0, 0.05, -0.05, 0.02])
    heter = np.array([0.0, 1.0, -1.0, 2.0])
    assert classical("review-rule", homog, v, 0.95) == classical("FE", homog, v, 0.95)
    assert classical("review-rule", heter, v, 0.95) == classical("DL-Wald", heter, v, 0.95)


def test_bayes_rows_are_the_exact_posterior():
    s = spec(reps=3)
    rows = run_chunk(s, Chunk(0, 0, 0, 3))
    b = rows[rows["method"] == "B"].iloc[1]
    mu, _, y, se = draw(s, s.scenarios[0], 1)
    fit = NormalNormal(y, se, "halfnormal(0.5)", "normal(0, 4)")
    lo, hi = fit.mu.interval(0.95)
    assert (b["estimate"], b["ci_low"], b["ci_high"]) == pytest.approx((fit.mu.median, lo, hi))
    assert b["pit"] == pytest.approx(float(fit.mu.cdf(mu)))
    assert rows.loc[rows["method"] != "B", "pit"].isna().all()


def test_k2_and_tau0_edge_cases_have_defined_rows():
    """k = 2 (HKSJ on t_1) and tau = 0 give finite intervals for every method."""
    s = spec(k=2, tau=0.0, reps=10)
    rows = run_chunk(s, Chunk(0, 0, 0, 10))
    assert rows["ok"].all()
    hk = rows[rows["method"] == "REML-HKSJ"]
    fe = rows[rows["method"] == "FE"]
    assert (hk["ci_high"].to_numpy() - hk["ci_low"].to_numpy() >= 0).all()
    assert np.isfinite(fe[["ci_low", "ci_high"]].to_numpy()).all()

"""Performance measures and their Monte Carlo SEs, against hand computation and theory."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bayesmeta.simulate.metrics import measures, median_mcse, sbc_tests


def frame(est, lo, hi, mu=0.5, ok=None):
    n = len(est)
    return pd.DataFrame(
        {
            "mu_true": [mu] * n,
            "estimate": est,
            "ci_low": lo,
            "ci_high": hi,
            "ok": [True] * n if ok is None else ok,
        }
    )


def test_measures_by_hand():
    g = frame([0.4, 0.7, 1.5, 0.5], [0.0, -0.1, 1.0, 0.2], [1.0, 1.5, 2.0, 0.4],
              ok=[True, True, True, False])  # fmt: skip
    m = measures(g)
    assert (m["n"], m["n_failed"]) == (3, 1)
    # covered: [0,1] yes, [-0.1,1.5] yes, [1,2] no
    assert m["coverage"] == pytest.approx(2 / 3, abs=1e-15)
    assert m["coverage_mcse"] == pytest.approx(math.sqrt(2 / 9 / 3), abs=1e-15)
    w = np.array([1.0, 1.6, 1.0])
    assert m["width_mean"] == pytest.approx(w.mean(), abs=1e-15)
    assert m["width_mean_mcse"] == pytest.approx(w.std(ddof=1) / math.sqrt(3), abs=1e-15)
    assert m["width_median"] == pytest.approx(1.0, abs=1e-15)
    e = np.array([-0.1, 0.2, 1.0])
    assert m["bias"] == pytest.approx(e.mean(), abs=1e-15)
    assert m["bias_mcse"] == pytest.approx(e.std(ddof=1) / math.sqrt(3), abs=1e-15)
    rmse = math.sqrt(np.mean(e**2))
    assert m["rmse"] == pytest.approx(rmse, abs=1e-15)
    assert m["rmse_mcse"] == pytest.approx((e**2).std(ddof=1) / (2 * rmse * math.sqrt(3)))
    # excluding 0: [1, 2] only (the failed [0.2, 0.4] is not counted)
    assert m["excl0"] == pytest.approx(1 / 3, abs=1e-15)


def test_all_failed_gives_counts_only():
    m = measures(frame([np.nan], [np.nan], [np.nan], ok=[False]))
    assert m == {"n": 0, "n_failed": 1}


def test_mcse_formulas_match_replication_spread():
    """Each MCSE agrees with the SD of the measure over 400 independent studies (20 %)."""
    rng = np.random.default_rng(7)
    n, reps = 200, 400
    vals = {k: [] for k in ("coverage", "width_median", "rmse", "bias")}
    mcse = {k: [] for k in vals}
    for _ in range(reps):
        est = rng.normal(0.5, 1.0, n)
        half = rng.gamma(4.0, 0.5, n)
        m = measures(frame(est, est - half, est + half))
        for k in vals:
            vals[k].append(m[k])
            mcse[k].append(m[f"{k}_mcse"])
    for k in vals:
        assert np.mean(mcse[k]) == pytest.approx(np.std(vals[k], ddof=1), rel=0.2), k


def test_median_mcse_normal_theory():
    """For N(0, 1) samples the median's SE is sqrt(pi/2)/sqrt(n) (tolerance 10 %)."""
    rng = np.random.default_rng(3)
    n = 20000
    got = np.mean([median_mcse(rng.standard_normal(n)) for _ in range(20)])
    assert got == pytest.approx(math.sqrt(math.pi / 2 / n), rel=0.1)
    assert math.isnan(median_mcse(np.ones(3)))


def test_sbc_tests_accept_uniform_reject_skewed():
    rng = np.random.default_rng(11)
    u = rng.uniform(size=2000)
    ok = sbc_tests(u)
    assert ok["sbc_ks_p"] > 1e-3 and ok["sbc_chi2_p"] > 1e-3
    bad = sbc_tests(u**1.3)
    assert bad["sbc_ks_p"] < 1e-6 and bad["sbc_chi2_p"] < 1e-6
    assert math.isnan(sbc_tests(u[:5])["sbc_ks_p"])

"""Known operating characteristics reproduced by the simulation machinery.

Bounds are stated against the Monte Carlo SE at the nominal level,
``MCSE = sqrt(0.95 * 0.05 / n)``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from bayesmeta.simulate.metrics import SBC_BINS, sbc_tests, summarise
from bayesmeta.simulate.run import replicates
from bayesmeta.simulate.spec import parse_spec


def run(doc):
    s = parse_spec(doc)
    return summarise(replicates(s), s).set_index("method")


def nominal_mcse(n: int) -> float:
    return math.sqrt(0.95 * 0.05 / n)


def test_fe_covers_95_at_tau0():
    """tau = 0, k = 5, unequal SEs: FE coverage within 3 MCSE of 0.95 (n = 4000)."""
    n = 4000
    m = run({
        "study": {"name": "fe", "seed": 11, "replicates": n, "chunk_size": 1000,
                  "methods": ["FE"]},
        "scenarios": [{"name": "a", "k": 5, "mu": 1.0, "tau": 0.0,
                       "se": {"dist": "uniform", "low": 0.1, "high": 1.0}}],
    })  # fmt: skip
    assert m.loc["FE", "n"] == n
    assert abs(m.loc["FE", "coverage"] - 0.95) < 3 * nominal_mcse(n)
    assert abs(m.loc["FE", "bias"]) < 3 * m.loc["FE", "bias_mcse"]


def test_k3_large_tau_dl_undercovers_hksj_near_nominal():
    """k = 3, tau = 2 x SE: DL-Wald under-covers by more than 3 MCSE, HKSJ (REML, PM) is
    within 3 MCSE of 0.95 and closer to it than DL (IntHout et al. 2014, BMC Med Res Methodol
    14:25, Fig. 2: HKSJ near nominal, DL far below for few studies and large tau)."""
    n = 1000
    m = run({
        "study": {"name": "k3", "seed": 5, "replicates": n, "chunk_size": 500,
                  "methods": ["DL-Wald", "REML-HKSJ", "PM-HKSJ"]},
        "scenarios": [{"name": "a", "k": 3, "mu": 0.0, "tau": 2.0, "se": [1.0, 1.0, 1.0]}],
    })  # fmt: skip
    bound = 3 * nominal_mcse(n)
    dl = m.loc["DL-Wald", "coverage"]
    assert dl < 0.95 - bound
    for hk in ("REML-HKSJ", "PM-HKSJ"):
        assert abs(m.loc[hk, "coverage"] - 0.95) < bound
        assert abs(m.loc[hk, "coverage"] - 0.95) < abs(dl - 0.95)


SBC_DOC = {
    "study": {"name": "sbc", "seed": 5, "replicates": 500, "chunk_size": 250, "methods": []},
    "bayes": [
        {"name": "match", "tau_prior": "halfnormal(1)", "mu_prior": "normal(0, 3)"},
        {"name": "narrow", "tau_prior": "halfnormal(0.2)", "mu_prior": "normal(0, 3)"},
    ],
    "truth_prior": {"mu": "normal(0, 3)", "tau": "halfnormal(1)"},
    "scenarios": [{"name": "sbc", "k": 3, "mu": "prior", "tau": "prior",
                   "se": {"dist": "uniform", "low": 0.5, "high": 1.5}}],
}  # fmt: skip


def test_exact_engine_sbc_uniform():
    """Truth from the priors the engine declares: PIT of mu uniform (chi-square p > 0.001,
    every one of 10 bin counts inside its Bonferroni 99.9 % binomial bounds), coverage within
    3 MCSE of 0.95; a tau prior that is too narrow (halfnormal(0.2) vs truth halfnormal(1))
    is detected (p < 1e-6), so the check has power."""
    s = parse_spec(SBC_DOC)
    frame = replicates(s)
    m = summarise(frame, s).set_index("method")
    n = 500
    assert m.loc["match", "n"] == n
    assert m.loc["match", "sbc_chi2_p"] > 1e-3 and m.loc["match", "sbc_ks_p"] > 1e-3
    pit = frame.loc[frame["method"] == "match", "pit"].to_numpy(float)
    counts = np.bincount(np.minimum((pit * SBC_BINS).astype(int), SBC_BINS - 1),
                         minlength=SBC_BINS)  # fmt: skip
    a = 0.001 / SBC_BINS
    lo, hi = stats.binom.ppf([a / 2, 1 - a / 2], n, 1 / SBC_BINS)
    assert ((counts >= lo) & (counts <= hi)).all(), counts
    assert abs(m.loc["match", "coverage"] - 0.95) < 3 * nominal_mcse(n)
    # SBC is reported only where the method's priors are the truth priors
    assert np.isnan(m.loc["narrow", "sbc_chi2_p"])
    narrow = frame.loc[frame["method"] == "narrow", "pit"].to_numpy(float)
    assert stats.kstest(narrow, "uniform").pvalue < 1e-3
    assert sbc_tests(narrow)["sbc_chi2_p"] < 1e-6

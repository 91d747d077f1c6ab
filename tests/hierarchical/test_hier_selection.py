"""The Bayesian step-function selection model (bayesmeta.hierarchical.selection).

* Flat-prior limit: with flat priors on mu, tau and the weights, the posterior mode (no
  Jacobian) is the ML fit; it matches metafor ``selmodel`` (fixture
  tests/fixtures/selection.json, from tests/fixtures/make_selection_fixtures.R) to 2e-5
  relative for mu, tau^2 and the weights (metafor's own optimum is good to about 5e-5:
  tests/classical/test_selection.py), and the log density at the mode equals the ML
  log-likelihood to 1e-8 relative.
* Calibration: simulation-based calibration with known selection (truth drawn from the
  prior, studies drawn by `simulate_selected`): the PITs of mu, tau and the weight of the
  non-significant interval are uniform (chi-square on 5 bins, p > 0.001) over 60 data sets,
  and the 90 % intervals cover the truth within the binomial 99.9 % range.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

pytest.importorskip("nutpie")

from bayesmeta.classical.selection import simulate_selected, step_selection  # noqa: E402
from bayesmeta.errors import InputError  # noqa: E402
from bayesmeta.hierarchical.selection import BayesianSelection  # noqa: E402
from bayesmeta.simulate.metrics import sbc_tests  # noqa: E402

FIX = json.loads((Path(__file__).parents[1] / "fixtures" / "selection.json").read_text())


@pytest.mark.parametrize("i", [0, 1, 3])
def test_flat_prior_mode_is_metafors_ml(i):
    c = FIX["selmodel"][i]
    s = FIX["sets"][c["set"]]
    bs = BayesianSelection(c["steps"], alternative=c["alternative"], mu_prior="flat",
                           tau_prior="flat", weights="flat")  # fmt: skip
    m = bs.mode(s["yi"], s["vi"])
    assert m["mu"] == pytest.approx(c["beta"], rel=2e-5)
    assert m["tau2"] == pytest.approx(c["tau2"], rel=2e-5)
    np.testing.assert_allclose(m["omega"], c["delta"], rtol=2e-5)
    ml = step_selection(s["yi"], s["vi"], c["steps"], alternative=c["alternative"])
    assert m["logp"] == pytest.approx(ml.ll, rel=1e-8)


def test_bad_settings_are_refused():
    with pytest.raises(InputError, match="cut points"):
        BayesianSelection(steps=(0.0,))
    with pytest.raises(InputError, match="weights"):
        BayesianSelection(weights="uniform")
    with pytest.raises(InputError, match="at least 3"):
        BayesianSelection().model([0.1, 0.2], [0.01, 0.02])


@pytest.mark.slow
def test_sbc_with_known_selection():
    rng = np.random.default_rng(20261130)
    v = np.linspace(0.02, 0.12, 12)
    pits, covered = {"mu": [], "tau": [], "omega": []}, {"mu": 0, "tau": 0, "omega": 0}
    reps = 60
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(reps):
            mu, tau = rng.normal(0, 0.5), abs(rng.normal(0, 0.3))
            omega2 = rng.uniform()  # cumulative Dirichlet(1, 1): omega_2 = eta_2 ~ U(0, 1)
            y = simulate_selected(rng, mu, tau, [1.0, omega2], v)
            bs = BayesianSelection((0.025,), mu_prior="normal(0, 0.5)",
                                   tau_prior="halfnormal(0.3)", draws=200, tune=400,
                                   chains=2, seed=int(rng.integers(1 << 30))).fit(y, v)  # fmt: skip
            draws = {"mu": bs.draws_of("mu"), "tau": bs.draws_of("tau"),
                     "omega": bs.draws_of("omega")[:, 1]}  # fmt: skip
            for name, truth in (("mu", mu), ("tau", tau), ("omega", omega2)):
                d = draws[name]
                pits[name].append(float(np.mean(d < truth)))
                lo, hi = np.quantile(d, [0.05, 0.95])
                covered[name] += int(lo <= truth <= hi)
    lo, hi = stats.binom.ppf([0.0005, 0.9995], reps, 0.9)
    for name in pits:
        assert sbc_tests(np.asarray(pits[name]), bins=5)["sbc_chi2_p"] > 0.001, name
        assert lo <= covered[name] <= hi, (name, covered[name])


def test_simulated_selection_removes_nonsignificant_results():
    """Closed form: with weights (1, 0) and mu = tau = 0 every kept z exceeds 1.96; with
    weights (1, 1) the draws are N(0, v) (KS p > 0.001)."""
    rng = np.random.default_rng(3)
    v = np.full(2000, 0.04)
    y = simulate_selected(rng, 0.0, 0.0, [1.0, 0.0], v)
    assert np.all(y / 0.2 > stats.norm.ppf(0.975))
    z = simulate_selected(rng, 0.0, 0.0, [1.0, 1.0], v) / 0.2
    assert stats.kstest(z, "norm").pvalue > 0.001

"""Model averaging against R bayesmeta 3.4 (tests/fixtures/bias.json, made by
tests/fixtures/make_bias_fixtures.R): with mu ~ N(0, 1) and tau ~ half-normal(0.5),
bayesmeta's marginal likelihood is the random-effects model's, and its Bayes factors for
tau = 0 and mu = 0 give the fixed-effect and the no-effect random model's (to 1e-6
relative); the fixed, no-effect model is a product of normal densities."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from bayesmeta.errors import InputError
from bayesmeta.exact.averaging import model_average

FIX = json.loads((Path(__file__).parents[1] / "fixtures" / "bias.json").read_text())["sets"]


@pytest.mark.parametrize("name", sorted(FIX))
def test_marginal_likelihoods_match_r_bayesmeta(name):
    r = FIX[name]
    y, v = np.asarray(r["yi"]), np.asarray(r["vi"])
    ma = model_average(y, np.sqrt(v), mu_prior="normal(0, 1)", tau_prior="halfnormal(0.5)")
    lm = ma.table.set_index("model")["log_marginal"]
    ref = r["bayesmeta"]
    assert lm["random, effect"] == pytest.approx(math.log(ref["marginal"]), abs=1e-6)
    assert lm["fixed, effect"] - lm["random, effect"] == pytest.approx(
        math.log(ref["bf01_tau0"]), abs=1e-6)  # fmt: skip
    assert lm["random, no effect"] - lm["random, effect"] == pytest.approx(
        math.log(ref["bf01_mu0"]), abs=1e-6)  # fmt: skip
    assert lm["fixed, no effect"] == pytest.approx(
        float(np.sum(stats.norm.logpdf(y, 0, np.sqrt(v)))), rel=1e-12)  # fmt: skip
    post = ma.table["posterior"].to_numpy()
    assert post.sum() == pytest.approx(1.0) and 0 <= ma.p_effect <= 1
    odds = (post[1] + post[3]) / (post[0] + post[2])
    assert ma.bf_effect == pytest.approx(odds, rel=1e-12)  # equal prior odds


def test_prior_model_probabilities_and_bad_priors():
    y, s = [0.1, 0.3, 0.5], [0.1, 0.2, 0.15]
    a = model_average(y, s, mu_prior="normal(0, 1)", tau_prior="halfnormal(0.5)")
    b = model_average(y, s, mu_prior="normal(0, 1)", tau_prior="halfnormal(0.5)",
                      prior_probs=(0.4, 0.1, 0.4, 0.1))  # fmt: skip
    assert b.bf_effect == pytest.approx(a.bf_effect, rel=1e-12)  # BFs do not depend on them
    assert b.p_effect < a.p_effect
    with pytest.raises(InputError, match="proper normal mu prior"):
        model_average(y, s, mu_prior="flat")
    with pytest.raises(InputError, match="proper tau prior"):
        model_average(y, s, mu_prior="normal(0, 1)", tau_prior="flat")

"""Step-function selection models and fail-safe N against R metafor 3.8.1.

Reference: ``selmodel(rma(yi, vi, method="ML"), type="stepfun", steps=..., alternative=...)``
and ``fsn(type="Rosenthal" | "Orwin" | "Rosenberg")`` on four real data sets (one with k =
48), 7 selection cases with 1 or 2 cut points and all three alternatives. Fixture:
tests/fixtures/selection.json, made by tests/fixtures/make_selection_fixtures.R.

Tolerances:
* the log-likelihood evaluated at metafor's estimates equals metafor's ``ll`` to 1e-10
  relative: this checks the likelihood itself, exactly;
* the maximum found here is at least metafor's (its optim stops up to 3e-10 below it), and
  ``ll``, ``ll0`` and the LRT agree to 1e-8 relative;
* mu, tau^2, the weights and their SEs agree to 5e-5 relative: the likelihood is flat enough
  near its maximum that metafor's optimum pins the parameters only to about that (its ll is
  up to 3e-10 below the maximum found here); fail-safe N exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bayesmeta.classical import selection as S
from bayesmeta.classical.bias import fsn_orwin, fsn_rosenberg, fsn_rosenthal, small_study_summary
from bayesmeta.errors import InputError

FIX = json.loads((Path(__file__).parents[1] / "fixtures" / "selection.json").read_text())
CASES = FIX["selmodel"]
IDS = [f"{c['set']}-{c['alternative']}-{np.atleast_1d(c['steps']).tolist()}" for c in CASES]
PAR = 5e-5


def case_data(c):
    s = FIX["sets"][c["set"]]
    steps = np.append(np.atleast_1d(np.asarray(c["steps"], float)), 1.0)
    return np.asarray(s["yi"]), np.asarray(s["vi"]), steps


@pytest.mark.parametrize("c", CASES, ids=IDS)
def test_likelihood_at_metafors_estimates_is_metafors_ll(c):
    y, v, steps = case_data(c)
    group = S._groups(S.p_values(y, v, c["alternative"]), steps)
    ll = S._loglik(c["beta"], c["tau2"], np.asarray(c["delta"]), y, v, group, steps,
                   c["alternative"])  # fmt: skip
    assert ll == pytest.approx(c["ll"], rel=1e-10)
    assert np.bincount(group, minlength=steps.size).tolist() == c["k_per_interval"]


@pytest.mark.parametrize("c", CASES, ids=IDS)
def test_ml_fit_matches_selmodel(c):
    y, v, _ = case_data(c)
    fit = S.step_selection(y, v, c["steps"], alternative=c["alternative"])
    assert fit.ll >= c["ll"] - 1e-12
    assert fit.ll == pytest.approx(c["ll"], rel=1e-8)
    assert fit.ll0 == pytest.approx(c["ll0"], rel=1e-8)
    assert fit.lrt == pytest.approx(c["LRT"], rel=1e-6, abs=1e-8)
    assert fit.lrt_df == c["LRTdf"]
    assert fit.lrt_p == pytest.approx(c["LRTp"], rel=1e-6)
    assert fit.estimate == pytest.approx(c["beta"], rel=PAR)
    assert fit.tau2 == pytest.approx(c["tau2"], rel=PAR)
    np.testing.assert_allclose(fit.delta, c["delta"], rtol=PAR)
    assert fit.se == pytest.approx(c["se"], rel=PAR)
    assert fit.se_tau2 == pytest.approx(c["se_tau2"], rel=PAR)
    np.testing.assert_allclose(fit.se_delta[1:], c["se_delta"][1:], rtol=PAR)
    assert fit.ci_low == pytest.approx(c["ci_lb"], rel=PAR, abs=PAR * c["se"])
    assert fit.ci_high == pytest.approx(c["ci_ub"], rel=PAR, abs=PAR * c["se"])
    assert fit.p == pytest.approx(c["pval"], rel=1e-3)


@pytest.mark.parametrize("name", sorted(FIX["fsn"]))
def test_fail_safe_n_matches_fsn(name):
    s, ref = FIX["sets"][name], FIX["fsn"][name]
    y, v = s["yi"], s["vi"]
    assert fsn_rosenthal(y, v) == ref["rosenthal"]
    assert fsn_orwin(y, v) == ref["orwin"]
    assert fsn_orwin(y, v, weighted=True) == ref["orwin_weighted"]
    assert fsn_orwin(y, v, target=0.05) == ref["orwin_target"]
    assert fsn_rosenberg(y, v) == ref["rosenberg"]


def test_no_selection_in_the_data_gives_lrt_near_zero():
    """Closed form: with every delta fixed at 1 the model is the ML random-effects model, so
    ll0 is metafor's rma(method="ML") log-likelihood (fixture ll0, 1e-8)."""
    c = CASES[0]
    y, v, _ = case_data(c)
    fit = S.step_selection(y, v, c["steps"])
    assert fit.ll >= fit.ll0
    assert fit.lrt == pytest.approx(2 * (fit.ll - fit.ll0), abs=1e-12)


def test_an_empty_interval_is_refused_with_the_interval():
    y = np.array([0.1, 0.05, -0.02, 0.08, 0.03, 0.0])
    v = np.full(6, 0.04)  # every p value > 0.025
    with pytest.raises(InputError, match=r"\(0, 0.025\]"):
        S.step_selection(y, v)


def test_too_few_studies_and_bad_steps_are_refused():
    with pytest.raises(InputError, match="needs more than 3 studies"):
        S.step_selection([0.5, 0.1, 0.9], [0.01, 0.04, 0.02])
    with pytest.raises(InputError, match="cut points"):
        S.step_selection([0.5, 0.1, 0.9, 0.2, 0.3], [0.01] * 5, steps=[1.5])
    with pytest.raises(InputError, match="alternative"):
        S.step_selection([0.5, 0.1, 0.9, 0.2, 0.3], [0.01] * 5, alternative="up")  # type: ignore[arg-type]


def test_summary_carries_the_selection_model_or_the_reason():
    c = CASES[2]
    y, v, _ = case_data(c)
    out = small_study_summary(y, v)
    assert out["selection"]["estimate"] == pytest.approx(c["beta"], rel=PAR)
    assert out["selection"]["lrt"] == pytest.approx(c["LRT"], rel=1e-6)
    small = small_study_summary([0.1, 0.05, -0.02, 0.08], [0.04, 0.05, 0.03, 0.06])
    assert small["selection"] is None and "not identified" in small["selection_note"]

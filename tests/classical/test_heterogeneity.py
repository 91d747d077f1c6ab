"""Q-profile CI for tau^2 against metafor 3.8.1 ``confint(res, type = "QP")``.

R: ``res <- rma(yi, vi, method = M); ci <- confint(res)$random`` (rows tau^2, I^2(%), H^2;
plus ``ci.null``, ``lb.sign``, ``ub.sign``); tests/fixtures/make_metafor_fixtures.R.
Tolerance: relative 1e-6, absolute 1e-10 (metafor's uniroot is reproduced step for step).
"""

import json
from pathlib import Path

import numpy as np
import pytest

from bayesmeta.classical import heterogeneity, rma, tau2_ci_qprofile

FIX = json.loads((Path(__file__).parents[1] / "fixtures" / "metafor.json").read_text())
DATA = FIX["datasets"]
CASES = [(d, m) for d in DATA for m in DATA[d]["fits"] if m != "FE"]


@pytest.mark.parametrize(("name", "method"), CASES)
def test_qprofile_ci_matches_metafor(name, method):
    ds, ref = DATA[name], DATA[name]["fits"][method]["z"]
    fit = rma(ds["yi"], ds["vi"], method)
    ci, _ = tau2_ci_qprofile(ds["yi"], ds["vi"], fit.tau2)
    r = ref["tau2_ci"]
    np.testing.assert_allclose([ci.lb, ci.ub], [r["lb"], r["ub"]], rtol=1e-6, atol=1e-10)
    assert (ci.lb_sign, ci.ub_sign, ci.ci_null) == (r["lb_sign"], r["ub_sign"], r["ci_null"])
    i2 = [100 * t / (fit.vt + t) for t in (ci.lb, ci.ub)]
    h2 = [t / fit.vt + 1 for t in (ci.lb, ci.ub)]
    np.testing.assert_allclose(i2, [r["I2_lb"], r["I2_ub"]], rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(h2, [r["H2_lb"], r["H2_ub"]], rtol=1e-6, atol=1e-10)


def test_boundary_conventions():
    """Q(0) below the lower quantile: CI [0, 0] ("null"); k = 2 with large Q: upper bound
    beyond the search limit 100 is reported as 100 and flagged '>' (as metafor)."""
    ds = DATA["homogeneous"]
    ci, _ = tau2_ci_qprofile(ds["yi"], ds["vi"], 0.0)
    assert (ci.lb, ci.ub, ci.ci_null) == (0.0, 0.0, True)
    ds = DATA["k2"]
    ci, tmax = tau2_ci_qprofile(ds["yi"], ds["vi"], 0.34)
    assert ci.ub == tmax == 100 and ci.ub_sign == ">"
    assert any("search limit" in n for n in ci.notes(tmax))


def test_typical_within_study_variance_formula():
    """s^2 = (k-1) sum w / ((sum w)^2 - sum w^2) (Higgins & Thompson 2002) equals (k-p)/tr P."""
    ds = DATA["crins2014"]
    w = 1 / np.asarray(ds["vi"])
    k = w.size
    s2 = (k - 1) * w.sum() / (w.sum() ** 2 - np.sum(w**2))
    _, _, vt, _, _ = heterogeneity(
        np.asarray(ds["yi"]), np.asarray(ds["vi"]), np.ones((k, 1)), 0.1, fe=False
    )
    assert vt == pytest.approx(s2, rel=1e-12)

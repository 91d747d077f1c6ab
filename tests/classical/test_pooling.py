"""rma() pooling, heterogeneity, prediction intervals and BLUPs against metafor 3.8.1.

R (tests/fixtures/make_metafor_fixtures.R), for M in FE, DL, REML, ML, PM, EB, SJ, HE and
T in z, knha, adhoc::

    res <- rma(yi, vi, method = M, test = T)
    c(res$beta, res$se, res$ci.lb, res$ci.ub, res$pval, res$QE, res$QEp, res$I2, res$H2)
    weights(res); predict(res); predict(res, pi.type = "riley"); predict(res, pi.type = "t")
    blup(res)

Tolerance: relative 1e-6, absolute 1e-10.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from bayesmeta.classical import blup, fixed_effect, prediction_interval, rma
from bayesmeta.errors import InputError

FIX = json.loads((Path(__file__).parents[1] / "fixtures" / "metafor.json").read_text())
DATA = FIX["datasets"]
CASES = [(d, m, t) for d in DATA for m in DATA[d]["fits"] for t in DATA[d]["fits"][m]]


def close(actual, expected):
    np.testing.assert_allclose(
        np.asarray(actual, float), np.asarray(expected, float), rtol=1e-6, atol=1e-10
    )


@pytest.mark.parametrize(("name", "method", "test"), CASES)
def test_rma_matches_metafor(name, method, test):
    ds, ref = DATA[name], DATA[name]["fits"][method][test]
    fit = rma(ds["yi"], ds["vi"], method, test)
    close(fit.beta[0], ref["estimate"])
    close(fit.se[0], ref["se"])
    close([fit.ci_low[0], fit.ci_high[0]], [ref["ci_lb"], ref["ci_ub"]])
    close(fit.zval[0], ref["zval"])
    close(fit.pval[0], ref["pval"])
    close(fit.tau2, ref["tau2"])
    close([fit.qe, fit.qe_p, fit.i2, fit.h2], [ref["QE"], ref["QEp"], ref["I2"], ref["H2"]])
    assert fit.k - fit.p == ref["QE_df"]
    close(fit.weights, ref["weights"])
    b = blup(fit)
    close(b["pred"], ref["blup"]["pred"])
    close(b["se"], ref["blup"]["se"])
    close(b["pi_low"], ref["blup"]["pi_lb"])
    close(b["pi_high"], ref["blup"]["pi_ub"])
    if method == "FE":
        assert prediction_interval(fit) is None
        return
    for kind, key in (("default", "pi"), ("riley", "pi_riley"), ("t", "pi_t")):
        close(prediction_interval(fit, pi_type=kind), [ref[f"{key}_lb"], ref[f"{key}_ub"]])


def test_fixed_effect_function():
    ds, ref = DATA["normand1999_HO"], DATA["normand1999_HO"]["fits"]["FE"]["z"]
    est, se = fixed_effect(ds["yi"], ds["vi"])
    close([est, se], [ref["estimate"], ref["se"]])


def test_knha_untruncated_vs_truncated():
    """Homogeneous data: the KH factor s^2 < 1, so knha is narrower than adhoc (s^2 := 1)."""
    ds = DATA["homogeneous"]
    kh = rma(ds["yi"], ds["vi"], "REML", "knha")
    adhoc = rma(ds["yi"], ds["vi"], "REML", "adhoc")
    assert kh.s2w < 1 and adhoc.s2w == 1
    assert kh.se[0] < adhoc.se[0]


def test_rma_bad_arguments():
    ds = DATA["rubin1981"]
    with pytest.raises(InputError, match="level"):
        rma(ds["yi"], ds["vi"], level=95)
    with pytest.raises(InputError, match="unknown ci method"):
        rma(ds["yi"], ds["vi"], test="bootstrap")
    fit = rma(ds["yi"], ds["vi"])
    with pytest.raises(InputError, match="prediction-interval type"):
        prediction_interval(fit, pi_type="bayes")

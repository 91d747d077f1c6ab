"""tau^2 estimators against metafor 3.8.1 (tests/fixtures/metafor.json).

R (tests/fixtures/make_metafor_fixtures.R), for every data set and M in FE, DL, REML, ML, PM,
EB, SJ, HE:  ``res <- rma(yi, vi, method = M); res$tau2; res$se.tau2``.
Tolerance: relative 1e-6, absolute 1e-10 (values at 0).
"""

import json
from pathlib import Path

import numpy as np
import pytest

from bayesmeta.classical import (
    estimate_tau2,
    tau2_dl,
    tau2_eb,
    tau2_he,
    tau2_ml,
    tau2_pm,
    tau2_reml,
    tau2_sj,
)
from bayesmeta.errors import ConvergenceError, InputError

FIX = json.loads((Path(__file__).parents[1] / "fixtures" / "metafor.json").read_text())
DATA = FIX["datasets"]
CASES = [(d, m) for d in DATA for m in DATA[d]["fits"] if m != "FE"]
FUNCS = {
    "DL": tau2_dl,
    "HE": tau2_he,
    "SJ": tau2_sj,
    "PM": tau2_pm,
    "EB": tau2_eb,
    "ML": tau2_ml,
    "REML": tau2_reml,
}


@pytest.mark.parametrize(("name", "method"), CASES)
def test_tau2_matches_metafor(name, method):
    ds, ref = DATA[name], DATA[name]["fits"][method]["z"]
    est = estimate_tau2(ds["yi"], ds["vi"], method)
    np.testing.assert_allclose(est.tau2, ref["tau2"], rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(est.se_tau2, ref["se_tau2"], rtol=1e-6, atol=1e-10)
    assert FUNCS[method](ds["yi"], ds["vi"]) == est.tau2


def test_fixed_effect_tau2_is_zero():
    ds = DATA["bcg"]
    assert estimate_tau2(ds["yi"], ds["vi"], "fe").tau2 == 0.0


def test_eb_and_pm_estimate_the_same_quantity():
    """EB (metafor's Morris iteration) and PM (uniroot) solve Q(tau^2) = k - 1."""
    for name in DATA:
        ds = DATA[name]
        pm = tau2_pm(ds["yi"], ds["vi"])
        eb = tau2_eb(ds["yi"], ds["vi"])
        assert abs(pm - eb) <= 1e-3 * max(1.0, pm), name


def test_truncation_at_zero():
    """Homogeneous data: every estimator truncates at 0 (metafor gives 0 too)."""
    ds = DATA["homogeneous"]
    for m in ("DL", "HE", "PM", "EB", "ML", "REML"):
        assert estimate_tau2(ds["yi"], ds["vi"], m).tau2 == 0.0
        assert DATA["homogeneous"]["fits"][m]["z"]["tau2"] == 0.0


def test_method_names_case_insensitive_and_unknown():
    ds = DATA["rubin1981"]
    assert tau2_reml(ds["yi"], ds["vi"]) == estimate_tau2(ds["yi"], ds["vi"], "reml").tau2
    with pytest.raises(InputError, match="unknown method 'XYZ'.*DL, REML"):
        estimate_tau2(ds["yi"], ds["vi"], "XYZ")


def test_reml_non_convergence_raises_with_reason():
    ds = DATA["bcg"]
    with pytest.raises(
        ConvergenceError,
        match=r"REML Fisher scoring did not converge in 1 "
        r"iterations \(last change in tau\^2",
    ):
        estimate_tau2(ds["yi"], ds["vi"], "REML", control={"maxiter": 1})


def test_pm_search_limit_too_low_raises():
    ds = DATA["bcg"]
    with pytest.raises(ConvergenceError, match="tau2_max"):
        estimate_tau2(ds["yi"], ds["vi"], "PM", control={"tau2_max": 1e-3})


def test_single_study_and_bad_input():
    with pytest.raises(InputError, match="not estimable from k = 1"):
        tau2_dl([0.1], [0.01])
    with pytest.raises(InputError, match="vi"):
        tau2_dl([0.1, 0.2], [0.01, -1.0])
    with pytest.raises(InputError, match="differ in length"):
        tau2_dl([0.1, 0.2], [0.01])
    with pytest.raises(InputError, match="not finite"):
        tau2_dl([0.1, np.nan], [0.01, 0.02])
    with pytest.raises(InputError, match="unknown control"):
        estimate_tau2([0.1, 0.2], [0.01, 0.02], control={"max_iter": 3})


def test_huge_variance_does_not_break_estimators():
    """A study with vi = 1e12 carries no information: the (RE)ML likelihood ignores it, so
    tau^2 equals that without it (moment estimators count it in k - 1, so only finiteness)."""
    yi, vi = [0.3, -0.2, 0.9, 0.1], [0.02, 0.05, 0.03, 1e12]
    for m in ("REML", "ML"):
        with_huge = estimate_tau2(yi, vi, m).tau2
        without = estimate_tau2(yi[:3], vi[:3], m).tau2
        np.testing.assert_allclose(with_huge, without, rtol=1e-4, err_msg=m)
    for m in ("DL", "PM", "EB", "SJ", "HE"):
        assert np.isfinite(estimate_tau2(yi, vi, m).tau2), m

"""Subgroup analyses through pool() against metafor 3.8.1.

R (tests/fixtures/make_metafor_fixtures.R, ``subgroup_record``), for each method M and test T:

* separate tau^2: ``r_g <- rma(yi[g == lv], vi[g == lv], method = M, test = T)`` per level,
  then ``rma(est_g, sei = se_g, method = "FE")$QE`` / ``$QEp`` (test for subgroup differences);
* common tau^2: ``m1 <- rma(yi, vi, mods = ~ factor(g), method = M, test = T)`` (QM, QMdf, QMp,
  tau2, QE, I2, H2) and ``m0 <- rma(yi, vi, mods = ~ factor(g) - 1, ...)`` (per-level beta, se,
  CI) with ``predict(m0, newmods = diag(G))``.

Tolerance: relative 1e-6, absolute 1e-10.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from bayesmeta.classical import Control, pool
from bayesmeta.classical.fit import Spec
from bayesmeta.classical.subgroups import subgroup_analysis
from bayesmeta.errors import ConvergenceError, InputError
from bayesmeta.studies import StudyTable

FIX = json.loads((Path(__file__).parents[1] / "fixtures" / "metafor.json").read_text())
DATA = FIX["datasets"]
CASES = [
    (d, m, t)
    for d in DATA
    if "subgroups" in DATA[d]
    for m in DATA[d]["subgroups"]
    for t in DATA[d]["subgroups"][m]
]


def close(actual, expected):
    np.testing.assert_allclose(
        np.asarray(actual, float), np.asarray(expected, float), rtol=1e-6, atol=1e-10
    )


def table(name):
    ds = DATA[name]
    return StudyTable.from_arrays(ds["yi"], ds["vi"], study=ds["study"], subgroup=ds["subgroup"])


@pytest.mark.parametrize(("name", "method", "test"), CASES)
def test_separate_tau2(name, method, test):
    ref = DATA[name]["subgroups"][method][test]
    res = pool(table(name), method=method, ci=test, subgroup=True, knha_truncate=test == "adhoc")
    assert sorted(res.subgroups) == sorted(ref["levels"])
    for lv, r in ref["separate"].items():
        sub = res.subgroups[lv]
        close(
            [sub.estimate, sub.se, sub.ci_low, sub.ci_high],
            [r["estimate"], r["se"], r["ci_lb"], r["ci_ub"]],
        )
        close([sub.q, sub.q_p, sub.i2, sub.h2], [r["QE"], r["QEp"], r["I2"], r["H2"]])
        close(sub.studies["weight"], r["weights"])
        if method == "FE":
            assert sub.tau2 is None and sub.pi_low is None
        else:
            close([sub.tau2, sub.pi_low, sub.pi_high], [r["tau2"], r["pi_lb"], r["pi_ub"]])
            close([sub.tau2_ci_low, sub.tau2_ci_high], [r["tau2_ci"]["lb"], r["tau2_ci"]["ub"]])
    close([res.q_between, res.q_between_p], [ref["q_between"], ref["q_between_p"]])
    assert res.q_between_df == ref["q_between_df"] == len(ref["levels"]) - 1


@pytest.mark.parametrize(("name", "method", "test"), CASES)
def test_common_tau2(name, method, test):
    ref = DATA[name]["subgroups"][method][test]["common"]
    res = pool(
        table(name),
        method=method,
        ci=test,
        subgroup=True,
        tau2_common=True,
        knha_truncate=test == "adhoc",
    )
    close([res.q_between, res.q_between_p], [ref["QM"], ref["QMp"]])
    assert res.q_between_df == ref["QM_df"][0]
    resid = res.extra["residual"]
    close(
        [resid["q"], resid["q_p"], resid["i2"], resid["h2"]],
        [ref["QE"], ref["QEp"], ref["I2"], ref["H2"]],
    )
    assert resid["q_df"] == ref["QE_df"]
    if test != "z":
        assert res.extra["q_between_df2"] == ref["QM_df"][1]
    for j, lv in enumerate(ref["levels"]):
        sub = res.subgroups[lv]
        close(
            [sub.estimate, sub.se, sub.ci_low, sub.ci_high],
            [ref["estimate"][j], ref["se"][j], ref["ci_lb"][j], ref["ci_ub"][j]],
        )
        if method == "FE":
            assert sub.tau2 is None
        else:
            close([sub.tau2, resid["tau2"]], [ref["tau2"], ref["tau2"]])
            close([sub.pi_low, sub.pi_high], [ref["pi_lb"][j], ref["pi_ub"][j]])
        # within-subgroup Cochran Q does not depend on tau^2: equals the separate fit's QE
        sep = DATA[name]["subgroups"][method][test]["separate"][lv]
        close([sub.q, sub.q_p], [sep["QE"], sep["QEp"]])


def test_fe_subgroup_test_is_the_same_both_ways():
    """Under FE the moderator QM equals the FE Q of subgroup estimates (sanity identity)."""
    sep = pool(table("bcg"), method="FE", subgroup=True)
    com = pool(table("bcg"), method="FE", subgroup=True, tau2_common=True)
    assert sep.q_between == pytest.approx(com.q_between, rel=1e-10)


def test_single_study_subgroup_under_knha_falls_back_to_wald():
    t = StudyTable.from_arrays(
        [0.1, 0.3, 0.2, 0.9], [0.01, 0.02, 0.015, 0.05], subgroup=["a", "a", "a", "b"]
    )
    res = pool(t, method="REML", ci="knha", subgroup=True)
    b = res.subgroups["b"]
    assert b.k == 1 and b.tau2 is None and b.ci_method == "wald"
    assert b.estimate == 0.9 and b.se == pytest.approx(np.sqrt(0.05))
    assert any("subgroup b" in w and "Wald" in w for w in res.warnings)
    assert res.q_between is not None and res.q_between_df == 1


def test_subgroup_non_convergence_names_the_subgroup():
    spec = Spec(method="REML", control=Control(maxiter=1))
    with pytest.raises(ConvergenceError, match="subgroup random: REML Fisher scoring"):
        subgroup_analysis(table("bcg"), spec, tau2_common=False)
    with pytest.raises(ConvergenceError, match="common-tau"):
        subgroup_analysis(table("bcg"), spec, tau2_common=True)


@pytest.mark.parametrize("tau2_common", [False, True])
def test_subgroup_analysis_without_subgroups_is_an_input_error(tau2_common):
    t = StudyTable.from_arrays([0.1, 0.3, 0.2], [0.01, 0.02, 0.015])
    with pytest.raises(InputError, match="no subgroup column"):
        subgroup_analysis(t, Spec(), tau2_common=tau2_common)

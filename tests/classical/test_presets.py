"""Presets (revman5, cochrane2025) and the reference review's model-choice rule.

Numbers are checked against metafor 3.8.1 fixtures: revman5 = ``rma(yi, vi, method = "DL")``,
cochrane2025 = ``rma(yi, vi, method = "REML", test = "knha")`` with ``predict()`` and
``confint()``; the rule against ``rma(yi, vi, method = "FE")$QEp``.
Tolerance: relative 1e-6, absolute 1e-10.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from bayesmeta.classical import pool
from bayesmeta.classical.presets import review_rule_method
from bayesmeta.errors import InputError
from bayesmeta.studies import StudyTable

FIX = json.loads((Path(__file__).parents[1] / "fixtures" / "metafor.json").read_text())
DATA = FIX["datasets"]


def table(name, subgroup=False):
    ds = DATA[name]
    return StudyTable.from_arrays(
        ds["yi"], ds["vi"], study=ds["study"], subgroup=ds["subgroup"] if subgroup else None
    )


def test_revman5():
    ref = DATA["bcg"]["fits"]["DL"]["z"]
    res = pool(table("bcg", True), preset="revman5", subgroup=True)
    assert (res.method, res.ci_method) == ("DL", "wald")
    assert res.pi_low is None and res.tau2_ci_low is None
    np.testing.assert_allclose(
        [res.estimate, res.ci_low, res.tau2],
        [ref["estimate"], ref["ci_lb"], ref["tau2"]],
        rtol=1e-6,
    )
    assert res.settings["preset"] == "revman5"
    assert "separate tau^2" in res.settings["subgroups"]
    sep = DATA["bcg"]["subgroups"]["DL"]["z"]
    np.testing.assert_allclose(res.q_between, sep["q_between"], rtol=1e-6)
    # RevMan's Q-based I^2 equals metafor's tau^2-based I^2 under DL
    assert res.i2 == pytest.approx(100 * (res.q - res.q_df) / res.q, rel=1e-10)


def test_cochrane2025():
    ref = DATA["crins2014"]["fits"]["REML"]["knha"]
    res = pool(table("crins2014"), preset="cochrane2025")
    assert (res.method, res.ci_method) == ("REML", "hksj")
    np.testing.assert_allclose(
        [res.ci_low, res.ci_high, res.pi_low, res.pi_high, res.tau2_ci_low, res.tau2_ci_high],
        [
            ref["ci_lb"],
            ref["ci_ub"],
            ref["pi_lb"],
            ref["pi_ub"],
            ref["tau2_ci"]["lb"],
            ref["tau2_ci"]["ub"],
        ],
        rtol=1e-6,
    )
    for key in ("estimator", "mu_ci", "tau2_ci", "prediction", "variance", "preset"):
        assert f"{key}=" in res.describe()


def test_explicit_arguments_override_a_preset_and_say_so():
    res = pool(table("crins2014"), preset="cochrane2025", method="DL")
    assert res.method == "DL" and res.ci_method == "hksj"
    assert res.settings["preset"] == "cochrane2025 (overridden: method=DL)"


@pytest.mark.parametrize("name", ["homogeneous", "crins2014", "bcg", "rubin1981"])
def test_review_rule(name):
    """FE when Cochran's Q p >= 0.10, DL otherwise (Zhang et al. 2020, RevMan 5.3)."""
    qp = DATA[name]["fits"]["FE"]["z"]["QEp"]
    res = pool(table(name), preset="revman5", rule="review")
    expect = "FE" if qp >= 0.10 else "DL"
    assert res.method == expect == review_rule_method(qp)
    ref = DATA[name]["fits"][expect]["z"]
    np.testing.assert_allclose(
        [res.estimate, res.ci_low, res.ci_high],
        [ref["estimate"], ref["ci_lb"], ref["ci_ub"]],
        rtol=1e-6,
    )
    assert f"-> {expect}" in res.settings["rule"]


def test_revman5_rule_preset_name():
    res = pool(table("homogeneous"), preset="RevMan5-rule")
    assert res.method == "FE" and res.settings["rule"].endswith("-> FE)")


def test_review_rule_applies_one_model_to_all_subgroups():
    res = pool(table("bcg", True), preset="revman5", rule="review", subgroup=True)
    assert {s.method for s in res.subgroups.values()} == {res.method} == {"DL"}


def test_rule_errors():
    with pytest.raises(InputError, match="omit method"):
        pool(table("bcg"), rule="review", method="REML")
    with pytest.raises(InputError, match="unknown rule"):
        pool(table("bcg"), rule="i2>50")

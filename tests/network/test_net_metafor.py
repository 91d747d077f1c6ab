"""Classical network meta-analysis against metafor 3.8.1's contrast-based rma.mv network
model (REML with common tau^2 and multi-arm correlation 1/2, and fixed effect) on five
metadat networks with multi-arm trials (hasselblad1998 OR and RR, dogliotti2014 OR,
senn2013 MD, pagliaro1992 OR): contrasts and V, effects, SEs, intervals, tau^2, the league
table, log-likelihood, Q and its split into within- and between-design parts. Fixture:
tests/fixtures/make_network_fixtures.R."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayesmeta.network.api import network
from bayesmeta.network.classical import fit_network
from bayesmeta.network.data import from_arms, from_contrasts

FIX = json.loads((Path(__file__).parents[1] / "fixtures" / "network_metafor.json").read_text())
CASES = {c["name"]: c for c in FIX["cases"]}


def arms_of(case: dict) -> pd.DataFrame:
    return pd.DataFrame(case["arms"]).rename(columns={"x": "events"})


def close(a, b, rtol=1e-6, atol=1e-10):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", list(CASES))
def test_contrasts_and_covariances(name: str) -> None:
    c = CASES[name]
    con = from_arms(arms_of(c), c["measure"], allow_single_arm=True)
    close(con.yi, c["contrasts"]["yi"], rtol=1e-12)
    close(con.V, c["V"], rtol=1e-12, atol=1e-15)
    assert con.t1 == c["contrasts"]["t1"] and con.t2 == c["contrasts"]["t2"]


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("method", ["REML", "FE"])
def test_effects_tau2_and_league(name: str, method: str) -> None:
    c = CASES[name]
    con = from_arms(arms_of(c), c["measure"], allow_single_arm=True)
    fit = fit_network(con, c["reference"], method=method)
    ref = c["re"] if method == "REML" else c["fe"]
    eff = {e["treatment"]: e for e in fit.effects()}
    names = c["re"]["names"]
    close([eff[t]["estimate"] for t in names], ref["beta"])
    close([eff[t]["se"] for t in names], ref["se"], rtol=2e-6)
    close([eff[t]["ci_low"] for t in names], ref["ci_lb"], rtol=2e-6)
    close([eff[t]["ci_high"] for t in names], ref["ci_ub"], rtol=2e-6)
    lg = ref["league"]
    order = [fit.treatments.index(t) for t in lg["treatments"]]
    est, se = fit.pairwise()
    close(est[np.ix_(order, order)], lg["estimate"], atol=1e-8)
    close(se[np.ix_(order, order)], lg["se"], rtol=2e-6, atol=1e-10)
    if method == "REML":
        close(fit.tau2, ref["tau2"], rtol=2e-6)
        assert fit.loglik >= ref["logLik"] - 1e-9
    else:
        close(fit.q, ref["QE"], rtol=1e-9)
        assert fit.q_df == ref["QEdf"]
        close(fit.q_het, c["q_het"], rtol=1e-9)
        assert fit.q_het_df == c["q_het_df"]


@pytest.mark.parametrize("name", list(CASES))
def test_results_do_not_depend_on_which_arm_is_the_baseline(name: str) -> None:
    c = CASES[name]
    arms = arms_of(c)
    rev = arms.iloc[::-1].reset_index(drop=True)  # every study's last arm becomes its baseline
    a = fit_network(from_arms(arms, c["measure"], allow_single_arm=True), c["reference"])
    b = fit_network(from_arms(rev, c["measure"], allow_single_arm=True), c["reference"])
    close(a.beta, b.beta, rtol=1e-7, atol=1e-9)
    close(a.tau2, b.tau2, rtol=1e-6)
    close(a.q, b.q, rtol=1e-9)
    close(a.q_het, b.q_het, rtol=1e-9)


def test_contrast_level_input_equals_arm_level() -> None:
    c = CASES["hasselblad1998-OR"]
    arms = from_arms(arms_of(c), "OR")
    df = pd.DataFrame(
        {
            "study": arms.study,
            "treat1": arms.t1,
            "treat2": arms.t2,
            "yi": arms.yi,
            "vi": np.diag(arms.V),
        }
    )
    cov = [
        arms.V[i, [j for j in range(arms.k) if arms.study[j] == s and j != i]].max()
        if arms.study.count(s) > 1
        else 0.0
        for i, s in enumerate(arms.study)
    ]
    df["cov"] = cov
    a = fit_network(from_contrasts(df, "OR"), "no_contact")
    close([e["estimate"] for e in a.effects()], c["re"]["beta"])
    close(a.tau2, c["re"]["tau2"], rtol=2e-6)


def test_p_scores() -> None:
    """Rücker & Schwarzer (2015): P_i = mean_j Phi((b_i - b_j)/se_ij); they sum to n/2, and
    reverse with smaller_better."""
    from scipy import stats

    c = CASES["senn2013-MD"]
    con = from_arms(arms_of(c), "MD", allow_single_arm=True)
    fit = fit_network(con, "placebo")
    p = fit.p_scores()
    assert sum(p.values()) == pytest.approx(len(fit.treatments) / 2, rel=1e-12)
    est, se = fit.pairwise()
    i = fit.treatments.index("metformin")
    mine = np.mean(
        [stats.norm.cdf(est[i, j] / se[i, j]) for j in range(len(fit.treatments)) if j != i]
    )
    assert p["metformin"] == pytest.approx(mine, rel=1e-12)
    low = fit_network(con, "placebo", smaller_better=True).p_scores()
    assert low["metformin"] == pytest.approx(1 - p["metformin"], rel=1e-12)


def test_zero_cells() -> None:
    arms = pd.DataFrame(
        {
            "study": ["1", "1", "2", "2", "3", "3"],
            "treatment": list("ABBCAC"),
            "events": [0, 5, 3, 6, 2, 7],
            "n": [30] * 6,
        }
    )
    c = from_arms(arms, "OR")
    assert "1/2 added" in c.notes[0] and "(1;" in c.notes[0]
    assert c.yi[0] == pytest.approx(np.log(5.5 / 25.5) - np.log(0.5 / 30.5))
    with pytest.raises(Exception, match="zero cell and --add-to none"):
        from_arms(arms, "OR", add_to="none")
    allc = from_arms(arms, "OR", add_to="all")
    assert allc.yi[1] == pytest.approx(np.log(6.5 / 24.5) - np.log(3.5 / 27.5))


def test_network_facade_prints_like_netmeta() -> None:
    c = CASES["hasselblad1998-OR"]
    text = str(network(arms_of(c), "OR", reference="no_contact"))
    assert "Number of studies: k = 24" in text and "Between designs" in text
    assert "P-scores" in text and "tau^2 = 0.4502" in text

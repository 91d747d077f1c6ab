"""pool() -> MetaResult against metafor 3.8.1 and the published Normand (1999) numbers.

R (tests/fixtures/make_metafor_fixtures.R): ``res <- rma(yi, vi, method = M, test = T)``,
``predict(res)``, ``confint(res)``, ``weights(res)``, ``blup(res)``, ``leave1out(res)``.
Tolerance: relative 1e-6, absolute 1e-10 unless stated.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayesmeta.classical import pool
from bayesmeta.errors import ConvergenceError, InputError
from bayesmeta.studies import StudyTable

FIX = json.loads((Path(__file__).parents[1] / "fixtures" / "metafor.json").read_text())
DATA = FIX["datasets"]
CASES = [(d, m, t) for d in DATA for m in DATA[d]["fits"] for t in DATA[d]["fits"][m]]


def close(actual, expected, rtol=1e-6, atol=1e-10):
    np.testing.assert_allclose(
        np.asarray(actual, float), np.asarray(expected, float), rtol=rtol, atol=atol
    )


def table(name):
    ds = DATA[name]
    return StudyTable.from_arrays(ds["yi"], ds["vi"], study=ds["study"])


@pytest.mark.parametrize(("name", "method", "test"), CASES)
def test_pool_matches_metafor(name, method, test):
    ref = DATA[name]["fits"][method][test]
    res = pool(table(name), method=method.lower(), ci=test, knha_truncate=test == "adhoc")
    assert res.engine == "classical" and res.method == method and res.k == ref["k"]
    close(
        [res.estimate, res.se, res.ci_low, res.ci_high],
        [ref["estimate"], ref["se"], ref["ci_lb"], ref["ci_ub"]],
    )
    close([res.q, res.q_p, res.i2, res.h2], [ref["QE"], ref["QEp"], ref["I2"], ref["H2"]])
    assert res.q_df == ref["QE_df"]
    close(res.studies["weight"], ref["weights"])
    if method == "FE":
        assert res.tau2 is None and res.pi_low is None and res.tau2_ci_low is None
        return
    close([res.tau2, res.pi_low, res.pi_high], [ref["tau2"], ref["pi_lb"], ref["pi_ub"]])
    close([res.tau2_ci_low, res.tau2_ci_high], [ref["tau2_ci"]["lb"], ref["tau2_ci"]["ub"]])
    close(res.studies["blup"], ref["blup"]["pred"])
    close(res.studies["blup_ci_low"], ref["blup"]["pi_lb"])


def test_pool_leave_one_out_and_json():
    ref = DATA["crins2014"]["fits"]["REML"]["knha"]
    res = pool(table("crins2014"), ci="hksj", loo=True)
    lo = res.extra["leave_one_out"]
    close(lo["estimate"], ref["loo"]["estimate"])
    close(lo["tau2"], ref["loo"]["tau2"])
    out = json.loads(res.to_json())
    assert out["method"] == "REML" and out["ci_method"] == "hksj"
    assert out["settings"]["variance"] == "vi as given"


def normand_pooled():
    raw = DATA["normand1999_HO"]["raw"]
    n1, m1, s1 = (np.asarray(raw[c], float) for c in ("n1i", "m1i", "sd1i"))
    n2, m2, s2 = (np.asarray(raw[c], float) for c in ("n2i", "m2i", "sd2i"))
    sdp2 = ((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (n1 + n2 - 2)
    return StudyTable.from_arrays(m1 - m2, sdp2 * (1 / n1 + 1 / n2))


@pytest.mark.parametrize(
    ("method", "est", "lo", "hi", "tau2"),
    [
        ("FE", -3.4939, -5.0265, -1.9613, None),
        ("DL", -14.0972, -24.4454, -3.7490, 218.7216),
        ("REML", -15.1217, -32.6716, 2.4282, 685.1965),
    ],
)
def test_normand1999_published(method, est, lo, hi, tau2):
    """Normand (1999) Stat Med 18:321, pooled-SD mean differences (shared/datasets/README.md);
    printed to 4 decimals, so tolerance 5e-5 absolute."""
    t = normand_pooled()
    assert t.yi.tolist() == [-20, -2, -55, -71, -4, 1, 11, -10, 7]
    res = pool(t, method=method)
    close([res.estimate, res.ci_low, res.ci_high], [est, lo, hi], rtol=0, atol=5e-5)
    if tau2 is None:
        assert res.tau2 is None
    else:
        close(res.tau2, tau2, rtol=0, atol=5e-5)


def test_k1_single_study():
    t = StudyTable.from_arrays([0.4], [0.04])
    res = pool(t)
    assert (res.estimate, res.se) == (0.4, pytest.approx(0.2))
    close([res.ci_low, res.ci_high], [0.4 - 1.959963984540054 * 0.2, 0.4 + 1.959963984540054 * 0.2])
    assert res.tau2 is None and res.q is None and res.i2 is None and res.pi_low is None
    assert any("k = 1" in w for w in res.warnings)
    assert res.studies["weight"].tolist() == [100.0]
    with pytest.raises(InputError, match="needs k >= 2"):
        pool(t, ci="knha")


def test_k2_warns_tau2_barely_identified():
    res = pool(table("k2"))
    assert any("k = 2" in w and "barely identified" in w for w in res.warnings)
    assert not any("barely" in w for w in pool(table("k2"), method="FE").warnings)


def test_tau2_zero_data():
    """Homogeneous data: tau^2 = 0, Q-profile CI [0, 0], PI = CI under Wald, I^2 = 0."""
    res = pool(table("homogeneous"), method="REML")
    assert res.tau2 == 0.0 and res.i2 == 0.0 and res.h2 == 1.0
    assert (res.tau2_ci_low, res.tau2_ci_high) == (0.0, 0.0)
    close([res.pi_low, res.pi_high], [res.ci_low, res.ci_high], rtol=1e-12)
    assert any("[0, 0]" in w for w in res.warnings)


def test_huge_variance():
    """A study with vi = 1e12 gets ~0 weight; the REML fit equals that without it (to 1e-4:
    Fisher scoring stops at a change < 1e-5, so the two paths stop at slightly different
    tau^2)."""
    t = StudyTable.from_arrays([0.3, -0.2, 0.9, 50.0], [0.02, 0.05, 0.03, 1e12])
    res = pool(t)
    ref = pool(StudyTable.from_arrays([0.3, -0.2, 0.9], [0.02, 0.05, 0.03]))
    close([res.estimate, res.tau2], [ref.estimate, ref.tau2], rtol=1e-4)
    assert res.studies["weight"].iloc[3] < 1e-9
    assert any("extremely large" in w for w in res.warnings)
    assert np.isfinite([res.q, res.i2, res.pi_low, res.tau2_ci_high]).all()


def test_bad_input():
    t = table("rubin1981")
    with pytest.raises(InputError, match="unknown method 'bayes'; valid methods: FE, DL, REML"):
        pool(t, method="bayes")
    with pytest.raises(InputError, match="unknown ci method"):
        pool(t, ci="profile")
    with pytest.raises(InputError, match="no subgroup column"):
        pool(t, subgroup=True)
    with pytest.raises(InputError, match="unknown preset"):
        pool(t, preset="revman6")
    with pytest.raises(InputError, match="level"):
        pool(t, level=1.5)
    with pytest.raises(InputError, match="pi_type"):
        pool(t, pi_type="bootstrap")
    with pytest.raises(ConvergenceError, match="did not converge in 1 iterations"):
        pool(table("bcg"), method="REML", control={"maxiter": 1})


def test_dataframe_input_and_settings():
    df = pd.DataFrame({"study": ["a", "b", "c"], "yi": [0.1, 0.5, 0.3], "sei": [0.1, 0.2, 0.3]})
    res = pool(df, method="DL")
    text = res.describe()
    for key in (
        "estimator=DerSimonian-Laird",
        "mu_ci=Wald z",
        "tau2_ci=Q-profile",
        "prediction=metafor",
        "variance=vi = sei^2",
        "preset=none",
    ):
        assert key in text

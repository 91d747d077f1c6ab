"""sweep(): each row equals the individual exact fit; R bayesmeta agreement; sanity; output."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import pytest

from bayesmeta import datasets
from bayesmeta.errors import InputError
from bayesmeta.exact import NormalNormal, subgroup_analysis
from bayesmeta.sensitivity import COLUMNS, sweep, to_json
from bayesmeta.studies import StudyTable
from conftest import load_fixture


def _rubin() -> pd.DataFrame:
    d = datasets.load("rubin1981")
    return pd.DataFrame({"study": d["school"], "yi": d["effect"], "sei": d["stderr"]})


@pytest.mark.parametrize("rows", [slice(None), slice(0, 2), slice(0, 1)])  # k = 8, 2, 1
def test_rows_equal_individual_fits(rows):
    """Every column equals NormalNormal(...) with that row's priors (rel. 1e-12)."""
    df = _rubin().iloc[rows]
    res = sweep(
        df,
        ["halfnormal(1..30, n=4)", "halfcauchy(5)", "turner"],
        "normal(0, 10..100, n=3)",
        threshold=2.0,
        level=0.9,
    )
    assert len(res) == 6 * 3 and list(res.columns) == list(COLUMNS)
    for _, r in res.iterrows():
        fit = NormalNormal(df["yi"], df["sei"], r["tau_prior"], r["mu_prior"])
        post = fit.to_result(level=0.9).posterior
        hdi = fit.mu.interval(0.9, "shortest")
        expect = {
            "mu_mean": fit.mu.mean, "mu_sd": fit.mu.sd, "mu_median": post.loc["mu", "median"],
            "mu_ci_low": post.loc["mu", "ci_low"], "mu_ci_high": post.loc["mu", "ci_high"],
            "mu_hdi_low": hdi[0], "mu_hdi_high": hdi[1], "mu_hdi_width": hdi[1] - hdi[0],
            "tau_median": post.loc["tau", "median"], "tau_ci_low": post.loc["tau", "ci_low"],
            "tau_ci_high": post.loc["tau", "ci_high"], "p_mu_below": fit.mu.prob_below(2.0),
        }  # fmt: skip
        for key, val in expect.items():
            assert r[key] == pytest.approx(val, rel=1e-12, abs=1e-14), key
        assert r["k"] == len(df) and r["threshold"] == 2.0 and r["subgroup"] == ""


def test_subgroup_rows_equal_subgroup_analysis():
    """With a subgroup column: beta_g and the common tau of subgroup_analysis (rel. 1e-12)."""
    d = _rubin()
    d["subgroup"] = ["a", "b", "a", "b", "a", "b", "a", "a"]
    res = sweep(d, "halfnormal(5..20, n=2)", "normal(0, 50)")
    assert list(res["subgroup"]) == ["a", "b", "a", "b"]
    for tp in ("halfnormal(5)", "halfnormal(20)"):
        ref = subgroup_analysis(d["yi"], d["sei"], d["subgroup"], tp, "normal(0, 50)")
        for _, r in res[res["tau_prior"] == tp].iterrows():
            sub = ref.subgroups[r["subgroup"]]
            assert r["k"] == sub.k
            for key, val in (
                ("mu_median", sub.estimate),
                ("mu_ci_low", sub.ci_low),
                ("mu_ci_high", sub.ci_high),
                ("tau_median", ref.extra["subgroup_tau"]["median"]),
            ):
                assert r[key] == pytest.approx(val, rel=1e-12), key


def test_agrees_with_r_bayesmeta():
    """R bayesmeta 3.4 (tests/fixtures/make_sensitivity_fixtures.R), e.g.

    bayesmeta(y, sigma, tau.prior = function(t) dhalfnormal(t, scale = 10),
              mu.prior.mean = 0, mu.prior.sd = 100, delta = 1e-5, epsilon = 1e-9)
    Tolerance: mu figures abs. 2e-5 x posterior sd of mu, P(mu < 0) abs. 1e-5 (R's
    discretised mu mixture), tau rel. 1e-6.
    """
    fx = load_fixture("sensitivity_r.json")["rubin"]
    df = pd.DataFrame(
        {"study": [str(i) for i in range(len(fx["yi"]))], "yi": fx["yi"], "sei": fx["sei"]}
    )
    res = sweep(df, [f["tau_prior"] for f in fx["fits"]], fx["mu_prior"]).set_index("tau_prior")
    assert len(res) == len(fx["fits"]) == 6
    for f in fx["fits"]:
        r = res.loc[f["tau_prior"]]
        tol = 2e-5 * r["mu_sd"]  # R's discretised mu mixture: ~1e-5 of the posterior scale
        assert r["mu_median"] == pytest.approx(f["mu_median"], abs=tol)
        assert [r["mu_ci_low"], r["mu_ci_high"]] == pytest.approx(f["mu_ci"], abs=tol)
        assert [r["mu_hdi_low"], r["mu_hdi_high"]] == pytest.approx(f["mu_hdi"], abs=tol)
        assert r["p_mu_below"] == pytest.approx(f["p_mu_below_0"], abs=1e-5)
        assert r["tau_median"] == pytest.approx(f["tau_median"], rel=1e-6)
        assert [r["tau_ci_low"], r["tau_ci_high"]] == pytest.approx(f["tau_ci"], rel=1e-6)


@pytest.mark.parametrize("family", ["halfnormal", "halfcauchy"])
def test_tau_grows_with_prior_scale_on_heterogeneous_data(family):
    """Rubin 1981 (8 schools) and Normand 1999 (MD, strongly heterogeneous): a wider tau
    prior gives a larger posterior tau median and upper limit, and a wider mu interval."""
    from bayesmeta.effects import md

    n = datasets.load("normand1999")
    es = md(n["m1i"], n["sd1i"], n["n1i"], n["m2i"], n["sd2i"], n["n2i"])
    normand = pd.DataFrame({"study": n["source"], "yi": es.yi, "vi": es.vi})
    for df, scale in ((_rubin(), 20.0), (normand, 20.0)):
        res = sweep(df, f"{family}({scale / 20}..{scale * 2}, n=8)", "normal(0, 1000)")
        for col in ("tau_median", "tau_ci_high", "mu_hdi_width"):
            assert np.all(np.diff(res[col]) > 0), col


def test_json_and_csv_round_trip():
    res = sweep(_rubin(), ["halfnormal(1..10, n=3)", "turner"], "flat")
    obj = json.loads(to_json(res))
    assert obj["level"] == 0.95 and len(obj["rows"]) == 4
    assert obj["rows"][3]["tau_value"] is None  # nan -> null (valid JSON)
    back = pd.DataFrame(obj["rows"])
    np.testing.assert_allclose(back["mu_median"], res["mu_median"], rtol=1e-14)
    csv = pd.read_csv(io.StringIO(res.to_csv(index=False)), keep_default_na=False, na_values=[""])
    assert list(csv.columns) == list(COLUMNS)
    np.testing.assert_allclose(csv["tau_median"], res["tau_median"], rtol=1e-14)
    assert list(csv["tau_prior"]) == list(res["tau_prior"])


def test_accepts_study_table_and_defaults():
    t = StudyTable.from_frame(_rubin())
    res = sweep(t)
    assert len(res) == 20 and res["tau_prior"].iloc[0] == "halfnormal(0.1)"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"threshold": math.nan}, "threshold"),
        ({"level": 1.5}, "credible level"),
        ({"tau_priors": []}, "no tau priors"),
        ({"tau_priors": "flat", "mu_priors": "flat"}, "tau prior flat, mu prior flat"),
        ({"mu_priors": "normal(0, -1..2)"}, "sd must be > 0"),
    ],
)
def test_errors(kwargs, fragment):
    df = _rubin().iloc[:1]
    with pytest.raises(InputError) as err:
        sweep(df, **kwargs)
    assert fragment in err.value.oneline()


def test_not_a_table():
    with pytest.raises(InputError, match="StudyTable or a DataFrame"):
        sweep([1.0, 2.0])
    with pytest.raises(InputError, match="missing required column"):
        sweep(pd.DataFrame({"study": ["a"], "yi": [1.0]}))


def test_quantiles_and_started_hdi_solve_the_engine_equations():
    """tau quantiles invert the exact cdf (lower tail: |F(q) - p| <= 1e-12 p; upper tail
    through the survival function, 1e-10 relative), and the sweep's HDI started from the
    central interval equals mu.interval(shortest) (rel. 1e-12), for four tau priors."""
    from bayesmeta.sensitivity.sweep import _hdi, tau_quantiles

    d = _rubin()
    for tp in ("halfnormal(1)", "halfcauchy(50)", "turner", "uniform(0, 100)"):
        fit = NormalNormal(d["yi"], d["sei"], tp, "flat")
        p = np.array([1e-6, 0.025, 0.5, 0.975, 1 - 1e-9])
        q = tau_quantiles(fit.tau, p)
        low = p <= 0.5
        np.testing.assert_allclose(fit.tau.cdf(q[low]), p[low], rtol=1e-12)
        np.testing.assert_allclose(fit.tau.sf(q[~low]), 1 - p[~low], rtol=1e-10)
        lo, hi = fit.mu.quantile([0.05, 0.95])
        np.testing.assert_allclose(
            _hdi(fit.mu, 0.9, lo, hi), fit.mu.interval(0.9, "shortest"), rtol=1e-12
        )
    assert list(tau_quantiles(fit.tau, [0.0, 1.0])) == [0.0, 100.0]  # engine's support ends

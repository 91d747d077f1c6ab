"""Pre/post correlation sweep on Morris (2008), treatment arm."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayesmeta.effects import before_after
from bayesmeta.errors import InputError
from bayesmeta.sensitivity.correlation import correlation_sweep
from conftest import ROOT, load_fixture


def _morris() -> pd.DataFrame:
    return pd.read_csv(ROOT / "data" / "morris2008.csv")


def _sweep(r, **kw):
    d = _morris()
    return correlation_sweep(
        d["m_pre_t"],
        d["sd_pre_t"],
        d["m_post_t"],
        d["sd_post_t"],
        d["n_t"],
        r,
        tau_prior="halfnormal(5)",
        mu_prior="normal(0, 100)",
        **kw,
    )


def test_against_metafor_and_r_bayesmeta():
    """R (tests/fixtures/make_sensitivity_fixtures.R): escalc("MC", ..., ri = rep(r, 5));
    rma(yi, vi, method = "REML"); bayesmeta(..., dhalfnormal(t, scale = 5), N(0, 100^2)).
    Tol: metafor rel. 1e-6 (REML iteration), bayesmeta mu rel. 2e-5, tau rel. 1e-6."""
    fx = load_fixture("sensitivity_r.json")["morris"]
    res = _sweep([f["r"] for f in fx]).set_index("r")
    for f in fx:
        row = res.loc[f["r"]]
        assert row["classical_estimate"] == pytest.approx(f["estimate"], rel=1e-6)
        assert row["classical_ci_low"] == pytest.approx(f["ci_low"], rel=1e-6)
        assert row["classical_ci_high"] == pytest.approx(f["ci_high"], rel=1e-6)
        assert row["classical_tau2"] == pytest.approx(f["tau2"], rel=1e-6)
        assert row["mu_median"] == pytest.approx(f["mu_median"], rel=2e-5)
        assert row["tau_median"] == pytest.approx(f["tau_median"], rel=1e-6)


def test_r0_is_the_independent_groups_convention():
    """r = 0 reproduces before_after (two independent groups): same classical pooling."""
    from bayesmeta.classical import pool
    from bayesmeta.studies import StudyTable

    d = _morris()
    es = before_after(
        d["m_pre_t"], d["sd_pre_t"], d["n_t"], d["m_post_t"], d["sd_post_t"], d["n_t"]
    )
    ref = pool(StudyTable.from_arrays(es.yi, es.vi), method="REML")
    row = _sweep([0.0]).iloc[0]
    assert row["classical_estimate"] == pytest.approx(ref.estimate, rel=1e-12)
    assert row["classical_tau2"] == pytest.approx(ref.tau2, rel=1e-12)


def test_default_grid_and_monotone_heterogeneity():
    """Higher r -> smaller v_i -> more of the spread is heterogeneity (classical tau^2 and
    I^2 increase) on these data."""
    res = _sweep(tuple(round(0.1 * i, 1) for i in range(10)))
    assert list(res["r"]) == [round(0.1 * i, 1) for i in range(10)]
    assert np.all(np.diff(res["classical_tau2"]) > 0)
    assert np.all(np.diff(res["classical_i2"]) > 0)


@pytest.mark.parametrize("r", [[1.0], [-1.0], []])
def test_bad_r(r):
    with pytest.raises(InputError):
        _sweep(r)

"""Refit sweeps with one compiled model per prior family (``refit_sweep``).

Reference: the exact normal-normal engine (bayesmeta.exact.NormalNormal; checked against R
bayesmeta 3.4 in its own tests) under each prior. Tolerance: 3 x the MCSE of the median that
ArviZ reports for these draws (``az.mcse(method="median")``), for a fixed seed (20201; also
within 3 MCSE for seed 1 when written). Compilations are counted by wrapping
``bayesmeta.hierarchical.compiled.compile_model``, as in test_hier_sampling_slow.py.
"""

from __future__ import annotations

import pandas as pd
import pytest

from bayesmeta import datasets
from bayesmeta.errors import InputError
from bayesmeta.exact import NormalNormal
from bayesmeta.sensitivity.refit import REFIT_COLUMNS, refit_sweep

MU_PRIOR = "normal(0, 5)"
SCALES = "halfnormal(2..10, n=3)"


def _rubin() -> pd.DataFrame:
    d = datasets.load("rubin1981")
    return pd.DataFrame({"study": d["school"], "yi": d["effect"], "sei": d["stderr"]})


@pytest.fixture(scope="module")
def swept():
    """Three halfnormal scales refitted; returns (table, number of nutpie compilations)."""
    pytest.importorskip("nutpie")
    from bayesmeta.hierarchical import cache_info, clear_cache, compiled

    calls = []
    original = compiled.compile_model

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    clear_cache()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(compiled, "compile_model", counting)
        out = refit_sweep(_rubin(), SCALES, MU_PRIOR, draws=1000, tune=1000, chains=4, seed=20201)
    assert cache_info()["compilations"] == 1
    clear_cache()
    return out, len(calls)


@pytest.mark.slow
def test_a_sweep_over_scales_compiles_once(swept):
    out, compilations = swept
    assert compilations == 1
    assert list(out.columns) == list(REFIT_COLUMNS)
    assert list(out["tau_prior"]) == ["halfnormal(2)", "halfnormal(6)", "halfnormal(10)"]
    assert list(out["compiled"]) == [True, False, False]
    assert list(out["cache_hit"]) == [False, True, True]
    assert (out["mu_prior"] == MU_PRIOR).all() and (out["tau_family"] == "halfnormal").all()


@pytest.mark.slow
def test_each_refit_matches_the_exact_posterior_of_its_prior(swept):
    """mu and tau posterior medians within 3 MCSE of the exact medians under each prior."""
    out, _ = swept
    df = _rubin()
    for _, r in out.iterrows():
        assert r["divergences"] == 0 and r["max_rhat"] <= 1.01, r["warnings"]
        exact = NormalNormal(df["yi"], df["sei"], r["tau_prior"], MU_PRIOR)
        for name, marginal in (("mu", exact.mu), ("tau", exact.tau)):
            got, mcse = r[f"{name}_median"], r[f"{name}_mcse_median"]
            assert 0 < mcse < 0.05 * (r[f"{name}_ci_high"] - r[f"{name}_ci_low"])
            assert abs(got - marginal.median) <= 3 * mcse, (r["tau_prior"], name, got, mcse)
            assert r[f"{name}_ci_low"] < got < r[f"{name}_ci_high"]
    # the swapped values were used: tau's posterior grows with the prior scale
    assert out["tau_median"].is_monotonic_increasing


def test_bad_requests_raise_input_errors():
    with pytest.raises(InputError, match="tau_by_subgroup"):
        refit_sweep(_rubin(), "halfnormal(1)", model="subgroup", tau_by_subgroup=True)
    with pytest.raises(InputError, match="credible level"):
        refit_sweep(_rubin(), "halfnormal(1)", level=1.5)
    with pytest.raises(InputError, match="invalid tau prior sweep"):
        refit_sweep(_rubin(), "halfnormal(2..1)")

"""End-to-end sampling (slow): every model on real data, compile-once refits, seeding.

Clean diagnostics means: no divergences, R-hat <= 1.01, bulk and tail ESS >= 100 per chain,
E-BFMI >= 0.3 (the thresholds of bayesmeta.hierarchical.diagnostics) for a fixed seed.
Default settings (target_accept 0.99) except the prepost model on Morris's raw changes,
which is centred: those studies are precise relative to tau, and se_i(r) -> 0 as r -> 1 where
sd_pre = sd_post (docs/models.md). Checked clean for seeds 1, 2 and 20201.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hier_data import crins, morris, normand, schools

from bayesmeta.hierarchical import BayesianMeta, MetaData, cache_info
from bayesmeta.hierarchical import sampling as sampling_module
from bayesmeta.studies import StudyTable

pytestmark = pytest.mark.slow

RUN = {"draws": 1000, "tune": 1000, "chains": 4, "seed": 20201}


def clean(bm: BayesianMeta) -> None:
    d = bm.diagnostics_
    assert d["divergences"] == 0, bm.warnings_
    assert d["max_rhat"] <= 1.01, bm.warnings_
    assert min(d["min_ess_bulk"], d["min_ess_tail"]) >= 100 * d["chains"], bm.warnings_
    assert d["min_bfmi"] >= 0.3, bm.warnings_
    assert bm.warnings_ == []


CASES = {
    # (b) cell-type terms: Crins log OR by IL-2RA drug, fixed means, common tau
    "subgroup_fixed": ("subgroup", {}, lambda: StudyTable.from_frame(crins(), subgroup="drug")),
    "subgroup_pooled": (
        "subgroup",
        {"subgroup_means": "pooled", "sigma_prior": "halfnormal(1)", "tau_by_subgroup": True},
        lambda: StudyTable.from_frame(crins(), subgroup="drug"),
    ),
    # (c) arms nested in trials: Normand's Orpington (3 arms) and Montreal (2 arms)
    "nested": (
        "nested",
        {"mu_prior": "normal(0, 50)", "tau_prior": "halfnormal(30)"},
        lambda: StudyTable.from_frame(normand(), cluster="trial"),
    ),
    # (d) Student-t random effects, nu ~ Gamma(2, 0.1)
    "student_t": (
        "student_t",
        {"mu_prior": "normal(0, 20)", "tau_prior": "halfcauchy(5)"},
        schools,
    ),
    # (e) meta-regression on publication year (centred)
    "regression": (
        "regression",
        {"beta_prior": "normal(0, 1)"},
        lambda: StudyTable.from_frame(crins(), covariates=["year"]),
    ),
    # (f) before/after with a shared unknown r ~ Beta(2, 2)
    "prepost": (
        "prepost",
        {
            "mu_prior": "normal(0, 20)",
            "tau_prior": "halfnormal(20)",
            "centred": True,
        },
        morris,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_models_on_real_data_sample_cleanly(case):
    model, kw, data = CASES[case]
    bm = BayesianMeta(model, **(RUN | kw)).fit(data())
    clean(bm)
    res = bm.to_result()
    assert res.method == model and res.engine == "pymc"
    assert np.isfinite([res.estimate, res.se, res.ci_low, res.ci_high]).all()
    assert res.ci_low < res.estimate < res.ci_high
    with warnings.catch_warnings():  # Pareto k > 0.7 is common with one effect per study
        warnings.simplefilter("ignore", UserWarning)
        loo = bm.loo()
    assert np.isfinite(loo.elpd)
    assert bm.ppc()["p_value"].between(0, 1).all()


def test_refit_of_same_shape_does_not_recompile(monkeypatch):
    """Second fit with new yi/sei (same k): cache hit, no new nutpie compilation."""
    from bayesmeta.hierarchical import compiled

    calls = []
    original = compiled.compile_model

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(compiled, "compile_model", counting)
    sampling_module.clear_cache()
    data = schools()
    opts = RUN | {
        "mu_prior": "normal(0, 5)",
        "tau_prior": "halfcauchy(5)",
        "draws": 500,
        "warn": False,
    }
    first = BayesianMeta(**opts).fit(data)
    moved = MetaData.from_arrays(
        data.yi + 20.0, data.sei * 0.5, study=[f"school {s}" for s in data.study]
    )
    second = BayesianMeta(**opts).fit(moved)
    assert len(calls) == 1
    assert (first.cache_hit_, second.cache_hit_) == (False, True)
    assert cache_info()["compilations"] == 1
    # the new data were used (not the cached ones) and the new labels are attached
    assert second.to_result().estimate > first.to_result().estimate + 5
    assert list(second.idata_["posterior"]["study"].values)[0] == "school A"
    np.testing.assert_array_equal(second.idata_["observed_data"]["y_obs"], moved.yi)
    np.testing.assert_array_equal(second.idata_["constant_data"]["sei"], moved.sei)
    # nutpie ran the standardised form; its logp statistic is the built model's log density
    model = sampling_module.get_entry(second.spec, moved)[0].model
    logp = model.compile_logp(mode="FAST_COMPILE")
    post, stats = second.idata_["posterior"], second.idata_["sample_stats"]
    for chain, draw in ((0, 0), (1, 17), (3, 499)):
        point = {}
        for rv in model.free_RVs:
            x = post[rv.name].values[chain, draw]
            tr = model.rvs_to_transforms.get(rv)
            value = tr.forward(x, *rv.owner.inputs).eval() if tr is not None else x
            point[model.rvs_to_values[rv].name] = value
        want = float(logp(point))
        assert float(stats["logp"].values[chain, draw]) == pytest.approx(want, rel=1e-9)


def test_same_seed_same_draws_and_pymc_fallback():
    opts = RUN | {"draws": 300, "tune": 300, "mu_prior": "normal(0, 5)", "warn": False}
    a = BayesianMeta(**opts).fit(schools())
    b = BayesianMeta(**opts).fit(schools())
    c = BayesianMeta(**(opts | {"seed": 7})).fit(schools())
    for group, var in (("posterior", "mu"), ("prior", "mu"), ("posterior_predictive", "y_obs")):
        np.testing.assert_array_equal(a.idata_[group][var], b.idata_[group][var])
    assert not np.array_equal(a.idata_["posterior"]["mu"], c.idata_["posterior"]["mu"])
    p = BayesianMeta(**(opts | {"sampler": "pymc", "chains": 2})).fit(schools())
    assert p.sampler_ == "pymc" and p.to_result().settings["sampler"] == "pymc"
    assert p.idata_["posterior"]["mu"].shape == (2, 300)
    assert np.isfinite(p.diagnostics_["max_rhat"])

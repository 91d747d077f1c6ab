"""The fitting layer with the sampler mocked: DataTree groups, MetaResult mapping, warnings.

The sampler is replaced by synthetic draws of known structure, so every reported number is
checked against NumPy on those draws (1e-12): estimate = median(mu), se = sd(mu),
central interval = quantiles, tau2 = median(tau)^2, prediction interval = theta_new
quantiles, shortest interval = arviz HDI.
"""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hier_data import morris, schools, toy

import bayesmeta.hierarchical.bayesian_meta as fit_module
from bayesmeta.errors import InputError
from bayesmeta.hierarchical import BayesianMeta, SamplingWarning
from bayesmeta.studies import StudyTable
from conftest import load_fixture

CHAINS, DRAWS = 2, 200


def fake_sampler(divergences: int = 0):
    """A stand-in for sample_posterior that draws every free variable of the model at random."""

    def sample(entry, values, *, chains, draws, seed, **_):
        model = entry.model
        rng = np.random.default_rng(seed)
        coords = {"chain": range(chains), "draw": range(draws)}
        post = {}
        for rv in model.free_RVs:
            dims = model.named_vars_to_dims.get(rv.name, ())
            shape = tuple(len(model.coords[d]) for d in dims)
            x = rng.normal(0.3, 1.0, size=(chains, draws, *shape))
            if rv.name.startswith(("tau", "sigma", "nu")):
                x = np.abs(x) + 0.05
            post[rv.name] = (("chain", "draw", *dims), x)
        ds = xr.Dataset(post, coords=coords | {d: list(model.coords[d]) for d in model.coords})
        # deterministics from the model's own graph on these draws
        fn = model.compile_fn(
            model.replace_rvs_by_values(model.deterministics),
            inputs=model.value_vars,
            on_unused_input="ignore",
        )
        out = {d.name: [] for d in model.deterministics}
        for c in range(chains):
            for t in range(draws):
                point = {}
                for rv in model.free_RVs:
                    v = ds[rv.name].values[c, t]
                    tr = model.rvs_to_transforms.get(rv)
                    vv = model.rvs_to_values[rv]
                    point[vv.name] = np.log(v) if tr is not None else v
                for d, val in zip(model.deterministics, fn(point), strict=True):
                    out[d.name].append(val)
        for d in model.deterministics:
            dims = model.named_vars_to_dims.get(d.name, ())
            arr = np.asarray(out[d.name]).reshape(chains, draws, *np.shape(out[d.name][0]))
            ds[d.name] = (("chain", "draw", *dims), arr)
        div = np.zeros((chains, draws), bool)
        div.flat[:divergences] = True
        stats = xr.Dataset(
            {
                "diverging": (("chain", "draw"), div),
                "energy": (("chain", "draw"), rng.normal(size=(chains, draws))),
            },
            coords=coords,
        )
        tree = xr.DataTree.from_dict({"/posterior": ds, "/sample_stats": stats})
        return tree, 0.01

    return sample


@pytest.fixture
def mocked(monkeypatch):
    monkeypatch.setattr(fit_module, "sample_posterior", fake_sampler())


def test_groups_and_result_mapping(mocked):
    data = schools()
    bm = BayesianMeta(
        "normal",
        mu_prior="normal(0, 5)",
        tau_prior="halfcauchy(5)",
        draws=DRAWS,
        chains=CHAINS,
        seed=7,
        prior_draws=200,
        warn=False,
    ).fit(data)
    groups = set(bm.idata_.children)
    assert groups == {
        "posterior",
        "sample_stats",
        "log_likelihood",
        "posterior_predictive",
        "observed_data",
        "constant_data",
        "prior",
        "prior_predictive",
    }
    assert list(bm.idata_["posterior"]["study"].values) == list(data.study)
    np.testing.assert_array_equal(bm.idata_["observed_data"]["y_obs"].values, data.yi)
    np.testing.assert_array_equal(bm.idata_["constant_data"]["sei"].values, data.sei)
    assert bm.idata_["prior"]["tau"].shape == (1, 200)

    res = bm.to_result()
    post = bm.idata_["posterior"]
    mu, tau = post["mu"].values.ravel(), post["tau"].values.ravel()
    new = post["theta_new"].values.ravel()
    assert (res.engine, res.method, res.ci_method, res.k) == ("pymc", "normal", "central", 8)
    assert res.estimate == pytest.approx(np.median(mu), abs=1e-12)
    assert res.se == pytest.approx(np.std(mu, ddof=1), abs=1e-12)
    np.testing.assert_allclose([res.ci_low, res.ci_high], np.quantile(mu, [0.025, 0.975]))
    assert res.tau2 == pytest.approx(np.median(tau) ** 2, abs=1e-12)
    np.testing.assert_allclose(
        [res.tau2_ci_low, res.tau2_ci_high], np.quantile(tau, [0.025, 0.975]) ** 2, rtol=1e-12
    )
    np.testing.assert_allclose([res.pi_low, res.pi_high], np.quantile(new, [0.025, 0.975]))
    assert list(res.posterior.index[:3]) == ["mu", "tau", "theta_new"]
    assert list(res.posterior.columns) == ["mean", "sd", "median", "ci_low", "ci_high"]
    assert res.posterior.loc["tau", "mean"] == pytest.approx(tau.mean(), abs=1e-12)
    theta = post["theta"].sel(study="C").values.ravel()
    row = res.studies.set_index("study").loc["C"]
    assert row["median"] == pytest.approx(np.median(theta), abs=1e-12)
    assert row["vi"] == pytest.approx(data.sei[2] ** 2)
    assert res.settings["tau_prior"] == "halfcauchy(5)"
    assert res.settings["mu_prior"] == "normal(0, 5)"
    assert res.settings["parameterisation"] == "non-centred"
    assert res.settings["sampler"] == "nutpie" and res.settings["seed"] == "7"
    assert {"max_rhat", "min_ess_bulk", "min_ess_tail", "divergences", "min_bfmi"} <= set(
        res.diagnostics
    )
    assert res.idata is bm.idata_
    assert res.to_dict()["estimate"] == pytest.approx(res.estimate)


def test_shortest_intervals_are_hdis(mocked):
    bm = BayesianMeta(draws=DRAWS, chains=CHAINS, interval="shortest", level=0.9, warn=False).fit(
        schools()
    )
    res = bm.to_result()
    mu = bm.idata_["posterior"]["mu"].values.ravel()
    np.testing.assert_allclose([res.ci_low, res.ci_high], az.hdi(mu, prob=0.9), rtol=1e-12)
    assert res.ci_method == "shortest" and res.level == 0.9


def test_subgroup_results_and_contrasts(mocked):
    data = toy(9)
    bm = BayesianMeta("subgroup", draws=DRAWS, chains=CHAINS, warn=False).fit(data)
    res = bm.to_result()
    post = bm.idata_["posterior"]
    assert list(res.subgroups) == ["MSC", "BM-MNC", "BM-HSC"]
    mu_g = post["mu_subgroup"].sel(subgroup="BM-MNC").values.ravel()
    assert res.subgroups["BM-MNC"].estimate == pytest.approx(np.median(mu_g), abs=1e-12)
    assert res.subgroups["BM-MNC"].k == 3
    table = res.extra["contrasts"]
    assert list(table.index) == ["MSC - BM-MNC", "MSC - BM-HSC", "BM-MNC - BM-HSC"]
    diff = post["mu_subgroup"].sel(subgroup="MSC") - post["mu_subgroup"].sel(subgroup="BM-HSC")
    assert table.loc["MSC - BM-HSC", "median"] == pytest.approx(np.median(diff.values), abs=1e-12)
    assert table.loc["MSC - BM-HSC", "p_gt_0"] == pytest.approx((diff.values > 0).mean())
    assert "mu_subgroup[MSC]" in res.posterior.index
    assert res.pi_low is None  # a new study's effect depends on its subgroup
    assert res.subgroups["MSC"].pi_low is not None


def test_divergences_become_warnings(monkeypatch):
    monkeypatch.setattr(fit_module, "sample_posterior", fake_sampler(divergences=5))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bm = BayesianMeta(centred=True, draws=DRAWS, chains=CHAINS).fit(schools())
    ours = [str(w.message) for w in caught if w.category is SamplingWarning]
    assert any(m.startswith("5 divergent transitions") for m in ours)
    res = bm.to_result()
    assert res.diagnostics["divergences"] == 5
    assert any("non-centred" in w for w in res.warnings)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SamplingWarning)
        BayesianMeta(draws=DRAWS, chains=CHAINS, warn=False).fit(schools())  # silent


def test_fit_accepts_tables_and_frames(mocked):
    frame = pd.DataFrame(
        {
            "study": list("abcd"),
            "yi": [0.1, 0.3, -0.2, 0.5],
            "vi": [0.04, 0.05, 0.09, 0.02],
            "cell": ["x", "y", "x", "y"],
        }
    )
    a = BayesianMeta("subgroup", draws=50, chains=CHAINS, warn=False).fit(frame, subgroup="cell")
    b = BayesianMeta("subgroup", draws=50, chains=CHAINS, warn=False).fit(
        StudyTable.from_frame(frame, subgroup="cell")
    )
    assert list(a.idata_["posterior"]["subgroup"].values) == ["x", "y"]
    np.testing.assert_array_equal(a.idata_["posterior"]["mu"], b.idata_["posterior"]["mu"])
    with pytest.raises(InputError, match="must be > 0"):
        BayesianMeta().fit(frame.assign(vi=[0.1, 0.0, 0.1, 0.1]))
    with pytest.raises(InputError, match="data must be"):
        BayesianMeta().fit([0.1, 0.2])


def test_summary_is_the_arviz_summary(mocked):
    bm = BayesianMeta(draws=DRAWS, chains=CHAINS, level=0.9, warn=False).fit(schools())
    s = bm.summary
    assert "mu" in s.index and "z[A]" not in s.index and "theta[A]" in s.index
    ref = az.summary(bm.idata_, var_names=["mu"], ci_prob=0.9, round_to="none")
    assert s.loc["mu", "mean"] == pytest.approx(ref.loc["mu", "mean"], abs=1e-12)
    ppc = bm.ppc()
    assert list(ppc.index) == list(schools().study)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"draws": 0}, "draws"),
        ({"chains": 1.5}, "chains"),
        ({"target_accept": 1.0}, "target_accept"),
        ({"level": 95}, "level"),
        ({"interval": "hdi"}, "interval"),
        ({"sampler": "stan"}, "sampler"),
    ],
)
def test_bad_settings(kw, message):
    with pytest.raises(InputError, match=message):
        BayesianMeta(**kw)


def test_unfitted_model_says_so():
    with pytest.raises(RuntimeError, match="fit"):
        BayesianMeta().to_result()


def test_prepost_with_fixed_r_reports_metafor_mc_variances(mocked):
    """A fixed pre-post correlation gives the study variances of metafor's mean change.

    R: escalc(measure="MC", m1i=m_post_t, m2i=m_pre_t, sd1i=sd_post_t, sd2i=sd_pre_t,
    ni=n_t, ri=0*r, data=mo)   (tests/fixtures/escalc.json, morris2008/MC_t_r0); 1e-10.
    (to_result() used to fail here: pre/post data have no sei of their own.)
    """
    ref = load_fixture("escalc.json")["morris2008"]["MC_t_r0"]
    bm = BayesianMeta("prepost", r=0.0, draws=DRAWS, chains=CHAINS, seed=3, warn=False)
    res = bm.fit(morris()).to_result()
    np.testing.assert_allclose(res.studies["vi"], ref["vi"], rtol=1e-10)
    np.testing.assert_allclose(res.studies["yi"], ref["yi"], rtol=1e-10, atol=1e-12)


@pytest.mark.slow
def test_prior_draws_zero_skips_the_prior_group():
    """prior_draws=0: no prior sampler is compiled or run, the tree has no prior groups and the
    note says why; the posterior is the one with prior draws (same seed, same draws)."""
    from bayesmeta.hierarchical import BayesianMeta, MetaData

    data = MetaData.from_arrays([0.1, 0.4, -0.2, 0.3], [0.2, 0.3, 0.25, 0.2])
    opts = {
        "draws": 300,
        "tune": 300,
        "chains": 2,
        "seed": 4,
        "warn": False,
        "mu_prior": "normal(0, 1)",
        "tau_prior": "halfnormal(0.5)",
    }
    none = BayesianMeta(prior_draws=0, **opts).fit(data)
    some = BayesianMeta(prior_draws=100, **opts).fit(data)
    assert "prior" not in none.idata_.children and "prior" in some.idata_.children
    assert none.prior_note_ == "no prior group: prior_draws=0"
    np.testing.assert_array_equal(none.idata_["posterior"]["mu"], some.idata_["posterior"]["mu"])

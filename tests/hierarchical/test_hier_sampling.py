"""The compile cache (keys, hits) and the compiled prior sampler (no MCMC here).

Prior draws of tau and mu are compared with the quantiles of :mod:`bayesmeta.priors`
(``Prior.ppf``; checked against R bayesmeta in tests/test_priors.py) at a Kolmogorov-Smirnov
level of 1e-3 with 4000 draws.
"""

from __future__ import annotations

import numpy as np
import pytest
from hier_data import schools, toy
from scipy import stats

from bayesmeta.hierarchical import MetaData, cache_info, clear_cache, model_spec
from bayesmeta.hierarchical.models import data_values
from bayesmeta.hierarchical.sampling import cache_key, get_entry, prior_sampleable, sample_prior
from bayesmeta.priors import parse_prior

PRIORS = {"mu_prior": "normal(1, 2)", "tau_prior": "halfnormal(0.5)"}


def shifted(data: MetaData, by: float, labels=None) -> MetaData:
    return MetaData.from_arrays(data.yi + by, data.sei * 1.5, study=labels or list(data.study))


def test_same_shape_shares_a_key_and_other_shapes_do_not():
    spec = model_spec("normal", **PRIORS)
    data = schools()
    key = cache_key(spec, data)
    assert cache_key(spec, shifted(data, 1.0, [f"s{i}" for i in range(8)])) == key
    fewer = MetaData.from_arrays(data.yi[:7], data.sei[:7])
    assert cache_key(spec, fewer) != key
    assert cache_key(model_spec("normal", **(PRIORS | {"centred": True})), data) != key
    assert (
        cache_key(model_spec("normal", mu_prior="normal(1, 3)", tau_prior="halfnormal(0.5)"), data)
        != key
    )
    sub = model_spec("subgroup", **PRIORS)
    assert cache_key(sub, toy(6)) != cache_key(sub, toy(5))  # 3 vs 3 subgroups, k differs


def test_jeffreys_key_includes_the_standard_errors():
    spec = model_spec("normal", mu_prior="normal(0, 5)", tau_prior="jeffreys")
    data = schools()
    assert cache_key(spec, shifted(data, 0.0)) != cache_key(spec, data)
    same_se = MetaData.from_arrays(data.yi + 2.0, data.sei)
    assert cache_key(spec, same_se) == cache_key(spec, data)


def test_get_entry_counts_hits_and_misses():
    clear_cache()
    spec = model_spec("normal", **PRIORS)
    first, hit1 = get_entry(spec, schools())
    second, hit2 = get_entry(spec, shifted(schools(), 2.0))
    assert (hit1, hit2) == (False, True) and first is second
    assert cache_info() == {"hits": 1, "misses": 1, "compilations": 0, "entries": 1}
    clear_cache()
    assert cache_info()["entries"] == 0


def test_prior_draws_follow_the_priors_and_the_new_data():
    clear_cache()
    spec = model_spec("normal", **PRIORS)
    data = schools()
    entry, _ = get_entry(spec, data)
    draws = sample_prior(entry, data_values(spec, data), 4000, seed=11)
    assert draws["tau"].shape == (1, 4000) and draws["y_obs"].shape == (1, 4000, data.k)
    for name, kind in (("tau", "tau"), ("mu", "mu")):
        prior = parse_prior(PRIORS[f"{name}_prior"], kind)
        assert stats.kstest(draws[name].ravel(), prior.cdf).pvalue > 1e-3
    # y_obs = theta + sei * eps: its spread per study reflects the current sei
    again = sample_prior(entry, data_values(spec, data), 4000, seed=11)
    np.testing.assert_array_equal(draws["tau"], again["tau"])
    wide = shifted(data, 0.0)
    entry2, hit = get_entry(spec, wide)
    assert hit
    prior_wide = sample_prior(entry2, data_values(spec, wide), 4000, seed=11)
    resid = prior_wide["y_obs"][0] - prior_wide["theta"][0]
    np.testing.assert_allclose(resid.std(0), wide.sei, rtol=0.06)


def test_improper_priors_have_no_prior_group():
    clear_cache()
    for mu, tau in (
        ("flat", "halfnormal(1)"),
        ("normal(0, 1)", "jeffreys"),
        ("normal(0, 1)", "rhodes"),
    ):
        entry, _ = get_entry(model_spec("normal", mu_prior=mu, tau_prior=tau), schools())
        assert not prior_sampleable(entry.model)
        assert sample_prior(entry, {}, 10, 1) is None
    assert prior_sampleable(get_entry(model_spec("normal", **PRIORS), schools())[0].model)


@pytest.mark.parametrize("kind", ["normal", "subgroup", "nested", "student_t", "regression"])
def test_batched_prior_draws_match_pymc_forward_sampling(kind):
    """The one-call batched prior sampler against PyMC's own draw-by-draw
    ``pm.sample_prior_predictive`` on the same model: every scalar of every variable has the
    same marginal distribution (two-sample KS: the smallest p over all scalars > 1e-6, which a
    correct sampler fails with probability < 1e-4), and every scalar varies across draws."""
    import pymc as pm

    clear_cache()
    data = toy(k=6, seed=2)
    extra = {"beta_prior": "normal(0, 1)"} if kind == "regression" else {}
    spec = model_spec(kind, mu_prior="normal(0, 2)", tau_prior="halfnormal(1)", **extra)
    entry, _ = get_entry(spec, data)
    ours = sample_prior(entry, data_values(spec, data), 3000, seed=5)
    with entry.model:
        ref = pm.sample_prior_predictive(
            draws=3000, random_seed=9, compile_kwargs={"mode": "FAST_COMPILE"}
        )
    theirs = {**ref["prior"].to_dataset().data_vars, **ref["prior_predictive"].to_dataset()}
    assert set(ours) == set(theirs)
    worst = 1.0
    for name, draws in ours.items():
        want = np.asarray(theirs[name].values)
        assert draws.shape == want.shape, name
        a, b = draws.reshape(3000, -1), want.reshape(3000, -1)
        assert np.all(a.std(axis=0) > 0), f"{name}: a scalar does not vary across draws"
        for j in range(a.shape[1]):
            worst = min(worst, stats.ks_2samp(a[:, j], b[:, j]).pvalue)
    assert worst > 1e-6

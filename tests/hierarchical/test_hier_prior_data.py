"""Prior parameters as pm.Data (``prior_data=True``): cache keys, graph, swapped values.

No MCMC here. The reference for the log density is the model with the same priors as
constants (itself checked against SciPy in test_hier_models.py): equal to 1e-6 absolute at
a perturbed point (PyMC evaluates some constants in float32, errors ~1e-8), after
``pm.set_data`` has swapped in another prior's parameters. Prior
draws after a swap are checked by a KS test against the SciPy prior (p > 1e-3).
"""

from __future__ import annotations

import pytest
from hier_data import schools
from scipy import stats

from bayesmeta.hierarchical import build_model, clear_cache, model_spec
from bayesmeta.hierarchical.models import data_values
from bayesmeta.hierarchical.sampling import cache_key, get_entry, sample_prior
from bayesmeta.priors import parse_prior

pm = pytest.importorskip("pymc")

# (family sweep: two priors of one family) for every parametric tau family
PAIRS = [
    ("halfnormal(2)", "halfnormal(9)"),
    ("halfcauchy(1)", "halfcauchy(6)"),
    ("halft(3, 2)", "halft(7, 5)"),
    ("exponential(0.5)", "exponential(2)"),
    ("lognormal(0, 1)", "lognormal(1.5, 0.4)"),
    ("turner(pain, pharm-vs-placebo)", "turner(all-cause-mortality, pharm-vs-pharm)"),
    ("rhodes", "rhodes(mental-health, nonpharm)"),
    ("uniform(0, 20)", "uniform(1, 12)"),
]


def _logp(model, point) -> float:
    return float(model.compile_logp(sum=True)(point))


def test_cache_key_holds_the_family_not_the_values():
    data = schools()
    a = model_spec(mu_prior="normal(0, 5)", tau_prior="halfnormal(2)", prior_data=True)
    b = model_spec(mu_prior="normal(3, 1)", tau_prior="halfnormal(9)", prior_data=True)
    c = model_spec(mu_prior="normal(0, 5)", tau_prior="halfcauchy(2)", prior_data=True)
    d = model_spec(mu_prior="flat", tau_prior="halfnormal(2)", prior_data=True)
    assert cache_key(a, data) == cache_key(b, data)
    assert cache_key(a, data) != cache_key(c, data)  # another tau family: another graph
    assert cache_key(a, data) != cache_key(d, data)  # another mu family
    # default: values are constants of the graph, so they stay in the key
    plain = model_spec(mu_prior="normal(0, 5)", tau_prior="halfnormal(2)")
    assert plain.prior_data is False and plain.graph_key() is plain
    assert cache_key(plain, data) != cache_key(a, data)
    assert cache_key(plain, data) != cache_key(
        model_spec(mu_prior="normal(0, 5)", tau_prior="halfnormal(9)"), data
    )
    # the spec keeps the actual priors (for settings / results)
    assert b.priors_text() == {"tau_prior": "halfnormal(9)", "mu_prior": "normal(3, 1)"}


def test_prior_parameters_are_data_variables():
    data = schools()
    spec = model_spec(mu_prior="normal(1, 5)", tau_prior="halft(3, 2)", prior_data=True)
    model = build_model(spec, data)
    names = {v.name for v in model.data_vars}
    assert names == {"y", "sei", "mu_prior_mu", "mu_prior_sigma", "tau_prior_nu", "tau_prior_sigma"}
    values = data_values(spec, data)
    assert (values["mu_prior_mu"], values["mu_prior_sigma"]) == (1.0, 5.0)
    assert (values["tau_prior_nu"], values["tau_prior_sigma"]) == (3.0, 2.0)
    flat = model_spec(mu_prior="flat", tau_prior="flat", prior_data=True)
    assert {v.name for v in build_model(flat, data).data_vars} == {"y", "sei"}
    assert "tau_prior_sigma" not in data_values(model_spec(tau_prior="halfnormal(2)"), data)


@pytest.mark.parametrize(("first", "second"), PAIRS)
def test_swapped_values_give_the_log_density_of_the_other_prior(first, second):
    """Model built with ``first``, values of ``second`` set: logp of the constant ``second``."""
    data = schools()
    mu1, mu2 = "normal(0, 5)", "normal(2, 3)"
    spec1 = model_spec(mu_prior=mu1, tau_prior=first, prior_data=True)
    spec2 = model_spec(mu_prior=mu2, tau_prior=second, prior_data=True)
    model = build_model(spec1, data)
    const1 = build_model(model_spec(mu_prior=mu1, tau_prior=first), data)
    const2 = build_model(model_spec(mu_prior=mu2, tau_prior=second), data)
    point = {k: v + 0.3 for k, v in const2.initial_point().items()}
    assert _logp(model, point) == pytest.approx(_logp(const1, point), abs=1e-6)
    pm.set_data(data_values(spec2, data), model=model)
    assert _logp(model, point) == pytest.approx(_logp(const2, point), abs=1e-6)
    assert abs(_logp(const1, point) - _logp(const2, point)) > 1e-3  # the swap matters


def test_cached_model_samples_the_prior_of_the_new_values():
    clear_cache()
    data = schools()
    small = model_spec(mu_prior="normal(0, 1)", tau_prior="halfnormal(1)", prior_data=True)
    large = model_spec(mu_prior="normal(4, 10)", tau_prior="halfnormal(10)", prior_data=True)
    get_entry(small, data)
    entry, hit = get_entry(large, data)
    assert hit
    draws = sample_prior(entry, data_values(large, data), 4000, seed=3)
    tau = parse_prior("halfnormal(10)", "tau")
    mu = parse_prior("normal(4, 10)", "mu")
    assert stats.kstest(draws["tau"].ravel(), tau.cdf).pvalue > 1e-3
    assert stats.kstest(draws["mu"].ravel(), mu.cdf).pvalue > 1e-3
    # and the draws are not those of the first prior
    assert stats.kstest(draws["tau"].ravel(), parse_prior("halfnormal(1)", "tau").cdf).pvalue < 1e-6
    clear_cache()

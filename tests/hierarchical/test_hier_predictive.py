"""Log-likelihood and posterior predictive draws computed in NumPy from the posterior.

Checked against ``scipy.stats.norm.logpdf`` (1e-12) and against PyMC's own
``pm.compute_log_likelihood`` on the same draws (1e-6: PyMC's float32 constants); the
predictive moments against E[y_rep] = E[theta], Var[y_rep] = Var[theta] + s^2 (Monte Carlo,
tolerance 5 standard errors).
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hier_data import morris, schools
from scipy import stats

from bayesmeta.hierarchical import build_model, model_spec
from bayesmeta.hierarchical.predictive import log_likelihood, posterior_predictive, ppc_table

STUDIES = list("ABCDEFGH")


def posterior(theta, se=None):
    ds = xr.Dataset(
        {"theta": (("chain", "draw", "study"), theta)},
        coords={
            "chain": range(theta.shape[0]),
            "draw": range(theta.shape[1]),
            "study": STUDIES[: theta.shape[2]],
        },
    )
    if se is not None:
        ds["se"] = (("chain", "draw", "study"), se)
    return ds


def test_log_likelihood_is_the_normal_log_density():
    data = schools()
    rng = np.random.default_rng(0)
    theta = rng.normal(5, 5, size=(2, 50, data.k))
    ll = log_likelihood(posterior(theta), data.yi, data.sei)["y_obs"]
    assert ll.dims == ("chain", "draw", "study")
    np.testing.assert_allclose(ll.values, stats.norm.logpdf(data.yi, theta, data.sei), rtol=1e-12)


def test_posterior_se_replaces_the_data_standard_errors():
    rng = np.random.default_rng(1)
    theta = rng.normal(size=(2, 30, 3))
    se = rng.uniform(0.5, 2.0, size=(2, 30, 3))
    y = np.array([0.2, -0.4, 1.0])
    ll = log_likelihood(posterior(theta, se), y, None)["y_obs"].values
    np.testing.assert_allclose(ll, stats.norm.logpdf(y, theta, se), rtol=1e-12)


@pytest.mark.parametrize("which", ["normal", "prepost"])
def test_agrees_with_pymc_compute_log_likelihood(which):
    import pymc as pm

    data = schools() if which == "normal" else morris()
    spec = model_spec(which, mu_prior="normal(0, 10)", tau_prior="halfnormal(5)")
    model = build_model(spec, data)
    with model:
        prior = pm.sample_prior_predictive(draws=40, random_seed=3)
    post = prior["prior"].to_dataset()
    ours = log_likelihood(post, data.yi, data.sei)["y_obs"]
    theirs = pm.compute_log_likelihood(
        xr.DataTree.from_dict({"/posterior": post}),
        model=model,
        extend_inferencedata=False,
        progressbar=False,
    )["y_obs"]
    np.testing.assert_allclose(ours.values, theirs.transpose(*ours.dims).values, atol=1e-6)


def test_predictive_moments():
    data = schools()
    rng = np.random.default_rng(2)
    theta = rng.normal(3.0, 2.0, size=(4, 5000, data.k))
    rep = posterior_predictive(posterior(theta), data.sei, np.random.default_rng(5))["y_obs"]
    draws = rep.values.reshape(-1, data.k)
    sd = np.sqrt(4.0 + data.sei**2)
    n = draws.shape[0]
    np.testing.assert_array_less(np.abs(draws.mean(0) - 3.0), 5 * sd / np.sqrt(n))
    np.testing.assert_allclose(draws.std(0), sd, rtol=5 * np.sqrt(2 / n))
    again = posterior_predictive(posterior(theta), data.sei, np.random.default_rng(5))["y_obs"]
    np.testing.assert_array_equal(rep.values, again.values)  # seeded


def test_ppc_table_p_values():
    rng = np.random.default_rng(4)
    draws = rng.normal(size=(2, 2000, 3))
    y = np.array([-10.0, 0.0, 10.0])
    table = ppc_table(y, posterior(draws)["theta"], level=0.9)
    assert list(table.index) == ["A", "B", "C"]
    assert table["p_value"].iloc[0] == 1.0 and table["p_value"].iloc[2] == 0.0
    assert table["p_value"].iloc[1] == pytest.approx(0.5, abs=0.05)
    flat = draws.reshape(-1, 3)
    np.testing.assert_allclose(table["pred_low"], np.quantile(flat, 0.05, axis=0), rtol=1e-12)

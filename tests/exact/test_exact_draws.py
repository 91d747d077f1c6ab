"""Exact joint posterior draws of the normal-normal model (`NormalNormal.draws` / `.sample`).

References: the exact marginals (mixtures over the tau quadrature, themselves checked against
R bayesmeta in test_bayesmeta_r.py) and, for the joint, E[theta_i mu] computed in the test
from the conditional formulas of the module docstring on the tau rule
(E[theta_i mu | tau] = B_i / P + (y_i - B_i (y_i - M)) M). Seeded; Monte Carlo tolerances
are 4 standard errors of the i.i.d. mean (sd / sqrt(n)), Kolmogorov-Smirnov p > 1e-3.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bayesmeta import datasets
from bayesmeta.errors import InputError
from bayesmeta.exact import NormalNormal

N = 40_000


@pytest.fixture(scope="module")
def schools() -> NormalNormal:
    d = datasets.load("rubin1981")
    return NormalNormal(d.effect, d.stderr, "halfcauchy(25)", "normal(0, 100)", labels=d.school)


@pytest.fixture(scope="module")
def drawn(schools):
    return schools.draws(N, rng=20261125)


def _within_mc(x: np.ndarray, mean: float) -> bool:
    return abs(x.mean() - mean) < 4 * x.std() / np.sqrt(x.size)


def test_marginal_means_and_sds(schools, drawn):
    assert _within_mc(drawn["mu"], schools.mu.mean)
    assert _within_mc(drawn["tau"], schools.tau.mean)
    assert _within_mc(drawn["theta_new"], schools.theta_new.mean)
    for i in range(schools.k):
        assert _within_mc(drawn["theta"][:, i], schools.theta(i).mean)
        assert drawn["theta"][:, i].std() == pytest.approx(schools.theta(i).sd, rel=0.03)
    assert drawn["mu"].std() == pytest.approx(schools.mu.sd, rel=0.03)


def test_distributions_match_the_exact_cdfs(schools, drawn):
    for name, marginal in (("tau", schools.tau), ("mu", schools.mu)):
        p = stats.kstest(drawn[name], lambda x, m=marginal: np.asarray(m.cdf(x))).pvalue
        assert p > 1e-3, name
    p = stats.kstest(drawn["theta"][:, 0], lambda x: np.asarray(schools.theta(0).cdf(x))).pvalue
    assert p > 1e-3


def test_joint_moments_of_study_effects_and_mu(schools, drawn):
    """E[theta_i mu] from the conditional formulas on the tau rule (exact, not sampled)."""
    t, w = schools.tau.nodes, schools.tau.weights
    m, v = schools.conditional_mu(t)
    for i in (0, 2, 6):
        y, s2 = schools.y[i], schools.s[i] ** 2
        b = s2 / (s2 + t**2)
        exact = float(np.sum(w * (b * v + (y - b * (y - m)) * m)))
        prod = drawn["theta"][:, i] * drawn["mu"]
        assert _within_mc(prod, exact), i


def test_tau_near_zero_pins_study_effects_to_mu():
    """A prior that forces tau to ~0: theta_i = mu (shrinkage B_i = 1), theta_new = mu."""
    nn = NormalNormal([0.1, 0.5, 0.9], [0.2, 0.2, 0.3], "halfnormal(1e-8)", "normal(0, 4)")
    d = nn.draws(2000, rng=3)
    assert d["tau"].max() < 1e-7
    np.testing.assert_allclose(d["theta"], np.repeat(d["mu"][:, None], 3, axis=1), atol=1e-6)
    np.testing.assert_allclose(d["theta_new"], d["mu"], atol=1e-6)


def test_sample_is_a_datatree_shaped_like_a_pymc_fit(schools):
    tree = schools.sample(draws=250, chains=2, seed=5)
    post = tree["posterior"]
    assert dict(post["theta"].sizes) == {"chain": 2, "draw": 250, "study": 8}
    assert list(post["study"].values) == list(schools.labels)
    assert sorted(tree.children) == ["constant_data", "log_likelihood", "observed_data",
                                     "posterior"]  # fmt: skip
    ll = tree["log_likelihood"]["y_obs"].values
    ref = stats.norm.logpdf(schools.y, post["theta"].values, schools.s)
    np.testing.assert_allclose(ll, ref, rtol=1e-12)
    np.testing.assert_array_equal(tree["observed_data"]["y_obs"].values, schools.y)
    np.testing.assert_array_equal(tree["constant_data"]["sei"].values, schools.s)
    again = schools.sample(draws=250, chains=2, seed=5)
    np.testing.assert_array_equal(again["posterior"]["mu"].values, post["mu"].values)


@pytest.mark.parametrize("kw", [{"draws": 0}, {"chains": 0}, {"draws": 1.5}])
def test_sample_rejects_bad_sizes(schools, kw):
    with pytest.raises(InputError, match="whole number"):
        schools.sample(**kw)


def test_k1_draws():
    """One study: defined (the tau prior alone shapes tau), theta_1 between y and mu."""
    nn = NormalNormal([0.3], [0.2], "halfnormal(0.5)", "normal(0, 1)")
    d = nn.draws(20_000, rng=7)
    assert _within_mc(d["mu"], nn.mu.mean)
    assert _within_mc(d["theta"][:, 0], nn.theta(0).mean)

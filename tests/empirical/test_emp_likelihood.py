"""Per-analysis likelihoods: metafor's REML and ML log-likelihoods at fixed tau^2 (fixture
tests/fixtures/make_empirical_fixture.R, metafor 3.8.1) and brute-force 2-D quadrature of
the marginal likelihood over mu and log(tau^2)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, stats

from bayesmeta.empirical.likelihood import LOG2PI, AnalysisTables, Cells, cell_logprob
from bayesmeta.errors import InputError

FIX = json.loads((Path(__file__).parents[1] / "fixtures" / "empirical_reml.json").read_text())


@pytest.mark.parametrize("case", FIX["cases"], ids=lambda c: f"k{len(c['yi'])}-t{c['tau2']}")
def test_tables_equal_metafor_loglik_at_fixed_tau2(case: dict) -> None:
    u = math.log(case["tau2"])
    cells = Cells(np.array([-np.inf, u - 0.1, u + 0.1, np.inf]), np.array([u - 0.2, u, u + 0.2]))
    t = AnalysisTables([np.array(case["yi"])], [np.array(case["vi"])], cells=cells)
    k = len(case["yi"])
    reml = t.A[0, 1] + 0.5 * math.log(k)
    assert reml == pytest.approx(case["reml"], rel=1e-10)
    ml = t.A[0, 1] - 0.5 * LOG2PI - 0.5 * math.log(t.var_hat[0, 1])
    assert ml == pytest.approx(case["ml"], rel=1e-10)
    assert t.mu_hat[0, 1] == pytest.approx(case["mu_hat"], rel=1e-10)
    # log_restricted with all prior mass on that cell is the REML log-likelihood
    assert t.log_restricted(np.array([0.0, 1.0, 0.0]))[0] == pytest.approx(case["reml"], rel=1e-10)


def _brute(y: np.ndarray, v: np.ndarray, m: float, s: float, a: float, b: float,
           nu: float | None) -> float:  # fmt: skip
    def inner(u: float) -> float:
        sd = np.sqrt(v + math.exp(u))

        def f(mu: float) -> float:
            return math.exp(np.sum(stats.norm.logpdf(y, mu, sd)) + stats.norm.logpdf(mu, a, b))

        val = integrate.quad(f, a - 12 * b - 5, a + 12 * b + 5, points=[a, float(np.mean(y))],
                             epsabs=0, epsrel=1e-11, limit=200)[0]  # fmt: skip
        pu = stats.norm.pdf(u, m, s) if nu is None else stats.t.pdf(u, nu, m, s)
        return val * pu

    lo, hi = (m - 12 * s, m + 12 * s) if nu is None else (-60.0, 40.0)
    return math.log(integrate.quad(inner, lo, hi, points=[m], epsabs=0, epsrel=1e-10,
                                   limit=500)[0])  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    ("y", "v", "hyper", "tol"),
    [
        ([0.3, -0.1, 0.5, 0.9], [0.04, 0.09, 0.05, 0.2], (-2.0, 1.5, 0.1, 0.3, None), 5e-5),
        ([0.3, -0.1, 0.5, 0.9], [0.04, 0.09, 0.05, 0.2], (-3.0, 2.0, 0.2, 0.2, 5.0), 5e-5),
        ([0.3, -0.1, 0.5, 0.9], [0.04, 0.09, 0.05, 0.2], (-1.0, 0.05, 0.0, 0.5, None), 1e-3),
        ([1.2], [0.3], (-1.0, 1.0, 0.5, 1.0, None), 5e-5),  # k = 1
        ([120.0, 80.0, 150.0], [400.0, 900.0, 250.0], (7.0, 1.2, 100.0, 40.0, None), 1e-4),
    ],
)  # fmt: skip
def test_marginal_equals_brute_force_quadrature(y: list, v: list, hyper: tuple, tol: float) -> None:
    m, s, a, b, nu = hyper
    t = AnalysisTables([np.array(y)], [np.array(v)])
    got = t.log_marginal([m], [s], [a], [b], nu)[0, 0]
    assert got == pytest.approx(_brute(np.array(y), np.array(v), m, s, a, b, nu), abs=tol)


@pytest.mark.slow
def test_finer_cells_converge_quadratically() -> None:
    y, v = [np.array([0.3, -0.1, 0.5, 0.9])], [np.array([0.04, 0.09, 0.05, 0.2])]
    ref = _brute(y[0], v[0], -2.0, 1.5, 0.1, 0.3, None)
    errs = [abs(AnalysisTables(y, v, step=h).log_marginal([-2.0], [1.5], [0.1], [0.3])[0, 0]
                - ref) for h in (0.2, 0.1)]  # fmt: skip
    assert 2.5 < errs[0] / errs[1] < 6  # O(h^2): about 4


def test_cell_probabilities_sum_to_one_and_match_the_cdf() -> None:
    edges = np.concatenate([[-np.inf], np.linspace(-30, 10, 401), [np.inf]])
    for nu in (None, 3.0):
        lp = cell_logprob(edges, np.array([-2.0, 5.0]), np.array([1.3, 0.01]), nu)
        p = np.exp(lp)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
        d = stats.norm(-2.0, 1.3) if nu is None else stats.t(nu, -2.0, 1.3)
        inner = edges[1:-1]
        # lower-tail differences below the centre, upper-tail differences above it
        ref = np.where(inner[1:] < -2.0, np.diff(d.cdf(inner)), -np.diff(d.sf(inner)))
        np.testing.assert_allclose(p[0, 1:-1], ref, rtol=1e-8, atol=1e-300)


def test_scale_equivariance_of_the_cells() -> None:
    rng = np.random.default_rng(1)
    y = [rng.normal(0, 0.3, 5) for _ in range(4)]
    v = [rng.uniform(0.01, 0.1, 5) for _ in range(4)]
    c = 100.0
    a = AnalysisTables(y, v)
    b = AnalysisTables([x * c for x in y], [x * c * c for x in v])
    np.testing.assert_allclose(b.cells.mids - a.cells.mids, 2 * math.log(c), rtol=1e-12)
    # the log-likelihood moves by -k log c (the Jacobian of the units) and nothing else
    np.testing.assert_allclose(b.A - a.A, np.broadcast_to(-(a.k[:, None] - 1) * math.log(c),
                                                          a.A.shape), rtol=1e-9)  # fmt: skip


@pytest.mark.parametrize(("y", "v"), [([], []), ([np.array([1.0])], [np.array([0.0])]),
                                      ([np.array([np.nan])], [np.array([1.0])])])  # fmt: skip
def test_bad_data(y: list, v: list) -> None:
    with pytest.raises(InputError):
        AnalysisTables(y, v)

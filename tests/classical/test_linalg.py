"""Input checks and helpers of the classical engine (no external reference needed: these are
definitions). R's ``mad(c(1, 2, 3, 4, 100))`` is 1.4826 by its definition
``1.4826 * median(|x - median(x)|)``."""

import numpy as np
import pytest

from bayesmeta.classical.linalg import Control, canonical_method, check_arrays, r_mad
from bayesmeta.errors import InputError


def test_method_aliases():
    assert canonical_method(" reml ") == "REML"
    assert canonical_method("ee") == canonical_method("Fixed") == "FE"
    with pytest.raises(InputError, match="valid methods: FE, DL, REML, ML, PM, EB, SJ, HE"):
        canonical_method("GLMM")


def test_control_and_design_checks():
    assert Control.make({"maxiter": 5}).maxiter == 5
    assert Control.make(None).threshold == 1e-5
    with pytest.raises(InputError, match="not of full rank"):
        check_arrays([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], np.ones((3, 2)))
    with pytest.raises(InputError, match="rows"):
        check_arrays([1.0, 2.0], [1.0, 1.0], np.ones((3, 1)))
    with pytest.raises(InputError, match="empty"):
        check_arrays([], [])


def test_r_mad():
    assert r_mad(np.array([1.0, 2.0, 3.0, 4.0, 100.0])) == pytest.approx(1.4826)


@pytest.mark.parametrize("p", [1, 3])
def test_projection_without_the_k_by_k_matrix(p):
    """Every quantity of `Projection` (O(k p^2)) equals the explicit k x k matrix
    P = W - WX(X'WX)^{-1}X'W to 1e-10 relative (the definition, formed here for k = 40)."""
    from bayesmeta.classical.linalg import Projection

    rng = np.random.default_rng(p)
    k = 40
    X = np.c_[np.ones(k), rng.normal(size=(k, p - 1))]
    w, y, v = rng.uniform(0.5, 4, k), rng.normal(size=k), rng.uniform(0.1, 2, k)
    WX = w[:, None] * X
    P = np.diag(w) - WX @ np.linalg.solve(X.T @ WX, WX.T)
    pr = Projection(w, X)
    np.testing.assert_allclose(pr.apply(y), P @ y, rtol=1e-10, atol=1e-12)
    assert pr.quad(y) == pytest.approx(y @ P @ y, rel=1e-10)
    np.testing.assert_allclose(pr.diag(), np.diag(P), rtol=1e-10)
    assert pr.trace() == pytest.approx(np.trace(P), rel=1e-10)
    np.testing.assert_allclose(pr.diag_sq(), np.diag(P @ P), rtol=1e-10)
    assert pr.frob2() == pytest.approx(np.sum(P * P), rel=1e-10)
    PV = P * v[None, :]
    assert pr.trace_pvpv(v) == pytest.approx(np.sum(PV * PV.T), rel=1e-10)


def test_magnitudes_beyond_double_precision_are_refused():
    with pytest.raises(InputError, match=r"row 2, column 'yi': 1e\+300 is too large"):
        check_arrays([0.1, 1e300], [0.01, 0.02])
    with pytest.raises(InputError, match=r"row 1, column 'vi': 1e-200 is too small"):
        check_arrays([0.1, 0.2], [1e-200, 0.02])

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

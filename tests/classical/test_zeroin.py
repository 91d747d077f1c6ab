"""Port of R's uniroot() (Brent zeroin) against R itself.

R: ``uniroot(function(x) x^3 - 2, c(0, 5))$root`` etc. (tests/fixtures/metafor.json "uniroot";
default tol = .Machine$double.eps^0.25, so the roots are R's approximations, not exact roots).
Tolerance: relative 1e-12 (same algorithm, same steps).
"""

import json
import math
from pathlib import Path

import pytest

from bayesmeta.classical.zeroin import zeroin

FIX = json.loads((Path(__file__).parents[1] / "fixtures" / "metafor.json").read_text())


@pytest.mark.parametrize(
    ("key", "f", "lo", "hi"),
    [
        ("cubic", lambda x: x**3 - 2, 0.0, 5.0),
        ("cosine", lambda x: math.cos(x) - x, 0.0, 1.0),
        ("exp_tail", lambda x: math.exp(-x) - 1e-3, 0.0, 100.0),
    ],
)
def test_zeroin_reproduces_r_uniroot(key, f, lo, hi):
    r = zeroin(f, lo, hi)
    assert r.iterations > 0
    assert r.root == pytest.approx(FIX["uniroot"][key], rel=1e-12)


def test_zeroin_needs_a_sign_change_and_stops_at_maxiter():
    with pytest.raises(ValueError, match="opposite sign"):
        zeroin(lambda x: x * x + 1, -1.0, 1.0)
    assert zeroin(lambda x: x, 0.0, 1.0).root == 0.0
    r = zeroin(lambda x: x**3 - 2, 0.0, 5.0, tol=1e-300, maxiter=2)
    assert r.iterations == -1

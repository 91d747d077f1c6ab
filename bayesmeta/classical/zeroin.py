"""R's ``uniroot()``: Brent's zeroin (R ``src/library/stats/src/zeroin.c``, ``R_zeroin2``).

metafor finds the Paule-Mandel estimate and the Q-profile bounds with ``uniroot(tol =
.Machine$double.eps^0.25)``; that tolerance (about 1.2e-4) is loose, so matching metafor to 1e-6
needs the same algorithm step for step, not just any root finder (Brent 1973, ch. 4).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

EPSILON = 2.220446049250313e-16  # DBL_EPSILON
R_TOL = EPSILON**0.25  # uniroot()'s default tol


@dataclass(frozen=True)
class Root:
    root: float
    iterations: int  # -1: not converged within maxiter
    estim_prec: float


def zeroin(
    f: Callable[[float], float],
    lower: float,
    upper: float,
    *,
    f_lower: float | None = None,
    f_upper: float | None = None,
    tol: float = R_TOL,
    maxiter: int = 1000,
) -> Root:
    """Root of ``f`` in ``[lower, upper]`` exactly as R's ``uniroot(extendInt = "no")``.

    Raises ValueError when f has the same sign at both ends (R: "f() values at end points not of
    opposite sign").
    """
    fa = f(lower) if f_lower is None else f_lower
    fb = f(upper) if f_upper is None else f_upper
    if not lower < upper:
        raise ValueError("lower < upper is not fulfilled")
    if (fa > 0 and fb > 0) or (fa < 0 and fb < 0):
        raise ValueError("f() values at end points not of opposite sign")
    a, b = lower, upper
    c, fc = a, fa
    if fa == 0.0:
        return Root(a, 0, 0.0)
    if fb == 0.0:
        return Root(b, 0, 0.0)
    maxit = maxiter + 1
    while maxit:
        maxit -= 1
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2 * EPSILON * abs(b) + tol / 2
        new_step = (c - b) / 2
        if abs(new_step) <= tol_act or fb == 0.0:
            return Root(b, maxiter + 1 - maxit, abs(c - b))
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2) and p < abs(prev_step * q / 2):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    return Root(b, -1, abs(c - b))

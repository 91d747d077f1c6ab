r"""Heterogeneity statistics and the Q-profile confidence interval for tau^2 (metafor 3.8).

* Cochran's Q with fixed-effect weights, ``Q = y'P(1/v)y`` on ``k - p`` df (Cochran 1954).
* ``I^2`` and ``H^2`` (Higgins & Thompson 2002): for FE fits ``I^2 = max(0, (Q - df)/Q)``,
  ``H^2 = Q/df``; for random-effects fits metafor's ``I^2 = tau^2/(s_v^2 + tau^2)``,
  ``H^2 = tau^2/s_v^2 + 1`` with the typical within-study variance
  ``s_v^2 = (k-p)/tr P = (k-1) sum w / ((sum w)^2 - sum w^2)`` for intercept-only models.
  Under DL both definitions coincide (when Q > df).
* Q-profile CI (Viechtbauer 2007): the tau^2 values where the generalised
  ``Q(tau^2) = y'P(1/(v+tau^2))y`` equals the chi^2_{k-p} quantiles ``1 - a/2`` (lower bound)
  and ``a/2`` (upper bound), searched on ``[0, max(100, 10 tau^2)]`` by R's uniroot
  (metafor ``confint(type = "QP")``). Boundary conventions as metafor: if ``Q(0)`` is below the
  upper quantile the lower bound is 0; if ``Q(0)`` is below the lower quantile both bounds are 0
  (the CI is "null"); if ``Q(tau2_max)`` is still above a quantile that bound is reported as
  ``tau2_max`` and flagged (metafor prints it as ``>tau2_max``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from bayesmeta.classical.linalg import check_arrays, projection
from bayesmeta.classical.zeroin import R_TOL, zeroin


def heterogeneity(
    yi: np.ndarray, vi: np.ndarray, X: np.ndarray, tau2: float, fe: bool
) -> tuple[float, float, float, float, float]:
    """(Q, p, s_v^2, I^2 in %, H^2) as metafor; k = p gives (0, 1, 0, 0, 1)."""
    k, p = X.shape
    if k <= p:
        return 0.0, 1.0, 0.0, 0.0, 1.0
    y = yi - yi.mean()
    P = projection(1.0 / vi, X)
    qe = max(0.0, float(y @ P @ y))
    qe_p = float(stats.chi2.sf(qe, k - p))
    vt = (k - p) / np.trace(P)
    if fe:
        i2 = max(0.0, 100 * (qe - (k - p)) / qe) if qe > 0 else 0.0
        h2 = qe / (k - p)
    else:
        i2 = 100 * tau2 / (vt + tau2)
        h2 = tau2 / vt + 1
    return qe, qe_p, float(vt), float(i2), float(h2)


@dataclass(frozen=True)
class Tau2CI:
    """Q-profile CI; ``lb_sign``/``ub_sign`` are metafor's '<' / '>' boundary flags."""

    lb: float | None
    ub: float | None
    lb_sign: str = ""
    ub_sign: str = ""
    ci_null: bool = False

    def notes(self, tau2_max: float) -> list[str]:
        out = []
        if self.ci_null:
            out.append("Q-profile CI for tau^2 is [0, 0]: Q(0) is below the lower chi^2 quantile")
        if self.ub_sign == ">":
            out.append(
                f"Q-profile upper bound for tau^2 is beyond the search limit {tau2_max:g} "
                f"(reported as {tau2_max:g})"
            )
        if self.lb is None or self.ub is None:
            out.append("Q-profile root search for a tau^2 bound failed (bound is None)")
        return out


def _qgen(y: np.ndarray, v: np.ndarray, X: np.ndarray, t: float) -> float:
    return float(y @ projection(1.0 / (v + t), X) @ y)


def tau2_ci_qprofile(
    yi: Any,
    vi: Any,
    tau2: float,
    level: float = 0.95,
    X: Any = None,
    tau2_max: float | None = None,
    tol: float = R_TOL,
    maxiter: int = 1000,
) -> tuple[Tau2CI, float]:
    """Q-profile CI for tau^2 exactly as metafor ``confint(rma(...), type = "QP")``.

    ``tau2`` is the fitted estimate (it sets the search limit ``max(100, 10 tau2)``).
    Returns the interval and the search limit used.
    """
    y, v, Xm = check_arrays(yi, vi, X)
    k, p = Xm.shape
    t_min = min(0.0, tau2)
    t_max = max(100.0, tau2 * 10, t_min * 10) if tau2_max is None else tau2_max
    alpha = 1 - level
    crit_u = float(stats.chi2.isf(alpha / 2, k - p))
    crit_l = float(stats.chi2.ppf(alpha / 2, k - p))
    q_max = _qgen(y, v, Xm, t_max)
    q_min = _qgen(y, v, Xm, t_min)

    def root(obj: float) -> float | None:
        r = zeroin(
            lambda t: _qgen(y, v, Xm, t) - obj,
            t_min,
            t_max,
            f_lower=q_min - obj,
            f_upper=q_max - obj,
            tol=tol,
            maxiter=maxiter,
        )
        return None if r.iterations < 0 else r.root

    lb = ub = None
    lb_sign = ub_sign = ""
    ci_null = False
    if q_min < crit_l:
        lb = ub = t_min
        lb_sign = ub_sign = "<"
        ci_null = t_min <= 0
    elif q_max > crit_l:
        ub, ub_sign = t_max, ">"
    else:
        ub = root(crit_l)
    if q_max > crit_u:
        lb = ub = t_max
        lb_sign = ub_sign = ">"
    elif q_min < crit_u:
        lb = t_min
        if t_min > 0:
            lb_sign = "<"
    else:
        lb = root(crit_u)
    return Tau2CI(lb, ub, lb_sign, ub_sign, ci_null), t_max

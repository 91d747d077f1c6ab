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
from scipy import special

from bayesmeta.classical.linalg import check_arrays, projection
from bayesmeta.classical.zeroin import R_TOL, zeroin


def heterogeneity(
    yi: np.ndarray, vi: np.ndarray, X: np.ndarray, tau2: float, fe: bool
) -> tuple[float, float, float, float, float]:
    """Cochran's Q, its p, s_v^2, I^2 (%) and H^2 as metafor (formulas: module docstring).

    Args:
        yi: effect sizes (float array).
        vi: sampling variances (float array).
        X: k x p design matrix (``np.ones((k, 1))`` for intercept only).
        tau2: the fitted tau^2 (used for the random-effects I^2/H^2).
        fe: True for the Q-based (fixed-effect) I^2/H^2.

    Returns:
        ``(Q, p, s_v^2, I^2, H^2)``; k = p gives ``(0, 1, 0, 0, 1)``.

    Examples:
        Same as metafor `rma(yi, vi)` on Normand (1999): Q = 238.9158, I^2 = 98.97%.

        >>> from bayesmeta.datasets import load
        >>> from bayesmeta.effects import md
        >>> d = load("normand1999")
        >>> es = md(d.m1i, d.sd1i, d.n1i, d.m2i, d.sd2i, d.n2i)
        >>> import numpy as np
        >>> from bayesmeta.classical import heterogeneity
        >>> q, p, vt, i2, h2 = heterogeneity(es.yi, es.vi, np.ones((9, 1)), 684.6462, fe=False)
        >>> print(f"{q:.4f} {i2:.2f} {h2:.2f}")
        238.9158 98.97 97.21
    """
    k, p = X.shape
    if k <= p:
        return 0.0, 1.0, 0.0, 0.0, 1.0
    y = yi - yi.mean()
    P = projection(1.0 / vi, X)
    qe = max(0.0, P.quad(y))
    qe_p = float(special.chdtrc(k - p, qe))
    vt = (k - p) / P.trace()
    if fe:
        i2 = max(0.0, 100 * (qe - (k - p)) / qe) if qe > 0 else 0.0
        h2 = qe / (k - p)
    else:
        i2 = 100 * tau2 / (vt + tau2)
        h2 = tau2 / vt + 1
    return qe, qe_p, float(vt), float(i2), float(h2)


@dataclass(frozen=True)
class Tau2CI:
    """Q-profile CI for tau^2 (from `tau2_ci_qprofile()`).

    ``lb``/``ub`` are None when the root search failed; ``lb_sign``/``ub_sign`` are
    metafor's '<' / '>' boundary flags ('>' : the bound is the search limit, the true one is
    beyond it); ``ci_null`` marks metafor's [0, 0] interval. ``notes(tau2_max)`` turns the
    flags into warning sentences.

    Examples:
        Same as metafor `confint(rma(yi, vi, method = "DL"), type = "QP")` on Normand (1999):
        [292.9181, >2054.0938].

        >>> from bayesmeta.datasets import load
        >>> from bayesmeta.effects import md
        >>> d = load("normand1999")
        >>> es = md(d.m1i, d.sd1i, d.n1i, d.m2i, d.sd2i, d.n2i)
        >>> from bayesmeta.classical import tau2_ci_qprofile, tau2_dl
        >>> ci, t_max = tau2_ci_qprofile(es.yi, es.vi, tau2_dl(es.yi, es.vi))
        >>> print(f"{ci.lb:.4f} {ci.ub_sign}{ci.ub:.4f} {ci.ci_null}")
        292.9181 >2054.0938 False
    """

    lb: float | None
    ub: float | None
    lb_sign: str = ""
    ub_sign: str = ""
    ci_null: bool = False

    def notes(self, tau2_max: float) -> list[str]:
        """Warning sentences for a null CI, a bound at the search limit or a failed search."""
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
    return projection(1.0 / (v + t), X).quad(y)


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

    Args:
        yi: effect sizes.
        vi: sampling variances (> 0).
        tau2: the fitted estimate; it sets the search limit ``max(100, 10 tau2)``.
        level: confidence level (default 0.95).
        X: k x p design matrix (default None: intercept only).
        tau2_max: search limit instead of the default above (default None).
        tol: uniroot's tolerance (default ``.Machine$double.eps^0.25``).
        maxiter: uniroot's iteration limit (default 1000).

    Returns:
        The interval (a `Tau2CI`) and the search limit used.

    Examples:
        Same as metafor `confint(rma(yi, vi), type = "QP")` on Normand (1999):
        [292.9181, 2889.4513].

        >>> from bayesmeta.datasets import load
        >>> from bayesmeta.effects import md
        >>> d = load("normand1999")
        >>> es = md(d.m1i, d.sd1i, d.n1i, d.m2i, d.sd2i, d.n2i)
        >>> from bayesmeta.classical import tau2_ci_qprofile, tau2_reml
        >>> ci, t_max = tau2_ci_qprofile(es.yi, es.vi, tau2_reml(es.yi, es.vi))
        >>> print(f"{ci.lb:.4f} {ci.ub:.4f} {t_max:.1f}")
        292.9181 2889.4513 6846.5
    """
    y, v, Xm = check_arrays(yi, vi, X)
    k, p = Xm.shape
    t_min = min(0.0, tau2)
    t_max = max(100.0, tau2 * 10, t_min * 10) if tau2_max is None else tau2_max
    alpha = 1 - level
    crit_u = float(2.0 * special.gammainccinv(0.5 * (k - p), alpha / 2))
    crit_l = float(2.0 * special.gammaincinv(0.5 * (k - p), alpha / 2))
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

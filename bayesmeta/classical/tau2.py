r"""Between-study variance (tau^2) estimators, step for step as metafor 3.8 ``rma.uni()``.

All take effect sizes ``yi``, sampling variances ``vi`` and an optional design matrix ``X``
(default: intercept only; p columns). ``y`` below is ``yi`` centred, ``P(w)`` the projection
``W - W X (X'WX)^{-1} X'W`` with ``W = diag(w)``, and every estimate is truncated at 0
(``control.tau2_min``) as metafor does.

* DL  (DerSimonian & Laird 1986): ``(y'P(1/v)y - (k-p)) / tr P(1/v)``.
* HE  (Hedges & Olkin 1985, method of moments, unweighted): ``(y'Py - tr(PV)) / (k-p)`` with
  ``P = I - X(X'X)^{-1}X'``.
* SJ  (Sidik & Jonkman 2005): ``t0 * y'P(1/(v+t0))y / (k-p)``, ``t0 = mean((y-ybar)^2)``.
* PM  (Paule & Mandel 1982): root of ``y'P(1/(v+t))y = k - p`` by R's ``uniroot`` on
  ``[0, max(100, 10 mad(yi)^2)]``; 0 when ``Q(0) < k - p``.
* EB  (Morris 1983 empirical Bayes): the same estimating equation as PM, solved by metafor's
  own iteration ``t += (y'Py k/(k-p) - k) / sum(w)``; it converges to the PM root (to within the
  threshold), so "EB" and "PM" estimate the same tau^2.
* ML / REML (Viechtbauer 2005): Fisher scoring from the HE estimate (truncated at 0),
  ML step ``(y'PPy - sum w) / sum w^2``, REML step ``(y'PPy - tr P) / tr(PP)``, the step halved
  while it would cross 0, stopping when the change is <= ``threshold`` (1e-5); then metafor's
  check that the likelihood at 0 is not higher.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bayesmeta.classical.linalg import (
    Control,
    canonical_method,
    check_arrays,
    projection,
    r_mad,
)
from bayesmeta.classical.zeroin import zeroin
from bayesmeta.errors import ConvergenceError, InputError


@dataclass
class Tau2Estimate:
    """tau^2 with its (metafor) standard error, iteration count and any warnings.

    ``se_tau2`` is metafor's large-sample ``se.tau2`` (None for FE); ``iterations`` counts
    Fisher-scoring steps (REML/ML/EB) or uniroot iterations (PM), 0 for closed forms.

    Examples:
        Same as metafor `rma(c(.1, .5, .9), c(.02, .03, .04), method = "DL")`: 0.1311 (0.1620).

        >>> from bayesmeta.classical import estimate_tau2
        >>> est = estimate_tau2([0.1, 0.5, 0.9], [0.02, 0.03, 0.04], "DL")
        >>> print(est.method, f"{est.tau2:.4f}", f"{est.se_tau2:.4f}", est.iterations)
        DL 0.1311 0.1620 0
    """

    method: str
    tau2: float
    se_tau2: float | None
    iterations: int = 0
    warnings: list[str] = field(default_factory=list)


def _q_gen(y: np.ndarray, vi: np.ndarray, X: np.ndarray, tau2: float) -> float:
    """Generalised Q: y'P(1/(v+tau2))y (metafor's ``.QE.func`` with objective 0)."""
    return projection(1.0 / (vi + tau2), X).quad(y)


def _loglik0_check(y: np.ndarray, vi: np.ndarray, X: np.ndarray, tau2: float, reml: bool) -> float:
    """Log-likelihood (ML or REML, metafor's centred form) at tau2."""
    k, p = X.shape
    wi = 1.0 / (vi + tau2)
    WX = wi[:, None] * X
    XtWX = X.T @ WX
    beta = np.linalg.solve(XtWX, WX.T @ y)
    rss = float(np.sum(wi * (y - X @ beta) ** 2))
    if not reml:
        return -0.5 * k * math.log(2 * math.pi) - 0.5 * np.sum(np.log(vi + tau2)) - 0.5 * rss
    logdet = np.linalg.slogdet(XtWX)[1]
    return (
        -0.5 * (k - p) * math.log(2 * math.pi)
        - 0.5 * np.sum(np.log(vi + tau2))
        - 0.5 * logdet
        - 0.5 * rss
    )


def _fisher_scoring(
    method: str, y: np.ndarray, vi: np.ndarray, X: np.ndarray, start: float, con: Control
) -> tuple[float, int]:
    k, p = X.shape
    tau2 = start
    change = con.threshold + 1
    it = 0
    while change > con.threshold:
        it += 1
        old = tau2
        wi = 1.0 / (vi + tau2)
        P = projection(wi, X)
        if method == "EB":
            adj = (P.quad(y) * k / (k - p) - k) / wi.sum()
        else:
            Py = P.apply(y)
            yPPy = float(Py @ Py)
            if method == "ML":
                adj = (yPPy - wi.sum()) / np.sum(wi**2)
            else:
                adj = (yPPy - P.trace()) / P.frob2()
        adj = float(adj) * con.stepadj
        if math.isnan(adj):
            adj = 0.0
        while tau2 + adj < con.tau2_min:
            adj /= 2
        tau2 = tau2 + adj
        change = abs(old - tau2)
        if it > con.maxiter:
            raise ConvergenceError(
                f"{method} Fisher scoring did not converge in {con.maxiter} iterations "
                f"(last change in tau^2 {change:.3g} > threshold {con.threshold:g}; "
                f"tau^2 = {tau2:.6g}); try more iterations (control maxiter), "
                "step adjustment (stepadj < 1) or another estimator (PM, DL)"
            )
    return tau2, it


def estimate_tau2(
    yi: Any,
    vi: Any,
    method: str = "REML",
    X: Any = None,
    control: Control | dict[str, Any] | None = None,
) -> Tau2Estimate:
    """tau^2 by ``method`` exactly as metafor's ``rma.uni()`` (formulas: module docstring).

    Args:
        yi: effect sizes.
        vi: sampling variances (> 0).
        method: FE (gives 0), DL, REML (default), ML, PM, EB, SJ or HE, case-insensitive.
        X: k x p design matrix (default None: intercept only).
        control: metafor-style settings (`Control` or dict; default None: metafor's defaults).

    Returns:
        A `Tau2Estimate` (estimate truncated at ``control.tau2_min`` = 0, metafor's SE).

    Raises:
        InputError: bad input or k <= p (e.g. a single study).
        ConvergenceError: Fisher scoring or the PM root search failed (says why).

    Examples:
        Same as metafor `rma(yi, vi)` on Normand (1999): tau^2 = 684.6462, SE 359.7541.

        >>> from bayesmeta.classical import estimate_tau2
        >>> from bayesmeta.datasets import load
        >>> from bayesmeta.effects import md
        >>> d = load("normand1999")
        >>> es = md(d.m1i, d.sd1i, d.n1i, d.m2i, d.sd2i, d.n2i)
        >>> est = estimate_tau2(es.yi, es.vi, "REML")
        >>> print(f"{est.tau2:.4f} {est.se_tau2:.4f} {est.iterations}")
        684.6462 359.7541 8
    """
    method = canonical_method(method)
    y0, v, Xm = check_arrays(yi, vi, X)
    con = Control.make(control)
    k, p = Xm.shape
    if method == "FE":
        return Tau2Estimate("FE", 0.0, None)
    if k <= p:
        raise InputError(f"tau^2 is not estimable from k = {k} studies with {p} coefficient(s)")
    y = y0 - y0.mean()
    warnings: list[str] = []
    it = 0
    tau2_0 = math.nan
    if method in ("HE", "ML", "REML", "EB"):
        P0 = projection(np.ones(k), Xm)  # I - X(X'X)^{-1}X'
        tau2 = (P0.quad(y) - float(np.sum(P0.diag() * v))) / (k - p)
    if method == "DL":
        P = projection(1.0 / v, Xm)
        tau2 = (P.quad(y) - (k - p)) / P.trace()
    if method == "SJ":
        tau2_0 = float(np.mean(y**2)) if con.tau2_init is None else con.tau2_init
        tau2 = tau2_0 * _q_gen(y, v, Xm, tau2_0) / (k - p)
    if method == "PM":
        tau2, it = _paule_mandel(y, v, Xm, y0, con)
    if method in ("ML", "REML", "EB"):
        start = max(0.0, tau2, con.tau2_min) if con.tau2_init is None else con.tau2_init
        tau2, it = _fisher_scoring(method, y, v, Xm, start, con)
        if method in ("ML", "REML") and con.ll0check:
            reml = method == "REML"
            ll0 = _loglik0_check(y, v, Xm, 0.0, reml)
            ll = _loglik0_check(y, v, Xm, tau2, reml)
            if ll0 - ll > con.tol and tau2 > con.threshold:
                warnings.append(
                    "Fisher scoring may have stopped at a local maximum; "
                    "the likelihood is higher at tau^2 = 0, so tau^2 = 0 (as metafor)"
                )
                tau2 = 0.0
    tau2 = max(con.tau2_min, float(tau2))
    return Tau2Estimate(method, tau2, _se_tau2(method, y, v, Xm, tau2, tau2_0), it, warnings)


def _paule_mandel(
    y: np.ndarray, v: np.ndarray, X: np.ndarray, y_raw: np.ndarray, con: Control
) -> tuple[float, int]:
    k, p = X.shape
    target = k - p
    tau2_max = max(100.0, 10 * r_mad(y_raw) ** 2) if con.tau2_max is None else con.tau2_max
    f_min = _q_gen(y, v, X, con.tau2_min) - target
    if f_min < 0:
        return con.tau2_min, 0
    f_max = _q_gen(y, v, X, tau2_max) - target
    if f_max > 0:
        raise ConvergenceError(
            f"PM: Q(tau^2) is still above k - p = {target} at tau2_max = {tau2_max:g}; "
            "increase control tau2_max or use another estimator"
        )
    root = zeroin(
        lambda t: _q_gen(y, v, X, t) - target,
        con.tau2_min,
        tau2_max,
        f_lower=f_min,
        f_upper=f_max,
        tol=con.tol,
        maxiter=con.maxiter,
    )
    if root.iterations < 0:
        raise ConvergenceError(
            f"PM: root search did not converge in {con.maxiter} iterations "
            f"(bracket width {root.estim_prec:.3g})"
        )
    return root.root, root.iterations


def _se_tau2(
    method: str, y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float, tau2_0: float
) -> float | None:
    """metafor's ``se.tau2`` for each estimator (large-sample, as printed by rma())."""
    k, p = X.shape
    t = max(tau2, 0.0)
    # sum(PV * PV') = tr(PVPV); sum(PV * P) = tr(V P^2); tr(PV) = sum(diag(P) v)
    if method == "HE":
        P = projection(np.ones(k), X)
        return math.sqrt(
            (2 * P.trace_pvpv(v) + 4 * t * float(np.sum(P.diag() * v)) + 2 * t**2 * (k - p))
            / (k - p) ** 2
        )
    if method == "DL":
        P = projection(1.0 / v, X)
        trP = P.trace()
        return math.sqrt((2 * (k - p) + 4 * t * trP + 2 * t**2 * P.frob2()) / trP**2)
    if method == "SJ":
        P = projection(1.0 / (v + tau2_0), X)
        return math.sqrt(
            tau2_0**2
            / (k - p) ** 2
            * (2 * P.trace_pvpv(v) + 4 * t * float(np.sum(v * P.diag_sq())) + 2 * t**2 * P.frob2())
        )
    wi = 1.0 / (v + tau2)
    if method == "ML":
        return math.sqrt(2 / np.sum(wi**2))
    if method == "REML":
        return math.sqrt(2 / projection(wi, X).frob2())
    if method in ("PM", "EB"):
        return math.sqrt(2 * k**2 / (k - p) / wi.sum() ** 2)
    return None


def tau2_dl(
    yi: Any, vi: Any, X: Any = None, control: Control | dict[str, Any] | None = None
) -> float:
    """DerSimonian-Laird (1986) tau^2: ``max(0, (Q - (k-p)) / tr P(1/v))`` (metafor ``"DL"``).

    Args:
        yi: effect sizes.
        vi: sampling variances (> 0).
        X: k x p design matrix (default None: intercept only).
        control: metafor-style settings (`Control` or dict; default None: metafor's defaults).

    Returns:
        The estimate; `estimate_tau2()` also gives its standard error.

    Examples:
        Same as metafor `rma(yi, vi, method = "DL")` on Normand (1999) (tests/fixtures):

        >>> from bayesmeta.classical import tau2_dl
        >>> from bayesmeta.datasets import load
        >>> from bayesmeta.effects import md
        >>> d = load("normand1999")
        >>> es = md(d.m1i, d.sd1i, d.n1i, d.m2i, d.sd2i, d.n2i)
        >>> print(f"{tau2_dl(es.yi, es.vi):.4f}")
        205.4094
    """
    return estimate_tau2(yi, vi, "DL", X, control).tau2


def tau2_he(
    yi: Any, vi: Any, X: Any = None, control: Control | dict[str, Any] | None = None
) -> float:
    """Hedges-Olkin (1985) unweighted method-of-moments tau^2 (metafor ``"HE"``).

    ``max(0, (y'Py - tr(PV)) / (k-p))`` with ``P = I - X(X'X)^{-1}X'``. Arguments as
    `tau2_dl()`.

    Examples:
        Same as metafor `rma(yi, vi, method = "HE")` on Normand (1999) (tests/fixtures):

        >>> from bayesmeta.classical import tau2_he
        >>> from bayesmeta.datasets import load
        >>> from bayesmeta.effects import md
        >>> d = load("normand1999")
        >>> es = md(d.m1i, d.sd1i, d.n1i, d.m2i, d.sd2i, d.n2i)
        >>> print(f"{tau2_he(es.yi, es.vi):.4f}")
        771.9748
    """
    return estimate_tau2(yi, vi, "HE", X, control).tau2


def tau2_sj(
    yi: Any, vi: Any, X: Any = None, control: Control | dict[str, Any] | None = None
) -> float:
    """Sidik-Jonkman (2005) tau^2: ``t0 y'P(1/(v+t0))y / (k-p)`` (metafor ``"SJ"``).

    ``t0 = mean((y - ybar)^2)`` unless ``control.tau2_init`` is set. Arguments as `tau2_dl()`.

    Examples:
        Same as metafor `rma(yi, vi, method = "SJ")` on Normand (1999) (tests/fixtures):

        >>> from bayesmeta.classical import tau2_sj
        >>> from bayesmeta.datasets import load
        >>> from bayesmeta.effects import md
        >>> d = load("normand1999")
        >>> es = md(d.m1i, d.sd1i, d.n1i, d.m2i, d.sd2i, d.n2i)
        >>> print(f"{tau2_sj(es.yi, es.vi):.4f}")
        727.5003
    """
    return estimate_tau2(yi, vi, "SJ", X, control).tau2


def tau2_pm(
    yi: Any, vi: Any, X: Any = None, control: Control | dict[str, Any] | None = None
) -> float:
    """Paule-Mandel (1982) tau^2: root of ``y'P(1/(v+t))y = k - p`` (metafor ``"PM"``).

    Solved by R's ``uniroot`` on ``[0, max(100, 10 mad(yi)^2)]`` (``control.tau2_max``);
    0 when ``Q(0) < k - p``. Arguments as `tau2_dl()`; raises ConvergenceError when the
    root is beyond the search limit.

    Examples:
        Same as metafor `rma(yi, vi, method = "PM")` on Normand (1999) (tests/fixtures):

        >>> from bayesmeta.classical import tau2_pm
        >>> from bayesmeta.datasets import load
        >>> from bayesmeta.effects import md
        >>> d = load("normand1999")
        >>> es = md(d.m1i, d.sd1i, d.n1i, d.m2i, d.sd2i, d.n2i)
        >>> print(f"{tau2_pm(es.yi, es.vi):.4f}")
        728.2511
    """
    return estimate_tau2(yi, vi, "PM", X, control).tau2


def tau2_eb(
    yi: Any, vi: Any, X: Any = None, control: Control | dict[str, Any] | None = None
) -> float:
    """Empirical Bayes (Morris 1983) tau^2 by metafor's iteration (metafor ``"EB"``).

    Same estimating equation as `tau2_pm()`, so the two agree to within ``control.threshold``.
    Arguments as `tau2_dl()`; raises ConvergenceError after ``control.maxiter`` iterations.

    Examples:
        Same as metafor `rma(yi, vi, method = "EB")` on Normand (1999) (tests/fixtures):

        >>> from bayesmeta.classical import tau2_eb
        >>> from bayesmeta.datasets import load
        >>> from bayesmeta.effects import md
        >>> d = load("normand1999")
        >>> es = md(d.m1i, d.sd1i, d.n1i, d.m2i, d.sd2i, d.n2i)
        >>> print(f"{tau2_eb(es.yi, es.vi):.4f}")
        728.2511
    """
    return estimate_tau2(yi, vi, "EB", X, control).tau2


def tau2_ml(
    yi: Any, vi: Any, X: Any = None, control: Control | dict[str, Any] | None = None
) -> float:
    """Maximum-likelihood tau^2 by Fisher scoring (Viechtbauer 2005; metafor ``"ML"``).

    Step ``(y'PPy - sum w) / sum w^2`` from the HE estimate, until the change is <=
    ``control.threshold`` (1e-5). Arguments as `tau2_dl()`; raises ConvergenceError after
    ``control.maxiter`` (100) iterations.

    Examples:
        Same as metafor `rma(yi, vi, method = "ML")` on Normand (1999) (tests/fixtures):

        >>> from bayesmeta.classical import tau2_ml
        >>> from bayesmeta.datasets import load
        >>> from bayesmeta.effects import md
        >>> d = load("normand1999")
        >>> es = md(d.m1i, d.sd1i, d.n1i, d.m2i, d.sd2i, d.n2i)
        >>> print(f"{tau2_ml(es.yi, es.vi):.4f}")
        595.4649
    """
    return estimate_tau2(yi, vi, "ML", X, control).tau2


def tau2_reml(
    yi: Any, vi: Any, X: Any = None, control: Control | dict[str, Any] | None = None
) -> float:
    """Restricted maximum-likelihood tau^2 by Fisher scoring (Viechtbauer 2005; metafor default).

    Step ``(y'PPy - tr P) / tr(PP)`` from the HE estimate, until the change is <=
    ``control.threshold`` (1e-5). Arguments as `tau2_dl()`; raises ConvergenceError after
    ``control.maxiter`` (100) iterations.

    Examples:
        Same as metafor `rma(yi, vi)` (REML) on Normand (1999) (tests/fixtures):

        >>> from bayesmeta.classical import tau2_reml
        >>> from bayesmeta.datasets import load
        >>> from bayesmeta.effects import md
        >>> d = load("normand1999")
        >>> es = md(d.m1i, d.sd1i, d.n1i, d.m2i, d.sd2i, d.n2i)
        >>> print(f"{tau2_reml(es.yi, es.vi):.4f}")
        684.6462
    """
    return estimate_tau2(yi, vi, "REML", X, control).tau2

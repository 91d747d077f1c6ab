r"""Inverse-variance pooling with a tau^2 estimate, as metafor 3.8 ``rma.uni()``.

``beta = (X'WX)^{-1} X'W y`` with ``W = diag(1/(v + tau^2))`` and ``Var(beta) = (X'WX)^{-1}``.

* ``test="z"``: Wald, ``beta +/- z_{1-a/2} se``.
* ``test="knha"`` (Hartung & Knapp 2001; Knapp & Hartung 2003; Sidik & Jonkman 2002, "HKSJ"):
  ``Var(beta)`` times ``s^2 = sum w (y - X beta)^2 / (k - p)``, quantile ``t_{k-p}``;
  metafor does not truncate ``s^2`` (``s^2 <= eps`` is set to 0).
* ``test="adhoc"``: the same with ``s^2`` truncated below at 1 (Roever et al. 2015's modified
  KH; bayesmeta's ``knha_truncate=True``).

Heterogeneity (always with fixed-effect weights ``1/v``): ``Q = y'P(1/v)y`` on ``k - p`` df,
typical within-study variance ``s_v^2 = (k-p)/tr P``; for FE models ``I^2 = max(0, (Q-df)/Q)``,
``H^2 = Q/df`` (Higgins & Thompson 2002), otherwise ``I^2 = tau^2/(s_v^2 + tau^2)``,
``H^2 = tau^2/s_v^2 + 1`` (metafor).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special

from bayesmeta.classical.heterogeneity import heterogeneity
from bayesmeta.classical.linalg import Control, canonical_method, check_arrays
from bayesmeta.classical.tau2 import estimate_tau2
from bayesmeta.errors import InputError

TESTS = ("z", "knha", "adhoc")
_EPS = np.finfo(float).eps


@dataclass
class RmaFit:
    """Everything metafor's ``rma.uni()`` object holds that bayesmeta uses (made by `rma()`).

    Arrays ``beta``/``se``/``ci_low``/``ci_high``/``zval``/``pval`` have one entry per column
    of ``X``; ``vb`` is ``Var(beta)`` (times ``s2w`` under Knapp-Hartung), ``crit`` the CI's
    quantile, ``ddf`` the t df (None under z), ``qe``/``qe_p`` Cochran's Q and its p,
    ``vt`` the typical within-study variance, ``i2`` in percent, ``qm`` the moderator test.

    Examples:
        Same as metafor `rma(c(.1, .5, .9), c(.02, .03, .04))`: tau^2 0.1304, estimate 0.4834.

        >>> from bayesmeta.classical import rma
        >>> fit = rma([0.1, 0.5, 0.9], [0.02, 0.03, 0.04])
        >>> print(fit.k, fit.p, round(fit.tau2, 4), round(float(fit.beta[0]), 4))
        3 1 0.1304 0.4834
        >>> print([round(float(w), 2) for w in fit.weights])
        [35.46, 33.25, 31.3]
    """

    method: str
    test: str
    level: float
    yi: np.ndarray
    vi: np.ndarray
    X: np.ndarray
    tau2: float
    se_tau2: float | None
    iterations: int
    beta: np.ndarray
    vb: np.ndarray
    s2w: float
    ddf: int | None
    crit: float
    qe: float
    qe_p: float
    vt: float
    i2: float
    h2: float
    qm: float
    qm_df: tuple[int, int | None]
    qm_p: float
    warnings: list[str] = field(default_factory=list)

    @property
    def k(self) -> int:
        return int(self.yi.size)

    @property
    def p(self) -> int:
        return int(self.X.shape[1])

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.vb))

    @property
    def ci_low(self) -> np.ndarray:
        return self.beta - self.crit * self.se

    @property
    def ci_high(self) -> np.ndarray:
        return self.beta + self.crit * self.se

    @property
    def zval(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.beta / self.se

    @property
    def pval(self) -> np.ndarray:
        z = np.abs(self.zval)
        if self.test == "z":
            return 2 * special.ndtr(-z)
        if not self.ddf:
            return np.full(self.p, np.nan)
        return 2 * special.stdtr(self.ddf, -z)

    @property
    def weights(self) -> np.ndarray:
        """Percent weights, metafor ``weights()``: 100 w_i / sum w with w_i = 1/(v_i + tau^2)."""
        w = 1.0 / (self.vi + self.tau2)
        return 100 * w / w.sum()

    @property
    def is_fe(self) -> bool:
        return self.method == "FE"


def canonical_test(ci: str, knha_truncate: bool = False) -> str:
    """User CI name -> metafor's ``test``: 'wald'/'z' -> 'z'; 'knha'/'hksj'/'hk' -> 'knha'.

    With ``knha_truncate=True`` (default False) the Knapp-Hartung names give ``"adhoc"``
    (variance factor truncated at 1); 'adhoc'/'mkh' always do. Unknown names raise InputError.

    Examples:
        >>> from bayesmeta.classical.pooling import canonical_test
        >>> canonical_test("HKSJ"), canonical_test("wald"), canonical_test("hksj", True)
        ('knha', 'z', 'adhoc')
    """
    c = str(ci).strip().lower()
    if c in ("z", "wald", "normal"):
        return "z"
    if c in ("knha", "hksj", "hk", "kh", "hartung-knapp", "t"):
        return "adhoc" if knha_truncate else "knha"
    if c in ("adhoc", "mkh"):
        return "adhoc"
    raise InputError(f"unknown ci method '{ci}'; valid: wald (z), knha (hksj)")


def _crit(test: str, level: float, ddf: int | None) -> float:
    alpha = 1 - level
    if test == "z":
        return float(-special.ndtri(alpha / 2))
    return float(-special.stdtrit(ddf, alpha / 2)) if ddf and ddf > 0 else math.nan


def default_btt(X: np.ndarray) -> np.ndarray:
    """Coefficients tested by QM: all but the intercept when there is one (metafor ``btt``).

    The first column counts as an intercept when it is all ones and ``X`` has >= 2 columns.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.classical.pooling import default_btt
        >>> X = np.column_stack([np.ones(4), [0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
        >>> default_btt(X).tolist(), default_btt(np.ones((4, 1))).tolist()
        ([1, 2], [0])
    """
    has_int = X.shape[1] > 1 and np.all(X[:, 0] == 1.0)
    return np.arange(1, X.shape[1]) if has_int else np.arange(X.shape[1])


def rma(
    yi: Any,
    vi: Any,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    X: Any = None,
    control: Control | dict[str, Any] | None = None,
    tau2: float | None = None,
) -> RmaFit:
    """Fit metafor's ``rma(yi, vi, mods = X, method = method, test = test, level = level)``.

    Formulas: module docstring. A warning is recorded when ``max(vi)/min(vi) >= 1e7``.

    Args:
        yi: effect sizes.
        vi: sampling variances (> 0).
        method: tau^2 estimator (FE, DL, REML (default), ML, PM, EB, SJ, HE).
        test: ``"z"`` (Wald, default), ``"knha"`` (Knapp-Hartung) or ``"adhoc"`` (truncated);
            the names accepted by `canonical_test()` work too.
        level: confidence level (default 0.95).
        X: k x p design matrix (default None: intercept only).
        control: metafor-style settings (`Control` or dict; default None: metafor's defaults).
        tau2: fix tau^2 at this value instead of estimating it (default None).

    Returns:
        An `RmaFit`.

    Raises:
        InputError: bad input (unknown method/test, level outside (0, 1), k < p, ...).
        ConvergenceError: the tau^2 estimator failed.

    Examples:
        Same as metafor `rma(yi, vi)` on Normand (1999): -15.1060 [-32.6409, 2.4289].

        >>> from bayesmeta.datasets import load
        >>> from bayesmeta.effects import md
        >>> d = load("normand1999")
        >>> es = md(d.m1i, d.sd1i, d.n1i, d.m2i, d.sd2i, d.n2i)
        >>> from bayesmeta.classical import rma
        >>> fit = rma(es.yi, es.vi)
        >>> print(f"{fit.beta[0]:.4f} [{fit.ci_low[0]:.4f}, {fit.ci_high[0]:.4f}] {fit.i2:.2f}")
        -15.1060 [-32.6409, 2.4289] 98.97
    """
    method = canonical_method(method)
    if test not in TESTS:
        test = canonical_test(test)
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1 (got {level})")
    y, v, Xm = check_arrays(yi, vi, X)
    k, p = Xm.shape
    if k < p:
        raise InputError(f"more coefficients ({p}) than studies ({k})")
    warnings: list[str] = []
    if v.max() / v.min() >= 1e7:
        warnings.append(
            "ratio of largest to smallest sampling variance is extremely large (>= 1e7); "
            "results may be unstable"
        )
    if tau2 is not None:
        t2, se_t2, iters = float(tau2), None, 0
    elif k == p or method == "FE":
        t2, se_t2, iters = 0.0, None, 0
    else:
        est = estimate_tau2(y, v, method, Xm, control)
        t2, se_t2, iters = est.tau2, est.se_tau2, est.iterations
        warnings += est.warnings
    wi = 1.0 / (v + t2)
    WX = wi[:, None] * Xm
    vb = np.linalg.inv(Xm.T @ WX)
    beta = vb @ (WX.T @ y)
    s2w = 1.0
    if test in ("knha", "adhoc"):
        rss = float(np.sum(wi * (y - Xm @ beta) ** 2))
        s2w = 0.0 if rss <= _EPS else (rss / (k - p) if k > p else math.nan)
        if test == "adhoc":
            s2w = max(s2w, 1.0)
        if method == "FE":
            warnings.append("Knapp-Hartung adjustment is not meant for fixed-effect models")
    vb = s2w * vb
    ddf = (k - p) if test != "z" else None
    crit = _crit(test, level, ddf)
    btt = default_btt(Xm)
    m = btt.size
    bt = beta[btt]
    vbb = vb[np.ix_(btt, btt)]
    if np.all(np.diag(vbb) > 0):
        qm = float(bt @ np.linalg.solve(vbb, bt))
    else:  # s2w = 0 (identical effects under Knapp-Hartung): a zero-variance estimate
        qm = math.inf if np.any(bt != 0) else math.nan
    if test == "z":
        qm_df: tuple[int, int | None] = (m, None)
        qm_p = float(special.chdtrc(m, qm))
    else:
        qm /= m
        qm_df = (m, k - p)
        qm_p = float(special.fdtrc(m, k - p, qm)) if k > p else math.nan
    qe, qe_p, vt, i2, h2 = heterogeneity(y, v, Xm, t2, fe=(method == "FE"))
    return RmaFit(
        method, test, level, y, v, Xm, t2, se_t2, iters, beta, vb, s2w, ddf, crit,
        qe, qe_p, vt, i2, h2, qm, qm_df, qm_p, warnings,
    )  # fmt: skip


def fixed_effect(yi: Any, vi: Any) -> tuple[float, float]:
    """Inverse-variance fixed-effect estimate and SE: ``(sum w y / sum w, 1/sqrt(sum w))``.

    ``w = 1/vi``; the same as ``rma(yi, vi, method="FE")`` without the rest of the fit.

    Examples:
        Same as metafor `rma(yi, vi, method = "FE")` on Normand (1999): -3.4636 (SE 0.7648).

        >>> from bayesmeta.datasets import load
        >>> from bayesmeta.effects import md
        >>> d = load("normand1999")
        >>> es = md(d.m1i, d.sd1i, d.n1i, d.m2i, d.sd2i, d.n2i)
        >>> from bayesmeta.classical import fixed_effect
        >>> est, se = fixed_effect(es.yi, es.vi)
        >>> print(f"{est:.4f} {se:.4f}")
        -3.4636 0.7648
    """
    y, v, _ = check_arrays(yi, vi)
    w = 1.0 / v
    return float(np.sum(w * y) / w.sum()), float(1 / math.sqrt(w.sum()))


def prediction_interval(
    fit: RmaFit, x: Any = None, pi_type: str = "default"
) -> tuple[float, float] | None:
    """metafor ``predict(fit, newmods, pi.type)``: ``x'beta +/- crit sqrt(x'Vx + tau^2)``.

    ``pi_type="default"`` uses the CI's quantile (z under test="z", t_{k-p} under knha);
    ``"t"`` always t_{k-p}; ``"riley"`` t_{k-p-1} (Riley et al. 2011; Higgins et al. 2009),
    df at least 1. None for fixed-effect fits (metafor prints no PI there).

    Args:
        fit: a random-effects `RmaFit`.
        x: covariate vector ``x`` (default None: intercept, i.e. the pooled mean).
        pi_type: ``"default"``, ``"t"`` or ``"riley"``.

    Returns:
        ``(low, high)`` at ``fit.level``, or None for FE.

    Examples:
        Same as metafor `predict(rma(yi, vi))` on Normand (1999): [-69.3049, 39.0928].

        >>> from bayesmeta.datasets import load
        >>> from bayesmeta.effects import md
        >>> d = load("normand1999")
        >>> es = md(d.m1i, d.sd1i, d.n1i, d.m2i, d.sd2i, d.n2i)
        >>> from bayesmeta.classical import prediction_interval, rma
        >>> low, high = prediction_interval(rma(es.yi, es.vi))
        >>> print(f"{low:.4f} {high:.4f}")
        -69.3049 39.0928
    """
    if fit.is_fe:
        return None
    xv = np.ones(fit.p) if x is None else np.asarray(x, dtype=float)
    pred = float(xv @ fit.beta)
    vpred = float(xv @ fit.vb @ xv)
    ddf = fit.k - fit.p
    if pi_type == "default":
        crit = fit.crit
    elif pi_type in ("t", "riley"):
        df = max(ddf - (1 if pi_type == "riley" else 0), 1)
        crit = float(-special.stdtrit(df, (1 - fit.level) / 2))
    else:
        raise InputError(f"unknown prediction-interval type '{pi_type}'; valid: default, t, riley")
    half = crit * math.sqrt(vpred + fit.tau2)
    return pred - half, pred + half


def blup(fit: RmaFit) -> dict[str, np.ndarray]:
    """Shrunken study effects, metafor ``blup()``: ``l y_i + (1-l) x_i'beta``, ``l = t/(t+v_i)``.

    ``se = sqrt(l v_i + (1-l)^2 x_i'Vx_i)`` and the interval ``pred +/- crit se``.

    Returns:
        Arrays ``"pred"``, ``"se"``, ``"pi_low"``, ``"pi_high"`` (one entry per study).

    Examples:
        Same as metafor `blup(rma(yi, vi))` on Normand (1999): -19.7266, -2.0397, -54.1058.

        >>> from bayesmeta.datasets import load
        >>> from bayesmeta.effects import md
        >>> d = load("normand1999")
        >>> es = md(d.m1i, d.sd1i, d.n1i, d.m2i, d.sd2i, d.n2i)
        >>> from bayesmeta.classical import blup, rma
        >>> b = blup(rma(es.yi, es.vi))
        >>> print([round(float(p), 4) for p in b["pred"][:3]])
        [-19.7266, -2.0397, -54.1058]
    """
    li = fit.tau2 / (fit.tau2 + fit.vi)
    xb = fit.X @ fit.beta
    pred = li * fit.yi + (1 - li) * xb
    vx = np.einsum("ij,jk,ik->i", fit.X, fit.vb, fit.X)
    se = np.sqrt(li * fit.vi + (1 - li) ** 2 * vx)
    return {
        "pred": pred,
        "se": se,
        "pi_low": pred - fit.crit * se,
        "pi_high": pred + fit.crit * se,
    }

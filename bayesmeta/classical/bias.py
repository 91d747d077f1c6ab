"""Small-study effects: Egger's regression test, Begg's rank test, trim-and-fill, fail-safe N
and PET / PEESE, as metafor 3.8 (``regtest``, ``ranktest``, ``trimfill``, ``fsn``) computes them.

* `regtest`: the random-effects (``model="rma"``, default) or weighted least squares
  (``"lm"``) regression of yi on a precision predictor (``sei`` default, ``vi``, ``ni``,
  ``ninv``); the test is the predictor's coefficient, and with ``sei`` or ``vi`` the
  intercept is the "limit estimate" (the effect of an infinitely precise study; Egger et al.
  1997, BMJ 315:629-634; Sterne & Egger 2005).
* `ranktest`: Kendall's tau between the standardised deviations from the fixed-effect
  estimate and the variances (Begg & Mazumdar 1994, Biometrics 50:1088-1101); exact p when
  there are no ties, else the normal approximation (as R's ``cor.test``).
* `trimfill`: Duval & Tweedie (2000, Biometrics 56:455-463), estimators L0 (default) and R0;
  the side with the missing studies is the one opposite the sign of the slope of the
  ``sqrt(vi)`` meta-regression (metafor); the filled data are refitted with the same method.
* `fsn_rosenthal`: Rosenthal's (1979) fail-safe N, Stouffer's method, one-sided alpha 0.05,
  rounded up to a whole number of studies (as metafor prints it).
* `fsn_orwin`, `fsn_rosenberg`: Orwin's (1983) and Rosenberg's (2005) fail-safe N.
* `pet_peese`: PET (WLS of yi on sei) and PEESE (on vi), weights 1/vi, multiplicative
  error (Stanley & Doucouliagos 2014, Res Synth Methods 5:60-78); the conditional rule uses
  PEESE when PET's intercept is significant (one-sided alpha 0.05), else PET.

These tests have little power when k < 10 (Sterne et al. 2011, BMJ 343:d4002); every
result says so when k < 10. A regression test needs k >= 3, trim-and-fill k >= 3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special, stats

from bayesmeta.classical.linalg import check_arrays
from bayesmeta.classical.pooling import rma
from bayesmeta.errors import InputError

LOW_POWER = (
    "k < 10: tests for small-study effects have little power (Sterne et al. 2011, "
    "BMJ 343:d4002); a non-significant result says little"
)


def _need(k: int, minimum: int, what: str) -> None:
    if k < minimum:
        raise InputError(f"{what} needs at least {minimum} studies (k = {k})")


@dataclass
class RegTest:
    """Egger-type regression test (`regtest`).

    Examples:
        >>> from bayesmeta.classical.bias import regtest
        >>> r = regtest([0.1, 0.3, 0.5, 0.2, 0.6], [0.01, 0.02, 0.04, 0.03, 0.05], model="lm")
        >>> r.model, r.predictor, r.df
        ('lm', 'sei', 3)
    """

    model: str
    predictor: str
    stat: float  # z (rma) or t (lm)
    pval: float
    slope: float
    df: int | None
    limit: float | None
    limit_ci: tuple[float, float] | None
    warnings: list[str] = field(default_factory=list)


def regtest(
    yi: Any,
    vi: Any,
    *,
    predictor: str = "sei",
    model: str = "rma",
    method: str = "REML",
    ni: Any = None,
    level: float = 0.95,
) -> RegTest:
    """Egger's regression test in metafor's forms (module docstring).

    Same as metafor `regtest(rma(yi, vi, data = dat.bcg log RR))`: z = -0.8033,
    p = 0.4218, limit estimate -0.5104:

    Examples:
        >>> from bayesmeta.classical.bias import regtest
        >>> y = [-0.8893, -1.5854, -1.3481, -1.4416, -0.2175, -0.7861, -1.6209, 0.012,
        ...      -0.4694, -1.3713, -0.3394, 0.4459, -0.0173]
        >>> v = [0.3256, 0.1946, 0.4154, 0.02, 0.0512, 0.0069, 0.2230, 0.0040, 0.0564, 0.0730,
        ...      0.0124, 0.5325, 0.0714]
        >>> r = regtest(y, v)
        >>> round(r.stat, 2), round(r.pval, 2)
        (-0.8, 0.42)
    """
    y, v, _ = check_arrays(yi, vi)
    k = y.size
    _need(k, 3, "a regression test for small-study effects")
    if predictor == "sei":
        x = np.sqrt(v)
    elif predictor == "vi":
        x = v
    elif predictor in ("ni", "ninv"):
        if ni is None:
            raise InputError(f"predictor '{predictor}' needs sample sizes (ni)", column="ni")
        n = np.asarray(ni, dtype=float).reshape(-1)
        if n.size != k or not np.all(np.isfinite(n) & (n > 0)):
            raise InputError("sample sizes (ni) must be positive numbers, one per study")
        x = n if predictor == "ni" else 1.0 / n
    else:
        raise InputError(f"predictor must be sei, vi, ni or ninv, not {predictor!r}")
    X = np.column_stack([np.ones(k), x])
    if np.ptp(x) == 0:
        raise InputError(f"the predictor {predictor} is the same for every study: no test")
    warns = [LOW_POWER] if k < 10 else []
    limit = limit_ci = None
    if model == "rma":
        fit = rma(y, v, method, "z", level, X=X)
        b, se = fit.beta, np.sqrt(np.diag(fit.vb))
        stat = float(b[1] / se[1])
        pval = float(2 * special.ndtr(-abs(stat)))
        slope = float(b[1])
        df = None
        if predictor in ("sei", "vi"):
            limit = float(b[0])
            limit_ci = (float(fit.ci_low[0]), float(fit.ci_high[0]))
        warns += fit.warnings
    elif model == "lm":
        w = 1.0 / v
        WX = X * w[:, None]
        xtwx = X.T @ WX
        b = np.linalg.solve(xtwx, WX.T @ y)
        resid = y - X @ b
        df = k - 2
        s2 = float(np.sum(w * resid**2)) / df
        cov = s2 * np.linalg.inv(xtwx)
        stat = float(b[1] / math.sqrt(cov[1, 1]))
        pval = float(2 * special.stdtr(df, -abs(stat)))
        slope = float(b[1])
        if predictor in ("sei", "vi"):
            limit = float(b[0])
            crit = float(-special.stdtrit(df, (1 - level) / 2))
            half = crit * math.sqrt(cov[0, 0])
            limit_ci = (limit - half, limit + half)
    else:
        raise InputError(f"model must be 'rma' or 'lm', not {model!r}")
    return RegTest(model, predictor, stat, pval, slope, df, limit, limit_ci, warns)


def ranktest(yi: Any, vi: Any) -> tuple[float, float]:
    """Begg and Mazumdar's rank correlation test: (Kendall's tau, two-sided p).

    Same as metafor `ranktest(c(.1, .3, .5, .2), c(.01, .02, .04, .03))`: tau 0.6667:

    Examples:
        >>> from bayesmeta.classical.bias import ranktest
        >>> tau, p = ranktest([0.1, 0.3, 0.5, 0.2], [0.01, 0.02, 0.04, 0.03])
        >>> round(tau, 4)
        0.6667
    """
    y, v, _ = check_arrays(yi, vi)
    _need(y.size, 3, "the rank correlation test")
    w = 1.0 / v
    beta = float(np.sum(w * y) / w.sum())
    vb = 1.0 / w.sum()
    ystar = (y - beta) / np.sqrt(v - vb)
    ties = len(np.unique(ystar)) < y.size or len(np.unique(v)) < y.size
    res = stats.kendalltau(ystar, v, method="asymptotic" if ties else "exact")
    return float(res.statistic), float(res.pvalue)


@dataclass
class TrimFill:
    """Trim-and-fill (`trimfill`): missing studies, side, and the refitted estimate.

    Examples:
        >>> from bayesmeta.classical.bias import trimfill
        >>> tf = trimfill([0.1, 0.2, 0.3, 0.5, 0.6, 0.9], [0.01, 0.02, 0.03, 0.05, 0.08, 0.1])
        >>> tf.filled_yi.size == tf.k0
        True
    """

    k0: int
    side: str
    estimate: float
    ci_low: float
    ci_high: float
    tau2: float
    filled_yi: np.ndarray
    filled_vi: np.ndarray
    warnings: list[str] = field(default_factory=list)


def _rank_first(a: np.ndarray) -> np.ndarray:
    """R's ``rank(a, ties.method = "first")``."""
    order = np.argsort(a, kind="stable")
    r = np.empty(a.size)
    r[order] = np.arange(1, a.size + 1)
    return r


def trimfill(
    yi: Any,
    vi: Any,
    *,
    method: str = "REML",
    estimator: str = "L0",
    side: str | None = None,
    level: float = 0.95,
    maxiter: int = 100,
) -> TrimFill:
    """Duval and Tweedie's trim-and-fill, as metafor's ``trimfill`` (module docstring).

    Same side as metafor `trimfill(rma(...))` on these six studies ("left"):

    Examples:
        >>> from bayesmeta.classical.bias import trimfill
        >>> tf = trimfill([0.1, 0.2, 0.3, 0.5, 0.6, 0.9], [0.01, 0.02, 0.03, 0.05, 0.08, 0.1])
        >>> tf.side, tf.k0 >= 0
        ('left', True)
    """
    y0, v0, _ = check_arrays(yi, vi)
    k = y0.size
    _need(k, 3, "trim-and-fill")
    if estimator not in ("L0", "R0"):
        raise InputError(f"estimator must be L0 or R0, not {estimator!r}")
    if side is None:
        slope = rma(y0, v0, method, "z", level, X=np.column_stack([np.ones(k), np.sqrt(v0)]))
        side = "right" if slope.beta[1] < 0 else "left"
    elif side not in ("left", "right"):
        raise InputError(f"side must be left or right, not {side!r}")
    if np.ptp(y0) == 0:  # identical effects: nothing is asymmetric, nothing to fill
        fit = rma(y0, v0, method, "z", level)
        return TrimFill(0, side, float(fit.beta[0]), float(fit.ci_low[0]),
                        float(fit.ci_high[0]), float(fit.tau2), np.empty(0), np.empty(0),
                        [LOW_POWER] if k < 10 else [])  # fmt: skip
    y = -y0 if side == "right" else y0.copy()
    ix = np.argsort(y, kind="stable")
    y, v = y[ix], v0[ix]
    k0, k0_old, it = 0, -1, 0
    beta = math.nan
    yc = y
    while abs(k0 - k0_old) > 0:
        k0_old = k0
        it += 1
        if it > maxiter:
            raise InputError(f"trim-and-fill did not converge in {maxiter} iterations")
        beta = float(rma(y[: k - k0], v[: k - k0], method, "z", level).beta[0])
        yc = y - beta
        rs = np.sign(yc) * _rank_first(np.abs(yc))
        if estimator == "R0":
            neg = rs[rs < 0]
            est = (k - np.max(-neg)) - 1 if neg.size else k - 1
        else:
            sr = float(np.sum(rs[rs > 0]))
            est = (4 * sr - k * (k + 1)) / (2 * k - 1)
        k0 = max(0, int(np.round(est)))  # R's round: half to even, as numpy
    warns = [LOW_POWER] if k < 10 else []
    if k0 > 0:
        yc2 = -1 * (yc - beta) if side == "right" else yc - beta
        fill_y = -1 * yc2[k - k0 :]
        fill_v = v[k - k0 :]
        yall, vall = np.concatenate([y0, fill_y]), np.concatenate([v0, fill_v])
    else:
        fill_y, fill_v = np.empty(0), np.empty(0)
        yall, vall = y0, v0
    fit = rma(yall, vall, method, "z", level)
    return TrimFill(
        k0, side, float(fit.beta[0]), float(fit.ci_low[0]), float(fit.ci_high[0]),
        float(fit.tau2), fill_y, fill_v, warns,
    )  # fmt: skip


def fsn_rosenthal(yi: Any, vi: Any, alpha: float = 0.05) -> float:
    """Rosenthal's fail-safe N (Stouffer): ``max(0, k (z_avg / z_alpha)^2 - k)`` rounded up,
    ``z_avg = |sum(yi / sqrt(vi))| / sqrt(k)``, ``z_alpha`` the one-sided normal quantile.

    Same as metafor `fsn(c(.5, .4, .6), c(.04, .05, .06))`: 14:

    Examples:
        >>> from bayesmeta.classical.bias import fsn_rosenthal
        >>> fsn_rosenthal([0.5, 0.4, 0.6], [0.04, 0.05, 0.06])
        14.0
    """
    y, v, _ = check_arrays(yi, vi)
    k = y.size
    z_avg = abs(float(np.sum(y / np.sqrt(v)))) / math.sqrt(k)
    return float(math.ceil(max(0.0, k * (z_avg / float(-special.ndtri(alpha))) ** 2 - k)))


def _whole(n: float) -> float:
    """metafor's rounding of a fail-safe N: up to a whole study unless within 1.5e-8."""
    if math.isinf(n) or abs(n - round(n)) < 1.5e-8:
        return float(round(n)) if not math.isinf(n) else n
    return float(math.ceil(n))


def fsn_orwin(
    yi: Any, vi: Any = None, target: float | None = None, *, weighted: bool = False
) -> float:
    """Orwin's (1983) fail-safe N: studies with effect 0 that bring the mean effect down to
    ``target`` (default half the mean): ``max(0, k (mean - target) / target)``; the mean is
    unweighted (metafor's default) or, ``weighted=True``, inverse-variance weighted.

    Same as metafor `fsn(c(.5, .4, .6), c(.04, .05, .06), type="Orwin", target=.1)`: 12:

    Examples:
        >>> from bayesmeta.classical.bias import fsn_orwin
        >>> fsn_orwin([0.5, 0.4, 0.6], [0.04, 0.05, 0.06], target=0.1)
        12.0
    """  # fmt: skip
    y = np.asarray(yi, dtype=float)
    if weighted:
        y, v, _ = check_arrays(yi, vi)
        mean = float(np.sum(y / v) / np.sum(1 / v))
    else:
        mean = float(np.mean(y))
    t = mean / 2 if target is None else float(target)
    if t == 0:
        return math.inf
    if math.copysign(1, t) != math.copysign(1, mean):
        t = -t
    return _whole(max(0.0, y.size * (mean - t) / t))


def fsn_rosenberg(yi: Any, vi: Any, alpha: float = 0.05) -> float:
    """Rosenberg's (2005) fail-safe N: studies with effect 0 (and the average weight) that
    make the fixed-effect estimate non-significant at two-sided ``alpha``:
    ``max(0, k ((sum w y / z_{1-alpha/2})^2 - sum w) / sum w)``.

    Same as metafor `fsn(c(.5, .4, .6), c(.04, .05, .06), type="Rosenberg")`: 9:

    Examples:
        >>> from bayesmeta.classical.bias import fsn_rosenberg
        >>> fsn_rosenberg([0.5, 0.4, 0.6], [0.04, 0.05, 0.06])
        9.0
    """
    y, v, _ = check_arrays(yi, vi)
    w = 1 / v
    extra = (float(np.sum(w * y)) / float(-special.ndtri(alpha / 2))) ** 2 - float(np.sum(w))
    return _whole(max(0.0, y.size * extra / float(np.sum(w))))


def pet_peese(yi: Any, vi: Any, alpha: float = 0.05) -> dict[str, Any]:
    """PET and PEESE intercepts (with SEs and p), their slopes (``pet_slope`` on sqrt(vi),
    ``peese_slope`` on vi) and the conditional PET-PEESE choice.

    Same as R `lm(y ~ sqrt(v), weights = 1/v)` with y = (0.1, 0.2, 0.35, 0.5),
    v = (0.01, 0.02, 0.04, 0.08): intercept -0.1262:

    Examples:
        >>> from bayesmeta.classical.bias import pet_peese
        >>> r = pet_peese([0.1, 0.2, 0.35, 0.5], [0.01, 0.02, 0.04, 0.08])
        >>> r["choice"], round(r["pet"], 4)
        ('PET', -0.1262)
    """
    y, v, _ = check_arrays(yi, vi)
    k = y.size
    _need(k, 3, "PET-PEESE")
    out: dict[str, Any] = {}
    for name, x in (("pet", np.sqrt(v)), ("peese", v)):
        X = np.column_stack([np.ones(k), x])
        w = 1.0 / v
        xtwx = X.T @ (X * w[:, None])
        b = np.linalg.solve(xtwx, (X * w[:, None]).T @ y)
        s2 = float(np.sum(w * (y - X @ b) ** 2)) / (k - 2)
        se = math.sqrt(s2 * np.linalg.inv(xtwx)[0, 0])
        t = b[0] / se if se > 0 else math.inf
        out[name] = float(b[0])
        out[f"{name}_slope"] = float(b[1])
        out[f"{name}_se"] = se
        out[f"{name}_p"] = float(2 * special.stdtr(k - 2, -abs(t)))
    one_sided = out["pet_p"] / 2 if out["pet"] > 0 else 1 - out["pet_p"] / 2
    out["choice"] = "PEESE" if one_sided < alpha else "PET"
    out["estimate"] = out["peese"] if out["choice"] == "PEESE" else out["pet"]
    return out


def small_study_summary(
    yi: Any,
    vi: Any,
    *,
    ni: Any = None,
    method: str = "REML",
    steps: Any = (0.025,),
    alternative: str = "greater",
) -> dict[str, Any]:
    """Every test above in one JSON-ready dict (``bayesmeta bias --json``): ``egger_z``,
    ``egger_p``, ``egger_limit`` (regtest defaults), ``egger_lm_t``, ``egger_lm_p``,
    ``rank_tau``, ``rank_p``, ``trimfill_k0``, ``trimfill_side``, ``trimfill_estimate``,
    ``trimfill_ci_low``, ``trimfill_ci_high`` (REML, L0), ``fsn_rosenthal``, ``fsn_orwin``,
    ``fsn_rosenberg``, ``pet``, ``peese`` (and their SEs and p, the PET-PEESE choice),
    ``selection`` (the ML step-function selection model with cut points ``steps``, as
    `bayesmeta.classical.selection.step_selection`; null with ``selection_note`` when k is too
    small) and ``warnings``.

    Examples:
        >>> from bayesmeta.classical.bias import small_study_summary
        >>> s = small_study_summary([0.1, 0.3, 0.5, 0.2, 0.6], [0.01, 0.02, 0.04, 0.03, 0.05])
        >>> sorted(k for k in s if k.startswith("egger_l"))
        ['egger_limit', 'egger_limit_ci', 'egger_lm_p', 'egger_lm_t']
    """
    eg = regtest(yi, vi, method=method)
    lm = regtest(yi, vi, model="lm")
    tau, rp = ranktest(yi, vi)
    tf = trimfill(yi, vi, method=method)
    pp = pet_peese(yi, vi)
    from bayesmeta.classical.selection import step_selection

    try:
        sel = step_selection(yi, vi, steps, alternative=alternative)  # type: ignore[arg-type]
        selection, note = sel.to_dict(), "ML step-function model (metafor selmodel)"
    except InputError as err:
        if err.column in ("--steps", "--alternative"):
            raise
        selection, note = None, str(err)
    warns = list(dict.fromkeys(eg.warnings + tf.warnings))
    return {
        "k": int(np.asarray(yi).size),
        "egger_z": eg.stat, "egger_p": eg.pval, "egger_limit": eg.limit,
        "egger_limit_ci": list(eg.limit_ci) if eg.limit_ci else None,
        "egger_slope": eg.slope, "egger_lm_t": lm.stat, "egger_lm_p": lm.pval,
        "rank_tau": tau, "rank_p": rp,
        "trimfill_k0": tf.k0, "trimfill_side": tf.side, "trimfill_estimate": tf.estimate,
        "trimfill_ci_low": tf.ci_low, "trimfill_ci_high": tf.ci_high,
        "trimfill_filled_yi": tf.filled_yi.tolist(), "trimfill_filled_vi": tf.filled_vi.tolist(),
        "fsn_rosenthal": fsn_rosenthal(yi, vi), "fsn_orwin": fsn_orwin(yi, vi),
        "fsn_rosenberg": fsn_rosenberg(yi, vi),
        **{("pet_peese_" + k if k in ("choice", "estimate") else k): v for k, v in pp.items()},
        "selection": selection,
        "selection_note": note,
        "warnings": warns,
    }  # fmt: skip

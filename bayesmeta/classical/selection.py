"""Step-function selection models (Vevea & Hedges 1995), fitted by maximum likelihood as
metafor 3.8 ``selmodel(rma(yi, vi, method="ML"), type="stepfun", steps=...)`` fits them.

A study's chance of being published is a step function of its p value, with weight
delta_j on the interval (a_{j-1}, a_j] of the cut points ``steps`` (1 is added as the last
step; delta_1 = 1 on the most significant interval). Under the random-effects model
y_i ~ N(mu, v_i + tau^2), the density of a published result is

    f(y_i) = delta_{j(i)} phi((y_i - mu) / s_i) / s_i / A_i,   s_i^2 = v_i + tau^2,
    A_i = sum_j delta_j P(p_i in (a_{j-1}, a_j] | mu, s_i),

with p_i the one-sided p value of y_i / sqrt(v_i) (``alternative="greater"``, metafor's
default; ``"less"``), or two-sided. mu, tau^2 and delta_2..delta_J are estimated by ML;
standard errors come from the inverse of the numerical Hessian of -log L on the natural
scale (as metafor's default ``hessianCtrl``), Wald tests and CIs for mu; the likelihood-ratio
test of H0: every delta_j = 1 (no selection) against the ML random-effects model has J - 1
degrees of freedom. An interval that holds no observed p value leaves its delta unidentified:
metafor warns and returns a weight at its bound; this package refuses, naming the interval.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import optimize, special

from bayesmeta.classical.linalg import check_arrays
from bayesmeta.errors import InputError

Alternative = Literal["greater", "less", "two.sided"]
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def p_values(yi: np.ndarray, vi: np.ndarray, alternative: Alternative) -> np.ndarray:
    """The p value of each study's z = yi / sqrt(vi): one-sided upper (``"greater"``), lower
    (``"less"``) or two-sided.

    Examples:
        >>> from bayesmeta.classical.selection import p_values
        >>> p_values(np.array([1.96]), np.array([1.0]), "two.sided").round(4).tolist()
        [0.05]
    """
    z = yi / np.sqrt(vi)
    if alternative == "greater":
        return special.ndtr(-z)
    if alternative == "less":
        return special.ndtr(z)
    return 2 * special.ndtr(-np.abs(z))


def _interval_probs(
    mu: float, s: np.ndarray, sd: np.ndarray, steps: np.ndarray, alternative: Alternative
) -> np.ndarray:
    """P(p_i in (a_{j-1}, a_j]) for y_i ~ N(mu, s_i^2), a (k, J) matrix (rows sum to 1)."""
    a = np.concatenate([[0.0], steps])
    if alternative == "two.sided":
        c = sd[:, None] * -special.ndtri(a / 2)[None, :]  # |y| >= c_j  <=>  p <= a_j
        upper = special.ndtr((mu - c) / s[:, None])  # P(y >= c)
        lower = special.ndtr((-c - mu) / s[:, None])  # P(y <= -c)
        tail = upper + lower
        return np.diff(tail, axis=1)
    sign = 1.0 if alternative == "greater" else -1.0
    c = sd[:, None] * -special.ndtri(a)[None, :]  # sign * y >= c_j  <=>  p <= a_j
    tail = special.ndtr((sign * mu - c) / s[:, None])
    return np.diff(tail, axis=1)


def check_steps(steps: Any, alternative: str = "greater") -> np.ndarray:
    """The sorted cut points with 1 appended, after checking them and ``alternative``
    (InputError naming ``--steps`` / ``--alternative``).

    Examples:
        >>> from bayesmeta.classical.selection import check_steps
        >>> check_steps([0.5, 0.025]).tolist()
        [0.025, 0.5, 1.0]
    """
    if alternative not in ("greater", "less", "two.sided"):
        raise InputError(
            f"alternative must be 'greater', 'less' or 'two.sided', not {alternative!r}",
            column="--alternative",
        )
    cuts = np.unique(np.asarray(steps, dtype=float))
    if cuts.size == 0 or np.any(~np.isfinite(cuts)) or cuts[0] <= 0 or cuts[-1] > 1:
        raise InputError("steps must be p-value cut points in (0, 1]", column="--steps")
    return cuts if cuts[-1] == 1 else np.append(cuts, 1.0)


def _groups(p: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Index of each p value's interval: the first j with p <= a_j (metafor's ``pgrp``)."""
    return np.searchsorted(steps, p, side="left")


def _loglik(
    mu: float, tau2: float, delta: np.ndarray, y: np.ndarray, v: np.ndarray,
    group: np.ndarray, steps: np.ndarray, alternative: Alternative,
) -> float:  # fmt: skip
    s2 = v + tau2
    s = np.sqrt(s2)
    probs = _interval_probs(mu, s, np.sqrt(v), steps, alternative)
    a_i = probs @ delta
    dens = -0.5 * (y - mu) ** 2 / s2 - 0.5 * np.log(s2) - _LOG_SQRT_2PI
    with np.errstate(divide="ignore"):
        return float(np.sum(np.log(delta[group]) + dens - np.log(a_i)))


@dataclass(frozen=True)
class SelectionModel:
    """An ML step-function selection model: ``estimate`` (mu) with ``se``, ``z``, ``p`` and
    the Wald CI; ``tau2`` (``se_tau2``); the weights ``delta`` (delta_1 = 1 is fixed, its SE
    is NaN) with ``se_delta``; ``ll`` and ``ll0`` (no selection), the LRT ``lrt`` on
    ``lrt_df`` degrees of freedom with p ``lrt_p``; ``k_per_interval``; ``warnings``.

    Examples:
        >>> from bayesmeta.classical.selection import step_selection
        >>> yi = [0.8, 0.5, 0.1, 0.6, 0.2, 0.45, 0.05, 0.7]
        >>> vi = [0.04, 0.03, 0.02, 0.05, 0.01, 0.06, 0.015, 0.08]
        >>> print(str(step_selection(yi, vi)).splitlines()[0])
        Step-function selection model (ML; p values greater)
    """

    estimate: float
    se: float
    z: float
    p: float
    ci_low: float
    ci_high: float
    tau2: float
    se_tau2: float
    delta: tuple[float, ...]
    se_delta: tuple[float, ...]
    steps: tuple[float, ...]
    alternative: str
    ll: float
    ll0: float
    lrt: float
    lrt_df: int
    lrt_p: float
    k_per_interval: tuple[int, ...]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN -> None).

        Examples:
            >>> from bayesmeta.classical.selection import step_selection
            >>> yi = [0.8, 0.5, 0.1, 0.6, 0.2, 0.45, 0.05, 0.7]
            >>> vi = [0.04, 0.03, 0.02, 0.05, 0.01, 0.06, 0.015, 0.08]
            >>> sorted(step_selection(yi, vi).to_dict())[:4]
            ['alternative', 'ci_high', 'ci_low', 'delta']
        """

        def clean(x: Any) -> Any:
            if isinstance(x, tuple | list):
                return [clean(v) for v in x]
            return None if isinstance(x, float) and not math.isfinite(x) else x

        return {k: clean(v) for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SelectionModel:
        """The inverse of `to_dict` (None -> NaN).

        Examples:
            >>> from bayesmeta.classical.selection import SelectionModel, step_selection
            >>> yi = [0.8, 0.5, 0.1, 0.6, 0.2, 0.45, 0.05, 0.7]
            >>> vi = [0.04, 0.03, 0.02, 0.05, 0.01, 0.06, 0.015, 0.08]
            >>> fit = step_selection(yi, vi)
            >>> str(SelectionModel.from_dict(fit.to_dict())) == str(fit)
            True
        """

        def back(x: Any) -> Any:
            if isinstance(x, list):
                return tuple(back(v) for v in x)
            return float("nan") if x is None else x

        out = {k: back(v) for k, v in d.items()}
        out["warnings"] = list(d.get("warnings", []))
        return cls(**out)

    def __str__(self) -> str:
        a = [0.0, *self.steps]
        rows = "\n".join(
            f"  {a[j]:g} < p <= {a[j + 1]:g}: k = {n:>3}, delta = {d:.4f}"
            + ("" if j == 0 else f" (SE {sd:.4f})")
            for j, (n, d, sd) in enumerate(
                zip(self.k_per_interval, self.delta, self.se_delta, strict=True)
            )
        )
        lines = [
            f"Step-function selection model (ML; p values {self.alternative})",
            f"  mu = {self.estimate:.4f} (SE {self.se:.4f}), 95% CI [{self.ci_low:.4f}, "
            f"{self.ci_high:.4f}], z = {self.z:.3f}, p = {self.p:.4g}",
            f"  tau^2 = {self.tau2:.4f} (SE {self.se_tau2:.4f})",
            rows,
            f"  LRT for selection: X2({self.lrt_df}) = {self.lrt:.4f}, p = {self.lrt_p:.4g}",
        ]
        return "\n".join(lines + [f"  note: {w}" for w in self.warnings])


def _hessian(f: Any, x: np.ndarray) -> np.ndarray:
    """Central-difference Hessian with one Richardson step (error O(h^4))."""
    n = x.size

    def at(h: np.ndarray) -> np.ndarray:
        out = np.empty((n, n))
        for i in range(n):
            for j in range(i, n):
                ei, ej = np.zeros(n), np.zeros(n)
                ei[i], ej[j] = h[i], h[j]
                val = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (
                    4 * h[i] * h[j]
                )
                out[i, j] = out[j, i] = val
        return out

    h = 1e-3 * np.maximum(np.abs(x), 1e-2)
    return (4 * at(h / 2) - at(h)) / 3


def step_selection(
    yi: Any,
    vi: Any,
    steps: Any = (0.025,),
    *,
    alternative: Alternative = "greater",
    level: float = 0.95,
) -> SelectionModel:
    """Fit the step-function selection model by ML (metafor ``selmodel(type="stepfun")``).

    ``steps`` are the p-value cut points (sorted; 1 is appended); the default one cut at
    0.025 (one-sided) is the "significant in the expected direction" model of metafor's
    examples and Vevea & Hedges (1995, Psychometrika 60:419-435).

    Examples:
        >>> from bayesmeta.classical.selection import step_selection
        >>> yi = [0.8, 0.5, 0.1, 0.6, 0.2, 0.45, 0.05, 0.7]
        >>> vi = [0.04, 0.03, 0.02, 0.05, 0.01, 0.06, 0.015, 0.08]
        >>> fit = step_selection(yi, vi)
        >>> fit.k_per_interval, fit.lrt_df
        ((5, 3), 1)
    """
    y, v, _ = check_arrays(yi, vi)
    cuts = check_steps(steps, alternative)
    n_par = 2 + cuts.size - 1
    if y.size <= n_par:
        raise InputError(
            f"a selection model with {cuts.size} intervals has {n_par} parameters and needs "
            f"more than {n_par} studies (k = {y.size})"
        )
    p = p_values(y, v, alternative)
    group = _groups(p, cuts)
    counts = np.bincount(group, minlength=cuts.size)
    notes = []
    empty = [j for j in range(cuts.size) if counts[j] == 0]
    if empty:
        a = [0.0, *cuts]
        raise InputError(
            "no study has a p value in "
            + ", ".join(f"({a[j]:g}, {a[j + 1]:g}]" for j in empty)
            + ": the weight of that interval is not identified; choose other --steps"
        )
    if y.size < 10:
        notes.append("k < 10: a selection model has very little information at this size")

    def negll(theta: np.ndarray) -> float:
        mu, tau2 = theta[0], math.exp(theta[1]) if theta[1] > -60 else 0.0
        delta = np.concatenate([[1.0], np.exp(theta[2:])])
        val = -_loglik(mu, tau2, delta, y, v, group, cuts, alternative)
        return val if math.isfinite(val) else 1e300

    w = 1 / v
    mu0 = float(np.sum(w * y) / np.sum(w))
    tau0 = max(float(np.var(y)) - float(np.mean(v)), 0.01 * float(np.mean(v)))
    theta = np.concatenate([[mu0, math.log(tau0)], np.zeros(cuts.size - 1)])
    best = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for start in (theta, theta + np.concatenate([[0.0, 1.0], -0.5 * np.ones(cuts.size - 1)])):
            nm = optimize.minimize(negll, start, method="Nelder-Mead",
                                   options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 20000,
                                            "maxfev": 40000})  # fmt: skip
            res = optimize.minimize(negll, nm.x, method="BFGS", options={"gtol": 1e-10})
            cand = res if res.fun <= nm.fun else nm
            if best is None or cand.fun < best.fun:
                best = cand
    assert best is not None
    mu, log_tau2 = float(best.x[0]), float(best.x[1])
    delta = np.concatenate([[1.0], np.exp(best.x[2:])])
    tau2 = math.exp(log_tau2)
    ll = -float(best.fun)
    # tau^2 on the boundary: compare with the fit at tau^2 = 0
    zero_start = np.concatenate([[mu], best.x[2:]])

    def negll_zero(t: np.ndarray) -> float:
        return negll(np.concatenate([[t[0], -np.inf], t[1:]]))

    zero = optimize.minimize(
        negll_zero,
        zero_start,
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 20000},
    )
    tiny = tau2 < 1e-8 * float(np.mean(v))
    if -zero.fun > ll or (tiny and -zero.fun >= ll - 1e-9):
        mu, tau2, ll = float(zero.x[0]), 0.0, -float(zero.fun)
        delta = np.concatenate([[1.0], np.exp(zero.x[1:])])

    # no selection: the ML random-effects model (delta = 1)
    def negll0(t: np.ndarray) -> float:
        return -_loglik(t[0], math.exp(t[1]), np.ones(cuts.size), y, v, group, cuts, alternative)

    r0 = optimize.minimize(negll0, theta[:2], method="BFGS", options={"gtol": 1e-10})
    r0z = optimize.minimize_scalar(
        lambda m: -_loglik(m, 0.0, np.ones(cuts.size), y, v, group, cuts, alternative),
        bracket=(mu0 - 1, mu0 + 1),
    )
    ll0 = max(-float(r0.fun), -float(r0z.fun))
    lrt = max(0.0, 2 * (ll - ll0))
    df = cuts.size - 1

    # SEs: Hessian of -log L in (mu, tau2, delta_2..J) on the natural scale
    free_tau = tau2 > 0

    def natural(x: np.ndarray) -> float:
        t2 = x[1] if free_tau else 0.0
        d = np.concatenate([[1.0], x[2:] if free_tau else x[1:]])
        if t2 < 0 or np.any(d <= 0):
            return float("nan")
        return -_loglik(x[0], t2, d, y, v, group, cuts, alternative)

    x_hat = np.concatenate([[mu], [tau2] if free_tau else [], delta[1:]])
    se = np.full(x_hat.size, np.nan)
    try:
        cov = np.linalg.inv(_hessian(natural, x_hat))
        diag = np.diag(cov)
        se = np.where(diag > 0, np.sqrt(np.abs(diag)), np.nan)
    except np.linalg.LinAlgError:
        notes.append("the Hessian is singular: no standard errors")
    se_mu = float(se[0])
    se_tau2 = float(se[1]) if free_tau else float("nan")
    se_delta = (float("nan"), *(float(s) for s in se[2 if free_tau else 1 :]))
    crit = float(-special.ndtri((1 - level) / 2))
    z = mu / se_mu
    return SelectionModel(
        estimate=mu, se=se_mu, z=z, p=float(2 * special.ndtr(-abs(z))),
        ci_low=mu - crit * se_mu, ci_high=mu + crit * se_mu, tau2=tau2, se_tau2=se_tau2,
        delta=tuple(float(d) for d in delta), se_delta=se_delta,
        steps=tuple(float(c) for c in cuts), alternative=alternative, ll=ll, ll0=ll0,
        lrt=lrt, lrt_df=df, lrt_p=float(special.chdtrc(df, lrt)),
        k_per_interval=tuple(int(c) for c in counts), warnings=notes,
    )  # fmt: skip


def simulate_selected(
    rng: np.random.Generator, mu: float, tau: float, weights: Any, vi: Any,
    steps: Any = (0.025,), alternative: Alternative = "greater",
) -> np.ndarray:  # fmt: skip
    """Published effects under the step-function selection model: for each within-study
    variance v_i, draw y ~ N(mu, v_i + tau^2) and keep it with probability w_j / max(w) of
    its p-value interval, until one is kept (rejection sampling from the weighted density).

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.classical.selection import simulate_selected
        >>> rng = np.random.default_rng(1)
        >>> y = simulate_selected(rng, 0.0, 0.0, [1.0, 0.0], np.full(200, 0.01))
        >>> bool(np.all(y / 0.1 > 1.95))  # only significant results are published
        True
    """
    v = np.asarray(vi, dtype=float)
    w = np.asarray(weights, dtype=float)
    cuts = check_steps(steps, alternative)
    if w.shape != cuts.shape or np.any(w < 0) or w.max() <= 0:
        raise InputError(f"weights: {cuts.size} values >= 0, one per p-value interval")
    keep_p = w / w.max()
    out = np.empty(v.size)
    todo = np.arange(v.size)
    while todo.size:
        y = rng.normal(mu, np.sqrt(v[todo] + tau**2))
        g = _groups(p_values(y, v[todo], alternative), cuts)
        ok = rng.uniform(size=todo.size) < keep_p[g]
        out[todo[ok]] = y[ok]
        todo = todo[~ok]
    return out

"""What a tau prior implies before seeing the effects: theta_i - mu and I^2.

Under tau ~ p(tau), the deviation of a study's true effect from the mean,
delta = theta_i - mu | tau ~ N(0, tau^2), has the normal scale mixture

    P(|delta| <= h) = integral (2 Phi(h / tau) - 1) p(tau) dtau

computed by Gauss-Legendre quadrature in log(tau) between the prior's 1e-13 and 1 - 1e-13
quantiles; the reported ``delta_half_width`` is the h with P(|delta| <= h) = level.
I^2 = tau^2 / (tau^2 + s^2) is increasing in tau, so its prior quantiles are those of tau
mapped through it, with s^2 the "typical" within-study variance of Higgins & Thompson (2002,
Stat Med 21:1539, eq. 9): s^2 = (k - 1) sum w / ((sum w)^2 - sum w^2), w = 1 / v_i (v_1 for
k = 1). Improper priors (flat, jeffreys) have no prior predictive: their rows are nan.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special

from bayesmeta.errors import InputError
from bayesmeta.exact.marginal import check_level
from bayesmeta.priors import Prior
from bayesmeta.sensitivity.grammar import expand

_PANELS = 200
_ORDER = 16
_RULES: dict[tuple[str, tuple[float, ...]], tuple[np.ndarray, np.ndarray]] = {}


def typical_variance(vi: Any) -> float:
    """Higgins-Thompson typical within-study variance (module docstring).

    s^2 = (k - 1) sum w / ((sum w)^2 - sum w^2), w = 1 / v_i; v_1 itself for k = 1; equal
    variances give that variance. InputError unless every v_i is finite and > 0.

    Examples:
        >>> from bayesmeta.sensitivity.predictive import typical_variance
        >>> print(f"{typical_variance([0.1, 0.2, 0.05, 0.4]):.6f}")
        0.128571
        >>> typical_variance([0.04, 0.04, 0.04])
        0.04
    """
    v = np.asarray(vi, dtype=float).ravel()
    if v.size == 0 or not np.all(np.isfinite(v)) or np.any(v <= 0):
        raise InputError("within-study variances must be finite numbers > 0")
    if v.size == 1:
        return float(v[0])
    w = 1.0 / v
    return float((v.size - 1) * w.sum() / (w.sum() ** 2 - (w**2).sum()))


def _tau_rule(prior: Prior) -> tuple[np.ndarray, np.ndarray]:
    """Nodes tau and weights p(tau) dtau: Gauss-Legendre panels in v = log(tau) between the
    1e-13 and 1 - 1e-13 prior quantiles (power tails become exponential in v)."""
    key = (prior.family, prior.params)
    if key not in _RULES:
        a, b = (float(v) for v in prior.ppf([1e-13, 1.0 - 1e-13]))
        va, vb = math.log(max(a, 1e-300)), math.log(b)
        x, w = np.polynomial.legendre.leggauss(_ORDER)
        edges = np.linspace(va, vb, _PANELS + 1)
        half = 0.5 * np.diff(edges)
        mid = 0.5 * (edges[1:] + edges[:-1])
        v = (mid[:, None] + half[:, None] * x).ravel()
        tau = np.exp(v)
        wt = (half[:, None] * w).ravel() * np.asarray(prior.pdf(tau), dtype=float) * tau
        _RULES[key] = (tau, wt)
    return _RULES[key]


def abs_delta_cdf(prior: Prior, h: float) -> float:
    """P(|theta_i - mu| <= h) under the tau prior (module docstring).

    For tau ~ halfnormal(s), theta_i - mu = s Z1 Z2 (a product of two standard normals,
    density K0(|x|) / pi), so P(|delta| <= h) = (2 / pi) int_0^{h/s} K0(x) dx; with s = 0.5,
    h = 0.5 that integral is 0.791006:

    Examples:
        >>> from bayesmeta.priors import parse_prior
        >>> from bayesmeta.sensitivity.predictive import abs_delta_cdf
        >>> print(f"{abs_delta_cdf(parse_prior('halfnormal(0.5)', 'tau'), 0.5):.6f}")
        0.791006
    """
    tau, w = _tau_rule(prior)
    return float(w @ (2.0 * special.ndtr(h / tau) - 1.0))


def delta_half_width(prior: Prior, level: float = 0.95) -> float:
    """The h with P(|theta_i - mu| <= h) = level (Brent's method on `abs_delta_cdf`).

    ``level`` defaults to 0.95. For a scale family h is proportional to the scale.

    Examples:
        >>> from bayesmeta.priors import parse_prior
        >>> from bayesmeta.sensitivity.predictive import delta_half_width
        >>> print(f"{delta_half_width(parse_prior('halfnormal(0.5)', 'tau')):.4f}")
        1.0910
        >>> print(f"{delta_half_width(parse_prior('halfnormal(1)', 'tau')):.4f}")
        2.1819
    """
    hi = float(prior.ppf(1.0 - (1.0 - level) / 20.0)) * 3.0
    while abs_delta_cdf(prior, hi) < level:
        hi *= 2.0
    return float(
        optimize.brentq(
            lambda h: abs_delta_cdf(prior, h) - level, 0.0, hi, xtol=1e-14 * hi, rtol=1e-13
        )
    )


def prior_predictive(tau_priors: Any, vi: Any, level: float = 0.95) -> pd.DataFrame:
    """One row per tau prior: what it implies before the effects are seen.

    Columns: tau_sweep, tau_value, tau_prior, the prior median and central ``level`` interval
    of tau (``prior_tau_median``, ``_low``, ``_high``), the ``level`` half-width of
    theta_i - mu (`delta_half_width`) and the prior median / interval of
    I^2 = tau^2 / (tau^2 + s^2) with s^2 the `typical_variance` of ``vi``
    (``prior_i2_median``, ``_low``, ``_high``). Improper priors give nan. ``attrs`` holds
    ``level`` (default 0.95) and ``typical_variance``.

    Examples:
        >>> from bayesmeta.sensitivity import prior_predictive
        >>> out = prior_predictive(["halfnormal(0.25..1, n=4)", "flat"], [0.04, 0.04, 0.04])
        >>> cols = ["tau_prior", "prior_tau_median", "prior_delta_half_width", "prior_i2_median"]
        >>> print(out[cols].round(4))
                  tau_prior  prior_tau_median  prior_delta_half_width  prior_i2_median
        0  halfnormal(0.25)            0.1686                  0.5455           0.4155
        1   halfnormal(0.5)            0.3372                  1.0910           0.7398
        2  halfnormal(0.75)            0.5059                  1.6365           0.8648
        3     halfnormal(1)            0.6745                  2.1819           0.9192
        4              flat               NaN                     NaN              NaN
    """
    level = check_level(level)
    s2 = typical_variance(vi)
    lo, hi = (1.0 - level) / 2.0, (1.0 + level) / 2.0
    rows = []
    for grid in expand(tau_priors, "tau"):
        for p, value in zip(grid.priors, grid.values, strict=True):
            row: dict[str, Any] = {"tau_sweep": grid.text, "tau_value": value, "tau_prior": p.text}
            if p.proper:
                q = np.asarray(p.ppf([0.5, lo, hi]), dtype=float)
                i2 = q**2 / (q**2 + s2)
                row |= {
                    "prior_tau_median": q[0],
                    "prior_tau_low": q[1],
                    "prior_tau_high": q[2],
                    "prior_delta_half_width": delta_half_width(p, level),
                    "prior_i2_median": i2[0],
                    "prior_i2_low": i2[1],
                    "prior_i2_high": i2[2],
                }
            rows.append(row)
    out = pd.DataFrame(rows)
    cols = [
        "prior_tau_median",
        "prior_tau_low",
        "prior_tau_high",
        "prior_delta_half_width",
        "prior_i2_median",
        "prior_i2_low",
        "prior_i2_high",
    ]
    for c in cols:
        if c not in out.columns:
            out[c] = np.nan
    out.attrs |= {"level": level, "typical_variance": s2}
    return out

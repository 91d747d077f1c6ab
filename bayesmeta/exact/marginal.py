"""The one-dimensional posterior marginal interface shared by tau, mu, theta_i, beta_j.

A `Marginal` has ``pdf``, ``cdf``, ``sf`` (upper tail, computed directly, not as
1 - cdf), ``quantile``, ``mean``, ``sd``, ``median``, ``mode`` and ``interval``.
``interval(level, kind="central")`` is the equal-tailed interval
[q((1-level)/2), q((1+level)/2)]; ``kind="shortest"`` is the highest-density interval of a
unimodal density: the [a, b] with F(b) - F(a) = level and f(a) = f(b), or [lower support
bound, q(level)] when the density at the lower bound is higher than at q(level).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from bayesmeta.errors import InputError

INTERVAL_KINDS = ("central", "shortest")


def check_level(level: float) -> float:
    """``level`` as a float; InputError unless 0 < level < 1.

    Examples:
        >>> from bayesmeta.exact.marginal import check_level
        >>> check_level(0.9)
        0.9
        >>> check_level(95)
        Traceback (most recent call last):
        ...
        bayesmeta.errors.InputError: credible level must be between 0 and 1 (got 95.0)
    """
    level = float(level)
    if not 0.0 < level < 1.0:
        raise InputError(f"credible level must be between 0 and 1 (got {level})")
    return level


def check_kind(kind: str) -> str:
    """``kind`` if it is an interval kind (``"central"`` or ``"shortest"``); else InputError.

    Examples:
        >>> from bayesmeta.exact.marginal import check_kind
        >>> check_kind("shortest")
        'shortest'
        >>> check_kind("hpd")
        Traceback (most recent call last):
        ...
        bayesmeta.errors.InputError: interval kind must be 'central' or 'shortest' (got 'hpd')
    """
    if kind not in INTERVAL_KINDS:
        raise InputError(f"interval kind must be 'central' or 'shortest' (got {kind!r})")
    return kind


class Marginal(ABC):
    """A univariate posterior (or posterior predictive) distribution (see the module docstring).

    The exact engine's marginals (`fit.mu`, `fit.tau`, `fit.theta(i)`, `fit.theta_new`,
    regression coefficients and contrasts) are all of this type. A mean or variance that does
    not exist (heavy tails of p(tau | y) under improper priors) is reported as nan / inf.

    Same as R bayesmeta on the eight schools with a half-Cauchy(25) tau prior and a flat mu
    prior: `pposterior(fit, mu=0)` = 0.0504, shortest 95 % interval of mu [-1.808, 17.975]:

    Examples:
        >>> from bayesmeta import datasets
        >>> from bayesmeta.exact import NormalNormal
        >>> df = datasets.load("rubin1981")
        >>> mu = NormalNormal(df["effect"], df["stderr"], "halfcauchy(25)", "flat").mu
        >>> print(f"{mu.prob_below(0.0):.4f}")
        0.0504
        >>> print([round(v, 3) for v in mu.interval(0.95, "shortest")])
        [-1.808, 17.975]
    """

    name: str = ""

    @abstractmethod
    def pdf(self, x: Any) -> np.ndarray:
        """Density f(x)."""

    @abstractmethod
    def cdf(self, x: Any) -> np.ndarray:
        """Distribution function F(x) = P(X <= x)."""

    @abstractmethod
    def sf(self, x: Any) -> np.ndarray:
        """Upper tail 1 - F(x), computed directly (accurate where F(x) is near 1)."""

    @abstractmethod
    def quantile(self, p: Any) -> np.ndarray:
        """Inverse of F: the x with F(x) = p."""

    @property
    @abstractmethod
    def mean(self) -> float:
        """E[X] (nan if it does not exist)."""

    @property
    @abstractmethod
    def var(self) -> float:
        """Var[X] (inf if it does not exist)."""

    @property
    @abstractmethod
    def mode(self) -> float:
        """The x of highest density."""

    @abstractmethod
    def _shortest(self, level: float) -> tuple[float, float]: ...

    @property
    def sd(self) -> float:
        """Standard deviation sqrt(Var[X])."""
        v = self.var
        return math.sqrt(v) if v >= 0 else math.nan

    @property
    def median(self) -> float:
        """The 50 % quantile."""
        return float(self.quantile(0.5))

    def interval(self, level: float = 0.95, kind: str = "central") -> tuple[float, float]:
        """Central (equal-tailed) or shortest credible interval at ``level`` (default 95 %)."""
        level = check_level(level)
        if check_kind(kind) == "central":
            lo, hi = self.quantile([(1.0 - level) / 2.0, (1.0 + level) / 2.0])
            return float(lo), float(hi)
        return self._shortest(level)

    def prob_below(self, c: float) -> float:
        """P(X < c)."""
        return float(self.cdf(c))

    def prob_above(self, c: float) -> float:
        """P(X > c), computed as an upper tail (accurate for tiny probabilities)."""
        return float(self.sf(c))

    def summary(self, level: float = 0.95, kind: str = "central") -> dict[str, float]:
        """mean, sd, median, ci_low, ci_high (interval as in `interval()`)."""
        lo, hi = self.interval(level, kind)
        return {
            "mean": self.mean,
            "sd": self.sd,
            "median": self.median,
            "ci_low": lo,
            "ci_high": hi,
        }

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.name}: median {self.median:.6g}, "
            f"mean {self.mean:.6g}, sd {self.sd:.6g}>"
        )

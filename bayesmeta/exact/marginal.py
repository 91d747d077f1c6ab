"""The one-dimensional posterior marginal interface shared by tau, mu, theta_i, beta_j.

A :class:`Marginal` has ``pdf``, ``cdf``, ``sf`` (upper tail, computed directly, not as
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
    level = float(level)
    if not 0.0 < level < 1.0:
        raise InputError(f"credible level must be between 0 and 1 (got {level})")
    return level


def check_kind(kind: str) -> str:
    if kind not in INTERVAL_KINDS:
        raise InputError(f"interval kind must be 'central' or 'shortest' (got {kind!r})")
    return kind


class Marginal(ABC):
    """A univariate posterior (or posterior predictive) distribution."""

    name: str = ""

    @abstractmethod
    def pdf(self, x: Any) -> np.ndarray: ...

    @abstractmethod
    def cdf(self, x: Any) -> np.ndarray: ...

    @abstractmethod
    def sf(self, x: Any) -> np.ndarray: ...

    @abstractmethod
    def quantile(self, p: Any) -> np.ndarray: ...

    @property
    @abstractmethod
    def mean(self) -> float: ...

    @property
    @abstractmethod
    def var(self) -> float: ...

    @property
    @abstractmethod
    def mode(self) -> float: ...

    @abstractmethod
    def _shortest(self, level: float) -> tuple[float, float]: ...

    @property
    def sd(self) -> float:
        v = self.var
        return math.sqrt(v) if v >= 0 else math.nan

    @property
    def median(self) -> float:
        return float(self.quantile(0.5))

    def interval(self, level: float = 0.95, kind: str = "central") -> tuple[float, float]:
        """Central (equal-tailed) or shortest credible interval at ``level``."""
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

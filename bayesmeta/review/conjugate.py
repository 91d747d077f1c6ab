r"""Bayesian re-analysis of a published estimate: normal likelihood, normal prior (conjugate).

The published MD is treated as one observation ``y ~ N(theta, se^2)`` with the SE its CI
implies. With the prior ``theta ~ N(m0, s0^2)`` the posterior is normal with

``precision = 1/s0^2 + 1/se^2``, ``mean = (m0/s0^2 + y/se^2) / precision``

(e.g. Spiegelhalter, Abrams & Myles 2004, section 3.6). Benefit is ``sign * theta > 0`` where
``sign`` is +1 when an increase is the benefit and -1 when a decrease is; beyond a clinically
meaningful difference ``delta`` it is ``sign * theta > delta``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class NormalPosterior:
    """A normal posterior of the effect theta (exact)."""

    mean: float
    sd: float

    @property
    def median(self) -> float:
        return self.mean

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """Central (= shortest for the normal) credible interval."""
        z = float(stats.norm.isf((1 - level) / 2))
        return self.mean - z * self.sd, self.mean + z * self.sd

    def prob_above(self, x: float) -> float:
        return float(stats.norm.sf(x, self.mean, self.sd))

    def prob_below(self, x: float) -> float:
        return float(stats.norm.cdf(x, self.mean, self.sd))

    def prob_benefit(self, sign: int, beyond: float = 0.0) -> float:
        """P(sign * theta > beyond): benefit (beyond ``beyond``, an absolute difference)."""
        if sign > 0:
            return self.prob_above(beyond)
        return self.prob_below(-beyond)

    def pdf(self, x: np.ndarray) -> np.ndarray:
        return stats.norm.pdf(x, self.mean, self.sd)

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` i.i.d. draws from the exact posterior."""
        return rng.normal(self.mean, self.sd, size=n)


def normal_update(y: float, se: float, prior_mean: float, prior_sd: float) -> NormalPosterior:
    """Posterior of theta given ``y ~ N(theta, se^2)`` and ``theta ~ N(prior_mean, prior_sd^2)``."""
    if not (se > 0 and prior_sd > 0):
        raise ValueError("se and prior_sd must be > 0")
    w_prior = 1.0 / prior_sd**2
    w_data = 1.0 / se**2
    precision = w_prior + w_data
    mean = (prior_mean * w_prior + y * w_data) / precision
    return NormalPosterior(mean, math.sqrt(1.0 / precision))

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
    """A normal posterior of the effect theta (exact): ``theta ~ N(mean, sd^2)``.

    Examples:
        >>> from bayesmeta.review.conjugate import NormalPosterior
        >>> post = NormalPosterior(mean=1.0, sd=2.0)
        >>> print("{:.4f} {:.4f}".format(*post.interval(0.95)))
        -2.9199 4.9199
        >>> print(f"{post.prob_above(0.0):.4f} {post.prob_benefit(-1):.4f}")
        0.6915 0.3085
    """

    mean: float
    sd: float

    @property
    def median(self) -> float:
        """The posterior median (= mean for the normal)."""
        return self.mean

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """Central (= shortest for the normal) credible interval."""
        z = float(stats.norm.isf((1 - level) / 2))
        return self.mean - z * self.sd, self.mean + z * self.sd

    def prob_above(self, x: float) -> float:
        """P(theta > x)."""
        return float(stats.norm.sf(x, self.mean, self.sd))

    def prob_below(self, x: float) -> float:
        """P(theta < x)."""
        return float(stats.norm.cdf(x, self.mean, self.sd))

    def prob_benefit(self, sign: int, beyond: float = 0.0) -> float:
        """P(sign * theta > beyond): benefit (beyond ``beyond``, an absolute difference)."""
        if sign > 0:
            return self.prob_above(beyond)
        return self.prob_below(-beyond)

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """The posterior density at ``x``."""
        return stats.norm.pdf(x, self.mean, self.sd)

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` i.i.d. draws from the exact posterior."""
        return rng.normal(self.mean, self.sd, size=n)


def normal_update(y: float, se: float, prior_mean: float, prior_sd: float) -> NormalPosterior:
    """Posterior of theta given ``y ~ N(theta, se^2)`` and ``theta ~ N(prior_mean, prior_sd^2)``.

    Precision-weighted: ``1/sd^2 = 1/prior_sd^2 + 1/se^2`` and
    ``mean = sd^2 (prior_mean/prior_sd^2 + y/se^2)``. Raises ValueError unless both SDs > 0.

    Examples:
        One observation y = 1 with SE 1 and a N(0, 1) prior: mean 1/2, variance 1/2.

        >>> from bayesmeta.review.conjugate import normal_update
        >>> post = normal_update(1.0, 1.0, 0.0, 1.0)
        >>> print(f"{post.mean:.4f} {post.sd:.4f}")
        0.5000 0.7071

        The review's T2DM HbA1c overall MD -0.87 (SE 0.2551) under the sceptical prior
        N(0, 0.5289^2); a decrease is the benefit:

        >>> post = normal_update(-0.87, 0.2551, 0.0, 0.5289)
        >>> print(f"{post.mean:.4f} {post.sd:.4f} {post.prob_benefit(-1):.4f}")
        -0.7058 0.2298 0.9989
    """
    if not (se > 0 and prior_sd > 0):
        raise ValueError("se and prior_sd must be > 0")
    w_prior = 1.0 / prior_sd**2
    w_data = 1.0 / se**2
    precision = w_prior + w_data
    mean = (prior_mean * w_prior + y * w_data) / precision
    return NormalPosterior(mean, math.sqrt(1.0 / precision))

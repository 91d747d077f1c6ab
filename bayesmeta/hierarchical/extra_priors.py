"""Priors that `bayesmeta.priors` does not cover: the Student-t degrees of freedom
``nu`` and the pre/post correlation ``r``.

* ``gamma(shape, rate)`` for nu: p(nu) = rate^shape nu^(shape-1) exp(-rate nu) / Gamma(shape);
  ``gamma(2, 0.1)`` is the prior of Juarez & Steel (2010, J Bus Econ Stat 28:52-66).
  Any tau-type prior text of `bayesmeta.priors.parse_prior()` (``exponential(0.1)``...)
  is accepted for nu as well.
* ``beta(a, b)`` for r: r ~ Beta(a, b) on (0, 1), or with ``scale="(r+1)/2"``
  (r + 1)/2 ~ Beta(a, b), i.e. r on (-1, 1) with density Beta((r+1)/2; a, b) / 2.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

from bayesmeta.errors import InputError
from bayesmeta.priors import Prior, parse_prior

RScale = Literal["r", "(r+1)/2"]


def _fmt(x: float) -> str:
    return f"{x:g}"


_CALL = re.compile(r"^\s*([A-Za-z]+)\s*\(\s*([^,()]+)\s*,\s*([^,()]+)\s*\)\s*$")


@dataclass(frozen=True)
class ShapePrior:
    """``gamma(shape, rate)`` (for nu) or ``beta(a, b)`` (for r), SciPy densities + PyMC form."""

    family: Literal["gamma", "beta"]
    params: tuple[float, float]
    text: str
    scale: RScale = "r"

    proper = True

    def _dist(self) -> Any:
        a, b = self.params
        if self.family == "gamma":
            return stats.gamma(a, scale=1.0 / b)
        return stats.beta(a, b)

    def logpdf(self, x: Any) -> np.ndarray:
        """Log density of nu, or of r (including the 1/2 Jacobian on the (r+1)/2 scale)."""
        x = np.asarray(x, dtype=float)
        if self.family == "beta" and self.scale == "(r+1)/2":
            return self._dist().logpdf((x + 1.0) / 2.0) - math.log(2.0)
        return self._dist().logpdf(x)

    def rvs(self, size: int | tuple[int, ...] = 1, rng: Any = None) -> np.ndarray:
        draws = self._dist().rvs(size=size, random_state=np.random.default_rng(rng))
        return 2.0 * draws - 1.0 if self.scale == "(r+1)/2" else draws

    def to_pymc(self, name: str, **kw: Any) -> Any:
        """pm.Gamma(alpha, beta) for nu; pm.Beta for r (or for (r+1)/2, named ``name + "01"``)."""
        import pymc as pm

        a, b = self.params
        if self.family == "gamma":
            return pm.Gamma(name, alpha=a, beta=b, **kw)
        if self.scale == "r":
            return pm.Beta(name, alpha=a, beta=b, **kw)
        half = pm.Beta(f"{name}01", alpha=a, beta=b, **kw)
        return pm.Deterministic(name, 2.0 * half - 1.0, dims=kw.get("dims"))


def _two_numbers(text: str, family: str, what: str) -> tuple[float, float] | None:
    m = _CALL.match(text)
    if not m or m.group(1).lower() != family:
        return None
    try:
        a, b = float(m.group(2)), float(m.group(3))
    except ValueError:
        raise InputError(f"invalid {what} prior {text!r}: {family}(a, b) needs numbers") from None
    if not (math.isfinite(a) and math.isfinite(b) and a > 0 and b > 0):
        raise InputError(f"invalid {what} prior {text!r}: both parameters must be > 0")
    return a, b


def parse_nu(value: float | str | Prior | ShapePrior) -> float | Prior | ShapePrior:
    """Student-t degrees of freedom: a fixed number > 0, ``gamma(shape, rate)`` or a tau-type
    prior text such as ``exponential(0.1)``."""
    if isinstance(value, (Prior, ShapePrior)):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not (math.isfinite(value) and value > 0):
            raise InputError(f"degrees of freedom nu must be a finite number > 0 (got {value})")
        return float(value)
    if not isinstance(value, str):
        raise InputError(f"nu must be a number or a prior text, not {value!r}")
    ab = _two_numbers(value, "gamma", "nu")
    if ab is not None:
        return ShapePrior("gamma", ab, f"gamma({_fmt(ab[0])}, {_fmt(ab[1])})")
    prior = parse_prior(value, "tau")
    if not prior.proper or prior.needs_data or prior.family == "rhodes":
        raise InputError(f"nu prior {value!r} must be a proper prior without data dependence")
    return prior


def parse_r(value: float | str | ShapePrior, scale: RScale = "r") -> float | ShapePrior:
    """Pre/post correlation: a fixed number in (-1, 1) or ``beta(a, b)`` on ``scale``."""
    if isinstance(value, ShapePrior):
        return value
    if scale not in ("r", "(r+1)/2"):
        raise InputError(f"r_scale must be 'r' or '(r+1)/2', not {scale!r}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not (-1.0 < value < 1.0):
            raise InputError(f"a fixed correlation r must lie in (-1, 1) (got {value})")
        return float(value)
    if isinstance(value, str):
        ab = _two_numbers(value, "beta", "r")
        if ab is not None:
            text = f"beta({_fmt(ab[0])}, {_fmt(ab[1])})"
            return ShapePrior("beta", ab, f"{text} on {scale}", scale)
    raise InputError(f"invalid r prior {value!r}: give a number in (-1, 1) or 'beta(a, b)'")

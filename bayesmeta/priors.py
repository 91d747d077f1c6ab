"""Prior distributions for the heterogeneity tau and the overall effect mu.

Every prior is a `Prior` parsed from a short string by `parse_prior()`.
Heterogeneity priors are densities of **tau** (the between-study standard
deviation, not tau^2), on tau >= 0:

| prior                             | density of tau                                           |
|-----------------------------------|----------------------------------------------------------|
| `halfnormal(s)`                   | p(tau) = 2 phi(tau/s) / s                                |
| `halfcauchy(s)`                   | p(tau) = 2 / (pi s (1 + (tau/s)^2))                      |
| `halft(nu, s)`                    | p(tau) = 2 t_nu(tau/s) / s                               |
| `exponential(r)`                  | p(tau) = r exp(-r tau) (r is the rate)                   |
| `lognormal(m, v)`                 | log(tau) ~ N(m, v^2)                                     |
| `uniform(a, b)`                   | p(tau) = 1/(b - a) on [a, b]                             |
| `flat`                            | p(tau) = 1 on [0, inf) (improper; bayesmeta's "uniform") |
| `jeffreys`                        | p(tau) ∝ sqrt(sum_i (tau / (s_i^2 + tau^2))^2) (1)       |
| `turner[(outcome, comp)]`         | Turner et al. (2015) log-normal prior for tau^2 (2)      |
| `rhodes[(outcome, comp[, area])]` | Rhodes et al. (2015) log-t(5) prior for tau^2 (3)        |
| `tau2lognormal(m, s)`             | log(tau^2) ~ N(m, s^2) (the form Turner et al. fitted)   |
| `tau2logt(nu, m, s)`              | log(tau^2) ~ t_nu(m, s) (the form Rhodes et al. fitted)  |
| `invgamma(shape, scale)`          | tau ~ inverse-gamma: p ∝ tau^-(shape+1) exp(-scale/tau)  |
| `bartos(subfield, type)`          | Bartoš et al. (2021, 2023) subfield prior (4)            |

(1) Improper and data-dependent (Tibshirani 1989; Roever 2020 JSS 93(6), eq. 12): call
`Prior.bind()` with the standard errors. (2) Log-OR scale. (3) SMD scale. (4) The values of
RoBMA's ``prior_informed()`` by Cochrane subfield and type (SMD, logOR, logRR, RD, logHR):
inverse-gamma on tau (half-normal for RD); see `bayesmeta.empirical.published`.

Effect priors: ``normal(mean, sd)``, ``flat`` (improper uniform on the real line),
``student(nu, location, scale)`` (Student-t; the PyMC engine only: the exact engine's
integral over mu is closed-form for normal and flat priors) and ``bartos(subfield, type)``
(a Student-t).

References
----------
Turner RM, Jackson D, Wei Y, Thompson SG, Higgins JPT (2015). Predictive distributions for
between-study heterogeneity and simple methods for their application in Bayesian
meta-analysis. Stat Med 34(6):984-998, Table IV (log tau^2 ~ N(mu, sigma^2)).
Rhodes KM, Turner RM, Higgins JPT (2015). Predictive distributions were developed for the
extent of heterogeneity in meta-analyses of continuous outcome data. J Clin Epidemiol
68(1):52-60, Table 3 and Tables A.3.1-A.3.2 (log tau^2 ~ t_5(location, scale)).
Roever C (2020). Bayesian random-effects meta-analysis using the bayesmeta R package.
J Stat Softw 93(6):1-51.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from scipy import special

from bayesmeta.errors import InputError

Kind = Literal["tau", "mu"]

TAU_FORMS = (
    "halfnormal(scale), halfcauchy(scale), halft(nu, scale), exponential(rate), "
    "lognormal(meanlog, sdlog), uniform(lower, upper), flat, jeffreys, "
    "turner[(outcome, comparison)], rhodes[(outcome, comparison[, area])], "
    "tau2lognormal(mean, sd), tau2logt(nu, location, scale), invgamma(shape, scale), "
    "bartos(subfield, type)"
)
MU_FORMS = "normal(mean, sd), flat, student(nu, location, scale), bartos(subfield, type)"

# --------------------------------------------------------------------------------------
# Turner et al. (2015), Table IV: log(tau^2) ~ N(mu, sigma^2) for log odds ratios,
# by outcome type (rows) and type of intervention comparison (columns).
# --------------------------------------------------------------------------------------
TURNER_COMPARISONS = (
    "pharm-vs-placebo",  # pharmacological vs. placebo / control
    "pharm-vs-pharm",  # pharmacological vs. pharmacological
    "nonpharm-vs-placebo",  # non-pharmacological vs. placebo / control
    "nonpharm-vs-pharm",  # non-pharmacological vs. pharmacological
    "nonpharm-vs-nonpharm",  # non-pharmacological vs. non-pharmacological
)
TURNER_OUTCOMES = (
    "all-cause-mortality",
    "obstetric",
    "cause-specific-mortality",  # cause-specific mortality / major morbidity / composite
    "resource-use",  # resource use / hospital stay / process
    "surgical-device",  # surgical / device related success / failure
    "withdrawals",  # withdrawals / drop-outs
    "internal-structure",  # internal / structure-related outcomes
    "general-physical-health",
    "adverse-events",
    "infection",  # infection / onset of new disease
    "signs-symptoms",  # signs / symptoms reflecting continuation / end of condition
    "pain",
    "quality-of-life",  # quality of life / functioning (dichotomised)
    "mental-health",
    "biological-markers",  # biological markers (dichotomised)
    "subjective",  # subjective outcomes (various)
)
# columns in TURNER_COMPARISONS order, rows in TURNER_OUTCOMES order
# fmt: off
_TURNER_MU = np.array(
    [
        [3.95, 3.52, 3.71, 2.34, 2.14, 2.99, 2.71, 2.29, 1.87, 2.49, 2.06, 1.83, 2.54, 2.12,
         1.77, 2.70],
        [4.18, 3.75, 3.95, 2.58, 2.37, 3.23, 2.94, 2.53, 2.10, 2.73, 2.29, 2.06, 2.78, 2.35,
         2.00, 2.93],
        [4.17, 3.74, 3.93, 2.56, 2.36, 3.21, 2.93, 2.51, 2.10, 2.71, 2.28, 2.05, 2.77, 2.34,
         1.99, 2.92],
        [2.92, 2.49, 2.68, 1.31, 1.11, 1.96, 1.67, 1.26, 0.84, 1.46, 1.03, 0.80, 1.51, 1.09,
         0.74, 1.67],
        [3.50, 3.08, 3.27, 1.90, 1.69, 2.55, 2.26, 1.85, 1.43, 2.05, 1.61, 1.38, 2.10, 1.67,
         1.33, 2.26],
    ]
).T * -1.0
_TURNER_SIGMA = np.array(
    [
        [1.34, 1.74, 1.74, 1.74, 1.74, 1.74, 1.74, 1.53, 1.52, 1.52, 1.51, 1.52, 1.54, 1.53,
         1.52, 1.52],
        [1.41, 1.79, 1.79, 1.79, 1.79, 1.79, 1.79, 1.58, 1.58, 1.58, 1.58, 1.58, 1.60, 1.60,
         1.58, 1.58],
        [1.55, 1.91, 1.91, 1.91, 1.91, 1.91, 1.92, 1.72, 1.71, 1.71, 1.71, 1.71, 1.73, 1.72,
         1.71, 1.71],
        [1.02, 1.50, 1.51, 1.50, 1.50, 1.51, 1.51, 1.25, 1.24, 1.24, 1.24, 1.25, 1.27, 1.27,
         1.24, 1.25],
        [1.26, 1.68, 1.68, 1.68, 1.68, 1.68, 1.68, 1.46, 1.45, 1.45, 1.45, 1.45, 1.47, 1.47,
         1.45, 1.45],
    ]
).T
# fmt: on
#: Turner et al. (2015), p. 993: the "any outcome, any comparison" marginal prior.
TURNER_MARGINAL = (-2.56, 1.74)

# --------------------------------------------------------------------------------------
# Rhodes et al. (2015), Table 3 (other areas), A.3.1 (respiratory), A.3.2 (cancer):
# log(tau^2) ~ t_5(location, scale) for standardised mean differences.
# --------------------------------------------------------------------------------------
RHODES_COMPARISONS = (
    "pharm-vs-placebo",  # pharmacological vs. placebo / control
    "pharm-vs-pharm",  # pharmacological vs. pharmacological
    "nonpharm",  # non-pharmacological (any comparator)
)
RHODES_OUTCOMES = (
    "obstetric",
    "resource-use",  # resource use and hospital stay / process
    "structure-related",  # internal and external structure-related outcome
    "general-physical-health",  # + adverse event, pain, quality of life / functioning
    "signs-symptoms",  # + infection / onset of new acute / chronic disease
    "mental-health",
    "biological-marker",
    "subjective",  # various subjectively measured outcomes
)
RHODES_AREAS = ("other", "respiratory", "cancer")
# fmt: off
_RHODES_LOCATION = {
    "other": -np.array(
        [
            [4.13, 2.55, 2.43, 3.16, 3.00, 2.99, 3.41, 2.76],
            [4.40, 2.83, 2.70, 3.44, 3.27, 3.27, 3.68, 3.03],
            # 3.85 (mental health, non-pharmacological) is as printed in bayesmeta 3.4;
            # the additive pattern of the other cells would suggest 2.85.
            [3.99, 2.41, 2.29, 3.02, 2.86, 3.85, 3.27, 2.62],
        ]
    ).T,
    "respiratory": -np.array(
        [
            [6.03, 4.46, 4.33, 5.07, 4.90, 4.90, 5.31, 4.66],
            [6.31, 4.73, 4.61, 5.34, 5.18, 5.17, 5.59, 4.94],
            [5.89, 4.32, 4.19, 4.93, 4.76, 4.76, 5.17, 4.52],
        ]
    ).T,
    "cancer": -np.array(
        [
            [1.57, -0.01, 0.13, 0.60, 0.44, 0.43, 0.85, 0.20],
            [1.85, 0.27, 0.14, 0.88, 0.71, 0.71, 1.13, 0.48],
            [1.43, -0.15, -0.27, 0.46, 0.30, 0.29, 0.71, 0.06],
        ]
    ).T,
}
_RHODES_SCALE = {
    "other": np.array(
        [
            [2.34, 2.73, 2.50, 2.50, 2.50, 2.16, 2.83, 2.58],
            [2.31, 2.70, 2.46, 2.44, 2.47, 2.14, 2.78, 2.59],
            [2.11, 2.57, 2.32, 2.27, 2.33, 1.93, 2.66, 2.41],
        ]
    ).T,
    "respiratory": np.array(
        [
            [2.36, 2.74, 2.51, 2.51, 2.50, 2.17, 2.83, 2.59],
            [2.31, 2.70, 2.46, 2.45, 2.47, 2.14, 2.78, 2.59],
            [2.21, 2.57, 2.33, 2.28, 2.33, 1.94, 2.66, 2.41],
        ]
    ).T,
    "cancer": np.array(
        [
            [2.45, 2.83, 2.61, 2.61, 2.60, 2.28, 2.93, 2.68],
            [2.41, 2.79, 2.56, 2.55, 2.57, 2.25, 2.87, 2.68],
            [2.24, 2.68, 2.45, 2.40, 2.46, 2.08, 2.78, 2.53],
        ]
    ).T,
}
# fmt: on
#: Rhodes et al. (2015), section 3.3: the general (marginal) prior.
RHODES_MARGINAL = (-3.44, 2.59)
RHODES_DF = 5.0

_PROPER = {
    "halfnormal": True,
    "halfcauchy": True,
    "halft": True,
    "exponential": True,
    "lognormal": True,
    "uniform": True,
    "turner": True,
    "rhodes": True,
    "flat": False,
    "jeffreys": False,
    "normal": True,
    "tau2lognormal": True,
    "tau2logt": True,
    "invgamma": True,
    "student": True,
}
_NAMES = {
    "halfnormal": "halfnormal",
    "hn": "halfnormal",
    "halfcauchy": "halfcauchy",
    "hc": "halfcauchy",
    "halft": "halft",
    "halfstudentt": "halft",
    "exponential": "exponential",
    "exp": "exponential",
    "lognormal": "lognormal",
    "uniform": "uniform",
    "flat": "flat",
    "halfflat": "flat",
    "improperuniform": "flat",
    "jeffreys": "jeffreys",
    "turner": "turner",
    "rhodes": "rhodes",
    "normal": "normal",
    "gaussian": "normal",
    "tau2lognormal": "tau2lognormal",
    "logtau2normal": "tau2lognormal",
    "tau2logt": "tau2logt",
    "logtau2t": "tau2logt",
    "invgamma": "invgamma",
    "inversegamma": "invgamma",
    "student": "student",
    "studentt": "student",
    "t": "student",
    "bartos": "bartos",
}
_TAU_FAMILIES = (
    "halfnormal",
    "halfcauchy",
    "halft",
    "exponential",
    "lognormal",
    "uniform",
    "flat",
    "jeffreys",
    "turner",
    "rhodes",
    "tau2lognormal",
    "tau2logt",
    "invgamma",
    "bartos",
)
_MU_FAMILIES = ("normal", "flat", "student", "bartos")
_NPARAMS = {
    "halfnormal": 1,
    "halfcauchy": 1,
    "halft": 2,
    "exponential": 1,
    "lognormal": 2,
    "uniform": 2,
    "normal": 2,
    "flat": 0,
    "jeffreys": 0,
    "tau2lognormal": 2,
    "tau2logt": 3,
    "invgamma": 2,
    "student": 3,
}
_SIGNATURE = {
    "halfnormal": "halfnormal(scale)",
    "halfcauchy": "halfcauchy(scale)",
    "halft": "halft(nu, scale)",
    "exponential": "exponential(rate)",
    "lognormal": "lognormal(meanlog, sdlog)",
    "uniform": "uniform(lower, upper)",
    "normal": "normal(mean, sd)",
    "flat": "flat",
    "jeffreys": "jeffreys",
    "tau2lognormal": "tau2lognormal(mean, sd)",
    "tau2logt": "tau2logt(nu, location, scale)",
    "invgamma": "invgamma(shape, scale)",
    "student": "student(nu, location, scale)",
}


def _fmt(x: float) -> str:
    """Shortest exact text of a float: 0.5 -> '0.5', 25.0 -> '25'."""
    s = repr(float(x))
    return s[:-2] if s.endswith(".0") else s


@dataclass(frozen=True)
class Prior:
    """A prior for tau (``kind="tau"``, a density of tau >= 0) or mu (``kind="mu"``).

    ``params`` are the numbers in ``text``. For ``turner`` they are (mu, sigma) of
    log(tau^2) ~ N(mu, sigma^2), so log(tau) ~ N(mu/2, (sigma/2)^2); for ``rhodes``
    (location, scale) of log(tau^2) ~ t_5, so log(tau) ~ t_5(location/2, scale/2).
    ``sei`` holds the standard errors of a bound data-dependent prior (``jeffreys``);
    ``note`` says what the numbers of an empirical or improper prior mean. Build one with
    `parse_prior()`, `turner_prior()` or `rhodes_prior()`. ``logpdf``/``pdf``/``cdf``/``ppf``
    take numbers or arrays and return arrays; the improper priors have only a density.

    Same values as R bayesmeta 3.4 `dhalfnormal(0.5, scale = 0.5)` = 0.967883,
    `phalfnormal` 0.682689 and `qhalfnormal(0.5, scale = 0.5)` = 0.337245; the Jeffreys
    density matches `bayesmeta(y, sigma, tau.prior = "Jeffreys")$dprior(0.5)` = 1.896188:

    Examples:
        >>> from bayesmeta.priors import parse_prior
        >>> p = parse_prior("halfnormal(0.5)", "tau")
        >>> p.text, p.proper, p.params
        ('halfnormal(0.5)', True, (0.5,))
        >>> print(f"{p.pdf(0.5):.6f} {p.cdf(0.5):.6f} {p.ppf(0.5):.6f}")
        0.967883 0.682689 0.337245
        >>> j = parse_prior("jeffreys", "tau").bind([0.3, 0.5, 1.1, 0.8])
        >>> print(f"{j.pdf(0.5):.6f}")
        1.896188
    """

    family: str
    params: tuple[float, ...]
    text: str
    kind: Kind = "tau"
    note: str = ""
    sei: tuple[float, ...] | None = field(default=None, repr=False)

    # ---- properties -----------------------------------------------------------------
    @property
    def proper(self) -> bool:
        """False for the improper ``flat`` and ``jeffreys`` priors."""
        return _PROPER[self.family]

    @property
    def needs_data(self) -> bool:
        """True if the density depends on the standard errors (bind them first)."""
        return self.family == "jeffreys"

    @property
    def support(self) -> tuple[float, float]:
        """(lower, upper) of the density: the real line for mu, [a, b] for uniform(a, b)."""
        if self.kind == "mu":
            return (-math.inf, math.inf)
        if self.family == "uniform":
            return (self.params[0], self.params[1])
        return (0.0, math.inf)

    @property
    def tail_power(self) -> float:
        """a with p(tau) ~ C tau^a as tau -> inf (-inf for tails lighter than any power).

        ``rhodes`` is tau^-1 (log tau)^-6, reported as -1 with `tail_log_decay`.
        Used by the exact engine to decide propriety and which moments exist.
        """
        if self.kind == "mu":
            if self.family == "student":
                return -(self.params[0] + 1.0)
            return -math.inf if self.family == "normal" else 0.0
        f = self.family
        if f == "flat":
            return 0.0
        if f in ("jeffreys", "rhodes", "tau2logt"):
            return -1.0
        if f == "invgamma":
            return -(self.params[0] + 1.0)
        if f == "halfcauchy":
            return -2.0
        if f == "halft":
            return -(self.params[0] + 1.0)
        return -math.inf

    @property
    def tail_log_decay(self) -> bool:
        """True if the power tail is further damped by a power of log(tau) (``rhodes``)."""
        return self.family in ("rhodes", "tau2logt")

    @property
    def exact_mu(self) -> bool:
        """True for the mu priors the exact engine integrates in closed form (normal, flat)."""
        return self.kind == "mu" and self.family in ("normal", "flat")

    @property
    def lognormal_tau(self) -> tuple[float, float] | None:
        """(meanlog, sdlog) of tau for the log-normal families (``lognormal``, ``turner``)."""
        if self.family == "lognormal":
            return (self.params[0], self.params[1])
        if self.family in ("turner", "tau2lognormal"):
            return (self.params[0] / 2.0, self.params[1] / 2.0)
        return None

    @property
    def logt_tau(self) -> tuple[float, float, float] | None:
        """(df, location, scale) of log(tau) ~ t for ``rhodes`` and ``tau2logt``."""
        if self.family == "rhodes":
            return (RHODES_DF, self.params[0] / 2.0, self.params[1] / 2.0)
        if self.family == "tau2logt":
            return (self.params[0], self.params[1] / 2.0, self.params[2] / 2.0)
        return None

    def _lognormal(self) -> tuple[float, float]:
        """`lognormal_tau` where the family is known to be log-normal."""
        p = self.lognormal_tau
        if p is None:
            raise ValueError(f"{self.text} is not a log-normal prior")
        return p

    def _logt(self) -> tuple[float, float, float]:
        """`logt_tau` where the family is known to be log-t."""
        p = self.logt_tau
        if p is None:
            raise ValueError(f"{self.text} is not a log-t prior")
        return p

    def describe(self) -> str:
        """The canonical text plus, for empirical priors, what the numbers mean."""
        return f"{self.text} [{self.note}]" if self.note else self.text

    # ---- data binding ----------------------------------------------------------------
    def bind(self, sei: Sequence[float] | np.ndarray) -> Prior:
        """A copy bound to the standard errors (only data-dependent priors use them)."""
        if not self.needs_data:
            return self
        s = np.asarray(sei, dtype=float).ravel()
        if s.size == 0 or not np.all(np.isfinite(s)) or np.any(s <= 0):
            raise InputError("jeffreys prior needs finite standard errors > 0")
        return replace(self, sei=tuple(float(v) for v in s))

    def _sei(self) -> np.ndarray:
        if self.sei is None:
            raise InputError(
                "the jeffreys prior depends on the standard errors: call prior.bind(sei) first"
            )
        return np.asarray(self.sei)

    # ---- densities -------------------------------------------------------------------
    def logpdf(self, x: Any) -> np.ndarray:
        """Log density at x (unnormalised for improper priors; -inf outside the support)."""
        x = np.asarray(x, dtype=float)
        f, p = self.family, self.params
        if self.kind == "mu":
            if f == "normal":
                return _norm_logpdf(x, p[0], p[1])
            if f == "student":
                return _t_logpdf(x, p[0], p[1], p[2])
            return np.where(np.isnan(x), np.nan, 0.0)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if f == "halfnormal":
                out = 0.5 * math.log(2.0 / math.pi) - math.log(p[0]) - 0.5 * (x / p[0]) ** 2
            elif f == "halfcauchy":
                out = math.log(2.0 / (math.pi * p[0])) - np.logaddexp(0.0, 2.0 * np.log(x / p[0]))
            elif f == "halft":
                nu, sc = p
                const = (
                    special.gammaln(0.5 * (nu + 1.0))
                    - special.gammaln(0.5 * nu)
                    - 0.5 * math.log(nu * math.pi)
                    - math.log(sc)
                    + math.log(2.0)
                )
                z = 2.0 * np.log(x / sc) - math.log(nu)
                out = const - 0.5 * (nu + 1.0) * np.logaddexp(0.0, z)
            elif f == "exponential":
                out = math.log(p[0]) - p[0] * x
            elif self.lognormal_tau is not None:
                m, s = self._lognormal()
                lx = np.log(x)
                out = _norm_logpdf(lx, m, s) - lx
            elif self.logt_tau is not None:
                df, m, s = self._logt()
                lx = np.log(x)
                out = _t_logpdf(lx, df, m, s) - lx
            elif f == "invgamma":
                a, b = p
                out = a * math.log(b) - special.gammaln(a) - (a + 1.0) * np.log(x) - b / x
            elif f == "uniform":
                out = np.full_like(x, -math.log(p[1] - p[0]))
                out = np.where((x >= p[0]) & (x <= p[1]), out, -np.inf)
            elif f == "flat":
                out = np.zeros_like(x)
            elif f == "jeffreys":
                out = _jeffreys_logpdf(x, self._sei())
            else:  # pragma: no cover - families are validated at parse time
                raise AssertionError(f)
            out = np.where(x < 0, -np.inf, out)
            if self.lognormal_tau is not None or f == "invgamma":
                out = np.where(x == 0, -np.inf, out)
            elif self.logt_tau is not None:  # the log-t density of tau diverges (integrably) at 0
                out = np.where(x == 0, np.inf, out)
        return np.where(np.isnan(x), np.nan, out)

    def pdf(self, x: Any) -> np.ndarray:
        """Density at x, ``exp(logpdf(x))`` (unnormalised for improper priors)."""
        return np.exp(self.logpdf(x))

    def _require_proper(self, what: str) -> None:
        if not self.proper:
            raise InputError(f"the {self.text} prior is improper: it has no {what}")

    def cdf(self, x: Any) -> np.ndarray:
        """P(X <= x) (proper priors only; `InputError` for improper ones)."""
        self._require_proper("distribution function")
        x = np.asarray(x, dtype=float)
        f, p = self.family, self.params
        if self.kind == "mu":
            if f == "student":
                return special.stdtr(p[0], (x - p[1]) / p[2])
            return special.ndtr((x - p[0]) / p[1])
        xp = np.maximum(x, 0.0)
        with np.errstate(divide="ignore"):
            if f == "halfnormal":
                out = special.erf(xp / (p[0] * math.sqrt(2.0)))
            elif f == "halfcauchy":
                out = 2.0 / math.pi * np.arctan(xp / p[0])
            elif f == "halft":
                out = 2.0 * special.stdtr(p[0], xp / p[1]) - 1.0
            elif f == "exponential":
                out = -np.expm1(-p[0] * xp)
            elif self.lognormal_tau is not None:
                m, s = self._lognormal()
                out = special.ndtr((np.log(xp) - m) / s)
            elif self.logt_tau is not None:
                df, m, s = self._logt()
                out = special.stdtr(df, (np.log(xp) - m) / s)
            elif f == "invgamma":
                with np.errstate(divide="ignore", invalid="ignore"):
                    out = np.where(xp > 0, special.gammaincc(p[0], p[1] / xp), 0.0)
            elif f == "uniform":
                out = np.clip((x - p[0]) / (p[1] - p[0]), 0.0, 1.0)
            else:  # pragma: no cover
                raise AssertionError(f)
        return np.where(np.isnan(x), np.nan, np.where(x < 0, 0.0, out))

    def ppf(self, q: Any) -> np.ndarray:
        """Quantile function, the inverse of `cdf` (NaN outside [0, 1]; proper priors only)."""
        self._require_proper("quantile function")
        q = np.asarray(q, dtype=float)
        f, p = self.family, self.params
        if self.kind == "mu":
            if f == "student":
                return p[1] + p[2] * special.stdtrit(p[0], q)
            return p[0] + p[1] * special.ndtri(q)
        with np.errstate(divide="ignore", invalid="ignore"):
            if f == "halfnormal":
                out = p[0] * math.sqrt(2.0) * special.erfinv(q)
            elif f == "halfcauchy":
                out = p[0] * np.tan(0.5 * math.pi * q)
                out = np.where(q == 1, np.inf, out)
            elif f == "halft":
                out = p[1] * special.stdtrit(p[0], 0.5 * (1.0 + q))
            elif f == "exponential":
                out = -np.log1p(-q) / p[0]
            elif self.lognormal_tau is not None:
                m, s = self._lognormal()
                out = np.exp(m + s * special.ndtri(q))
            elif self.logt_tau is not None:
                df, m, s = self._logt()
                out = np.exp(m + s * special.stdtrit(df, q))
            elif f == "invgamma":
                out = p[1] / special.gammainccinv(p[0], q)
            elif f == "uniform":
                out = p[0] + q * (p[1] - p[0])
            else:  # pragma: no cover
                raise AssertionError(f)
        return np.where((q < 0) | (q > 1), np.nan, out)

    def rvs(self, size: int | tuple[int, ...] = 1, rng: Any = None) -> np.ndarray:
        """Random draws (inverse-CDF; ``rng`` is a seed or numpy Generator)."""
        self._require_proper("random draws")
        rng = np.random.default_rng(rng)
        if self.kind == "mu" and self.family == "normal":
            return rng.normal(self.params[0], self.params[1], size)
        return self.ppf(rng.uniform(0.0, 1.0, size))

    # ---- PyMC ------------------------------------------------------------------------
    def pymc_params(self) -> dict[str, float]:
        """The parameters of the PyMC distribution `to_pymc()` creates, by keyword
        (``{"sigma": s}`` for ``halfnormal(s)``; ``{}`` for ``flat``, ``jeffreys``)."""
        f, p = self.family, self.params
        if self.kind == "mu":
            if f == "student":
                return {"nu": p[0], "mu": p[1], "sigma": p[2]}
            return {"mu": p[0], "sigma": p[1]} if f == "normal" else {}
        if self.lognormal_tau is not None:
            m, s = self._lognormal()
            return {"mu": m, "sigma": s}
        if self.logt_tau is not None:
            df, m, s = self._logt()
            return {"nu": df, "mu": m, "sigma": s}
        if f == "invgamma":
            return {"alpha": p[0], "beta": p[1]}
        names = {"halfnormal": ("sigma",), "halfcauchy": ("beta",), "halft": ("nu", "sigma"),
                 "exponential": ("lam",), "uniform": ("lower", "upper")}.get(f, ())  # fmt: skip
        return {k: float(v) for k, v in zip(names, p, strict=True)}

    def to_pymc(self, name: str, *, params_as_data: str | None = None, **kw: Any) -> Any:
        """Create the PyMC variable ``name`` in the current model context.

        Standard families map to pm.HalfNormal(sigma), pm.HalfCauchy(beta),
        pm.HalfStudentT(nu, sigma), pm.Exponential(lam), pm.LogNormal(mu, sigma),
        pm.Uniform(lower, upper), pm.Normal(mu, sigma), pm.Flat / pm.HalfFlat; ``turner``
        is pm.LogNormal on tau; ``jeffreys`` and ``rhodes`` are pm.HalfFlat plus a
        pm.Potential named ``f"{name}_prior"`` holding the log density. ``kw`` (dims,
        shape, initval, ...) is passed to the variable. With ``params_as_data="tau_prior"``
        each parameter of `pymc_params()` enters as ``pm.Data("tau_prior_<keyword>")``
        (a compiled model then serves every prior of the family). PyMC is imported here only.
        """
        import pymc as pm
        import pytensor.tensor as pt

        f = self.family
        p: dict[str, Any] = self.pymc_params()
        if params_as_data is not None:
            p = {k: pm.Data(f"{params_as_data}_{k}", float(v)) for k, v in p.items()}
        if self.kind == "mu":
            if f == "normal":
                return pm.Normal(name, mu=p["mu"], sigma=p["sigma"], **kw)
            if f == "student":
                return pm.StudentT(name, nu=p["nu"], mu=p["mu"], sigma=p["sigma"], **kw)
            return pm.Flat(name, **kw)
        if f == "halfnormal":
            return pm.HalfNormal(name, sigma=p["sigma"], **kw)
        if f == "halfcauchy":
            return pm.HalfCauchy(name, beta=p["beta"], **kw)
        if f == "halft":
            return pm.HalfStudentT(name, nu=p["nu"], sigma=p["sigma"], **kw)
        if f == "exponential":
            return pm.Exponential(name, lam=p["lam"], **kw)
        if self.lognormal_tau is not None:
            return pm.LogNormal(name, mu=p["mu"], sigma=p["sigma"], **kw)
        if f == "invgamma":
            return pm.InverseGamma(name, alpha=p["alpha"], beta=p["beta"], **kw)
        if f == "uniform":
            return pm.Uniform(name, lower=p["lower"], upper=p["upper"], **kw)
        if f == "flat":
            return pm.HalfFlat(name, **kw)
        if f == "jeffreys":
            s2 = pt.as_tensor_variable(self._sei() ** 2)
            tau = pm.HalfFlat(name, **kw)
            t = pt.shape_padright(tau)
            logp = pt.log(tau) + 0.5 * pt.log(pt.sum((t**2 + s2) ** -2.0, axis=-1))
            pm.Potential(f"{name}_prior", pt.sum(logp))
            return tau
        if self.logt_tau is not None:
            tau = pm.HalfFlat(name, **kw)
            logtau = pt.log(tau)
            dist = pm.StudentT.dist(nu=p["nu"], mu=p["mu"], sigma=p["sigma"])
            logp = pm.logp(dist, logtau) - logtau
            pm.Potential(f"{name}_prior", pt.sum(logp))
            return tau
        raise AssertionError(f)  # pragma: no cover


def _jeffreys_logpdf(tau: np.ndarray, sei: np.ndarray) -> np.ndarray:
    """log sqrt(sum_i (tau/(s_i^2 + tau^2))^2), stable for tiny and huge tau."""
    t = np.asarray(tau, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        lt = np.log(t)
        logv = np.logaddexp(2.0 * lt[..., None], 2.0 * np.log(sei))
        out = lt + 0.5 * special.logsumexp(-2.0 * logv, axis=-1)
    return np.where(t > 0, out, np.where(t == 0, -np.inf, np.nan))


# --------------------------------------------------------------------------------------
# parsing
# --------------------------------------------------------------------------------------
_PATTERN = re.compile(r"^\s*([A-Za-z][A-Za-z0-9 _\-]*?)\s*(?:\((.*)\))?\s*$")


def _fail(kind: Kind, text: str, reason: str) -> InputError:
    forms = TAU_FORMS if kind == "tau" else MU_FORMS
    return InputError(f"invalid {kind} prior {text!r}: {reason}; valid forms: {forms}")


#: Prior parameters the quadrature and the samplers compute with in double precision (the
#: same range as the data's, `bayesmeta.studies.check_magnitudes`): locations and scales
#: within [-1e150, 1e150], scales at least 1e-75; lognormal's meanlog within [-150, 150].
_MAX_PARAM, _MIN_SCALE, _MAX_LOG = 1e150, 1e-75, 150.0


def _check_range(kind: Kind, text: str, family: str, params: tuple[float, ...]) -> None:
    if family in ("lognormal", "tau2lognormal", "tau2logt") and params:
        bound = _MAX_LOG if family == "lognormal" else 2 * _MAX_LOG  # tau^2: twice log(tau)
        if any(abs(v) > bound for v in params[-2:]):
            raise _fail(kind, text, f"the log-scale parameters must lie within +-{bound:g}")
        return
    if any(abs(v) > _MAX_PARAM for v in params):
        raise _fail(kind, text, f"parameters must lie within +-{_MAX_PARAM:g}; rescale the data")
    if family == "exponential" and params and params[0] > 1 / _MIN_SCALE:
        raise _fail(kind, text, f"rate must be <= {1 / _MIN_SCALE:g} (scale >= {_MIN_SCALE:g})")
    scale = {
        "halfnormal": 0,
        "halfcauchy": 0,
        "halft": 1,
        "normal": 1,
        "uniform": 1,
        "invgamma": 1,
        "student": 2,
    }
    j = scale.get(family)
    if j is not None and j < len(params) and params[j] < _MIN_SCALE:
        raise _fail(
            kind,
            text,
            f"scale {params[j]:g} is below {_MIN_SCALE:g}, too small to compute with; "
            "for tau = 0 use the fixed-effect model (bayesmeta pool --method FE)",
        )


def _norm_logpdf(x: Any, m: float, s: float) -> np.ndarray:
    """log N(x | m, s^2) (scipy.special only: scipy.stats costs 0.2 s to import)."""
    z = (np.asarray(x, dtype=float) - m) / s
    return np.asarray(-0.5 * z * z - math.log(s) - 0.5 * math.log(2.0 * math.pi))


def _t_logpdf(x: Any, df: float, m: float, s: float) -> np.ndarray:
    """log density of the Student-t with df degrees of freedom, location m and scale s."""
    z = (np.asarray(x, dtype=float) - m) / s
    const = (
        special.gammaln(0.5 * (df + 1.0))
        - special.gammaln(0.5 * df)
        - 0.5 * math.log(df * math.pi)
        - math.log(s)
    )
    return np.asarray(const - 0.5 * (df + 1.0) * np.log1p(z * z / df))


def _key(s: str) -> str:
    return re.sub(r"[\s_]+", "-", s.strip().lower())


def _turner(args: list[str], kind: Kind, text: str) -> Prior:
    if not args or (len(args) == 1 and _key(args[0]) in ("any", "marginal")):
        mu, sigma = TURNER_MARGINAL
        return Prior(
            "turner",
            (mu, sigma),
            "turner",
            kind,
            f"Turner et al. 2015 Stat Med 34:984, any outcome/comparison: "
            f"log(tau^2) ~ N({_fmt(mu)}, {_fmt(sigma)}^2), log-OR scale",
        )
    if len(args) != 2:
        raise _fail(kind, text, "turner takes (outcome, comparison)")
    outcome, comp = _key(args[0]), _key(args[1])
    if outcome not in TURNER_OUTCOMES:
        raise _fail(
            kind, text, f"unknown turner outcome {args[0]!r} (one of {', '.join(TURNER_OUTCOMES)})"
        )
    if comp not in TURNER_COMPARISONS:
        a, _, b = comp.partition("-vs-")
        if f"{b}-vs-{a}" in TURNER_COMPARISONS:
            comp = f"{b}-vs-{a}"
        else:
            raise _fail(
                kind,
                text,
                f"unknown turner comparison {args[1]!r} (one of {', '.join(TURNER_COMPARISONS)})",
            )
    i, j = TURNER_OUTCOMES.index(outcome), TURNER_COMPARISONS.index(comp)
    mu, sigma = float(_TURNER_MU[i, j]), float(_TURNER_SIGMA[i, j])
    return Prior(
        "turner",
        (mu, sigma),
        f"turner({outcome}, {comp})",
        kind,
        f"Turner et al. 2015 Stat Med 34:984 Table IV: "
        f"log(tau^2) ~ N({_fmt(mu)}, {_fmt(sigma)}^2), log-OR scale",
    )


def _rhodes(args: list[str], kind: Kind, text: str) -> Prior:
    if not args or (len(args) == 1 and _key(args[0]) in ("any", "marginal")):
        loc, scale = RHODES_MARGINAL
        return Prior(
            "rhodes",
            (loc, scale),
            "rhodes",
            kind,
            f"Rhodes et al. 2015 J Clin Epidemiol 68:52, general setting: "
            f"log(tau^2) ~ t5({_fmt(loc)}, {_fmt(scale)}), SMD scale",
        )
    if len(args) not in (2, 3):
        raise _fail(kind, text, "rhodes takes (outcome, comparison[, area])")
    outcome, comp = _key(args[0]), _key(args[1])
    area = _key(args[2]) if len(args) == 3 else "other"
    if outcome not in RHODES_OUTCOMES:
        raise _fail(
            kind, text, f"unknown rhodes outcome {args[0]!r} (one of {', '.join(RHODES_OUTCOMES)})"
        )
    aliases = {
        "placebo-vs-pharm": "pharm-vs-placebo",
        "nonpharm-vs-placebo": "nonpharm",
        "nonpharm-vs-pharm": "nonpharm",
        "pharm-vs-nonpharm": "nonpharm",
        "nonpharm-vs-nonpharm": "nonpharm",
        "placebo-vs-nonpharm": "nonpharm",
    }
    comp = aliases.get(comp, comp)
    if comp not in RHODES_COMPARISONS:
        raise _fail(
            kind,
            text,
            f"unknown rhodes comparison {args[1]!r} (one of {', '.join(RHODES_COMPARISONS)})",
        )
    if area not in RHODES_AREAS:
        raise _fail(
            kind, text, f"unknown rhodes area {args[2]!r} (one of {', '.join(RHODES_AREAS)})"
        )
    i, j = RHODES_OUTCOMES.index(outcome), RHODES_COMPARISONS.index(comp)
    loc, scale = float(_RHODES_LOCATION[area][i, j]), float(_RHODES_SCALE[area][i, j])
    table = {"other": "Table 3", "respiratory": "Table A.3.1", "cancer": "Table A.3.2"}[area]
    return Prior(
        "rhodes",
        (loc, scale),
        f"rhodes({outcome}, {comp}, {area})",
        kind,
        f"Rhodes et al. 2015 J Clin Epidemiol 68:52 {table}: "
        f"log(tau^2) ~ t5({_fmt(loc)}, {_fmt(scale)}), SMD scale",
    )


def parse_prior(text: str | Prior, kind: Kind) -> Prior:
    """Parse a prior string such as ``"halfnormal(0.5)"`` or ``"normal(0, 4)"``.

    ``kind`` is ``"tau"`` (heterogeneity SD) or ``"mu"`` (overall effect). Names are
    case-insensitive and ignore ``-``/``_``/spaces (``half-normal``, ``improper uniform``).
    Raises `bayesmeta.errors.InputError` with a one-line message listing the valid
    forms. A `Prior` is returned unchanged (after checking its kind). The forms are in the
    module docstring (`TAU_FORMS`, `MU_FORMS`); numbers print in their shortest form.

    Examples:
        >>> from bayesmeta.priors import parse_prior
        >>> parse_prior(" Half-Normal( 0.50 )", "tau").text
        'halfnormal(0.5)'
        >>> parse_prior("normal(0, -1)", "mu")
        Traceback (most recent call last):
        ...
        bayesmeta.errors.InputError: invalid mu prior 'normal(0, -1)': sd must be > 0; ...
    """
    if kind not in ("tau", "mu"):
        raise InputError(f"prior kind must be 'tau' or 'mu', not {kind!r}")
    if isinstance(text, Prior):
        if text.kind != kind:
            raise InputError(f"{text.text} is a {text.kind} prior, not a {kind} prior")
        return text
    if not isinstance(text, str):
        raise _fail(kind, str(text), "a prior must be given as text")
    m = _PATTERN.match(text)
    if not m:
        raise _fail(kind, text, "cannot read it")
    name = re.sub(r"[\s_\-]+", "", m.group(1).lower())
    family = _NAMES.get(name)
    allowed = _TAU_FAMILIES if kind == "tau" else _MU_FAMILIES
    if family is None:
        raise _fail(kind, text, f"unknown prior family {m.group(1).strip()!r}")
    if family not in allowed:
        raise _fail(kind, text, f"{family!r} is not a prior for {kind}")
    raw = m.group(2)
    args = [] if raw is None or raw.strip() == "" else [a.strip() for a in raw.split(",")]
    if family == "turner":
        return _turner(args, kind, text)
    if family == "rhodes":
        return _rhodes(args, kind, text)
    if family == "bartos":
        if len(args) < 2:
            raise _fail(kind, text, "bartos takes (subfield, type)")
        return bartos_prior(",".join(args[:-1]), args[-1], kind)
    n = _NPARAMS[family]
    if len(args) != n:
        if family == "uniform" and not args:
            raise _fail(
                kind,
                text,
                "uniform needs (lower, upper); use 'flat' for the improper uniform on tau >= 0",
            )
        raise _fail(kind, text, f"{_SIGNATURE[family]} takes {n} number(s), got {len(args)}")
    try:
        params = tuple(float(a) for a in args)
    except ValueError:
        raise _fail(kind, text, f"{_SIGNATURE[family]} needs numbers") from None
    if not all(math.isfinite(v) for v in params):
        raise _fail(kind, text, "parameters must be finite numbers")
    checks = {
        "halfnormal": (params[0] > 0 if params else True, "scale must be > 0"),
        "halfcauchy": (params[0] > 0 if params else True, "scale must be > 0"),
        "halft": (len(params) == 2 and params[0] > 0 and params[1] > 0, "nu and scale must be > 0"),
        "exponential": (params[0] > 0 if params else True, "rate must be > 0"),
        "lognormal": (len(params) == 2 and params[1] > 0, "sdlog must be > 0"),
        "uniform": (len(params) == 2 and 0 <= params[0] < params[1], "need 0 <= lower < upper"),
        "normal": (len(params) == 2 and params[1] > 0, "sd must be > 0"),
        "tau2lognormal": (len(params) == 2 and params[1] > 0, "sd must be > 0"),
        "tau2logt": (
            len(params) == 3 and params[0] > 0 and params[2] > 0,
            "nu and scale must be > 0",
        ),
        "invgamma": (
            len(params) == 2 and params[0] > 0 and params[1] > 0,
            "shape and scale must be > 0",
        ),
        "student": (
            len(params) == 3 and params[0] > 0 and params[2] > 0,
            "nu and scale must be > 0",
        ),
    }
    ok, reason = checks.get(family, (True, ""))
    if not ok:
        raise _fail(kind, text, reason)
    _check_range(kind, text, family, params)
    canon = family if n == 0 else f"{family}({', '.join(_fmt(v) for v in params)})"
    note = ""
    if family == "jeffreys":
        note = "data-dependent, improper: p(tau) ∝ sqrt(sum (tau/(s_i^2+tau^2))^2)"
    elif family == "flat":
        note = "improper uniform on tau >= 0" if kind == "tau" else "improper uniform"
    return Prior(family, params, canon, kind, note)


def bartos_prior(subfield: str, type_: str, kind: Kind = "tau") -> Prior:
    """Bartoš et al. (2021, 2023) prior of a Cochrane subfield and outcome type (``SMD``,
    ``logOR``, ``logRR``, ``RD``, ``logHR``): ``kind="tau"`` the heterogeneity prior
    (inverse-gamma; half-normal for RD), ``"mu"`` the effect prior (Student-t). The values of
    R RoBMA's ``prior_informed()`` (`bayesmeta.empirical.published`). Equals
    ``parse_prior("bartos(subfield, type)", kind)``.

    Examples:
        >>> from bayesmeta.priors import bartos_prior
        >>> p = bartos_prior("Oral Health", "SMD", "tau")
        >>> p.text, p.family, p.params
        ('bartos(oral-health, SMD)', 'invgamma', (1.79, 0.28))
    """
    from bayesmeta.empirical.published import bartos_spec

    text, name, note = bartos_spec(subfield, type_, kind)
    base = parse_prior(text, kind)
    return Prior(base.family, base.params, name, kind, note)


def learned_source(*priors: Prior) -> dict[str, str]:
    """``{"prior_source": ...}`` naming where learned empirical priors come from (the note of
    a prior read by `bayesmeta.empirical.learn.load_priors`), else ``{}``.

    Examples:
        >>> from dataclasses import replace
        >>> from bayesmeta.priors import learned_source, parse_prior
        >>> p = replace(parse_prior("tau2lognormal(-2, 1)", "tau"), note="learned: p.toml, x")
        >>> learned_source(parse_prior("flat", "mu"), p)
        {'prior_source': 'learned: p.toml, x'}
    """
    notes = list(dict.fromkeys(p.note for p in priors if p.note.startswith("learned:")))
    return {"prior_source": "; ".join(notes)} if notes else {}


def turner_prior(outcome: str | None = None, comparison: str | None = None) -> Prior:
    """Turner et al. (2015) prior for tau (log-OR scale); no arguments = marginal prior.

    ``log(tau^2) ~ N(mu, sigma^2)`` with (mu, sigma) from Table IV for the ``outcome`` (one
    of `TURNER_OUTCOMES`) and ``comparison`` (one of `TURNER_COMPARISONS`); the marginal
    prior is N(-2.56, 1.74^2). Equals ``parse_prior("turner(outcome, comparison)", "tau")``.

    The median of tau matches R bayesmeta 3.4
    `TurnerEtAlPrior("all-cause mortality", "pharmacological", "placebo / control")`,
    0.138761:

    Examples:
        >>> from bayesmeta.priors import turner_prior
        >>> p = turner_prior("all-cause-mortality", "pharm-vs-placebo")
        >>> p.params, round(float(p.ppf(0.5)), 6)
        ((-3.95, 1.34), 0.138761)
    """
    if outcome is None:
        return parse_prior("turner", "tau")
    return parse_prior(f"turner({outcome}, {comparison})", "tau")


def rhodes_prior(
    outcome: str | None = None, comparison: str | None = None, area: str = "other"
) -> Prior:
    """Rhodes et al. (2015) prior for tau (SMD scale); no arguments = general prior.

    ``log(tau^2) ~ t_5(location, scale)`` from Table 3 (``area="other"``, default) or
    Tables A.3.1 (``"respiratory"``) / A.3.2 (``"cancer"``), for the ``outcome`` (one of
    `RHODES_OUTCOMES`) and ``comparison`` (one of `RHODES_COMPARISONS`); the general prior
    is t_5(-3.44, 2.59).

    The median of tau matches R bayesmeta 3.4
    `RhodesEtAlPrior("obstetric outcome", "pharmacological", "placebo / control")`,
    0.126818:

    Examples:
        >>> from bayesmeta.priors import rhodes_prior
        >>> p = rhodes_prior("obstetric", "pharm-vs-placebo")
        >>> p.text, p.params, round(float(p.ppf(0.5)), 6)
        ('rhodes(obstetric, pharm-vs-placebo, other)', (-4.13, 2.34), 0.126818)
    """
    if outcome is None:
        return parse_prior("rhodes", "tau")
    return parse_prior(f"rhodes({outcome}, {comparison}, {area})", "tau")


__all__ = [
    "MU_FORMS",
    "RHODES_AREAS",
    "RHODES_COMPARISONS",
    "RHODES_OUTCOMES",
    "TAU_FORMS",
    "TURNER_COMPARISONS",
    "TURNER_OUTCOMES",
    "Prior",
    "bartos_prior",
    "learned_source",
    "parse_prior",
    "rhodes_prior",
    "turner_prior",
]

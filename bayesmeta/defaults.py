"""Default priors that respect the data's scale.

The rule (what ``posterior``, ``sensitivity``, `NormalNormal`, `BayesianMeta` and the CLI use
when no prior is given):

* **mu**: ``flat`` (improper uniform on the real line), as R bayesmeta's default. It has no
  scale, so it cannot be wrong for the units of the data.
* **tau**, by what the data say of their scale:

  1. a log-ratio measure (``OR``, ``RR``, ``HR``, ``IRR``, ``PETO``, ...): ``halfnormal(0.5)``.
     On the log-ratio scale tau = 1 is "extreme" heterogeneity (Spiegelhalter, Abrams &
     Myles 2004, sec. 5.7.3); HN(0.5) puts 95 % of its mass below 0.98 (Friede T, Roever C,
     Wandel S, Neuenschwander B (2017), Meta-analysis of few small studies in orphan
     diseases, Res Synth Methods 8:79-91; Roever et al. 2021, sec. 4).
  2. sample sizes known (an ``ni`` column, or group sizes of raw data): ``halfnormal(s)``
     with ``s = 0.5 * uisd``, the unit-information SD ``uisd = sqrt(sum(n_i) / sum(1/se_i^2))``
     (Roever C, Bender R, Dias S, Schmid CH, Schmidli H, Sturtz S, Weber S, Friede T (2021),
     On weakly informative prior distributions for the heterogeneity parameter in Bayesian
     random-effects meta-analysis, Res Synth Methods 12:448-474, sec. 2.3 and 5; R bayesmeta
     `uisd()`). Heterogeneity of the size of the within-study SD of one patient is then at
     the prior's 95th percentile.
  3. otherwise: ``halfcauchy(s)`` with ``s = sqrt(k / sum(1/se_i^2))``, the harmonic-mean
     standard error (the UISD when each study counts as one unit). Without sample sizes the
     unit is unknown, so the heavier Cauchy tail keeps a scale that is too small from holding
     tau down. Give an ``ni`` column (or ``--tau-prior``) to replace it.

Every scale above is proportional to the data's units, so multiplying every ``yi`` and
``se_i`` by c multiplies every posterior location and scale by c and leaves probabilities
unchanged (scale equivariance; tested for c = 0.01, 1, 100).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bayesmeta.errors import InputError

#: Measures on a log-ratio scale (unitless): the fixed log-ratio default applies.
LOG_RATIO_MEASURES = frozenset({"OR", "RR", "HR", "IRR", "PETO", "ROM", "LOR", "LRR", "LHR"})

CITATIONS = {
    "log-ratio": "Friede et al. 2017, Res Synth Methods 8:79-91; Roever et al. 2021, "
    "Res Synth Methods 12:448-474",
    "uisd": "Roever et al. 2021, Res Synth Methods 12:448-474",
    "se": "no sample sizes: an 'ni' column gives the unit-information rule",
}

HINT = "override with --mu-prior / --tau-prior (Python: mu_prior=, tau_prior=)"


def uisd(n: Sequence[float] | np.ndarray, sei: Sequence[float] | np.ndarray) -> float:
    """Unit-information SD ``sqrt(sum(n_i) / sum(se_i^-2))`` (R bayesmeta `uisd()`).

    Roever et al. (2021, Res Synth Methods 12:448-474), sec. 2.3.

    Examples:
        >>> from bayesmeta import datasets
        >>> from bayesmeta.defaults import uisd
        >>> d = datasets.load("rubin1981")
        >>> round(uisd(d["n"], d["stderr"]), 6)  # R bayesmeta: uisd(n, sigma = stderr)
        98.487508
    """
    n_arr = np.asarray(n, dtype=float)
    s = np.asarray(sei, dtype=float)
    if n_arr.shape != s.shape or n_arr.size == 0:
        raise InputError("uisd needs one sample size per standard error")
    if not (np.all(np.isfinite(n_arr)) and np.all(n_arr > 0)):
        raise InputError("sample sizes must be finite and > 0", column="ni")
    # sum(1/s^2) computed as sum((1/s)^2) scaled, so huge or tiny s do not overflow
    smin = float(np.min(s))
    ratio = smin / s
    return float(math.sqrt(float(np.sum(n_arr)) / float(np.sum(ratio**2))) * smin)


def harmonic_se(sei: Sequence[float] | np.ndarray) -> float:
    """``sqrt(k / sum(se_i^-2))``: the standard error of a typical study (harmonic mean of vi).

    Examples:
        >>> from bayesmeta.defaults import harmonic_se
        >>> round(harmonic_se([1.0, 2.0, 2.0]), 6)
        1.414214
    """
    s = np.asarray(sei, dtype=float)
    smin = float(np.min(s))
    return float(math.sqrt(s.size / float(np.sum((smin / s) ** 2))) * smin)


def _exact(x: float) -> str:
    """The shortest text that reads back as the same float (no rounding of the scale)."""
    return repr(float(x))


def _num(x: float) -> str:
    """Six significant digits, the shortest text (what the prior string shows)."""
    return f"{x:.6g}"


@dataclass(frozen=True)
class DefaultPriors:
    """The default priors for one data set: ``mu`` and ``tau`` as prior strings.

    ``rule`` names which branch of the module's rule applied (``log-ratio``, ``uisd`` or
    ``se``), ``citation`` its source and ``scale`` the data scale it used (None for log
    ratios).
    """

    mu: str
    tau: str
    rule: str
    citation: str
    scale: float | None = None

    def rule_text(self) -> str:
        """Which rule gave the tau scale, and its source."""
        what = {
            "log-ratio": "log-ratio measure",
            "uisd": f"scale 0.5 x unit-information SD {_num(self.scale or 0.0)}",
            "se": f"scale = harmonic-mean SE {_num(self.scale or 0.0)}",
        }[self.rule]
        return f"{what}; {self.citation}"

    def describe(self) -> str:
        """One line: the priors, the rule and its source."""
        return f"mu ~ {self.mu}, tau ~ {self.tau} ({self.rule_text()})"


def default_priors(
    sei: Sequence[float] | np.ndarray,
    *,
    n: Sequence[float] | np.ndarray | None = None,
    measure: str | None = None,
) -> DefaultPriors:
    """The default mu and tau priors for studies with standard errors ``sei``.

    ``n`` (sample size per study, optional) selects the unit-information rule; ``measure``
    (optional) the log-ratio rule. See the module docstring for the rule and its references.

    Examples:
        >>> from bayesmeta.defaults import default_priors
        >>> default_priors([0.3, 0.5], measure="OR").tau
        'halfnormal(0.5)'
        >>> d = default_priors([14.9, 10.2], n=[50, 79])
        >>> d.mu, d.rule, round(d.scale, 4)
        ('flat', 'uisd', 95.5959)
        >>> print(default_priors([1.0, 2.0, 2.0]).describe()[:48])
        mu ~ flat, tau ~ halfcauchy(1.4142135623730951)
    """
    s = np.asarray(sei, dtype=float)
    if s.size == 0 or not np.all(np.isfinite(s)) or not np.all(s > 0):
        raise InputError("default priors need finite standard errors > 0")
    key = None if measure is None else str(measure).strip().upper()
    if key in LOG_RATIO_MEASURES:
        return DefaultPriors("flat", "halfnormal(0.5)", "log-ratio", CITATIONS["log-ratio"])
    if n is not None:
        u = uisd(n, s)
        return DefaultPriors(
            "flat", f"halfnormal({_exact(0.5 * u)})", "uisd", CITATIONS["uisd"], scale=u
        )
    h = harmonic_se(s)
    return DefaultPriors("flat", f"halfcauchy({_exact(h)})", "se", CITATIONS["se"], scale=h)


def resolve_priors[P](
    mu_prior: P | None,
    tau_prior: P | None,
    sei: Sequence[float] | np.ndarray,
    *,
    n: Sequence[float] | np.ndarray | None = None,
    measure: str | None = None,
) -> tuple[P | str, P | str, str | None]:
    """``(mu_prior, tau_prior, note)``: each prior given, or its default where it is None.

    ``note`` is None when both priors were given, else one line for the printed settings:
    which priors are defaults, the rule (`DefaultPriors.describe`) and how to override.

    Examples:
        >>> from bayesmeta.defaults import resolve_priors
        >>> mu, tau, note = resolve_priors(None, "halfnormal(1)", [0.2, 0.3], measure="OR")
        >>> mu, tau, note.split(";")[0]
        ('flat', 'halfnormal(1)', 'mu ~ flat by default (log-ratio measure')
    """
    if mu_prior is not None and tau_prior is not None:
        return mu_prior, tau_prior, None
    d = default_priors(sei, n=n, measure=measure)
    which = []
    mu: P | str = d.mu if mu_prior is None else mu_prior
    tau: P | str = d.tau if tau_prior is None else tau_prior
    if mu_prior is None:
        which.append(f"mu ~ {d.mu}")
    if tau_prior is None:
        which.append(f"tau ~ {d.tau}")
    return mu, tau, f"{' and '.join(which)} by default ({d.rule_text()}); {HINT}"

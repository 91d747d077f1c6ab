"""Bayesian model averaging over fixed vs random effects x effect vs no effect, each model by
its exact marginal likelihood (the RoBMA / metaBMA idea without sampling).

Models (``y_i ~ N(theta_i, s_i^2)``):

* ``fixed, no effect``: mu = 0, tau = 0; ``p(y) = prod N(y_i | 0, s_i^2)``;
* ``fixed, effect``: tau = 0, mu ~ N(m0, s0^2); closed form (Sherman-Morrison);
* ``random, no effect``: mu = 0, tau ~ its prior; one integral over tau (the exact engine);
* ``random, effect``: mu ~ N(m0, s0^2), tau ~ its prior; `NormalNormal.log_marginal_likelihood`.

Posterior model probabilities follow from the prior ones (default 1/4 each); the inclusion
Bayes factors for the effect and for heterogeneity are posterior odds over prior odds of the
models with vs without it; the model-averaged posterior of mu given an effect mixes the two
effect models' posteriors by their probabilities, and P(mu = 0) is the no-effect models'.
Both priors must be proper: the default mu prior is N(0, 1) on a log-ratio measure, else
N(0, UISD) with the unit-information SD when sample sizes are known (a unit-information prior,
Kass & Wasserman 1995, JASA 90:928-934), else N(0, 10 x harmonic-mean SE); tau's default is
the package rule (`bayesmeta.defaults`).

Checked against R bayesmeta 3.4's marginal likelihood and Bayes factors for tau = 0 and
mu = 0 (tests/exact/test_averaging.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from bayesmeta.errors import InputError

MODELS = ("fixed, no effect", "fixed, effect", "random, no effect", "random, effect")


@dataclass
class ModelAverage:
    """The result of `model_average` (module docstring).

    ``table`` has one row per model: prior and posterior probability, log marginal
    likelihood, and the posterior median and interval of mu (NaN for no-effect models).

    Examples:
        >>> from bayesmeta.exact.averaging import model_average
        >>> ma = model_average([0.1, 0.3, 0.5], [0.1, 0.2, 0.15], mu_prior="normal(0, 1)",
        ...                    tau_prior="halfnormal(0.5)")
        >>> list(ma.table["model"]), round(float(ma.table["posterior"].sum()), 12)
        (['fixed, no effect', 'fixed, effect', 'random, no effect', 'random, effect'], 1.0)
    """

    table: pd.DataFrame
    bf_effect: float
    bf_heterogeneity: float
    p_effect: float
    mu_mean: float
    mu_ci: tuple[float, float]
    mu_prior: str
    tau_prior: str
    level: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (``bma`` in ``bayesmeta bias --json``)."""

        def clean(v: Any) -> Any:
            return None if isinstance(v, float) and not math.isfinite(v) else v

        return {
            "models": [{k: clean(v) for k, v in r.items()} for r in self.table.to_dict("records")],
            "bf_effect": self.bf_effect,
            "bf_heterogeneity": self.bf_heterogeneity,
            "p_effect": self.p_effect,
            "mu_mean_given_effect": self.mu_mean,
            "mu_ci_given_effect": list(self.mu_ci),
            "mu_prior": self.mu_prior,
            "tau_prior": self.tau_prior,
        }

    def __str__(self) -> str:
        pct = f"{100 * self.level:g}%"
        lines = [
            f"Bayesian model averaging (mu ~ {self.mu_prior}, tau ~ {self.tau_prior})",
            "",
            f"  {'model':<20} {'prior':>6} {'posterior':>10} {'log p(y)':>10}",
        ]
        for r in self.table.itertuples():
            lines.append(
                f"  {r.model:<20} {r.prior:6.3f} {r.posterior:10.4f} {r.log_marginal:10.3f}"
            )
        lines += [
            "",
            f"  inclusion BF for an effect: {self.bf_effect:.4g}; "
            f"for heterogeneity: {self.bf_heterogeneity:.4g}",
            f"  P(effect | y) = {self.p_effect:.4f}; mu given an effect: mean "
            f"{self.mu_mean:.4g}, {pct} interval [{self.mu_ci[0]:.4g}, {self.mu_ci[1]:.4g}]",
        ]
        return "\n".join(lines)


def default_mu_sd(sei: Any, n: Any = None, measure: str | None = None) -> float:
    """The SD of `default_mu_prior`, to the 6 significant digits its text prints.

    Examples:
        >>> from bayesmeta.exact.averaging import default_mu_sd
        >>> default_mu_sd([0.2, 0.3], measure="OR"), default_mu_sd([0.2, 0.3])
        (1.0, 2.35339)
    """
    from bayesmeta.defaults import LOG_RATIO_MEASURES, harmonic_se, uisd

    if measure is not None and str(measure).upper() in LOG_RATIO_MEASURES:
        return 1.0
    s = np.asarray(sei, dtype=float)
    sd = uisd(n, s) if n is not None else 10 * harmonic_se(s)
    return float(f"{sd:.6g}")


def default_mu_prior(sei: np.ndarray, n: Any = None, measure: str | None = None) -> str:
    """The proper default mu prior of the model averaging (module docstring).

    Examples:
        >>> from bayesmeta.exact.averaging import default_mu_prior
        >>> default_mu_prior([0.2, 0.3], measure="OR")
        'normal(0, 1)'
    """
    return f"normal(0, {default_mu_sd(sei, n, measure):.6g})"


def _log_fixed(y: np.ndarray, s2: np.ndarray, m0: float, v0: float) -> float:
    """log p(y) for y ~ N(mu 1, diag(s2)), mu ~ N(m0, v0), mu integrated out."""
    w = 1.0 / s2
    d = y - m0
    sw = float(w.sum())
    a = 1.0 + v0 * sw
    quad = float(np.sum(w * d * d)) - v0 * float(np.sum(w * d)) ** 2 / a
    return -0.5 * (y.size * math.log(2 * math.pi) + float(np.sum(np.log(s2))) + math.log(a) + quad)


def model_average(
    yi: Any,
    sei: Any,
    *,
    mu_prior: str | None = None,
    tau_prior: str | None = None,
    prior_probs: tuple[float, float, float, float] = (0.25, 0.25, 0.25, 0.25),
    n: Any = None,
    measure: str | None = None,
    level: float = 0.95,
) -> ModelAverage:
    """Average the four models of the module docstring by their exact marginal likelihoods.

    Same as R bayesmeta 3.4 on three studies (mu ~ N(0, 1), tau ~ half-normal(0.5)):
    marginal likelihood 0.154452, Bayes factors tau = 0: 0.817984, mu = 0: 1.240286:

    Examples:
        >>> import math
        >>> from bayesmeta.exact.averaging import model_average
        >>> ma = model_average([0.1, 0.3, 0.5], [0.1, 0.2, 0.15], mu_prior="normal(0, 1)",
        ...                    tau_prior="halfnormal(0.5)")
        >>> lm = ma.table.set_index("model")["log_marginal"]
        >>> round(math.exp(lm["random, effect"]), 6)
        0.154452
        >>> round(math.exp(lm["fixed, effect"] - lm["random, effect"]), 6)
        0.817984
    """
    from bayesmeta.exact.normal_normal import NormalNormal, validate_data
    from bayesmeta.priors import parse_prior

    y, s, _ = validate_data(yi, sei)
    mu_text = mu_prior or default_mu_prior(s, n=n, measure=measure)
    mu_p = parse_prior(mu_text, "mu")
    if mu_p.family != "normal":
        raise InputError(f"model averaging needs a proper normal mu prior, not {mu_p.text}")
    probs = np.asarray(prior_probs, dtype=float)
    if probs.shape != (4,) or np.any(probs < 0) or probs.sum() <= 0:
        raise InputError("prior_probs: four non-negative model probabilities, not all 0")
    probs = probs / probs.sum()
    fit = NormalNormal(y, s, tau_prior=tau_prior, mu_prior=mu_text, n=n, measure=measure)
    if not fit.tau_prior.proper:
        raise InputError(f"model averaging needs a proper tau prior, not {fit.tau_prior.text}")
    m0, s0 = mu_p.params
    s2 = s**2
    logm = np.array([
        float(np.sum(-0.5 * (math.log(2 * math.pi) + np.log(s2) + y**2 / s2))),
        _log_fixed(y, s2, m0, s0**2),
        fit._log_lik_mu(0.0),
        fit.log_marginal_likelihood,
    ])  # fmt: skip
    with np.errstate(divide="ignore"):
        lp = np.log(probs) + logm
    post = np.exp(lp - special.logsumexp(lp))
    # posteriors of mu given each effect model
    w = 1.0 / s2
    v_fix = 1.0 / (w.sum() + 1.0 / s0**2)
    m_fix = v_fix * (float(np.sum(w * y)) + m0 / s0**2)
    z = float(-special.ndtri((1 - level) / 2))
    lo_r, hi_r = fit.mu.interval(level)
    rows = []
    for j, name in enumerate(MODELS):
        med = lo = hi = math.nan
        if name == "fixed, effect":
            med, lo, hi = m_fix, m_fix - z * math.sqrt(v_fix), m_fix + z * math.sqrt(v_fix)
        elif name == "random, effect":
            med, lo, hi = fit.mu.median, float(lo_r), float(hi_r)
        rows.append({"model": name, "prior": float(probs[j]), "posterior": float(post[j]),
                     "log_marginal": float(logm[j]), "mu_median": med, "mu_ci_low": lo,
                     "mu_ci_high": hi})  # fmt: skip
    table = pd.DataFrame(rows)

    def bf(yes: list[int], no: list[int]) -> float:
        prior_odds = probs[yes].sum() / probs[no].sum() if probs[no].sum() > 0 else math.inf
        post_odds = post[yes].sum() / post[no].sum() if post[no].sum() > 0 else math.inf
        return float(post_odds / prior_odds) if prior_odds > 0 else math.nan

    p_eff = float(post[1] + post[3])
    wf, wr = (post[1] / p_eff, post[3] / p_eff) if p_eff > 0 else (0.5, 0.5)
    mean = wf * m_fix + wr * fit.mu.mean

    def cdf(x: float) -> float:
        return float(wf * special.ndtr((x - m_fix) / math.sqrt(v_fix)) + wr * fit.mu.cdf(x))

    from scipy import optimize

    span = 20 * (math.sqrt(v_fix) + fit.mu.sd)
    a, b = min(m_fix, fit.mu.median) - span, max(m_fix, fit.mu.median) + span
    q = [optimize.brentq(lambda x, p=p: cdf(x) - p, a, b, xtol=1e-12) for p in
         ((1 - level) / 2, (1 + level) / 2)]  # fmt: skip
    return ModelAverage(
        table, bf([1, 3], [0, 2]), bf([2, 3], [0, 1]), p_eff, float(mean), (q[0], q[1]),
        mu_p.text, fit.tau_prior.text, level,
    )  # fmt: skip

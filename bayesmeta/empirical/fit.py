"""Posterior of the hyperparameters of a corpus of meta-analyses, and the predictive priors.

Model (Turner et al. 2015): u_j = log(tau_j^2) ~ N(m, s^2) (or t_nu(m, s), Rhodes et al.
2015), mu_j ~ N(a, b^2), each analysis entering by its exact marginal likelihood
(`bayesmeta.empirical.likelihood`). The four hyperparameters theta = (m, log s, a, log b)
have the scale-safe priors of `HyperPriors`; their posterior is computed by importance
sampling from a multivariate t_5 centred at the posterior mode with the inverse Hessian as
scale (x 1.2^2), Pareto-smoothed (PSIS; Vehtari, Simpson, Gelman, Yao, Gabry 2024, JMLR
25(72)); while k > 0.7 the proposal is re-centred and re-scaled on the weighted draws (up
to `ADAPT` times). The Pareto k and the effective sample size are reported; k > 0.7 at the
end is a warning. In
four dimensions, with every analysis integrated exactly, this replaces MCMC; it is checked by
recovery of known hyperparameters and by simulation-based calibration.

The **predictive prior for a new analysis** integrates the hyperparameters out, as Turner
et al. did: log(tau_new^2) has the mixture density sum_d w_d N(m_d, s_d^2), reported as one
``tau2lognormal(M, S)`` (``tau2logt(nu, M, S)``) with M = E[m] and S^2 = E[s^2] + Var[m]
(the mixture's mean and variance); mu_new ~ ``normal(E[a], sqrt(E[b^2] + Var[a]))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special

from bayesmeta.empirical.likelihood import AnalysisTables, Cells, cell_logprob
from bayesmeta.errors import ConvergenceError, InputError

PARAMS = ("m", "s", "a", "b")
#: Pareto k above which importance sampling is not trusted (Vehtari et al. 2024).
K_THRESHOLD = 0.7


@dataclass(frozen=True)
class HyperPriors:
    """Priors of the hyperparameters, scaled by the data (multiplying every y by c shifts m by
    2 log c and multiplies a and b by c; nothing else changes):

    * m ~ N(log(v_med), 4^2): centred where tau equals a typical within-study SE (v_med, the
      median within-study variance), +-2 SD spanning tau from 0.02 to 55 times that SE;
    * s ~ half-normal(2): Turner's and Rhodes's fitted s lie between 1 and 2.6;
    * a ~ N(0, A^2), b ~ half-normal(A) with A = 10 x max(sqrt(v_med), SD of the analyses'
      fixed-effect estimates).

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.empirical.fit import HyperPriors
        >>> hp = HyperPriors.default([np.array([0.1, 0.5])], [np.array([0.04, 0.04])])
        >>> print(hp.describe())
        m ~ N(-3.219, 4^2), s ~ half-normal(2), a ~ N(0, 2^2), b ~ half-normal(2)
    """

    m_mean: float
    m_sd: float = 4.0
    s_scale: float = 2.0
    a_sd: float = 1.0
    b_scale: float = 1.0

    @classmethod
    def default(cls, yi: Any, vi: Any) -> HyperPriors:
        v = np.concatenate([np.asarray(x, dtype=float) for x in vi])
        v_med = float(np.median(v))
        fe = np.array([np.sum(np.asarray(y) / np.asarray(w)) / np.sum(1.0 / np.asarray(w))
                       for y, w in zip(yi, vi, strict=True)])  # fmt: skip
        spread = float(np.std(fe)) if fe.size > 1 else 0.0
        scale = 10.0 * max(math.sqrt(v_med), spread)
        return cls(m_mean=math.log(v_med), a_sd=scale, b_scale=scale)

    def describe(self) -> str:
        return (f"m ~ N({self.m_mean:.4g}, {self.m_sd:.4g}^2), "
                f"s ~ half-normal({self.s_scale:.4g}), a ~ N(0, {self.a_sd:.4g}^2), "
                f"b ~ half-normal({self.b_scale:.4g})")  # fmt: skip

    def logpdf(self, theta: np.ndarray) -> np.ndarray:
        """log prior density of theta = (m, log s, a, log b), rows of (D, 4), Jacobian included."""
        m, ls, a, lb = theta.T
        out = -0.5 * ((m - self.m_mean) / self.m_sd) ** 2 - math.log(self.m_sd)
        out = out - 0.5 * (np.exp(ls) / self.s_scale) ** 2 + ls - math.log(self.s_scale)
        out = out - 0.5 * (a / self.a_sd) ** 2 - math.log(self.a_sd)
        out = out - 0.5 * (np.exp(lb) / self.b_scale) ** 2 + lb - math.log(self.b_scale)
        return out + 2.0 * math.log(2.0) - 2.0 * math.log(2.0 * math.pi)


def _natural(theta: np.ndarray) -> np.ndarray:
    t = np.array(theta, dtype=float, ndmin=2)
    return np.column_stack([t[:, 0], np.exp(t[:, 1]), t[:, 2], np.exp(t[:, 3])])


def log_posterior(tables: AnalysisTables, hp: HyperPriors, theta: np.ndarray,
                  nu: float | None = None) -> np.ndarray:  # fmt: skip
    """Unnormalised log posterior of theta = (m, log s, a, log b), rows of (D, 4).

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.empirical.fit import HyperPriors, log_posterior
        >>> from bayesmeta.empirical.likelihood import AnalysisTables
        >>> t = AnalysisTables([np.array([0.1, 0.4])], [np.array([0.04, 0.05])])
        >>> log_posterior(t, HyperPriors(m_mean=-3.0), np.array([[-3.0, 0.0, 0.2, -1.0]])).shape
        (1,)
    """
    t = np.array(theta, dtype=float, ndmin=2)
    nat = _natural(t)
    with np.errstate(over="ignore", invalid="ignore"):
        ll = tables.log_marginal(nat[:, 0], nat[:, 1], nat[:, 2], nat[:, 3], nu).sum(axis=1)
    out = ll + hp.logpdf(t)
    return np.where(np.isfinite(out), out, -np.inf)


def _hessian(f: Any, x: np.ndarray, h: float = 1e-3) -> np.ndarray:
    d = x.size
    H = np.empty((d, d))
    f0 = f(x)
    for i in range(d):
        ei = np.zeros(d)
        ei[i] = h
        H[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / h**2
        for j in range(i):
            ej = np.zeros(d)
            ej[j] = h
            H[i, j] = H[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej)
                                 + f(x - ei - ej)) / (4 * h * h)  # fmt: skip
    return H


@dataclass
class HyperFit:
    """Weighted draws of the hyperparameters (m, s, a, b) and what they imply.

    ``draws`` (D, 4) in (m, s, a, b); ``weights`` (D,) sum to 1; ``pareto_k`` and ``ess``
    diagnose the importance sampling; ``nu`` is None for the log-normal tau model.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.empirical.fit import HyperFit, HyperPriors
        >>> f = HyperFit(np.array([[-2.0, 1.0, 0.0, 0.2], [-1.0, 1.0, 0.2, 0.2]]),
        ...              np.array([0.5, 0.5]), np.zeros(4), 0.1, 2.0, None, 10, 50,
        ...              HyperPriors(m_mean=-2.0))
        >>> f.tau_prior_text(), f.mu_prior_text()
        ('tau2lognormal(-1.5, 1.118)', 'normal(0.1, 0.2236)')
    """

    draws: np.ndarray
    weights: np.ndarray
    mode: np.ndarray
    pareto_k: float
    ess: float
    nu: float | None
    n_analyses: int
    n_studies: int
    hyperpriors: HyperPriors
    warnings: list[str] = field(default_factory=list)

    def _stats(self, x: np.ndarray) -> dict[str, float]:
        w = self.weights
        mean = float(np.sum(w * x))
        sd = float(math.sqrt(max(np.sum(w * (x - mean) ** 2), 0.0)))
        order = np.argsort(x)
        cw = np.cumsum(w[order])
        idx = [min(int(np.searchsorted(cw, p)), x.size - 1) for p in (0.025, 0.5, 0.975)]
        q = [float(x[order][i]) for i in idx]
        return {"mean": mean, "sd": sd, "q2.5": q[0], "median": q[1], "q97.5": q[2]}

    @property
    def summary(self) -> pd.DataFrame:
        """Posterior mean, SD, median and 95 % interval of m, s, a, b."""
        return pd.DataFrame({p: self._stats(self.draws[:, i]) for i, p in enumerate(PARAMS)}).T

    def predictive_log_tau2(self) -> tuple[float, float]:
        """(M, S): mean and SD of log(tau_new^2) under the predictive mixture."""
        w, m, s = self.weights, self.draws[:, 0], self.draws[:, 1]
        M = float(np.sum(w * m))
        scale2 = s**2 if self.nu is None else s**2 * (self.nu / (self.nu - 2) if self.nu > 2 else 1)
        var = float(np.sum(w * (scale2 + (m - M) ** 2)))
        if self.nu is not None and self.nu > 2:
            var *= (self.nu - 2) / self.nu  # back to the t scale
        return M, math.sqrt(var)

    def predictive_mu(self) -> tuple[float, float]:
        """(mean, SD) of mu_new = E[a], sqrt(E[b^2] + Var[a])."""
        w, a, b = self.weights, self.draws[:, 2], self.draws[:, 3]
        A = float(np.sum(w * a))
        return A, math.sqrt(float(np.sum(w * (b**2 + (a - A) ** 2))))

    def tau_prior_text(self) -> str:
        M, S = self.predictive_log_tau2()
        if self.nu is None:
            return f"tau2lognormal({M:.4g}, {S:.4g})"
        return f"tau2logt({self.nu:g}, {M:.4g}, {S:.4g})"

    def mu_prior_text(self) -> str:
        A, B = self.predictive_mu()
        return f"normal({A:.4g}, {B:.4g})"

    def cell_prob(self, cells: Cells) -> np.ndarray:
        """The predictive mixture's probability of each cell of log(tau^2)."""
        lw = cell_logprob(cells.edges, self.draws[:, 0], self.draws[:, 1], self.nu)
        return np.asarray(self.weights @ np.exp(lw))

    def tau_cdf(self, tau: Any) -> np.ndarray:
        """CDF of tau_new under the predictive mixture (hyperparameters integrated out)."""
        t = np.asarray(tau, dtype=float)
        with np.errstate(divide="ignore"):
            z = (2.0 * np.log(t)[..., None] - self.draws[:, 0]) / self.draws[:, 1]
        F = special.ndtr(z) if self.nu is None else special.stdtr(self.nu, z)
        return np.asarray(F @ self.weights)

    def log_predictive(self, tables: AnalysisTables) -> np.ndarray:
        """log p(y_j | corpus) of new analyses (tau and mu integrated): shape (J,)."""
        d = self.draws
        lm = tables.log_marginal(d[:, 0], d[:, 1], d[:, 2], d[:, 3], self.nu)  # (D, J)
        with np.errstate(divide="ignore"):
            return np.asarray(special.logsumexp(lm + np.log(self.weights)[:, None], axis=0))


#: Proposal adaptations at most (each a fresh set of draws) while Pareto k > K_THRESHOLD.
ADAPT = 4


def _importance(tables: AnalysisTables, hp: HyperPriors, nu: float | None, centre: np.ndarray,
                scale: np.ndarray, draws: int, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray, float]:  # fmt: skip
    """Draws from a multivariate t_5 proposal, their PSIS-smoothed normalised weights and k."""
    from arviz_stats.base import array_stats

    dim, df = 4, 5.0
    L = np.linalg.cholesky(scale)
    z = rng.standard_normal((draws, dim))
    g = rng.chisquare(df, draws) / df
    theta = centre + (z @ L.T) / np.sqrt(g)[:, None]
    r = np.linalg.solve(L, (theta - centre).T)
    logq = -0.5 * (df + dim) * np.log1p(np.sum(r**2, axis=0) / df)  # up to a constant
    logp = np.concatenate([log_posterior(tables, hp, theta[i:i + 250], nu)
                           for i in range(0, draws, 250)])  # fmt: skip
    lw = logp - logq
    ok = np.isfinite(lw)
    if ok.sum() < draws // 2:
        raise ConvergenceError("importance sampling failed: most draws have zero posterior")
    lw_f = np.where(ok, lw, np.min(lw[ok]) - 50.0)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        slw, k = array_stats.psislw(-(lw_f - lw_f.max()))
    slw = np.where(ok, np.asarray(slw, dtype=float), -np.inf)
    return theta, np.exp(slw - special.logsumexp(slw)), float(k)


def fit_hyper(
    tables: AnalysisTables,
    hyperpriors: HyperPriors,
    *,
    nu: float | None = None,
    draws: int = 2000,
    seed: int = 20201,
) -> HyperFit:
    """Posterior of (m, s, a, b) for the analyses in ``tables`` (module docstring).

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.empirical.fit import HyperPriors, fit_hyper
        >>> from bayesmeta.empirical.likelihood import AnalysisTables
        >>> rng = np.random.default_rng(1)
        >>> tau = np.exp(rng.normal(-2.0, 0.8, 40) / 2)
        >>> y = [rng.normal(rng.normal(0.2, 0.1), np.sqrt(0.02 + t**2), 6) for t in tau]
        >>> v = [np.full(6, 0.02) for _ in y]
        >>> fit = fit_hyper(AnalysisTables(y, v), HyperPriors.default(y, v), draws=500)
        >>> bool(fit.pareto_k < 0.7), fit.summary.loc["m", "mean"].round(1)
        (True, np.float64(-2.3))
    """
    if draws < 100:
        raise InputError(f"draws must be at least 100 (got {draws})")

    def nlp(x: np.ndarray) -> float:
        v = float(log_posterior(tables, hyperpriors, x, nu)[0])
        return -v if math.isfinite(v) else 1e300

    a0 = float(np.median(tables.mu_hat[:, tables.mu_hat.shape[1] // 2]))
    start = np.array([hyperpriors.m_mean - 1.0, math.log(1.5), a0,
                      math.log(0.1 * hyperpriors.b_scale)])  # fmt: skip
    res = optimize.minimize(nlp, start, method="BFGS", options={"gtol": 1e-5, "maxiter": 500})
    mode = res.x
    H = _hessian(nlp, mode)
    try:
        cov = np.linalg.inv(H)
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ConvergenceError(
            f"the hyperparameter posterior has no proper mode after {res.nit} iterations "
            f"({res.message}); too few or too uninformative analyses?"
        ) from None
    rng = np.random.default_rng(seed)
    centre, scale = mode, cov * 1.2**2
    for _ in range(ADAPT):
        theta, w, k = _importance(tables, hyperpriors, nu, centre, scale, draws, rng)
        if k <= K_THRESHOLD:
            break
        # adapt the proposal to the weighted draws (adaptive importance sampling)
        centre = w @ theta
        scale = np.cov(theta.T, aweights=w) * 1.2**2 + 1e-9 * np.eye(4)
    ess = float(1.0 / np.sum(w**2))
    warn = []
    if not res.success and res.status != 2:  # status 2: precision loss at the optimum is benign
        warn.append(f"mode search stopped: {res.message}")
    if k > K_THRESHOLD:
        warn.append(f"Pareto k = {k:.2f} > {K_THRESHOLD}: the importance weights are unreliable")
    return HyperFit(_natural(theta), w, _natural(mode)[0], k, ess, nu, tables.n_analyses,
                    tables.n_studies, hyperpriors, warn)  # fmt: skip


__all__ = ["PARAMS", "HyperFit", "HyperPriors", "fit_hyper", "log_posterior"]

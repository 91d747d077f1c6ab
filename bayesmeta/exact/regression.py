"""Common-tau normal-normal meta-regression, computed exactly (1-D quadrature over tau).

Model (cf. R bayesmeta's ``bmr()``; Roever & Friede 2022, Res Synth Methods 13(4)):

    y ~ N(X beta, V(tau)),  V(tau) = diag(s_i^2 + tau^2),
    beta ~ N(b0, S0) or flat,  tau ~ p(tau).

Given tau, with W = V^-1 (and S0^-1 = 0, b0 = 0 for a flat prior):

    A(tau) = X'WX + S0^-1,   beta_hat = A^-1 (X'Wy + S0^-1 b0),
    beta | tau, y ~ N(beta_hat, A^-1),
    log L(tau) = -1/2 [ (k - d_flat) log 2 pi + log|V| + log|A| + log|S0|
                        + (y - X beta_hat)' W (y - X beta_hat)
                        + (beta_hat - b0)' S0^-1 (beta_hat - b0) ]

(d_flat = d for a flat prior, where the |S0| term is absent, else 0). The marginal of
any c'beta (a coefficient, a subgroup mean, a contrast) is the tau-mixture of
N(c'beta_hat, c'A^-1 c); a new study with covariates x adds tau^2 to the variance.
For one intercept column this is exactly `bayesmeta.exact.NormalNormal`.

The marginal likelihood is the normalised p(y), as R bmr()'s ``marginal.likelihood``: on
Karner et al. (2014) with subgroup indicators (beta ~ N(0, 4^2), tau ~ HN(0.5)) R, this
module and a direct SciPy integral all give log p(y) = -14.8785428664.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pandas as pd

from bayesmeta.defaults import resolve_priors
from bayesmeta.errors import InputError
from bayesmeta.exact.marginal import Marginal, check_kind, check_level
from bayesmeta.exact.mixture import MixtureMarginal, NormalMixture, batch_summary
from bayesmeta.exact.normal_normal import (
    COMPUTATION,
    NormalNormal,
    propriety,
    tau_scales,
    validate_data,
)
from bayesmeta.exact.quadrature import TauPosterior
from bayesmeta.priors import Prior, parse_prior
from bayesmeta.results import MetaResult

_LOG_2PI = math.log(2.0 * math.pi)

BetaPrior = None | str | Prior | tuple[Any, Any]


def _beta_prior(prior: BetaPrior, d: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(mean, precision) of a normal beta prior, or None for flat."""
    if prior is None:
        return None
    if isinstance(prior, (str, Prior)):
        p = parse_prior(prior, "mu")
        if not p.exact_mu:
            raise InputError(f"the exact engine takes a normal or flat beta prior, not {p.text}")
        if p.family == "flat":
            return None
        m, s = p.params
        return np.full(d, m), np.eye(d) / s**2
    try:
        mean, cov = prior
        mean = np.broadcast_to(np.asarray(mean, dtype=float), (d,)).copy()
        cov = np.asarray(cov, dtype=float)
    except (TypeError, ValueError):
        raise InputError("beta_prior must be None, 'normal(m, s)' or (mean, cov)") from None
    if cov.ndim == 1 or cov.ndim == 0:
        cov = np.diag(np.broadcast_to(cov, (d,)) ** 2)  # a vector of prior SDs
    if cov.shape != (d, d) or not np.all(np.isfinite(cov)) or not np.all(np.isfinite(mean)):
        raise InputError(f"beta prior needs a finite mean of length {d} and a {d}x{d} covariance")
    try:
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise InputError("beta prior covariance must be positive definite") from None
    return mean, np.linalg.inv(cov)


class NormalNormalRegression:
    """Exact posterior of the common-tau meta-regression (see module docstring).

    Args:
        yi: study estimates y_i.
        sei: their standard errors s_i (> 0).
        X: the k x d design matrix (a 1-D array is one column); include a column of ones
            for an intercept.
        tau_prior: prior text or `Prior`; default ``"halfnormal(0.5)"``.
        beta_prior: None (flat, the default), a mu-prior text applied independently to every
            coefficient (``"normal(0, 4)"``) or ``(mean, cov)`` (cov may be a vector of SDs).
        labels: study labels (default ``"1"``, ``"2"``, ...).
        names: column names of X (default ``x0``, ``x1``, ...).
        order: Gauss-Legendre points per panel of the tau quadrature (default 12).

    Raises:
        InputError: bad data, a rank-deficient X or k <= d under flat priors, an improper
            posterior.

    Same as R bayesmeta `bmr(y, sigma, X=cbind(daclizumab, basiliximab),
    tau.prior=function(t) dhalfnormal(t, scale=0.5), beta.prior.mean=c(0,0),
    beta.prior.sd=c(4,4))` on Crins et al. (2014): coefficient medians -2.2613 and -1.2719,
    Bayes factor for tau = 0 1.0859:

    Examples:
        >>> import numpy as np
        >>> from bayesmeta import datasets
        >>> from bayesmeta.effects import log_or
        >>> from bayesmeta.exact import NormalNormalRegression
        >>> d = datasets.load("crins2014")
        >>> es = log_or(d["exp.AR.events"], ci=d["cont.AR.events"],
        ...             n1i=d["exp.total"], n2i=d["cont.total"])
        >>> X = np.column_stack([d["IL2RA"] == "daclizumab", d["IL2RA"] == "basiliximab"])
        >>> reg = NormalNormalRegression(es.yi, es.vi**0.5, X, beta_prior="normal(0, 4)",
        ...                              names=["daclizumab", "basiliximab"])
        >>> print(f"{reg.beta('daclizumab').median:.4f} {reg.beta(1).median:.4f}")
        -2.2613 -1.2719
        >>> print(f"{reg.bayes_factor_tau0():.4f}")
        1.0859
    """

    def __init__(
        self,
        yi: Any,
        sei: Any,
        X: Any,
        tau_prior: str | Prior = "halfnormal(0.5)",
        beta_prior: BetaPrior = None,
        labels: Sequence[Any] | None = None,
        names: Sequence[str] | None = None,
        *,
        order: int = 12,
    ) -> None:
        y, s, lab = validate_data(yi, sei, labels)
        x = np.asarray(X, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[0] != y.size:
            raise InputError(f"X must have one row per study ({y.size}), got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise InputError("X contains missing or non-finite values")
        self.k, self.d = x.shape
        self.y, self.s, self.X, self.labels = y, s, x, lab
        self.names = [f"x{j}" for j in range(self.d)] if names is None else list(names)
        if len(self.names) != self.d:
            raise InputError(f"{len(self.names)} names for {self.d} columns of X")
        self.tau_prior = parse_prior(tau_prior, "tau").bind(s)
        self._prior = _beta_prior(beta_prior, self.d)
        self.beta_prior_text = (
            "flat"
            if self._prior is None
            else (
                parse_prior(beta_prior, "mu").text
                if isinstance(beta_prior, (str, Prior))
                else "normal(mean, cov)"
            )
        )
        flat = self._prior is None
        if flat and np.linalg.matrix_rank(x) < self.d:
            raise InputError(
                f"X has rank {np.linalg.matrix_rank(x)} < {self.d} columns: the coefficients "
                "are not identified under a flat prior (drop a column or give a proper prior)"
            )
        what = "flat coefficient priors" if flat else "normal coefficient priors"
        self._tau_m1, self._tau_m2 = propriety(
            self.tau_prior, self.k - (self.d if flat else 0), self.k, what
        )
        if flat and self.k <= self.d:
            raise InputError(
                f"{self.k} studies for {self.d} coefficients: need k > d under flat priors"
            )
        self.tau = TauPosterior(
            self._logq,
            self.tau_prior.support,
            tau_scales(s, y, self.tau_prior),
            order=order,
            moments=(self._tau_m1, self._tau_m2),
        )
        self._beta_mix: NormalMixture | None = None
        self._cond = self.conditional_beta(self.tau.nodes)

    # ---- conditional quantities ----------------------------------------------------
    def conditional_beta(self, tau: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """beta_hat (..., d), cov A^-1 (..., d, d) and log L (...) at each tau."""
        tau = np.asarray(tau, dtype=float)
        v = self.s**2 + tau[..., None] ** 2
        iv = 1.0 / v
        a = np.einsum("...k,ki,kj->...ij", iv, self.X, self.X)
        r = (iv * self.y) @ self.X
        if self._prior is not None:
            b0, p0 = self._prior
            a = a + p0
            r = r + p0 @ b0
        chol = np.linalg.cholesky(a)
        logdet_a = 2.0 * np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(-1)
        beta = np.linalg.solve(a, r[..., None])[..., 0]
        cov = np.linalg.inv(a)
        res = self.y - beta @ self.X.T
        rss = (res**2 * iv).sum(-1)
        n_log2pi = self.k
        extra = 0.0
        if self._prior is None:
            n_log2pi = self.k - self.d
        else:
            b0, p0 = self._prior
            dev = beta - b0
            rss = rss + np.einsum("...i,ij,...j->...", dev, p0, dev)
            extra = -np.linalg.slogdet(p0)[1]  # log|S0|
        loglik = -0.5 * (n_log2pi * _LOG_2PI + np.log(v).sum(-1) + logdet_a + extra + rss)
        return beta, cov, loglik

    def log_likelihood(self, tau: Any) -> np.ndarray:
        """log p(y | tau) with beta integrated out (see module docstring)."""
        return self.conditional_beta(tau)[2]

    def _logq(self, tau: np.ndarray) -> np.ndarray:
        return self.tau_prior.logpdf(tau) + self.log_likelihood(tau)

    # ---- marginals -----------------------------------------------------------------
    def _mixture(self, c: np.ndarray, add_tau2: bool, names: list[str]) -> NormalMixture:
        beta, cov, _ = self._cond
        means = c @ beta.T  # (m, N)
        var = np.einsum("mi,nij,mj->mn", c, cov, c)
        if add_tau2:
            var = var + self.tau.nodes**2
        flat = self._prior is None
        m1, m2 = self._tau_m1, self._tau_m2
        mean_ok = [m1 or (not flat and not add_tau2)] * c.shape[0]
        var_ok = [m2 or (not flat and not add_tau2)] * c.shape[0]
        return NormalMixture(self.tau.weights, means, np.sqrt(var), names, mean_ok, var_ok)

    def _index(self, j: int | str) -> int:
        if isinstance(j, str):
            if j not in self.names:
                raise InputError(f"no coefficient named {j!r} (have {', '.join(self.names)})")
            return self.names.index(j)
        if not 0 <= int(j) < self.d:
            raise InputError(f"coefficient index {j} out of range (d = {self.d})")
        return int(j)

    @property
    def beta_mixture(self) -> NormalMixture:
        """The tau-mixtures of all coefficients (one row each)."""
        if self._beta_mix is None:
            self._beta_mix = self._mixture(np.eye(self.d), False, list(self.names))
        return self._beta_mix

    def beta(self, j: int | str) -> Marginal:
        """Marginal posterior of coefficient j (index or name)."""
        j = self._index(j)
        return MixtureMarginal(self.beta_mixture, j, self.names[j])

    def linear(self, c: Any, name: str = "c'beta") -> Marginal:
        """Marginal posterior of the linear combination c'beta (e.g. a subgroup contrast)."""
        c = np.asarray(c, dtype=float).ravel()
        if c.size != self.d:
            raise InputError(f"contrast needs {self.d} coefficients, got {c.size}")
        return MixtureMarginal(self._mixture(c[None, :], False, [name]), 0, name)

    def predict(self, x: Any, name: str = "theta_new") -> Marginal:
        """Posterior predictive effect of a new study with covariates x (x'beta + tau noise)."""
        x = np.asarray(x, dtype=float).ravel()
        if x.size != self.d:
            raise InputError(f"new study needs {self.d} covariate values, got {x.size}")
        return MixtureMarginal(self._mixture(x[None, :], True, [name]), 0, name)

    @property
    def log_marginal_likelihood(self) -> float:
        """log p(y); nan unless the tau and beta priors are both proper."""
        ok = self.tau_prior.proper and self._prior is not None
        return self.tau.log_norm if ok else math.nan

    def bayes_factor_tau0(self) -> float:
        """BF01 for tau = 0: p(y | tau = 0) / p(y) (proper priors; else nan)."""
        lml = self.log_marginal_likelihood
        if not math.isfinite(lml):
            return math.nan
        return math.exp(float(self.log_likelihood(np.array([0.0]))[0]) - lml)

    # ---- results -------------------------------------------------------------------
    def coefficients(self, level: float = 0.95, interval: str = "central") -> pd.DataFrame:
        """mean, sd, median, ci_low, ci_high of every coefficient."""
        level, interval = check_level(level), check_kind(interval)
        summ = batch_summary(self.beta_mixture, level, interval)
        return pd.DataFrame(summ, index=pd.Index(self.names, name="param"))

    def to_result(self, level: float = 0.95, interval: str = "central") -> MetaResult:
        """MetaResult whose estimate is the first coefficient; all coefficients and tau
        are rows of ``posterior``."""
        level, interval = check_level(level), check_kind(interval)
        coef = self.coefficients(level, interval)
        t_lo, t_hi = self.tau.interval(level, interval)
        tau_row = pd.DataFrame(
            {
                "mean": [self.tau.mean],
                "sd": [self.tau.sd],
                "median": [self.tau.median],
                "ci_low": [t_lo],
                "ci_high": [t_hi],
            },
            index=pd.Index(["tau"], name="param"),
        )
        first = coef.iloc[0]
        return MetaResult(
            engine="exact",
            method="normal-normal regression",
            ci_method=interval,
            k=self.k,
            estimate=float(first["median"]),
            se=float(first["sd"]),
            ci_low=float(first["ci_low"]),
            ci_high=float(first["ci_high"]),
            level=level,
            tau2=self.tau.median**2,
            tau2_ci_low=t_lo**2,
            tau2_ci_high=t_hi**2,
            settings={
                "beta_prior": self.beta_prior_text,
                "tau_prior": self.tau_prior.text,
                "interval": interval,
                "computation": COMPUTATION,
                "coefficients": ", ".join(self.names),
            },
            posterior=pd.concat([coef, tau_row]),
            diagnostics={"tau_nodes": int(self.tau.nodes.size)},
            extra={"log_marginal_likelihood": self.log_marginal_likelihood},
        )


def _weighted_overall(
    reg: NormalNormalRegression, weights: np.ndarray, level: float, interval: str
) -> MetaResult:
    """The top level of a subgroup analysis: mu = weights'beta, the common tau."""
    mu = reg.linear(weights, "mu")
    lo, hi = mu.interval(level, interval)
    tau = reg.tau
    t_lo, t_hi = tau.interval(level, interval)
    post = pd.DataFrame(
        {
            "mean": [mu.mean, tau.mean],
            "sd": [mu.sd, tau.sd],
            "median": [mu.median, tau.median],
            "ci_low": [lo, t_lo],
            "ci_high": [hi, t_hi],
        },
        index=pd.Index(["mu", "tau"], name="param"),
    )
    return MetaResult(
        engine="exact",
        method="normal-normal subgroups (common tau)",
        ci_method=interval,
        k=reg.k,
        estimate=float(mu.median),
        se=float(mu.sd),
        ci_low=float(lo),
        ci_high=float(hi),
        level=level,
        tau2=tau.median**2,
        tau2_ci_low=t_lo**2,
        tau2_ci_high=t_hi**2,
        settings={
            "mu_prior": reg.beta_prior_text,
            "tau_prior": reg.tau_prior.text,
            "mu": "study-weighted mean of the subgroup means, sum_g (k_g/k) beta_g",
            "tau": "common to all subgroups",
            "interval": interval,
        },
        posterior=post,
        extra={"log_marginal_likelihood": reg.log_marginal_likelihood},
    )


def subgroup_analysis(
    yi: Any,
    sei: Any,
    groups: Sequence[Any],
    tau_prior: str | Prior | None = None,
    mu_prior: str | Prior | None = None,
    labels: Sequence[Any] | None = None,
    *,
    n: Any = None,
    measure: str | None = None,
    level: float = 0.95,
    interval: str = "central",
) -> MetaResult:
    """Subgroup means with one common tau: X = subgroup indicators, beta_g ~ mu_prior.

    The top-level numbers are those of this one model: mu is the study-weighted mean of
    the subgroup means, sum_g (k_g / k) beta_g, tau the common tau, and there is no overall
    prediction interval; the fit that ignores the subgroups is in
    ``extra["overall_ignoring_subgroups"]``. Priors default (None) to the rule of
    `bayesmeta.defaults` (``n``, sample sizes, and ``measure`` select its branch, as for
    `NormalNormal`). ``subgroups`` holds one result per
    subgroup (its mean beta_g, the common tau, the prediction interval of a new study in that
    subgroup); ``extra["contrasts"]`` holds every pairwise difference beta_g - beta_h with
    P(difference > 0). ``level`` (default 0.95) and ``interval`` (``"central"`` or
    ``"shortest"``) set the intervals.

    Same as R bayesmeta `bmr()` with subgroup indicators (as in `NormalNormalRegression`) on
    Crins et al. (2014): subgroup medians -2.2613 and -1.2719, contrast median -0.9897:

    Examples:
        >>> from bayesmeta import datasets
        >>> from bayesmeta.effects import log_or
        >>> from bayesmeta.exact import subgroup_analysis
        >>> d = datasets.load("crins2014")
        >>> es = log_or(d["exp.AR.events"], ci=d["cont.AR.events"],
        ...             n1i=d["exp.total"], n2i=d["cont.total"])
        >>> res = subgroup_analysis(es.yi, es.vi**0.5, d["IL2RA"], "halfnormal(0.5)",
        ...                         "normal(0, 4)")
        >>> print({g: round(r.estimate, 4) for g, r in res.subgroups.items()})
        {'daclizumab': -2.2613, 'basiliximab': -1.2719}
        >>> c = res.extra["contrasts"].iloc[0]
        >>> print(c["contrast"], round(c["median"], 4), round(c["p_gt_0"], 4))
        daclizumab - basiliximab -0.9897 0.0736
    """
    level, interval = check_level(level), check_kind(interval)
    y, s, lab = validate_data(yi, sei, labels)
    g = [str(v) for v in groups]
    if len(g) != y.size:
        raise InputError(f"{len(g)} subgroup labels for {y.size} studies")
    mu_given, tau_given, note = resolve_priors(mu_prior, tau_prior, s, n=n, measure=measure)
    tau_prior = cast("str | Prior", tau_given)
    mu_prior = cast("str | Prior", mu_given)
    levels = list(dict.fromkeys(g))
    x = np.array([[1.0 if gi == lv else 0.0 for lv in levels] for gi in g])
    reg = NormalNormalRegression(y, s, x, tau_prior, mu_prior, lab, levels)
    weights = x.sum(axis=0) / y.size
    overall = _weighted_overall(reg, weights, level, interval)
    ignoring = NormalNormal(y, s, tau_prior, mu_prior, lab).to_result(level, interval)
    overall.extra["overall_ignoring_subgroups"] = ignoring
    coef = reg.coefficients(level, interval)
    t_lo, t_hi = reg.tau.interval(level, interval)
    subs: dict[str, MetaResult] = {}
    for j, name in enumerate(levels):
        pred = reg.predict(np.eye(len(levels))[j])
        p_lo, p_hi = pred.interval(level, interval)
        row = coef.iloc[j]
        subs[name] = MetaResult(
            engine="exact",
            method="normal-normal (common tau)",
            ci_method=interval,
            k=int(sum(gi == name for gi in g)),
            estimate=float(row["median"]),
            se=float(row["sd"]),
            ci_low=float(row["ci_low"]),
            ci_high=float(row["ci_high"]),
            level=level,
            tau2=reg.tau.median**2,
            tau2_ci_low=t_lo**2,
            tau2_ci_high=t_hi**2,
            pi_low=p_lo,
            pi_high=p_hi,
            posterior=pd.DataFrame(
                {key: [float(row[key])] for key in ("mean", "sd", "median", "ci_low", "ci_high")},
                index=pd.Index(["mu"], name="param"),
            ),
            settings={
                "mu_prior": reg.beta_prior_text,
                "tau_prior": reg.tau_prior.text,
                "tau": "common to all subgroups",
            },
        )
    rows = []
    for a in range(len(levels)):
        for b in range(a + 1, len(levels)):
            c = np.zeros(len(levels))
            c[a], c[b] = 1.0, -1.0
            m = reg.linear(c, f"{levels[a]} - {levels[b]}")
            lo, hi = m.interval(level, interval)
            rows.append(
                {
                    "contrast": m.name,
                    "mean": m.mean,
                    "sd": m.sd,
                    "median": m.median,
                    "ci_low": lo,
                    "ci_high": hi,
                    "p_gt_0": m.prob_above(0.0),
                }
            )
    if note:
        overall.settings["default_prior"] = note
        for sub in subs.values():
            sub.settings["default_prior"] = note
    overall.studies = None if ignoring.studies is None else ignoring.studies.assign(subgroup=g)
    overall.subgroups = subs
    overall.extra["contrasts"] = pd.DataFrame(rows)
    overall.extra["subgroup_tau"] = reg.tau.summary(level, interval)
    overall.settings["subgroups"] = "common tau, subgroup means beta_g ~ " + reg.beta_prior_text
    return overall

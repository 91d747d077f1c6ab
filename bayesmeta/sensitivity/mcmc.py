"""Prior sensitivity of a PyMC fit (`bayesmeta.hierarchical.BayesianMeta`) without refits.

* `with_log_prior` adds the ``log_prior`` group ArviZ needs: per draw,
  log p(mu) and log p(tau) of the fit's mu / tau priors (the hyperpriors; the study-level
  effects are part of the hierarchical model, not the assessed prior). In a model with
  fixed subgroup means the mu prior is on each subgroup mean (their log densities are
  summed), in a regression on uncentred covariates on the intercept.
* `power_sensitivity`: ArviZ power-scaling sensitivity (Kallioinen et al. 2024, Stat
  Comput 34:57) via ``arviz_stats.psense_summary``: the prior p(mu) p(tau) is raised to
  alpha in (0.99, 1.01), the posterior reweighted by PSIS, and the change measured by the
  cumulative Jensen-Shannon distance; > 0.05 flags a prior that shapes the posterior.
* `reweight`: importance sampling of the draws to another tau (and mu) prior,
  log w_s = log p_new(tau_s) - log p_old(tau_s) (+ the same for mu), Pareto-smoothed
  (Vehtari et al. 2024, JMLR 25:72; ``psislw``). Pareto k >= 0.7, or fewer than 100
  effective draws, means the reweighted summaries are unreliable: refit with the new prior.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayesmeta.errors import InputError
from bayesmeta.exact.marginal import check_level
from bayesmeta.priors import Prior, parse_prior
from bayesmeta.sensitivity.grammar import expand

K_REFIT = 0.7
MIN_ESS = 100.0


def mu_prior_variable(spec: Any) -> str:
    """The posterior variable that carries ``spec.mu_prior`` in a `BayesianMeta` model.

    ``mu`` (common mean; pooled subgroup means; centred regression), ``mu_subgroup``
    (fixed subgroup means: one i.i.d. prior per subgroup) or ``intercept`` (regression on
    uncentred covariates).

    Examples:
        >>> from bayesmeta.hierarchical import model_spec
        >>> from bayesmeta.sensitivity.mcmc import mu_prior_variable
        >>> [mu_prior_variable(model_spec(m)) for m in ("normal", "subgroup", "student_t")]
        ['mu', 'mu_subgroup', 'mu']
    """
    if spec.mean == "subgroup" and spec.subgroup_means == "fixed":
        return "mu_subgroup"
    if spec.mean == "regression" and not spec.center_covariates:
        return "intercept"
    return "mu"


def _fitted(fit: Any) -> tuple[xr.DataTree, Prior, Prior, str]:
    tree = getattr(fit, "idata_", None)
    if tree is None:
        raise InputError("fit the BayesianMeta model first (call .fit(data))")
    post = tree["posterior"]
    mu_var = mu_prior_variable(fit.spec)
    if mu_var not in post or "tau" not in post or "mu" not in post:
        raise InputError(f"prior sensitivity needs the posterior of {mu_var}, mu and tau")
    return tree, fit.spec.mu_prior, fit.spec.tau_prior.bind(fit.data_.sei), mu_var


def _summed_logpdf(prior: Prior, x: xr.DataArray) -> xr.DataArray:
    """sum over the non-(chain, draw) dims of log p(x): the joint log prior of i.i.d. terms."""
    lp = xr.DataArray(np.asarray(prior.logpdf(x.values), float), dims=x.dims, coords=x.coords)
    extra = [d for d in lp.dims if d not in ("chain", "draw")]
    return lp.sum(extra) if extra else lp


def _log_prior(post: xr.Dataset, mu_prior: Prior, tau_prior: Prior, mu_var: str) -> xr.Dataset:
    """The ``log_prior`` group: per draw, log p of the mu-prior variable and of tau."""
    keep = {d: post.coords[d] for d in ("chain", "draw") if d in post.coords}
    out = {}
    for name, prior, var in (("mu", mu_prior, mu_var), ("tau", tau_prior, "tau")):
        lp = _summed_logpdf(prior, post[var])
        out[name] = lp.drop_vars([c for c in lp.coords if c not in keep])
    return xr.Dataset(out, coords=keep)


def with_log_prior(fit: Any) -> xr.DataTree:
    """A copy of ``fit.idata_`` with a ``log_prior`` group (variables mu and tau).

    Per draw, log p(mu) under the fit's mu prior and log p(tau) under its tau prior (bound
    to the data's standard errors where the prior depends on them). InputError if ``fit``
    has not been fitted or lacks these variables. For models whose mu prior is on other
    variables (`mu_prior_variable`: i.i.d. subgroup means, an intercept), ``mu`` is the
    summed log prior of those; ``tau`` likewise sums over a tau per subgroup.

    Examples:
        Exact posterior draws of Rubin (1981) under halfnormal(10) (`NormalNormal.sample`)
        stand in for a fitted `BayesianMeta` (any object with its ``idata_``, ``spec`` and
        ``data_`` will do):

        >>> from types import SimpleNamespace as NS
        >>> from bayesmeta import datasets
        >>> from bayesmeta.exact import NormalNormal
        >>> d = datasets.load("rubin1981")
        >>> nn = NormalNormal(d["effect"], d["stderr"], "halfnormal(10)", "normal(0, 100)")
        >>> fit = NS(idata_=nn.sample(draws=1000, chains=2, seed=1), data_=NS(sei=nn.s),
        ...          spec=NS(mean="common", mu_prior=nn.mu_prior, tau_prior=nn.tau_prior))
        >>> from bayesmeta.sensitivity.mcmc import with_log_prior
        >>> tree = with_log_prior(fit)
        >>> "log_prior" in tree.children, tree["log_prior"]["tau"].shape
        (True, (2, 1000))
        >>> lp = float(tree["log_prior"]["tau"][0, 0])
        >>> tau0 = float(tree["posterior"]["tau"][0, 0])
        >>> print(f"{lp:.6f} {float(nn.tau_prior.logpdf(tau0)):.6f}")
        -2.614141 -2.614141
    """
    tree, mu_prior, tau_prior, mu_var = _fitted(fit)
    groups = {f"/{k}": tree[k].to_dataset() for k in tree.children}
    groups["/log_prior"] = _log_prior(tree["posterior"].to_dataset(), mu_prior, tau_prior, mu_var)
    return xr.DataTree.from_dict(groups)


def power_sensitivity(fit: Any, threshold: float = 0.05) -> pd.DataFrame:
    """``arviz_stats.psense_summary`` for mu and tau: prior / likelihood sensitivity.

    One row per parameter (index mu, tau) with the power-scaling sensitivity (cumulative
    Jensen-Shannon distance per unit log alpha) to the ``prior`` and to the ``likelihood``,
    and ArviZ's ``diagnosis``; values >= ``threshold`` (default 0.05) flag a sensitivity.
    The fit's ``idata_`` needs a ``log_likelihood`` group (a `BayesianMeta` fit has one).

    Examples:
        Exact posterior draws of Rubin (1981) under halfnormal(10) (`NormalNormal.sample`,
        which has the log-likelihood group of a fit) stand in for a fitted `BayesianMeta`
        (any object with its ``idata_``, ``spec`` and ``data_`` will do):

        >>> from types import SimpleNamespace as NS
        >>> from bayesmeta import datasets
        >>> from bayesmeta.exact import NormalNormal
        >>> d = datasets.load("rubin1981")
        >>> nn = NormalNormal(d["effect"], d["stderr"], "halfnormal(10)", "normal(0, 100)")
        >>> fit = NS(idata_=nn.sample(draws=1000, chains=2, seed=1), data_=NS(sei=nn.s),
        ...          spec=NS(mean="common", mu_prior=nn.mu_prior, tau_prior=nn.tau_prior))
        >>> from bayesmeta.sensitivity.mcmc import power_sensitivity
        >>> print(power_sensitivity(fit)[["prior", "likelihood"]].round(3))
             prior  likelihood
        mu   0.008       0.070
        tau  0.102       0.018
    """
    from arviz_stats import psense_summary

    tree = with_log_prior(fit)
    with contextlib.redirect_stdout(io.StringIO()):  # it prints a how-to-read note
        out = psense_summary(tree, var_names=["mu", "tau"], threshold=threshold, round_to=15)
    return pd.DataFrame(out)


def _wquantile(x: np.ndarray, w: np.ndarray, p: Sequence[float]) -> np.ndarray:
    """Weighted quantiles: the x where the cumulative normalised weight reaches p."""
    order = np.argsort(x)
    cw = np.cumsum(w[order])
    cw /= cw[-1]
    return np.interp(p, cw - 0.5 * w[order] / w.sum(), x[order])


def _summaries(x: np.ndarray, w: np.ndarray, r_eff: float, level: float) -> dict[str, float]:
    m = float(w @ x)
    sd = math.sqrt(float(w @ (x - m) ** 2))
    mcse = math.sqrt(float((w**2) @ (x - m) ** 2) / r_eff)
    q = _wquantile(x, w, [0.5, (1 - level) / 2, (1 + level) / 2])
    return {"mean": m, "sd": sd, "mcse_mean": mcse, "median": q[0], "ci_low": q[1],
            "ci_high": q[2]}  # fmt: skip


def reweight(
    fit: Any,
    tau_priors: Any,
    mu_prior: str | Prior | None = None,
    *,
    level: float = 0.95,
    k_threshold: float = K_REFIT,
    min_ess: float = MIN_ESS,
) -> pd.DataFrame:
    """One row per new tau prior: Pareto k, IS ESS, reweighted mu and tau summaries and
    ``refit``: k >= ``k_threshold`` (the weights' tail is too heavy) or an importance-sampling
    ESS 1 / sum w^2 below ``min_ess`` (too few draws carry the new posterior).

    Args:
        fit: a fitted `BayesianMeta` with one tau (any mean structure: common, subgroup
            means fixed or pooled, regression; normal or Student-t effects). The mu prior
            is reweighted where the model puts it (`mu_prior_variable`).
        tau_priors: a tau prior or sweep string (`bayesmeta.sensitivity.grammar`), or a list.
        mu_prior: the new mu prior; None (default) keeps the fit's.
        level: level of the reweighted central intervals. Default 0.95.
        k_threshold: Pareto k from which ``refit`` is flagged. Default 0.7.
        min_ess: importance-sampling ESS below which ``refit`` is flagged. Default 100.

    Returns:
        Columns tau_prior, mu_prior, pareto_k (-inf: same prior, no reweighting), ess_is,
        refit, and for mu and tau the weighted mean, sd, MCSE of the mean (with the
        chains' relative ESS), median, ci_low, ci_high; ``attrs`` holds level, the fitted
        priors and the number of draws.

    Examples:
        Exact posterior draws of Rubin (1981) under halfnormal(10) (`NormalNormal.sample`)
        stand in for a fitted `BayesianMeta` (any object with its ``idata_``, ``spec`` and
        ``data_`` will do):
        the exact posterior means of tau under halfnormal(5) and halfnormal(20) are 3.299 and
        5.889 (within 1 MCSE of the reweighted means); halfcauchy(10)'s heavier tail is
        flagged:

        >>> from types import SimpleNamespace as NS
        >>> from bayesmeta import datasets
        >>> from bayesmeta.exact import NormalNormal
        >>> d = datasets.load("rubin1981")
        >>> nn = NormalNormal(d["effect"], d["stderr"], "halfnormal(10)", "normal(0, 100)")
        >>> fit = NS(idata_=nn.sample(draws=1000, chains=2, seed=1), data_=NS(sei=nn.s),
        ...          spec=NS(mean="common", mu_prior=nn.mu_prior, tau_prior=nn.tau_prior))
        >>> from bayesmeta.sensitivity.mcmc import reweight
        >>> rw = reweight(fit, ["halfnormal(5)", "halfnormal(20)", "halfcauchy(10)"])
        >>> print(rw[["tau_prior", "pareto_k", "refit", "tau_mean", "tau_mcse_mean"]].round(3))
                tau_prior  pareto_k  refit  tau_mean  tau_mcse_mean
        0   halfnormal(5)    -1.570  False     3.312          0.053
        1  halfnormal(20)     0.441  False     5.865          0.171
        2  halfcauchy(10)     1.623   True     4.704          0.097
    """
    from arviz_stats import ess

    level = check_level(level)
    tree, old_mu, old_tau, mu_var = _fitted(fit)
    post = tree["posterior"].to_dataset()
    if post["tau"].ndim != 2:
        raise InputError("reweighting summarises one tau: not for a tau per subgroup")
    mu = post["mu"].values.ravel()
    tau = post["tau"].values.ravel()
    n = mu.size
    new_mu = old_mu if mu_prior is None else parse_prior(mu_prior, "mu")
    r_eff = {v: min(1.0, float(ess(post[v], method="mean").values) / n) for v in ("mu", "tau")}

    def log_prior(mu_p: Prior, tau_p: Prior) -> np.ndarray:
        lp = _log_prior(post, mu_p, tau_p, mu_var)
        return np.asarray((lp["mu"] + lp["tau"]).transpose("chain", "draw").values).ravel()

    base = log_prior(old_mu, old_tau)
    rows = []
    for grid in expand(tau_priors, "tau"):
        for p in grid.priors:
            p = p.bind(fit.data_.sei)
            lw = log_prior(new_mu, p) - base
            if not np.all(np.isfinite(lw)):
                raise InputError(f"{p.text}: the new prior is zero where the fit has draws")
            if np.ptp(lw) <= 1e-12 * (1.0 + np.abs(lw).max()):  # same prior: no reweighting
                k, w = -math.inf, np.full(n, 1.0 / n)
            else:
                # arviz_stats' psislw takes minus the log ratios (LOO convention: -log_lik)
                da = xr.DataArray(-lw.reshape(post["mu"].shape), dims=post["mu"].dims)
                with np.errstate(over="ignore"):  # k >> 1: overflow in the GPD quantiles
                    slw, kk = da.azstats.psislw(dim=list(da.dims))
                k = float(kk)
                w = np.exp(slw.values.ravel() - np.logaddexp.reduce(slw.values.ravel()))
            ess_is = float(1.0 / (w**2).sum())
            row: dict[str, Any] = {"tau_prior": p.text, "mu_prior": new_mu.text,
                                   "pareto_k": float(k), "ess_is": ess_is,
                                   "refit": bool(k >= k_threshold or ess_is < min_ess)}  # fmt: skip
            for name, x in (("mu", mu), ("tau", tau)):
                row |= {
                    f"{name}_{key}": v for key, v in _summaries(x, w, r_eff[name], level).items()
                }
            rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs |= {"level": level, "fitted_tau_prior": old_tau.text,
                  "fitted_mu_prior": old_mu.text, "draws": n}  # fmt: skip
    return out

"""Prior sensitivity of a PyMC fit (:class:`bayesmeta.hierarchical.BayesianMeta`) without refits.

* :func:`with_log_prior` adds the ``log_prior`` group ArviZ needs: per draw,
  log p(mu) and log p(tau) of the fit's mu / tau priors (the hyperpriors; the study-level
  effects are part of the hierarchical model, not the assessed prior).
* :func:`power_sensitivity`: ArviZ power-scaling sensitivity (Kallioinen et al. 2024, Stat
  Comput 34:57) via ``arviz_stats.psense_summary``: the prior p(mu) p(tau) is raised to
  alpha in (0.99, 1.01), the posterior reweighted by PSIS, and the change measured by the
  cumulative Jensen-Shannon distance; > 0.05 flags a prior that shapes the posterior.
* :func:`reweight`: importance sampling of the draws to another tau (and mu) prior,
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


def _fitted(fit: Any) -> tuple[xr.DataTree, Prior, Prior]:
    tree = getattr(fit, "idata_", None)
    if tree is None:
        raise InputError("fit the BayesianMeta model first (call .fit(data))")
    post = tree["posterior"]
    if "mu" not in post or "tau" not in post:
        raise InputError("prior reweighting needs a model with scalar mu and tau")
    if fit.spec.mean != "common":
        raise InputError("prior reweighting is implemented for the common-mean model only")
    return tree, fit.spec.mu_prior, fit.spec.tau_prior.bind(fit.data_.sei)


def _log_prior(post: xr.Dataset, mu_prior: Prior, tau_prior: Prior) -> xr.Dataset:
    return xr.Dataset(
        {
            "mu": (post["mu"].dims, np.asarray(mu_prior.logpdf(post["mu"].values), float)),
            "tau": (post["tau"].dims, np.asarray(tau_prior.logpdf(post["tau"].values), float)),
        },
        coords={d: post.coords[d] for d in ("chain", "draw") if d in post.coords},
    )


def with_log_prior(fit: Any) -> xr.DataTree:
    """A copy of ``fit.idata_`` with a ``log_prior`` group (variables mu and tau)."""
    tree, mu_prior, tau_prior = _fitted(fit)
    groups = {f"/{k}": tree[k].to_dataset() for k in tree.children}
    groups["/log_prior"] = _log_prior(tree["posterior"].to_dataset(), mu_prior, tau_prior)
    return xr.DataTree.from_dict(groups)


def power_sensitivity(fit: Any, threshold: float = 0.05) -> pd.DataFrame:
    """``arviz_stats.psense_summary`` for mu and tau: prior / likelihood sensitivity."""
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
    ``mu_prior`` None keeps the fit's mu prior."""
    from arviz_stats import ess

    level = check_level(level)
    tree, old_mu, old_tau = _fitted(fit)
    post = tree["posterior"].to_dataset()
    mu = post["mu"].values.ravel()
    tau = post["tau"].values.ravel()
    n = mu.size
    new_mu = old_mu if mu_prior is None else parse_prior(mu_prior, "mu")
    r_eff = {v: min(1.0, float(ess(post[v], method="mean").values) / n) for v in ("mu", "tau")}
    base = old_tau.logpdf(tau) + old_mu.logpdf(mu)
    rows = []
    for grid in expand(tau_priors, "tau"):
        for p in grid.priors:
            p = p.bind(fit.data_.sei)
            lw = np.asarray(p.logpdf(tau) + new_mu.logpdf(mu) - base, float)
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

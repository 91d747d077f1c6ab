"""Pointwise log-likelihood and posterior predictive draws, computed from the posterior.

Every model's likelihood is ``y_i ~ N(theta_i, s_i^2)``, with ``s_i`` either known data
(``sei``) or the posterior deterministic ``se`` (the prepost model), so both are plain NumPy
on the draws of ``theta`` (no model compilation on a refit):

    log p(y_i | theta_i, s_i) = -0.5 log(2 pi s_i^2) - (y_i - theta_i)^2 / (2 s_i^2)
    y_rep_i = theta_i + s_i eps_i,  eps_i ~ N(0, 1)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr


def observation_sd(posterior: xr.Dataset, sei: np.ndarray | None) -> xr.DataArray:
    """``s_i`` per draw (prepost: the ``se`` deterministic) or as data."""
    if "se" in posterior:
        return posterior["se"]
    if sei is None:
        raise ValueError("no standard errors: neither data 'sei' nor posterior 'se'")
    return xr.DataArray(
        np.asarray(sei, float), dims=("study",), coords={"study": posterior["study"].values}
    )


def _draws(posterior: xr.Dataset, sei: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """theta as (chain, draw, study) and s_i broadcastable to it, as NumPy arrays."""
    dims = ("chain", "draw", "study")
    theta = posterior["theta"].transpose(*dims).values
    s = observation_sd(posterior, sei)
    return theta, (s.transpose(*dims).values if s.ndim == 3 else s.values)


def _group(posterior: xr.Dataset, values: np.ndarray) -> xr.Dataset:
    dims = ("chain", "draw", "study")
    coords = {d: posterior[d].values for d in dims}
    return xr.Dataset({"y_obs": (dims, values)}, coords=coords)


def log_likelihood(posterior: xr.Dataset, y: np.ndarray, sei: np.ndarray | None) -> xr.Dataset:
    """The ``log_likelihood`` group: ``y_obs`` with dims (chain, draw, study)."""
    theta, s = _draws(posterior, sei)
    ll = -0.5 * np.log(2.0 * np.pi * s**2) - (np.asarray(y, float) - theta) ** 2 / (2.0 * s**2)
    return _group(posterior, ll)


def posterior_predictive(
    posterior: xr.Dataset, sei: np.ndarray | None, rng: np.random.Generator
) -> xr.Dataset:
    """The ``posterior_predictive`` group: replicated ``y_obs`` per draw."""
    theta, s = _draws(posterior, sei)
    return _group(posterior, theta + s * rng.standard_normal(theta.shape))


def ppc_table(y: np.ndarray, y_rep: xr.DataArray, level: float = 0.95) -> pd.DataFrame:
    """Per study: observed y, predictive mean/sd/interval and p = P(y_rep >= y | data).

    A study whose p is near 0 or 1 is poorly predicted by the model (Gelman et al. 2013,
    Bayesian Data Analysis, 3rd ed., section 6.3).
    """
    draws = y_rep.stack(sample=("chain", "draw")).transpose("study", "sample").values
    a = (1.0 - level) / 2.0
    lo, hi = np.quantile(draws, [a, 1.0 - a], axis=1)
    y = np.asarray(y, float)
    return pd.DataFrame(
        {
            "y": y,
            "pred_mean": draws.mean(axis=1),
            "pred_sd": draws.std(axis=1, ddof=1),
            "pred_low": lo,
            "pred_high": hi,
            "p_value": (draws >= y[:, None]).mean(axis=1),
        },
        index=pd.Index(y_rep["study"].values, name="study"),
    )

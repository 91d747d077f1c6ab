"""Posterior summaries of a fitted `BayesianMeta` as the shared
`bayesmeta.results.MetaResult` (see bayesmeta/results.py for the contract).

``estimate`` = posterior median of ``mu``, ``se`` = its posterior SD, ``ci_*`` = the central
(equal-tailed, ``az.eti``) or shortest (``az.hdi``) interval; ``tau2`` = median(tau)^2 and
its interval the square of tau's (as the exact engine reports it); ``pi_*`` = interval of
``theta_new``. For the nested model tau is ``tau_total = sqrt(tau^2 + tau_arm^2)``; with
subgroup terms the overall ``mu`` is the study-weighted mean of the subgroup means (fixed)
or their hyper-mean (pooled), and each subgroup gets its own result in ``subgroups``.
"""

from __future__ import annotations

from typing import Any, Protocol

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from bayesmeta.hierarchical.data import MetaData
from bayesmeta.results import MetaResult


class FittedModel(Protocol):
    """What `to_result` reads of a fitted model (a `BayesianMeta` after ``fit``); a
    protocol, so this module does not import the fitter that imports it."""

    idata_: Any
    spec: Any
    data_: MetaData
    level: float
    diagnostics_: Any
    warnings_: list[str]
    cache_hit_: bool
    sampling_time_: float
    prior_note_: str | None

    @property
    def interval(self) -> str: ...

    def settings(self) -> dict[str, str]: ...


_SKIP = ("z", "z_new", "z_cluster", "eta_subgroup", "r01", "theta", "se")
_FIRST = ("mu", "tau", "theta_new")


def interval(x: np.ndarray, level: float, kind: str) -> tuple[float, float]:
    """Central (quantiles (1-level)/2, (1+level)/2) or shortest (HDI) interval of draws."""
    x = np.asarray(x, float).ravel()
    if kind == "shortest":
        lo, hi = az.hdi(x, prob=level)
    else:
        lo, hi = np.quantile(x, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def describe(x: np.ndarray, level: float, kind: str) -> dict[str, float]:
    x = np.asarray(x, float).ravel()
    lo, hi = interval(x, level, kind)
    return {
        "mean": float(x.mean()),
        "sd": float(x.std(ddof=1)),
        "median": float(np.median(x)),
        "ci_low": lo,
        "ci_high": hi,
    }


def _rows(post: xr.Dataset, level: float, kind: str) -> pd.DataFrame:
    """One row per scalar element of every summarised variable (``mu[MSC]`` style names)."""
    names = [n for n in _FIRST if n in post] + sorted(
        str(n) for n in post.data_vars if n not in _FIRST and n not in _SKIP
    )
    rows = {}
    for n in names:
        da = post[n]
        extra = [d for d in da.dims if d not in ("chain", "draw")]
        if not extra:
            rows[n] = describe(da.values, level, kind)
            continue
        stacked = da.stack(element=extra)
        for i in range(stacked.sizes["element"]):
            el = stacked.isel(element=i)
            label = ", ".join(str(el[d].values) for d in extra)
            rows[f"{n}[{label}]"] = describe(el.values, level, kind)
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "param"
    return out


def _tau_draws(post: xr.Dataset) -> np.ndarray | None:
    if "tau_total" in post:
        return post["tau_total"].values
    if "tau" in post and post["tau"].ndim == 2:
        return post["tau"].values
    return None


def _pooled(
    post_mu: np.ndarray,
    tau: np.ndarray | None,
    new: np.ndarray | None,
    *,
    k: int,
    method: str,
    level: float,
    kind: str,
    settings: dict[str, str],
) -> MetaResult:
    m = describe(post_mu, level, kind)
    table = pd.DataFrame([m], index=pd.Index(["mu"], name="param"))
    res = MetaResult(
        engine="pymc",
        method=method,
        ci_method=kind,
        k=k,
        estimate=m["median"],
        se=m["sd"],
        ci_low=m["ci_low"],
        ci_high=m["ci_high"],
        level=level,
        settings=dict(settings),
        posterior=table,
    )
    if tau is not None:
        res.tau2 = float(np.median(tau)) ** 2
        lo, hi = interval(tau, level, kind)
        res.tau2_ci_low, res.tau2_ci_high = lo**2, hi**2
    if new is not None:
        res.pi_low, res.pi_high = interval(new, level, kind)
    return res


def to_result(fit: FittedModel) -> MetaResult:
    """The `MetaResult` of a fitted model (engine ``pymc``)."""
    idata, spec, data = fit.idata_, fit.spec, fit.data_
    post = idata["posterior"].to_dataset()
    level, kind = fit.level, fit.interval
    settings = fit.settings()
    new = post["theta_new"]
    res = _pooled(
        post["mu"].values,
        _tau_draws(post),
        new.values if new.ndim == 2 else None,
        k=data.k,
        method=spec.name,
        level=level,
        kind=kind,
        settings=settings,
    )
    res.posterior = _rows(post, level, kind)

    theta = post["theta"]
    studies = pd.DataFrame(
        [describe(theta.sel(study=s).values, level, kind) for s in theta["study"].values]
    )
    studies.insert(0, "study", [str(s) for s in theta["study"].values])
    studies.insert(1, "yi", data.yi)
    if "se" in post:  # prepost with r a parameter: posterior median of the sampling variance
        studies.insert(2, "vi", (post["se"] ** 2).median(("chain", "draw")).values)
    else:  # the known standard errors the model used (prepost with r fixed: computed from r)
        studies.insert(2, "vi", idata["constant_data"].to_dataset()["sei"].values ** 2)
    if data.subgroup is not None:
        studies["subgroup"] = data.subgroup
    if data.cluster is not None:
        studies["cluster"] = data.cluster
    res.studies = studies

    if spec.mean == "subgroup":
        levels, idx = data.subgroups
        for j, g in enumerate(levels):
            tau_g = (
                post["tau"].isel(subgroup=j).values if spec.tau_by_subgroup else _tau_draws(post)
            )
            res.subgroups[g] = _pooled(
                post["mu_subgroup"].isel(subgroup=j).values,
                tau_g,
                post["theta_new"].isel(subgroup=j).values,
                k=int(np.sum(idx == j)),
                method=spec.name,
                level=level,
                kind=kind,
                settings=settings,
            )
        if "mu_contrast" in post:
            c = post["mu_contrast"]
            table = pd.DataFrame(
                [
                    describe(c.isel(contrast=i).values, level, kind)
                    | {"p_gt_0": float((c.isel(contrast=i).values > 0).mean())}
                    for i in range(c.sizes["contrast"])
                ],
                index=pd.Index([str(v) for v in c["contrast"].values], name="contrast"),
            )
            res.extra["contrasts"] = table
    res.diagnostics = {k: _plain(v) for k, v in fit.diagnostics_.items()}
    res.warnings = list(fit.warnings_)
    res.extra["cache_hit"] = fit.cache_hit_
    res.extra["sampling_time"] = fit.sampling_time_
    res.extra["p_mu_gt_0"] = float((post["mu"].values > 0).mean())
    if fit.prior_note_:
        res.extra["prior_note"] = fit.prior_note_
    res.idata = idata
    res.measure = data.measure
    return res


def _plain(v: Any) -> Any:
    if isinstance(v, (np.floating, float)):
        return float(v)
    if isinstance(v, np.integer):
        return int(v)
    return v

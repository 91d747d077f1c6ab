"""Prior sensitivity by refitting a PyMC model, compiled once per prior family.

`refit_sweep` samples the posterior afresh under every tau prior of a sweep (grammar of
`bayesmeta.sensitivity.grammar`). The fits use ``BayesianMeta(..., prior_data=True)``:
the mu and tau prior parameters are ``pm.Data`` of the PyMC graph (e.g.
``pm.HalfNormal("tau", sigma=pm.Data("tau_prior_sigma", s))``), the compile cache is keyed
by the prior *families*, and each refit only swaps the values in (nutpie ``with_data``). A
sweep over the scales of one family therefore compiles one model. Where
`bayesmeta.sensitivity.mcmc.reweight` flags ``refit`` (Pareto k >= 0.7), this is the
refit; for the normal-normal model the exact engine (`bayesmeta.sensitivity.sweep`)
needs no sampling at all and is the reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from bayesmeta.errors import InputError
from bayesmeta.exact.marginal import check_level
from bayesmeta.priors import Prior, parse_prior
from bayesmeta.sensitivity.grammar import expand

#: the columns of `refit_sweep`, in order
REFIT_COLUMNS = (
    "tau_prior", "mu_prior", "tau_family",
    "mu_median", "mu_ci_low", "mu_ci_high", "mu_mcse_median",
    "tau_median", "tau_ci_low", "tau_ci_high", "tau_mcse_median",
    "divergences", "max_rhat", "min_ess_bulk", "min_ess_tail", "min_bfmi", "warnings",
    "compiled", "cache_hit", "sampling_time",
)  # fmt: skip


def _summary(draws: Any, level: float) -> dict[str, float]:
    """Median, central ``level`` interval and the MCSE of the median (``az.mcse``)."""
    import arviz as az

    da = draws.transpose("chain", "draw")
    x = np.asarray(da.values, float).ravel()
    lo, med, hi = np.quantile(x, [(1.0 - level) / 2.0, 0.5, (1.0 + level) / 2.0])
    mcse = float(az.mcse(da, method="median"))
    return {"median": float(med), "ci_low": float(lo), "ci_high": float(hi), "mcse_median": mcse}


def refit_sweep(
    table: Any,
    tau_priors: str | Prior | Sequence[str | Prior],
    mu_prior: str | Prior = "normal(0, 4)",
    *,
    model: str = "normal",
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: int = 1,
    level: float = 0.95,
    progress: bool = False,
    **options: Any,
) -> pd.DataFrame:
    """One PyMC fit per tau prior of ``tau_priors`` (sweeps such as
    ``"halfnormal(1..10, n=4)"``), all with ``mu_prior``; one row each (`REFIT_COLUMNS`):
    posterior median, central ``level`` interval and MCSE of the median of mu and tau, the
    sampler diagnostics of `bayesmeta.hierarchical.diagnose`, ``warnings`` (their
    messages, "; "-joined), ``compiled`` (True if this fit compiled a sampler: the first prior
    of each family with nutpie; every fit with ``sampler="pymc"``, whose NUTS compiles per
    call) and ``cache_hit``. Every fit uses the same ``seed``. ``table`` is a StudyTable,
    MetaData or DataFrame; ``options`` go to `BayesianMeta`
    (e.g. ``target_accept``, ``sampler``, ``centred``). ``progress``: a counter of fits
    done, with the time left, on stderr when it is a terminal (`bayesmeta.progress`).
    """
    from bayesmeta.hierarchical import BayesianMeta, cache_info
    from bayesmeta.hierarchical.bayesian_meta import as_data

    level = check_level(level)
    mu = parse_prior(mu_prior, "mu")
    priors = [p for grid in expand(tau_priors, "tau") for p in grid.priors]
    options = {"warn": False} | options
    from bayesmeta.progress import Counter, on_terminal

    data = None
    rows = []
    bar = Counter(len(priors), "refit", progress and on_terminal())
    for prior in priors:
        bm = BayesianMeta(
            model,
            mu_prior=mu,
            tau_prior=prior,
            prior_data=True,
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            level=level,
            **options,
        )
        if bm.spec.tau_by_subgroup:
            raise InputError("refit_sweep summarises one tau: tau_by_subgroup is not supported")
        if data is None:
            data = as_data(table, prepost=bm.spec.prepost)
        before = cache_info()["compilations"]
        bm.fit(data)
        post = bm.idata_["posterior"]
        d = bm.diagnostics_
        row: dict[str, Any] = {"tau_prior": prior.text, "mu_prior": mu.text,
                               "tau_family": prior.family}  # fmt: skip
        for name in ("mu", "tau"):
            row |= {f"{name}_{k}": v for k, v in _summary(post[name], level).items()}
        row |= {k: d[k] for k in ("divergences", "max_rhat", "min_ess_bulk", "min_ess_tail",
                                  "min_bfmi")}  # fmt: skip
        row |= {
            "warnings": "; ".join(bm.warnings_),
            "compiled": cache_info()["compilations"] > before,
            "cache_hit": bm.cache_hit_,
            "sampling_time": bm.sampling_time_,
        }
        rows.append(row)
        bar.step(prior.text)
    out = pd.DataFrame(rows, columns=list(REFIT_COLUMNS))
    out.attrs |= {"level": level, "model": model, "draws": draws, "tune": tune,
                  "chains": chains, "seed": seed}  # fmt: skip
    return out

"""One call for a Bayesian random-effects posterior from either engine.

``engine="exact"`` integrates over tau (`bayesmeta.exact`); ``engine="pymc"``
samples the same model with PyMC (`bayesmeta.hierarchical`). With subgroups,
both fit subgroup means with one common tau (the exact engine's
``subgroup_analysis``; PyMC's ``subgroup`` model with fixed subgroup means).
"""

from __future__ import annotations

from typing import Literal, cast

from bayesmeta.errors import InputError
from bayesmeta.priors import parse_prior
from bayesmeta.results import MetaResult
from bayesmeta.studies import StudyTable

ENGINES = ("exact", "pymc")
INTERVALS = ("central", "shortest")


def posterior(
    table: StudyTable,
    *,
    engine: str = "exact",
    mu_prior: str | None = None,
    tau_prior: str | None = None,
    interval: str = "central",
    level: float = 0.95,
    draws: int = 2000,
    chains: int = 4,
    seed: int = 20201,
    progress: bool = False,
) -> MetaResult:
    """Posterior of the normal-normal model (subgroup means if ``table.subgroup``).

    The model is ``y_i ~ N(theta_i, vi)``, ``theta_i ~ N(mu, tau^2)`` with the priors
    ``mu ~ mu_prior`` and ``tau ~ tau_prior`` (Roever 2020, JSS 93(6)).

    With subgroups each subgroup g has its own mean beta_g (prior ``mu_prior``) and all
    share one tau, as R bayesmeta ``bmr()`` with subgroup indicators and brms
    ``yi | se(sei) ~ 0 + group + (1 | study)``. Both engines then report at the top level
    the numbers of that one model: ``tau`` is the common tau, ``mu`` the study-weighted mean
    of the subgroup means, sum_g (k_g / k) beta_g, and no overall prediction interval (each
    subgroup has its own in ``subgroups``). The fit that ignores the subgroups (RevMan's
    overall diamond) is in ``extra["overall_ignoring_subgroups"]`` (exact engine).

    Args:
        table: the studies (``yi``, ``vi``; ``subgroup`` optional).
        engine: ``"exact"`` (default; numerical integration over tau, no sampling) or
            ``"pymc"`` (MCMC).
        mu_prior: prior of mu as text; default (None) ``"flat"`` (`bayesmeta.defaults`).
        tau_prior: prior of tau as text, any form `bayesmeta.priors.parse_prior` reads;
            default (None) the scale-aware rule of `bayesmeta.defaults` (from the table's
            sample sizes, measure and standard errors).
        interval: ``"central"`` (default, equal tails) or ``"shortest"`` credible interval.
        level: credible level, default 0.95.
        draws: draws per chain (PyMC only, default 2000).
        chains: number of chains (PyMC only, default 4).
        seed: random seed (PyMC only, default 20201).
        progress: PyMC only: show the sampler's progress (chains, draws, divergences) on a
            terminal's stderr (default False).

    Returns:
        A Bayesian `MetaResult`: ``estimate`` is the posterior median of mu, ``posterior``
        the table of mu, tau and theta_new.

    Raises:
        InputError: unknown engine or interval, level outside (0, 1), or a bad prior.

    Same numbers as R bayesmeta 3.4 for the Crins et al. data with these priors (shortest
    95% interval of mu [-2.2307, -0.9266], tau [0, 0.8607]); Roever (2020, JSS 93(6),
    section 3.3) publishes medians mu -1.5735, tau 0.3445 and mu [-2.2311, -0.9263] from a
    coarser grid:

    Examples:
        >>> from bayesmeta import StudyTable, datasets
        >>> from bayesmeta.effects import log_or
        >>> from bayesmeta.posterior import posterior
        >>> d = datasets.load("crins2014")
        >>> es = log_or(d["exp.AR.events"], ci=d["cont.AR.events"],
        ...             n1i=d["exp.total"], n2i=d["cont.total"])
        >>> res = posterior(StudyTable.from_arrays(es.yi, es.vi), interval="shortest",
        ...                 mu_prior="normal(0, 4)", tau_prior="halfnormal(0.5)")
        >>> print(res.posterior.loc[["mu", "tau"], ["median", "ci_low", "ci_high"]].round(4))
               median  ci_low  ci_high
        param
        mu    -1.5735 -2.2307  -0.9266
        tau    0.3445  0.0000   0.8607
    """
    engine = engine.lower()
    if engine not in ENGINES:
        raise InputError(f"unknown engine '{engine}'; valid engines: {', '.join(ENGINES)}")
    if interval not in INTERVALS:
        raise InputError(f"unknown interval '{interval}'; valid: {', '.join(INTERVALS)}")
    kind = cast(Literal["central", "shortest"], interval)  # checked just above
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1 (got {level})")
    # bad prior text fails here, before any engine starts; a None prior is left to the
    # engine, which applies the default rule of bayesmeta.defaults and records it
    mu = None if mu_prior is None else parse_prior(mu_prior, "mu")
    tau = None if tau_prior is None else parse_prior(tau_prior, "tau")
    if engine == "exact":
        from bayesmeta.exact import NormalNormal, subgroup_analysis

        if table.subgroup is not None:
            return subgroup_analysis(
                table.yi,
                table.sei,
                table.subgroup.tolist(),
                tau,
                mu,
                table.study.tolist(),
                n=table.ni,
                measure=table.measure,
                level=level,
                interval=interval,
            )
        return NormalNormal.from_table(table, tau, mu).to_result(level, interval)

    from bayesmeta.hierarchical import BayesianMeta

    model = "subgroup" if table.subgroup is not None else "normal"
    fitter = BayesianMeta(
        model,
        mu_prior=mu,
        tau_prior=tau,
        draws=draws,
        chains=chains,
        seed=seed,
        level=level,
        interval=kind,
        progress=progress,
    )
    return fitter.fit(table).to_result()

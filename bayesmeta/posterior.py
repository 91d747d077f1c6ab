"""One call for a Bayesian random-effects posterior from either engine.

``engine="exact"`` integrates over tau (:mod:`bayesmeta.exact`); ``engine="pymc"``
samples the same model with PyMC (:mod:`bayesmeta.hierarchical`). With subgroups,
both fit subgroup means with one common tau (the exact engine's
``subgroup_analysis``; PyMC's ``subgroup`` model with fixed subgroup means).
"""

from __future__ import annotations

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
    mu_prior: str = "normal(0, 4)",
    tau_prior: str = "halfnormal(0.5)",
    interval: str = "central",
    level: float = 0.95,
    draws: int = 2000,
    chains: int = 4,
    seed: int = 20201,
) -> MetaResult:
    """Posterior of the normal-normal model (subgroup means if ``table.subgroup``).

    Priors are strings as :func:`bayesmeta.priors.parse_prior` reads them; bad ones
    raise :class:`InputError`. ``draws``/``chains``/``seed`` matter for PyMC only.
    """
    engine = engine.lower()
    if engine not in ENGINES:
        raise InputError(f"unknown engine '{engine}'; valid engines: {', '.join(ENGINES)}")
    if interval not in INTERVALS:
        raise InputError(f"unknown interval '{interval}'; valid: {', '.join(INTERVALS)}")
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1 (got {level})")
    mu = parse_prior(mu_prior, "mu")
    tau = parse_prior(tau_prior, "tau")
    if engine == "exact":
        from bayesmeta.exact import NormalNormal, subgroup_analysis

        if table.subgroup is not None:
            return subgroup_analysis(
                table.yi,
                table.sei,
                table.subgroup,
                tau,
                mu,
                table.study,
                level=level,
                interval=interval,
            )
        return NormalNormal(table.yi, table.sei, tau, mu, table.study).to_result(level, interval)

    from bayesmeta.hierarchical import BayesianMeta

    model = "subgroup" if table.subgroup is not None else "normal"
    fitter = BayesianMeta(
        model,
        mu_prior=mu.text,
        tau_prior=tau.text,
        draws=draws,
        chains=chains,
        seed=seed,
        level=level,
        interval=interval,
    )
    return fitter.fit(table).to_result()

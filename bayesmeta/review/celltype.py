r"""The hierarchical cell-type model on the published subgroup summaries.

Per disease and outcome, the cell types are the units: ``y_c ~ N(theta_c, se_c^2)`` with the
published subgroup MD ``y_c`` and the SE its CI implies, ``theta_c ~ N(mu, tau^2)``; ``tau`` is
the between-cell-type SD. Priors come from the spec (``priors.cell_type_model``): ``mu`` a normal
effect prior and ``tau ~ half-normal(scale D)``, D the reference difference of the outcome.

* **Exact**: `bayesmeta.exact.NormalNormal` (1-D integration over tau) gives the
  posteriors of mu, tau and the shrunken theta_c. Their ArviZ summary is computed from i.i.d.
  draws of the exact joint posterior (`NormalNormal.draws`).
* **PyMC cross-check**: the same model with `bayesmeta.hierarchical.fit()`. The model is
  scale-equivariant (normal likelihood, location-scale priors), so it is fitted to
  ``y / D`` and ``se / D`` with priors in units of D and the draws are multiplied back by D.
  All outcomes then share one model graph and shape: nutpie compiles it once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from bayesmeta.review.published import analysis_stats
from bayesmeta.review.spec import ReviewSpec, _g
from bayesmeta.review.summaries import draws_tree, summarize


@dataclass(frozen=True)
class PosteriorSummary:
    """Median, mean, sd, central interval and P(benefit) of one scalar posterior."""

    median: float
    mean: float
    sd: float
    ci_low: float
    ci_high: float
    p_benefit: float


@dataclass
class CellTypeFit:
    """Exact (and optionally PyMC) posteriors of the cell-type model for one outcome."""

    disease: str
    outcome: str
    labels: tuple[str, ...]
    y: np.ndarray
    se: np.ndarray
    scale: float  # D
    mu_prior: str
    tau_prior: str
    exact: dict[str, PosteriorSummary]
    exact_summary: pd.DataFrame
    exact_tree: Any = None
    densities: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    pymc: dict[str, PosteriorSummary] = field(default_factory=dict)
    pymc_summary: pd.DataFrame | None = None
    pymc_diagnostics: dict[str, Any] = field(default_factory=dict)
    pymc_warnings: list[str] = field(default_factory=list)
    pymc_settings: dict[str, str] = field(default_factory=dict)
    pymc_tree: Any = None
    pymc_time: float = 0.0

    @property
    def tau_prior_summary(self) -> tuple[float, float, float]:
        """Median and central 95 % interval of the tau prior (for the report)."""
        from bayesmeta.priors import parse_prior

        prior = parse_prior(self.tau_prior, "tau")
        q = np.asarray(prior.ppf([0.5, 0.025, 0.975]), dtype=float)
        return float(q[0]), float(q[1]), float(q[2])

    def param(self, subgroup: str) -> str:
        """The parameter a published row is compared with: mu (overall) or theta[cell type]."""
        return "mu" if subgroup == "all" else f"theta[{subgroup}]"


def _quantiles(marginal: Any, p: np.ndarray) -> np.ndarray:
    """Quantiles of an exact marginal, each verified by its CDF (|F(q) - p| <= 1e-9).

    A quantile that fails the check is re-solved with Brent's method on the marginal's own
    CDF (a guard: an earlier engine version returned a bracket midpoint when Newton hit F = p
    exactly; tested with a deliberately wrong marginal).
    """
    p = np.atleast_1d(np.asarray(p, dtype=float))
    q = np.asarray(marginal.quantile(p), dtype=float).reshape(p.shape)
    err = np.abs(np.asarray(marginal.cdf(q), dtype=float).reshape(p.shape) - p)
    for i in np.flatnonzero(~(err <= 1e-9)):
        centre, width = float(marginal.mean), max(float(marginal.sd), 1e-12)
        lo, hi = centre - width, centre + width
        while float(marginal.cdf(lo)) > p[i]:
            lo = centre - 2 * (centre - lo)
        while float(marginal.cdf(hi)) < p[i]:
            hi = centre + 2 * (hi - centre)
        q[i] = optimize.brentq(
            lambda x, t=p[i]: float(marginal.cdf(x)) - t, lo, hi, xtol=1e-13, rtol=1e-13
        )
    return q


def _marginal_summary(marginal: Any, sign: int, level: float) -> PosteriorSummary:
    med, lo, hi = _quantiles(marginal, np.array([0.5, (1 - level) / 2, (1 + level) / 2]))
    below0 = float(np.asarray(marginal.cdf(0.0)))
    p_benefit = 1.0 - below0 if sign > 0 else below0
    return PosteriorSummary(
        float(med), float(marginal.mean), float(marginal.sd), float(lo), float(hi), p_benefit
    )


def subgroup_summaries(
    spec: ReviewSpec, disease: str, outcome: str
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """The cell types of one outcome with their published MDs and implied SEs (the units)."""
    subs = spec.subgroups(disease, outcome)
    stats = [analysis_stats(s, spec.level) for s in subs]
    return (
        tuple(s.subgroup for s in subs),
        np.array([s.md for s in stats]),
        np.array([s.se for s in stats]),
    )


def fit_exact(
    spec: ReviewSpec,
    disease: str,
    outcome: str,
    rng: np.random.Generator,
    n_draws: int = 4000,
    chains: int = 4,
    grid: int = 400,
) -> CellTypeFit:
    """The exact cell-type posterior for one outcome (see the module docstring)."""
    from bayesmeta.exact import NormalNormal

    labels, y, se = subgroup_summaries(spec, disease, outcome)
    d = spec.reference_difference(disease, outcome)
    mu_prior, tau_prior = (
        spec.mu_prior_text(disease, outcome),
        spec.tau_prior_text(disease, outcome),
    )
    nn = NormalNormal(y, se, tau_prior=tau_prior, mu_prior=mu_prior, labels=list(labels))
    sign = spec.outcomes[outcome].sign
    marginals = {"mu": nn.mu, "tau": nn.tau, "theta_new": nn.theta_new}
    for lab in labels:
        marginals[f"theta[{lab}]"] = nn.theta(lab)
    exact = {k: _marginal_summary(m, sign, spec.level) for k, m in marginals.items()}
    joint = nn.draws(n_draws, rng)
    draws = {"mu": joint["mu"], "tau": joint["tau"], "theta": joint["theta"]}
    tree = draws_tree(
        draws, chains=chains, dims={"theta": ["cell_type"]}, coords={"cell_type": labels}
    )
    summary = summarize(tree, ci_prob=spec.level)
    densities: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for k, m in marginals.items():
        lo, hi = _quantiles(m, np.array([0.0005, 0.9995]))
        x = np.linspace(0.0 if k == "tau" else lo, hi, grid)
        densities[k] = (x, np.asarray(m.pdf(x), dtype=float))
    return CellTypeFit(
        disease, outcome, labels, y, se, d, mu_prior, tau_prior, exact, summary, tree, densities
    )


def standardised_priors(spec: ReviewSpec, outcome: str) -> tuple[str, str]:
    """(mu prior, tau prior) of the cell-type model in units of D (same for every outcome)."""
    p = spec.effect_priors[spec.cell_type_prior.mu]
    sign = spec.outcomes[outcome].sign
    mu = f"normal({_g(sign * p.mean + 0.0)}, {_g(p.sd)})"
    tau = f"{spec.cell_type_prior.tau_family}({_g(spec.cell_type_prior.tau_scale)})"
    return mu, tau


def fit_pymc(
    fit: CellTypeFit,
    spec: ReviewSpec,
    *,
    seed: int,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    cores: int | None = None,
    target_accept: float = 0.99,
) -> CellTypeFit:
    """Add the PyMC cross-check to ``fit`` (standardised by D; see the module docstring)."""
    from bayesmeta.hierarchical import fit as hfit
    from bayesmeta.studies import StudyTable

    mu_prior, tau_prior = standardised_priors(spec, fit.outcome)
    d = fit.scale
    table = StudyTable.from_arrays(fit.y / d, sei=fit.se / d, study=list(fit.labels))
    t0 = time.perf_counter()
    bm = hfit(
        table,
        "normal",
        mu_prior=mu_prior,
        tau_prior=tau_prior,
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores,
        seed=seed,
        target_accept=target_accept,
        prior_draws=0,  # the cross-check needs the posterior only
        level=spec.level,
        warn=False,
    )
    post = bm.idata_["posterior"]
    sign = spec.outcomes[fit.outcome].sign
    flat: dict[str, np.ndarray] = {
        "mu": d * np.asarray(post["mu"].values).reshape(-1),
        "tau": d * np.asarray(post["tau"].values).reshape(-1),
    }
    theta = d * np.asarray(post["theta"].values).reshape(-1, len(fit.labels))
    tree = draws_tree(
        {"mu": flat["mu"], "tau": flat["tau"], "theta": theta},
        chains=int(post.sizes["chain"]),
        dims={"theta": ["cell_type"]},
        coords={"cell_type": fit.labels},
    )
    summary = summarize(tree, ci_prob=spec.level)
    for j, lab in enumerate(fit.labels):
        flat[f"theta[{lab}]"] = theta[:, j]
    out: dict[str, PosteriorSummary] = {}
    for name, x in flat.items():
        if name in summary.index:
            lo, hi = float(summary["ci_low"].loc[name]), float(summary["ci_high"].loc[name])
        else:
            q = np.quantile(x, [(1 - spec.level) / 2, (1 + spec.level) / 2])
            lo, hi = float(q[0]), float(q[1])
        p_benefit = float(np.mean(sign * x > 0))
        out[name] = PosteriorSummary(
            float(np.median(x)),
            float(np.mean(x)),
            float(np.std(x, ddof=1)),
            lo,
            hi,
            p_benefit,
        )
    fit.pymc = out
    fit.pymc_summary = summary
    fit.pymc_diagnostics = dict(bm.diagnostics_)
    fit.pymc_warnings = list(bm.warnings_)
    fit.pymc_settings = {
        **bm.settings(),
        "standardised": f"fitted to y/D and se/D with D = {_g(d)}; draws multiplied by D",
        "cache_hit": str(bm.cache_hit_),
    }
    fit.pymc_tree = tree
    fit.pymc_time = time.perf_counter() - t0
    return fit


def fit_all(
    spec: ReviewSpec,
    *,
    seed: int,
    mcmc: bool = True,
    progress: Callable[[str], None] | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    cores: int | None = None,
) -> dict[tuple[str, str], CellTypeFit]:
    """Exact (and with ``mcmc`` PyMC) cell-type fits of every outcome with subgroups."""
    say = progress or (lambda _m: None)
    ss = np.random.SeedSequence(seed)
    fits: dict[tuple[str, str], CellTypeFit] = {}
    groups = [g for g in spec.groups() if len(spec.subgroups(*g)) >= 2]
    children = ss.spawn(2 * len(groups))
    for i, (d, o) in enumerate(groups):
        f = fit_exact(spec, d, o, np.random.default_rng(children[2 * i]))
        if mcmc:
            say(f"cell-type model {d} {o}: PyMC cross-check (NUTS, {chains} chains)")
            sub_seed = int(children[2 * i + 1].generate_state(1)[0])
            fit_pymc(f, spec, seed=sub_seed, draws=draws, tune=tune, chains=chains, cores=cores)
        fits[(d, o)] = f
    return fits


def labels_of(fits: Sequence[CellTypeFit]) -> list[str]:
    """``"disease/outcome"`` labels of cell-type fits."""
    return [f"{f.disease}/{f.outcome}" for f in fits]

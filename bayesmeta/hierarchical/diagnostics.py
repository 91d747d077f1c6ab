"""Sampling diagnostics after every fit, and warnings that name the problem and the remedy.

* rank-normalised split R-hat (Vehtari et al. 2021, Bayesian Analysis 16:667): warn if > 1.01;
* bulk and tail effective sample size: warn if < 100 per chain (ibid., section 4);
* divergent transitions after warm-up (Betancourt 2017, arXiv:1701.02434): warn if any;
* E-BFMI = sum_t (E_t - E_{t-1})^2 / sum_t (E_t - mean E)^2 per chain (Betancourt 2016,
  arXiv:1604.00695): warn if < 0.3;
* trajectories that hit the maximum tree depth: warn if any (efficiency, not validity).

R-hat, ESS and E-BFMI come from ArviZ (``arviz_stats``); variables that are constant across
draws (R-hat undefined) are skipped.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import arviz as az
import numpy as np
import xarray as xr

RHAT_MAX = 1.01
ESS_PER_CHAIN = 100
BFMI_MIN = 0.3


class SamplingWarning(UserWarning):
    """MCMC diagnostics suggest the draws do not represent the posterior well.

    A `UserWarning`, so the standard ``warnings`` filters control it.

    Examples:
        >>> import warnings
        >>> from bayesmeta.hierarchical import SamplingWarning
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore", SamplingWarning)  # silence only these
        ...     warnings.warn("R-hat 1.05 > 1.01 for mu", SamplingWarning)
        >>> issubclass(SamplingWarning, UserWarning)
        True
    """


def _stacked(ds: xr.Dataset) -> tuple[np.ndarray, list[str]]:
    """Every scalar of every variable as rows of one (n, chain, draw) array, with the names
    ('name[label]'), variable by variable in order, elements in C order."""
    rows, names = [], []
    for name, da in ds.data_vars.items():
        other = [d for d in da.dims if d not in ("chain", "draw")]
        arr = np.asarray(da.transpose(*other, "chain", "draw").values, dtype=float)
        shape = arr.shape[:-2]
        rows.append(arr.reshape(-1, *arr.shape[-2:]))
        for idx in np.ndindex(*shape):
            labels = [str(da[d].values[i]) if d in da.coords else str(i)
                      for d, i in zip(other, idx, strict=True)]  # fmt: skip
            names.append(f"{name}[{', '.join(labels)}]" if labels else str(name))
    return np.concatenate(rows) if rows else np.empty((0, 1, 1)), names


def _pick(vals: np.ndarray, names: list[str], worst: str) -> tuple[float, str]:
    if vals.size == 0 or np.all(np.isnan(vals)):
        return math.nan, ""
    i = int(np.nanargmax(vals) if worst == "max" else np.nanargmin(vals))
    return float(vals[i]), names[i]


def _varying(posterior: xr.Dataset) -> xr.Dataset:
    """Drop variables that are constant over all draws (fixed quantities)."""
    keep = [
        n for n, da in posterior.data_vars.items() if float(da.std(("chain", "draw")).max()) > 0.0
    ]
    return posterior[keep]


class Diagnostics(dict[str, Any]):
    """The dict `diagnose` returns; it prints as one readable line.

    Examples:
        >>> from bayesmeta.hierarchical.diagnostics import Diagnostics
        >>> Diagnostics({"max_rhat": 1.00412, "divergences": 0, "chains": 4, "draws": 1000})
        R-hat max 1.004; 0 divergences; 4 chains x 1000 draws
    """

    def __repr__(self) -> str:
        from bayesmeta.summary_text import diagnostics_line

        return diagnostics_line(self)

    __str__ = __repr__


def diagnose(idata: Any) -> Diagnostics:
    """max R-hat, min bulk/tail ESS (and where), divergences, min E-BFMI, tree-depth hits.

    ``idata`` is a DataTree (or ArviZ tree) with ``posterior`` and ``sample_stats`` groups;
    constant variables are skipped. Returns a dict with ``max_rhat``, ``min_ess_bulk``,
    ``min_ess_tail``, ``divergences``, ``min_bfmi``, ``treedepth_hits``, ``chains``,
    ``draws`` and the parameters where the extremes occur (``max_rhat_param``, ...).

    Examples:
        Four chains of independent draws, one of them shifted by 3, with three divergences:

        >>> import arviz as az
        >>> import numpy as np
        >>> from bayesmeta.hierarchical import diagnose
        >>> rng = np.random.default_rng(0)
        >>> post = {"mu": rng.normal(size=(4, 200)), "tau": np.abs(rng.normal(size=(4, 200)))}
        >>> post["mu"][0] += 3.0
        >>> stats = {"diverging": np.arange(800).reshape(4, 200) < 3,
        ...          "energy": rng.normal(size=(4, 200))}
        >>> diag = diagnose(az.from_dict({"posterior": post, "sample_stats": stats}))
        >>> print(f"{diag['max_rhat']:.2f}", diag["max_rhat_param"], diag["divergences"])
        1.48 mu 3
    """
    post = _varying(idata["posterior"].to_dataset())
    stats = idata["sample_stats"].to_dataset()
    chains, draws = int(post.sizes["chain"]), int(post.sizes["draw"])
    from arviz_stats.base import array_stats
    from arviz_stats.validate import validate_ci_prob

    arr, names = _stacked(post)  # one vectorised call per statistic, not one per variable
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rhat, rhat_at = _pick(array_stats.rhat(arr), names, "max")
        bulk, bulk_at = _pick(array_stats.ess(arr, method="bulk"), names, "min")
        tail, tail_at = _pick(
            array_stats.ess(arr, method="tail", prob=validate_ci_prob(None)), names, "min"
        )
    div = int(stats["diverging"].sum()) if "diverging" in stats else 0
    depth_name = next(
        (n for n in ("maxdepth_reached", "reached_max_treedepth") if n in stats), None
    )
    depth = int(stats[depth_name].sum()) if depth_name else 0
    bfmi = math.nan
    if "energy" in stats:
        bfmi = float(az.bfmi(stats[["energy"]], group=None)["energy"].min())
    return Diagnostics(
        {
            "max_rhat": rhat,
            "min_ess_bulk": bulk,
            "min_ess_tail": tail,
            "divergences": div,
            "min_bfmi": bfmi,
            "treedepth_hits": depth,
            "chains": chains,
            "draws": draws,
            "max_rhat_param": rhat_at,
            "min_ess_bulk_param": bulk_at,
            "min_ess_tail_param": tail_at,
        }
    )


def diagnostic_warnings(
    diag: dict[str, Any], *, centred: bool, target_accept: float, draws: int, tune: int
) -> list[str]:
    """One message per failed check, each naming the problem and what to do.

    ``diag`` is the output of `diagnose()`; thresholds: R-hat > 1.01, bulk or tail ESS
    < 100 per chain, any divergence, E-BFMI < 0.3, any tree-depth hit. The non-centred
    form suits weakly informative studies (sei large relative to tau); the centred form
    suits precise ones (Papaspiliopoulos, Roberts & Skold 2007, Stat Sci
    22:59-73; Betancourt & Girolami 2015), so the remedy depends on the parameterisation.

    Examples:
        >>> from bayesmeta.hierarchical import diagnostic_warnings
        >>> diag = {"chains": 4, "draws": 1000, "divergences": 12, "max_rhat": 1.002,
        ...         "min_ess_bulk": 1500.0, "min_ess_tail": 1200.0, "min_bfmi": 0.8,
        ...         "treedepth_hits": 0}
        >>> msgs = diagnostic_warnings(diag, centred=True, target_accept=0.9, draws=1000,
        ...                            tune=1000)
        >>> print(msgs[0])
        12 divergent transitions after warm-up (0.3% of draws): the posterior may be biased
        (funnel between tau and the study effects); raise target_accept (now 0.9; try 0.95
        or 0.99) or use the non-centred parameterisation (centred=False)
    """
    out = []
    n = diag["chains"] * diag["draws"]
    if diag["divergences"] > 0:
        fix = f"raise target_accept (now {target_accept:g}; try 0.95 or 0.99)"
        fix += (
            " or use the non-centred parameterisation (centred=False)"
            if centred
            else (
                ", or, if the studies are precise relative to tau (sei << tau), the centred "
                "parameterisation (centred=True); or a more informative tau prior"
            )
        )
        out.append(
            f"{diag['divergences']} divergent transitions after warm-up "
            f"({100 * diag['divergences'] / n:.1f}% of draws): the posterior may be biased "
            f"(funnel between tau and the study effects); {fix}"
        )
    if diag["max_rhat"] > RHAT_MAX:
        fix = (
            "reparametrise (centred=False)"
            if centred
            else "reparametrise (centred=True if sei << tau) or check the priors"
        )
        out.append(
            f"R-hat {diag['max_rhat']:.3f} > {RHAT_MAX} for {diag['max_rhat_param']}: "
            f"the chains disagree; run longer (more draws and tune, e.g. draws="
            f"{2 * draws}, tune={2 * tune}) or {fix}"
        )
    ess_min = ESS_PER_CHAIN * diag["chains"]
    for kind in ("bulk", "tail"):
        v = diag[f"min_ess_{kind}"]
        if v < ess_min:
            out.append(
                f"{kind} ESS {v:.0f} < {ess_min} ({ESS_PER_CHAIN} per chain) for "
                f"{diag[f'min_ess_{kind}_param']}: {kind} summaries (intervals, "
                f"{'means and medians' if kind == 'bulk' else 'tail quantiles'}) are "
                f"imprecise; increase draws (e.g. draws={2 * draws})"
            )
    if diag["min_bfmi"] < BFMI_MIN:
        fix = "use the non-centred parameterisation (centred=False), " if centred else ""
        out.append(
            f"E-BFMI {diag['min_bfmi']:.2f} < {BFMI_MIN}: the sampler explores the "
            f"energy distribution poorly (heavy tails or a funnel); {fix}increase tune "
            f"(e.g. tune={2 * tune}) or use a more informative tau prior"
        )
    if diag["treedepth_hits"] > 0:
        out.append(
            f"{diag['treedepth_hits']} transitions hit the maximum tree depth: sampling "
            f"is inefficient; reparametrise or raise max_treedepth"
        )
    return out


def warn_all(messages: list[str]) -> None:
    """Issue each message as a `SamplingWarning`.

    Examples:
        >>> import warnings
        >>> from bayesmeta.hierarchical.diagnostics import SamplingWarning, warn_all
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     warn_all(["R-hat 1.05 > 1.01 for mu", "2 divergent transitions"])
        >>> [(w.category.__name__, str(w.message)) for w in caught]
        [('SamplingWarning', 'R-hat 1.05 > 1.01 for mu'),
         ('SamplingWarning', '2 divergent transitions')]
    """
    for m in messages:
        warnings.warn(m, SamplingWarning, stacklevel=3)

"""Prior sensitivity through the exact engine: one posterior summary per prior combination.

For every tau prior x mu prior (each possibly a swept family,
`bayesmeta.sensitivity.grammar`) the exact normal-normal posterior
(`bayesmeta.exact.NormalNormal`; with a subgroup column the common-tau subgroup model
`bayesmeta.exact.NormalNormalRegression` with one mean beta_g ~ mu prior per subgroup, as
`bayesmeta.exact.subgroup_analysis`) is computed and summarised: median and central
``level`` interval of mu and tau, the shortest (highest density) interval of mu and its
width, and P(mu < threshold). Values are those of the individual fits (same code path), so a
sweep row equals ``NormalNormal(...)`` to rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from bayesmeta.errors import InputError
from bayesmeta.exact import NormalNormal, NormalNormalRegression
from bayesmeta.exact.marginal import Marginal, check_level
from bayesmeta.priors import Prior
from bayesmeta.sensitivity.grammar import PriorGrid, expand
from bayesmeta.studies import StudyTable

PriorSpec = str | Prior | Sequence[str | Prior]

COLUMNS = (
    "tau_sweep", "tau_family", "tau_value", "tau_prior",
    "mu_sweep", "mu_value", "mu_prior", "subgroup", "k",
    "mu_mean", "mu_sd", "mu_median", "mu_ci_low", "mu_ci_high",
    "mu_hdi_low", "mu_hdi_high", "mu_hdi_width",
    "tau_median", "tau_ci_low", "tau_ci_high", "threshold", "p_mu_below",
)  # fmt: skip


def as_table(table: StudyTable | pd.DataFrame) -> StudyTable:
    """A validated `StudyTable`: returned as is, or read from a DataFrame.

    The DataFrame needs columns study, yi and vi or sei (`StudyTable.from_frame`); a column
    named subgroup becomes the table's subgroup. Anything else is an InputError.

    Examples:
        >>> from bayesmeta import datasets
        >>> from bayesmeta.sensitivity.sweep import as_table
        >>> d = datasets.load("rubin1981")
        >>> t = as_table(d.rename(columns={"school": "study", "effect": "yi", "stderr": "sei"}))
        >>> t.k, list(t.study[:3])
        (8, ['A', 'B', 'C'])
    """
    if isinstance(table, StudyTable):
        return table
    if isinstance(table, pd.DataFrame):
        sub = "subgroup" if "subgroup" in table.columns else None
        return StudyTable.from_frame(table, subgroup=sub)
    raise InputError("sweep needs a StudyTable or a DataFrame with study, yi and vi/sei")


def tau_quantiles(tau: Any, p: Sequence[float]) -> np.ndarray:
    """Quantiles of an exact p(tau | y) (`bayesmeta.exact.quadrature.TauPosterior`).

    ``tau.quantile(p)`` as a float array: Newton in u = log tau on the panel cdf (upper tail
    through the survival function), started from the cumulated quadrature weights.

    Same as R bayesmeta 3.4 ``qposterior(tau.p = c(0.025, 0.5, 0.975))`` for Rubin (1981),
    halfnormal(10), N(0, 100^2) (tests/fixtures/sensitivity_r.json: 0.1871, 4.0294, 14.0055):

    Examples:
        >>> from bayesmeta import datasets
        >>> from bayesmeta.exact import NormalNormal
        >>> from bayesmeta.sensitivity.sweep import tau_quantiles
        >>> d = datasets.load("rubin1981")
        >>> fit = NormalNormal(d["effect"], d["stderr"], "halfnormal(10)", "normal(0, 100)")
        >>> print(tau_quantiles(fit.tau, [0.025, 0.5, 0.975]).round(4))
        [ 0.1871  4.0294 14.0055]
    """
    return np.asarray(tau.quantile(np.asarray(p, dtype=float)), dtype=float)


def _hdi(mu: Any, level: float, a: float, b: float) -> tuple[float, float]:
    """Shortest interval of a normal-mixture marginal, Newton started from its central
    interval (a, b) already computed (`NormalMixture.shortest` with ``start``)."""
    mix, row = getattr(mu, "mixture", None), getattr(mu, "row", None)
    if mix is None or row is None:
        return mu.interval(level, "shortest")
    lo, hi = mix.shortest([row], level, start=(a, b))
    return float(lo[0]), float(hi[0])


def summarise(mu: Marginal, tau: Marginal, level: float, threshold: float) -> dict[str, float]:
    """The summary columns of one exact posterior, from its mu and tau marginals.

    Median and central ``level`` interval of mu and tau, the mean, sd and shortest
    ``level`` interval (and its width) of mu, ``threshold`` and P(mu < threshold).

    Examples:
        >>> from bayesmeta import datasets
        >>> from bayesmeta.exact import NormalNormal
        >>> from bayesmeta.sensitivity.sweep import summarise
        >>> d = datasets.load("rubin1981")
        >>> fit = NormalNormal(d["effect"], d["stderr"], "halfnormal(10)", "normal(0, 100)")
        >>> s = summarise(fit.mu, fit.tau, level=0.95, threshold=0.0)
        >>> print(f"{s['mu_hdi_low']:.4f} {s['mu_hdi_high']:.4f} {s['p_mu_below']:.4f}")
        -1.3080 17.3415 0.0441
    """
    lo, hi = (1.0 - level) / 2.0, (1.0 + level) / 2.0
    mq = mu.quantile([0.5, lo, hi])
    tq = tau_quantiles(tau, [0.5, lo, hi])
    a, b = _hdi(mu, level, float(mq[1]), float(mq[2]))
    return {
        "mu_mean": mu.mean,
        "mu_sd": mu.sd,
        "mu_median": float(mq[0]),
        "mu_ci_low": float(mq[1]),
        "mu_ci_high": float(mq[2]),
        "mu_hdi_low": a,
        "mu_hdi_high": b,
        "mu_hdi_width": b - a,
        "tau_median": float(tq[0]),
        "tau_ci_low": float(tq[1]),
        "tau_ci_high": float(tq[2]),
        "threshold": threshold,
        "p_mu_below": mu.prob_below(threshold),
    }


def _fits(t: StudyTable, tau: Prior, mu: Prior) -> list[tuple[str, int, Marginal, Marginal]]:
    """(subgroup, k, mu marginal, tau marginal) for one prior pair."""
    sei = t.sei
    if t.subgroup is None:
        fit = NormalNormal(t.yi, sei, tau, mu, list(t.study))
        return [("", t.k, fit.mu, fit.tau)]
    g = [str(v) for v in t.subgroup]
    levels = list(dict.fromkeys(g))
    x = np.array([[1.0 if gi == lv else 0.0 for lv in levels] for gi in g])
    reg = NormalNormalRegression(t.yi, sei, x, tau, mu, list(t.study), levels)
    return [(lv, g.count(lv), reg.beta(j), reg.tau) for j, lv in enumerate(levels)]


def sweep(
    table: StudyTable | pd.DataFrame,
    tau_priors: PriorSpec = "halfnormal(0.1..2, n=20)",
    mu_priors: PriorSpec = "normal(0, 4)",
    threshold: float = 0.0,
    level: float = 0.95,
) -> pd.DataFrame:
    """One row per (tau prior, mu prior[, subgroup]) with the columns of `COLUMNS`.

    Each row summarises the exact posterior of that prior pair (module docstring): the
    same numbers as ``NormalNormal(yi, sei, tau_prior, mu_prior)`` fitted on its own.

    Args:
        table: a `StudyTable` or a DataFrame with study, yi and vi or sei (and optionally
            subgroup: then one row per subgroup, common-tau subgroup model).
        tau_priors: a prior or sweep string (`bayesmeta.sensitivity.grammar`), a `Prior`,
            or a list of them. Default ``"halfnormal(0.1..2, n=20)"``.
        mu_priors: the same for mu. Default ``"normal(0, 4)"``.
        threshold: ``p_mu_below`` is P(mu < threshold | y). Default 0.
        level: interval level. Default 0.95.

    Returns:
        A DataFrame: ``*_sweep`` is the sweep text a row came from, ``*_value`` its swept
        parameter (nan for a single prior), ``subgroup`` is "" without a subgroup column;
        ``df.attrs["level"]`` holds ``level``.

    Raises:
        InputError: bad table, prior text, level or threshold.

    Same as R bayesmeta 3.4 for Rubin (1981) with mu ~ N(0, 100^2)
    (tests/fixtures/sensitivity_r.json; halfnormal(10): mu median 7.9903, tau median 4.0294,
    P(mu < 0) 0.0441):

    Examples:
        >>> from bayesmeta import datasets
        >>> from bayesmeta.sensitivity import sweep
        >>> d = datasets.load("rubin1981")
        >>> df = d.rename(columns={"school": "study", "effect": "yi", "stderr": "sei"})
        >>> res = sweep(df, ["halfnormal(10)", "halfcauchy(10)"], "normal(0, 100)")
        >>> print(res[["tau_prior", "mu_median", "tau_median", "p_mu_below"]].round(4))
                tau_prior  mu_median  tau_median  p_mu_below
        0  halfnormal(10)     7.9903      4.0294      0.0441
        1  halfcauchy(10)     7.9844      3.7981      0.0440
        >>> res = sweep(df, "halfnormal(5..20, n=4)", "normal(0, 100)")
        >>> print(res[["tau_value", "mu_ci_low", "mu_ci_high", "tau_median"]].round(3))
           tau_value  mu_ci_low  mu_ci_high  tau_median
        0        5.0     -0.754      16.683       2.786
        1       10.0     -1.263      17.387       4.029
        2       15.0     -1.559      17.776       4.549
        3       20.0     -1.728      17.994       4.799
    """
    t = as_table(table)
    level = check_level(level)
    threshold = float(threshold)
    if not np.isfinite(threshold):
        raise InputError(f"threshold must be a finite number (got {threshold})")
    tau_grids: list[PriorGrid] = expand(tau_priors, "tau")
    mu_grids: list[PriorGrid] = expand(mu_priors, "mu")
    rows: list[dict[str, Any]] = []
    for tg in tau_grids:
        for tp, tv in zip(tg.priors, tg.values, strict=True):
            for mg in mu_grids:
                for mp, mv in zip(mg.priors, mg.values, strict=True):
                    try:
                        fits = _fits(t, tp, mp)
                        summaries = [
                            (sg, k, summarise(m, ta, level, threshold)) for sg, k, m, ta in fits
                        ]
                    except InputError as err:
                        raise InputError(
                            f"tau prior {tp.text}, mu prior {mp.text}: {err.message}"
                        ) from None
                    for sg, k, summ in summaries:
                        rows.append({
                            "tau_sweep": tg.text, "tau_family": tg.family, "tau_value": tv,
                            "tau_prior": tp.text, "mu_sweep": mg.text, "mu_value": mv,
                            "mu_prior": mp.text, "subgroup": sg, "k": k, **summ,
                        })  # fmt: skip
    out = pd.DataFrame(rows, columns=list(COLUMNS))
    out.attrs["level"] = level
    return out


def to_json(df: pd.DataFrame) -> str:
    """The sweep as JSON text: {"level": ..., "rows": [...]}, one object per row.

    Floats keep 15 significant digits; nan (e.g. ``tau_value`` of a single prior) becomes null.

    Examples:
        >>> import json
        >>> import pandas as pd
        >>> from bayesmeta.sensitivity import sweep, to_json
        >>> df = pd.DataFrame({"study": ["a", "b", "c"], "yi": [0.1, 0.3, -0.2],
        ...                    "vi": [0.04, 0.02, 0.05]})
        >>> obj = json.loads(to_json(sweep(df, ["halfnormal(0.5)", "turner"], "normal(0, 1)")))
        >>> obj["level"], len(obj["rows"]), obj["rows"][0]["tau_value"]
        (0.95, 2, None)
    """
    import json

    rows = json.loads(df.to_json(orient="records", double_precision=15))
    return json.dumps({"level": df.attrs.get("level"), "rows": rows}, indent=1)

"""Prior sensitivity through the exact engine: one posterior summary per prior combination.

For every tau prior x mu prior (each possibly a swept family, :mod:`.grammar`) the exact
normal-normal posterior (:class:`bayesmeta.exact.NormalNormal`; with a subgroup column the
common-tau subgroup model :class:`bayesmeta.exact.NormalNormalRegression` with one mean
beta_g ~ mu prior per subgroup, as :func:`bayesmeta.exact.subgroup_analysis`) is computed and
summarised: median and central ``level`` interval of mu and tau, the shortest (highest
density) interval of mu and its width, and P(mu < threshold). Values are those of the
individual fits (same code path), so a sweep row equals ``NormalNormal(...)`` to rounding.
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
    """A validated :class:`StudyTable` (a DataFrame needs study, yi, vi or sei)."""
    if isinstance(table, StudyTable):
        return table
    if isinstance(table, pd.DataFrame):
        sub = "subgroup" if "subgroup" in table.columns else None
        return StudyTable.from_frame(table, subgroup=sub)
    raise InputError("sweep needs a StudyTable or a DataFrame with study, yi and vi/sei")


def summarise(mu: Marginal, tau: Marginal, level: float, threshold: float) -> dict[str, float]:
    """The sweep columns of one posterior (mu and tau marginals)."""
    lo, hi = (1.0 - level) / 2.0, (1.0 + level) / 2.0
    mq = mu.quantile([0.5, lo, hi])
    tq = tau.quantile([0.5, lo, hi])
    a, b = mu.interval(level, "shortest")
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
    """One row per (tau prior, mu prior[, subgroup]) with the columns of :data:`COLUMNS`.

    ``tau_priors`` / ``mu_priors``: a prior or sweep string, a :class:`Prior`, or a list of
    them. ``*_sweep`` is the sweep text a row came from, ``*_value`` its swept parameter (nan
    for a single prior). ``subgroup`` is "" without a subgroup column. ``df.attrs`` holds
    ``level``.
    """
    t = as_table(table)
    level = check_level(level)
    threshold = float(threshold)
    if not np.isfinite(threshold):
        raise InputError(f"threshold must be a finite number (got {threshold})")
    tau_grids: list[PriorGrid] = expand(tau_priors, "tau")  # type: ignore[arg-type]
    mu_grids: list[PriorGrid] = expand(mu_priors, "mu")  # type: ignore[arg-type]
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
    """The sweep as JSON: {"level": ..., "rows": [...]} (nan -> null)."""
    import json

    rows = json.loads(df.to_json(orient="records", double_precision=15))
    return json.dumps({"level": df.attrs.get("level"), "rows": rows}, indent=1)

"""The re-analysis figures: per outcome a forest plot and posterior densities; a shrinkage plot."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from bayesmeta.plots import (
    Curve,
    ForestRow,
    Interval,
    ShrinkagePanel,
    densities,
    interval_forest,
    shrinkage,
)

if TYPE_CHECKING:
    from bayesmeta.review.results import BayesRow, Reanalysis


def _finite(*xs: float) -> bool:
    return all(x is not None and math.isfinite(x) for x in xs)


def _xlabel(r: Reanalysis, outcome: str) -> str:
    o = r.spec.outcomes[outcome]
    unit = "" if o.unit == "not stated" else f" ({o.unit})"
    return f"MD follow-up minus baseline, {o.label}{unit}; benefit = {o.benefit}"


def _prior_text(b: BayesRow) -> str:
    return f"N({b.prior_mean:.3g}, {b.prior_sd:.3g}^2)"


def forest_rows(r: Reanalysis, disease: str, outcome: str) -> list[ForestRow]:
    """Forest-plot rows of one outcome: overall and subgroups, published against re-analyses."""
    spec = r.spec
    rows = []
    fit = r.celltype.get((disease, outcome))
    sl = r.studylevel.table.set_index("analysis") if r.studylevel is not None else None
    for a in [spec.overall(disease, outcome), *spec.subgroups(disease, outcome)]:
        p = a.published
        ivs = [Interval("published", p.md, p.ci_low, p.ci_high)]
        c = r.classical[a.key]
        if _finite(c.md, c.ci_low, c.ci_high):
            ivs.append(Interval("classical", c.md, c.ci_low, c.ci_high))
        for b in r.bayes[a.key]:
            lo, hi = b.posterior.interval(spec.level)
            ivs.append(Interval(f"{b.prior} prior", b.posterior.median, lo, hi))
        if fit is not None:
            for engine, summaries in (
                ("cell-type model (exact)", fit.exact),
                ("cell-type model (PyMC)", fit.pymc),
            ):
                s = summaries.get(fit.param(a.subgroup))
                if s is not None:
                    ivs.append(Interval(engine, s.median, s.ci_low, s.ci_high))
        if sl is not None and a.key in sl.index and sl.loc[a.key].get("status") == "analysed":
            s = sl.loc[a.key]
            ivs.append(
                Interval(
                    "study level (RevMan method)",
                    s["revman_md"],
                    s["revman_ci_low"],
                    s["revman_ci_high"],
                )
            )
        label = f"{a.subgroup if not a.is_overall else 'Overall'} (k={p.k}, n={p.n})"
        rows.append(ForestRow(label, ivs, bold=a.is_overall))
    return rows


def make_figures(r: Reanalysis, folder: Path) -> list[tuple[str, str]]:
    """Write every figure under ``folder``; returns (caption, path relative to the report)."""
    spec = r.spec
    folder.mkdir(parents=True, exist_ok=True)
    out: list[tuple[str, str]] = []
    for d, o in spec.groups():
        label = spec.outcomes[o].label
        path = interval_forest(
            folder / f"forest_{d}_{o}.png",
            forest_rows(r, d, o),
            title=f"{d} {label}: published, re-analysed and posterior (95% intervals)",
            xlabel=_xlabel(r, o),
        )
        out.append(
            (
                f"Forest plot, {d} {label}: published MD and CI, the classical re-analysis "
                "where the text determines it, posterior medians and 95% credible intervals "
                "under the vague, sceptical and enthusiastic priors, and the cell-type model "
                "(exact engine; PyMC cross-check).",
                f"{folder.name}/{path.name}",
            )
        )
    panels = []
    for (d, o), f in r.celltype.items():
        subs = spec.subgroups(d, o)
        observed = [(s.published.md, s.published.ci_low, s.published.ci_high) for s in subs]
        shr = [f.exact[f.param(s.subgroup)] for s in subs]
        mu = f.exact["mu"]
        panels.append(
            ShrinkagePanel(
                f"{d} {spec.outcomes[o].label} (tau ~ {f.tau_prior})",
                [s.subgroup for s in subs],
                observed,
                [(x.median, x.ci_low, x.ci_high) for x in shr],
                (mu.median, mu.ci_low, mu.ci_high),
                xlabel="MD",
            )
        )
    if panels:
        path = shrinkage(folder / "shrinkage_celltype.png", panels)
        out.append(
            (
                "Cell-type shrinkage (exact engine): published subgroup MDs (black) and the "
                "shrunken cell-type effects (purple) of the hierarchical model on the subgroup "
                "summaries, with the posterior of the overall mean as a band.",
                f"{folder.name}/{path.name}",
            )
        )
    if r.sensitivity is not None and not r.sensitivity.empty:
        from bayesmeta.plots.sensitivity import interval_vs_scale

        for d, o in spec.groups():
            key = f"{d}/{o}/cell-type model"
            rows = r.sensitivity[r.sensitivity["analysis"] == key]
            if rows.empty:
                continue
            label = spec.outcomes[o].label
            path = interval_vs_scale(
                folder / f"sensitivity_{d}_{o}.png",
                rows,
                title=f"{d} {label}, cell-type model: posterior against the tau-prior scale",
            )
            out.append(
                (
                    f"Prior sensitivity, {d} {label} (cell-type model, exact engine): posterior "
                    "median and 95% interval of mu and tau against the scale of half-normal and "
                    "half-Cauchy tau priors.",
                    f"{folder.name}/{path.name}",
                )
            )
    for d, o in spec.groups():
        a = spec.overall(d, o)
        st = r.stats[a.key]
        lo = min(st.md - 5 * st.se, 0.0)
        hi = max(st.md + 5 * st.se, 0.0)
        for b in r.bayes[a.key]:
            if b.prior != "vague":
                lo = min(lo, b.prior_mean - 3 * b.prior_sd)
                hi = max(hi, b.prior_mean + 3 * b.prior_sd)
        x = np.linspace(lo, hi, 600)
        posts = {
            b.prior: Curve(x, b.posterior.pdf(x), f"posterior, {b.prior} prior")
            for b in r.bayes[a.key]
        }
        priors = {
            b.prior: Curve(
                x, stats.norm.pdf(x, b.prior_mean, b.prior_sd), f"{b.prior} prior {_prior_text(b)}"
            )
            for b in r.bayes[a.key]
            if b.prior != "vague"
        }
        fit = r.celltype.get((d, o))
        if fit is not None and "mu" in fit.densities:
            xm, ym = fit.densities["mu"]
            keep = (xm >= lo) & (xm <= hi)
            posts["cell-type model (exact)"] = Curve(
                xm[keep], ym[keep], "cell-type model: posterior of mu (exact)"
            )
        path = densities(
            folder / f"densities_{d}_{o}.png",
            posts,
            priors=priors,
            marks={"no effect": 0.0, "published MD": a.published.md},
            title=f"{d} {spec.outcomes[o].label}, overall: posterior under each prior",
            xlabel=_xlabel(r, o),
        )
        out.append(
            (
                f"Posterior densities, {d} {spec.outcomes[o].label} overall row: the published "
                "estimate combined with each prior (solid; priors dashed, the vague prior is "
                "flat on this scale) and the overall mean of the cell-type model.",
                f"{folder.name}/{path.name}",
            )
        )
    if r.safety is not None and not r.safety.empty:
        from bayesmeta.plots.safety import rates_plot

        fig = rates_plot(r.safety, title="Adverse events per cell type (counts from the text)")
        fig.savefig(folder / "safety_rates.png", dpi=150)
        out.append(
            (
                "Adverse events per cell type: the reported rate with its exact 95 % interval "
                "(black) and the Jeffreys posterior median and 95 % credible interval (blue); "
                "dotted lines at 1 % and 5 %; the rule-of-three bound where no event is reported.",
                f"{folder.name}/safety_rates.png",
            )
        )
    return out

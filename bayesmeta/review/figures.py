"""The re-analysis figures: per outcome a forest plot and posterior densities; a shrinkage plot."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from bayesmeta.plots._style import pyplot
from bayesmeta.sensitivity.review import model_key

if TYPE_CHECKING:
    from bayesmeta.review.results import BayesRow, Reanalysis


@dataclass(frozen=True)
class Job:
    """One figure: ``draw(*args, **kwargs)`` writes it (None: already drawn elsewhere);
    ``caption`` and ``relpath`` (relative to the report) go into the report."""

    draw: Callable[..., Any] | None
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    caption: str
    relpath: str


def _finite(*xs: float) -> bool:
    return all(x is not None and math.isfinite(x) for x in xs)


def _unit(r: Reanalysis, outcome: str) -> str:
    """The outcome's unit as the spec states it, or that the review states none."""
    o = r.spec.outcomes[outcome]
    return "unit not stated in the review" if o.unit == "not stated" else o.unit


def _xlabel(r: Reanalysis, outcome: str) -> str:
    o = r.spec.outcomes[outcome]
    return f"MD follow-up minus baseline, {o.label} ({_unit(r, outcome)}); benefit = {o.benefit}"


def _reference_scale(text: str) -> float | None:
    """The scale of a tau prior's text (``halfnormal(35.76)`` -> 35.76), None if unknown."""
    from bayesmeta.priors import parse_prior

    try:
        params = parse_prior(text, "tau").params
    except Exception:  # noqa: BLE001 - a prior without a scale gets no marker
        return None
    return float(params[-1]) if params else None


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
            adj = spec.subgroup_label.replace(" ", "-")
            for engine, summaries in (
                (f"{adj} model (exact)", fit.exact),
                (f"{adj} model (PyMC)", fit.pymc),
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


def figure_jobs(r: Reanalysis, folder: Path) -> list[Job]:
    """Every figure of the report as a `Job` (what to draw, where, and its caption), in
    report order; nothing is drawn yet."""
    spec = r.spec
    adj = spec.subgroup_label.replace(" ", "-")
    out: list[Job] = []
    for d, o in spec.groups():
        label = spec.outcomes[o].label
        path = folder / f"forest_{d}_{o}.png"
        draw = (interval_forest, (path, forest_rows(r, d, o)),
                {"title": f"{d} {label}: published, re-analysed and posterior (95% intervals)",
                 "xlabel": _xlabel(r, o)})  # fmt: skip
        out.append(
            Job(
                *draw,
                f"Forest plot, {d} {label}: published MD and CI, the classical re-analysis "
                "where the text determines it, posterior medians and 95% credible intervals "
                f"under the vague, sceptical and enthusiastic priors, and the {adj} model "
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
        path = folder / "shrinkage_celltype.png"
        out.append(
            Job(
                shrinkage,
                (path, panels),
                {},
                f"{adj.capitalize()} shrinkage (exact engine): published subgroup MDs (black) "
                f"and the shrunken {adj} effects (purple) of the hierarchical model on the "
                "subgroup summaries, with the posterior of the overall mean as a band.",
                f"{folder.name}/{path.name}",
            )
        )
    if r.sensitivity is not None and not r.sensitivity.empty:
        from bayesmeta.plots.sensitivity import interval_vs_scale

        for d, o in spec.groups():
            key = model_key(spec, d, o)
            rows = r.sensitivity[r.sensitivity["analysis"] == key]
            if rows.empty:
                continue
            label = spec.outcomes[o].label
            fit = r.celltype.get((d, o))
            path = folder / f"sensitivity_{d}_{o}.png"
            kwargs: dict[str, Any] = {
                "title": f"{d} {label}, {adj} model: posterior against the tau-prior scale",
                "reference": _reference_scale(fit.tau_prior) if fit is not None else None,
                "reference_label": "the report's tau prior"
                + (f" ({fit.tau_prior})" if fit is not None else ""),
                "unit": _unit(r, o),
            }
            out.append(
                Job(
                    interval_vs_scale,
                    (path, rows),
                    kwargs,
                    f"Prior sensitivity, {d} {label} ({adj} model, exact engine): posterior "
                    "median (solid) and 95% interval (dashed edges) of mu and tau against the "
                    "scale of half-normal and half-Cauchy tau priors; diamonds and the dotted "
                    "line mark the tau prior the report uses, the black line mu = 0.",
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
            posts[f"{adj} model (exact)"] = Curve(
                xm[keep], ym[keep], f"{adj} model: posterior of mu (exact)"
            )
        path = folder / f"densities_{d}_{o}.png"
        kwargs2: dict[str, Any] = {
            "priors": priors,
            "marks": {"no effect": 0.0, "published MD": a.published.md},
            "title": f"{d} {spec.outcomes[o].label}, overall: posterior under each prior",
            "xlabel": _xlabel(r, o),
        }
        out.append(
            Job(
                densities,
                (path, posts),
                kwargs2,
                f"Posterior densities, {d} {spec.outcomes[o].label} overall row: the published "
                "estimate combined with each prior (solid; priors dashed, the vague prior is "
                f"flat on this scale) and the overall mean of the {adj} model.",
                f"{folder.name}/{path.name}",
            )
        )
    sim = folder.parent / "simulation"
    for name, caption in (
        ("coverage_vs_k", "Coverage of the nominal 95 % interval in the review-shaped "
         "simulation, per method against k (points with +/- 2 MCSE; dashed: nominal level), "
         "one panel per true tau in multiples of the per-study SE."),
        ("width_vs_coverage", "Mean interval width (in per-study SEs) against coverage, one "
         "point per simulated scenario and method (dashed: nominal level)."),
    ):  # fmt: skip
        if (sim / f"{name}.png").exists():  # drawn by the simulation itself
            out.append(Job(None, (), {}, caption, f"{sim.name}/{name}.png"))
    if r.safety is not None and not r.safety.empty:
        out.append(
            Job(
                _safety_figure,
                (folder / "safety_rates.png", r.safety),
                {"title": "Adverse events per cell type (counts from the text)"},
                "Adverse events per cell type: the reported rate with its exact 95 % interval "
                "(black) and the Jeffreys posterior median and 95 % credible interval (blue); "
                "dotted lines at 1 % and 5 %; the rule-of-three bound where no event is reported.",
                f"{folder.name}/safety_rates.png",
            )
        )
    return out


def _safety_figure(path: Path, table: Any, *, title: str) -> Path:
    from bayesmeta.plots.safety import rates_plot

    fig = rates_plot(table, title=title)
    fig.savefig(path, dpi=150, metadata={"Software": None})
    pyplot().close(fig)
    return path


def draw_job(job: Job) -> None:
    """Draw one `Job` (nothing if it was drawn elsewhere)."""
    if job.draw is not None:
        job.draw(*job.args, **job.kwargs)


def make_figures(r: Reanalysis, folder: Path, pool: Any = None) -> list[tuple[str, str]]:
    """Draw every figure under ``folder``; returns (caption, path relative to the report).

    With ``pool`` (a started `bayesmeta.review.figure_worker.FigureWorker`), every second
    figure is drawn there while this process draws the others; if the worker fails, this
    process draws its share too. The files are the same either way."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs = figure_jobs(r, folder)
    drawn = [j for j in jobs if j.draw is not None]
    if pool is None:
        for j in drawn:
            draw_job(j)
    else:
        import threading

        remote, local = drawn[1::2], drawn[::2]
        ok: list[bool] = []
        t = threading.Thread(target=lambda: ok.append(pool.draw(remote)))
        t.start()  # the worker draws while this process does too
        for j in local:
            draw_job(j)
        t.join()
        if not ok or not ok[0]:
            for j in remote:
                draw_job(j)
    return [(j.caption, j.relpath) for j in jobs]

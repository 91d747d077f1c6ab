"""One-call figures of `MetaResult`s: forest (RevMan 5 layout, `bayesmeta.plots.meta_forest`),
funnel and posterior plots, the bias funnel and the model-probability bars.

Each function returns a matplotlib ``Figure`` (``fig.savefig(...)`` writes it); nothing is
written to disk. ``MetaResult.plot_forest()``, ``.plot_funnel()`` and ``.plot_posterior()``
call them. The plots draw what a result carries (its studies, its ``densities()``, its
``measure``) and import no engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from bayesmeta.errors import InputError
from bayesmeta.plots._style import pyplot
from bayesmeta.plots.meta_forest import display_scale, forest_plot

__all__ = ["bias_funnel", "forest_plot", "funnel_plot", "model_probability_plot", "posterior_plot"]


def funnel_plot(
    result: Any,
    *,
    xlabel: str | None = None,
    levels: Sequence[float] = (0.90, 0.95, 0.99),
    centre: float | None = 0.0,
    measure: str | None = None,
) -> Any:
    """Contour-enhanced funnel plot (metafor ``funnel(..., level = c(90, 95, 99),
    refline = 0)``; Peters et al. 2008, J Clin Epidemiol 61:991-996); returns the Figure.

    Standard error on the y axis (inverted), effect on the x axis; shaded regions where a
    study's two-sided p-value against ``centre`` (analysis scale) lies between the
    ``levels``; the pooled estimate as a vertical line with its pseudo 95 % limits. Ratio
    measures are drawn on the ratio scale with a log axis, as RevMan draws them; the axes
    are named by the measure (``measure`` overrides the result's).

    Examples:
        >>> from bayesmeta.classical import pool
        >>> from bayesmeta.inputs import load_studies
        >>> fig = pool(load_studies("crins2014"), "REML").plot_funnel()
        >>> ax = fig.axes[0]
        >>> len(ax.collections[-1].get_offsets()), bool(ax.get_ylim()[0] > ax.get_ylim()[1])
        (6, True)
        >>> ax.get_xscale(), ax.get_xlabel(), ax.get_ylabel()
        ('log', 'Odds ratio (log scale)', 'SE (log odds ratio)')
    """
    st = result.studies
    if st is None or st.empty:
        raise InputError("funnel: the result holds no study rows")
    scale, show = display_scale(result, measure)
    yi = st["yi"].to_numpy(float)
    se = np.sqrt(st["vi"].to_numpy(float))
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 5.0))
    top = float(se.max()) * 1.08
    grid = np.linspace(0.0, top, 100)
    ref = 0.0 if centre is None else centre
    shades = ("0.95", "0.85", "0.75")
    for lev, shade in zip(sorted(levels, reverse=True), shades, strict=False):
        zc = float(stats.norm.isf((1 - lev) / 2))
        ax.fill_betweenx(grid, show(ref - zc * grid), show(ref + zc * grid), color=shade, lw=0,
                         label=f"p > {1 - lev:.2f}"[:10])  # fmt: skip
    z95 = float(stats.norm.isf(0.025))
    est = result.estimate
    ax.plot(show([est - z95 * top, est, est + z95 * top]), [top, 0, top], color="0.3", lw=0.8,
            ls="--")  # fmt: skip
    ax.axvline(float(show(est)), color="0.2", lw=1.0)
    ax.scatter(show(yi), se, color="black", zorder=3, s=22)
    if scale.ratio:
        ax.set_xscale("log")
    ax.set_ylim(top, 0)
    ax.set_xlabel(scale.axis_label if xlabel is None else xlabel)
    ax.set_ylabel(f"SE ({scale.model_label})")
    ax.legend(loc="lower right", fontsize=8, title="contours", title_fontsize=8)
    fig.tight_layout()
    return fig


def posterior_plot(result: Any, *, xlabel: str | None = None, measure: str | None = None) -> Any:
    """Posterior densities of mu, tau and theta_new with the prior overlaid; returns the Figure.

    The curves are the result's `MetaResult.densities` (exact: from the exact posterior;
    PyMC: kernel density of the draws), on the analysis scale (log scale for ratio
    measures), the axes named by the measure.

    Examples:
        >>> from bayesmeta.exact import NormalNormal
        >>> from bayesmeta.inputs import load_studies
        >>> fig = NormalNormal.from_table(load_studies("crins2014")).to_result().plot_posterior()
        >>> [ax.get_title() for ax in fig.axes]
        ['mu', 'tau', 'theta_new']
        >>> [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
        ['posterior', 'prior: halfnormal(0.5)']
        >>> fig.axes[0].get_xlabel(), fig.axes[1].get_xlabel()
        ('mu (log odds ratio)', 'tau (log odds ratio scale)')
    """
    from bayesmeta.priors import parse_prior

    if result.posterior is None:
        raise InputError("plot_posterior needs a Bayesian result (exact or PyMC)")
    scale, _ = display_scale(result, measure)
    unit = scale.model_label if xlabel is None else xlabel
    curves = result.densities()
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for ax, name in zip(axes, ("mu", "tau", "theta_new"), strict=True):
        ax.set_title(name)
        if name not in curves:
            ax.set_visible(False)
            continue
        x, dens = curves[name]
        ax.plot(x, dens, color="tab:blue", lw=1.6, label="posterior")
        prior_text = result.settings.get(f"{name}_prior")
        if prior_text:
            prior = parse_prior(prior_text, "mu" if name == "mu" else "tau")
            if prior.needs_data and result.studies is not None:
                prior = prior.bind(np.sqrt(result.studies["vi"].to_numpy(float)))
            pd_ = prior.pdf(x)
            if prior.family == "flat":
                ax.plot(
                    [], [], color="tab:orange", ls="--", label=f"prior: {prior.text} (improper)"
                )
            else:
                ax.plot(x, pd_, color="tab:orange", ls="--", lw=1.2, label=f"prior: {prior.text}")
        ax.set_xlabel(f"tau ({unit} scale)" if name == "tau" else f"{name} ({unit})")
        ax.set_yticks([])
        ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def bias_funnel(fit: Any, summary: dict[str, Any], *, xlabel: str | None = None) -> Any:
    """The contour-enhanced funnel plot of ``fit`` (the classical REML `MetaResult` of the
    table) with the trim-and-fill studies drawn open, Egger's regression line (limit +
    slope x SE) and the PET (b0 + b1 SE) and PEESE (b0 + b1 SE^2) lines, the one PET-PEESE
    chooses solid; returns the Figure.

    ``summary`` is `bayesmeta.classical.bias.small_study_summary` of the same table.

    Examples:
        >>> from bayesmeta.classical import pool
        >>> from bayesmeta.classical.bias import small_study_summary
        >>> from bayesmeta.inputs import load_studies
        >>> from bayesmeta.plots.meta import bias_funnel
        >>> t = load_studies("crins2014")
        >>> fig = bias_funnel(pool(t, "REML"), small_study_summary(t.yi, t.vi))
        >>> [h.get_label() for h in fig.axes[0].get_lines()][-3:]
        ['Egger line', 'PET (chosen)', 'PEESE']
    """
    fig = funnel_plot(fit, xlabel=xlabel)
    _, show = display_scale(fit)
    ax = fig.axes[0]
    fy, fv = np.asarray(summary["trimfill_filled_yi"]), np.asarray(summary["trimfill_filled_vi"])
    if fy.size:
        ax.scatter(show(fy), np.sqrt(fv), facecolors="white", edgecolors="black", zorder=4,
                   s=22, label=f"filled ({fy.size})")  # fmt: skip
    top = ax.get_ylim()[0]
    se = np.linspace(0.0, top, 50)
    if summary.get("egger_limit") is not None:
        ax.plot(show(summary["egger_limit"] + summary["egger_slope"] * se), se, color="tab:red",
                lw=1.0, label="Egger line")  # fmt: skip
    choice = summary.get("pet_peese_choice")
    for name, x, color in (("PET", se, "tab:purple"), ("PEESE", se**2, "tab:green")):
        b0, b1 = summary.get(name.lower()), summary.get(f"{name.lower()}_slope")
        if b0 is None or b1 is None:
            continue
        chosen = name == choice
        ax.plot(
            show(b0 + b1 * x),
            se,
            color=color,
            lw=1.2 if chosen else 0.9,
            ls="-" if chosen else "--",
            label=f"{name} (chosen)" if chosen else name,
        )
    ax.legend(loc="lower right", fontsize=8)
    return fig


def model_probability_plot(average: Any) -> Any:
    """Prior and posterior probabilities of the four averaged models (fixed / random effects
    x no effect / effect; `bayesmeta.exact.averaging.model_average`) as paired bars, with the
    inclusion Bayes factors in the title; returns the Figure.

    Examples:
        >>> from bayesmeta.exact.averaging import model_average
        >>> from bayesmeta.plots.meta import model_probability_plot
        >>> ma = model_average([0.1, 0.3, 0.5], [0.1, 0.2, 0.15], mu_prior="normal(0, 1)",
        ...                    tau_prior="halfnormal(0.5)")
        >>> fig = model_probability_plot(ma)
        >>> fig.axes[0].get_legend_handles_labels()[1]
        ['prior', 'posterior']
    """
    import matplotlib.pyplot as plt

    t = average.table
    fig, ax = plt.subplots(figsize=(6.0, 3.4), dpi=150)
    x = np.arange(len(t))
    ax.bar(x - 0.2, t["prior"], width=0.4, color="0.75", label="prior")
    bars = ax.bar(x + 0.2, t["posterior"], width=0.4, color="tab:blue", label="posterior")
    for b, p in zip(bars, t["posterior"], strict=True):
        ax.annotate(f"{p:.2f}", (b.get_x() + b.get_width() / 2, p), ha="center", va="bottom",
                    fontsize=8, xytext=(0, 2), textcoords="offset points")  # fmt: skip
    ax.set_xticks(x, [str(m).replace(", ", "\n") for m in t["model"]], fontsize=8)
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("model probability")
    ax.set_title(f"inclusion BF: effect {average.bf_effect:.3g}, heterogeneity "
                 f"{average.bf_heterogeneity:.3g}", fontsize=9)  # fmt: skip
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig

"""One-call figures of `MetaResult`s: forest (RevMan 5 layout), funnel and posterior plots.

Each function returns a matplotlib ``Figure`` (``fig.savefig(...)`` writes it); nothing is
written to disk. ``MetaResult.plot_forest()``, ``.plot_funnel()`` and ``.plot_posterior()``
call them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from bayesmeta.errors import InputError
from bayesmeta.plots._style import pyplot

if TYPE_CHECKING:
    from bayesmeta.results import MetaResult

_COLOURS = ("black", "tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:red")


def _label(res: MetaResult) -> str:
    if res.posterior is not None:
        return f"{res.engine} ({res.settings.get('tau_prior', '')})".replace(" ()", "")
    return f"{res.engine} {res.method}, {res.ci_method}"


def _as_list(results: Any) -> list[tuple[str, MetaResult]]:
    from bayesmeta.results import MetaResult

    if isinstance(results, MetaResult):
        return [(_label(results), results)]
    if isinstance(results, Mapping):
        return [(str(k), v) for k, v in results.items()]
    if (
        isinstance(results, Sequence)
        and results
        and all(isinstance(r, MetaResult) for r in results)
    ):
        return [(_label(r), r) for r in results]
    raise InputError("forest: give a MetaResult, a list of them or a {label: result} mapping")


def _diamond(ax: Any, y: float, est: float, lo: float, hi: float, colour: str, h: float) -> None:
    ax.fill([lo, est, hi, est], [y, y + h, y, y - h], color=colour, zorder=3)


def _ci_text(est: float, lo: float, hi: float, d: int) -> str:
    from bayesmeta.summary_text import num

    return f"{num(est, d)} [{num(lo, d)}, {num(hi, d)}]"


def forest_plot(
    results: Any,
    *,
    xlabel: str = "effect",
    title: str = "",
    reference: float | None = 0.0,
    shrinkage: bool = True,
) -> Any:
    """Forest plot in the RevMan 5 layout; returns the Figure.

    ``results`` is one `MetaResult` or several (a list, or ``{label: result}``) of the same
    studies, drawn side by side. Columns: study, "estimate [CI]" and weight (%) as text,
    the study CIs (z-based from yi, vi) as squares sized by weight; per subgroup its
    diamond; the pooled diamond of each result, its prediction interval as a bar; the test
    for subgroup differences under the plot. Bayesian results overlay the shrunken study
    estimates (posterior medians and intervals) in their colour (``shrinkage=True``).

    Examples:
        >>> from bayesmeta.classical import pool
        >>> from bayesmeta.inputs import load_studies
        >>> fig = pool(load_studies("crins2014"), "REML").plot_forest(xlabel="log OR")
        >>> ax = fig.axes[0]
        >>> texts = [t.get_text() for t in ax.texts]
        >>> "Heffron (2003)" in texts, any(t.startswith("-1.59") for t in texts)
        (True, True)
    """
    from bayesmeta.summary_text import decimals, num

    items = _as_list(results)
    first = items[0][1]
    if first.studies is None or first.studies.empty:
        raise InputError("forest: the result holds no study rows")
    st = first.studies
    z = float(stats.norm.isf((1 - first.level) / 2))
    yi = st["yi"].to_numpy(float)
    se = np.sqrt(st["vi"].to_numpy(float))
    lo, hi = yi - z * se, yi + z * se
    groups = [None] if "subgroup" not in st.columns else list(dict.fromkeys(st["subgroup"]))
    d = decimals(np.concatenate([lo, hi]).tolist())

    # one line per study, a header and a diamond row per subgroup, a row per pooled result
    layout: list[tuple[str, Any]] = []
    for g in groups:
        idx = list(range(len(st))) if g is None else list(np.flatnonzero(st["subgroup"] == g))
        if g is not None:
            layout.append(("header", g))
        layout += [("study", i) for i in idx]
        if g is not None:
            layout.append(("subtotal", g))
    layout += [("pooled", j) for j in range(len(items))]
    if any(r.pi_low is not None for _, r in items):
        layout += [("pi", j) for j, (_, r) in enumerate(items) if r.pi_low is not None]
    n = len(layout)

    plt = pyplot()
    fig = plt.figure(figsize=(11.0, 1.6 + 0.32 * n))
    ax = fig.add_axes((0.42, 0.10, 0.40, 0.82))
    ax.set_ylim(-0.8, n - 0.2)
    ax.set_yticks([])
    trans = ax.get_yaxis_transform()
    ax.text(-0.98, n - 0.3, "Study", transform=trans, fontweight="bold", ha="left", va="bottom")
    est_head = f"Estimate [{round(100 * first.level)}% CI]"
    ax.text(-0.02, n - 0.3, est_head, transform=trans, fontweight="bold", ha="right", va="bottom")
    if "weight" in st.columns:
        ax.text(
            1.17, n - 0.3, "Weight", transform=trans, fontweight="bold", ha="right", va="bottom"
        )
    w = st["weight"].to_numpy(float) if "weight" in st.columns else 1.0 / se**2
    size = 4 + 10 * np.sqrt(w / np.nanmax(w))
    xs: list[float] = list(lo) + list(hi)
    for row, (kind, key) in enumerate(layout):
        y = n - 1 - row
        if kind == "header":
            ax.text(-0.98, y, str(key), transform=trans, fontweight="bold", ha="left", va="center")
        elif kind == "study":
            i = int(key)
            ax.plot([lo[i], hi[i]], [y, y], color="black", lw=1)
            ax.plot([yi[i]], [y], marker="s", color="black", ms=size[i], ls="none")
            ax.text(-0.98, y, str(st["study"].iloc[i]), transform=trans, ha="left", va="center")
            ax.text(-0.02, y, _ci_text(yi[i], lo[i], hi[i], d), transform=trans, ha="right",
                    va="center", fontsize=9)  # fmt: skip
            if "weight" in st.columns:
                ax.text(1.17, y, f"{w[i]:.1f}%", transform=trans, ha="right", va="center",
                        fontsize=9)  # fmt: skip
            if shrinkage:
                _shrunk(ax, items, i, y)
        elif kind == "subtotal":
            for j, (_, r) in enumerate(items):
                sub = r.subgroups.get(str(key))
                if sub is None:
                    continue
                c = _COLOURS[j % len(_COLOURS)]
                yy = y - 0.15 * j
                _diamond(ax, yy, sub.estimate, sub.ci_low, sub.ci_high, c, 0.25)
                xs += [sub.ci_low, sub.ci_high]
            r0 = items[0][1].subgroups.get(str(key))
            ax.text(-0.98, y, f"Subtotal ({key})", transform=trans, ha="left", va="center",
                    fontstyle="italic")  # fmt: skip
            if r0 is not None:
                ax.text(-0.02, y, _ci_text(r0.estimate, r0.ci_low, r0.ci_high, d),
                        transform=trans, ha="right", va="center", fontsize=9)  # fmt: skip
        elif kind == "pooled":
            label, r = items[int(key)]
            c = _COLOURS[int(key) % len(_COLOURS)]
            _diamond(ax, y, r.estimate, r.ci_low, r.ci_high, c, 0.32)
            xs += [r.ci_low, r.ci_high]
            ax.text(-0.98, y, f"Total: {label}", transform=trans, ha="left", va="center",
                    fontweight="bold", color=c)  # fmt: skip
            ax.text(-0.02, y, _ci_text(r.estimate, r.ci_low, r.ci_high, d), transform=trans,
                    ha="right", va="center", fontsize=9, fontweight="bold")  # fmt: skip
            if "weight" in st.columns and len(items) == 1:
                ax.text(1.17, y, "100.0%", transform=trans, ha="right", va="center", fontsize=9)
        else:  # prediction interval
            label, r = items[int(key)]
            c = _COLOURS[int(key) % len(_COLOURS)]
            assert r.pi_low is not None and r.pi_high is not None
            ax.plot([r.pi_low, r.pi_high], [y, y], color=c, lw=3, solid_capstyle="butt")
            xs += [r.pi_low, r.pi_high]
            ax.text(-0.98, y, f"Prediction interval: {label}", transform=trans, ha="left",
                    va="center", color=c, fontsize=9)  # fmt: skip
            ax.text(-0.02, y, f"[{num(r.pi_low, d)}, {num(r.pi_high, d)}]", transform=trans,
                    ha="right", va="center", fontsize=9)  # fmt: skip
    finite = [v for v in xs if v is not None and math.isfinite(v)]
    span = max(finite) - min(finite) if finite else 1.0
    ax.set_xlim(min(finite) - 0.05 * span, max(finite) + 0.05 * span)
    if reference is not None:
        ax.axvline(reference, color="0.4", lw=0.8)
    ax.set_xlabel(xlabel)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    foot = []
    for label, r in items:
        if r.q is not None:
            foot.append(
                f"{label}: Q = {r.q:.2f} (df = {r.q_df}), p = {num(r.q_p, 4)}; "
                f"I\u00b2 = {num(r.i2, 1)}%; tau\u00b2 = {num(r.tau2, d + 1)}"
            )
        if r.q_between is not None:
            foot.append(
                f"Test for subgroup differences ({label}): Q = {r.q_between:.2f} "
                f"(df = {r.q_between_df}), p = {num(r.q_between_p, 4)}"
            )
        elif r.subgroups and "contrasts" in r.extra and r.posterior is not None:
            foot.append(f"{label}: subgroup contrasts in result.extra['contrasts']")
    if foot:
        fig.text(0.02, 0.01, "\n".join(foot), fontsize=8, va="bottom")
    if title:
        fig.suptitle(title)
    return fig


def _shrunk(ax: Any, items: list[tuple[str, MetaResult]], i: int, y: float) -> None:
    """Overlay the shrunken estimate of study ``i`` of every Bayesian result."""
    for j, (_, r) in enumerate(items):
        s = r.studies
        if r.posterior is None or s is None or "median" not in s.columns:
            continue
        c = _COLOURS[(j if j else 1) % len(_COLOURS)]
        yy = y - 0.22
        ax.plot([s["ci_low"].iloc[i], s["ci_high"].iloc[i]], [yy, yy], color=c, lw=1, alpha=0.8)
        ax.plot([s["median"].iloc[i]], [yy], marker="o", color=c, ms=4, ls="none")


def funnel_plot(
    result: MetaResult,
    *,
    xlabel: str = "effect",
    levels: Sequence[float] = (0.90, 0.95, 0.99),
    centre: float | None = 0.0,
) -> Any:
    """Contour-enhanced funnel plot (metafor ``funnel(..., level = c(90, 95, 99),
    refline = 0)``; Peters et al. 2008, J Clin Epidemiol 61:991-996); returns the Figure.

    Standard error on the y axis (inverted), effect on the x axis; shaded regions where a
    study's two-sided p-value against ``centre`` lies between the ``levels``; the pooled
    estimate as a vertical line with its pseudo 95 % limits.

    Examples:
        >>> from bayesmeta.classical import pool
        >>> from bayesmeta.inputs import load_studies
        >>> fig = pool(load_studies("crins2014"), "REML").plot_funnel(xlabel="log OR")
        >>> ax = fig.axes[0]
        >>> len(ax.collections[-1].get_offsets()), bool(ax.get_ylim()[0] > ax.get_ylim()[1])
        (6, True)
    """
    st = result.studies
    if st is None or st.empty:
        raise InputError("funnel: the result holds no study rows")
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
        ax.fill_betweenx(grid, ref - zc * grid, ref + zc * grid, color=shade, lw=0,
                         label=f"p > {1 - lev:.2f}"[:10])  # fmt: skip
    ax.fill_betweenx(grid, ref - 1e-12, ref + 1e-12, color="white", lw=0)
    z95 = float(stats.norm.isf(0.025))
    est = result.estimate
    ax.plot([est - z95 * top, est, est + z95 * top], [top, 0, top], color="0.3", lw=0.8, ls="--")
    ax.axvline(est, color="0.2", lw=1.0)
    ax.scatter(yi, se, color="black", zorder=3, s=22)
    ax.set_ylim(top, 0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("standard error")
    ax.legend(loc="lower right", fontsize=8, title="contours", title_fontsize=8)
    fig.tight_layout()
    return fig


def posterior_plot(result: MetaResult, *, xlabel: str = "effect") -> Any:
    """Posterior densities of mu, tau and theta_new with the prior overlaid; returns the Figure.

    For an exact-engine result the posterior table is turned into densities by refitting
    the exact model (milliseconds); for a PyMC result from its draws (kernel density).

    Examples:
        >>> from bayesmeta.exact import NormalNormal
        >>> from bayesmeta.inputs import load_studies
        >>> fig = NormalNormal.from_table(load_studies("crins2014")).to_result().plot_posterior()
        >>> [ax.get_title() for ax in fig.axes]
        ['mu', 'tau', 'theta_new']
        >>> [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
        ['posterior', 'prior: halfnormal(0.5)']
    """
    from bayesmeta.priors import parse_prior

    if result.posterior is None:
        raise InputError("plot_posterior needs a Bayesian result (exact or PyMC)")
    curves = _posterior_curves(result)
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
        ax.set_xlabel(xlabel if name != "tau" else f"tau ({xlabel} scale)")
        ax.set_yticks([])
        ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def _posterior_curves(result: MetaResult) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    post = result.posterior
    assert post is not None
    if result.idata is not None:
        ds = result.idata["posterior"].to_dataset()
        for name in ("mu", "tau", "theta_new"):
            if name in ds and ds[name].ndim == 2:
                draws = ds[name].values.ravel()
                lo, hi = np.quantile(draws, [0.001, 0.999])
                x = np.linspace(max(lo, 0.0) if name == "tau" else lo, hi, 300)
                out[name] = (x, stats.gaussian_kde(draws)(x))
        return out
    if result.engine == "exact" and result.studies is not None and result.subgroups == {}:
        from bayesmeta.exact import NormalNormal

        fit = NormalNormal(
            result.studies["yi"].to_numpy(float),
            np.sqrt(result.studies["vi"].to_numpy(float)),
            result.settings["tau_prior"],
            result.settings["mu_prior"],
        )
        for name, marg in (("mu", fit.mu), ("tau", fit.tau), ("theta_new", fit.theta_new)):
            lo, hi = marg.quantile([0.001, 0.999])
            x = np.linspace(0.0 if name == "tau" else float(lo), float(hi), 300)
            out[name] = (x, np.asarray(marg.pdf(x), float))
        return out
    for name in ("mu", "tau", "theta_new"):  # normal approximation from the table
        if name in post.index:
            row = post.loc[name].to_numpy(dtype=float)
            m, s = (
                float(row[list(post.columns).index("mean")]),
                float(row[list(post.columns).index("sd")]),
            )
            if math.isfinite(m) and math.isfinite(s) and s > 0:
                x = np.linspace(m - 4 * s, m + 4 * s, 300)
                if name == "tau":
                    x = x[x >= 0]
                out[name] = (x, stats.norm.pdf(x, m, s))
    return out


def bias_funnel(table: Any, summary: dict[str, Any], *, xlabel: str = "effect") -> Any:
    """The contour-enhanced funnel plot (`funnel_plot` of the REML fit) with the trim-and-fill
    studies drawn open, Egger's regression line (limit + slope x SE) and the PET (b0 + b1 SE)
    and PEESE (b0 + b1 SE^2) lines, the one PET-PEESE chooses solid; returns the Figure.

    ``summary`` is `bayesmeta.classical.bias.small_study_summary` of the same table.

    Examples:
        >>> from bayesmeta.classical.bias import small_study_summary
        >>> from bayesmeta.inputs import load_studies
        >>> from bayesmeta.plots.meta import bias_funnel
        >>> t = load_studies("crins2014")
        >>> fig = bias_funnel(t, small_study_summary(t.yi, t.vi), xlabel="log OR")
        >>> [h.get_label() for h in fig.axes[0].get_lines()][-3:]
        ['Egger line', 'PET (chosen)', 'PEESE']
    """
    from bayesmeta.classical import pool

    fig = funnel_plot(pool(table, method="REML"), xlabel=xlabel)
    ax = fig.axes[0]
    fy, fv = np.asarray(summary["trimfill_filled_yi"]), np.asarray(summary["trimfill_filled_vi"])
    if fy.size:
        ax.scatter(fy, np.sqrt(fv), facecolors="white", edgecolors="black", zorder=4, s=22,
                   label=f"filled ({fy.size})")  # fmt: skip
    top = ax.get_ylim()[0]
    se = np.linspace(0.0, top, 50)
    if summary.get("egger_limit") is not None:
        ax.plot(summary["egger_limit"] + summary["egger_slope"] * se, se, color="tab:red",
                lw=1.0, label="Egger line")  # fmt: skip
    choice = summary.get("pet_peese_choice")
    for name, x, color in (("PET", se, "tab:purple"), ("PEESE", se**2, "tab:green")):
        b0, b1 = summary.get(name.lower()), summary.get(f"{name.lower()}_slope")
        if b0 is None or b1 is None:
            continue
        chosen = name == choice
        ax.plot(
            b0 + b1 * x,
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

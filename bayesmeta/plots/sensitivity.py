"""Prior-sensitivity figures (PNG): overlaid posteriors, interval against prior scale, tornado.

Inputs are the outputs of `bayesmeta.sensitivity` (a sweep DataFrame or
`PosteriorCurves`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bayesmeta.errors import InputError
from bayesmeta.plots._style import pyplot, save


def overlay(path: str | Path, curves: Sequence, *, title: str = "", xlabel: str = "mu") -> Path:
    """p(mu | y) and p(tau | y) of every prior in one panel each, coloured along the list.

    ``curves`` are `PosteriorCurves` (`bayesmeta.sensitivity.curves.posterior_curves`);
    a legend is drawn for up to 12 curves. Returns the path written.

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.plots.sensitivity import overlay
        >>> from bayesmeta.sensitivity.curves import posterior_curves
        >>> df = pd.DataFrame({"study": ["a", "b", "c"], "yi": [0.1, 0.3, -0.2],
        ...                    "vi": [0.04, 0.02, 0.05]})
        >>> curves = posterior_curves(df, "halfnormal(0.25..1, n=3)", "normal(0, 1)", points=50)
        >>> overlay("posteriors.png", curves).name
        'posteriors.png'
    """
    if not curves:
        raise InputError("no posterior curves to plot")
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11.0, 4.2))
    cmap = plt.get_cmap("viridis")
    n = len(curves)
    for i, c in enumerate(curves):
        colour = cmap(i / max(n - 1, 1))
        label = (
            c.tau_prior
            if len({x.mu_prior for x in curves}) == 1
            else (f"{c.tau_prior}, {c.mu_prior}")
        )
        axes[0].plot(*c.mu, color=colour, lw=1.2, label=label)
        axes[1].plot(*c.tau, color=colour, lw=1.2)
    axes[0].set_xlabel(xlabel)
    axes[1].set_xlabel("tau")
    for ax in axes:
        ax.set_ylabel("posterior density")
        ax.set_ylim(bottom=0)
    if n <= 12:
        axes[0].legend(fontsize=7, frameon=False)
    else:
        axes[0].set_title(f"{curves[0].tau_prior} ... {curves[-1].tau_prior}", fontsize=9)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return save(fig, path)


_FAMILY_NAMES = {
    "halfnormal": "half-normal",
    "halfcauchy": "half-Cauchy",
    "halft": "half-t",
    "exponential": "exponential",
    "uniform": "uniform",
    "lognormal": "log-normal",
}


def _sweep_label(text: str) -> str:
    """``halfnormal(0.041..0.82, n=20)`` -> ``half-normal tau prior, scale 0.041 to 0.82``."""
    import re

    m = re.fullmatch(r"\s*([a-z_]+)\((.*)\)\s*", str(text))
    if not m:
        return str(text)
    family, args = m.group(1), m.group(2)
    rng = re.search(r"([-+0-9.eE]+)\.\.([-+0-9.eE]+)", args)
    name = _FAMILY_NAMES.get(family, family)
    if not rng:
        return f"{name} tau prior"
    return f"{name} tau prior, scale {float(rng.group(1)):.3g} to {float(rng.group(2)):.3g}"


def interval_vs_scale(
    path: str | Path,
    sweep: pd.DataFrame,
    *,
    title: str = "",
    reference: float | None = None,
    reference_label: str = "reference prior",
    unit: str = "",
) -> Path:
    """Median and central interval of mu (left) and tau (right) against the swept value.

    One line per (tau sweep, mu prior, subgroup) of a `bayesmeta.sensitivity.sweep` table, its
    interval as a light band edged by thin lines (so overlapping bands stay readable), a zero
    line on the mu panel, and, with ``reference`` (a scale), a vertical line and markers at the
    reference prior. ``unit`` is appended to the axis labels ("unit not stated" when the
    source states none). InputError if no tau prior was swept. Returns the path written.

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.plots.sensitivity import interval_vs_scale
        >>> from bayesmeta.sensitivity import sweep
        >>> df = pd.DataFrame({"study": ["a", "b", "c"], "yi": [0.1, 0.3, -0.2],
        ...                    "vi": [0.04, 0.02, 0.05]})
        >>> res = sweep(df, "halfnormal(0.1..1, n=5)", "normal(0, 1)")
        >>> interval_vs_scale("interval.png", res, reference=0.5).name
        'interval.png'
    """
    df = sweep[np.isfinite(sweep["tau_value"].astype(float))]
    if df.empty:
        raise InputError("the sweep has no swept tau-prior scale to plot against")
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11.0, 4.4), sharex=True)
    groups = list(df.groupby(["tau_sweep", "mu_prior", "subgroup"], sort=False))
    unit_text = f" ({unit})" if unit else ""
    unit_line = f"\n({unit})" if unit else ""
    for i, ((tsweep, mprior, sub), g) in enumerate(groups):
        colour = ("tab:blue", "tab:red", "tab:green", "tab:purple", "tab:brown")[i % 5]
        label = _sweep_label(str(tsweep))
        label += f", mu ~ {mprior}" if df["mu_prior"].nunique() > 1 else ""
        label += f" [{sub}]" if sub else ""
        g = g.sort_values("tau_value")
        x = g["tau_value"].to_numpy(float)
        width = 1.4 + 1.4 * (len(groups) - 1 - i) / max(len(groups) - 1, 1)  # first widest
        for ax, q in zip(axes, ("mu", "tau"), strict=True):
            ax.plot(x, g[f"{q}_median"], color=colour, lw=width, label=label)
            ax.fill_between(x, g[f"{q}_ci_low"], g[f"{q}_ci_high"], color=colour, alpha=0.08,
                            lw=0)  # fmt: skip
            for edge in ("ci_low", "ci_high"):
                ax.plot(x, g[f"{q}_{edge}"], color=colour, lw=0.8, ls="--")
            if reference is not None and x.min() <= reference <= x.max():
                ref = np.interp(reference, x, g[f"{q}_median"].to_numpy(float))
                ax.plot([reference], [ref], marker="D", color=colour, ms=9 - 3 * i, mec="black",
                        zorder=5 + i, ls="none")  # fmt: skip
    axes[0].axhline(0.0, color="black", lw=0.9, label="no effect (mu = 0)")
    if reference is not None:
        for ax in axes:
            ax.axvline(reference, color="0.3", lw=0.9, ls=":", label=reference_label)
    level = sweep.attrs.get("level", 0.95)
    axes[0].set_ylabel(f"mu: median, {100 * level:g} % interval{unit_line}")
    axes[1].set_ylabel(f"tau: median, {100 * level:g} % interval{unit_line}")
    for ax in axes:
        ax.set_xlabel(f"scale of the tau prior{unit_text}")
    axes[0].legend(fontsize=9, frameon=False, loc="best")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return save(fig, path)


def tornado(
    path: str | Path,
    sweep: pd.DataFrame,
    *,
    quantity: str = "mu_median",
    baseline: float | None = None,
    title: str = "",
) -> Path:
    """For each prior sweep (tau and mu sweep text) the range of ``quantity`` it produces.

    Bars are sorted by width (widest on top); thin lines span the lowest ci_low to the
    highest ci_high when ``quantity`` (default ``"mu_median"``) is a median; ``baseline`` is
    drawn as a vertical line. Returns the path written.

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.plots.sensitivity import tornado
        >>> from bayesmeta.sensitivity import sweep
        >>> df = pd.DataFrame({"study": ["a", "b", "c"], "yi": [0.1, 0.3, -0.2],
        ...                    "vi": [0.04, 0.02, 0.05]})
        >>> res = sweep(df, ["halfnormal(0.1..1, n=5)", "halfcauchy(0.1..1, n=5)"])
        >>> tornado("tornado.png", res, baseline=0.0).name
        'tornado.png'
    """
    if quantity not in sweep.columns:
        raise InputError(f"no column {quantity!r} in the sweep")
    keys = ["tau_sweep", "mu_sweep"]
    agg = sweep.groupby(keys, sort=False)[quantity].agg(["min", "max"]).reset_index()
    stem = quantity.rsplit("_", 1)[0]
    has_ci = quantity.endswith("_median") and f"{stem}_ci_low" in sweep.columns
    if has_ci:
        ci = sweep.groupby(keys, sort=False).agg(
            lo=(f"{stem}_ci_low", "min"), hi=(f"{stem}_ci_high", "max")
        )
        agg = agg.merge(ci.reset_index(), on=keys)
    agg["width"] = agg["max"] - agg["min"]
    agg = agg.sort_values("width").reset_index(drop=True)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9.0, 1.2 + 0.45 * len(agg)))
    y = np.arange(len(agg))
    if has_ci:
        ax.hlines(y, agg["lo"], agg["hi"], color="0.6", lw=1.0)
    ax.barh(
        y,
        agg["width"].where(agg["width"] > 0, 1e-12),
        left=agg["min"],
        height=0.5,
        color="tab:blue",
    )
    ax.plot(agg["min"], y, "|", color="tab:blue", ms=12)  # visible also for one prior
    labels = [
        t if m == agg["mu_sweep"].iloc[0] and agg["mu_sweep"].nunique() == 1 else f"{t} | mu ~ {m}"
        for t, m in zip(agg["tau_sweep"], agg["mu_sweep"], strict=True)
    ]
    ax.set_yticks(y, labels, fontsize=8)
    if baseline is not None:
        ax.axvline(baseline, color="black", lw=0.9, ls="--")
    ax.set_xlabel(quantity.replace("_", " "))
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return save(fig, path)

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


def interval_vs_scale(path: str | Path, sweep: pd.DataFrame, *, title: str = "") -> Path:
    """Median and central interval of mu (left) and tau (right) against the swept value.

    One line and band per (tau sweep, mu prior, subgroup) of a `bayesmeta.sensitivity.sweep`
    table; InputError if no tau prior was swept. Returns the path written.

    Examples:
        >>> import pandas as pd
        >>> from bayesmeta.plots.sensitivity import interval_vs_scale
        >>> from bayesmeta.sensitivity import sweep
        >>> df = pd.DataFrame({"study": ["a", "b", "c"], "yi": [0.1, 0.3, -0.2],
        ...                    "vi": [0.04, 0.02, 0.05]})
        >>> res = sweep(df, "halfnormal(0.1..1, n=5)", "normal(0, 1)")
        >>> interval_vs_scale("interval.png", res).name
        'interval.png'
    """
    df = sweep[np.isfinite(sweep["tau_value"].astype(float))]
    if df.empty:
        raise InputError("the sweep has no swept tau-prior scale to plot against")
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11.0, 4.2), sharex=True)
    groups = list(df.groupby(["tau_sweep", "mu_prior", "subgroup"], sort=False))
    for i, ((tsweep, mprior, sub), g) in enumerate(groups):
        colour = f"C{i % 10}"
        label = str(tsweep) + (f", mu ~ {mprior}" if df["mu_prior"].nunique() > 1 else "")
        label += f" [{sub}]" if sub else ""
        x = g["tau_value"].to_numpy(float)
        for ax, q in zip(axes, ("mu", "tau"), strict=True):
            ax.plot(x, g[f"{q}_median"], color=colour, lw=1.5, label=label)
            ax.fill_between(x, g[f"{q}_ci_low"], g[f"{q}_ci_high"], color=colour, alpha=0.15)
    level = sweep.attrs.get("level", 0.95)
    axes[0].set_ylabel(f"mu: median and {100 * level:g} % interval")
    axes[1].set_ylabel(f"tau: median and {100 * level:g} % interval")
    for ax in axes:
        ax.set_xlabel("swept prior parameter (scale)")
    axes[0].legend(fontsize=7, frameon=False)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
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

"""Figures of a study's metrics table: coverage against k, width against coverage.

``coverage_vs_k``: one panel per declared tau (e.g. ``0``, ``0.5se``, ``prior``), coverage
pooled over the scenarios sharing (tau, k, method) (covered counts summed), a point per
method and k with +/- 2 binomial MCSE as error bars (methods side by side, not joined: the k
values may come from different scenario sets, and a line would suggest a trend between them)
and the nominal level as a dashed line.
``width_vs_coverage``: one point per scenario x method, mean width (log scale, labelled
ticks only at 1-2-5 steps so they never collide) against coverage, coloured by method, with
the nominal level; ``unit`` names the width's unit.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

MAX_PANELS = 8


def pooled_coverage(metrics: pd.DataFrame) -> pd.DataFrame:
    """Coverage pooled over scenarios with the same tau label, k and method, with MCSE.

    Covered counts (``hits`` = coverage x n) and ``n`` are summed; ``coverage_mcse`` is the
    binomial sqrt(c (1 - c) / n).

    Examples:
        >>> from bayesmeta.simulate import parse_spec, summarise
        >>> from bayesmeta.simulate.run import replicates
        >>> from bayesmeta.simulate.figures import pooled_coverage
        >>> spec = parse_spec({
        ...     "study": {"name": "f", "seed": 2, "replicates": 50, "methods": ["FE", "DL-Wald"]},
        ...     "scenarios": [{"name": "s", "k": [3, 6], "mu": [0.0, 0.5], "tau": [0.0, 0.3],
        ...                    "se": {"dist": "uniform", "low": 0.1, "high": 0.3}}]})
        >>> m = summarise(replicates(spec), spec)
        >>> g = pooled_coverage(m)
        >>> print(g[g["tau_label"] == "0.3"][["k", "method", "n", "coverage"]])
           k   method    n  coverage
        2  3       FE  100      0.66
        3  3  DL-Wald  100      0.87
        6  6       FE  100      0.66
        7  6  DL-Wald  100      0.92
    """
    m = metrics.dropna(subset=["coverage"]).assign(hits=lambda d: d["coverage"] * d["n"])
    g = m.groupby(["tau_label", "k", "method"], sort=False)[["hits", "n"]].sum().reset_index()
    g["coverage"] = g["hits"] / g["n"]
    g["coverage_mcse"] = np.sqrt(g["coverage"] * (1 - g["coverage"]) / g["n"])
    return g


def coverage_vs_k(metrics: pd.DataFrame, level: float = 0.95) -> Figure:
    """Coverage against k, one panel per tau label (module docstring); ``level`` dashed.

    Examples:
        >>> from bayesmeta.simulate import parse_spec, summarise
        >>> from bayesmeta.simulate.run import replicates
        >>> from bayesmeta.simulate.figures import coverage_vs_k
        >>> spec = parse_spec({
        ...     "study": {"name": "f", "seed": 2, "replicates": 50, "methods": ["FE", "DL-Wald"]},
        ...     "scenarios": [{"name": "s", "k": [3, 6], "mu": [0.0, 0.5], "tau": [0.0, 0.3],
        ...                    "se": {"dist": "uniform", "low": 0.1, "high": 0.3}}]})
        >>> m = summarise(replicates(spec), spec)
        >>> len(coverage_vs_k(m).axes)  # tau = 0 and tau = 0.3
        2
    """
    g = pooled_coverage(metrics)
    labels = list(dict.fromkeys(metrics["tau_label"]))[:MAX_PANELS]
    methods = list(dict.fromkeys(metrics["method"]))
    ncol = min(len(labels), 4)
    nrow = math.ceil(len(labels) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.8 * nrow), squeeze=False,
                             sharey=True)  # fmt: skip
    for ax, lab in zip(axes.flat, labels, strict=False):
        for j, meth in enumerate(methods):
            d = g[(g["tau_label"] == lab) & (g["method"] == meth)].sort_values("k")
            if d.empty:
                continue
            col = f"C{j % 10}"
            shift = (j - (len(methods) - 1) / 2) * 0.12
            ax.errorbar(d["k"] + shift, d["coverage"], yerr=2 * d["coverage_mcse"], fmt="o",
                        ms=3.5, color=col, label=meth, capsize=2, lw=1, ls="none")  # fmt: skip
        ax.axhline(level, ls="--", color="k", lw=1)
        ax.set_title(f"tau = {lab}", fontsize=9)
        ax.set_xlabel("k (studies)")
        ks = sorted(set(g.loc[g["tau_label"] == lab, "k"].astype(int)))
        ax.set_xticks(ks)
    for ax in axes[:, 0]:
        ax.set_ylabel("coverage")
    for ax in list(axes.flat)[len(labels) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"Coverage of the {100 * level:g}% interval (bars: +/- 2 MCSE)", fontsize=10)
    fig.tight_layout()
    return fig


def width_vs_coverage(metrics: pd.DataFrame, level: float = 0.95, unit: str = "") -> Figure:
    """Mean width (log scale if all > 0) against coverage per scenario x method.

    Examples:
        >>> from bayesmeta.simulate import parse_spec, summarise
        >>> from bayesmeta.simulate.run import replicates
        >>> from bayesmeta.simulate.figures import width_vs_coverage
        >>> spec = parse_spec({
        ...     "study": {"name": "f", "seed": 2, "replicates": 50, "methods": ["FE", "DL-Wald"]},
        ...     "scenarios": [{"name": "s", "k": [3, 6], "mu": [0.0, 0.5], "tau": [0.0, 0.3],
        ...                    "se": {"dist": "uniform", "low": 0.1, "high": 0.3}}]})
        >>> m = summarise(replicates(spec), spec)
        >>> width_vs_coverage(m).axes[0].get_xscale()
        'log'
    """
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for j, (meth, d) in enumerate(metrics.groupby("method", sort=False)):
        ax.scatter(d["width_mean"], d["coverage"], s=12, color=f"C{j % 10}", label=meth, alpha=0.8)
    ax.axhline(level, ls="--", color="k", lw=1)
    if (metrics["width_mean"] > 0).all():
        from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("mean interval width" + (f" ({unit})" if unit else ""))
    ax.set_ylabel("coverage")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def write_figures(metrics: pd.DataFrame, out: str | Path, level: float = 0.95,
                  unit: str = "") -> list[Path]:  # fmt: skip
    """Write ``coverage_vs_k.png`` and ``width_vs_coverage.png`` (150 dpi) into ``out``.

    Examples:
        >>> from bayesmeta.simulate import parse_spec, summarise
        >>> from bayesmeta.simulate.run import replicates
        >>> from bayesmeta.simulate.figures import write_figures
        >>> spec = parse_spec({
        ...     "study": {"name": "f", "seed": 2, "replicates": 20, "methods": ["FE"]},
        ...     "scenarios": [{"name": "s", "k": [3], "mu": 0.0, "tau": 0.0,
        ...                    "se": {"dist": "uniform", "low": 0.1, "high": 0.3}}]})
        >>> [p.name for p in write_figures(summarise(replicates(spec), spec), ".")]
        ['coverage_vs_k.png', 'width_vs_coverage.png']
    """
    paths = []
    for name, fig in (
        ("coverage_vs_k", coverage_vs_k(metrics, level)),
        ("width_vs_coverage", width_vs_coverage(metrics, level, unit=unit)),
    ):
        paths.append(Path(out) / f"{name}.png")
        fig.savefig(paths[-1], dpi=150)
        plt.close(fig)
    return paths

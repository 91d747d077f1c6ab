"""Network meta-analysis figures: the network graph, a forest plot of effects against the
reference, a rankogram. Each returns a matplotlib Figure (or draws into a given axis)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bayesmeta.plots._style import pyplot


def network_graph(
    treatments: Sequence[str],
    edges: Mapping[tuple[str, str], int],
    size: Mapping[str, float] | None = None,
    ax: Any = None,
) -> Any:
    """Treatments on a circle; node area by sample size (``size``), edge width by the number
    of studies comparing the two treatments directly (``edges``).

    Examples:
        >>> from bayesmeta.plots.network import network_graph
        >>> fig = network_graph(["A", "B", "C"], {("A", "B"): 3, ("B", "C"): 1}, {"A": 100})
        >>> len(fig.axes[0].lines)
        2
    """
    plt = pyplot()
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 5.5))
    n = len(treatments)
    pos = {
        t: (
            math.cos(2 * math.pi * i / n + math.pi / 2),
            math.sin(2 * math.pi * i / n + math.pi / 2),
        )
        for i, t in enumerate(treatments)
    }
    wmax = max(edges.values()) if edges else 1
    for (a, b), w in edges.items():
        (x1, y1), (x2, y2) = pos[a], pos[b]
        ax.plot([x1, x2], [y1, y2], color="tab:gray", lw=1 + 5 * w / wmax, zorder=1)
        ax.text((x1 + x2) / 2, (y1 + y2) / 2, str(w), fontsize=7, color="tab:blue")
    sizes = np.array([float((size or {}).get(t, 1.0)) for t in treatments])
    area = 150 + 1200 * sizes / max(sizes.max(), 1e-12)
    ax.scatter(
        [pos[t][0] for t in treatments],
        [pos[t][1] for t in treatments],
        s=area,
        color="tab:orange",
        edgecolor="black",
        zorder=2,
    )
    for t in treatments:
        x, y = pos[t]
        ax.text(1.18 * x, 1.18 * y, t, ha="center", va="center", fontsize=8)
    ax.set_xlim(-1.5, 1.5)
    ax.set_ylim(-1.5, 1.5)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title("network (edge width: studies; node area: patients)", fontsize=9)
    return fig if fig is not None else ax.figure


def effects_forest(
    rows: Sequence[Mapping[str, Any]],
    reference: str,
    *,
    log: bool = False,
    xlabel: str = "effect",
    ax: Any = None,
) -> Any:
    """Each treatment against the reference with its interval (``rows`` with treatment,
    estimate or median, ci_low, ci_high; several engines may be given as ``engine``).

    Examples:
        >>> from bayesmeta.plots.network import effects_forest
        >>> fig = effects_forest([{"treatment": "B", "estimate": 0.3, "ci_low": 0.1,
        ...                        "ci_high": 0.5}], "A")
        >>> fig.axes[0].get_yticklabels()[0].get_text()
        'B'
    """
    plt = pyplot()
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 0.45 * len(rows) + 1.5))
    tr = np.exp if log else (lambda v: v)
    labels = []
    for i, r in enumerate(rows):
        y = len(rows) - i
        est = r.get("estimate", r.get("median"))
        colour = "tab:red" if r.get("engine") == "bayesian" else "black"
        ax.plot([tr(r["ci_low"]), tr(r["ci_high"])], [y, y], color=colour, lw=1.2)
        ax.plot(tr(est), y, "s", color=colour, ms=5)
        labels.append((y, str(r["treatment"])))
    ax.axvline(1.0 if log else 0.0, color="grey", ls=":", lw=1)
    if log:
        from matplotlib.ticker import NullFormatter, ScalarFormatter

        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks([y for y, _ in labels])
    ax.set_yticklabels([t for _, t in labels], fontsize=8)
    ax.set_xlabel(f"{xlabel} vs {reference}")
    return fig if fig is not None else ax.figure


def rankogram(probs: Mapping[str, Sequence[float]], ax: Any = None) -> Any:
    """P(rank r) of each treatment, one line per treatment (rank 1 = best).

    Examples:
        >>> from bayesmeta.plots.network import rankogram
        >>> fig = rankogram({"A": [0.7, 0.3], "B": [0.3, 0.7]})
        >>> len(fig.axes[0].lines)
        2
    """
    plt = pyplot()
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4))
    for t, p in probs.items():
        ax.plot(np.arange(1, len(p) + 1), p, marker="o", label=t)
    ax.set_xlabel("rank (1 = best)")
    ax.set_ylabel("posterior probability")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    return fig if fig is not None else ax.figure


__all__ = ["effects_forest", "network_graph", "rankogram"]

"""Shrinkage plot: observed unit estimates against their shrunken posteriors, per panel."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bayesmeta.plots._style import pyplot, save, style


@dataclass(frozen=True)
class ShrinkagePanel:
    """One hierarchical fit: units with observed (y, lo, hi) and shrunken (median, lo, hi).

    ``mu`` is the overall (median, lo, hi).

    Examples:
        >>> from bayesmeta.plots import ShrinkagePanel
        >>> p = ShrinkagePanel("demo", ["a", "b"], [(0.5, 0.1, 0.9), (-0.1, -0.6, 0.4)],
        ...                    [(0.3, 0.0, 0.6), (0.1, -0.2, 0.4)], (0.2, -0.1, 0.5))
        >>> p.mu[0]
        0.2
    """

    title: str
    labels: Sequence[str]
    observed: Sequence[tuple[float, float, float]]
    shrunken: Sequence[tuple[float, float, float]]
    mu: tuple[float, float, float]
    xlabel: str = ""


def shrinkage(path: str | Path, panels: Sequence[ShrinkagePanel], *, ncols: int = 2) -> Path:
    """A grid of panels: observed (black) -> shrunken (purple) per unit, mu as a band.

    ``ncols`` panels per row (default 2). Returns the path written.

    Examples:
        >>> from bayesmeta.plots import ShrinkagePanel, shrinkage
        >>> p = ShrinkagePanel("demo", ["a", "b"], [(0.5, 0.1, 0.9), (-0.1, -0.6, 0.4)],
        ...                    [(0.3, 0.0, 0.6), (0.1, -0.2, 0.4)], (0.2, -0.1, 0.5))
        >>> shrinkage("shrinkage.png", [p]).name
        'shrinkage.png'
    """
    plt = pyplot()
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 2.4 * nrows), squeeze=False)
    obs_c, obs_m = style("published")
    shr_c, shr_m = style("cell-type model (exact)")
    for ax, p in zip(axes.ravel(), panels, strict=False):
        k = len(p.labels)
        ax.axvspan(p.mu[1], p.mu[2], color=shr_c, alpha=0.12, lw=0)
        ax.axvline(p.mu[0], color=shr_c, lw=1, ls="--")
        for i, (o, s) in enumerate(zip(p.observed, p.shrunken, strict=True)):
            y = k - 1 - i
            ax.plot([o[1], o[2]], [y + 0.15] * 2, color=obs_c, lw=1.4)
            ax.plot([o[0]], [y + 0.15], marker=obs_m, color=obs_c, ls="none")
            ax.plot([s[1], s[2]], [y - 0.15] * 2, color=shr_c, lw=1.4)
            ax.plot([s[0]], [y - 0.15], marker=shr_m, color=shr_c, ls="none")
            ax.annotate(
                "",
                xy=(s[0], y - 0.1),
                xytext=(o[0], y + 0.1),
                arrowprops={"arrowstyle": "->", "color": "0.5", "lw": 0.8},
            )
        ax.set_yticks(range(k))
        ax.set_yticklabels(list(reversed(list(p.labels))))
        ax.set_ylim(-0.6, k - 0.4)
        ax.axvline(0, color="0.7", lw=0.6)
        ax.set_title(p.title, fontsize=10)
        ax.set_xlabel(p.xlabel, fontsize=8)
    for ax in axes.ravel()[len(panels) :]:
        ax.set_visible(False)
    axes.ravel()[0].plot([], [], marker=obs_m, color=obs_c, label="published subgroup (95% CI)")
    axes.ravel()[0].plot([], [], marker=shr_m, color=shr_c, label="shrunken (95% CrI)")
    axes.ravel()[0].plot([], [], color=shr_c, ls="--", label="overall mu (band: 95% CrI)")
    fig.legend(loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return save(fig, path)

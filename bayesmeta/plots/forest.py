"""Forest plot of several estimates per row (published, re-analysed, posteriors) side by side,
written as a PNG (the review's figures; `bayesmeta.plots.forest` is the one-call forest plot
of `MetaResult`s)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bayesmeta.plots._style import pyplot, save, style


@dataclass(frozen=True)
class Interval:
    """One estimate with its interval; ``kind`` picks colour, marker and legend entry.

    Examples:
        >>> from bayesmeta.plots import Interval
        >>> Interval("published", 0.3, 0.1, 0.5).kind
        'published'
    """

    kind: str
    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class ForestRow:
    """One labelled row of a forest plot: its intervals (drawn slightly offset), bold label.

    Examples:
        >>> from bayesmeta.plots import ForestRow, Interval
        >>> ForestRow("overall", [Interval("classical", 0.2, 0.0, 0.4)], bold=True).bold
        True
    """

    label: str
    intervals: Sequence[Interval]
    bold: bool = False


def interval_forest(
    path: str | Path,
    rows: Sequence[ForestRow],
    *,
    title: str = "",
    xlabel: str = "",
    reference: float | None = 0.0,
    width: float = 9.0,
) -> Path:
    """Draw ``rows`` top to bottom, the intervals of a row slightly offset; write a PNG.

    ``reference`` (default 0; None for none) is a dashed vertical line; the legend lists
    the interval kinds in order of appearance. Returns the path written.

    Examples:
        >>> from bayesmeta.plots import ForestRow, Interval, interval_forest
        >>> rows = [ForestRow("study 1", [Interval("published", 0.3, 0.1, 0.5),
        ...                               Interval("vague", 0.25, 0.05, 0.45)]),
        ...         ForestRow("overall", [Interval("classical", 0.2, 0.0, 0.4)], bold=True)]
        >>> interval_forest("forest.png", rows, xlabel="mean difference").name
        'forest.png'
    """
    plt = pyplot()
    kinds = list(dict.fromkeys(iv.kind for r in rows for iv in r.intervals))
    n_rows = len(rows)
    fig, ax = plt.subplots(figsize=(width, 1.2 + 0.55 * n_rows * max(1, len(kinds)) ** 0.5))
    step = 0.8 / max(len(kinds), 1)
    for i, row in enumerate(rows):
        y0 = n_rows - 1 - i
        for iv in row.intervals:
            j = kinds.index(iv.kind)
            y = y0 + 0.4 - step * (j + 0.5)
            colour, marker = style(iv.kind, j)
            if np.isfinite(iv.low) and np.isfinite(iv.high):
                ax.plot([iv.low, iv.high], [y, y], color=colour, lw=1.6)
            ax.plot([iv.estimate], [y], marker=marker, color=colour, ms=6, ls="none")
    for j, k in enumerate(kinds):
        colour, marker = style(k, j)
        ax.plot([], [], marker=marker, color=colour, label=k, lw=1.6)
    if reference is not None:
        ax.axvline(reference, color="0.6", lw=0.8, ls="--")
    ax.set_yticks(range(n_rows))
    ax.set_yticklabels([r.label for r in reversed(rows)])
    for tick, row in zip(ax.get_yticklabels(), reversed(rows), strict=True):
        if row.bold:
            tick.set_fontweight("bold")
    ax.set_ylim(-0.6, n_rows - 0.4)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=11)
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12 - 0.02 * n_rows**0.5),
        ncol=min(len(kinds), 4),
        fontsize=8,
        frameon=False,
    )
    ax.grid(axis="x", color="0.92")
    fig.tight_layout()
    return save(fig, path)

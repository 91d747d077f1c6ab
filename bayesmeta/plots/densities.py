"""Posterior (and prior) densities of one quantity under a set of priors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bayesmeta.plots._style import pyplot, save, style


@dataclass(frozen=True)
class Curve:
    """A density curve; ``label`` is its legend entry (default: the mapping key).

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.plots import Curve
        >>> Curve(np.array([0.0, 1.0]), np.array([0.4, 0.24])).label
        ''
    """

    x: np.ndarray
    y: np.ndarray
    label: str = ""


def densities(
    path: str | Path,
    posteriors: Mapping[str, Curve],
    *,
    priors: Mapping[str, Curve] | None = None,
    marks: Mapping[str, float] | None = None,
    title: str = "",
    xlabel: str = "",
) -> Path:
    """Solid posteriors and dashed priors (matched by key, same colour); vertical ``marks``.

    ``marks`` maps a label to an x position: a vertical line named in the legend (not written
    over the curves). Curves are drawn widest first, so one that coincides with another (a
    vague-prior posterior on top of the likelihood-dominated ones) still shows as a halo.
    Returns the path written.

    Examples:
        >>> import numpy as np
        >>> from scipy import stats
        >>> from bayesmeta.plots import Curve, densities
        >>> x = np.linspace(-1, 1, 101)
        >>> post = {"vague": Curve(x, stats.norm.pdf(x, 0.1, 0.2))}
        >>> prior = {"vague": Curve(x, stats.norm.pdf(x, 0, 1))}
        >>> densities("mu.png", post, priors=prior, marks={"null": 0.0}, xlabel="mu").name
        'mu.png'
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10.0, 4.2))
    n = len(posteriors)
    for i, (name, c) in enumerate(posteriors.items()):
        colour, _ = style(name, i)
        ax.plot(c.x, c.y, color=colour, lw=1.6 + 1.6 * (n - 1 - i) / max(n - 1, 1),
                label=c.label or name, zorder=2 + i)  # fmt: skip
        if priors and name in priors:
            p = priors[name]
            ax.plot(p.x, p.y, color=colour, lw=1.0, ls="--", label=p.label or f"{name} (prior)")
    mark_styles = (("black", ":"), ("0.45", "-."), ("0.6", (0, (1, 3))))
    for j, (label, x) in enumerate((marks or {}).items()):
        colour, ls = mark_styles[j % len(mark_styles)]
        ax.axvline(x, color=colour, lw=1.1, ls=ls, label=f"{label} ({x:.3g})", zorder=1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.set_title(title, fontsize=11)
    ax.legend(fontsize=8, frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.set_ylim(bottom=0)
    fig.tight_layout()
    return save(fig, path)

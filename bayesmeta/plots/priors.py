"""Prior densities of tau side by side (a learned empirical prior against the defaults)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from bayesmeta.plots._style import pyplot


def tau_densities(tau: np.ndarray, curves: Mapping[str, np.ndarray], *, title: str = "",
                  pit: np.ndarray | None = None) -> Any:  # fmt: skip
    """One Figure: each density of tau in ``curves`` (the first drawn thick) against ``tau``
    on a log axis; with ``pit``, a second panel with the histogram of held-out PIT values.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.plots.priors import tau_densities
        >>> t = np.geomspace(0.01, 3, 50)
        >>> fig = tau_densities(t, {"a": np.exp(-t), "b": np.exp(-2 * t)}, title="x")
        >>> [line.get_label() for line in fig.axes[0].get_lines()]
        ['a', 'b']
    """
    plt = pyplot()
    n = 1 if pit is None else 2
    fig, axes = plt.subplots(1, n, figsize=(5.5 * n, 3.8), squeeze=False)
    ax = axes[0, 0]
    for i, (label, y) in enumerate(curves.items()):
        # density of log(tau) = tau p(tau): areas on the log axis are probabilities
        ax.plot(tau, tau * np.asarray(y), label=label, lw=2.4 if i == 0 else 1.3,
                ls="-" if i < 2 else "--")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("tau (log axis)")
    ax.set_ylabel("tau x p(tau)  (density of log tau)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    if pit is not None:
        ax2 = axes[0, 1]
        ax2.hist(np.asarray(pit), bins=10, range=(0, 1), color="tab:gray", edgecolor="white")
        ax2.axhline(len(pit) / 10, color="black", lw=1, ls=":")
        ax2.set_xlabel("PIT of held-out tau posterior medians")
        ax2.set_ylabel("analyses")
        ax2.set_title("calibration (uniform if well calibrated)", fontsize=10)
    fig.tight_layout()
    return fig

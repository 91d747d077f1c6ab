"""Forest plot of dependent effect sizes grouped by cluster or outcome."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from bayesmeta.plots._style import pyplot


def grouped_forest(yi: np.ndarray, vi: np.ndarray, group: Sequence[str], names: Sequence[str],
                   coef: dict[str, np.ndarray], *, labels: Any = None,
                   level: float = 0.95) -> Any:  # fmt: skip
    """Each effect with its interval, grouped (and labelled) by ``group``, and a diamond per
    coefficient in ``coef`` (the pooled estimate, or one per outcome); a Figure.

    Examples:
        >>> import numpy as np
        >>> from bayesmeta.plots.dependent import grouped_forest
        >>> coef = {"estimate": np.array([0.3]), "ci_low": np.array([0.1]),
        ...         "ci_high": np.array([0.5])}
        >>> fig = grouped_forest(np.array([0.2, 0.4]), np.array([0.01, 0.02]), ["a", "b"],
        ...                      ["intrcpt"], coef)
        >>> len(fig.axes[0].patches)
        1
    """
    plt = pyplot()
    z = stats.norm.ppf(0.5 + level / 2)
    order = sorted(range(len(yi)), key=lambda i: (list(dict.fromkeys(group)).index(group[i]), i))
    n = len(order) + len(names) + len(set(group)) + 1
    fig, ax = plt.subplots(figsize=(7, max(3.0, 0.22 * n + 1)))
    y = n
    ticks, texts = [], []
    last = None
    for i in order:
        if group[i] != last:
            y -= 1
            ticks.append(y)
            texts.append(str(group[i]))
            last = group[i]
        se = float(np.sqrt(vi[i]))
        ax.plot([yi[i] - z * se, yi[i] + z * se], [y, y], color="black", lw=1)
        ax.plot(yi[i], y, "s", color="tab:blue", ms=4)
        ticks.append(y)
        texts.append(f"  {labels[i]}" if labels is not None else "")
        y -= 1
    y -= 1
    for j, name in enumerate(names):
        e, lo, hi = coef["estimate"][j], coef["ci_low"][j], coef["ci_high"][j]
        ax.fill([lo, e, hi, e], [y, y + 0.35, y, y - 0.35], color="tab:red")
        ticks.append(y)
        texts.append(str(name))
        y -= 1
    ax.axvline(0.0, color="grey", lw=0.8, ls=":")
    ax.set_yticks(ticks)
    ax.set_yticklabels(texts, fontsize=8)
    ax.set_xlabel("effect size")
    fig.tight_layout()
    return fig

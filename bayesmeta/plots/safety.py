"""Event rates with their intervals, one row per event and cell type (the safety figure)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bayesmeta.plots._style import pyplot


def rates_plot(table: pd.DataFrame, *, title: str = "") -> Any:
    """Rates (percent) with the exact Clopper-Pearson interval (black) and the Jeffreys
    posterior's 95 % interval (blue) per row of `bayesmeta.safety.rate_table`; rows with 0
    events also mark the rule-of-three bound. Returns the Figure.

    Examples:
        >>> from bayesmeta import datasets
        >>> from bayesmeta.plots.safety import rates_plot
        >>> from bayesmeta.safety import rate_table
        >>> fig = rates_plot(rate_table(datasets.load("zhang2020_adverse")))
        >>> ax = fig.axes[0]
        >>> len(ax.get_yticklabels()), ax.get_xlabel()
        (10, 'patients with the event (%)')
    """
    plt = pyplot()
    k = len(table)
    fig, ax = plt.subplots(figsize=(8.5, 0.45 * k + 1.4))
    y = np.arange(k)[::-1].astype(float)
    pct = 100.0
    ax.hlines(y + 0.12, pct * table["cp_low"], pct * table["cp_high"], color="black", lw=1.4,
              label="exact 95 % CI (Clopper-Pearson)")  # fmt: skip
    ax.hlines(y - 0.12, pct * table["cri_low"], pct * table["cri_high"], color="tab:blue",
              lw=1.4, label="95 % CrI (Jeffreys Beta(1/2, 1/2) prior)")  # fmt: skip
    ax.plot(pct * table["rate"], y + 0.12, "s", color="black", ms=4)
    ax.plot(pct * table["post_median"], y - 0.12, "o", color="tab:blue", ms=4)
    r3 = table["rule_of_three"].notna()
    if r3.any():
        ax.plot(pct * table.loc[r3, "rule_of_three"], y[r3.to_numpy()], "|", color="tab:red",
                ms=12, mew=2, label="rule of three (3/n), 0 events")  # fmt: skip
    labels = [f"{d} {c}: {e} ({x}/{n})" for d, c, e, x, n in
              zip(table["disease"], table["cell_type"], table["event"], table["events"],
                  table["n"], strict=True)]  # fmt: skip
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("patients with the event (%)")
    ax.set_xlim(left=0)
    ax.axvline(1.0, color="0.7", lw=0.8, ls=":")
    ax.axvline(5.0, color="0.7", lw=0.8, ls=":")
    ax.legend(fontsize=7, loc="lower right", frameon=False)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig

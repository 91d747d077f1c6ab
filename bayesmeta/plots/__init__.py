"""Figures (matplotlib, Agg backend).

One call, one Figure: `forest` (RevMan 5 layout), `funnel` (contour-enhanced) and
`posterior` (densities with priors) of `MetaResult`s. The review's multi-estimate figures
(`interval_forest`, `shrinkage`, `densities`) write PNGs.
"""

from bayesmeta.plots.densities import Curve, densities
from bayesmeta.plots.forest import ForestRow, Interval, interval_forest
from bayesmeta.plots.meta import forest_plot as forest
from bayesmeta.plots.meta import funnel_plot as funnel
from bayesmeta.plots.meta import posterior_plot as posterior
from bayesmeta.plots.shrinkage import ShrinkagePanel, shrinkage

__all__ = [
    "Curve",
    "ForestRow",
    "Interval",
    "ShrinkagePanel",
    "densities",
    "forest",
    "funnel",
    "interval_forest",
    "posterior",
    "shrinkage",
]

"""Figures (matplotlib, Agg backend, PNG): forest plots, shrinkage plots, posterior densities."""

from bayesmeta.plots.densities import Curve, densities
from bayesmeta.plots.forest import ForestRow, Interval, forest
from bayesmeta.plots.shrinkage import ShrinkagePanel, shrinkage

__all__ = [
    "Curve",
    "ForestRow",
    "Interval",
    "ShrinkagePanel",
    "densities",
    "forest",
    "shrinkage",
]

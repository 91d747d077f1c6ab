"""Prior sensitivity analysis (issue 5): sweeps of tau / mu priors through the exact engine.

>>> from bayesmeta.sensitivity import sweep
>>> sweep(table, tau_priors=["halfnormal(0.1..2, n=20)", "turner"], mu_priors="normal(0, 4)")
"""

from bayesmeta.sensitivity.grammar import PriorGrid, parse_sweep
from bayesmeta.sensitivity.sweep import COLUMNS, sweep, to_json

__all__ = ["COLUMNS", "PriorGrid", "parse_sweep", "sweep", "to_json"]

"""Prior sensitivity analysis (issue 5): sweeps of tau / mu priors through the exact engine.

>>> from bayesmeta.sensitivity import sweep
>>> sweep(table, tau_priors=["halfnormal(0.1..2, n=20)", "turner"], mu_priors="normal(0, 4)")

Also :func:`prior_predictive` (what a tau prior implies for theta_i - mu and I^2),
:func:`correlation_sweep` (pre/post correlation of before/after data) and, for PyMC fits,
:mod:`bayesmeta.sensitivity.mcmc` (PSIS reweighting, power-scaling sensitivity) and
:func:`refit_sweep` (PyMC refits, one compiled model per prior family).
"""

from bayesmeta.sensitivity.correlation import correlation_sweep
from bayesmeta.sensitivity.grammar import PriorGrid, parse_sweep
from bayesmeta.sensitivity.predictive import prior_predictive
from bayesmeta.sensitivity.refit import REFIT_COLUMNS, refit_sweep
from bayesmeta.sensitivity.sweep import COLUMNS, sweep, to_json

__all__ = [
    "COLUMNS",
    "REFIT_COLUMNS",
    "PriorGrid",
    "correlation_sweep",
    "parse_sweep",
    "prior_predictive",
    "refit_sweep",
    "sweep",
    "to_json",
]

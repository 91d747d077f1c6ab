"""Prior sensitivity analysis: sweeps of tau / mu priors through the exact engine.

`sweep` computes the exact posterior under every prior of one or more sweeps
(`bayesmeta.sensitivity.grammar`: ``"halfnormal(0.1..2, n=20)"`` is 20 half-normal
scales from 0.1 to 2), one row per prior pair:

>>> from bayesmeta import datasets
>>> from bayesmeta.sensitivity import sweep
>>> d = datasets.load("rubin1981")
>>> df = d.rename(columns={"school": "study", "effect": "yi", "stderr": "sei"})
>>> res = sweep(df, "halfnormal(2..10, n=3)", "normal(0, 100)")
>>> print(res[["tau_prior", "mu_median", "tau_median"]].round(3))
        tau_prior  mu_median  tau_median
0   halfnormal(2)      7.880       1.302
1   halfnormal(6)      7.953       3.134
2  halfnormal(10)      7.990       4.029

Also `prior_predictive` (what a tau prior implies for theta_i - mu and I^2),
`correlation_sweep` (pre/post correlation of before/after data) and, for PyMC fits,
`bayesmeta.sensitivity.mcmc` (PSIS reweighting, power-scaling sensitivity) and
`refit_sweep` (PyMC refits, one compiled model per prior family).
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

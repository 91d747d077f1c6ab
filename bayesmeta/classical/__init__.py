"""Classical (frequentist) meta-analysis, numerically identical to R metafor 3.8 (NumPy/SciPy).

`pool(table, ...)` returns a `bayesmeta.results.MetaResult`; the array-level pieces
(tau^2 estimators, `rma()`, Q-profile CI, leave-one-out) are exported for direct use.

Examples:
    Same as metafor `rma(yi, vi, method = "DL")` on the eight schools (Rubin 1981):
    7.8705 [-0.2938, 16.0349], tau^2 = 0.

    >>> from bayesmeta.classical import rma
    >>> from bayesmeta.datasets import load
    >>> d = load("rubin1981")
    >>> fit = rma(d.effect, d.stderr**2, method="DL")
    >>> print(f"{fit.beta[0]:.4f} [{fit.ci_low[0]:.4f}, {fit.ci_high[0]:.4f}] {fit.tau2:.1f}")
    7.8705 [-0.2938, 16.0349] 0.0
"""

from bayesmeta.classical.api import pool
from bayesmeta.classical.heterogeneity import heterogeneity, tau2_ci_qprofile
from bayesmeta.classical.linalg import METHODS, Control
from bayesmeta.classical.loo import leave_one_out
from bayesmeta.classical.mantel_haenszel import mantel_haenszel, peto
from bayesmeta.classical.pooling import RmaFit, blup, fixed_effect, prediction_interval, rma
from bayesmeta.classical.presets import PRESETS
from bayesmeta.classical.tau2 import (
    estimate_tau2,
    tau2_dl,
    tau2_eb,
    tau2_he,
    tau2_ml,
    tau2_pm,
    tau2_reml,
    tau2_sj,
)

__all__ = [
    "METHODS",
    "PRESETS",
    "Control",
    "RmaFit",
    "blup",
    "estimate_tau2",
    "fixed_effect",
    "heterogeneity",
    "leave_one_out",
    "mantel_haenszel",
    "peto",
    "pool",
    "prediction_interval",
    "rma",
    "tau2_ci_qprofile",
    "tau2_dl",
    "tau2_eb",
    "tau2_he",
    "tau2_ml",
    "tau2_pm",
    "tau2_reml",
    "tau2_sj",
]

"""Classical (frequentist) meta-analysis, numerically identical to R metafor 3.8 (NumPy/SciPy).

``pool(table, ...)`` returns a :class:`~bayesmeta.results.MetaResult`; the array-level pieces
(tau^2 estimators, :func:`rma`, Q-profile CI, leave-one-out) are exported for direct use.
"""

from bayesmeta.classical.api import pool
from bayesmeta.classical.heterogeneity import heterogeneity, tau2_ci_qprofile
from bayesmeta.classical.linalg import METHODS, Control
from bayesmeta.classical.loo import leave_one_out
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

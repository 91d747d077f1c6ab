"""Dependent effect sizes: multilevel and multivariate models with cluster-robust inference
(classical, identical to metafor's ``rma.mv`` / ``vcalc`` / ``robust`` and clubSandwich);
NumPy/SciPy numerics, no PyMC."""

from bayesmeta.dependent.api import multilevel, multivariate, random_effects_robust, rho_sweep
from bayesmeta.dependent.result import DependentResult
from bayesmeta.dependent.vcalc import vcalc

__all__ = [
    "DependentResult",
    "multilevel",
    "multivariate",
    "random_effects_robust",
    "rho_sweep",
    "vcalc",
]

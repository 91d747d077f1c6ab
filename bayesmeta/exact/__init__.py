"""The exact normal-normal engine: p(tau | y) by 1-D quadrature, everything else exact.

>>> from bayesmeta.exact import NormalNormal
>>> fit = NormalNormal(yi, sei, tau_prior="halfnormal(0.5)", mu_prior="normal(0, 4)")
>>> fit.mu.median, fit.tau.interval(0.95, "shortest"), fit.to_result()
"""

from bayesmeta.exact.marginal import Marginal
from bayesmeta.exact.normal_normal import NormalNormal
from bayesmeta.exact.regression import NormalNormalRegression, subgroup_analysis

__all__ = ["Marginal", "NormalNormal", "NormalNormalRegression", "subgroup_analysis"]

"""The exact normal-normal engine: p(tau | y) by 1-D quadrature, everything else exact.

`NormalNormal` is the random-effects model of R bayesmeta (Roever 2020, J Stat Softw 93(6)),
`NormalNormalRegression` the common-tau meta-regression of R `bmr()`, `subgroup_analysis()`
subgroup means with one common tau. Every posterior quantity (mu, tau, theta_i, theta_new,
a coefficient or contrast) is a `Marginal` with pdf, cdf, quantiles, moments and intervals;
`to_result()` gives the shared `MetaResult`.

Same as R bayesmeta `bayesmeta(y, sigma, tau.prior=function(t) dhalfcauchy(t, scale=25))` on
the eight schools (mu: median 8.039, 95 % interval [-1.733, 18.052]; tau: median 4.769):

Examples:
    >>> from bayesmeta import datasets
    >>> from bayesmeta.exact import NormalNormal
    >>> df = datasets.load("rubin1981")
    >>> fit = NormalNormal(df["effect"], df["stderr"], "halfcauchy(25)", "flat")
    >>> print(f"{fit.mu.median:.3f} {fit.tau.median:.3f}")
    8.039 4.769
    >>> print([round(v, 3) for v in fit.mu.interval(0.95)])
    [-1.733, 18.052]
"""

from bayesmeta.exact.marginal import Marginal
from bayesmeta.exact.normal_normal import NormalNormal
from bayesmeta.exact.regression import NormalNormalRegression, subgroup_analysis

__all__ = ["Marginal", "NormalNormal", "NormalNormalRegression", "subgroup_analysis"]

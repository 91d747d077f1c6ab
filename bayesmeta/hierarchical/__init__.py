"""PyMC hierarchical models for meta-analysis (the only place PyMC is imported).

>>> from bayesmeta.hierarchical import BayesianMeta
>>> bm = BayesianMeta("normal", mu_prior="normal(0, 5)", tau_prior="halfcauchy(5)").fit(table)
>>> bm.to_result().print_summary()

Models (docs/models.md): ``normal``, ``subgroup``, ``nested``, ``student_t``,
``regression``, ``prepost``.
"""

from bayesmeta.hierarchical.bayesian_meta import BayesianMeta, fit
from bayesmeta.hierarchical.data import MetaData
from bayesmeta.hierarchical.diagnostics import SamplingWarning, diagnose, diagnostic_warnings
from bayesmeta.hierarchical.models import MODELS, ModelSpec, build_model, model_spec
from bayesmeta.hierarchical.sampling import cache_info, clear_cache

__all__ = [
    "MODELS",
    "BayesianMeta",
    "MetaData",
    "ModelSpec",
    "SamplingWarning",
    "build_model",
    "cache_info",
    "clear_cache",
    "diagnose",
    "diagnostic_warnings",
    "fit",
    "model_spec",
]

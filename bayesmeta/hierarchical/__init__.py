"""PyMC hierarchical models for meta-analysis (the only place PyMC is imported).

Models (docs/models.md): ``normal``, ``subgroup``, ``nested``, ``student_t``,
``regression``, ``prepost``. `BayesianMeta` (or `fit()`) validates the input (`MetaData`),
builds the model (`model_spec()`, `build_model()`), samples it with nutpie or PyMC (built
and compiled models are cached: `cache_info()`, `clear_cache()`), checks the sampling
(`diagnose()`, `SamplingWarning`) and reports the shared `MetaResult`.

Examples:
    Sampling takes seconds, so the fit line is not run as a doctest; the test suite runs
    it (tests/hierarchical/test_hier_sampling_slow.py).

    >>> from bayesmeta import datasets
    >>> from bayesmeta.hierarchical import BayesianMeta, MetaData
    >>> df = datasets.load("rubin1981")
    >>> data = MetaData.from_arrays(df["effect"], df["stderr"], study=df["school"])
    >>> bm = BayesianMeta("normal", mu_prior="normal(0, 5)", tau_prior="halfcauchy(5)")
    >>> bm.spec.priors_text()
    {'tau_prior': 'halfcauchy(5)', 'mu_prior': 'normal(0, 5)'}
    >>> bm.fit(data).print_summary()  # doctest: +SKIP
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
